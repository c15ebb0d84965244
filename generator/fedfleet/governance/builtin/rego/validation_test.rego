package fedfleet.validation_test

import rego.v1

import data.fedfleet.validation

job := {"name": "j", "hub": "h", "namespace": "ns", "validation": {"data": "heldout", "minAccuracy": 0.9}}

result(verdict) := {"hub": "h", "namespace": "ns", "name": "fedfleet-validation-j", "data": {"verdict": verdict, "run": "j", "reasons": "[\"accuracy 0.8 < minAccuracy 0.9\"]"}}

test_passed_run_is_not_flagged if {
	count(validation.deny) == 0 with input as {"jobs": [job], "validations": [result("passed")]}
}

test_failed_run_is_flagged if {
	some d in validation.deny with input as {"jobs": [job], "validations": [result("failed")]}
	d.rule == "validation.last-run"
	d.job == "j"
}

test_nothing_recorded_denies_nothing if {
	count(validation.deny) == 0 with input as {"jobs": [job]}
}

test_another_namespace_is_not_this_job if {
	other := object.union(result("failed"), {"namespace": "elsewhere"})
	count(validation.deny) == 0 with input as {"jobs": [job], "validations": [other]}
}

test_job_without_gate_is_not_flagged if {
	count(validation.deny) == 0 with input as {"jobs": [object.remove(job, ["validation"])], "validations": [result("failed")]}
}

test_another_hub_is_not_this_job if {
	other := object.union(result("failed"), {"hub": "h2"})
	count(validation.deny) == 0 with input as {"jobs": [job], "validations": [other]}
}

test_each_job_gets_its_own_result if {
	k := object.union(job, {"name": "k"})
	k_passed := object.union(result("passed"), {"name": "fedfleet-validation-k"})
	denials := validation.deny with input as {"jobs": [job, k], "validations": [k_passed, result("failed")]}
	{d.job | some d in denials} == {"j"}
}

test_a_result_listed_twice_is_still_found if {
	x_failed := object.union(result("failed"), {"name": "x"})
	some d in validation.deny with input as {"jobs": [job], "validations": [result("failed"), x_failed, object.union(x_failed, {"data": {"verdict": "passed"}}), result("failed")]}
	d.job == "j"
}
