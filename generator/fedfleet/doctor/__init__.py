"""`fedfleet doctor`: is the hub ready for its bundle? Each readiness step a verdict and the fix.

Reads the bundle as committed (the hub's built overlay and bootstrap), the fleet's inventory, and
the hub through the kubernetes client (kube.py: no retries, connect/read timeouts).
"""

from __future__ import annotations

from pathlib import Path

from ..checks.kustomize import build
from ..findings import Finding, InputError, Location
from ..kube import Timeouts
from ..spec.model import Fleet, Hub
from .hub import HubApi
from .model import DoctorReport, Step
from .steps import STEP_NAMES, Context, run_steps

__all__ = ["DoctorReport", "Step", "STEP_NAMES", "doctor", "parse_connect_to"]


def parse_connect_to(values: list[str]) -> dict[tuple[str, int], tuple[str, int]]:
    """HOST:PORT:ADDRESS:PORT, as curl's --connect-to (bad input: exit 2)."""
    out: dict[tuple[str, int], tuple[str, int]] = {}
    for value in values:
        parts = value.rsplit(":", 3)
        if len(parts) != 4 or not all(parts) or not parts[1].isdigit() or not parts[3].isdigit():
            raise InputError([Finding("doctor", f"--connect-to {value!r}: expected HOST:PORT:ADDRESS:PORT")])
        out[(parts[0], int(parts[1]))] = (parts[2], int(parts[3]))
    return out


def doctor(fleet: Fleet, hub: Hub, out: Path, kubeconfig: Path, context: str | None,
           timeouts: Timeouts = Timeouts(), connect_to: dict[tuple[str, int], tuple[str, int]] | None = None) -> DoctorReport:
    built: dict[str, list] = {}
    for root in (f"overlays/{hub.name}", f"bootstrap/{hub.name}"):
        if not (out / root / "kustomization.yaml").is_file():
            raise InputError([Finding("doctor", "no generated bundle for this hub: run `fedfleet generate` first",
                                      location=Location(str(out / root)))])
        built[root] = build(out / root)
    try:
        api = HubApi(hub.name, kubeconfig, context, timeouts)
    except ValueError as exc:
        raise InputError([Finding("doctor", f"cannot use kubeconfig: {exc}", location=Location(str(kubeconfig)))]) from None
    try:
        ctx = Context(fleet, hub, api, built[f"overlays/{hub.name}"], built[f"bootstrap/{hub.name}"], timeouts.connect,
                      dict(connect_to or {}))
        return DoctorReport(hub.name, api.server, run_steps(ctx))
    finally:
        api.close()
