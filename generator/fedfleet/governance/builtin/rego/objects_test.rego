package fedfleet_lib.objects_test

import rego.v1

import data.fedfleet_lib.objects

cm(name) := {"hub": "h", "path": "p", "object": {"kind": "ConfigMap", "metadata": {"name": name}}}

deploy := {"hub": "h", "path": "p", "object": {"kind": "Deployment", "metadata": {"name": "d"}}}

no_kind := {"hub": "h", "path": "p", "object": {"metadata": {"name": "x"}}}

# What a scan visits, in the same order, duplicates kept.
test_of_kind_is_the_scan_in_input_order if {
	given := [cm("b"), deploy, cm("a"), no_kind, cm("b")]
	objects.of_kind("ConfigMap") == [cm("b"), cm("a"), cm("b")] with input as {"objects": given}
	objects.of_kind("ConfigMap") == [o | some o in given; o.object.kind == "ConfigMap"] with input as {"objects": given}
}

test_a_kind_nobody_has_is_empty if {
	objects.of_kind("Policy") == [] with input as {"objects": [deploy, no_kind]}
	objects.of_kind("Policy") == [] with input as {}
}
