# Rego twin of the `data-locality` governance plugin: every predicate of a job's client placement
# selects on the data claim, the data-locality map matches the declared holders, and the plan
# selects only clusters that hold the data.
package fedfleet.data_locality

import rego.v1

import data.fedfleet_lib.objects

# Indexes built once per evaluation, so each job looks its objects up instead of scanning them all.
fls := {sprintf("%s/%s", [o.object.metadata.namespace, o.object.metadata.name]): o.object |
	some o in objects.of_kind("FederatedLearning")
}

# Only a map in the governance namespace counts: the policy's hub template reads
# `fromConfigMap ""`: the propagator restricts hub lookups to the policy's namespace
# (governance-policy-propagator controllers/propagator/propagation.go, getTemplateResolverOpts:
# LookupNamespace) and go-template-utils fills the empty namespace with it
# (pkg/templates/k8sresource_funcs.go fromConfigMap -> getOrList -> getNamespace); a map anywhere
# else is no map at all for the hub template.
maps := {o.object.metadata.name: o.object |
	some o in objects.of_kind("ConfigMap")
	o.object.metadata.namespace == input.fleet.governanceNamespace
	endswith(o.object.metadata.name, "-data-locality")
}

plans := {p.job: p | some p in input.plan.jobs}

# The clusters each plan entry selects, built once per entry instead of once per declared holder.
selected := {job: {s.cluster | some s in p.selected} | some job, p in plans}

# The FederatedLearning is named "<job>-run<N>" after a re-run (objectName).
fl_of(job) := [fls[sprintf("%s/%s", [job.namespace, object.get(job, "objectName", job.name)])]]

map_of(job) := [maps[sprintf("%s-data-locality", [job.name])]]

map_matches(job) if maps[sprintf("%s-data-locality", [job.name])].data == job.holders

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
	fls[sprintf("%s/%s", [job.namespace, job.name])]
	not map_matches(job)
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("the data-locality map of job %s does not list exactly its declared data holders", [job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.data.holders",
	}
}

deny contains result if {
	some job in input.jobs
	p := plans[job.name]
	some s in p.selected
	not job.holders[s.cluster]
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("cluster %s would train job %s but is not a declared holder of its data", [s.cluster, job.name]),
		"job": job.name, "hub": job.hub, "cluster": s.cluster, "field": "spec.data.holders",
	}
}

warn contains result if {
	some job in input.jobs
	p := plans[job.name]
	some holder, _ in job.holders
	not holder in selected[job.name]
	result := {
		"rule": "data-locality.claim",
		"msg": sprintf("cluster %s holds data of job %s but will not train it", [holder, job.name]),
		"job": job.name, "hub": job.hub, "cluster": holder, "field": sprintf("spec.data.holders.%s", [holder]),
	}
}
