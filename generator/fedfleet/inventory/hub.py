"""Read a hub's ManagedClusters and ManagedClusterSets through the official kubernetes client.

Two cluster-scoped list calls, paged with `limit`/`continue` as the API server pages them
(k8s.io/apiserver: a list response carries metadata.continue until the last page). Retries are off
so that a timeout is reported once, with the timeout that really expired: the connect timeout
(TCP connection to the API server) or the read timeout (waiting for a response).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding, InputError, Location
from ..kube import Timeouts, api_client, describe_failure

MANAGED_CLUSTER = ("cluster.open-cluster-management.io", "v1", "managedclusters")
MANAGED_CLUSTER_SET = ("cluster.open-cluster-management.io", "v1beta2", "managedclustersets")
DEFAULT_PAGE_SIZE = 500
__all__ = ["Timeouts", "HubClusters", "read_hub_clusters"]


@dataclass
class HubClusters:
    hub: str
    server: str
    clusters: list[dict[str, Any]]
    cluster_sets: list[dict[str, Any]]
    pages: int = 0


def _bad(message: str, where: str = "") -> InputError:
    return InputError([Finding("inventory", message, location=Location(where) if where else None)])


def read_hub_clusters(hub: str, kubeconfig: Path, context: str | None, timeouts: Timeouts = Timeouts(),
                      page_size: int = DEFAULT_PAGE_SIZE) -> HubClusters:
    from kubernetes import client

    try:
        api_client_, server = api_client(kubeconfig, context)
    except ValueError as exc:
        raise _bad(f"cannot use kubeconfig: {exc}", str(kubeconfig)) from None
    api = client.CustomObjectsApi(api_client_)
    result = HubClusters(hub, server, [], [])

    def listing(resource: tuple[str, str, str]) -> list[dict[str, Any]]:
        group, version, plural = resource
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            try:
                kwargs: dict[str, Any] = {"limit": page_size, "_request_timeout": timeouts.request}
                if token:
                    kwargs["_continue"] = token
                body = api.list_cluster_custom_object(group, version, plural, **kwargs)
            except Exception as exc:
                message = describe_failure(exc, f"listing {plural}.{group} on hub {hub} ({server})", timeouts)
                if message is None:
                    raise
                if message.startswith("403"):
                    message += f"; it needs get/list on {plural}.{group} at cluster scope"
                raise _bad(message) from None
            if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
                raise _bad(f"malformed answer listing {plural}.{group} on hub {hub} ({server}): not a list")
            result.pages += 1
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    try:
        result.clusters = listing(MANAGED_CLUSTER)
        result.cluster_sets = listing(MANAGED_CLUSTER_SET)
    finally:
        api_client_.close()
    return result
