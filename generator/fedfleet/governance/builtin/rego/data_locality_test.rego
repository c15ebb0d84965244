package fedfleet.data_locality_test

import rego.v1

import data.fedfleet.data_locality as dl

job := {"name": "j", "namespace": "n", "hub": "h", "dataClaim": "j.client-data", "holders": {"c1": "/d"}}

fl(exprs) := {"object": {"kind": "FederatedLearning", "metadata": {"name": "j", "namespace": "n"}, "spec": {"client": {"placement": {"predicates": [{"requiredClusterSelector": {"claimSelector": {"matchExpressions": exprs}}}]}}}}}

cm(data) := {"object": {"kind": "ConfigMap", "metadata": {"name": "j-data-locality", "namespace": "gov"}, "data": data}}

fleet := {"governanceNamespace": "gov"}

plan(selected) := {"jobs": [{"job": "j", "selected": [{"cluster": c} | some c in selected]}]}

claim := [{"key": "j.client-data", "operator": "Exists"}]

test_consistent_job_passes if {
	count(dl.deny) == 0 with input as {"fleet": fleet, "jobs": [job], "objects": [fl(claim), cm({"c1": "/d"})], "plan": plan(["c1"])}
}

test_predicate_without_claim_fails if {
	some d in dl.deny with input as {"fleet": fleet, "jobs": [job], "objects": [fl([]), cm({"c1": "/d"})], "plan": plan(["c1"])}
	contains(d.msg, "does not select on claim")
}

test_map_mismatch_fails if {
	some d in dl.deny with input as {"fleet": fleet, "jobs": [job], "objects": [fl(claim), cm({"c2": "/d"})], "plan": plan(["c1"])}
	d.field == "spec.data.holders"
}

test_selected_non_holder_fails if {
	some d in dl.deny with input as {"fleet": fleet, "jobs": [job], "objects": [fl(claim), cm({"c1": "/d"})], "plan": plan(["c1", "c9"])}
	d.cluster == "c9"
}

test_unselected_holder_warns if {
	some w in dl.warn with input as {"fleet": fleet, "jobs": [job], "objects": [fl(claim), cm({"c1": "/d"})], "plan": plan([])}
	w.cluster == "c1"
}

test_map_in_another_namespace_fails if {
	elsewhere := {"object": {"kind": "ConfigMap", "metadata": {"name": "j-data-locality", "namespace": "n"}, "data": {"c1": "/d"}}}
	some d in dl.deny with input as {"fleet": fleet, "jobs": [job], "objects": [fl(claim), elsewhere], "plan": plan(["c1"])}
	d.field == "spec.data.holders"
}
