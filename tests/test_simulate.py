"""Flower preview: a real federation on loopback, TLS, teardown, SuperNode auth, short plans.

These tests start real flower-superlink / flower-supernode processes on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO
from fedfleet import pipeline
from fedfleet.simulate import SimulationError, run_simulation
from fedfleet.simulate.certs import make_tls
from fedfleet.simulate.processes import alive
from fedfleet.simulate.run import superlink, tls_refuses_unknown_ca
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


def _fleet(tmp_path: Path, clients: int, min_clients: int, holders: int | None = None, **sim) -> pipeline.Rendered:
    names = [f"site-{i}" for i in range(clients)]
    with_claim = names[: holders if holders is not None else clients]
    spec = job("digits", {n: f"/data/{n}" for n in names}, min_clients=min_clients)
    # The app lives in the fleet repository: a path that leaves it is refused (issue 13, case 3).
    shutil.copytree(APP, tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    spec["spec"]["simulation"] = {"app": "app", **sim}
    clusters = [cluster(n, claims={"digits.client-data": f"/data/{n}"} if n in with_claim else {}) for n in names]
    specs = write_specs(tmp_path, clusters, [spec])
    return pipeline.render(pipeline.Paths(specs, tmp_path))


@pytest.mark.flower
def test_a_real_federation_trains_with_tls_and_supernode_auth_and_leaves_nothing_running(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    # One federation for both: TLS is always on, SuperNode authentication is the job's choice.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # ours alone, on a machine others share
    before = flower_processes()
    rendered = _fleet(tmp_path, clients=2, min_clients=2, supernodeAuth=True)
    seen: list[str] = []
    result = run_simulation(rendered.fleet, rendered.plan, "digits", rounds=2, progress=seen.append)
    assert result.tls and result.supernode_auth and result.clients == ["site-0", "site-1"]
    assert any("SuperNode authentication on" in m for m in seen)
    assert [r["round"] for r in result.rounds] == [0, 1, 2]
    assert result.rounds[0]["accuracy"] < 0.2  # the untrained model is at chance (10 classes)
    assert result.federated_accuracy > 0.8 > result.rounds[0]["accuracy"]
    assert 0.9 < result.ratio < 1.1 and result.centralized_accuracy > 0.85
    assert any(m.startswith("SuperLink on 127.0.0.1:") and "TLS" in m for m in seen)
    assert any(m.startswith("round 2:") for m in seen), "progress is streamed round by round"
    assert flower_processes() - before == set(), "every Flower process must be gone"
    assert not list(scratch.iterdir()), "temporary files removed"


@pytest.mark.flower
def test_superlink_refuses_a_client_that_does_not_trust_the_ca(tmp_path: Path) -> None:
    before = flower_processes()
    tls = make_tls(tmp_path)
    with superlink(tmp_path, tls) as (_procs, port):
        assert tls_refuses_unknown_ca(port)
        trusted = ssl.create_default_context(cafile=str(tls.ca))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with trusted.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                assert conn.version() in ("TLSv1.2", "TLSv1.3")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:  # plain HTTP is not served
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            raw.settimeout(5)
            reply = raw.recv(200)
            assert not reply.startswith(b"HTTP/1.1 200")
    assert flower_processes() - before == set()


@pytest.mark.flower
def test_timeout_tears_everything_down(tmp_path: Path) -> None:
    before = flower_processes()
    rendered = _fleet(tmp_path, clients=2, min_clients=2)
    with pytest.raises(SimulationError, match="did not finish within 6 s"):
        run_simulation(rendered.fleet, rendered.plan, "digits", rounds=5, timeout=6)
    assert flower_processes() - before == set()


@pytest.mark.flower
def test_sigkill_of_simulate_takes_every_process_and_the_keys_with_it(tmp_path: Path, own_tag: str) -> None:
    """Issue 13, case 13: SIGKILL of `fedfleet simulate` left 10 Flower processes running (the
    SuperLink still listening) and the work directory with the private keys on disk."""
    _fleet(tmp_path, clients=2, min_clients=2, supernodeAuth=True)
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
    assert list(scratch.iterdir()) == [], "the work directory (TLS and SuperNode keys) is removed"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_too_few_planned_clients_is_exit_1_without_starting_anything(tmp_path: Path, run, monkeypatch) -> None:
    before = flower_processes()
    _fleet(tmp_path, clients=3, min_clients=3, holders=2)  # the third site lacks the data claim
    monkeypatch.chdir(tmp_path)
    result = run("simulate", "digits", "--json")
    report = json.loads(result.out)
    assert result.code == 1 and not report["ok"]
    assert "can select only 2 client(s), fewer than minAvailableClients=3" in report["error"]
    assert flower_processes() - before == set()


def test_openfl_job_and_unknown_job_are_bad_input(fleet_repo: Path, run) -> None:
    assert run("simulate", "ct-segment-us").code == 2
    assert "simulate runs Flower jobs" in run("simulate", "ct-segment-us").err
    assert run("simulate", "no-such-job").code == 2


def test_flower_version_is_pinned_in_one_place() -> None:
    import tomllib

    import flwr

    from fedfleet.render.addon import base_objects
    from fedfleet.versions import FLOWER_VERSION

    app = tomllib.loads((APP / "pyproject.toml").read_text())
    assert f"flwr=={FLOWER_VERSION}" in app["project"]["dependencies"]
    assert flwr.__version__ == FLOWER_VERSION, "the installed flwr is the pinned one"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert f"flwr=={FLOWER_VERSION}" in project["project"]["dependencies"]
    superlink_image = base_objects()["superlink.yaml"][0]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert superlink_image.endswith(f":{FLOWER_VERSION}")
