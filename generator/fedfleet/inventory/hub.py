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

MANAGED_CLUSTER = ("cluster.open-cluster-management.io", "v1", "managedclusters")
MANAGED_CLUSTER_SET = ("cluster.open-cluster-management.io", "v1beta2", "managedclustersets")
DEFAULT_PAGE_SIZE = 500
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Timeouts:
    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT


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
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=configuration)
    except Exception as exc:
        raise _bad(f"cannot use kubeconfig: {exc}", str(kubeconfig)) from None
    configuration.retries = False
    api_client = client.ApiClient(configuration)
    api = client.CustomObjectsApi(api_client)
    server = configuration.host
    result = HubClusters(hub, server, [], [])

    def listing(resource: tuple[str, str, str]) -> list[dict[str, Any]]:
        group, version, plural = resource
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            try:
                kwargs: dict[str, Any] = {"limit": page_size, "_request_timeout": (timeouts.connect, timeouts.read)}
                if token:
                    kwargs["_continue"] = token
                body = api.list_cluster_custom_object(group, version, plural, **kwargs)
            except ApiException as exc:
                what = f"listing {plural}.{group} on hub {hub} ({server})"
                if exc.status == 401:
                    raise _bad(f"401 Unauthorized {what}: the kubeconfig's credentials were refused "
                               "(expired token or wrong user)") from None
                if exc.status == 403:
                    raise _bad(f"403 Forbidden {what}: the user may not list {plural}; it needs "
                               f"get/list on {plural}.{group} at cluster scope ({_status_message(exc)})") from None
                if exc.status == 410:
                    raise _bad(f"410 Gone {what}: the continue token expired while paging; run again") from None
                raise _bad(f"{exc.status} {exc.reason} {what}: {_status_message(exc)}") from None
            except NewConnectionError as exc:  # before ConnectTimeoutError: urllib3 2 derives it from that
                raise _bad(f"hub {hub} ({server}) refused or failed the connection listing {plural}: {exc}") from None
            except ConnectTimeoutError:
                raise _bad(f"hub {hub} ({server}): no connection within the connect timeout of "
                           f"{timeouts.connect:g} s listing {plural}") from None
            except ReadTimeoutError:
                raise _bad(f"hub {hub} ({server}): connected, but no response within the read timeout of "
                           f"{timeouts.read:g} s listing {plural}") from None
            except (HTTPError, OSError) as exc:
                raise _bad(f"hub {hub} ({server}) is unreachable listing {plural}: {type(exc).__name__}: {exc}") from None
            result.pages += 1
            items.extend(body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    try:
        result.clusters = listing(MANAGED_CLUSTER)
        result.cluster_sets = listing(MANAGED_CLUSTER_SET)
    finally:
        api_client.close()
    return result


def _status_message(exc: Any) -> str:
    import json

    try:
        return str(json.loads(exc.body).get("message", "")) or str(exc.reason)
    except (TypeError, ValueError):
        return str(exc.reason)
