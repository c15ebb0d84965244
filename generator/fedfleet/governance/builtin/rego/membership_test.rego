package fedfleet.membership_test

import rego.v1

import data.fedfleet.membership

fleet := {"clusterSets": [{"name": "a", "hub": "h"}]}

label_set(name, label_value) := {"hub": "h", "object": {"kind": "ManagedClusterSet", "metadata": {"name": name}, "spec": {"clusterSelector": {
	"selectorType": "LabelSelector",
	"labelSelector": {"matchLabels": {"fedfleet.io/cluster-set": label_value}},
}}}}

exclusive_set := {"hub": "h", "object": {"kind": "ManagedClusterSet", "metadata": {"name": "a"}, "spec": {"clusterSelector": {"selectorType": "ExclusiveClusterSetLabel"}}}}

policy(set_name) := {"hub": "h", "object": {"kind": "Policy", "metadata": {"name": "membership-x"}, "spec": {"policy-templates": [{"objectDefinition": {"spec": {"object-templates-raw": sprintf("- complianceType: musthave\n  objectDefinition:\n    metadata:\n      labels:\n        'fedfleet.io/cluster-set': '%s'\n", [set_name])}}}]}}}

test_labelled_set_with_policy if {
	count(membership.deny) == 0 with input as {"fleet": fleet, "objects": [label_set("a", "a"), policy("a")]}
}

test_policy_writing_another_set_does_not_count if {
	some d in membership.deny with input as {"fleet": fleet, "objects": [label_set("a", "a"), policy("ab")]}
	contains(d.msg, "no membership policy")
}

test_exclusive_label_set_is_denied if {
	some d in membership.deny with input as {"fleet": fleet, "objects": [exclusive_set, policy("a")]}
	contains(d.msg, "does not select")
}

test_wrong_label_value_is_denied if {
	some d in membership.deny with input as {"fleet": fleet, "objects": [label_set("a", "b"), policy("a")]}
	contains(d.msg, "does not select")
}

test_missing_policy_is_denied if {
	some d in membership.deny with input as {"fleet": fleet, "objects": [label_set("a", "a")]}
	contains(d.msg, "no membership policy")
}

test_missing_set_is_denied if {
	some d in membership.deny with input as {"fleet": fleet, "objects": [policy("a")]}
	contains(d.msg, "no ManagedClusterSet")
}

mixed_policy := {"hub": "h", "object": {"kind": "Policy", "metadata": {"name": "membership-a"}, "spec": {"policy-templates": [{"objectDefinition": {"spec": {"object-templates-raw": "        'fedfleet.io/cluster-set': 'a'\n        'fedfleet.io/cluster-set': 'b'\n"}}}]}}}

test_policy_writing_an_unknown_set_in_a_mixed_policy_is_denied if {
	found := {d.msg | some d in membership.deny} with input as {"fleet": fleet, "objects": [label_set("a", "a"), mixed_policy]}
	count(found) == 2
	some msg in found
	contains(msg, "several sets (a, b)")
}
