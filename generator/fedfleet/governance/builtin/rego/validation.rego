# Rego twin of the `validation` governance plugin: over recorded gate results (input.validations:
# one entry per validation ConfigMap read from a hub, {"hub", "namespace", "name", "data"}), a job
# with a validation gate whose last recorded verdict is "failed" is flagged. With nothing recorded
# (a pull request) it denies nothing.
package fedfleet.validation

import rego.v1

# Built once per query, so each job is a lookup, not a scan of every recorded result. A ConfigMap
# is unique by hub, namespace and name; should an input list one twice, it is found by a scan, as
# always (and two different results for one job are an error, as always).
keys_unique if count({[v.hub, v.namespace, v.name] | some v in input.validations}) == count(input.validations)

recorded_by := {[v.hub, v.namespace, v.name]: v | keys_unique; some v in input.validations}

recorded(job) := recorded_by[[job.hub, job.namespace, concat("", ["fedfleet-validation-", job.name])]] if keys_unique

recorded(job) := v if {
	not keys_unique
	some v in input.validations
	v.hub == job.hub
	v.namespace == job.namespace
	v.name == concat("", ["fedfleet-validation-", job.name])
}

deny contains result if {
	some job in input.jobs
	count(object.get(job, "validation", {})) > 0
	v := recorded(job)
	v.data.verdict == "failed"
	result := {
		"rule": "validation.last-run",
		"msg": sprintf("the last run of job %s (run %s) failed its quality gate: %s", [job.name, object.get(v.data, "run", "?"), object.get(v.data, "reasons", "[]")]),
		"job": job.name, "hub": job.hub, "field": "spec.validation",
	}
}
