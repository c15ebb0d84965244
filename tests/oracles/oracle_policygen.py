"""The Policy Generator as a peer: the same content through open-cluster-management.io's
PolicyGenerator (tools/policygen), compared with fedfleet's output field by field.

`generator_config` writes, for one hub, the PolicyGenerator configuration a user of that tool
would write to get fedfleet's policies: one policy per fedfleet Policy with the same object
templates as manifests (each `objectDefinition` a manifest file with its `complianceType`; an
`object-templates-raw` or a CertificatePolicy as a policy-type manifest, which the generator
copies as it is), the same remediation, severity, namespaceSelector, standards, categories and
controls, the fedfleet Placement as `placement.placementPath` (the generator's own placements only
select on labels, and fedfleet's select on claims and prioritize), and one policy set per concern.

`compare` flattens both outputs to (kind, name, field path) -> value and lists every difference.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from oracles.oracle_tools import tool

API_POLICY = "policy.open-cluster-management.io/v1"
GOVERNED = ("Policy", "PolicySet", "Placement", "PlacementBinding")


def _annotation_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def generator_config(objects: list[dict[str, Any]], work: Path) -> Path:
    """Write the PolicyGenerator configuration (and its manifest files) for one hub's objects."""
    policies = [o for o in objects if o["kind"] == "Policy"]
    placements = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Placement"}
    bound_to = {s["name"]: b["placementRef"]["name"] for b in objects if b["kind"] == "PlacementBinding"
                for s in b["subjects"]}
    sets = [o for o in objects if o["kind"] == "PolicySet"]
    namespace = policies[0]["metadata"]["namespace"]
    (work / "placements").mkdir(parents=True, exist_ok=True)
    for name, placement in placements.items():
        (work / "placements" / f"{name}.yaml").write_text(yaml.safe_dump(placement, sort_keys=False))
    entries = []
    for policy in policies:
        name = policy["metadata"]["name"]
        ann = policy["metadata"]["annotations"]
        template = policy["spec"]["policy-templates"][0]["objectDefinition"]
        spec = template["spec"]
        mdir = work / "manifests" / name
        mdir.mkdir(parents=True, exist_ok=True)
        manifests = []
        if template["kind"] == "ConfigurationPolicy" and "object-templates" in spec:
            for i, t in enumerate(spec["object-templates"]):
                (mdir / f"{i}.yaml").write_text(yaml.safe_dump(t["objectDefinition"], sort_keys=False))
                manifests.append({"path": str((mdir / f"{i}.yaml").relative_to(work)), "complianceType": t["complianceType"]})
        elif template["kind"] == "ConfigurationPolicy":
            (mdir / "raw.yaml").write_text(yaml.safe_dump({"object-templates-raw": spec["object-templates-raw"]}))
            manifests.append({"path": str((mdir / "raw.yaml").relative_to(work))})
        else:  # a policy-type manifest (CertificatePolicy): used as the policy template unchanged
            (mdir / "policy.yaml").write_text(yaml.safe_dump(template, sort_keys=False))
            manifests.append({"path": str((mdir / "policy.yaml").relative_to(work))})
        entry: dict[str, Any] = {
            "name": name,
            "description": ann.get("policy.open-cluster-management.io/description", ""),
            "manifests": manifests,
            "remediationAction": policy["spec"].get("remediationAction", spec.get("remediationAction", "inform")),
            "severity": spec.get("severity", "low"),
            "standards": _annotation_list(ann["policy.open-cluster-management.io/standards"]),
            "categories": _annotation_list(ann["policy.open-cluster-management.io/categories"]),
            "controls": _annotation_list(ann["policy.open-cluster-management.io/controls"]),
            "placement": {"placementPath": f"placements/{bound_to[name]}.yaml"},
            # fedfleet binds each policy to its target; the generator binds only the policy set
            # unless told otherwise (internal/plugin.go, generatePlacementWhenInSet)
            "generatePlacementWhenInSet": True,
            "policySets": [s["metadata"]["name"] for s in sets if name in s["spec"]["policies"]],
        }
        for option in ("namespaceSelector", "pruneObjectBehavior", "evaluationInterval"):
            if option in spec:
                entry[option] = spec[option]
        entries.append(entry)
    config = {
        "apiVersion": API_POLICY, "kind": "PolicyGenerator", "metadata": {"name": "fedfleet-peer"},
        # several policies share a Placement: the generator then needs one binding name per placement,
        # which it only takes from placementBindingDefaults (internal/plugin.go, createPlacementBinding)
        "placementBindingDefaults": {"name": "fedfleet-binding"},
        "policyDefaults": {"namespace": namespace},
        # fedfleet's policy sets group policies for the dashboard and are bound to nothing
        "policySetDefaults": {"generatePolicySetPlacement": False},
        "policies": entries,
        "policySets": [{"name": s["metadata"]["name"], "description": s["spec"].get("description", "")} for s in sets],
    }
    path = work / "policy-generator.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_generator(config: Path) -> list[dict[str, Any]]:
    done = subprocess.run([str(tool("PolicyGenerator")), config.name], cwd=config.parent,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"PolicyGenerator failed on {config}:\n{done.stderr}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _key(o: dict[str, Any]) -> tuple[str, str]:
    if o["kind"] == "PlacementBinding":  # bindings are matched by what they bind, not by name
        return o["kind"], o["placementRef"]["name"]
    return o["kind"], o["metadata"]["name"]


@dataclass(frozen=True)
class Difference:
    kind: str
    name: str
    path: str
    fedfleet: Any
    generator: Any

    @property
    def where(self) -> str:
        return f"{self.kind} {self.path}"


def compare(ours: Iterable[dict[str, Any]], theirs: Iterable[dict[str, Any]], namespace: str) -> list[Difference]:
    """Differences between fedfleet's governance objects (those in the governance namespace) and
    the generator's."""
    mine = {_key(o): o for o in ours if o["kind"] in GOVERNED and o["metadata"].get("namespace") == namespace}
    peer = {_key(o): o for o in theirs if o["kind"] in GOVERNED}
    out: list[Difference] = []
    for key in sorted(set(mine) | set(peer)):
        a, b = _flatten(mine.get(key, {})), _flatten(peer.get(key, {}))
        if key not in mine or key not in peer:
            out.append(Difference(key[0], key[1], "(object)", "present" if key in mine else "absent",
                                  "present" if key in peer else "absent"))
            continue
        for path in sorted(set(a) | set(b)):
            if a.get(path) != b.get(path):
                out.append(Difference(key[0], key[1], path, a.get(path), b.get(path)))
    return out


def generalise(path: str) -> str:
    """A field path without list indexes and with the per-object parts of annotation keys kept,
    so one deliberate difference covers every object it occurs on."""
    import re
    return re.sub(r"\[\d+\]", "[]", path)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if value is not None else "(absent)"
