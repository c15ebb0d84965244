"""The embedded Rego engine in a process of its own, started before check renders anything and
handed its input (a JSON file) once the input is written.

Why a new interpreter and not a fork of `check`: a forked child's peak RSS counts every page it
shares with the parent (the fleet, the plan, the rendered bundle), and the kernel reports the
largest process of the tree as the run's peak; at 40,000 clusters the forked child reached 2 GiB
(1.4 GiB of the parent's pages plus regorus's copy of a 116 MB input). A fresh interpreter holds
only regorus's value of the input (about 3.4x the text: bench/check.py prints it).
It also runs beside the parent's other checks (regorus holds the GIL while it evaluates).

Why started first: its interpreter and imports (about 0.1 s; it imports checks/embedded.py, not
the render) then overlap the render and the builds instead of delaying Rego's answer, which is the
last thing check waits for.

Protocol: the process waits on stdin for one JSON message, {"input": path, "modules": path} (the
modules file: [[name, source, origin], ...]); stdin closed without a message (the cached answer was
reused, or check is leaving) ends it at once, with no output. stdout is one JSON answer:
{"results": {package: {"deny": [...], "warn": [...]}}, "seconds": s}, {"input_error": [finding,
...]} or {"crash": traceback}; "seconds" counts from the message.
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
from .embedded import EmbeddedEngine, RegoModule


def _answer(modules: list[RegoModule], input_path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        # regorus reads the file itself: no Python copy of the text besides its value
        out: dict[str, Any] = {"results": EmbeddedEngine().evaluate_file(modules, input_path)}
    except InputError as exc:
        from . import cache  # the error path only: cache imports what the child never needs otherwise

        out = {"input_error": [cache.finding_to(f) for f in exc.findings]}
    except Exception:  # noqa: BLE001 - raised again by the parent, which reports it
        out = {"crash": traceback.format_exc()}
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def _modules_of(path: Path) -> list[RegoModule]:
    return [RegoModule(*m) for m in orjson.loads(path.read_bytes())]


def main() -> None:
    import regorus  # noqa: F401 - loaded while the parent renders, not after its message

    message = sys.stdin.buffer.read()
    if not message:  # closed without a message: nothing to evaluate
        return
    asked = orjson.loads(message)
    answer = _answer(_modules_of(Path(asked["modules"])), Path(asked["input"]))
    sys.stdout.buffer.write(orjson.dumps(answer))
    sys.stdout.buffer.flush()


class RegoProcess:
    """One evaluation in its own process (`python -m fedfleet.checks.regoproc`): started at once,
    handed the input with evaluate() (its modules are written beside the input file), read with
    result(); the caller removes both files after result(). close() ends it whatever its state
    (never left running or unwaited). When no process can be started (no memory or process slot)
    evaluate() evaluates here and now. A process killed (the kernel's OOM killer), exiting non-zero
    or sending a cut-off answer is an error finding of the rego run (InputError) naming what
    happened. RegoProcess(modules, input_path) starts and hands over in one step."""

    def __init__(self, modules: list[RegoModule] | None = None, input_path: Path | None = None) -> None:
        self.payload: dict[str, Any] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.asked = False
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE)
        except OSError:
            self.proc = None
        if modules is not None and input_path is not None:
            self.evaluate(modules, input_path)

    def evaluate(self, modules: list[RegoModule], input_path: Path) -> None:
        # the modules beside the input (the message stays one small write the pipe always takes)
        modules_path = input_path.with_name(input_path.name + ".modules")
        modules_path.write_bytes(orjson.dumps([[m.name, m.source, m.origin] for m in modules]))
        self.asked = True
        if self.proc is None:
            self.payload = _answer(modules, input_path)
            return
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(orjson.dumps({"input": str(input_path), "modules": str(modules_path)}))
            self.proc.stdin.close()
        except OSError:  # the process is gone already: result() says how it ended
            pass

    def _end_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def _collect(self) -> dict[str, Any]:
        if self.payload is None:
            assert self.proc is not None and self.proc.stdout is not None
            self._end_stdin()
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
        """End the process without its result (the cached answer was reused, or the caller is
        leaving): killed, whether it still waits for its input or evaluates (it has written
        nothing anyone reads), and waited for. Nothing to do after result()."""
        if self.proc is None or self.payload is not None:
            return
        self.proc.kill()
        self._end_stdin()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc.wait()
        self.payload = {"lost": "closed"}

    def result(self) -> tuple[dict[str, dict[str, list[Any]]], float]:
        if not self.asked:
            raise RuntimeError("RegoProcess.result() before evaluate()")
        payload = self._collect()
        if "input_error" in payload:
            from . import cache

            raise InputError([cache.finding_from(f) for f in payload["input_error"]])
        if "lost" in payload:  # an error finding of the rego run, not a traceback
            raise InputError([Finding("rego", payload["lost"])])
        if "crash" in payload:
            raise RuntimeError(f"the Rego evaluation failed:\n{payload['crash']}")
        return payload["results"], payload["seconds"]


if __name__ == "__main__":
    # Leave at once on a closed pipe or a signal, as a worker whose parent is gone should. Ctrl-C
    # reaches this process too (the terminal signals the whole foreground group) while it waits
    # for its input, which is most of check's run: it ends quietly, and check says "interrupted"
    # (Python's handler printed a KeyboardInterrupt traceback from here).
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    main()
    os._exit(0)  # no teardown of regorus's value: the answer is written
