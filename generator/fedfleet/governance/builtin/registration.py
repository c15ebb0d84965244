"""registration: every cluster a Flower job runs on holds a valid per-cluster credential from OCM's
add-on registration (issue 17): the hub has signed one for the flower-addon's own signer, and the
certificate the managed cluster holds is not expired.

What OCM records, read from open-cluster-management-io/ocm at 00f84c32:
- On the hub, the ManagedClusterAddOn `flower-addon` in the cluster's namespace. The addon manager
  copies the AddOnTemplate's `registration` into `status.registrations` and sets condition
  `RegistrationApplied` (vendor/open-cluster-management.io/addon-framework/pkg/addonmanager/
  controllers/registration/controller.go, sync; the template's CustomSigner becomes a registration
  with its signerName: pkg/addon/templateagent/registration.go, TemplateCSRConfigurationsFunc).
  The served v1alpha1 shape is `status.registrations[].signerName` (api addon/v1beta1/conversion.go,
  Convert_v1beta1_RegistrationConfig_To_v1alpha1_RegistrationConfig). The klusterlet's add-on
  registration controller on the managed cluster reports each CSR round on the same object as
  condition `ClusterCertificateRotated`: True/ClientCertificateUpdated "client certificate rotated
  starting from <notBefore> to <notAfter>", or False/ClientCertificateUpdateFailed
  (pkg/registration/spoke/addon/registration_controller.go generateStatusUpdate;
  pkg/registration/register/csr/csr.go Process).
- On the managed cluster, the credential: Secret `<addon>-<signerName with / as ->-client-cert` in
  the add-on's install namespace (pkg/registration/spoke/addon/configuration.go
  getRegistrationConfigs, getAddOnInstallationNamespace: status.namespace, which the addon manager
  sets from the AddOnDeploymentConfig's agentInstallNamespace, `flower-addon` here), holding
  `tls.crt` and `tls.key` (csr.go TLSCertFile/TLSKeyFile), written untyped (Opaque) by
  pkg/registration/register/secret_controller.go. A credential of another signer has another name.
- Lifetime: the hub signs a CustomSigner CSR for 24 hours (templateagent/registration.go
  TemplateCSRSignFunc: CustomSignerWithExpiry(..., 24*time.Hour)); the klusterlet asks for a new
  one when 20-25% of its life is left (csr.go shouldCreateCSR, jitter(0.2, 0.25)), i.e. with 4.8 to
  6 hours left. DEFAULT_MIN_DURATION (3h) is below that: a healthy credential never shows
  NonCompliant, one whose rotation has failed for about two hours does.

Hence three policies, each where its object lives:
- `registration.addon` on the hub (ConfigurationPolicy): for each Flower job, the ManagedClusterAddOn
  of every client the plan selects has a registration for FLOWER_SIGNER and both conditions True.
  Missing registration or a wrong signer breaks it. Its Rego twin checks that the bundle's
  AddOnTemplate asks for that registration, and, over ManagedClusterAddOns read from a hub
  (`input.addons`, the live audit), the same status the policy matches.
- `registration.credential` on the job's clients (ConfigurationPolicy): the credential Secret
  exists (missing, or issued for another signer, breaks it). No twin: Secrets exist only there.
- `registration.expiry` on the job's clients (CertificatePolicy): every certificate in the install
  namespace is valid for at least `minimumDuration`. cert-policy-controller reads `tls.crt` of every
  Secret there whatever its type (controllers/certificatepolicy_controller.go parseCertificate); the
  Flower CA copy there holds only ca.crt, so the credential is what it reads. No dryrun can judge a
  CertificatePolicy; fedfleet.checks.certpolicy re-states the controller's rules for the tests.
Status and CertificatePolicies can only be observed: all three always inform.

OpenFL (issue 17 point 3): the FL controller's OpenFL path cannot use this identity (README,
"OpenFL and the per-cluster identity"); the Rego twin warns about every OpenFL job with TLS on, which
expects an encrypted, authenticated link it does not get (rule `registration.openfl`).
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import (
    ADDON_AGENT_NAMESPACE, ADDON_NAME, API_ADDON, FLOWER_SIGNER, registration_secret,
)

from . import rego_module

DEFAULT_MIN_DURATION = "3h"
OBSERVES = "it observes what OCM records (status, a Secret the klusterlet writes); enforcing would forge it"


def credential_secret() -> str:
    """The klusterlet's name for the flower-addon's CustomSigner credential (ocm
    pkg/registration/spoke/addon/configuration.go getRegistrationConfigs), as upstream.py has it."""
    return registration_secret(FLOWER_SIGNER, ADDON_NAME)


# What the hub records for a cluster whose flower-addon holds a credential of our signer: a
# `musthave` list is a subset test in config-policy-controller (mergeArrays), so these items must be
# among the object's, whatever else it has (subject, reasons, messages, other conditions).
REGISTERED_STATUS: dict[str, Any] = {
    "registrations": [{"signerName": FLOWER_SIGNER}],
    "conditions": [{"type": "RegistrationApplied", "status": "True"},
                   {"type": "ClusterCertificateRotated", "status": "True"}],
}


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="registration",
        title="Every Flower client holds a valid per-cluster credential from OCM add-on registration",
        description="The hub records a flower-addon registration for the fleet's signer on every cluster a Flower job "
                    "runs on, the cluster holds the credential, and its certificate is not close to expiry.",
        standards=("NIST SP 800-53",),
        categories=("IA Identification and Authentication",),
        controls=("IA-3 Device Identification and Authentication", "IA-5 Authenticator Management"),
        severity="high",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    # cert-policy-controller parses it with time.ParseDuration (api/v1 certificatepolicy_types.go).
    return {"minimumDuration": {"type": "string", "pattern": "^[0-9]+h$"}}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    policies: list[PolicyContent] = []
    minimum = context.params.get("minimumDuration", DEFAULT_MIN_DURATION)
    for job in context.jobs:
        if job.framework != "flower":
            continue
        clients = sorted(context.plan.clusters_of(job.name))
        if clients:
            policies.append(PolicyContent(
                name=f"addon-{job.name}", rule="registration.addon", remediation="inform", forced_because=OBSERVES,
                target=Target("hub"),
                description=f"The hub records a flower-addon registration for signer {FLOWER_SIGNER}, applied and "
                            f"rotated, on every cluster job {job.name} runs on",
                # One named template per cluster (its namespace on the hub): a missing
                # ManagedClusterAddOn is NonCompliant too, whether or not the namespace exists.
                templates=(Template("ConfigurationPolicy", {"object-templates": [
                    {"complianceType": "musthave", "objectDefinition": {
                        "apiVersion": API_ADDON, "kind": "ManagedClusterAddOn",
                        "metadata": {"name": ADDON_NAME, "namespace": cluster}, "status": REGISTERED_STATUS}}
                    for cluster in clients]}),),
            ))
        policies += [
            PolicyContent(
                name=f"credential-{job.name}", rule="registration.credential", remediation="inform",
                forced_because=OBSERVES, twin=False, target=Target("job-clients", job=job.name),
                description=f"The flower-addon's registration credential {credential_secret()} is in "
                            f"{ADDON_AGENT_NAMESPACE} where job {job.name} runs",
                templates=(Template("ConfigurationPolicy", {"object-templates": [
                    {"complianceType": "musthave", "objectDefinition": {
                        "apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": credential_secret(), "namespace": ADDON_AGENT_NAMESPACE}}}]}),),
            ),
            PolicyContent(
                name=f"expiry-{job.name}", rule="registration.expiry", remediation="inform",
                forced_because="cert-policy-controller only reports", twin=False,
                target=Target("job-clients", job=job.name),
                description=f"The flower-addon's registration certificate is valid for at least {minimum} where "
                            f"job {job.name} runs",
                templates=(Template("CertificatePolicy", {
                    "namespaceSelector": {"include": [ADDON_AGENT_NAMESPACE]}, "minimumDuration": minimum}),),
            ),
        ]
    return policies


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("registration")
