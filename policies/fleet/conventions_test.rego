package fedfleet.conventions_test

import rego.v1

import data.fedfleet.conventions

annotated := {
	"policy.open-cluster-management.io/standards": "NIST SP 800-53",
	"policy.open-cluster-management.io/categories": "SC",
	"policy.open-cluster-management.io/controls": "SC-8",
}

policy(annotations) := {"hub": "h", "object": {"kind": "Policy", "metadata": {"name": "p", "annotations": annotations}}}

job(image) := {"name": "j", "environment": "prod", "minAvailableClients": 2, "images": [image]}

test_annotated_policy_passes if {
	count(conventions.deny) == 0 with input as {"objects": [policy(annotated)], "jobs": []}
}

test_policy_without_controls_fails if {
	some d in conventions.deny with input as {"objects": [policy(object.remove(annotated, ["policy.open-cluster-management.io/controls"]))], "jobs": []}
	d.rule == "conventions.policy-controls"
}

test_single_client_in_prod_warns if {
	count(conventions.warn) == 1 with input as {"objects": [], "jobs": [object.union(job("a:1"), {"minAvailableClients": 1})]}
}
