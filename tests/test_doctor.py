"""`fedfleet doctor` against a recorded ready hub (tests/doctor_hub.py on 127.0.0.1, through the real
kubernetes client) and against the same hub missing one prerequisite at a time: each names the
exact failing step. The SuperLink is a local TLS server on 127.0.0.1 with a throwaway CA."""

from __future__ import annotations

import copy
import json
import shutil
import socket
import ssl
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fedfleet.checks.kustomize import build
from fedfleet.cli import main
from fedfleet.placement import plan
from fedfleet.spec.load import load_fleet

from doctor_hub import ADDONS_PATH, DoctorHub, with_secret
from fake_hub import FIXTURES

REPO = Path(__file__).resolve().parents[1]
CONTROLLER = "/apis/apps/v1/namespaces/open-cluster-management/deployments/federated-learning-controller"
CLUSTER_MANAGER = "/apis/operator.open-cluster-management.io/v1/clustermanagers/cluster-manager"
CA_SECRET = "/api/v1/namespaces/flower-system/secrets/flower-tls-ca"
ALL_STEPS = ["api", "crds", "argocd-rbac", "controller", "feature-gate", "cert-manager", "superlink", "addons", "membership"]


SUPERLINK_HOST = "superlink-mnist-eu.apps.hub-prod.example.com"  # hub-prod's Route for the job mnist-eu
SUPERLINK_PORT = 443


