"""Argo CD health checks for the kinds fedfleet deploys or causes, and a Lua runtime to run them.

The scripts are Argo CD resource customizations (`resource.customizations.health.<group>_<kind>`
in `argocd-cm`, or `spec.resourceHealthChecks` of an OpenShift GitOps `ArgoCD`). They are written
for Lua 5.1, the language of gopher-lua that Argo CD embeds, and use only what Argo CD's default
sandbox opens (base, table; argo-cd util/lua/lua.go runLuaWithResourceActionParameters). `assess`
runs them the same way with lupa's Lua 5.1 runtime: a fresh state per object, the object as the
global `obj`, the string/math/io/os/debug libraries removed and strings without a metatable, so a
script that would fail inside Argo CD fails here too. The live audit uses `assess`, so what it
reports is what Argo CD shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

HEALTH_KEY_PREFIX = "resource.customizations.health."


@dataclass(frozen=True)
class HealthCheck:
    group: str
    kind: str
    file: str

    @property
    def key(self) -> str:
        """The argocd-cm key (argo-cd util/lua GetConfigMapKey: `<group>_<kind>`)."""
        return f"{HEALTH_KEY_PREFIX}{self.group}_{self.kind}"

    @property
    def source(self) -> str:
        return _source(self.file)


CHECKS: tuple[HealthCheck, ...] = (
    HealthCheck("federation-ai.open-cluster-management.io", "FederatedLearning", "federatedlearning.lua"),
    HealthCheck("addon.open-cluster-management.io", "ManagedClusterAddOn", "managedclusteraddon.lua"),
    HealthCheck("addon.open-cluster-management.io", "ClusterManagementAddOn", "clustermanagementaddon.lua"),
    HealthCheck("cluster.open-cluster-management.io", "Placement", "placement.lua"),
    HealthCheck("policy.open-cluster-management.io", "Policy", "policy.lua"),
)
_BY_KIND = {(c.group, c.kind): c for c in CHECKS}


@dataclass(frozen=True)
class Health:
    status: str  # Healthy | Progressing | Degraded | Suspended | Missing | Unknown
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "message": self.message}


@cache
def _source(file: str) -> str:
    return resources.files(__package__).joinpath(file).read_text(encoding="utf-8")


def check_for(obj: dict[str, Any]) -> HealthCheck | None:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return _BY_KIND.get((group, str(obj.get("kind", ""))))


# Argo CD's sandbox opens package, base, table and a reduced os; nothing else is reachable.
_SANDBOX = """
debug.setmetatable("", nil)
string, math, io, os, debug, coroutine = nil, nil, nil, nil, nil, nil
"""


def run(script: str, obj: dict[str, Any]) -> Health:
    """Run one health script on one object as Argo CD does; a script error raises LuaError."""
    from lupa import lua51

    lua = lua51.LuaRuntime(register_eval=False, register_builtins=False, unpack_returned_tuples=False)
    lua.execute(_SANDBOX)
    lua.globals().obj = _to_lua(lua, obj)
    result = lua.execute(script)
    if result is None or lua51.lua_type(result) != "table":
        raise lua51.LuaError(f"health script returned {result!r}, not a table")
    status, message = result["status"], result["message"]
    return Health(str(status) if status is not None else "", str(message) if message is not None else "")


def assess(obj: dict[str, Any]) -> Health | None:
    """Argo CD's verdict on `obj` under fedfleet's checks; None for a kind without one."""
    check = check_for(obj)
    return run(check.source, obj) if check else None


def _to_lua(lua: Any, value: Any) -> Any:
    # JSON arrays become 1-based sequences and objects tables, as gopher-lua's decodeValue does.
    if isinstance(value, dict):
        return lua.table_from({k: _to_lua(lua, v) for k, v in value.items()})
    if isinstance(value, list):
        return lua.table_from([_to_lua(lua, v) for v in value])
    return value
