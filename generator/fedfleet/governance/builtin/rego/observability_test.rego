package fedfleet.observability_test

import rego.v1

import data.fedfleet.observability as obs

fl(annotations) := {"hub": "h", "object": {"kind": "FederatedLearning", "metadata": {"name": "j", "annotations": annotations}}}

test_sidecar_passes if {
	count(obs.deny) == 0 with input as {"objects": [fl({"federated-learning.io/sidecar-image": "img"})]}
}

test_missing_sidecar_fails if {
	count(obs.deny) == 1 with input as {"objects": [fl({})]}
}

test_disabled_plugin_passes if {
	count(obs.deny) == 0 with input as {"objects": [fl({})], "parameters": {"observability": {"enabled": false}}}
}
