# The fleet repository's own conventions, beside the governance plugins' Rego twins.
# Input: see `fedfleet.checks.rego.build_input` (fleet, jobs, plan, objects, parameters).
package fedfleet.conventions

import rego.v1

# input.objects by kind, built once per query (fedfleet's library, loaded with the plugins' modules)
import data.fedfleet_lib.objects

annotation_keys := [
	"policy.open-cluster-management.io/standards",
	"policy.open-cluster-management.io/categories",
	"policy.open-cluster-management.io/controls",
]

# A policy without standards, categories and controls is invisible to an audit by control.
deny contains result if {
	some o in objects.of_kind("Policy")
	some key in annotation_keys
	not o.object.metadata.annotations[key]
	result := {
		"rule": "conventions.policy-controls",
		"msg": sprintf("Policy %s on hub %s has no %s annotation", [o.object.metadata.name, o.hub, key]),
		"hub": o.hub,
	}
}

# Images must be pinned: not here any more. `fedfleet check`/`validate` report every unpinned image
# of the bundle (jobs, the FL controller, add-on and sidecar images, user resources) as a
# placeholder finding, an error in prod and a warning in dev (generator/fedfleet/checks/placeholders.py).

# One client is not a federation: in prod a job must wait for at least two.
warn contains result if {
	some job in input.jobs
	job.environment == "prod"
	job.minAvailableClients < 2
	result := {
		"rule": "conventions.federation-size",
		"msg": sprintf("job %s in prod starts with %d client: its model would be trained on one site's data", [job.name, job.minAvailableClients]),
		"job": job.name, "field": "spec.server.minAvailableClients",
	}
}
