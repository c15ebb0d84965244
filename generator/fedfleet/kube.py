"""One way to call a hub's API server: the official kubernetes client, no retries, two timeouts.

The client's default is urllib3's Retry(3): a hanging hub then costs four read timeouts (61 s for
a stated 15 s). Retries are off here, so the timeout a message names is the one that expired: the
connect timeout (TCP connection, and the TLS handshake which urllib3 runs under the same timeout)
or the read timeout (waiting for a response). Used by the live audit and `inventory`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class Timeouts:
    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    @property
    def request(self) -> tuple[float, float]:
        """The `_request_timeout` argument of every kubernetes client call."""
        return (self.connect, self.read)


def api_client(kubeconfig: Path, context: str | None) -> tuple[Any, str]:
    """An ApiClient for the kubeconfig context, with retries off, and its server URL.
    Raises ValueError with the reason when the kubeconfig cannot be used."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=configuration)
    except Exception as exc:  # the loader raises ConfigException, KeyError, YAML and OS errors alike
        raise ValueError(str(exc)) from None
    configuration.retries = False
    return client.ApiClient(configuration), str(configuration.host)


def describe_failure(exc: BaseException, where: str, timeouts: Timeouts) -> str | None:
    """A one-line, truthful account of a failed call (`where`: "hub X (url) listing Y"),
    or None when `exc` is not a transport or API error."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

    if isinstance(exc, ApiException):
        if exc.status == 401:
            return f"401 Unauthorized {where}: the kubeconfig's credentials were refused (expired token or wrong user)"
        if exc.status == 403:
            return f"403 Forbidden {where}: the user may not list this resource ({status_message(exc)})"
        if exc.status == 410:
            return f"410 Gone {where}: the continue token expired while paging; run again"
        return f"{exc.status} {exc.reason} {where}: {status_message(exc)}"
    if isinstance(exc, NewConnectionError):  # before ConnectTimeoutError: urllib3 2 derives it from that
        return f"unreachable (connection refused or failed), {where}: {exc}"
    if isinstance(exc, ConnectTimeoutError):
        return f"no connection within the connect timeout of {timeouts.connect:g} s, {where}"
    if isinstance(exc, ReadTimeoutError):
        return f"connected, but no response within the read timeout of {timeouts.read:g} s, {where}"
    if isinstance(exc, (HTTPError, OSError)):
        return f"unreachable, {where}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ValueError):  # a body that is not JSON
        return f"malformed answer, {where}: {exc}"
    return None


def status_message(exc: Any) -> str:
    try:
        return str(json.loads(exc.body).get("message", "")) or str(exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)
