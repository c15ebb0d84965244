package fedfleet.observability_test

import rego.v1

import data.fedfleet.observability as obs

openfl := {"name": "o", "hub": "h", "framework": "openfl", "clusterSets": ["a"]}

flower := {"name": "f", "hub": "h", "framework": "flower", "clusterSets": ["a"]}

fl(annotations) := {"hub": "h", "object": {"kind": "FederatedLearning", "metadata": {"name": "o", "annotations": annotations}, "spec": {"framework": "openfl"}}}

annotated := fl({"federated-learning.io/sidecar-image": "img"})

cma := {"hub": "h", "object": {"kind": "ClusterManagementAddOn", "metadata": {"name": "otel"}}}

template(port) := {"hub": "h", "object": {"kind": "AddOnTemplate", "metadata": {"name": "otel-addon"}, "spec": {"addonName": "otel", "agentSpec": {"workload": {"manifests": [{"kind": "Service", "metadata": {"name": "otel-collector"}, "spec": {"ports": [{"port": port}]}}]}}}}}

config(ns) := {"hub": "h", "object": {"kind": "AddOnDeploymentConfig", "metadata": {"name": "otel-config"}, "spec": {"agentInstallNamespace": ns}}}

placement(sets) := {"hub": "h", "object": {"kind": "Placement", "metadata": {"name": "otel-addon", "namespace": "open-cluster-management-addon"}, "spec": {"predicates": [{"requiredClusterSelector": {"labelSelector": {"matchExpressions": [{"key": "fedfleet.io/cluster-set", "operator": "In", "values": sets}]}}}]}}}

installed := [cma, template(4317), config("open-cluster-management-agent-addon"), placement(["a"])]

test_openfl_job_with_collector_passes if {
	count(obs.deny) == 0 with input as {"jobs": [openfl], "objects": array.concat(installed, [annotated])}
}

test_missing_sidecar_fails if {
	some d in obs.deny with input as {"jobs": [openfl], "objects": array.concat(installed, [fl({})]), "parameters": {"observability": {"sidecarImage": "img:1"}}}
	d.rule == "observability.sidecar"
}

test_no_sidecar_image_configured_warns if {
	count(obs.deny) == 0 with input as {"jobs": [openfl], "objects": array.concat(installed, [fl({})])}
	some w in obs.warn with input as {"jobs": [openfl], "objects": array.concat(installed, [fl({})])}
	contains(w.msg, "set governance.plugins.observability.sidecarImage")
}

test_collector_in_another_namespace_fails if {
	objects := [cma, template(4317), config("open-cluster-management-addon"), placement(["a"]), annotated]
	some d in obs.deny with input as {"jobs": [openfl], "objects": objects}
	d.rule == "observability.addon"
}

test_collector_on_another_port_fails if {
	objects := [cma, template(4318), config("open-cluster-management-agent-addon"), placement(["a"]), annotated]
	some d in obs.deny with input as {"jobs": [openfl], "objects": objects}
	d.rule == "observability.addon"
}

test_set_without_collector_fails if {
	objects := [cma, template(4317), config("open-cluster-management-agent-addon"), placement(["b"]), annotated]
	some d in obs.deny with input as {"jobs": [openfl], "objects": objects}
	d.rule == "observability.collector"
}

test_flower_job_warns_and_needs_no_addon if {
	count(obs.deny) == 0 with input as {"jobs": [flower], "objects": []}
	some w in obs.warn with input as {"jobs": [flower], "objects": []}
	contains(w.msg, "OpenFL jobs only")
}

test_disabled_plugin_passes if {
	count(obs.deny) == 0 with input as {"jobs": [openfl], "objects": [fl({})], "parameters": {"observability": {"enabled": false}}}
}

# Every part of the collector counts on the OpenFL job's own hub only.
elsewhere(o) := object.union(o, {"hub": "h2"})

test_collector_parts_split_over_two_hubs_fail if {
	objects := [elsewhere(cma), template(4317), config("open-cluster-management-agent-addon"), placement(["a"]), annotated]
	some d in obs.deny with input as {"jobs": [openfl], "objects": objects}
	d.rule == "observability.addon"
	d.hub == "h"
}

test_install_placement_on_another_hub_fails if {
	objects := [cma, template(4317), config("open-cluster-management-agent-addon"), elsewhere(placement(["a"])), annotated]
	denials := obs.deny with input as {"jobs": [openfl], "objects": objects}
	{d.rule | some d in denials} == {"observability.collector"}
}

test_two_hubs_each_with_its_collector_pass if {
	objects := array.concat(installed, [elsewhere(o) | some o in installed])
	count(obs.deny) == 0 with input as {"jobs": [openfl, object.union(openfl, {"name": "o2", "hub": "h2"})], "objects": array.concat(objects, [annotated])}
}
