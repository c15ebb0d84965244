"""A throwaway certificate chain that follows the bundle's cert-manager objects.

The bundle provisions TLS with cert-manager: Issuers (selfSigned or ca) and Certificates whose
Secrets carry `tls.crt`, `tls.key` and `ca.crt` (cert-manager's keys). The preview issues the same
chain here, Secret by Secret and key by key, so every mount the bundle declares is filled the way
cert-manager would fill it, or the preview fails naming what nothing provides.

One stand-in: the preview dials 127.0.0.1 where a managed cluster dials the exposed name, so every
server certificate also carries the IP SAN 127.0.0.1; the names the bundle asks for are checked
separately (`sans`).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
LOOPBACK = ipaddress.ip_address("127.0.0.1")


class ChainError(Exception):
    """A Secret the bundle mounts that its cert-manager objects (or Secrets) do not provide."""


@dataclass
class _Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    ca: x509.Certificate  # the issuing CA (itself for a self-signed certificate)

    def data(self) -> dict[str, bytes]:
        return {
            "tls.crt": self.cert.public_bytes(PEM),
            "tls.key": self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            "ca.crt": self.ca.public_bytes(PEM),
        }


@dataclass
class Chain:
    """Secrets of one hub, issued on demand from the bundle's Certificates and Issuers."""

    get: Callable[[str, str, str], dict[str, Any] | None]  # (kind, namespace, name) -> object
    certificates: list[dict[str, Any]]
    secrets: list[dict[str, Any]]
    hours: int = 2
    _issued: dict[tuple[str, str], _Issued] = field(default_factory=dict)

    def certificate_for(self, namespace: str, secret: str) -> dict[str, Any] | None:
        return next((c for c in self.certificates if c["metadata"].get("namespace") == namespace
                     and c["spec"].get("secretName") == secret), None)

    def secret(self, namespace: str, name: str) -> dict[str, bytes]:
        """The data of Secret namespace/name as it will exist on the hub."""
        plain = next((s for s in self.secrets if s["metadata"].get("namespace") == namespace
                      and s["metadata"]["name"] == name), None)
        if plain is not None:
            return {k: base64.b64decode(v) for k, v in (plain.get("data") or {}).items()} | \
                {k: v.encode() for k, v in (plain.get("stringData") or {}).items()}
        return self._issue(namespace, name).data()

    def sans(self, namespace: str, secret: str) -> tuple[list[str], list[str]]:
        """The DNS and IP SANs the bundle's Certificate asks for (not the loopback stand-in)."""
        cert = self.certificate_for(namespace, secret)
        if cert is None:
            return [], []
        return list(cert["spec"].get("dnsNames", [])), list(cert["spec"].get("ipAddresses", []))

    def _issue(self, namespace: str, secret: str) -> _Issued:
        if (namespace, secret) in self._issued:
            return self._issued[(namespace, secret)]
        cert = self.certificate_for(namespace, secret)
        if cert is None:
            raise ChainError(f"Secret {namespace}/{secret} is created by nothing in the bundle "
                             "(no Secret and no cert-manager Certificate with that secretName)")
        spec = cert["spec"]
        ref = spec["issuerRef"]
        if ref.get("kind", "Issuer") != "Issuer":
            raise ChainError(f"Certificate {namespace}/{cert['metadata']['name']} uses a {ref.get('kind')}; "
                             "the preview follows namespaced Issuers only")
        issuer = self.get("Issuer", namespace, ref["name"])
        if issuer is None:
            raise ChainError(f"Certificate {namespace}/{cert['metadata']['name']} names Issuer {ref['name']}, "
                             "which the bundle does not create")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.get("commonName") or cert["metadata"]["name"])])
        if "selfSigned" in issuer["spec"]:
            signer_key, signer_name, signer_ca = key, subject, None
        elif "ca" in issuer["spec"]:
            parent = self._issue(namespace, issuer["spec"]["ca"]["secretName"])
            if not _is_ca(parent.cert):
                raise ChainError(f"Issuer {namespace}/{ref['name']} signs with Secret {issuer['spec']['ca']['secretName']}, "
                                 "which does not hold a CA certificate (isCA)")
            signer_key, signer_name, signer_ca = parent.key, parent.cert.subject, parent.cert
        else:
            raise ChainError(f"Issuer {namespace}/{ref['name']} is neither selfSigned nor ca")
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(signer_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(hours=self.hours)))
        if spec.get("isCA"):
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
                x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                              key_encipherment=False, data_encipherment=False, key_agreement=False,
                              encipher_only=False, decipher_only=False), critical=True)
        else:
            names: list[x509.GeneralName] = [x509.DNSName(n) for n in spec.get("dnsNames", [])]
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.get("ipAddresses", [])]
            names.append(x509.IPAddress(LOOPBACK))  # the loopback stand-in for the exposed name
            builder = (builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
        signed = builder.sign(signer_key, hashes.SHA256())
        issued = _Issued(signed, key, signer_ca or signed)
        self._issued[(namespace, secret)] = issued
        return issued


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def make_tls(directory: Any, hours: int = 2) -> Any:
    """A CA and a 127.0.0.1 server certificate from a two-Issuer chain (for tests of TLS alone)."""
    from pathlib import Path

    ns = "t"
    objs = {("Issuer", ns, "root"): {"spec": {"selfSigned": {}}}, ("Issuer", ns, "ca"): {"spec": {"ca": {"secretName": "ca"}}}}
    certs = [
        {"metadata": {"name": "ca", "namespace": ns}, "spec": {"isCA": True, "commonName": "throwaway CA", "secretName": "ca",
                                                              "issuerRef": {"name": "root"}}},
        {"metadata": {"name": "server", "namespace": ns}, "spec": {"secretName": "server", "dnsNames": ["localhost"],
                                                                  "issuerRef": {"name": "ca"}}},
    ]
    chain = Chain(lambda kind, n, name: objs.get((kind, n, name)), certs, [], hours)
    data = chain.secret(ns, "server")
    out = Path(directory)
    for key, name in (("ca.crt", "ca.crt"), ("tls.crt", "tls.crt"), ("tls.key", "tls.key")):
        (out / name).write_bytes(data[key])
    return TlsFiles(out / "ca.crt", out / "tls.crt", out / "tls.key")


@dataclass(frozen=True)
class TlsFiles:
    ca: Any
    cert: Any
    key: Any


def issue_client(ca: dict[str, bytes], common_name: str, hours: int, organizations: tuple[str, ...] = ()) -> dict[str, bytes]:
    """A registration credential as OCM's addon manager signs one for a cluster's CSR: the CA's
    tls.crt/tls.key sign a leaf for the CSR's subject, server+client auth, `hours` long (capped at
    the CA's expiry), and the klusterlet stores tls.crt and tls.key (addon-framework
    pkg/utils/csr_helpers.go signCSR; ocm pkg/registration/register/csr/csr.go)."""
    ca_cert = x509.load_pem_x509_certificate(ca["tls.crt"])
    ca_key = serialization.load_pem_private_key(ca["tls.key"], password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = min(now + datetime.timedelta(hours=hours), ca_cert.not_valid_after_utc)
    with warnings.catch_warnings():
        # OCM's default CN is longer than RFC 5280's 64-character bound, which Go does not enforce.
        warnings.simplefilter("ignore", UserWarning)
        # Go's pkix.Name.ToRDNSequence puts O before CN, as OCM's CSR has them (csr.go addonX509Subject).
        subject = x509.Name([*(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations),
                             x509.NameAttribute(NameOID.COMMON_NAME, common_name, _validate=False)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return {"tls.crt": cert.public_bytes(PEM),
            "tls.key": key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}


def throwaway_ca(common_name: str) -> dict[str, bytes]:
    """Another fleet's CA (or an attacker's): tls.crt/tls.key of a self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return {"tls.crt": cert.public_bytes(PEM),
            "tls.key": key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())}
