"""Flower preview: the bundle's own commands, a real federation on loopback, and every way of
breaking what ships caught before a hub sees it.

Tests marked `flower` start real flower-superlink / flower-supernode / flower-superexec processes
on 127.0.0.1 (deselect with `-m "not flower"`). The break tests edit a copy of the built hub
overlay and most fail while reading it, before anything starts.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import EXAMPLE_SPECS, REPO
from fedfleet import pipeline
from fedfleet.findings import InputError
from fedfleet.simulate import SimulationError, run_simulation
from fedfleet.simulate.certs import make_tls
from fedfleet.simulate.processes import alive
from fedfleet.simulate.run import hub_objects, superlink, tls_refuses_unknown_ca
from fleetbuilder import cluster, job, write_specs

APP = REPO / "examples" / "flower-digits"


TAG = "FEDFLEET_TEST_TAG"


@pytest.fixture(autouse=True)
def own_tag(monkeypatch: pytest.MonkeyPatch) -> str:
    """A tag in this test's environment: every process the test starts inherits it (Flower starts
    SuperExec with its parent's environment), so the test finds its own descendants, and only
    them, even after they were re-parented to init. Others' federations on a shared machine
    carry no such tag."""
    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)
    return tag


@pytest.fixture(autouse=True)
def stunnel_for_flower(request: pytest.FixtureRequest) -> None:
    """The bundle's registration tunnels run stunnel; a Flower test skips (one line) without it."""
    if request.node.get_closest_marker("flower") and shutil.which("stunnel") is None:
        pytest.skip("stunnel is not installed (Debian: apt-get install -y stunnel4): the registration tunnels cannot run")


def own_processes(tag: str | None = None) -> set[int]:
    """Live (non-zombie) processes carrying this test's tag (or `tag`), pytest itself excluded."""
    needle = f"{TAG}={tag or os.environ[TAG]}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if needle in environ.split(b"\0") and alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def flower_processes() -> set[int]:
    return own_processes()


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[pipeline.Rendered, list[dict[str, Any]]]:
    """The example fleet, built once: mnist-eu on hub-prod (Route exposure, TLS)."""
    root = tmp_path_factory.mktemp("example")
    shutil.copytree(EXAMPLE_SPECS, root / "specs")
    shutil.copytree(APP, root / "examples" / "flower-digits", ignore=shutil.ignore_patterns("__pycache__"))
    build = pipeline.render(pipeline.Paths(root / "specs", root))
    return build, hub_objects(build, next(j for j in build.fleet.jobs if j.name == "mnist-eu"))


def _find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def _supernode(objs: list[dict[str, Any]]) -> dict[str, Any]:
    template = _find(objs, "AddOnTemplate", "flower-addon")
    return next(m for m in template["spec"]["agentSpec"]["workload"]["manifests"] if m["kind"] == "Deployment")


def _broken(example, edit: Callable[[list[dict[str, Any]]], Any], match: str) -> None:
    """The preview of mnist-eu over an edited copy of the built overlay fails with `match`."""
    build, objects = example
    before = flower_processes()
    edited = copy.deepcopy(objects)
    edit(edited)
    with pytest.raises(SimulationError, match=match):
        run_simulation(build, "mnist-eu", rounds=1, objects=edited, timeout=60)
    assert flower_processes() - before == set(), "a failed preview leaves nothing running"


# --- the real federation --------------------------------------------------------------------------

