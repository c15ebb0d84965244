# Rego twin of the `addon` governance plugin: a Flower job's hub installs the Flower add-on, and
# the add-on's install Placement covers every cluster set the job draws clients from.
package fedfleet.addon

import rego.v1

hub_objects(hub) := [o.object | some o in input.objects; o.hub == hub]

has_addon(hub) if {
	some o in hub_objects(hub)
	o.kind == "ClusterManagementAddOn"
	o.metadata.name == "flower-addon"
}

addon_sets(hub) := {s |
	some o in hub_objects(hub)
	o.kind == "Placement"
	o.metadata.name == "flower-addon-placement"
	some s in o.spec.clusterSets
}

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	not has_addon(job.hub)
	result := {
		"rule": "addon.controller-available",
		"msg": sprintf("job %s runs on hub %s, whose overlay does not install the flower-addon ClusterManagementAddOn", [job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.hub",
	}
}

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	some s in job.clusterSets
	not s in addon_sets(job.hub)
	result := {
		"rule": "addon.agent-available",
		"msg": sprintf("cluster set %s of job %s is not covered by the flower-addon install placement on hub %s", [s, job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.placement.clusterSets",
	}
}
