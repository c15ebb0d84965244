package fedfleet.tls_test

import rego.v1

import data.fedfleet.tls

ssl := [
	"--ssl-ca-certfile=/etc/flower/tls/ca.crt",
	"--ssl-certfile=/etc/flower/tls/tls.crt",
	"--ssl-keyfile=/etc/flower/tls/tls.key",
	"--isolation=process",
	"--serverappio-api-address=0.0.0.0:9091",
	"--fleet-api-address=127.0.0.1:9095",
	"--control-api-address=0.0.0.0:9093",
]

fleet(hub_tls) := {"hubs": [{"name": "h", "tls": hub_tls}]}

job := {"name": "j", "hub": "h", "framework": "flower", "environment": "prod", "tls": true, "listeners": [{"name": "s", "type": "Route"}]}

superlink(args) := {"hub": "h", "object": {"kind": "Deployment", "metadata": {"name": "superlink-j", "namespace": "flower-system"}, "spec": {"template": {"spec": {"containers": [{"name": "superlink", "args": args}]}}}}}

on(hub_tls, jobs, objects) := {"fleet": fleet(hub_tls), "jobs": jobs, "objects": objects}

test_tls_on_passes if {
	count(tls.deny) == 0 with input as on(true, [job], [superlink(ssl)])
}

test_ssl_args_in_any_order_pass if {
	count(tls.deny) == 0 with input as on(true, [job], [superlink(array.reverse(ssl))])
}

test_job_tls_off_fails_on_a_tls_hub if {
	some d in tls.deny with input as on(true, [object.union(job, {"tls": false})], [superlink(ssl)])
	d.field == "spec.tls.enabled"
}

test_job_tls_off_passes_on_a_hub_without_tls if {
	count(tls.deny) == 0 with input as on(false, [object.union(job, {"tls": false})], [superlink(["--insecure"])])
}

test_missing_ssl_arg_fails if {
	some d in tls.deny with input as on(true, [job], [superlink(array.slice(ssl, 1, 4))])
	d.rule == "tls.superlink"
}

test_insecure_superlink_fails if {
	some d in tls.deny with input as on(true, [job], [superlink(["--insecure"])])
	d.rule == "tls.no-insecure"
}

test_insecure_plus_tls_flags_fails_no_insecure_only if {
	denials := tls.deny with input as on(true, [job], [superlink(array.concat(ssl, ["--insecure"]))])
	{d.rule | some d in denials} == {"tls.no-insecure"}
}

test_nodeport_in_prod_fails if {
	some d in tls.deny with input as on(true, [object.union(job, {"listeners": [{"name": "s", "type": "NodePort"}]})], [superlink(ssl)])
	d.field == "spec.server.listeners[0].type"
}

test_nodeport_in_dev_passes if {
	dev := object.union(job, {"environment": "dev", "listeners": [{"name": "s", "type": "NodePort"}]})
	count(tls.deny) == 0 with input as on(true, [dev], [superlink(ssl)])
}

test_parameters_override_forbidden_types if {
	params := {"tls": {"forbiddenListenerTypes": {"dev": ["NodePort"]}}}
	dev := object.union(job, {"environment": "dev", "listeners": [{"name": "s", "type": "NodePort"}]})
	count(tls.deny) == 1 with input as object.union(on(true, [dev], [superlink(ssl)]), {"parameters": params})
}