@pytest.mark.flower
def test_the_bundle_trains_with_tls_and_leaves_nothing_running(example, tmp_path: Path, monkeypatch) -> None:
    """The example job, from its built bundle: SuperLink and SuperNodes with the bundle's arguments,
    the controller's ServerApp/ClientApps, the run Job's `flwr run`; accuracy close to centralized."""
    build, objects = example
    before = flower_processes()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the preview's scratch directory lands here
    seen: list[str] = []
    result = run_simulation(build, "mnist-eu", rounds=3, objects=objects, progress=seen.append)
    assert result.tls and result.clients == ["eu-hosp-1", "eu-hosp-2"]
    ran = {line.split(":", 1)[0]: line for line in result.processes}
    # the bundle's SuperLink flags, its listen addresses mapped to loopback, cert-manager's key names
    assert "--fleet-api-address=127.0.0.1:" in ran["superlink"] and "/etc/flower/tls/tls.crt" in ran["superlink"]
    assert "--serverappio-api-address=127.0.0.1:" in ran["superlink"]
    # each SuperNode got its partition from the policy-delivered ConfigMap, its count from the ADC
    assert 'cluster-name="eu-hosp-1" partition-id=0 num-partitions=2' in ran["supernode-eu-hosp-1"]
    assert 'cluster-name="eu-hosp-2" partition-id=1 num-partitions=2' in ran["supernode-eu-hosp-2"]
    # the controller's commands, verbatim but for the address
    assert ran["serverapp"].startswith("serverapp: flower-superexec --insecure --appio-api-address=127.0.0.1:")
    assert ran["serverapp"].endswith("--plugin-type=serverapp")
    assert ran["clientapp-eu-hosp-1"].endswith("--plugin-type=clientapp")
    assert "flwr run " in ran["flwr-run"] and "--stream" in ran["flwr-run"] and "num-server-rounds=3" in ran["flwr-run"]
    assert [r["round"] for r in result.rounds] == [0, 1, 2, 3]
    assert result.rounds[0]["accuracy"] < 0.2  # the untrained model is at chance (10 classes)
    assert result.ratio >= 0.95 and result.centralized_accuracy > 0.85
    assert any(m.startswith("round 3:") for m in seen), "progress is streamed round by round"
    # the run Job's quality gate (spec.validation) ran on the final model: the example meets it, every digit reported
    gate = result.validation
    assert gate is not None and gate["verdict"] == "passed", gate
    assert sorted(gate["perClassRecall"], key=int) == [str(d) for d in range(10)]
    assert gate["accuracy"] == pytest.approx(result.federated_accuracy, abs=1e-6), "the gate evaluated the final model"
    assert gate["modelDigest"].startswith("sha256:") and not gate["recorded"], "no API server in the preview"
    assert flower_processes() - before == set(), "every Flower process must be gone"
    assert not list(tmp_path.glob("fedfleet-simulate-*")), "temporary files removed"


@pytest.mark.flower
def test_a_stricter_gate_fails_the_preview_with_exit_1(tmp_path: Path, run, monkeypatch) -> None:
    """The same gate with a bar the example cannot meet: `fedfleet simulate` prints every class and exits 1."""
    shutil.copytree(EXAMPLE_SPECS, tmp_path / "specs")
    shutil.copytree(APP, tmp_path / "examples" / "flower-digits", ignore=shutil.ignore_patterns("__pycache__"))
    spec = tmp_path / "specs" / "jobs" / "mnist-eu.yaml"
    spec.write_text(spec.read_text().replace("minAccuracy: 0.9", "minAccuracy: 0.99"))
    monkeypatch.chdir(tmp_path)
    result = run("simulate", "mnist-eu", "--rounds", "1")
    assert result.code == 1, result.err
    assert "validation FAILED" in result.out and "< minAccuracy 0.99" in result.out
    assert all(f"  class {d}: recall " in result.out for d in range(10))


@pytest.mark.flower
def test_superlink_refuses_a_client_that_does_not_trust_the_ca(tmp_path: Path) -> None:
    before = flower_processes()
    tls = make_tls(tmp_path)
    with superlink(tmp_path, tls) as (_procs, port):
        assert tls_refuses_unknown_ca(port)
        trusted = ssl.create_default_context(cafile=str(tls.ca))
        trusted.check_hostname = False  # the throwaway server certificate names localhost and 127.0.0.1
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with trusted.wrap_socket(raw, server_hostname="localhost") as conn:
                assert conn.version() in ("TLSv1.2", "TLSv1.3")
    assert flower_processes() - before == set()


