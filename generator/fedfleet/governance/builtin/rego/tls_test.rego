package fedfleet.tls_test

import rego.v1

import data.fedfleet.tls

job := {"name": "j", "hub": "h", "environment": "prod", "tls": true, "listeners": [{"name": "s", "type": "Route"}]}

superlink(args) := {"hub": "h", "object": {"kind": "Deployment", "metadata": {"name": "superlink"}, "spec": {"template": {"spec": {"containers": [{"name": "superlink", "args": args}]}}}}}

test_tls_on_passes if {
	count(tls.deny) == 0 with input as {"jobs": [job], "objects": [superlink(["--ssl-certfile=x"])]}
}

test_job_tls_off_fails if {
	some d in tls.deny with input as {"jobs": [object.union(job, {"tls": false})], "objects": []}
	d.field == "spec.tls.enabled"
}

test_insecure_superlink_fails if {
	some d in tls.deny with input as {"jobs": [job], "objects": [superlink(["--insecure"])]}
	d.rule == "tls.superlink"
}

test_nodeport_in_prod_fails if {
	some d in tls.deny with input as {"jobs": [object.union(job, {"listeners": [{"name": "s", "type": "NodePort"}]})], "objects": []}
	d.field == "spec.server.listeners[0].type"
}

test_nodeport_in_dev_passes if {
	dev := object.union(job, {"environment": "dev", "listeners": [{"name": "s", "type": "NodePort"}]})
	count(tls.deny) == 0 with input as {"jobs": [dev], "objects": []}
}

test_parameters_override_forbidden_types if {
	params := {"tls": {"forbiddenListenerTypes": {"dev": ["NodePort"]}}}
	dev := object.union(job, {"environment": "dev", "listeners": [{"name": "s", "type": "NodePort"}]})
	count(tls.deny) == 1 with input as {"jobs": [dev], "objects": [], "parameters": params}
}
