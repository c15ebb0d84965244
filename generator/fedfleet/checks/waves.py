"""Sync waves must not deadlock on a fresh hub: what a workload needs is applied no later than it.

Argo CD applies a kustomize build wave by wave and waits for a wave to be healthy before the next
(gitops-engine `pkg/sync/sync_context.go`, syncWaves). A Deployment of wave 0 that mounts a Secret
of wave 1 never becomes healthy: its pods stay ContainerCreating, wave 1 is never applied. So over
the BUILT objects of each kustomize root, every Secret, ConfigMap, ServiceAccount and Issuer a
consumer of wave N names must come from an object of wave <= N of the same build (a Certificate
produces its `spec.secretName` at its own wave: cert-manager creates it), or from a prerequisite
the README names (PREREQUISITES below). Anything else is a finding naming both ends.

Objects inside an AddOnTemplate run on managed clusters, where Argo CD does not wait on them: their
Secrets and ConfigMaps must come from the same AddOnTemplate or from an enforced Policy of the same
build (README "Flower on a real hub": the CA and the node config are delivered by policy), at any
wave; a pod there waits for its mount without blocking the hub's sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from ..findings import Finding, Location, Subject

WAVE = "argocd.argoproj.io/sync-wave"
WORKLOADS = {"Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob"}

# Produced outside the bundle, on purpose. (kind, name) -> README section that names it.
PREREQUISITES: dict[tuple[str, str], str] = {
    # Kubernetes creates it in every namespace (the ServiceAccount admission controller).
    ("ServiceAccount", "default"): "Sync waves (Kubernetes: the default ServiceAccount of every namespace)",
    # kube-controller-manager's root-ca-cert-publisher writes it into every namespace; the run
    # Job's projected token volume reads it.
    ("ConfigMap", "kube-root-ca.crt"): "Sync waves (Kubernetes: kube-root-ca.crt of every namespace)",
}


@dataclass(frozen=True)
class Need:
    kind: str  # Secret, ConfigMap, ServiceAccount, Issuer, ClusterIssuer
    namespace: str  # "" for cluster-scoped
    name: str
    consumer: str  # Kind namespace/name
    field: str  # where the consumer names it
    wave: int


def wave_of(obj: Mapping) -> int:
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(WAVE, "0")
    try:
        return int(str(raw).strip())
    except ValueError:
        return 0


def _ident(obj: Mapping) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def _pod_spec(obj: Mapping) -> tuple[Mapping, str]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}, \
            "spec.jobTemplate.spec.template.spec"
    return (spec.get("template") or {}).get("spec") or {}, "spec.template.spec"


def _pod_needs(pod: Mapping, at: str) -> Iterator[tuple[str, str, str]]:
    """(kind, name, field) of what a pod spec cannot start without (optional refs skipped)."""
    sa = pod.get("serviceAccountName") or pod.get("serviceAccount")
    if sa:
        yield "ServiceAccount", sa, f"{at}.serviceAccountName"
    for i, vol in enumerate(pod.get("volumes") or []):
        if (sec := vol.get("secret")) and not sec.get("optional"):
            yield "Secret", sec.get("secretName", ""), f"{at}.volumes[{i}].secret.secretName"
        if (cm := vol.get("configMap")) and not cm.get("optional"):
            yield "ConfigMap", cm.get("name", ""), f"{at}.volumes[{i}].configMap.name"
        for j, src in enumerate((vol.get("projected") or {}).get("sources") or []):
            for key, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if (ref := src.get(key)) and not ref.get("optional"):
                    yield kind, ref.get("name", ""), f"{at}.volumes[{i}].projected.sources[{j}].{key}.name"
    for group in ("initContainers", "containers"):
        for c_i, c in enumerate(pod.get(group) or []):
            base = f"{at}.{group}[{c_i}]"
            for e_i, ef in enumerate(c.get("envFrom") or []):
                for key, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
                    if (ref := ef.get(key)) and not ref.get("optional"):
                        yield kind, ref.get("name", ""), f"{base}.envFrom[{e_i}].{key}.name"
            for e_i, env in enumerate(c.get("env") or []):
                src = env.get("valueFrom") or {}
                for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                    if (ref := src.get(key)) and not ref.get("optional"):
                        yield kind, ref.get("name", ""), f"{base}.env[{e_i}].valueFrom.{key}.name"


def needs_of(obj: Mapping) -> Iterator[Need]:
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    who, wave = _ident(obj), wave_of(obj)
    if kind in WORKLOADS:
        pod, at = _pod_spec(obj)
        for k, name, fld in _pod_needs(pod, at):
            yield Need(k, ns, name, who, fld, wave)
    elif kind == "Certificate":  # cert-manager: spec.issuerRef (kind Issuer by default, same namespace)
        ref = (obj.get("spec") or {}).get("issuerRef") or {}
        if ref.get("group", "cert-manager.io") == "cert-manager.io":
            ref_kind = ref.get("kind") or "Issuer"
            yield Need(ref_kind, ns if ref_kind == "Issuer" else "", ref.get("name", ""), who, "spec.issuerRef.name", wave)
    elif kind in ("Issuer", "ClusterIssuer"):  # a CA issuer signs with the key pair in ca.secretName
        secret = ((obj.get("spec") or {}).get("ca") or {}).get("secretName")
        if secret:  # a ClusterIssuer reads it from cert-manager's cluster resource namespace: not checked
            if kind == "Issuer":
                yield Need("Secret", ns, secret, who, "spec.ca.secretName", wave)


def _produced(objects: Iterable[Mapping]) -> dict[tuple[str, str, str], tuple[int, str]]:
    out: dict[tuple[str, str, str], tuple[int, str]] = {}

    def put(key: tuple[str, str, str], wave: int, who: str) -> None:
        if key not in out or out[key][0] > wave:
            out[key] = (wave, who)

    for obj in objects:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or ""
        kind, wave = obj.get("kind", ""), wave_of(obj)
        put((kind, "" if kind == "ClusterIssuer" else ns, meta.get("name", "")), wave, _ident(obj))
        if kind == "Certificate" and (secret := (obj.get("spec") or {}).get("secretName")):
            put(("Secret", ns, secret), wave, f"{_ident(obj)} (cert-manager writes spec.secretName)")
    return out


def _addon_manifests(obj: Mapping) -> list[Mapping]:
    return list((((obj.get("spec") or {}).get("agentSpec") or {}).get("workload") or {}).get("manifests") or [])


def _policy_objects(obj: Mapping) -> Iterator[Mapping]:
    """Objects an enforced Policy puts on its clusters (ConfigurationPolicy object-templates)."""
    top = str((obj.get("spec") or {}).get("remediationAction") or "").lower()
    for tpl in (obj.get("spec") or {}).get("policy-templates") or []:
        cfg = tpl.get("objectDefinition") or {}
        if cfg.get("kind") != "ConfigurationPolicy":
            continue
        action = (top or str((cfg.get("spec") or {}).get("remediationAction") or "")).lower()
        if action != "enforce":
            continue
        for ot in (cfg.get("spec") or {}).get("object-templates") or []:
            if ot.get("complianceType", "musthave") != "mustnothave" and ot.get("objectDefinition"):
                yield ot["objectDefinition"]


def _missing(need: Need, root: str, where: str) -> Finding:
    return Finding(
        "waves", f"{need.consumer} ({where}) needs {need.kind} "
                 f"{need.namespace + '/' if need.namespace else ''}{need.name}, which nothing in this build produces "
                 "and no README prerequisite names: add it to the bundle or name it as a prerequisite",
        location=Location(root), field=need.field, subject=Subject.path(root))


def check_root(root: str, objects: list[Mapping]) -> list[Finding]:
    findings: list[Finding] = []
    hub_objects = [o for o in objects if o.get("kind") != "AddOnTemplate"]
    produced = _produced(hub_objects)
    for obj in hub_objects:
        for need in needs_of(obj):
            if (need.kind, need.name) in PREREQUISITES or not need.name:
                continue
            hit = produced.get((need.kind, need.namespace, need.name))
            if hit is None:
                findings.append(_missing(need, root, f"wave {need.wave}"))
            elif hit[0] > need.wave:
                findings.append(Finding(
                    "waves", f"{need.consumer} (wave {need.wave}) needs {need.kind} "
                             f"{need.namespace + '/' if need.namespace else ''}{need.name}, produced only by "
                             f"{hit[1]} at the later wave {hit[0]}: Argo CD waits on wave {need.wave} forever; "
                             f"move the producer to wave <= {need.wave} or the consumer later",
                    location=Location(root), field=need.field, subject=Subject.path(root)))
    # Managed clusters: the AddOnTemplate's own manifests plus what enforced policies deliver.
    delivered = [d for o in hub_objects if o.get("kind") == "Policy" for d in _policy_objects(o)]
    for tpl in (o for o in objects if o.get("kind") == "AddOnTemplate"):
        manifests = _addon_manifests(tpl)
        on_cluster = _produced(list(manifests) + delivered)
        for obj in manifests:
            for need in needs_of(obj):
                if (need.kind, need.name) in PREREQUISITES or not need.name:
                    continue
                if (need.kind, need.namespace, need.name) not in on_cluster:
                    findings.append(_missing(need, root, f"on managed clusters, in {_ident(tpl)}"))
    return findings


def check(objects_by_root: Mapping[str, list[dict]]) -> tuple[list[Finding], int]:
    """Findings over every built root, and how many needs were checked."""
    findings: list[Finding] = []
    count = 0
    for root in sorted(objects_by_root):
        objs = objects_by_root[root]
        count += sum(1 for o in objs for _ in needs_of(o))
        count += sum(1 for o in objs if o.get("kind") == "AddOnTemplate" for m in _addon_manifests(o) for _ in needs_of(m))
        findings.extend(check_root(root, objs))
    return findings, count
