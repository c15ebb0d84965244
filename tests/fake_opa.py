"""A small local HTTP server speaking the parts of OPA's REST API that fedfleet calls.

No OPA binary exists on these machines. This server stores modules on PUT /v1/policies/<id>,
lists them on GET /v1/policies/, deletes them on DELETE, and answers POST /v1/data/<path> by
evaluating the stored modules with a real Rego engine (regorus), in OPA's response shape
{"result": ...}. It listens on 127.0.0.1 only and stops with the test.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import regorus


class FakeOpa:
    def __init__(self) -> None:
        self.modules: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.override: object = None  # when set, every POST /v1/data answer is this body (a broken server)
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeOpa":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):  # type: ignore[no-untyped-def]
        opa = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def do_GET(self) -> None:
                opa.calls.append(("GET", self.path))
                if self.path.rstrip("/") == "/v1/policies":
                    self._reply(200, {"result": [{"id": k, "raw": v} for k, v in opa.modules.items()]})
                else:
                    self._reply(404, {"code": "resource_not_found"})

            def do_PUT(self) -> None:
                opa.calls.append(("PUT", self.path))
                module_id = self.path.removeprefix("/v1/policies/")
                source = self._body().decode()
                try:
                    regorus.Engine().add_policy(module_id + ".rego", source)
                except RuntimeError as exc:
                    self._reply(400, {"code": "invalid_parameter", "message": str(exc).split("Stack")[0]})
                    return
                opa.modules[module_id] = source
                self._reply(200, {})

            def do_DELETE(self) -> None:
                opa.calls.append(("DELETE", self.path))
                opa.modules.pop(self.path.removeprefix("/v1/policies/"), None)
                self._reply(200, {})

            def do_POST(self) -> None:
                opa.calls.append(("POST", self.path))
                if not self.path.startswith("/v1/data/"):
                    self._reply(404, {"code": "resource_not_found"})
                    return
                payload = json.loads(self._body() or b"{}")
                if opa.override is not None:
                    self._reply(200, opa.override)
                    return
                engine = regorus.Engine()
                for module_id, source in opa.modules.items():
                    engine.add_policy(module_id + ".rego", source)
                engine.set_input_json(json.dumps(payload.get("input", {})))
                query = "data." + self.path.removeprefix("/v1/data/").strip("/").replace("/", ".")
                value = json.loads(engine.eval_query_as_json(query))
                try:
                    result = value["result"][0]["expressions"][0]["value"]
                except (KeyError, IndexError):
                    self._reply(200, {})
                    return
                self._reply(200, {"result": result})

        return Handler
