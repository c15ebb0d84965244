"""prerequisites: what the FL controller needs on the hub but never installs itself.

All inform (they observe what a platform team installs once per hub; enforcing would fight the
operators that own these objects). Each policy is rendered only where a job needs it:

- Flower jobs: the ClusterManager `cluster-manager` enables the work feature gate
  `ManifestWorkReplicaSet` (spec.workConfiguration.featureGates, ocm vendor/open-cluster-management.io/
  api/operator/v1/types_clustermanager.go:310-319; off by default, api/feature/feature.go:147).
  The Flower path deploys clients as a ManifestWorkReplicaSet (addon-contrib federated-learning-
  controller/internal/controller/federatedlearning_client.go:117-150) and any error of that path
  fails the job for good (federatedlearning_controller.go:124-127 assigns the deferred `err`);
  the controller's README (section 4) asks for this gate.
- S3Bucket storage: the CSIDriver `s3.csi.aws.com` (api/v1alpha1/federatedlearning_types.go:112,
  the driver of the PersistentVolume ensureS3PVC makes, federatedlearning_server.go:763).
- TLS jobs: cert-manager, which issues the SuperLink's CA and certificate (its Certificate CRD and
  the `cert-manager` Deployment Available).

The controller Deployment itself is the `addon` plugin's rule, in the hub's controller namespace.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import CLUSTER_MANAGER, DNS1123_LABEL, WORK_GATE

from . import rego_module

S3_CSI_DRIVER = "s3.csi.aws.com"
DEFAULT_CERT_MANAGER_NAMESPACE = "cert-manager"


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="prerequisites",
        title="The hub has what the FL controller needs and does not install",
        description="The ManifestWorkReplicaSet feature gate where Flower jobs run, the S3 CSI driver where jobs "
                    "store models in S3, cert-manager where jobs use TLS.",
        standards=("NIST SP 800-53",),
        categories=("CM Configuration Management",),
        controls=("CM-2 Baseline Configuration", "CM-6 Configuration Settings"),
        severity="high",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {"certManagerNamespace": {"type": "string", "pattern": DNS1123_LABEL}}


def _config(*objects: dict[str, Any]) -> tuple[Template, ...]:
    return (Template("ConfigurationPolicy", {"object-templates": [
        {"complianceType": "musthave", "objectDefinition": o} for o in objects]}),)


# Prerequisites belong to the platform team: the policy reports, it never installs or reconfigures.
OBSERVES = "it checks what the platform installs (a feature gate, a CSI driver, cert-manager); enforcing would " \
           "half-create or reconfigure it"


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    jobs = context.jobs
    out = []
    if any(j.framework == "flower" for j in jobs):
        out.append(PolicyContent(
            name="work-replicaset-gate", rule="prerequisites.manifestworkreplicaset", remediation="inform", forced_because=OBSERVES, twin=False,
            description="The ClusterManager enables the ManifestWorkReplicaSet work feature gate, without which a "
                        "Flower job goes to terminal Failed",
            target=Target("hub"),
            templates=_config({"apiVersion": "operator.open-cluster-management.io/v1", "kind": "ClusterManager",
                               "metadata": {"name": CLUSTER_MANAGER},
                               "spec": {"workConfiguration": {"featureGates": [dict(WORK_GATE)]}}}),
        ))
    if any((j.server.get("storage") or {}).get("type") == "S3Bucket" for j in jobs):
        out.append(PolicyContent(
            name="s3-csi-driver", rule="prerequisites.s3-csi-driver", remediation="inform", forced_because=OBSERVES, twin=False,
            description=f"The CSI driver {S3_CSI_DRIVER} is installed, for the S3 PersistentVolume of S3Bucket storage",
            target=Target("hub"),
            templates=_config({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": S3_CSI_DRIVER}}),
        ))
    if any(j.tls_enabled for j in jobs):
        ns = context.params.get("certManagerNamespace", DEFAULT_CERT_MANAGER_NAMESPACE)
        out.append(PolicyContent(
            name="cert-manager", rule="prerequisites.cert-manager", remediation="inform", forced_because=OBSERVES, twin=False,
            description="cert-manager is installed and Available, to issue the SuperLink's TLS certificates",
            target=Target("hub"),
            templates=_config(
                {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": "certificates.cert-manager.io"}},
                {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cert-manager", "namespace": ns},
                 "status": {"conditions": [{"type": "Available", "status": "True"}]}},
            ),
        ))
    return out


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("prerequisites")
