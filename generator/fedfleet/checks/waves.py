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
from typing import Any, Iterable, Iterator, Mapping

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


def unit_facts(objects: list[Mapping]) -> list[Any]:
    """What check_root reads of some built objects, in their order, as JSON data: a pure function
    of the objects (check keeps it per unit in its cache, keyed by the unit's built bytes:
    checks/unitfacts.py). [products, needs, delivered, templates, count]: each hub object's
    products ([kind, namespace, name], wave, who) and needs (Need's fields), the keys enforced
    Policies deliver to managed clusters, each AddOnTemplate as [ident, its manifests' product
    keys, their needs], and how many needs there are (hub objects' and manifests')."""
    products: list[list[Any]] = []
    needs: list[list[Any]] = []
    delivered: list[list[Any]] = []
    templates: list[list[Any]] = []
    count = 0
    for obj in objects:
        if obj.get("kind") == "AddOnTemplate":
            manifests = _addon_manifests(obj)
            keys = [list(key) for key in _produced(manifests)]
            on_cluster = [[n.kind, n.namespace, n.name, n.consumer, n.field, n.wave] for m in manifests for n in needs_of(m)]
            count += len(on_cluster)
            templates.append([_ident(obj), keys, on_cluster])
            continue
        products += [[list(key), wave, who] for key, (wave, who) in _produced_in_order((obj,))]
        mine = [[n.kind, n.namespace, n.name, n.consumer, n.field, n.wave] for n in needs_of(obj)]
        count += len(mine)
        needs += mine
        if obj.get("kind") == "Policy":
            delivered += [list(key) for key in _produced(list(_policy_objects(obj)))]
    return [products, needs, delivered, templates, count]


def _produced_in_order(objects: Iterable[Mapping]) -> list[tuple[tuple[str, str, str], tuple[int, str]]]:
    """What _produced puts, each in the order it comes (an object yields a Certificate's secret
    after the Certificate), before keeping the earliest wave of each key."""
    out: list[tuple[tuple[str, str, str], tuple[int, str]]] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or ""
        kind, wave = obj.get("kind", ""), wave_of(obj)
        out.append(((kind, "" if kind == "ClusterIssuer" else ns, meta.get("name", "")), (wave, _ident(obj))))
        if kind == "Certificate" and (secret := (obj.get("spec") or {}).get("secretName")):
            out.append((("Secret", ns, secret), (wave, f"{_ident(obj)} (cert-manager writes spec.secretName)")))
    return out


def _key(value: list[Any]) -> Any:
    """A product key back from JSON: a tuple again (a list is not hashable)."""
    return tuple(_key(v) if isinstance(v, list) else v for v in value)


def facts_findings(root: str, units: list[list[Any]]) -> tuple[list[Finding], int]:
    """check_root's findings from the unit_facts of a root's units (in build order), and how many
    needs were checked."""
    findings: list[Finding] = []
    produced: dict[Any, tuple[int, str]] = {}
    for unit in units:
        for key, wave, who in unit[0]:
            key = _key(key)
            if key not in produced or produced[key][0] > wave:
                produced[key] = (wave, who)
    for unit in units:
        for fields in unit[1]:
            need = Need(*fields)
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
    delivered = {_key(key) for unit in units for key in unit[2]}
    for unit in units:
        for ident, keys, on_cluster_needs in unit[3]:
            on_cluster = {_key(key) for key in keys} | delivered
            for fields in on_cluster_needs:
                need = Need(*fields)
                if (need.kind, need.name) in PREREQUISITES or not need.name:
                    continue
                if (need.kind, need.namespace, need.name) not in on_cluster:
                    findings.append(_missing(need, root, f"on managed clusters, in {ident}"))
    return findings, sum(unit[4] for unit in units)


def check_root(root: str, objects: list[Mapping]) -> list[Finding]:
    return facts_findings(root, [unit_facts(objects)])[0]


def check(objects_by_root: Mapping[str, list[dict]]) -> tuple[list[Finding], int]:
    """Findings over every built root, and how many needs were checked."""
    return check_facts({root: [unit_facts(objects_by_root[root])] for root in objects_by_root})


def check_facts(facts: Mapping[str, list[list[Any]]]) -> tuple[list[Finding], int]:
    """check from each root's unit_facts (root -> the facts of its units, in build order)."""
    findings: list[Finding] = []
    count = 0
    for root in sorted(facts):
        in_root, needs = facts_findings(root, facts[root])
        findings.extend(in_root)
        count += needs
    return findings, count
