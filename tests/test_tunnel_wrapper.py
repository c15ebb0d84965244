"""Review finding 3: the registration tunnel's wrapper (render/tunnel.py RUN_SH) run for real with
/bin/sh and stunnel on loopback: TERM ends it within seconds, a dead stunnel ends it non-zero
(the kubelet restarts the container), SIGHUP reloads reach stunnel, and the cluster end's exec
liveness probe tells a running stunnel from a dead one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from fedfleet.render import tunnel
from fedfleet.simulate.certs import make_tls
from fedfleet.simulate.processes import free_port

pytestmark = pytest.mark.skipif(shutil.which("stunnel") is None, reason="stunnel is not installed (apt-get install -y stunnel4)")


def _start(tmp: Path, reload_seconds: int | None = None) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    make_tls(tmp)
    port, backend = free_port(), free_port()
    (tmp / "stunnel.conf").write_text("\n".join([
        "foreground = yes", "pid =", "debug = 6", "[t]", f"accept = 127.0.0.1:{port}", f"connect = 127.0.0.1:{backend}",
        f"cert = {tmp}/tls.crt", f"key = {tmp}/tls.key", ""]))
    script = tunnel.RUN_SH
    if reload_seconds is not None:
        script = script.replace(f"-ge {tunnel.RELOAD_SECONDS} ]", f"-ge {reload_seconds} ]")
        assert script != tunnel.RUN_SH
    (tmp / "run.sh").write_text(script)
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(["/bin/sh", str(tmp / "run.sh"), str(tmp / "stunnel.conf")], env=env,
                            stdout=open(tmp / "out.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while not (tmp / "fedfleet-tunnel.pid").is_file() or not (tmp / "fedfleet-tunnel.pid").read_text().strip():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    time.sleep(0.5)
    return proc, env


def _stunnel_pid(tmp: Path) -> int:
    return int((tmp / "fedfleet-tunnel.pid").read_text())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _probe(tmp: Path, env: dict[str, str]) -> int:
    [_, _, command] = tunnel.tunnel_container("c", [], None)["livenessProbe"]["exec"]["command"]
    return subprocess.run(["/bin/sh", "-c", command], env=env, timeout=10).returncode


def _cleanup(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_term_stops_stunnel_and_the_wrapper_within_seconds(tmp_path: Path) -> None:
    proc, env = _start(tmp_path)
    try:
        stunnel = _stunnel_pid(tmp_path)
        assert _alive(stunnel) and _probe(tmp_path, env) == 0
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        time.sleep(0.2)
        assert not _alive(stunnel)
    finally:
        _cleanup(proc)


def test_a_dead_stunnel_ends_the_wrapper_non_zero_and_fails_the_probe(tmp_path: Path) -> None:
    proc, env = _start(tmp_path)
    try:
        stunnel = _stunnel_pid(tmp_path)
        os.kill(stunnel, signal.SIGKILL)
        started = time.monotonic()
        assert proc.wait(timeout=15) != 0
        assert time.monotonic() - started <= tunnel.STEP_SECONDS + 3
        assert "stunnel exited with status" in (tmp_path / "out.log").read_text()
        assert _probe(tmp_path, env) != 0
    finally:
        _cleanup(proc)


def test_the_wrapper_sends_sighup_every_reload_interval(tmp_path: Path) -> None:
    proc, _env = _start(tmp_path, reload_seconds=2)
    try:
        deadline = time.monotonic() + 15
        # stunnel 5.68 re-reads its configuration (and with it the certificates) on SIGHUP.
        while (log := (tmp_path / "out.log").read_text(errors="replace")).count("Reading configuration from file") < 2:
            assert time.monotonic() < deadline, log
            time.sleep(0.5)
        assert proc.poll() is None
    finally:
        _cleanup(proc)
