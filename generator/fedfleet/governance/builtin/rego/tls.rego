# Rego twin of the `tls` governance plugin: no job turns TLS off, the SuperLink never runs
# --insecure, and listener types follow the environment's rules.
package fedfleet.tls

import rego.v1

default_forbidden := {"prod": ["NodePort"], "staging": ["NodePort"], "dev": []}

forbidden(env) := input.parameters.tls.forbiddenListenerTypes[env]

forbidden(env) := default_forbidden[env] if not input.parameters.tls.forbiddenListenerTypes[env]

deny contains result if {
	some job in input.jobs
	job.tls == false
	result := {
		"rule": "tls.jobs",
		"msg": sprintf("job %s turns TLS off: collaborators would send model updates unencrypted", [job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.tls.enabled",
	}
}

deny contains result if {
	some o in input.objects
	o.object.kind == "Deployment"
	o.object.metadata.name == "superlink"
	some c in o.object.spec.template.spec.containers
	some arg in c.args
	arg == "--insecure"
	result := {
		"rule": "tls.superlink",
		"msg": sprintf("the SuperLink on hub %s runs with --insecure", [o.hub]),
		"hub": o.hub,
	}
}

deny contains result if {
	some job in input.jobs
	some i, listener in job.listeners
	listener.type in forbidden(job.environment)
	result := {
		"rule": "tls.jobs",
		"msg": sprintf("job %s exposes listener %s as %s, which is not allowed in %s", [job.name, listener.name, listener.type, job.environment]),
		"job": job.name, "hub": job.hub, "field": sprintf("spec.server.listeners[%d].type", [i]),
	}
}
