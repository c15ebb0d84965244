"""Issue 17, read without running: the flower-addon AddOnTemplate's CustomSigner registration
against OCM's AddOnTemplate CRD, the signing CA and the addon manager's right to read it, and the
registration tunnel on both ends (render/tunnel.py). `tests/test_simulate_registration.py` runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.checks.built import build_and_check
from fedfleet.checks.crds import SchemaSet
from fedfleet.render import tunnel
from fedfleet.upstream import (
    ADDON_MANAGER_NAMESPACE, ADDON_MANAGER_SA, FLOWER_SIGNER, FLOWER_SIGNING_CA, FLOWER_SIGNING_CA_NAMESPACE,
    registration_common_name, registration_mount, registration_secret,
)

PATHS = pipeline.Paths(Path("specs"), Path("."))
# OCM's AddOnTemplate CRD ships in the api Go module (never committed here); read where Go put it.
API_MODULE = "open-cluster-management.io/api@v1.3.0"
CRD = "addon/v1alpha1/0000_03_addon.open-cluster-management.io_addontemplates.crd.yaml"


def _crd_dir(tmp: Path) -> Path:
    try:
        cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        cache = os.environ.get("GOMODCACHE", "")
    source = Path(cache) / API_MODULE / CRD if cache else None
    if source is None or not source.is_file():
        pytest.skip(f"OCM's AddOnTemplate CRD ({API_MODULE}/{CRD}) is not in the Go module cache")
    (tmp / source.name).write_bytes(source.read_bytes())
    return tmp


def _hub_prod() -> list[dict[str, Any]]:
    rendered = pipeline.render(PATHS)
    built = build_and_check(rendered.files, {"overlays/hub-prod": "hub-prod"}, None)
    return built.objects["overlays/hub-prod"]


def _one(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)



def _start_listening(procs: "ProcessSet", conf: Path, port: int) -> subprocess.Popen[bytes]:
    """Start real stunnel on `conf` and wait (10 s at most) until it accepts on `port`."""
    import socket
    import time
    proc = procs.start("tunnel", ["stunnel", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, procs.log_tail("tunnel")
            time.sleep(0.1)
    return proc

def test_the_addon_template_with_its_registration_is_valid_against_ocms_crd(fleet_repo: Path, tmp_path: Path) -> None:
    schemas = SchemaSet.from_directory(_crd_dir(tmp_path))
    template = _one(_hub_prod(), "AddOnTemplate", "flower-addon")
    assert template["spec"]["registration"] == [{"type": "CustomSigner", "customSigner": {
        "signerName": FLOWER_SIGNER, "signingCA": {"name": FLOWER_SIGNING_CA, "namespace": FLOWER_SIGNING_CA_NAMESPACE}}}]
    findings, checked = schemas.validate([template], "hub-prod")
    assert checked == 1 and not findings
    # ... and the schema does check the registration: OCM's signerName pattern refuses this one.
    broken = {**template, "spec": {**template["spec"], "registration": [
        {"type": "CustomSigner", "customSigner": {"signerName": "Flower", "signingCA": {"name": FLOWER_SIGNING_CA}}}]}}
    findings, _ = schemas.validate([broken], "hub-prod")
    assert any(f.field == "spec.registration.0.customSigner.signerName" for f in findings)
    missing_ca = {**template, "spec": {**template["spec"], "registration": [
        {"type": "CustomSigner", "customSigner": {"signerName": FLOWER_SIGNER}}]}}
    findings, _ = schemas.validate([missing_ca], "hub-prod")
    assert any("signingCA" in f.message for f in findings)


def test_signing_ca_is_a_cert_manager_rsa_ca_the_addon_manager_may_read(fleet_repo: Path) -> None:
    objs = _hub_prod()
    ca = _one(objs, "Certificate", FLOWER_SIGNING_CA)
    assert ca["metadata"]["namespace"] == FLOWER_SIGNING_CA_NAMESPACE
    assert ca["spec"]["isCA"] is True and ca["spec"]["secretName"] == FLOWER_SIGNING_CA
    # addon-framework DefaultSignerWithExpiry: x509.ParsePKCS1PrivateKey, RSA only.
    assert ca["spec"]["privateKey"]["algorithm"] == "RSA"
    # A renewal must keep the key (cert-manager >= v1.18 defaults to Always): review finding 4.
    assert ca["spec"]["privateKey"]["rotationPolicy"] == "Never"
    issuer = _one(objs, "Issuer", ca["spec"]["issuerRef"]["name"])
    assert "selfSigned" in issuer["spec"], "its own root, not the Flower server CA"
    assert not [o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == FLOWER_SIGNING_CA], "no key in Git"
    role = next(o for o in objs if o["kind"] == "Role" and FLOWER_SIGNING_CA in str(o.get("rules")))
    assert role["metadata"]["namespace"] == FLOWER_SIGNING_CA_NAMESPACE
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [FLOWER_SIGNING_CA],
                              "verbs": ["get", "list", "watch"]}]
    binding = next(o for o in objs if o["kind"] == "RoleBinding" and o["roleRef"]["name"] == role["metadata"]["name"])
    assert binding["metadata"]["namespace"] == FLOWER_SIGNING_CA_NAMESPACE
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": ADDON_MANAGER_SA, "namespace": ADDON_MANAGER_NAMESPACE}]


def test_the_superlink_fleet_port_belongs_to_the_tunnel_pinned_to_the_registration_ca(fleet_repo: Path) -> None:
    objs = _hub_prod()
    link = _one(objs, "Deployment", "superlink-mnist-eu")
    pod = link["spec"]["template"]["spec"]
    by_name = {c["name"]: c for c in pod["containers"]}
    assert "--fleet-api-address=127.0.0.1:9095" in by_name["superlink"]["args"]
    assert [p["name"] for p in by_name["fleet-tunnel"]["ports"]] == ["fleet"]
    assert not [p for p in by_name["superlink"]["ports"] if p["name"] == "fleet"]
    assert "@sha256:" in by_name["fleet-tunnel"]["image"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["registration-ca"]["secret"] == {"secretName": FLOWER_SIGNING_CA,
                                                     "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    config = _one(objs, "ConfigMap", volumes["fleet-tunnel"]["configMap"]["name"])["data"]["stunnel.conf"]
    lines = {l.split("=", 1)[0].strip(): l.split("=", 1)[1].strip() for l in config.splitlines() if "=" in l and not l.startswith(";")}
    assert lines["accept"] == "0.0.0.0:9092" and lines["connect"] == "127.0.0.1:9095"
    assert lines["verifyChain"] == "yes" and lines["requireCert"] == "yes"
    assert lines["CAfile"].startswith(next(m["mountPath"] for m in by_name["fleet-tunnel"]["volumeMounts"]
                                           if m["name"] == "registration-ca"))
    assert "client" not in lines
    # Pinned to the job's clusters (review finding 2): one checkHost per planned cluster, by the CN
    # OCM's agent asks for; another job's SuperLink names other clusters.
    checks = [l.split("=", 1)[1].strip() for l in config.splitlines() if l.startswith("checkHost")]
    planned = sorted(pipeline.render(PATHS).planner.job("mnist-eu").cluster_names)
    assert planned and checks == [registration_common_name(c) for c in planned]
    # ... and the other hub's job names its own clusters only.
    dev = build_and_check(pipeline.render(PATHS).files, {"overlays/hub-dev": "hub-dev"}, None).objects["overlays/hub-dev"]
    other = next(o for o in dev if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-tunnel"))["data"]["stunnel.conf"]
    other_checks = [l.split("=", 1)[1].strip() for l in other.splitlines() if l.startswith("checkHost")]
    assert other_checks and set(checks).isdisjoint(other_checks)
    # The SuperLink's certificate also names 127.0.0.1, the SuperNode's inner hop.
    assert "127.0.0.1" in _one(objs, "Certificate", "superlink-mnist-eu")["spec"]["ipAddresses"]


def test_the_supernode_dials_its_tunnel_which_presents_the_ocm_mounted_credential(fleet_repo: Path) -> None:
    objs = _hub_prod()
    manifests = _one(objs, "AddOnTemplate", "flower-addon")["spec"]["agentSpec"]["workload"]["manifests"]
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    node, tun = deployment["spec"]["template"]["spec"]["containers"]
    assert "--superlink=127.0.0.1:9092" in node["args"] and tun["name"] == "fleet-tunnel"
    config = next(m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == tunnel.CLIENT_TUNNEL_CONFIG)
    text = config["data"]["stunnel.conf"]
    assert f"cert = {registration_mount()}/tls.crt" in text and f"key = {registration_mount()}/tls.key" in text
    assert "connect = {{SUPERLINK_ADDRESS}}:{{SUPERLINK_PORT}}" in text and "client = yes" in text
    # The credential volume is OCM's to add (decorator.go volumeDecorator), not declared here.
    assert registration_secret() not in str(deployment)
    adc = _one(objs, "AddOnDeploymentConfig", "flower-addon-mnist-eu")
    variables = {v["name"]: v["value"] for v in adc["spec"]["customizedVariables"]}
    assert variables[tunnel.CHECK_VARIABLE] == "checkHost" and variables[tunnel.SNI_VARIABLE] == variables["SUPERLINK_ADDRESS"]


def test_registration_names_follow_ocm() -> None:
    assert registration_secret() == "flower-addon-fedfleet.io-flower-addon-client-cert"
    assert registration_mount() == "/managed/fedfleet.io-flower-addon"
    assert tunnel.client_variables("10.0.0.7") == [{"name": tunnel.CHECK_VARIABLE, "value": "checkIP"},
                                                    {"name": tunnel.SNI_VARIABLE, "value": ""}]


@pytest.mark.skipif(__import__("shutil").which("stunnel") is None, reason="stunnel is not installed (apt-get install -y stunnel4)")
def test_the_hub_tunnel_keeps_server_authentication_for_doctor_and_refuses_clients_without_a_credential(tmp_path: Path) -> None:
    """The SuperLink pod's tunnel, from render/tunnel.py's configuration, on loopback: `fedfleet
    doctor`'s SuperLink probe still verifies the server certificate (TLS 1.3 asks for the client's
    after the server is authenticated), and the tunnel logs the refused handshake."""
    import socket
    import time

    from fedfleet.doctor.tls import probe
    from fedfleet.simulate.certs import make_tls, throwaway_ca
    from fedfleet.simulate.processes import ProcessSet, free_port
    from fedfleet.upstream import REGISTRATION_CA_MOUNT, TLS_MOUNT

    tls = make_tls(tmp_path)
    (tmp_path / "reg-ca.crt").write_bytes(throwaway_ca("registration")["tls.crt"])
    port, backend = free_port(), free_port()
    conf = (tunnel.hub_config(["eu-hosp-1"]).replace("0.0.0.0:9092", f"127.0.0.1:{port}").replace("127.0.0.1:9095", f"127.0.0.1:{backend}")
            .replace(f"{TLS_MOUNT}/", f"{tmp_path}/").replace(f"{REGISTRATION_CA_MOUNT}/ca.crt", f"{tmp_path}/reg-ca.crt"))
    (tmp_path / "stunnel.conf").write_text(conf)
    (tmp_path / "run").mkdir()
    procs = ProcessSet(tmp_path / "run", dict(os.environ))
    try:
        _start_listening(procs, tmp_path / "stunnel.conf", port)
        result = probe("localhost", port, tls.ca.read_text(), 5)
        assert result.ok, result.message
        time.sleep(0.5)
        assert "peer did not return a certificate" in (procs.workdir / "tunnel.log").read_text()
    finally:
        assert procs.stop() == []


def test_a_hub_without_tls_runs_no_tunnel_and_its_supernodes_dial_the_superlink(fleet_repo: Path) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("    environment: dev\n", "    environment: dev\n    tls: {enabled: false}\n", 1))
    rendered = pipeline.render(PATHS)
    dev = build_and_check(rendered.files, {"overlays/hub-dev": "hub-dev"}, None).objects["overlays/hub-dev"]
    manifests = _one(dev, "AddOnTemplate", "flower-addon")["spec"]["agentSpec"]["workload"]["manifests"]
    [node] = next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "--insecure" in node["args"] and "--superlink={{SUPERLINK_ADDRESS}}:{{SUPERLINK_PORT}}" in node["args"]
    link = next(o for o in dev if o["kind"] == "Deployment" and o["metadata"]["name"].startswith("superlink-"))
    [container] = link["spec"]["template"]["spec"]["containers"]
    assert "--fleet-api-address=0.0.0.0:9092" in container["args"]
    # the TLS hub keeps both
    prod = _hub_prod()
    manifests = _one(prod, "AddOnTemplate", "flower-addon")["spec"]["agentSpec"]["workload"]["manifests"]
    assert len(next(m for m in manifests if m["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"]) == 2


def test_a_job_without_planned_clusters_refuses_every_credential() -> None:
    conf = tunnel.hub_config([])
    assert [l for l in conf.splitlines() if l.startswith("checkHost")] == [f"checkHost = {tunnel.NO_CLUSTER}"]


@pytest.mark.skipif(__import__("shutil").which("stunnel") is None, reason="stunnel is not installed (apt-get install -y stunnel4)")
def test_the_hub_tunnel_admits_its_jobs_clusters_credential_and_refuses_another_clusters(tmp_path: Path) -> None:
    """Review finding 2 with real stunnel and OpenSSL: X509_check_host's CN fallback matches the CN
    OCM issues (no DNS SAN), so a valid credential of a cluster outside the job is refused."""
    import socket
    import ssl
    import threading
    import time

    from fedfleet.simulate.certs import issue_client, make_tls, throwaway_ca
    from fedfleet.simulate.processes import ProcessSet, free_port
    from fedfleet.upstream import REGISTRATION_CA_MOUNT, TLS_MOUNT, registration_groups

    tls = make_tls(tmp_path)
    reg_ca = throwaway_ca("registration")
    (tmp_path / "reg-ca.crt").write_bytes(reg_ca["tls.crt"])
    port, backend = free_port(), free_port()
    conf = (tunnel.hub_config(["eu-hosp-1", "eu-hosp-3"]).replace("0.0.0.0:9092", f"127.0.0.1:{port}")
            .replace("127.0.0.1:9095", f"127.0.0.1:{backend}").replace(f"{TLS_MOUNT}/", f"{tmp_path}/")
            .replace(f"{REGISTRATION_CA_MOUNT}/ca.crt", f"{tmp_path}/reg-ca.crt"))
    (tmp_path / "stunnel.conf").write_text(conf)
    server = socket.create_server(("127.0.0.1", backend))
    server.settimeout(20)

    def serve() -> None:
        try:
            while True:
                conn, _ = server.accept()
                conn.sendall(b"model")
                conn.close()
        except OSError:
            return
    threading.Thread(target=serve, daemon=True).start()

    def attempt(cluster: str) -> bytes:
        cred = issue_client(reg_ca, registration_common_name(cluster), 24, tuple(registration_groups(cluster)))
        (tmp_path / f"{cluster}.crt").write_bytes(cred["tls.crt"])
        (tmp_path / f"{cluster}.key").write_bytes(cred["tls.key"])
        ctx = ssl.create_default_context(cafile=str(tls.ca))
        ctx.load_cert_chain(tmp_path / f"{cluster}.crt", tmp_path / f"{cluster}.key")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.recv(16)
        except (ssl.SSLError, OSError):
            return b""

    (tmp_path / "run").mkdir()
    procs = ProcessSet(tmp_path / "run", dict(os.environ))
    try:
        _start_listening(procs, tmp_path / "stunnel.conf", port)
        assert attempt("eu-hosp-1") == b"model"
        assert attempt("eu-hosp-2") == b"", "a registered cluster of another job"
        time.sleep(0.5)
        log = (procs.workdir / "tunnel.log").read_text()
        assert "CERT: Subject checks failed" in log and "cluster:eu-hosp-2:" in log
    finally:
        server.close()
        assert procs.stop() == []


def test_the_otel_signing_ca_the_otel_template_names_is_issued_on_the_hub(fleet_repo: Path) -> None:
    """Review finding 7: the otel-addon AddOnTemplate names Secret otel-signer; the bundle issues it."""
    objs = _hub_prod()
    template = _one(objs, "AddOnTemplate", "otel-addon")
    ref = template["spec"]["registration"][0]["customSigner"]["signingCA"]
    ca = next(o for o in objs if o["kind"] == "Certificate" and o["spec"]["secretName"] == ref["name"])
    assert ca["metadata"]["namespace"] == ref["namespace"] and ca["spec"]["isCA"] is True
    assert ca["spec"]["privateKey"]["algorithm"] == "RSA" and ca["spec"]["privateKey"]["rotationPolicy"] == "Never"
    issuer = next(o for o in objs if o["kind"] == "Issuer" and o["metadata"]["name"] == ca["spec"]["issuerRef"]["name"]
                  and o["metadata"]["namespace"] == ref["namespace"])
    assert "selfSigned" in issuer["spec"]