# --- what ships, broken one way at a time: each is caught --------------------------------------

@pytest.mark.flower
def test_a_flag_the_pinned_superlink_rejects_fails(example) -> None:
    def edit(objs):  # Flower 1.42's single-port flags, which 1.26.1 does not know
        c = _find(objs, "Deployment", "superlink-mnist-eu")["spec"]["template"]["spec"]["containers"][0]
        c["args"] = [a for a in c["args"] if not a.startswith("--fleet-api-address")] + ["--host=0.0.0.0", "--port=9092"]
    _broken(example, edit, "SuperLink .* (never answered|exited)")


@pytest.mark.flower
def test_a_flag_the_pinned_supernode_rejects_fails(example) -> None:
    def edit(objs):
        c = _supernode(objs)["spec"]["template"]["spec"]["containers"][0]
        c["args"] = [a for a in c["args"] if not a.startswith("--clientappio")] + ["--port=9094"]
    _broken(example, edit, "SuperNode eu-hosp-1 .* (never answered|exited)")


@pytest.mark.flower
def test_a_superlink_listening_on_loopback_only_fails(example) -> None:
    def edit(objs):  # the 127.0.0.1:8000 SuperLink behind a Service that targets 9092
        c = _find(objs, "Deployment", "superlink-mnist-eu")["spec"]["template"]["spec"]["containers"][0]
        c["args"] = [("--fleet-api-address=127.0.0.1:8000" if a.startswith("--fleet-api-address") else a) for a in c["args"]]
    _broken(example, edit, "forwards to 127.0.0.1:[0-9]+, where nothing in its pod listens")


@pytest.mark.flower
def test_a_tls_mount_at_another_path_fails(example) -> None:
    def edit(objs):
        c = _find(objs, "Deployment", "superlink-mnist-eu")["spec"]["template"]["spec"]["containers"][0]
        c["volumeMounts"][0]["mountPath"] = "/etc/flower/certs"
    _broken(example, edit, "SuperLink .* (never answered|exited)")


def test_a_service_port_that_leads_nowhere_fails(example) -> None:
    def edit(objs):
        svc = _find(objs, "Service", "superlink-mnist-eu")
        svc["spec"]["ports"][0]["targetPort"] = 9999
    _broken(example, edit, "targets port 9999, which no container of Deployment flower-system/superlink-mnist-eu declares")


def test_the_controllers_superlink_address_needs_a_service(example) -> None:
    def edit(objs):
        _find(objs, "FederatedLearning", "mnist-eu")["spec"]["server"].pop("superlink")  # CRD default superlink.flower-system
    _broken(example, edit, r"ServerApp of mnist-eu .* dials superlink.flower-system:9091, but the hub has no Service")


def test_the_clientapps_need_the_supernode_service(example) -> None:
    def edit(objs):
        manifests = _find(objs, "AddOnTemplate", "flower-addon")["spec"]["agentSpec"]["workload"]["manifests"]
        manifests[:] = [m for m in manifests if m["kind"] != "Service"]
    _broken(example, edit, "ClientApp on eu-hosp-1 .* no Service flower-addon/flower-supernode")


def test_a_superlink_nothing_exposes_fails(example) -> None:
    def edit(objs):
        objs[:] = [o for o in objs if o["kind"] != "Route"]
    _broken(example, edit, "dials superlink-mnist-eu.apps.hub-prod.example.com:443, but nothing on the hub exposes it")


def test_a_certificate_without_the_exposed_name_fails(example) -> None:
    def edit(objs):
        cert = _find(objs, "Certificate", "superlink-mnist-eu")
        cert["spec"]["dnsNames"] = [n for n in cert["spec"]["dnsNames"] if "apps." not in n]
    _broken(example, edit, "certificate .* names only .*: TLS verification would fail")


