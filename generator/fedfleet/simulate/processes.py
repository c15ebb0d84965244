"""Processes started in their own session, and a teardown that leaves nothing behind.

Flower's SuperLink has been seen to ignore SIGTERM, and the `flower-superexec` it spawns sits in a
process group of its own and outlives its parent. So teardown collects every descendant of what
we started (walking /proc), signals every process group involved with SIGTERM, waits a grace
period, sends SIGKILL to whatever is left, and reports any survivor.
"""

from __future__ import annotations

import functools
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .lifetime import Watchdog, die_with_parent, kill_marked


_PICK = random.Random()  # its own generator: a test seeding `random` does not make ports collide
_BELOW_EPHEMERAL = 12000  # how many ports below the kernel's ephemeral range are candidates


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel gives outgoing connections and bind(0) (Linux; 32768-60999 by default)."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, for a process started next to bind.

    Taken below the kernel's ephemeral range: a port from bind(0) is free again once this returns,
    and until the Flower process binds it any outgoing connection on the machine may get it as its
    local port, so the SuperLink or a SuperNode fails to bind and the preview stops ("exited early"
    under a CI run's load). Below the range only another process choosing the same way could take
    it, at random among thousands. Falls back to bind(0) when the range starts too low."""
    low, _ = ephemeral_range()
    if low - _BELOW_EPHEMERAL >= 1024:
        for _ in range(100):
            port = _PICK.randrange(low - _BELOW_EPHEMERAL, low)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(roots: list[int]) -> set[int]:
    children = _children_map()
    found: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (/proc stat field 22): identity across pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone, only not yet reaped


@dataclass
class ProcessSet:
    """Everything one preview started; `stop()` is safe to call any number of times.

    The processes die with fedfleet even when fedfleet is SIGKILLed, and the work directory (key
    material) goes with them: see lifetime.py (PR_SET_PDEATHSIG, an inherited run marker, a
    watchdog process)."""

    workdir: Path
    env: dict[str, str]
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    seen: dict[int, int] = field(default_factory=dict)  # pid -> start time
    watchdog: Watchdog | None = None

    def __post_init__(self) -> None:
        self.watchdog = Watchdog(self.workdir)
        self.env = self.watchdog.env(self.env)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start `argv` (with `env`, default the set's) in a session of its own; whatever the
        environment, it carries the run marker, so the watchdog finds it and its children."""
        run_env = self.watchdog.env(env or self.env) if self.watchdog else (env or self.env)
        # Each process gets a temporary directory of its own inside the run's work directory, as
        # each container has its own /tmp: what it leaves there (the tunnel wrapper's PID file,
        # render/tunnel.py PID_FILE) goes with the work directory, even after a SIGKILL of simulate.
        tmp = self.workdir / "tmp" / name
        tmp.mkdir(parents=True, exist_ok=True)
        run_env = {**run_env, "TMPDIR": str(tmp)}
        log = (self.workdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=run_env, cwd=self.workdir, start_new_session=True,
                                preexec_fn=functools.partial(die_with_parent, os.getpid()))
        log.close()
        self.started.append((name, proc))
        return proc

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def remember_descendants(self) -> None:
        """Note every process our processes have spawned so far (called while they run)."""
        for pid in descendants([p.pid for _, p in self.started]) | {p.pid for _, p in self.started}:
            started = start_time(pid)
            if started is not None:
                self.seen.setdefault(pid, started)

    def _ours(self) -> set[int]:
        """Seen pids that are still the same processes (not a reused pid)."""
        return {pid for pid, t in self.seen.items() if start_time(pid) == t}

    def stop(self, grace: float = 1.0) -> list[int]:
        """SIGTERM every group, SIGKILL survivors after `grace` seconds; returns pids still alive."""
        self.remember_descendants()
        pids = self._ours()
        groups = set()
        for pid in pids:
            try:
                groups.add(os.getpgid(pid))
            except ProcessLookupError:
                pass
        groups.discard(os.getpgid(0))  # never signal our own group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pgid in groups:
                try:
                    os.killpg(pgid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 2.0)
            while time.monotonic() < deadline and any(alive(pid) for pid in self._ours()):
                for _, proc in self.started:
                    proc.poll()  # reap our direct children
                time.sleep(0.05)
            if not any(alive(pid) for pid in self._ours()):
                break
        for _, proc in self.started:
            proc.poll()
        # What our walk of /proc missed (a process started between two looks, re-parented to
        # init): every process that carries this run's marker.
        leftover = set(kill_marked(self.watchdog.marker)) if self.watchdog else set()
        if self.watchdog:
            self.watchdog.close()
        return sorted(leftover | {pid for pid in self._ours() if alive(pid)})
