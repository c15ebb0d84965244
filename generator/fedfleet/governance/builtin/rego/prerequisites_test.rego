package fedfleet.prerequisites_test

import rego.v1

import data.fedfleet.prerequisites

policy(defs) := {"hub": "h", "object": {"kind": "Policy", "spec": {"policy-templates": [{"objectDefinition": {"spec": {"object-templates": [{"complianceType": "musthave", "objectDefinition": d} | some d in defs]}}}]}}}

gate(mode) := {"kind": "ClusterManager", "spec": {"workConfiguration": {"featureGates": [{"feature": "ManifestWorkReplicaSet", "mode": mode}]}}}

csi := {"kind": "CSIDriver", "metadata": {"name": "s3.csi.aws.com"}}

crd := {"kind": "CustomResourceDefinition", "metadata": {"name": "certificates.cert-manager.io"}}

flower := {"name": "f", "hub": "h", "framework": "flower", "tls": false, "storage": {}}

s3 := {"name": "o", "hub": "h", "framework": "openfl", "tls": false, "storage": {"type": "S3Bucket"}}

tls := {"name": "t", "hub": "h", "framework": "openfl", "tls": true, "storage": {"type": "PersistentVolumeClaim"}}

test_all_checked if {
	count(prerequisites.deny) == 0 with input as {"jobs": [flower, s3, tls], "objects": [policy([gate("Enable"), csi, crd])]}
}

test_flower_without_gate_check if {
	some d in prerequisites.deny with input as {"jobs": [flower], "objects": [policy([csi, crd])]}
	d.rule == "prerequisites.manifestworkreplicaset"
}

test_gate_checked_as_disabled_does_not_count if {
	some d in prerequisites.deny with input as {"jobs": [flower], "objects": [policy([gate("Disable")])]}
	d.rule == "prerequisites.manifestworkreplicaset"
}

test_s3_without_csi_check if {
	some d in prerequisites.deny with input as {"jobs": [s3], "objects": [policy([gate("Enable"), crd])]}
	d.rule == "prerequisites.s3-csi-driver"
}

test_tls_without_cert_manager_check if {
	some d in prerequisites.deny with input as {"jobs": [tls], "objects": [policy([gate("Enable"), csi])]}
	d.rule == "prerequisites.cert-manager"
}

test_pvc_openfl_without_tls_needs_nothing if {
	count(prerequisites.deny) == 0 with input as {"jobs": [object.union(tls, {"tls": false})], "objects": []}
}

test_checks_on_another_hub_do_not_count if {
	denials := prerequisites.deny with input as {"jobs": [flower, s3, tls], "objects": [object.union(policy([gate("Enable"), csi, crd]), {"hub": "h2"})]}
	{d.rule | some d in denials} == {"prerequisites.manifestworkreplicaset", "prerequisites.s3-csi-driver", "prerequisites.cert-manager"}
}

test_each_hub_with_its_own_checks_passes if {
	jobs := [flower, object.union(s3, {"hub": "h2"})]
	objects := [policy([gate("Enable")]), object.union(policy([csi]), {"hub": "h2"})]
	count(prerequisites.deny) == 0 with input as {"jobs": jobs, "objects": objects}
}
