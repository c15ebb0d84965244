# Rego twin of the `addon` governance plugin: a Flower job's hub installs the Flower add-on, with
# an install placement of the job's own (flower-addon-<job>) listed in the ClusterManagementAddOn,
# over every cluster set the job draws clients from.
package fedfleet.addon

import rego.v1

import data.fedfleet_lib.objects

# Computed once per evaluation: the hubs that install the add-on, and the sets it covers per hub.
addon_hubs := {o.hub |
	some o in objects.of_kind("ClusterManagementAddOn")
	o.object.metadata.name == "flower-addon"
}

installs := {[o.hub, p.name] |
	some o in objects.of_kind("ClusterManagementAddOn")
	o.object.metadata.name == "flower-addon"
	some p in o.object.spec.installStrategy.placements
}

covered := {[o.hub, o.object.metadata.name, s] |
	some o in objects.of_kind("Placement")
	[o.hub, o.object.metadata.name] in installs
	some s in o.object.spec.clusterSets
}

has_addon(hub) if hub in addon_hubs

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
	not [job.hub, concat("", ["flower-addon-", job.name]), s] in covered
	result := {
		"rule": "addon.agent-available",
		"msg": sprintf("cluster set %s of job %s is not covered by an install placement flower-addon-%s of the flower-addon on hub %s", [s, job.name, job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.placement.clusterSets",
	}
}
