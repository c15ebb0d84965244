"""GET and POST on a hub's API server through the kubernetes client's own transport (kube.py:
retries off, connect and read timeouts), returning JSON bodies; 404 is an answer, not an error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..kube import Timeouts, api_client, describe_failure


class HubError(Exception):
    """A call that failed; the message says which call, why, and (403) which permission."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class HubApi:
    def __init__(self, hub: str, kubeconfig: Path, context: str | None, timeouts: Timeouts) -> None:
        self.hub = hub
        self.timeouts = timeouts
        self.client, self.server = api_client(kubeconfig, context)  # ValueError: kubeconfig unusable

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: list[tuple[str, str]] | None = None) -> dict[str, Any] | None:
        """The JSON body of a 2xx answer, None for 404; HubError for anything else."""
        from kubernetes.client.exceptions import ApiException

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        where = f"{method} {path} on hub {self.hub} ({self.server})"
        try:
            m, url, hdrs, data, post = self.client.param_serialize(
                method=method, resource_path=path, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"])
            response = self.client.call_api(m, url, hdrs, data, post, _request_timeout=self.timeouts.request)
            response.read()
            if response.status == 404:
                return None
            if not 200 <= response.status < 300:
                raise ApiException(http_resp=response)
            answer = json.loads(response.data)
        except Exception as exc:
            message = describe_failure(exc, where, self.timeouts)
            if message is None:
                raise
            raise HubError(message, getattr(exc, "status", None)) from None
        if not isinstance(answer, dict):
            raise HubError(f"malformed answer, {where}: not a JSON object")
        return answer

    def get(self, path: str) -> dict[str, Any] | None:
        return self.request("GET", path)

    def list_all(self, path: str, page_size: int = 500) -> list[dict[str, Any]] | None:
        """Every item of a list, paged with limit/continue; None when the resource is not served."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", str(page_size))] + ([("continue", token)] if token else [])
            body = self.request("GET", path, query=query)
            if body is None:
                return None
            items.extend(i for i in body.get("items") or [] if isinstance(i, dict))
            token = (body.get("metadata") or {}).get("continue") or ""
            if not token:
                return items