def test_the_superlink_secret_must_be_issued_on_the_hub(example) -> None:
    def edit(objs):
        objs[:] = [o for o in objs if not (o["kind"] == "Certificate" and o["metadata"]["name"] == "superlink-mnist-eu")]
    _broken(example, edit, "Secret flower-system/superlink-mnist-eu-tls is created by nothing in the bundle")


def test_the_ca_must_reach_the_clusters(example) -> None:
    def edit(objs):
        for o in objs:
            if o["kind"] == "Policy" and o["metadata"]["namespace"] == "flower-system":
                templates = o["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
                templates[:] = [t for t in templates if t["objectDefinition"]["kind"] != "Secret"]
    _broken(example, edit, "needs Secret flower-addon/flower-tls-ca, which nothing delivers to the cluster eu-hosp-1")


def test_every_supernode_needs_its_partition(example) -> None:
    def edit(objs):
        _find(objs, "ConfigMap", "mnist-eu-partitions")["data"].pop("eu-hosp-2")
    _broken(example, edit, "supernode.*eu-hosp-2.* env PARTITION_ID reads key 'partition-id' of ConfigMap "
                           "flower-addon/flower-node-config, which is empty")


def test_supernodes_must_be_installed_for_the_job_only(example) -> None:
    def edit(objs):  # an install placement over the whole set would mix other clusters in
        p = _find(objs, "Placement", "flower-addon-mnist-eu")
        p["spec"] = {"clusterSets": ["eu-hospitals"]}
    _broken(example, edit, "no install placement of the flower-addon selects job mnist-eu's clusters")


def test_a_run_needs_the_run_job(example) -> None:
    def edit(objs):
        objs[:] = [o for o in objs if o["kind"] != "Job"]
    _broken(example, edit, "no Job that runs job mnist-eu")


def test_an_unknown_addon_variable_fails(example) -> None:
    def edit(objs):
        adc = _find(objs, "AddOnDeploymentConfig", "flower-addon-mnist-eu")
        adc["spec"]["customizedVariables"] = [v for v in adc["spec"]["customizedVariables"] if v["name"] != "SUPERLINK_PORT"]
    _broken(example, edit, r"uses \{\{SUPERLINK_PORT\}\}, which neither the AddOnDeploymentConfig")


# --- bad input and plans ----------------------------------------------------------------------

def _fleet(tmp_path: Path, clients: int, min_clients: int, holders: int | None = None) -> pipeline.Rendered:
    names = [f"site-{i}" for i in range(clients)]
    with_claim = names[: holders if holders is not None else clients]
    spec = job("digits", {n: f"/data/{n}" for n in names}, min_clients=min_clients)
    # The app lives in the fleet repository: a path that leaves it is refused (issue 13, case 3).
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    spec["spec"]["simulation"] = {"app": "app"}
    clusters = [cluster(n, claims={"digits.client-data": f"/data/{n}"} if n in with_claim else {}) for n in names]
    specs = write_specs(tmp_path, clusters, [spec])
    return pipeline.render(pipeline.Paths(specs, tmp_path))


@pytest.mark.flower
def test_timeout_tears_everything_down(tmp_path: Path) -> None:
    before = flower_processes()
    build = _fleet(tmp_path, clients=2, min_clients=2)
    with pytest.raises(SimulationError, match="did not finish within 6 s"):
        run_simulation(build, "digits", rounds=5, timeout=6)
    assert flower_processes() - before == set()


@pytest.mark.flower
def test_sigkill_of_simulate_takes_every_process_and_the_keys_with_it(tmp_path: Path, own_tag: str) -> None:
    """Issue 13, case 13: SIGKILL of `fedfleet simulate` left 10 Flower processes running (the
    SuperLink still listening) and the work directory with the private keys on disk."""
    _fleet(tmp_path, clients=2, min_clients=2)
    scratch = tmp_path / "tmp"  # the run's work directory is made here (TMPDIR), ours alone
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "fedfleet.cli", "simulate", "digits", "--rounds", "50", "-v"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    while time.monotonic() < deadline:  # wait until the federation runs a round
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("round 1:"):
            break
    assert any(line.startswith("round 1:") for line in lines), "".join(lines)
    port = int(next(l for l in lines if l.startswith("SuperLink on")).split(":")[1].split()[0])
    running = own_processes()
    assert len(running) >= 5, "SuperLink, SuperExecs, 2 SuperNodes, watchdog"
    assert [p.name for p in scratch.iterdir()], "the work directory holds the keys while it runs"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while (own_processes() or list(scratch.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert own_processes() == set(), "every process started for the run is gone"
    assert list(scratch.iterdir()) == [], "the work directory (TLS keys) is removed"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_too_few_planned_clients_is_exit_1_without_starting_anything(tmp_path: Path, run, monkeypatch) -> None:
    before = flower_processes()
    _fleet(tmp_path, clients=3, min_clients=3, holders=2)  # the third site lacks the data claim
    monkeypatch.chdir(tmp_path)
    result = run("simulate", "digits", "--json")
    report = json.loads(result.out)
    assert result.code == 1 and not report["ok"] and report["exitCode"] == 1
    assert "can select only 2 client(s), fewer than minAvailableClients=3" in report["error"]
    assert flower_processes() - before == set()


def test_a_cluster_claimed_by_two_flower_jobs_is_bad_input(tmp_path: Path) -> None:
    holders = {"site-0": "/d", "site-1": "/d"}
    jobs = [job("a", holders), job("b", holders, namespace="fl-b")]
    clusters = [cluster(n, claims={"a.client-data": "/d", "b.client-data": "/d"}) for n in holders]
    specs = write_specs(tmp_path, clusters, jobs)
    with pytest.raises(InputError) as err:
        pipeline.render(pipeline.Paths(specs, tmp_path))
    messages = [f.render() for f in err.value.findings]
    assert any("cluster 'site-0' is selected by Flower jobs 'a' and 'b'" in m and "jobs.yaml:" in m for m in messages)


def test_openfl_job_and_unknown_job_are_bad_input(fleet_repo: Path, run) -> None:
    assert run("simulate", "ct-segment-us").code == 2
    assert "simulate runs Flower jobs" in run("simulate", "ct-segment-us").err
    assert run("simulate", "no-such-job").code == 2


def test_flower_version_is_pinned_in_one_place(example) -> None:
    import tomllib

    import flwr

    from fedfleet.versions import FLOWER_VERSION, IMAGE_TAG

    assert FLOWER_VERSION == "1.26.1", "the FL controller's Flower (its manifests speak 1.26)"
    app = tomllib.loads((APP / "pyproject.toml").read_text())
    assert f"flwr=={FLOWER_VERSION}" in app["project"]["dependencies"]
    assert flwr.__version__ == FLOWER_VERSION, "the installed flwr is the pinned one"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert f"flwr=={FLOWER_VERSION}" in project["project"]["optional-dependencies"]["simulate"], "the simulate extra"
    _, objects = example
    images = {c["image"] for o in objects if o["kind"] == "Deployment" for c in o["spec"]["template"]["spec"]["containers"]}
    images |= {c["image"] for c in _supernode(objects)["spec"]["template"]["spec"]["containers"]}
    images |= {v["value"] for o in objects if o["kind"] == "AddOnDeploymentConfig"
               for v in o["spec"]["customizedVariables"] if v["name"] == "IMAGE"}
    flower_images = {i for i in images if i.startswith("flwr/")}
    assert flower_images == {f"flwr/superlink:{IMAGE_TAG}", f"flwr/supernode:{IMAGE_TAG}"}
    for spec in (EXAMPLE_SPECS / "jobs").glob("*.yaml"):
        if "framework: flower" in spec.read_text():
            assert f"flwr{FLOWER_VERSION}" in spec.read_text(), f"{spec.name}: the app image is built on {FLOWER_VERSION}"
