# Rego twin of the `data-locality` governance plugin: every predicate of a job's client placement
# selects on the data claim, the data-locality map matches the declared holders, and the plan
# selects only clusters that hold the data.
package fedfleet.data_locality

import rego.v1

fl_of(job) := [o.object |
	some o in input.objects
	o.object.kind == "FederatedLearning"
	o.object.metadata.name == job.name
	o.object.metadata.namespace == job.namespace
]

map_of(job) := [o.object |
	some o in input.objects
	o.object.kind == "ConfigMap"
	o.object.metadata.name == sprintf("%s-data-locality", [job.name])
]

selects_on_claim(predicate, claim) if {
	some e in predicate.requiredClusterSelector.claimSelector.matchExpressions
	e.key == claim
	e.operator == "Exists"
}

deny contains result if {
	some job in input.jobs
	some fl in fl_of(job)
	some i, predicate in fl.spec.client.placement.predicates
	not selects_on_claim(predicate, job.dataClaim)
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("predicate %d of job %s's client placement does not select on claim %s", [i, job.name, job.dataClaim]),
		"job": job.name, "hub": job.hub, "field": "spec.placement.predicates",
	}
}

deny contains result if {
	some job in input.jobs
	count(fl_of(job)) > 0
	count([m | some m in map_of(job); m.data == job.holders]) == 0
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("the data-locality map of job %s does not list exactly its declared data holders", [job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.data.holders",
	}
}

deny contains result if {
	some p in input.plan.jobs
	some job in input.jobs
	job.name == p.job
	some s in p.selected
	not job.holders[s.cluster]
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("cluster %s would train job %s but is not a declared holder of its data", [s.cluster, job.name]),
		"job": job.name, "hub": job.hub, "cluster": s.cluster, "field": "spec.data.holders",
	}
}

warn contains result if {
	some p in input.plan.jobs
	some job in input.jobs
	job.name == p.job
	some holder, _ in job.holders
	not holder in {s.cluster | some s in p.selected}
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("cluster %s holds data of job %s but will not train it", [holder, job.name]),
		"job": job.name, "hub": job.hub, "cluster": holder, "field": sprintf("spec.data.holders.%s", [holder]),
	}
}