def make_chain(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for `host`, as cert-manager's Issuer flower-ca signs
    the SuperLink's (ca.crt, server.pem, server.key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flower-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = directory / "ca.crt", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class TlsServer:
    """A SuperLink stand-in: accepts on 127.0.0.1, completes the TLS handshake, closes."""

    def __init__(self, directory: Path) -> None:
        self.ca, cert, key = make_chain(directory, SUPERLINK_HOST)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.handshakes = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    self.handshakes += 1
            except (ssl.SSLError, OSError):
                pass  # the client refused our certificate: that is the test

    def __enter__(self) -> "TlsServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(2)
        self.listener.close()


@pytest.fixture(scope="module")
def superlink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    with TlsServer(tmp_path_factory.mktemp("superlink")) as server:
        yield server


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example fleet, generated (hub-prod's SuperLink: a Route, port 443)."""
    root = tmp_path_factory.mktemp("fleet")
    shutil.copytree(REPO / "specs", root / "specs")
    assert main(["generate", "--specs", str(root / "specs"), "--out", str(root)]) == 0
    return root


@pytest.fixture
def hub(repo: Path, superlink: TlsServer) -> Iterator[DoctorHub]:
    """The ready hub: bootstrapped (its RBAC is the bootstrap's), the SuperLink CA Secret in place."""
    with DoctorHub() as fake:
        fake.rbac = [o for o in build(repo / "bootstrap" / "hub-prod") if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
        with_secret(fake, superlink.ca.read_bytes())
        yield fake


@pytest.fixture
def doctor(repo: Path, hub: DoctorHub, superlink: TlsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Run `fedfleet doctor -o json` against the fake hub, the SuperLink's name connected to the
    local TLS server (--connect-to, so no name is looked up outside this machine)."""

    def _run(*extra: str) -> tuple[int, dict[str, Any]]:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        code = main(["doctor", "--specs", str(repo / "specs"), "--out", str(repo), "--kubeconfig", str(kubeconfig),
                     "-o", "json", "--connect-timeout", "2", "--read-timeout", "5",
                     "--connect-to", f"{SUPERLINK_HOST}:{SUPERLINK_PORT}:127.0.0.1:{superlink.port}", *extra])
        return code, json.loads(capsys.readouterr().out)

    return _run


def failed(report: dict[str, Any]) -> list[str]:
    return [s["step"] for s in report["steps"] if s["status"] == "fail"]


def step(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in report["steps"] if s["step"] == name)


def test_ready_hub_passes_every_step(repo: Path, hub: DoctorHub, superlink: TlsServer, tmp_path: Path, doctor, capsys) -> None:
    before = superlink.handshakes
    code, report = doctor()
    assert code == 0, json.dumps(report, indent=1)
    assert report["ready"] is True and report["firstFailure"] is None and report["hub"] == "hub-prod"
    assert [s["step"] for s in report["steps"]] == ALL_STEPS
    assert all(s["status"] == "pass" for s in report["steps"])
    # Argo CD's permissions were asked for its ServiceAccount, with a SubjectAccessReview each
    users = {r["spec"]["user"] for r in hub.reviews}
    assert users == {"system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller"}
    asked = {(r["spec"]["resourceAttributes"]["group"], r["spec"]["resourceAttributes"]["resource"]) for r in hub.reviews}
    overlay_kinds = {o["kind"] for o in build(repo / "overlays" / "hub-prod")}
    assert ("federation-ai.open-cluster-management.io", "federatedlearnings") in asked
    # the overlay's kinds (one resource each), plus the FL controller install's (CRDs, cluster roles)
    assert len({r for _, r in asked}) >= len(overlay_kinds)
    assert {("policy.open-cluster-management.io", "policies"), ("cluster.open-cluster-management.io", "placements"),
            ("cert-manager.io", "certificates"), ("route.openshift.io", "routes"), ("", "namespaces"),
            ("apiextensions.k8s.io", "customresourcedefinitions")} <= asked
    verbs = {(r["spec"]["resourceAttributes"]["resource"], r["spec"]["resourceAttributes"]["verb"]) for r in hub.reviews}
    assert ("clusterroles", "escalate") in verbs and ("clusterroles", "bind") in verbs
    assert superlink.handshakes > before, "a real TLS handshake with the SuperLink"
    assert f"{SUPERLINK_HOST}:443 via 127.0.0.1:{superlink.port}" in step(report, "superlink")["verdict"]
    assert f"Available on all {len(flower_clusters(repo))} clusters" in step(report, "addons")["verdict"]
    # text output: one line per step, and the verdict
    kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
    assert main(["doctor", "--specs", str(repo / "specs"), "--out", str(repo), "--kubeconfig", str(kubeconfig),
                 "--connect-to", f"{SUPERLINK_HOST}:{SUPERLINK_PORT}:127.0.0.1:{superlink.port}"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[-1] == "ready: every step passed"
    assert sum(line.startswith("ok   ") for line in text.splitlines()) == len(ALL_STEPS)


def _no_gate(fake: DoctorHub, repo: Path) -> None:
    cm = fake.objects[CLUSTER_MANAGER]
    cm["spec"]["workConfiguration"]["featureGates"] = [g for g in cm["spec"]["workConfiguration"]["featureGates"]
                                                        if g["feature"] != "ManifestWorkReplicaSet"]
    work = fake.objects["/apis/work.open-cluster-management.io/v1alpha1"]
    work["resources"] = [r for r in work["resources"] if r["kind"] != "ManifestWorkReplicaSet"]


def _no_controller(fake: DoctorHub, repo: Path) -> None:
    fake.missing |= {"/apis/federation-ai.open-cluster-management.io/v1alpha1",
                     "/apis/federation-ai.open-cluster-management.io", CONTROLLER}


def _controller_crashing(fake: DoctorHub, repo: Path) -> None:
    d = fake.objects[CONTROLLER]
    d["status"].update(readyReplicas=0, availableReplicas=0, unavailableReplicas=1)
    d["status"]["conditions"][0].update(status="False", reason="MinimumReplicasUnavailable",
                                        message="Deployment does not have minimum availability.")


def _no_cert_manager(fake: DoctorHub, repo: Path) -> None:
    fake.missing |= {"/apis/cert-manager.io/v1", "/apis/cert-manager.io",
                     "/apis/apps/v1/namespaces/cert-manager/deployments/cert-manager",
                     "/apis/apps/v1/namespaces/cert-manager/deployments/cert-manager-webhook"}


def _no_rbac(fake: DoctorHub, repo: Path) -> None:
    fake.rbac = []


def _no_governance(fake: DoctorHub, repo: Path) -> None:
    fake.missing |= {"/apis/policy.open-cluster-management.io/v1", "/apis/policy.open-cluster-management.io/v1beta1",
                     "/apis/policy.open-cluster-management.io"}


def _other_ca(fake: DoctorHub, repo: Path) -> None:
    other_ca, _, _ = make_chain(Path(fake.other_dir), SUPERLINK_HOST)
    with_secret(fake, other_ca.read_bytes())


def _no_ca_secret(fake: DoctorHub, repo: Path) -> None:
    del fake.objects[CA_SECRET]


def flower_clusters(repo: Path) -> list[str]:
    """The clusters hub-prod's Flower job selects (where its add-on install Placement puts the add-on)."""
    fleet = load_fleet(repo / "specs")
    return sorted(plan(fleet, ["mnist-eu"]).clusters_of("mnist-eu"))


def _addon_down(fake: DoctorHub, repo: Path) -> None:
    body = copy.deepcopy(fake.bodies[ADDONS_PATH])
    down = next(i for i in body["items"] if i["metadata"]["namespace"] == flower_clusters(repo)[0])
    for c in down["status"]["conditions"]:
        if c["type"] == "Available":
            c.update(status="Unknown", reason="ClusterOffline", message="The status of flower-addon add-on is unknown.")
    fake.bodies[ADDONS_PATH] = body


def _not_a_member(fake: DoctorHub, repo: Path) -> None:
    path = "/apis/cluster.open-cluster-management.io/v1/managedclusters"
    body = json.loads((FIXTURES / "hub-prod" / "managedclusters.json").read_text())
    eu3 = next(c for c in body["items"] if c["metadata"]["name"] == "eu-hosp-3")
    del eu3["metadata"]["labels"]["fedfleet.io/cluster-set"]
    fake.bodies[path] = body


def _cert_manager_kinds_in_overlay(repo: Path) -> bool:
    return any(o["apiVersion"].startswith("cert-manager.io/") for o in build(repo / "overlays" / "hub-prod"))


# (what is missing, how, the failing steps in order, a phrase of the failing step's verdict or details)
CASES: list[tuple[str, Callable[[DoctorHub, Path], None] | None, list[str], str]] = [
    ("argo-cd-rbac", _no_rbac, ["argocd-rbac"], "system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller may not manage"),
    ("fl-controller", _no_controller, ["crds", "controller"], "federation-ai.open-cluster-management.io/v1alpha1 is not served"),
    ("controller-unavailable", _controller_crashing, ["controller"], "MinimumReplicasUnavailable"),
    ("feature-gate", _no_gate, ["feature-gate"], "does not enable ManifestWorkReplicaSet"),
    ("cert-manager", _no_cert_manager, ["cert-manager"], "cert-manager.io/v1 Certificate is not served"),
    ("acm-governance", _no_governance, ["crds"], "policy.open-cluster-management.io/v1 is not served"),
    ("superlink-certificate", _other_ca, ["superlink"], "serves a certificate the hub's CA does not verify"),
    ("superlink-ca-secret", _no_ca_secret, ["superlink"], "flower-system/flower-tls-ca"),
    ("superlink-not-exposed", None, ["superlink"], "refuses or drops the connection"),
    ("addon", _addon_down, ["addons"], ": not Available (ClusterOffline"),
    ("membership", _not_a_member, ["membership"], "eu-hosp-3: not a member of eu-hospitals"),
]


@pytest.mark.parametrize("what,breaks,steps,phrase", CASES, ids=[c[0] for c in CASES])
def test_a_hub_missing_one_prerequisite_names_the_failing_step(repo: Path, hub: DoctorHub, tmp_path: Path, doctor,
                                                                what, breaks, steps, phrase) -> None:
    hub.other_dir = str(tmp_path)  # type: ignore[attr-defined]
    extra: list[str] = []
    if breaks is None:  # nothing listens where the SuperLink should be
        closed = socket.create_server(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        extra = ["--connect-to", f"{SUPERLINK_HOST}:{SUPERLINK_PORT}:127.0.0.1:{port}"]
    else:
        breaks(hub, repo)
    if what == "cert-manager" and _cert_manager_kinds_in_overlay(repo):
        steps = ["crds", *steps]  # the overlay's Issuers/Certificates are then unserved kinds too
    code, report = doctor(*extra)
    assert code == 1
    assert report["ready"] is False
    assert failed(report) == steps, json.dumps(report, indent=1)
    assert report["firstFailure"] == steps[0]
    named = step(report, steps[0] if what != "cert-manager" else "cert-manager")
    assert phrase in named["verdict"] + " ".join(named["details"]), named
    assert named["fix"], "a failed step says what to do"


def test_missing_crd_names_the_versions_the_hub_serves(repo: Path, hub: DoctorHub, tmp_path: Path, doctor) -> None:
    """A hub with an older OCM: the group is served, the bundle's version is not (404 on it)."""
    hub.missing.add("/apis/cluster.open-cluster-management.io/v1beta2")
    group = hub.objects["/apis/cluster.open-cluster-management.io"]
    group["versions"] = [v for v in group["versions"] if v["version"] != "v1beta2"]
    code, report = doctor()
    assert code == 1 and report["firstFailure"] == "crds"
    details = " ".join(step(report, "crds")["details"])
    assert "cluster.open-cluster-management.io/v1beta2 is not served (ManagedClusterSet, ManagedClusterSetBinding)" in details
    assert "serves cluster.open-cluster-management.io at v1, v1alpha1, v1beta1 only" in details


def test_forbidden_subject_access_review_says_which_permission(repo: Path, hub: DoctorHub, tmp_path: Path, doctor) -> None:
    hub.denied.add("/apis/authorization.k8s.io/v1/subjectaccessreviews")
    code, report = doctor()
    assert code == 1 and failed(report) == ["argocd-rbac"]
    rbac = step(report, "argocd-rbac")
    assert rbac["verdict"].startswith("could not read the hub: 403 Forbidden")
    assert "create on subjectaccessreviews.authorization.k8s.io" in rbac["fix"]


def test_forbidden_read_fails_that_step_only(repo: Path, hub: DoctorHub, tmp_path: Path, doctor) -> None:
    hub.denied.add(CONTROLLER)
    code, report = doctor()
    assert code == 1 and failed(report) == ["controller"]
    assert "get on deployments.apps in open-cluster-management" in step(report, "controller")["fix"]


def test_unreachable_hub_fails_at_api_and_skips_the_rest(repo: Path, hub: DoctorHub, tmp_path: Path, capsys) -> None:
    kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    kubeconfig.write_text(kubeconfig.read_text().replace(hub.url, f"http://127.0.0.1:{port}"))
    code = main(["doctor", "--specs", str(repo / "specs"), "--out", str(repo), "--kubeconfig", str(kubeconfig),
                 "-o", "json", "--hub", "hub-prod"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and failed(report) == ["api"]
    assert [s["status"] for s in report["steps"][1:]] == ["skip"] * (len(ALL_STEPS) - 1)
    assert "unreachable" in step(report, "api")["verdict"]


def test_usage_and_bad_input_exit_2(repo: Path, hub: DoctorHub, tmp_path: Path, capsys) -> None:
    base = ["doctor", "--specs", str(repo / "specs"), "--out", str(repo)]
    assert main([*base, "--kubeconfig", str(tmp_path / "nope")]) == 2
    assert "kubeconfig not found" in capsys.readouterr().err
    kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
    assert main([*base, "--kubeconfig", str(kubeconfig), "--hub", "hub-nowhere"]) == 2
    assert "no hub 'hub-nowhere'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["doctor"])  # --kubeconfig is required
    assert usage.value.code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["doctor", "--specs", str(repo / "specs"), "--out", str(empty), "--kubeconfig", str(kubeconfig)]) == 2
    assert "run `fedfleet generate` first" in capsys.readouterr().err
    assert not hub.reviews, "bad input stops before any call to the hub"
