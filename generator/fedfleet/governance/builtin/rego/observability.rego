# Rego twin of the `observability` governance plugin, on the bundle:
# - observability.sidecar: every OpenFL FederatedLearning carries federated-learning.io/sidecar-image
#   (the FL controller adds the metrics sidecar to OpenFL Jobs only, and only then);
# - observability.addon: a hub with an OpenFL job installs the otel add-on, whose template runs the
#   collector Service otel-collector with port 4317 in open-cluster-management-agent-addon, the
#   address the sidecar dials (the AddOnDeploymentConfig's agentInstallNamespace decides it);
# - observability.collector: the otel install Placement selects the clusters of every cluster set
#   an OpenFL job draws clients from.
# A Flower job is a warning, not a denial: upstream has no sidecar for Flower, it cannot export.
package fedfleet.observability

import rego.v1

import data.fedfleet_lib.objects

enabled if not input.parameters.observability.enabled == false

agent_namespace := "open-cluster-management-agent-addon"

openfl_hubs := {job.hub | some job in input.jobs; job.framework == "openfl"}

# Each condition of a served collector, as the set of hubs whose objects meet it: complete rules,
# built once per query, so a hub or a job is a lookup instead of a scan of every object (at 1,000
# jobs over 20,000 objects the scans took seconds).
otel_addon_hubs contains o.hub if {
	some o in objects.of_kind("ClusterManagementAddOn")
	o.object.metadata.name == "otel"
}

otel_collector_hubs contains o.hub if {
	some o in objects.of_kind("AddOnTemplate")
	tpl := o.object
	tpl.spec.addonName == "otel"
	some m in tpl.spec.agentSpec.workload.manifests
	m.kind == "Service"
	m.metadata.name == "otel-collector"
	some port in m.spec.ports
	port.port == 4317
}

otel_config_hubs contains o.hub if {
	some o in objects.of_kind("AddOnDeploymentConfig")
	o.object.metadata.name == "otel-config"
	o.object.spec.agentInstallNamespace == agent_namespace
}

collector_served(hub) if {
	hub in otel_addon_hubs
	hub in otel_collector_hubs
	hub in otel_config_hubs
}

# [hub, cluster set] of every set the otel install Placement of a hub selects.
covered contains [o.hub, s] if {
	some o in objects.of_kind("Placement")
	p := o.object
	p.metadata.name == "otel-addon"
	p.metadata.namespace == "open-cluster-management-addon"
	some predicate in p.spec.predicates
	some e in predicate.requiredClusterSelector.labelSelector.matchExpressions
	e.key == "fedfleet.io/cluster-set"
	e.operator == "In"
	some s in e.values
}

# Without a configured sidecarImage there is no pinned image to inject (upstream publishes none,
# observability.py): a warning that names the parameter. With one, a FederatedLearning without the
# annotation was patched: a denial.
openfl_without_sidecar contains [o, job] if {
	some o in objects.of_kind("FederatedLearning")
	o.object.spec.framework == "openfl"
	not o.object.metadata.annotations["federated-learning.io/sidecar-image"]
	# the job's name is its label (the object is "<job>-run<N>" after a re-run)
	job := object.get(object.get(o.object.metadata, "labels", {}), "fedfleet.io/job", o.object.metadata.name)
}

deny contains result if {
	enabled
	input.parameters.observability.sidecarImage
	some [o, job] in openfl_without_sidecar
	result := {
		"rule": "observability.sidecar",
		"msg": sprintf("OpenFL job %s exports no metrics: annotation federated-learning.io/sidecar-image is missing", [job]),
		"job": job, "hub": o.hub,
	}
}

warn contains result if {
	enabled
	not input.parameters.observability.sidecarImage
	some [o, job] in openfl_without_sidecar
	result := {
		"rule": "observability.sidecar",
		"msg": sprintf("OpenFL job %s exports no metrics: set governance.plugins.observability.sidecarImage to a pinned build of the metrics sidecar (upstream publishes none)", [job]),
		"job": job, "hub": o.hub,
	}
}

deny contains result if {
	enabled
	some hub in openfl_hubs
	not collector_served(hub)
	result := {
		"rule": "observability.addon",
		"msg": sprintf("hub %s runs OpenFL jobs but its overlay installs no otel add-on serving otel-collector.%s:4317, where the metrics sidecar sends", [hub, agent_namespace]),
		"hub": hub,
	}
}

deny contains result if {
	enabled
	some job in input.jobs
	job.framework == "openfl"
	some s in job.clusterSets
	not [job.hub, s] in covered
	result := {
		"rule": "observability.collector",
		"msg": sprintf("the otel add-on of hub %s is not installed on cluster set %s of OpenFL job %s: its clients' metrics have no collector", [job.hub, s, job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.placement.clusterSets",
	}
}

warn contains result if {
	enabled
	some job in input.jobs
	job.framework == "flower"
	result := {
		"rule": "observability.sidecar",
		"msg": sprintf("Flower job %s exports no training metrics: the FL controller has a metrics sidecar for OpenFL jobs only", [job.name]),
		"job": job.name, "hub": job.hub,
	}
}
