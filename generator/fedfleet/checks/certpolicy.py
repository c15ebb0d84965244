"""The verdict of a CertificatePolicy on a cluster's objects, as cert-policy-controller gives it.

config-policy-controller's `dryrun` judges ConfigurationPolicies only, so the agreement suite needs
this small evaluator for the CertificatePolicy templates the `tls` plugin renders. Every step is
read from cert-policy-controller (stolostron/cert-policy-controller, controllers/
certificatepolicy_controller.go at 026e557b, api/v1/certificatepolicy_types.go):

- namespaces: `retrieveNamespaces`: an empty namespaceSelector (no include, matchLabels or
  matchExpressions) selects no namespace, and the policy is Compliant ("No namespaces matched");
  otherwise include/exclude are filepath.Match globs (pkg/common/namespace_selection.go), exclude
  wins;
- Secrets: `checkSecrets` lists the namespace's Secrets with `spec.labelSelector` (a plain label map);
- the certificate: `parseCertificate` reads `data[<label certificate_key_name> or "tls.crt"]`, PEM
  decodes it and takes the first certificate; a Secret without one is skipped, never NonCompliant;
- `isCertificateCompliant`: NonCompliant when `NotAfter - now < minimumDuration` (or
  minimumCADuration for a CA when set; default 100h, `DefaultDuration`), when `NotAfter -
  NotBefore` exceeds maximumDuration (maximumCADuration for a CA), or when a DNS SAN does not match
  allowedSANPattern or matches disallowedSANPattern (`isCertificateSANPatternMismatch`: DNSNames
  only, never IP SANs).
Durations are Go durations (time.ParseDuration); the bundle only writes whole hours.
"""

from __future__ import annotations

import base64
import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from cryptography import x509

CERT_KEY_LABEL = "certificate_key_name"
DEFAULT_KEY = "tls.crt"
DEFAULT_DURATION = timedelta(hours=100)  # cert-policy-controller main.go --default-duration (the bundle always sets its own)
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def go_duration(text: str) -> timedelta:
    """time.ParseDuration for the units a CertificatePolicy uses (h, m, s, ms)."""
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class CertFinding:
    namespace: str
    secret: str
    reason: str


@dataclass(frozen=True)
class CertVerdict:
    compliant: bool
    findings: tuple[CertFinding, ...]
    checked: tuple[str, ...]  # namespace/secret of every certificate read

    @property
    def word(self) -> str:
        return "Compliant" if self.compliant else "NonCompliant"


def _selected_namespaces(selector: Mapping[str, Any], namespaces: Iterable[str]) -> list[str]:
    if not (selector.get("include") or selector.get("matchLabels") or selector.get("matchExpressions")):
        return []
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        raise NotImplementedError("namespaceSelector by labels: the bundle never renders one")
    include, exclude = selector.get("include") or [], selector.get("exclude") or []
    return sorted(n for n in namespaces if any(fnmatch.fnmatchcase(n, p) for p in include)
                  and not any(fnmatch.fnmatchcase(n, p) for p in exclude))


def _first_certificate(secret: Mapping[str, Any]) -> x509.Certificate | None:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    key = labels.get(CERT_KEY_LABEL) or DEFAULT_KEY
    if "data" in secret and key in (secret["data"] or {}):
        raw = base64.b64decode(secret["data"][key])
    elif key in (secret.get("stringData") or {}):  # fixtures may spell PEM as text
        raw = secret["stringData"][key].encode()
    else:
        return None
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError:
        return None
    return certs[0] if certs else None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return []


def _reasons(cert: x509.Certificate, spec: Mapping[str, Any], now: datetime) -> list[str]:
    ca = _is_ca(cert)
    reasons = []
    expiry = cert.not_valid_after_utc - now
    minimum = go_duration(spec["minimumDuration"]) if spec.get("minimumDuration") else DEFAULT_DURATION
    if ca and spec.get("minimumCADuration"):
        minimum = go_duration(spec["minimumCADuration"])
    if expiry < minimum:
        reasons.append(f"expires on {cert.not_valid_after_utc.isoformat()}, less than {minimum} from now")
    maximum_key = "maximumCADuration" if ca and spec.get("maximumCADuration") else "maximumDuration"
    if spec.get(maximum_key):
        lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
        if lifetime > go_duration(spec[maximum_key]):
            reasons.append(f"duration {lifetime} is longer than {spec[maximum_key]}")
    # Go's regexp.MatchString is an unanchored search, as re.search is.
    for san in _dns_names(cert):
        if spec.get("allowedSANPattern") and not re.search(spec["allowedSANPattern"], san):
            reasons.append(f"SAN {san} does not match {spec['allowedSANPattern']}")
        if spec.get("disallowedSANPattern") and re.search(spec["disallowedSANPattern"], san):
            reasons.append(f"SAN {san} matches the disallowed {spec['disallowedSANPattern']}")
    return reasons


def evaluate(policy: Mapping[str, Any], objects: Iterable[Mapping[str, Any]], now: datetime | None = None) -> CertVerdict:
    """A CertificatePolicy (its object, or a policy-template objectDefinition) on a cluster's objects."""
    now = now or datetime.now(timezone.utc)
    spec = policy["spec"]
    objects = list(objects)
    namespaces = {o["metadata"]["name"] for o in objects if o.get("kind") == "Namespace"}
    namespaces |= {o["metadata"].get("namespace") for o in objects if o.get("metadata", {}).get("namespace")}
    wanted = spec.get("labelSelector") or {}
    findings: list[CertFinding] = []
    checked: list[str] = []
    for ns in _selected_namespaces(spec.get("namespaceSelector") or {}, namespaces):
        for secret in objects:
            meta = secret.get("metadata") or {}
            if secret.get("kind") != "Secret" or meta.get("namespace") != ns:
                continue
            if any((meta.get("labels") or {}).get(k) != v for k, v in wanted.items()):
                continue
            cert = _first_certificate(secret)
            if cert is None:
                continue  # parseCertificate: "does not contain any certificates. Skipping this secret."
            checked.append(f"{ns}/{meta['name']}")
            findings += [CertFinding(ns, meta["name"], r) for r in _reasons(cert, spec, now)]
    return CertVerdict(not findings, tuple(findings), tuple(checked))
