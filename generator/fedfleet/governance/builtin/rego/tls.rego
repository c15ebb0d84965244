# Rego twin of the `tls` governance plugin, rule by rule, on each hub's own TLS setting:
# - tls.jobs: on a TLS hub no job turns TLS off; everywhere, listener types follow the environment;
# - tls.superlink: on a TLS hub each Flower job's SuperLink (superlink-<job>) container has every
#   --ssl-* argument (the policy's musthave: a subset of its arguments, any order), the pod has the
#   registration tunnel container running the wrapper, and ConfigMap superlink-<job>-tunnel holds
#   exactly the tunnel configuration fedfleet renders for the job's planned clusters (requireCert,
#   verifyChain, the signing CA's CAfile, one checkHost per cluster: render/tunnel.py hub_config);
# - tls.no-insecure: on a TLS hub no SuperLink container in flower-system has --insecure among its
#   arguments, whatever else it has (the policy's unnamed mustnothave).
# tls.secrets, tls.certificates and tls.client-ca have no twin: Secrets and certificates exist
# only on the clusters, never in the bundle (`fedfleet audit` says so).
package fedfleet.tls

import rego.v1

import data.fedfleet_lib.objects

default_forbidden := {"prod": ["NodePort"], "staging": ["NodePort"], "dev": []}

# fedfleet.upstream.superlink_args(True); tests/test_governance.py holds the two equal.
ssl_args := [
	"--ssl-ca-certfile=/etc/flower/tls/ca.crt",
	"--ssl-certfile=/etc/flower/tls/tls.crt",
	"--ssl-keyfile=/etc/flower/tls/tls.key",
	"--isolation=process",
	"--serverappio-api-address=0.0.0.0:9091",
	"--fleet-api-address=127.0.0.1:9095",
	"--control-api-address=0.0.0.0:9093",
]

# fedfleet.render.tunnel.TUNNEL_COMMAND and hub_config (the lines around the checkHost lines, and
# the name checked when no cluster is planned); tests/test_governance.py holds them equal.
tunnel_command := ["/bin/sh", "/etc/fedfleet/tunnel/run.sh", "/etc/fedfleet/tunnel/stunnel.conf"]

hub_conf_head := [
	"; fedfleet registration tunnel, hub side: only clients with a registration credential pass",
	"foreground = yes",
	"pid =",
	"",
	"[fleet]",
	"accept = 0.0.0.0:9092",
	"connect = 127.0.0.1:9095",
	"cert = /etc/flower/tls/tls.crt",
	"key = /etc/flower/tls/tls.key",
	"CAfile = /etc/fedfleet/registration/ca.crt",
	"verifyChain = yes",
	"requireCert = yes",
	"; the job's clusters, by the CN of their registration credential",
]

hub_conf_tail := ["sslVersionMin = TLSv1.2", ""]

no_cluster := "no-cluster-is-planned-for-this-job.invalid"

# Every index below is a complete rule, evaluated once per query, so each job looks its objects up
# instead of scanning all of them (at 1,000 jobs over 20,000 objects the scans took seconds).
# The plan has one entry per job; should an input list a job twice, its entries are merged by a
# scan, as they always were.
plan_names_unique if count({pj.job | some pj in input.plan.jobs}) == count(input.plan.jobs)

selected_clusters := {pj.job: sort([s.cluster | some s in pj.selected]) | plan_names_unique; some pj in input.plan.jobs}

planned(job) := object.get(selected_clusters, job.name, []) if plan_names_unique

planned(job) := sort([s.cluster |
	some pj in input.plan.jobs
	pj.job == job.name
	some s in pj.selected
]) if not plan_names_unique

check_lines(job) := [sprintf("checkHost = system:open-cluster-management:cluster:%s:addon:flower-addon:agent:flower-addon", [c]) |
	some c in planned(job)
]

hub_conf(job) := concat("\n", array.concat(array.concat(hub_conf_head, lines), hub_conf_tail)) if {
	lines := check_lines(job)
	count(lines) > 0
}

