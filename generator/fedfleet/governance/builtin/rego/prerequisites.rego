# Rego twin of the `prerequisites` governance plugin: a hub whose jobs need the ManifestWorkReplicaSet
# gate (Flower), the S3 CSI driver (S3Bucket storage) or cert-manager (TLS) carries a Policy that
# checks it there.
package fedfleet.prerequisites

import rego.v1

import data.fedfleet_lib.objects

# Every object a hub's ConfigurationPolicies check, as [hub, object definition], and from it the
# hubs that check each prerequisite: complete rules, built once per query, so each job is a lookup
# instead of a scan of every checked object (at 1,000 jobs the scans took seconds). An array, not a
# set: the hub sets below are the same either way, and a set compared every pair of definitions
# to drop duplicates (most of this package's time on 5,000 Policies).
checked := [[o.hub, t.objectDefinition] |
	some o in objects.of_kind("Policy")
	some pt in o.object.spec["policy-templates"]
	some t in pt.objectDefinition.spec["object-templates"]
]

gate_hubs contains h if {
	some [h, d] in checked
	d.kind == "ClusterManager"
	some g in d.spec.workConfiguration.featureGates
	g.feature == "ManifestWorkReplicaSet"
	g.mode == "Enable"
}

gate_checked(hub) if hub in gate_hubs

csi_hubs contains h if {
	some [h, d] in checked
	d.kind == "CSIDriver"
	d.metadata.name == "s3.csi.aws.com"
}

csi_checked(hub) if hub in csi_hubs

cert_manager_hubs contains h if {
	some [h, d] in checked
	d.kind == "CustomResourceDefinition"
	d.metadata.name == "certificates.cert-manager.io"
}

cert_manager_checked(hub) if hub in cert_manager_hubs

deny contains result if {
	some job in input.jobs
	job.framework == "flower"
	not gate_checked(job.hub)
	result := {
		"rule": "prerequisites.manifestworkreplicaset",
		"msg": sprintf("Flower job %s runs on hub %s, whose overlay does not check the ManifestWorkReplicaSet feature gate (without it the job goes to terminal Failed)", [job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.framework",
	}
}

deny contains result if {
	some job in input.jobs
	job.storage.type == "S3Bucket"
	not csi_checked(job.hub)
	result := {
		"rule": "prerequisites.s3-csi-driver",
		"msg": sprintf("job %s stores its model in S3, but hub %s's overlay does not check the CSI driver s3.csi.aws.com", [job.name, job.hub]),
		"job": job.name, "hub": job.hub, "field": "spec.server.storage.type",
	}
}

deny contains result if {
	some job in input.jobs
	job.tls
	not cert_manager_checked(job.hub)
	result := {
		"rule": "prerequisites.cert-manager",
		"msg": sprintf("job %s uses TLS, but hub %s's overlay does not check that cert-manager is installed", [job.name, job.hub]),
		"job": job.name, "hub": job.hub,
	}
}
