"""A local HTTP server answering the list calls of the live audit with stored API responses.

It serves the real `kubernetes` client exactly what a hub's API server would for those calls
(paths, JSON bodies, 404 with a Status body for unknown paths) on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"

ROUTES = {
    "/apis/policy.open-cluster-management.io/v1/namespaces/fl-governance/policies": "policies.json",
    "/apis/argoproj.io/v1alpha1/namespaces/openshift-gitops/applications": "applications.json",
    "/apis/federation-ai.open-cluster-management.io/v1alpha1/federatedlearnings": "federatedlearnings.json",
    "/apis/cluster.open-cluster-management.io/v1/managedclusters": "managedclusters.json",
    "/apis/cluster.open-cluster-management.io/v1beta2/managedclustersets": "managedclustersets.json",
    "/apis/cluster.open-cluster-management.io/v1beta1/placements": "placements.json",
    "/apis/addon.open-cluster-management.io/v1alpha1/clustermanagementaddons": "clustermanagementaddons.json",
    "/apis/addon.open-cluster-management.io/v1alpha1/managedclusteraddons": "managedclusteraddons.json",
    # The quality gate's result ConfigMaps, listed per job namespace (label fedfleet.io/validation=result).
    "/api/v1/namespaces/fl-mnist/configmaps": "configmaps-fl-mnist.json",
    "/api/v1/namespaces/fl-ct/configmaps": "configmaps-fl-ct.json",
    # batch/v1 Jobs in the SuperLink namespace: the Flower run Job flwr-run-<job> (render/flower.py).
    "/apis/batch/v1/namespaces/flower-system/jobs": "jobs-flower-system.json",
}

# API server Status bodies for refused requests (k8s.io/apimachinery metav1.Status, as served).
UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}


def forbidden(path: str) -> dict[str, Any]:
    group, plural = path.split("/")[2], path.rsplit("/", 1)[1]
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"{plural}.{group} is forbidden: User \"system:serviceaccount:fl-ci:inventory\" cannot list "
                       f"resource \"{plural}\" in API group \"{group}\" at the cluster scope",
            "reason": "Forbidden", "details": {"group": group, "kind": plural}, "code": 403}


def page(body: dict[str, Any], limit: int, token: str) -> dict[str, Any]:
    """One page of a list as the API server pages it: `limit` items from the `continue` offset,
    metadata.continue and remainingItemCount while more remain."""
    start = json.loads(base64.b64decode(token))["start"] if token else 0
    out = copy.deepcopy(body)
    items = body["items"]
    out["items"] = items[start:start + limit] if limit else items[start:]
    rest = len(items) - start - len(out["items"])
    if limit and rest > 0:
        out["metadata"]["continue"] = base64.b64encode(json.dumps(
            {"v": "meta.k8s.io/v1", "rv": int(body["metadata"]["resourceVersion"]), "start": start + limit}).encode()).decode()
        out["metadata"]["remainingItemCount"] = rest
    return out


class FakeHub:
    def __init__(self, hub: str = "hub-prod", folder: Path | None = None) -> None:
        self.folder = folder or FIXTURES / hub
        self.requests: list[str] = []
        self.queries: list[dict[str, list[str]]] = []
        self.fault: str | None = None  # "401" | "403" | "slow"
        self.slow_seconds = 3.0
        # path -> list body served instead of the fixture file (a hub whose state changed)
        self.bodies: dict[str, dict[str, Any]] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path: Path, context: str = "hub-prod") -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": "auditor", "user": {"token": "sha256~recorded-audit-token"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": "auditor"}}],
        }))
        return path

    def _handler(self):  # type: ignore[no-untyped-def]
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                path = url.path
                query = parse_qs(url.query)
                hub.requests.append(path)
                hub.queries.append(query)
                name = ROUTES.get(path)
                if hub.fault == "slow":
                    time.sleep(hub.slow_seconds)
                if hub.fault == "401":
                    status, body = 401, json.dumps(UNAUTHORIZED).encode()
                elif hub.fault == "403":
                    status, body = 403, json.dumps(forbidden(path)).encode()
                elif name:
                    status = 200
                    data = hub.bodies.get(path) or json.loads((hub.folder / name).read_text())
                    limit = int(query.get("limit", ["0"])[0])
                    body = json.dumps(page(data, limit, query.get("continue", [""])[0])).encode()
                else:
                    status = 404
                    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                       "message": "the server could not find the requested resource",
                                       "reason": "NotFound", "code": 404}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a read timeout under test): nothing to answer

        return Handler


class Blackhole:
    """A 127.0.0.1 port whose accept queue is full, so a new TCP connection is never completed:
    the client's connect timeout expires, as against a hub behind a dropping firewall."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.fillers: list[socket.socket] = []

    def __enter__(self) -> "Blackhole":
        # Fill the backlog; later SYNs are dropped by the kernel and the connect hangs.
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(self.listener.getsockname())
            except BlockingIOError:
                pass
            self.fillers.append(s)
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self.fillers:
            s.close()
        self.listener.close()

    def kubeconfig(self, path: Path, context: str = "hub-prod") -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": "u"}}],
        }))
        return path
