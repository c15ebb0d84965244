"""What Argo CD shows for the objects the live audit reads.

The audit runs fedfleet's own Argo CD health checks (render/health, the same Lua that the
bootstrap installs, in the same Lua 5.1 sandbox) on every live object of a kind they cover, so
its verdicts are Argo CD's. Where the hub's Argo CD records per-resource health in the
Application (`controller.resource.health.persist: "true"`; off by default since Argo CD 3.0,
argo-cd docs/operator-manual/upgrading/2.14-3.0.md), the two are compared: a difference means
the hub runs other checks than the bootstrap's (not applied, or an older version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..render.health import Health, assess
from .model import LiveFinding


@dataclass(frozen=True)
class ObjectHealth:
    group: str
    kind: str
    namespace: str
    name: str
    health: Health

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name,
                **self.health.as_dict()}


def verdicts(objects: list[dict[str, Any]]) -> list[ObjectHealth]:
    out = []
    for o in objects:
        health = assess(o)
        if health is None:
            continue
        meta = o.get("metadata", {})
        out.append(ObjectHealth(str(o.get("apiVersion", "")).rpartition("/")[0], str(o.get("kind", "")),
                                meta.get("namespace", ""), meta.get("name", ""), health))
    return out


def disagreements(hub: str, app_name: str, app: dict[str, Any], ours: list[ObjectHealth]) -> list[LiveFinding]:
    """Per resource, Argo CD's recorded health against fedfleet's check on the same live object."""
    by_key = {(v.group, v.kind, v.namespace, v.name): v for v in ours}
    out = []
    for res in app.get("status", {}).get("resources", []):
        theirs = (res.get("health") or {}).get("status")
        mine = by_key.get((res.get("group", ""), res.get("kind", ""), res.get("namespace", ""), res.get("name", "")))
        if theirs is None or mine is None or theirs == mine.health.status:
            continue
        out.append(LiveFinding(hub, "application", app_name,
                               f"Argo CD shows {theirs} for {mine.label}, fedfleet's check gives {mine.health.status} "
                               f"({mine.health.message}): the hub runs other health checks; apply bootstrap/{hub}/"
                               "health-checks.yaml"))
    return out
