"""The ACM side of the governance agreement suite: a Policy's verdict on a cluster, as ACM gives it.

1. Hub templates (`{{hub ... hub}}`) are resolved per managed cluster by tools/hubtemplates: the
   governance-policy-propagator's resolver configuration and context over go-template-utils, with
   the hub's objects served from memory.
2. The replicated Policy is evaluated by config-policy-controller's own `dryrun` CLI against the
   objects of the cluster; exit 0 is Compliant, 2 NonCompliant (pkg/dryrun/dryrun.go, dryRun).
   The build used is tools/dryrun/dryrun-crds: the same CLI, its fake cluster taught to list the
   custom resources of the mappings file (see that file for why).

dryrun only knows the API resources of its mappings file; a mappings file replaces its defaults, so
the defaults of the pinned version (copied by tools/install.sh) are extended with every CRD in
the CRD store (`fedfleet crds pull`; in the tests the session store of tests/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from fedfleet import crdstore
from oracles.oracle_tools import BIN, tool

# Kinds the bundle renders whose CRD the CRD store may lack (CertificatePolicy is not on the Go
# module proxy; the rest are there after `fedfleet crds pull`, and then come from the store):
# ocm's addon/v1alpha1 AddOnTemplate (cluster-scoped), config-policy-controller's CertificatePolicy,
# cert-manager's Issuer and Certificate and OpenShift's Route (the Flower jobs' TLS and exposure).
NO_CRD_HERE = (
    # the FL controller's CRD is not on the Go module proxy: without ../shared/crds the store lacks
    # it (names from config/crd/bases/federation-ai.open-cluster-management.io_federatedlearnings.yaml)
    {"group": "federation-ai.open-cluster-management.io", "version": "v1alpha1", "kind": "FederatedLearning",
     "plural": "federatedlearnings", "singular": "federatedlearning", "scope": "namespace"},
    {"group": "cert-manager.io", "version": "v1", "kind": "Certificate",
     "plural": "certificates", "singular": "certificate", "scope": "namespace"},
    {"group": "cert-manager.io", "version": "v1", "kind": "Issuer",
     "plural": "issuers", "singular": "issuer", "scope": "namespace"},
    {"group": "route.openshift.io", "version": "v1", "kind": "Route",
     "plural": "routes", "singular": "route", "scope": "namespace"},
    {"group": "addon.open-cluster-management.io", "version": "v1alpha1", "kind": "AddOnTemplate",
     "plural": "addontemplates", "singular": "addontemplate", "scope": "root"},
    {"group": "policy.open-cluster-management.io", "version": "v1", "kind": "CertificatePolicy",
     "plural": "certificatepolicies", "singular": "certificatepolicy", "scope": "namespace"},
    # ocm's operator API (operator.open-cluster-management.io_clustermanagers.crd.yaml), cluster-scoped:
    # the prerequisites plugin checks the hub's ClusterManager feature gates.
    {"group": "operator.open-cluster-management.io", "version": "v1", "kind": "ClusterManager",
     "plural": "clustermanagers", "singular": "clustermanager", "scope": "root"},
    # Built-in kinds the dryrun's default mappings lack: the flower-addon base's admission policy
    # for registration CSRs (render/tunnel.py csr_admission), cluster-scoped.
    {"group": "admissionregistration.k8s.io", "version": "v1", "kind": "ValidatingAdmissionPolicy",
     "plural": "validatingadmissionpolicies", "singular": "validatingadmissionpolicy", "scope": "root"},
    {"group": "admissionregistration.k8s.io", "version": "v1", "kind": "ValidatingAdmissionPolicyBinding",
     "plural": "validatingadmissionpolicybindings", "singular": "validatingadmissionpolicybinding", "scope": "root"},
)


@cache
def api_mappings() -> tuple[dict[str, Any], ...]:
    """dryrun's default API mappings plus those of the upstream CRDs, as its APIMapping records."""
    tool("dryrun")  # installs, and with it the default mappings file
    mappings = yaml.safe_load((BIN.parent / "share" / "dryrun-default-mappings.yaml").read_text())
    known = {(m["group"], m["version"], m["kind"]) for m in mappings}
    # the CRD store (the tests' session store: FEDFLEET_CRD_STORE, see tests/conftest.py)
    for path in sorted(crdstore.store_dir().glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                key = (spec["group"], version["name"], spec["names"]["kind"])
                if version.get("served", True) and key not in known:
                    known.add(key)
                    mappings.append({
                        "group": spec["group"], "version": version["name"], "kind": spec["names"]["kind"],
                        "plural": spec["names"]["plural"],
                        "singular": spec["names"].get("singular", spec["names"]["kind"].lower()),
                        "scope": "namespace" if spec["scope"] == "Namespaced" else "root",
                    })
    mappings += [m for m in NO_CRD_HERE if (m["group"], m["version"], m["kind"]) not in known]
    return tuple(mappings)


def mappings_file(scratch: Path) -> Path:
    path = scratch / "dryrun-mappings.yaml"
    if not path.exists():
        path.write_text(yaml.safe_dump(list(api_mappings()), sort_keys=False))
    return path


def resolve_hub_templates(policy: dict[str, Any], clusters: dict[str, dict[str, str]],
                          hub_objects: Iterable[dict[str, Any]], scratch: Path) -> dict[str, dict[str, Any]]:
    """The Policy as the propagator replicates it to each cluster (name -> labels)."""
    resources = [{"group": m["group"], "version": m["version"], "kind": m["kind"], "plural": m["plural"],
                  "namespaced": m["scope"] == "namespace"} for m in api_mappings()]
    path = scratch / f"hubtemplates-{policy['metadata']['name']}.json"
    path.write_text(json.dumps({"policy": policy, "hubObjects": list(hub_objects), "resources": resources,
                                "clusters": [{"name": n, "labels": labels} for n, labels in sorted(clusters.items())]}))
    done = subprocess.run([str(tool("hubtemplates")), str(path)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"hubtemplates failed on {path}:\n{done.stderr}")
    return json.loads(done.stdout)


def _hub_template_error(policy: dict[str, Any]) -> str | None:
    for t in policy.get("spec", {}).get("policy-templates", []):
        annotations = t.get("objectDefinition", {}).get("metadata", {}).get("annotations") or {}
        if "policy.open-cluster-management.io/hub-templates-error" in annotations:
            return annotations["policy.open-cluster-management.io/hub-templates-error"]
    return None


@dataclass(frozen=True)
class Verdict:
    compliant: bool
    messages: str

    @property
    def word(self) -> str:
        return "Compliant" if self.compliant else "NonCompliant"


def dryrun(policy: dict[str, Any], objects: Iterable[dict[str, Any]], scratch: Path, name: str) -> Verdict:
    """config-policy-controller's verdict on the objects of one cluster."""
    objects = list(objects)
    namespaces = sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")}
                        - {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"})
    objects += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces]
    work = scratch / "dryrun" / name
    work.mkdir(parents=True, exist_ok=True)
    (work / "policy.yaml").write_text(yaml.safe_dump(policy))
    (work / "cluster.yaml").write_text(yaml.safe_dump_all(objects))
    done = subprocess.run(
        [str(tool("dryrun-crds")), "-p", str(work / "policy.yaml"), "--no-colors", "--mappings-file",
         str(mappings_file(scratch)), "--messages-path", str(work / "messages.txt"), str(work / "cluster.yaml")],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    messages = (work / "messages.txt").read_text() if (work / "messages.txt").exists() else ""
    hub_error = _hub_template_error(policy)
    if hub_error and done.returncode == 1 and "hub templates" in done.stderr:
        # A template the propagator could not resolve reaches the cluster unresolved, annotated
        # with the error (setTemplateError). config-policy-controller then sets the policy
        # NonCompliant, "Hub template resolution failure" (controllers/configurationpolicy_controller.go,
        # Reconcile -> resolveHubTemplates), and returns the error, which makes dryrun exit 1.
        return Verdict(False, f"Hub template resolution failure: {hub_error}")
    # a Go panic also exits 2: NonCompliant only when dryrun itself finished and said so
    if done.returncode not in (0, 2) or "panic:" in done.stderr or not (work / "messages.txt").exists():
        raise AssertionError(f"dryrun failed ({done.returncode}) in {work}:\n{done.stdout}{done.stderr}")
    return Verdict(done.returncode == 0, messages.strip())
