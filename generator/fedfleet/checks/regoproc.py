"""The embedded Rego engine in a process of its own, fed the input document as JSON text.

Why a new interpreter and not a fork of `check`: a forked child's peak RSS counts every page it
shares with the parent (the fleet, the plan, the rendered bundle), and the kernel reports the
largest process of the tree as the run's peak; at 40,000 clusters the forked child reached 2 GiB
(1.4 GiB of the parent's pages plus regorus's copy of a 116 MB input). A fresh interpreter holds
only the input text and regorus's value of it (about 3.4x the text: bench/check.py prints it).
It also runs beside the parent's other checks (regorus holds the GIL while it evaluates).

Protocol: the arguments are the file that holds the input document (JSON) and the file of the
modules (JSON: [[name, source, origin], ...]); stdout is one JSON answer: {"results": {package: {"deny": [...], "warn": [...]}},
"seconds": s}, {"input_error": [finding, ...]} or {"crash": traceback}.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

from ..findings import Finding, InputError
from . import cache
from .rego import EmbeddedEngine, RegoModule


def _answer(modules: list[RegoModule], input_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        # read in one piece (the file's size is known), and the bytes dropped before regorus
        # reads the text: at most two copies of the input besides regorus's value
        data = input_path.read_bytes()
        text = data.decode()
        del data
        out: dict[str, Any] = {"results": EmbeddedEngine().evaluate_json(modules, text)}
    except InputError as exc:
        out = {"input_error": [cache.finding_to(f) for f in exc.findings]}
    except Exception:  # noqa: BLE001 - raised again by the parent, which reports it
        out = {"crash": traceback.format_exc()}
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def main(input_path: str, modules_path: str) -> None:
    modules = [RegoModule(*m) for m in orjson.loads(Path(modules_path).read_bytes())]
    sys.stdout.buffer.write(orjson.dumps(_answer(modules, Path(input_path))))
    sys.stdout.buffer.flush()


class RegoProcess:
    """One evaluation in its own process (`python -m fedfleet.checks.regoproc`), started with the
    input file (its modules are written beside it) and read with result(); the caller removes both
    files after result(). When no process can be started (no memory or process slot)
    it evaluates here and now. A process killed (the kernel's OOM killer), exiting non-zero or
    sending a cut-off answer is an error finding of the rego run (InputError) naming what happened."""

    def __init__(self, modules: list[RegoModule], input_path: Path) -> None:
        self.payload: dict[str, Any] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        # the modules beside the input (a pipe would hold this process until the child reads it)
        modules_path = input_path.with_name(input_path.name + ".modules")
        modules_path.write_bytes(orjson.dumps([[m.name, m.source, m.origin] for m in modules]))
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", __name__, str(input_path), str(modules_path)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        except OSError:
            self.payload = _answer(modules, input_path)

    def _collect(self) -> dict[str, Any]:
        if self.payload is None:
            assert self.proc is not None and self.proc.stdout is not None
            data = self.proc.stdout.read()
            self.proc.stdout.close()
            code = self.proc.wait()
            try:
                answer = orjson.loads(data) if data else None
            except orjson.JSONDecodeError:
                answer = None
            if code < 0:  # killed (the kernel's OOM killer, a timeout): no answer to trust
                try:
                    name = signal.Signals(-code).name
                except ValueError:  # a real-time signal has no name
                    name = f"number {-code}"
                why = f"was killed by signal {name}"
            elif code > 0:
                why = f"exited with status {code}"
            elif not data:
                why = "ended without an answer"
            elif answer is None:
                why = f"sent a truncated answer ({len(data)} bytes that are not a whole JSON document)"
            else:
                why = ""
            self.payload = answer if not why and isinstance(answer, dict) else {
                "lost": f"the Rego evaluation did not complete: its process (pid {self.proc.pid}) {why or 'sent no result'}"}
        return self.payload

    def close(self) -> None:
        """Wait for the process without its result (the caller is leaving with an error)."""
        if self.proc is not None and self.payload is None:
            self.proc.kill()
        self._collect()

    def result(self) -> tuple[dict[str, dict[str, list[Any]]], float]:
        payload = self._collect()
        if "input_error" in payload:
            raise InputError([cache.finding_from(f) for f in payload["input_error"]])
        if "lost" in payload:  # an error finding of the rego run, not a traceback
            raise InputError([Finding("rego", payload["lost"])])
        if "crash" in payload:
            raise RuntimeError(f"the Rego evaluation failed:\n{payload['crash']}")
        return payload["results"], payload["seconds"]


if __name__ == "__main__":
    # Leave at once on a closed pipe or a signal, as a worker whose parent is gone should.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main(sys.argv[1], sys.argv[2])
    os._exit(0)  # no teardown of regorus's value: the answer is written
