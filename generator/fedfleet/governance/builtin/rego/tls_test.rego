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

tunnel := {"name": "fleet-tunnel", "command": ["/bin/sh", "/etc/fedfleet/tunnel/run.sh", "/etc/fedfleet/tunnel/stunnel.conf"]}

superlink_with(args, extra) := {"hub": "h", "object": {"kind": "Deployment", "metadata": {"name": "superlink-j", "namespace": "flower-system"}, "spec": {"template": {"spec": {"containers": array.concat([{"name": "superlink", "args": args}], extra)}}}}}

superlink(args) := superlink_with(args, [tunnel])

# What render/tunnel.py hub_config writes for job j with the one planned cluster c1.
conf_c1 := "; fedfleet registration tunnel, hub side: only clients with a registration credential pass\nforeground = yes\npid =\n\n[fleet]\naccept = 0.0.0.0:9092\nconnect = 127.0.0.1:9095\ncert = /etc/flower/tls/tls.crt\nkey = /etc/flower/tls/tls.key\nCAfile = /etc/fedfleet/registration/ca.crt\nverifyChain = yes\nrequireCert = yes\n; the job's clusters, by the CN of their registration credential\ncheckHost = system:open-cluster-management:cluster:c1:addon:flower-addon:agent:flower-addon\nsslVersionMin = TLSv1.2\n"

tunnel_config(text) := {"hub": "h", "object": {"kind": "ConfigMap", "metadata": {"name": "superlink-j-tunnel", "namespace": "flower-system"}, "data": {"stunnel.conf": text}}}

plan := {"jobs": [{"job": "j", "selected": [{"cluster": "c1"}]}]}

on_with(hub_tls, jobs, objects) := {"fleet": fleet(hub_tls), "jobs": jobs, "objects": objects, "plan": plan}

on(hub_tls, jobs, objects) := on_with(hub_tls, jobs, array.concat(objects, [tunnel_config(conf_c1)]))

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

test_tunnel_config_of_the_jobs_clusters_passes if {
	count(tls.deny) == 0 with input as on_with(true, [job], [superlink(ssl), tunnel_config(conf_c1)])
}

test_tunnel_config_without_require_cert_fails if {
	some d in tls.deny with input as on_with(true, [job], [superlink(ssl), tunnel_config(replace(conf_c1, "requireCert = yes\n", ""))])
	d.rule == "tls.superlink"
	contains(d.msg, "ConfigMap superlink-j-tunnel")
}

test_tunnel_config_naming_another_cluster_fails if {
	some d in tls.deny with input as on_with(true, [job], [superlink(ssl), tunnel_config(replace(conf_c1, ":cluster:c1:", ":cluster:c2:"))])
	d.rule == "tls.superlink"
}

test_missing_tunnel_config_fails if {
	some d in tls.deny with input as on_with(true, [job], [superlink(ssl)])
	d.rule == "tls.superlink"
}

test_missing_tunnel_container_fails if {
	some d in tls.deny with input as on(true, [job], [superlink_with(ssl, [])])
	d.rule == "tls.superlink"
	contains(d.msg, "no registration tunnel container")
}

# Each job is judged by its own hub's objects and its own plan (the rule looks both up by hub, job
# and name, over several hubs and jobs).
on_hub(o, hub) := object.union(o, {"hub": hub})

conf_of(cluster) := replace(conf_c1, ":cluster:c1:", sprintf(":cluster:%s:", [cluster]))

job_k := object.union(job, {"name": "k"})

superlink_k := json.patch(superlink(ssl), [{"op": "replace", "path": "/object/metadata/name", "value": "superlink-k"}])

tunnel_config_k(text) := json.patch(tunnel_config(text), [{"op": "replace", "path": "/object/metadata/name", "value": "superlink-k-tunnel"}])

two_jobs(objects) := {
	"fleet": {"hubs": [{"name": "h", "tls": true}, {"name": "h2", "tls": true}]},
	"jobs": [job, job_k],
	"objects": objects,
	"plan": {"jobs": [{"job": "j", "selected": [{"cluster": "c1"}]}, {"job": "k", "selected": [{"cluster": "c2"}]}]},
}

test_two_jobs_each_with_its_own_tunnel_config_pass if {
	count(tls.deny) == 0 with input as two_jobs([superlink(ssl), superlink_k, tunnel_config(conf_c1), tunnel_config_k(conf_of("c2"))])
}

test_tunnel_configs_of_two_jobs_swapped_fail_both if {
	denials := tls.deny with input as two_jobs([superlink(ssl), superlink_k, tunnel_config(conf_of("c2")), tunnel_config_k(conf_c1)])
	{d.job | some d in denials; contains(d.msg, "is not the registration tunnel's configuration")} == {"j", "k"}
}

test_superlink_and_tunnel_config_on_another_hub_fail if {
	objects := [on_hub(superlink(ssl), "h2"), superlink_k, on_hub(tunnel_config(conf_c1), "h2"), tunnel_config_k(conf_of("c2"))]
	denials := tls.deny with input as two_jobs(objects)
	{d.job | some d in denials} == {"j"}
	count(denials) == 3 # every --ssl-* argument, the tunnel container, the tunnel configuration
}

# A plan that lists a job twice: its selections are merged (the lookup's fallback).
conf_c1_c2 := replace(conf_c1, "\nsslVersionMin", "\ncheckHost = system:open-cluster-management:cluster:c2:addon:flower-addon:agent:flower-addon\nsslVersionMin")

plan_twice := {"jobs": [{"job": "j", "selected": [{"cluster": "c2"}]}, {"job": "j", "selected": [{"cluster": "c1"}]}]}

test_a_job_listed_twice_in_the_plan_checks_every_cluster_of_both if {
	count(tls.deny) == 0 with input as object.union(on_with(true, [job], [superlink(ssl), tunnel_config(conf_c1_c2)]), {"plan": plan_twice})
	some d in tls.deny with input as object.union(on_with(true, [job], [superlink(ssl), tunnel_config(conf_c1)]), {"plan": plan_twice})
	contains(d.msg, "is not the registration tunnel's configuration")
}
