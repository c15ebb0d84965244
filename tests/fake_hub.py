"""A local HTTP server answering the list calls of the live audit with stored API responses.

It serves the real `kubernetes` client exactly what a hub's API server would for those calls
(paths, JSON bodies, 404 with a Status body for unknown paths) on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"

ROUTES = {
    "/apis/policy.open-cluster-management.io/v1/namespaces/fl-governance/policies": "policies.json",
    "/apis/argoproj.io/v1alpha1/namespaces/openshift-gitops/applications": "applications.json",
    "/apis/federation-ai.open-cluster-management.io/v1alpha1/federatedlearnings": "federatedlearnings.json",
}


class FakeHub:
    def __init__(self, hub: str = "hub-prod") -> None:
        self.folder = FIXTURES / hub
        self.requests: list[str] = []
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
                path = self.path.split("?", 1)[0]
                hub.requests.append(path)
                name = ROUTES.get(path)
                if name:
                    status, body = 200, (hub.folder / name).read_bytes()
                else:
                    status = 404
                    body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                       "message": "the server could not find the requested resource",
                                       "reason": "NotFound", "code": 404}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
