"""The OPA-server engine: the same modules and queries, over OPA's REST API (opa-python-client).

Calls made (OPA REST API v1): GET /v1/policies/ to check the server answers, PUT
/v1/policies/fedfleet/<module> per module, POST /v1/data/<package path>/deny and /warn with {"input": ...} per
package, and DELETE /v1/policies/fedfleet/<module> afterwards so the server is left as found.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from ..findings import Finding, InputError
from .rego import RegoModule, package_of


class OpaServerEngine:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InputError([Finding("opa", f"--opa-url must be http(s)://host[:port], got {url!r}")])
        from opa_client.opa import OpaClient

        self.url = url
        self.name = f"OPA server at {url}"
        self._client = OpaClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8181),
                                 ssl=parsed.scheme == "https", timeout=timeout, retries=0)

    def evaluate(self, modules: list[RegoModule], data_input: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
        from opa_client.errors import ConnectionsError

        try:
            self._client.check_connection()
        except ConnectionsError:
            raise InputError([Finding("opa", f"the OPA server at {self.url} does not answer")]) from None
        endpoints: list[str] = []
        packages: set[str] = set()
        try:
            for m in modules:
                endpoint = "fedfleet/" + re.sub(r"[^A-Za-z0-9_]+", "_", m.name.removesuffix(".rego"))
                try:
                    self._client.update_policy_from_string(m.source, endpoint, rego_compat=False)
                except Exception as exc:
                    raise InputError([Finding("rego", f"OPA rejected module {m.name} ({m.origin}): {exc}")]) from None
                endpoints.append(endpoint)
                package = package_of(m.source)
                if package:
                    packages.add(package)
            out: dict[str, dict[str, list[Any]]] = {}
            for pkg in sorted(packages):
                if not pkg.startswith("fedfleet.") or pkg.endswith("_test"):
                    continue
                out[pkg] = {}
                for rule in ("deny", "warn"):
                    try:
                        result = self._client.query_rule(data_input, pkg, rule).get("result") or []
                    except Exception as exc:
                        raise InputError([Finding("rego", f"OPA query of data.{pkg}.{rule} failed: {exc}")]) from None
                    out[pkg][rule] = list(result)
            return out
        finally:
            for endpoint in endpoints:
                try:
                    self._client.delete_policy(endpoint)
                except Exception:  # cleanup is best effort; the evaluation result stands
                    pass
            self._client.close_connection()
