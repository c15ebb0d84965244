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

enabled if not input.parameters.observability.enabled == false

agent_namespace := "open-cluster-management-agent-addon"

openfl_hubs := {job.hub | some job in input.jobs; job.framework == "openfl"}

objects_of(hub, kind) := [o.object | some o in input.objects; o.hub == hub; o.object.kind == kind]

collector_served(hub) if {
	some cma in objects_of(hub, "ClusterManagementAddOn")
	cma.metadata.name == "otel"
	some tpl in objects_of(hub, "AddOnTemplate")
	tpl.spec.addonName == "otel"
	some m in tpl.spec.agentSpec.workload.manifests
	m.kind == "Service"
	m.metadata.name == "otel-collector"
	some port in m.spec.ports
	port.port == 4317
	some config in objects_of(hub, "AddOnDeploymentConfig")
	config.metadata.name == "otel-config"
	config.spec.agentInstallNamespace == agent_namespace
}

covered_sets(hub) := {s |
	some p in objects_of(hub, "Placement")
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
	some o in input.objects
	o.object.kind == "FederatedLearning"
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
	not s in covered_sets(job.hub)
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
