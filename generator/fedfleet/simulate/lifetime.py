"""Processes that die with fedfleet, however fedfleet dies, and take their key material with them.

Three layers, because no single one is enough:
1. Every process fedfleet starts gets PR_SET_PDEATHSIG=SIGKILL (prctl, in the child between fork
   and exec): the kernel kills it the moment fedfleet's thread that started it dies, SIGKILL of
   fedfleet included. The flag is not inherited across fork, so it does not reach grandchildren
   such as the `flower-superexec` a SuperLink starts in a session of its own.
2. Every process fedfleet starts carries RUN_MARKER=<run id> in its environment, and its children
   inherit it (Flower starts SuperExec with the parent's environment): `/proc/<pid>/environ` finds
   all of them, even after they were re-parented to init.
3. A watchdog: this file run as a script (standard library only, so it starts in ~50 ms), in a
   session of its own, holding the read end of a pipe whose write end only fedfleet holds. When
   fedfleet dies the kernel closes the pipe; the watchdog reads end-of-file, SIGTERMs then SIGKILLs
   every process carrying the run's marker, and deletes the run's work directory (TLS keys,
   SuperNode keys, the SuperLink database). On a normal teardown fedfleet has done all that itself
   and the watchdog finds nothing left to do.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

RUN_MARKER = "FEDFLEET_SIMULATE_RUN"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork, not in the child


def die_with_parent(parent: int) -> None:
    """For Popen(preexec_fn=...): SIGKILL this child when its parent dies (and if the parent died
    before this ran, now). Little work between fork and exec: one prctl, one getppid."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def marked(pid: int, marker: str) -> bool:
    """True when the process `pid` carries RUN_MARKER=marker in its environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or not ours to read
        return False
    return f"{RUN_MARKER}={marker}".encode() in environ.split(b"\0")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def marked_processes(marker: str) -> set[int]:
    """Live processes (not zombies) of the run `marker`, this one excluded."""
    me = os.getpid()
    return {int(e.name) for e in Path("/proc").iterdir()
            if e.name.isdigit() and int(e.name) != me and marked(int(e.name), marker) and _state(int(e.name)) not in ("Z", "gone")}


def kill_marked(marker: str, grace: float = 1.0) -> list[int]:
    """SIGTERM every process of the run, SIGKILL what is left after `grace` s; returns survivors.
    Repeated until no new process appears (one may fork while we signal)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        deadline = time.monotonic() + wait
        while True:
            pids = marked_processes(marker)
            if not pids:
                return []
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    return sorted(marked_processes(marker))


class Watchdog:
    """The watchdog process of one run; `close()` ends it after a normal teardown."""

    def __init__(self, workdir: Path) -> None:
        self.marker = uuid.uuid4().hex
        self.workdir = workdir
        env = {k: v for k, v in os.environ.items() if k != RUN_MARKER}  # never kill itself
        self.proc = subprocess.Popen(
            [sys.executable, "-S", str(Path(__file__).resolve()), self.marker, str(workdir)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            start_new_session=True, close_fds=True)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, RUN_MARKER: self.marker}

    def close(self) -> None:
        """After fedfleet's own teardown: the watchdog sweeps once more and exits; the work
        directory stays for its owner (who removes it)."""
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.write(_DONE)
                self.proc.stdin.close()
            except BrokenPipeError:  # the watchdog is gone already
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _watch(marker: str, workdir: Path) -> None:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # a Ctrl-C for fedfleet's group must not stop the sweep
    received = b""
    while chunk := sys.stdin.buffer.read(4096):  # b"" only once fedfleet closed the pipe or died
        received += chunk
    kill_marked(marker)
    if not received.endswith(_DONE):  # fedfleet died: nobody else will remove the keys
        shutil.rmtree(workdir, ignore_errors=True)


_DONE = b"done\n"

if __name__ == "__main__":
    _watch(sys.argv[1], Path(sys.argv[2]))
