"""Is the SuperLink reachable where the add-on tells SuperNodes to dial, with the certificate they
will check? Resolve the name, connect, and run the TLS handshake a SuperNode runs (its
--root-certificates is the hub's CA; gRPC checks the server name), each under a short timeout."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Probe:
    ok: bool
    stage: str  # resolve | connect | handshake | done
    message: str


def resolve(host: str, port: int, timeout: float) -> list[str]:
    """The addresses of `host`, or an OSError; getaddrinfo has no timeout of its own, so it runs
    in a daemon thread that is abandoned when it overruns."""
    result: list[list[str] | BaseException] = []

    def work() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result.append(sorted({str(i[4][0]) for i in infos}))
        except OSError as exc:
            result.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        raise OSError(f"no answer within {timeout:g} s")
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def probe(host: str, port: int, ca_pem: str | None, timeout: float, via: tuple[str, int] | None = None) -> Probe:
    """Resolve, connect and (with a CA) handshake, verifying the chain and the name `host`.
    `via` (--connect-to, curl's option of that name) connects to another address and port, say a
    `kubectl port-forward` or a bastion, while the certificate is still checked for `host`."""
    target = via or (host, port)
    try:
        addresses = resolve(target[0], target[1], timeout)
    except OSError as exc:
        return Probe(False, "resolve", f"{target[0]} does not resolve: {exc}")
    shown = f"{host}:{port}" + (f" via {target[0]}:{target[1]}" if via else "")
    try:
        sock = socket.create_connection((addresses[0], target[1]), timeout=timeout)
    except OSError as exc:
        return Probe(False, "connect", f"{shown} ({addresses[0]}) refuses or drops the connection: {exc}")
    with sock:
        if ca_pem is None:
            return Probe(True, "done", f"{shown} ({addresses[0]}) accepts connections (TLS off)")
        context = ssl.create_default_context(cadata=ca_pem)
        context.check_hostname = True
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                peer = tls.getpeercert() or {}
        except ssl.SSLCertVerificationError as exc:
            return Probe(False, "handshake", f"{shown} serves a certificate the hub's CA does not verify "
                                             f"for {host}: {exc.verify_message}")
        except (ssl.SSLError, OSError) as exc:
            return Probe(False, "handshake", f"TLS handshake with {shown} failed: {exc}")
    subject = dict(x[0] for x in peer.get("subject", ()))
    return Probe(True, "done", f"{shown} ({addresses[0]}) serves a certificate for "
                               f"{subject.get('commonName', host)} issued by the hub's CA, valid until {peer.get('notAfter')}")
