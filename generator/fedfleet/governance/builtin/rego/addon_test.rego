package fedfleet.addon_test

import rego.v1

import data.fedfleet.addon

job := {"name": "j", "hub": "h", "framework": "flower", "clusterSets": ["a"]}

cma := {"hub": "h", "object": {"kind": "ClusterManagementAddOn", "metadata": {"name": "flower-addon"}, "spec": {"installStrategy": {"type": "Placements", "placements": [{"name": "flower-addon-j", "namespace": "open-cluster-management"}]}}}}

cma_without_job := {"hub": "h", "object": {"kind": "ClusterManagementAddOn", "metadata": {"name": "flower-addon"}, "spec": {"installStrategy": {"type": "Placements", "placements": []}}}}

placement(sets) := {"hub": "h", "object": {"kind": "Placement", "metadata": {"name": "flower-addon-j"}, "spec": {"clusterSets": sets}}}

test_installed_and_covering if {
	count(addon.deny) == 0 with input as {"jobs": [job], "objects": [cma, placement(["a"])]}
}

test_missing_addon if {
	some d in addon.deny with input as {"jobs": [job], "objects": [placement(["a"])]}
	d.rule == "addon.controller-available"
}

test_set_not_covered if {
	some d in addon.deny with input as {"jobs": [job], "objects": [cma, placement(["b"])]}
	d.rule == "addon.agent-available"
}

test_placement_not_listed_in_the_install_strategy if {
	some d in addon.deny with input as {"jobs": [job], "objects": [cma_without_job, placement(["a"])]}
	d.rule == "addon.agent-available"
}

test_openfl_needs_no_flower_addon if {
	count(addon.deny) == 0 with input as {"jobs": [object.union(job, {"framework": "openfl"})], "objects": []}
}
