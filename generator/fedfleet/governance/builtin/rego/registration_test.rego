package fedfleet.registration_test

import rego.v1

import data.fedfleet.registration

job := {"name": "j", "hub": "h", "framework": "flower", "tls": true}

plan := {"jobs": [{"job": "j", "hub": "h", "selected": [{"cluster": "c1"}]}]}

good := {"metadata": {"name": "flower-addon", "namespace": "c1"}, "status": {
	"registrations": [{"signerName": "fedfleet.io/flower-addon", "subject": {"user": "system:open-cluster-management:cluster:c1:addon:flower-addon:agent:flower-addon-agent"}}],
	"conditions": [
		{"type": "RegistrationApplied", "status": "True", "reason": "SetPermissionApplied"},
		{"type": "ClusterCertificateRotated", "status": "True", "reason": "ClientCertificateUpdated"},
	],
}}

with_status(s) := object.union(good, {"status": object.union(good.status, s)})

verdict(addons) := d if {
	d := registration.deny with input as {"jobs": [job], "plan": plan, "recorded": {"addons": {"h": addons}}}
}

test_registered_client_passes if {
	count(verdict([good])) == 0
}

test_nothing_recorded_denies_nothing if {
	count(registration.deny) == 0 with input as {"jobs": [job], "plan": plan}
}

test_missing_addon if {
	some d in verdict([])
	d.rule == "registration.addon"
	contains(d.msg, "no flower-addon ManagedClusterAddOn")
}

test_no_registration if {
	some d in verdict([with_status({"registrations": []})])
	contains(d.msg, "no registration for signer")
}

test_wrong_signer if {
	some d in verdict([with_status({"registrations": [{"signerName": "other.example.com/flower-addon"}]})])
	contains(d.msg, "no registration for signer")
}

test_rotation_failed if {
	some d in verdict([with_status({"conditions": [
		{"type": "RegistrationApplied", "status": "True"},
		{"type": "ClusterCertificateRotated", "status": "False", "message": "Failed to create CSR"},
	]})])
	contains(d.msg, "Failed to create CSR")
}

test_unplanned_cluster_is_not_judged if {
	count(verdict([good, object.union(with_status({"registrations": []}), {"metadata": {"namespace": "c9"}})])) == 0
}

test_openfl_with_tls_warns if {
	some w in registration.warn with input as {"jobs": [object.union(job, {"framework": "openfl"})]}
	w.rule == "registration.openfl"
}

test_openfl_without_tls_and_flower_do_not_warn if {
	count(registration.warn) == 0 with input as {"jobs": [job, {"name": "o", "hub": "h", "framework": "openfl", "tls": false}]}
}

template(registration) := {"hub": "h", "object": {"kind": "AddOnTemplate", "metadata": {"name": "flower-addon"}, "spec": {"addonName": "flower-addon", "registration": registration}}}

ours := {"type": "CustomSigner", "customSigner": {"signerName": "fedfleet.io/flower-addon", "signingCA": {"name": "flower-addon-signer", "namespace": "flower-system"}}}

bundle_verdict(objects) := d if {
	d := registration.deny with input as {"jobs": [job], "plan": plan, "objects": objects}
}

test_template_with_the_registration_passes if {
	count(bundle_verdict([template([ours])])) == 0
}

test_template_without_registration if {
	some d in bundle_verdict([template([])])
	d.rule == "registration.addon"
	contains(d.msg, "asks for no CustomSigner registration")
}

test_template_with_another_signer if {
	count(bundle_verdict([template([json.patch(ours, [{"op": "replace", "path": "/customSigner/signerName", "value": "other.example.com/flower-addon"}])])])) == 1
}

test_template_signing_ca_in_the_addon_managers_namespace if {
	count(bundle_verdict([template([json.remove(ours, ["customSigner/signingCA/namespace"])])])) == 1
}

test_no_template_is_addon_plugins_finding if {
	count(bundle_verdict([])) == 0
}

# The template and the recorded add-ons count on the job's own hub only.
test_template_without_registration_on_another_hub_is_not_this_hubs if {
	count(bundle_verdict([template([ours]), object.union(template([]), {"hub": "h2"})])) == 0
}

test_template_with_the_registration_on_another_hub_does_not_count if {
	count(bundle_verdict([object.union(template([ours]), {"hub": "h2"}), template([])])) == 1
}

test_addon_recorded_on_another_hub_does_not_count if {
	some d in registration.deny with input as {"jobs": [job], "plan": plan, "recorded": {"addons": {"h": [], "h2": [good]}}}
	contains(d.msg, "no flower-addon ManagedClusterAddOn on hub h")
}

test_each_client_is_judged_by_its_own_addon if {
	plan_2 := {"jobs": [{"job": "j", "hub": "h", "selected": [{"cluster": "c1"}, {"cluster": "c2"}]}]}
	c2 := json.patch(with_status({"registrations": []}), [{"op": "replace", "path": "/metadata/namespace", "value": "c2"}])
	denials := registration.deny with input as {"jobs": [job], "plan": plan_2, "recorded": {"addons": {"h": [c2, good]}}}
	count(denials) == 1
	some d in denials
	contains(d.msg, "the flower-addon of cluster c2 (job j, hub h) has no registration")
}

# Two different add-ons listed under one cluster namespace: each is judged (the lookup's fallback).
test_two_addons_under_one_namespace_are_both_judged if {
	denials := verdict([good, with_status({"registrations": []})])
	count(denials) == 1
	some d in denials
	contains(d.msg, "no registration for signer")
}

test_a_job_listed_twice_in_the_plan_has_the_clients_of_both if {
	plan_twice := {"jobs": [{"job": "j", "hub": "h", "selected": [{"cluster": "c1"}]}, {"job": "j", "hub": "h", "selected": [{"cluster": "c2"}]}]}
	some d in registration.deny with input as {"jobs": [job], "plan": plan_twice, "recorded": {"addons": {"h": [good]}}}
	contains(d.msg, "cluster c2 of job j has no flower-addon ManagedClusterAddOn")
}