hub_conf(job) := concat("\n", array.concat(array.concat(hub_conf_head, [concat(" = ", ["checkHost", no_cluster])]), hub_conf_tail)) if count(planned(job)) == 0

# The hubs whose overlay carries the TLS policies: TLS on, and a job to serve.
tls_hubs := {h.name |
	some h in input.fleet.hubs
	h.tls == true
	some job in input.jobs
	job.hub == h.name
}

forbidden(env) := input.parameters.tls.forbiddenListenerTypes[env]

forbidden(env) := default_forbidden[env] if not input.parameters.tls.forbiddenListenerTypes[env]

superlinks := [o |
	some o in objects.of_kind("Deployment")
	o.object.metadata.namespace == "flower-system"
]

deny contains result if {
	some job in input.jobs
	job.hub in tls_hubs
	job.tls == false
	result := {
		"rule": "tls.jobs",
		"msg": sprintf("job %s turns TLS off on hub %s, which runs TLS: collaborators would send model updates unencrypted", [job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.tls.enabled",
	}
}

# [hub, name] of every SuperLink Deployment whose superlink container has every --ssl-* argument.
ssl_superlinks contains [o.hub, o.object.metadata.name] if {
	some o in superlinks
	some c in o.object.spec.template.spec.containers
	c.name == "superlink"
	every arg in ssl_args {
		arg in c.args
	}
}

has_ssl_args(hub, name) if [hub, name] in ssl_superlinks

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	job.hub in tls_hubs
	name := concat("", ["superlink-", job.name])
	not has_ssl_args(job.hub, name)
	result := {
		"rule": "tls.superlink",
		"msg": sprintf("the SuperLink %s of job %s on hub %s, which runs TLS, lacks an argument of %v", [name, job.name, job.hub, ssl_args]),
		"job": job.name, "hub": job.hub,
	}
}

# [hub, name] of every SuperLink Deployment with the registration tunnel container.
tunnel_superlinks contains [o.hub, o.object.metadata.name] if {
	some o in superlinks
	some c in o.object.spec.template.spec.containers
	c.name == "fleet-tunnel"
	every part in tunnel_command {
		part in c.command
	}
}

has_tunnel(hub, name) if [hub, name] in tunnel_superlinks

# [hub, name, stunnel.conf] of every ConfigMap in flower-system that has an stunnel.conf.
tunnel_configs contains [o.hub, o.object.metadata.name, conf] if {
	some o in objects.of_kind("ConfigMap")
	o.object.metadata.namespace == "flower-system"
	conf := o.object.data["stunnel.conf"]
}

has_tunnel_config(job, name) if [job.hub, concat("", [name, "-tunnel"]), hub_conf(job)] in tunnel_configs

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	job.hub in tls_hubs
	name := concat("", ["superlink-", job.name])
	not has_tunnel(job.hub, name)
	result := {
		"rule": "tls.superlink",
		"msg": sprintf("the SuperLink %s of job %s on hub %s, which runs TLS, has no registration tunnel container (fleet-tunnel running %v)", [name, job.name, job.hub, tunnel_command]),
		"job": job.name, "hub": job.hub,
	}
}

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	job.hub in tls_hubs
	name := concat("", ["superlink-", job.name])
	not has_tunnel_config(job, name)
	result := {
		"rule": "tls.superlink",
		"msg": sprintf("ConfigMap %s-tunnel of job %s on hub %s is not the registration tunnel's configuration (requireCert, verifyChain, the signing CA, one checkHost per planned cluster)", [name, job.name, job.hub]),
		"job": job.name, "hub": job.hub,
	}
}

deny contains result if {
	some o in superlinks
	o.hub in tls_hubs
	some c in o.object.spec.template.spec.containers
	c.name == "superlink"
	"--insecure" in c.args
	result := {
		"rule": "tls.no-insecure",
		"msg": sprintf("Deployment %s on hub %s, which runs TLS, runs its SuperLink with --insecure", [o.object.metadata.name, o.hub]),
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
