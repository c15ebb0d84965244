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


DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


class OpaServerEngine:
    """Retries are off (`retries=0`), so a timeout a message names is the one that expired."""

    def __init__(self, url: str, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InputError([Finding("opa", f"--opa-url must be http(s)://host[:port], got {url!r}")])
        from opa_client.opa import OpaClient

        self.url = url
        self.name = f"OPA server at {url}"
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        # requests takes (connect, read) wherever opa-python-client passes its `timeout`.
        self._client = OpaClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8181),
                                 ssl=parsed.scheme == "https", timeout=(connect_timeout, read_timeout), retries=0)

    def _failure(self, exc: BaseException, what: str) -> InputError:
        """One message for a failed call, naming the timeout that expired, if one did."""
        import requests

        chain: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and cause not in chain:
            chain.append(cause)
            cause = cause.__cause__ or cause.__context__
        text = " ".join(f"{type(c).__name__} {c}" for c in chain)
        if any(isinstance(c, requests.exceptions.ConnectTimeout) for c in chain) or "ConnectTimeoutError" in text:
            message = f"no connection to the OPA server at {self.url} within the connect timeout of {self.connect_timeout:g} s ({what})"
        elif any(isinstance(c, requests.exceptions.ReadTimeout) for c in chain) or "ReadTimeoutError" in text:
            message = (f"the OPA server at {self.url} accepted the connection but did not answer within the read "
                       f"timeout of {self.read_timeout:g} s ({what})")
        elif any(isinstance(c, requests.exceptions.ConnectionError) for c in chain):
            message = f"the OPA server at {self.url} does not answer: connection refused or reset ({what})"
        elif any(isinstance(c, ValueError) for c in chain):
            message = f"malformed answer from the OPA server at {self.url} ({what}): the body is not JSON"
        else:
            message = f"the OPA server at {self.url} failed ({what}): {exc}"
        return InputError([Finding("opa", message)])

    def evaluate(self, modules: list[RegoModule], data_input: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
        from opa_client.errors import ConnectionsError

        try:
            self._client.check_connection()
        except ConnectionsError as exc:
            raise self._failure(exc, "GET /v1/policies/") from None
        endpoints: list[str] = []
        packages: set[str] = set()
        try:
            for m in modules:
                endpoint = "fedfleet/" + re.sub(r"[^A-Za-z0-9_]+", "_", m.name.removesuffix(".rego"))
                try:
                    self._client.update_policy_from_string(m.source, endpoint, rego_compat=False)
                except (OSError, ValueError) as exc:  # requests' errors derive from OSError, JSON's from ValueError
                    raise self._failure(exc, f"PUT /v1/policies/{endpoint}") from None
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
                    what = f"POST /v1/data/{pkg.replace('.', '/')}/{rule}"
                    try:
                        answer = self._client.query_rule(data_input, pkg, rule)
                    except (OSError, ValueError) as exc:
                        raise self._failure(exc, what) from None
                    except Exception as exc:
                        raise InputError([Finding("rego", f"OPA query of data.{pkg}.{rule} failed: {exc}")]) from None
                    out[pkg][rule] = self._rule_result(answer, pkg, rule, what)
            return out
        finally:
            for endpoint in endpoints:
                try:
                    self._client.delete_policy(endpoint)
                except Exception:  # cleanup is best effort; the evaluation result stands
                    pass
            self._client.close_connection()

    def _rule_result(self, answer: Any, pkg: str, rule: str, what: str) -> list[Any]:
        """OPA answers {"result": [...]} for a set rule, {} when it is undefined; anything else is
        one malformed-answer error (iterating a string would make one finding per character)."""
        if not isinstance(answer, dict):
            got = type(answer).__name__
        else:
            result = answer.get("result")
            if result is None:
                return []
            if isinstance(result, list) and all(isinstance(i, (dict, str)) for i in result):
                return result
            got = f"result is {_kind(result)}"
        raise InputError([Finding("opa", f"malformed answer from the OPA server at {self.url} ({what}): {got}; "
                                  f"data.{pkg}.{rule} must be a set of objects or strings")])


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list holding " + ", ".join(sorted({type(i).__name__ for i in value if not isinstance(i, (dict, str))}))
    return f"a {type(value).__name__}"
