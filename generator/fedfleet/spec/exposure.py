"""How managed clusters reach a Flower job's SuperLink: the address the add-on's SuperNodes dial.

Each Flower job gets its own SuperLink on the hub (Flower 1.26.1's federation manager is a no-op:
every SuperNode connected to a SuperLink joins every run, flwr/superlink/federation/
noop_federation_manager.py), so every job needs its own externally reachable fleet-API endpoint:

- Route: an OpenShift Route with TLS passthrough (the SuperLink terminates TLS itself, gRPC needs
  HTTP/2 end to end), host `superlink-<job>.<domain>`, port 443;
- LoadBalancer: a LoadBalancer Service; `superlink-<job>.<domain>` must resolve to it (the Service
  carries the external-dns hostname annotation), port 9092;
- NodePort: a hub node address and one node port per job.

A name only the hub can resolve (a Service name, `*.svc`, `*.cluster.local`, a single label) never
reaches a managed cluster: that is an input error, not a runtime surprise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..upstream import SUPERLINK_PORTS
from ..upstream import superlink_host
from ..upstream import superlink_name as _superlink_name
from .model import Hub, Job

ROUTE_PORT = 443  # OpenShift router, TLS passthrough
FLEET_PORT = SUPERLINK_PORTS["fleet"]  # the SuperLink's Fleet API (flower-addon chart: superlink.yaml, port "fleet")
_INTERNAL_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local", ".local", ".localhost", ".internal")


@dataclass(frozen=True)
class Endpoint:
    exposure: str  # Route | LoadBalancer | NodePort
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def superlink_name(job: Job) -> str:
    """The job's SuperLink Deployment, Service, Route and Certificate name (in flower-system)."""
    return _superlink_name(job.name)


def endpoint(hub: Hub, job: Job) -> Endpoint:
    """Where the SuperNodes of `job` dial its SuperLink (validated input assumed)."""
    host = superlink_host(job.name, hub.superlink_exposure, hub.superlink_domain, hub.superlink_node_address)
    if hub.superlink_exposure == "NodePort":
        return Endpoint("NodePort", host, int(hub.superlink_node_ports[job.name]))
    return Endpoint(hub.superlink_exposure, host, ROUTE_PORT if hub.superlink_exposure == "Route" else FLEET_PORT)


def unreachable_reason(address: str, hub_namespaces: set[str]) -> str | None:
    """Why a managed cluster could not resolve or reach `address`, or None when it looks external."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_loopback or ip.is_unspecified or ip.is_link_local:
            return f"{address} is a loopback, unspecified or link-local address"
        return None
    name = address.lower().rstrip(".")
    if "." not in name:
        return f"{address!r} is a single-label name, which only a cluster's own search domains resolve"
    for suffix in _INTERNAL_SUFFIXES:
        if name.endswith(suffix):
            return f"{address!r} ends in {suffix}, a cluster-internal DNS zone"
    last = name.rsplit(".", 1)[1]
    if last in hub_namespaces:
        return f"{address!r} is a Service name in the hub's namespace {last!r}, which only the hub resolves"
    return None
