"""The process-lifetime mechanism of simulate (issue 13, case 13) without Flower: processes and
their detached grandchildren die, and the work directory goes, when their starter is SIGKILLed.

The starter is a child forked by this test; everything it starts is found by an environment tag
this test sets, so only the test's own descendants are ever looked at or signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from fedfleet.simulate.lifetime import RUN_MARKER, die_with_parent, marked_processes
from fedfleet.simulate.processes import ProcessSet

TAG = "FEDFLEET_TEST_TAG"


def tagged(tag: str) -> set[int]:
    """Live processes started (exec'ed) with the tag in their environment. A process forked
    without exec shows its original environment in /proc, so the forked starter is not among them."""
    needle = f"{TAG}={tag}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        found.add(int(entry.name))
            except OSError:
                continue
    return found


def wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def starter(body) -> int:  # type: ignore[no-untyped-def]
    """Fork a child that runs body() and then sleeps until killed; returns its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            body()
            time.sleep(600)
        finally:
            os._exit(0)
    return pid


def test_pdeathsig_kills_a_direct_child_with_its_parent(monkeypatch) -> None:
    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)

    def body() -> None:
        me = os.getpid()  # the parent's pid, taken before the fork
        subprocess.Popen(["sleep", "600"], start_new_session=True, preexec_fn=lambda: die_with_parent(me))

    pid = starter(body)
    try:
        assert wait_until(lambda: len(tagged(tag)) == 1, 10)  # the sleep
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert wait_until(lambda: not tagged(tag), 5), "the child dies with its parent (no watchdog here)"


def test_watchdog_takes_detached_grandchildren_and_the_work_directory(tmp_path: Path, monkeypatch) -> None:
    """A SuperLink starts its SuperExec in a session of its own, which PDEATHSIG does not reach."""
    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "node.key").write_text("private key material\n")
    found: list[str] = []

    def body() -> None:
        procs = ProcessSet(workdir, dict(os.environ))
        # a child that starts a grandchild in a new session and does not wait for it
        procs.start("parent", [sys.executable, "-c", "import subprocess, time; "
                               "subprocess.Popen(['sleep', '600'], start_new_session=True); time.sleep(600)"])

    pid = starter(body)
    try:
        # the watchdog, the child and the detached grandchild
        assert wait_until(lambda: len(tagged(tag)) == 3, 15), tagged(tag)
        marker = next(line.split("=", 1)[1] for p in tagged(tag) for line in
                      Path(f"/proc/{p}/environ").read_bytes().decode(errors="replace").split("\0")
                      if line.startswith(f"{RUN_MARKER}="))
        found.extend(str(p) for p in marked_processes(marker))
        assert len(found) == 2, "the child and the grandchild carry the run marker, the watchdog does not"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert wait_until(lambda: not tagged(tag), 10), tagged(tag)
    assert not workdir.exists(), "the work directory with the keys is removed"


def test_a_normal_stop_leaves_the_work_directory_to_its_owner(tmp_path: Path, monkeypatch) -> None:
    tag = uuid.uuid4().hex
    monkeypatch.setenv(TAG, tag)
    procs = ProcessSet(tmp_path, dict(os.environ))
    procs.start("sleeper", ["sleep", "600"])
    assert procs.stop(grace=0.2) == []
    assert wait_until(lambda: not tagged(tag), 5)
    assert tmp_path.exists() and (tmp_path / "sleeper.log").exists()
