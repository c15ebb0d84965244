# Rego twin of the `registration` governance plugin (registration.py says what OCM records, with
# the upstream files):
# - registration.addon, on the bundle: the flower-addon AddOnTemplate of a Flower job's hub asks for
#   the CustomSigner registration of the fleet's signer and signing CA;
# - registration.addon, over ManagedClusterAddOns read from a hub (input.recorded.addons: hub ->
#   the `flower-addon` ManagedClusterAddOns as the live audit lists them; absent at pull-request
#   time): every client the plan selects for a Flower job has one, registered for the fleet's
#   signer, with RegistrationApplied and ClusterCertificateRotated True (what the hub policy
#   matches);
# - registration.openfl (a warning): an OpenFL job with TLS on expects an encrypted, authenticated
#   link to its aggregator, but the FL controller's OpenFL path provisions no certificate and cannot
#   use the per-cluster registration identity (README, "OpenFL and the per-cluster identity").
# registration.credential and registration.expiry judge Secrets on the clusters: no twin.
package fedfleet.registration

import rego.v1

import data.fedfleet_lib.objects

# fedfleet.upstream FLOWER_SIGNER and FLOWER_SIGNING_CA (tests/test_registration_policy.py holds them equal).
signer := "fedfleet.io/flower-addon"

addon_name := "flower-addon"

# Indexes built once per query (complete rules), so each planned client is a lookup instead of a
# scan of every recorded add-on (10,000 clients x 10,000 add-ons on a large fleet). A hub has one
# flower-addon per cluster namespace at most (name and namespace identify a ManagedClusterAddOn);
# should an input list different ones under one namespace, they are found by a scan, as always.
recorded_entries := {[hub, a.metadata.namespace, a] |
	some hub, addons in input.recorded.addons
	some a in addons
	a.metadata.name == addon_name
}

recorded_one_per_namespace if count({[hub, ns] | some [hub, ns, _] in recorded_entries}) == count(recorded_entries)

recorded_addons := {[hub, ns]: a | recorded_one_per_namespace; some [hub, ns, a] in recorded_entries}

recorded(hub, cluster) := [a | a := recorded_addons[[hub, cluster]]] if recorded_one_per_namespace

recorded(hub, cluster) := [a |
	some a in input.recorded.addons[hub]
	a.metadata.name == addon_name
	a.metadata.namespace == cluster
] if not recorded_one_per_namespace

condition_true(addon, type) if {
	some c in object.get(addon, ["status", "conditions"], [])
	c.type == type
	c.status == "True"
}

registered(addon) if {
	some r in object.get(addon, ["status", "registrations"], [])
	r.signerName == signer
}

problem(addon) := "has no registration for signer fedfleet.io/flower-addon" if not registered(addon)

else := "has no RegistrationApplied=True condition" if not condition_true(addon, "RegistrationApplied")

else := sprintf("has no ClusterCertificateRotated=True condition (%s)", [rotation_message(addon)]) if {
	not condition_true(addon, "ClusterCertificateRotated")
}

rotation_message(addon) := m if {
	some c in object.get(addon, ["status", "conditions"], [])
	c.type == "ClusterCertificateRotated"
	m := object.get(c, "message", "")
} else := "never reported"

# The plan has one entry per job; should an input list a job twice, its entries are merged by a
# scan, as they always were.
plan_names_unique if count({p.job | some p in input.plan.jobs}) == count(input.plan.jobs)

plans := {p.job: p | plan_names_unique; some p in input.plan.jobs}

clients(job) := {s.cluster | some s in plans[job.name].selected} if plan_names_unique

clients(job) := {s.cluster |
	some p in input.plan.jobs
	p.job == job.name
	some s in p.selected
} if not plan_names_unique

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	input.recorded.addons[job.hub]
	some cluster in clients(job)
	count(recorded(job.hub, cluster)) == 0
	result := {
		"rule": "registration.addon",
		"msg": sprintf("cluster %s of job %s has no flower-addon ManagedClusterAddOn on hub %s: no registration credential", [cluster, job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.placement",
	}
}

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	# nothing recorded for the hub (a pull request): no add-on to judge, so no client to walk
	input.recorded.addons[job.hub]
	some cluster in clients(job)
	some addon in recorded(job.hub, cluster)
	why := problem(addon)
	result := {
		"rule": "registration.addon",
		"msg": sprintf("the flower-addon of cluster %s (job %s, hub %s) %s", [cluster, job.name, job.hub, why]),
		"job": job.name, "hub": job.hub, "field": "spec.placement",
	}
}

warn contains result if {
	some job in input.jobs
	job.framework == "openfl"
	job.tls
	result := {
		"rule": "registration.openfl",
		"msg": sprintf("OpenFL job %s runs without per-cluster identity or TLS: the FL controller's OpenFL Jobs mount no certificate and the upstream image sets use_tls=false, so its collaborators cannot use the OCM registration credential for mutual TLS", [job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.framework",
	}
}

# The bundle: the flower-addon AddOnTemplate a Flower job's hub applies asks for the registration
# (type CustomSigner, the fleet's signer and signing CA, render/addon.py registration()); without it
# the addon manager records no registration and no client ever gets a credential. A hub without
# the template at all is addon.controller-available's finding.
signing_ca := "flower-addon-signer"

# FLOWER_SIGNING_CA_NAMESPACE: without it the addon manager reads a Secret of that name in its own
# namespace (ocm templateagent/registration.go CustomSignerWithExpiry), not the fleet's CA.
signing_ca_namespace := "flower-system"

registers(template) if {
	some r in object.get(template, ["spec", "registration"], [])
	r.type == "CustomSigner"
	r.customSigner.signerName == signer
	r.customSigner.signingCA.name == signing_ca
	object.get(r.customSigner.signingCA, "namespace", "") == signing_ca_namespace
}

# The hubs with a flower-addon AddOnTemplate that does not ask for it (once, not once per job).
unregistered_template_hubs contains o.hub if {
	some o in objects.of_kind("AddOnTemplate")
	o.object.metadata.name == addon_name
	not registers(o.object)
}

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	job.hub in unregistered_template_hubs
	result := {
		"rule": "registration.addon",
		"msg": sprintf("the flower-addon AddOnTemplate of hub %s asks for no CustomSigner registration for signer %s with signing CA %s/%s: no cluster of job %s gets the fleet's per-cluster credential", [job.hub, signer, signing_ca_namespace, signing_ca, job.name]),
		"job": job.name, "hub": job.hub, "field": "spec.framework",
	}
}
