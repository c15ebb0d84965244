"""Write the credential cases of this directory (the PEMs are committed; fixed dates and a fixed
evaluation time `now` per case, so verdicts never drift).

The credential as OCM issues it: signed by the add-on's signing CA for 24 hours
(ocm pkg/addon/templateagent/registration.go TemplateCSRSignFunc, CustomSignerWithExpiry 24h), CN
the add-on agent's default user, in an untyped Secret `<addon>-<signer, / as ->-client-cert` with
tls.crt, tls.key and cluster-name (pkg/registration/spoke/addon/configuration.go,
pkg/registration/register/secret_controller.go). Run from the repository root:
    .venv/bin/python tests/oracles/governance/registration.expiry/make_certs.py
"""
import base64, datetime as dt, pathlib, yaml
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

root = pathlib.Path("tests/oracles/governance/registration.expiry")
key = ec.generate_private_key(ec.SECP256R1())
# OCM's agent user is longer than the 64 characters RFC 5280 suggests for a CN; Go does not enforce it.
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
def cert(cn, not_before, not_after, ca=False, issuer="flower-addon-signer"):
    b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer)).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
utc = dt.timezone.utc
issued, expires = dt.datetime(2026, 11, 25, 6, tzinfo=utc), dt.datetime(2026, 11, 26, 6, tzinfo=utc)
CN = "system:open-cluster-management:cluster:eu-hosp-1:addon:flower-addon:agent:flower-addon-agent"
SECRET = "flower-addon-fedfleet.io-flower-addon-client-cert"
def b64(b): return base64.b64encode(b).decode()
def credential(crt):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": "flower-addon"}, "type": "Opaque",
            "data": {"tls.crt": b64(crt), "tls.key": b64(b"not a key: the policy never reads it"), "cluster-name": b64(b"eu-hosp-1")}}
# The Flower CA copy the tls plugin's policy delivers beside it: ca.crt only, never read by the policy.
ca_copy = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "flower-tls-ca", "namespace": "flower-addon"}, "type": "Opaque",
           "data": {"ca.crt": b64(cert("flower-tls-ca", issued - dt.timedelta(days=400), issued - dt.timedelta(days=1), ca=True, issuer="flower-tls-ca"))}}
good = cert(CN, issued, expires)
cases = {
  "valid-credential": ("the credential was issued at 06:00 for 24 hours; at 12:00 it has 18 hours left", "Compliant",
      "2026-11-25T12:00:00Z", [credential(good), ca_copy]),
  "rotation-overdue": ("at 04:00 the next day the credential has 2 hours left: the klusterlet should have rotated it with 4.8 to 6 hours left", "NonCompliant",
      "2026-11-26T04:00:00Z", [credential(good), ca_copy]),
  "expired-credential": ("the credential expired at 06:00 and was never renewed (the add-on agent or its cluster is gone)", "NonCompliant",
      "2026-11-26T09:00:00Z", [credential(good), ca_copy]),
  "no-credential": ("no credential at all: nothing for the certificate policy to read (registration.credential reports it)", "Compliant",
      "2026-11-25T12:00:00Z", [ca_copy]),
}
for case, (desc, verdict, now, objs) in cases.items():
    d = root / case; d.mkdir(parents=True, exist_ok=True)
    (d / "case.yaml").write_text(yaml.safe_dump({
        "description": desc, "hub": "hub-prod", "verdict": verdict, "now": now,
        "twin": "none", "acm": "fedfleet.checks.certpolicy"}, sort_keys=False))
    (d / "clusters.yaml").write_text(yaml.safe_dump_all(objs, sort_keys=False))
