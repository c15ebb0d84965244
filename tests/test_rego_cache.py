"""The Rego result cache never returns a stale answer: it is reused only for the same input JSON,
the same modules (name and source) and the same engine (regorus's files, checks/rego.py); one
byte of any of them evaluates again; a damaged entry is a miss; another engine is never cached.
Every evaluation here is the real embedded engine."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

import pytest
import regorus

from fedfleet import pipeline
from fedfleet.checks import rego


@pytest.fixture
def rendered(fleet_repo: Path) -> pipeline.Rendered:
    job = fleet_repo / "specs" / "jobs" / "mnist-eu.yaml"
    job.write_text(job.read_text().replace("tls: {enabled: true}", "tls: {enabled: false}", 1))  # a finding
    return pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))


def _modules(r: pipeline.Rendered) -> list[rego.RegoModule]:
    return rego.plugin_modules(r.registry.rego_modules())


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    count = [0]
    real = rego.EmbeddedEngine.evaluate_json

    def counted(self: rego.EmbeddedEngine, modules: list[rego.RegoModule], text: str) -> Any:
        count[0] += 1
        return real(self, modules, text)

    monkeypatch.setattr(rego.EmbeddedEngine, "evaluate_json", counted)
    return count


def _run(r: pipeline.Rendered, cache: Path | None, modules: list[rego.RegoModule] | None = None,
         bundle: Any = None) -> rego.RegoResult:
    return rego.evaluate(r.fleet, r.plan, r.bundle if bundle is None else bundle, modules or _modules(r),
                         rego.EmbeddedEngine(), cache)


def _same(a: rego.RegoResult, b: rego.RegoResult) -> bool:
    return [f.render() for f in a.findings] == [f.render() for f in b.findings] and a.packages == b.packages


def test_an_unchanged_input_reuses_the_answer(rendered: pipeline.Rendered, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    uncached = _run(rendered, None)
    assert any(f.check.startswith("rego:") for f in uncached.findings)
    count = _counting(monkeypatch)
    cold = _run(rendered, tmp_path)
    warm = _run(rendered, tmp_path)
    assert count[0] == 1 and not cold.reused and warm.reused
    assert _same(cold, uncached) and _same(warm, uncached)


def test_one_byte_of_the_input_evaluates_again(rendered: pipeline.Rendered, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _run(rendered, tmp_path)
    count = _counting(monkeypatch)
    path = next(p for p, docs in sorted(rendered.bundle.items()) if any(d.get("kind") == "ConfigMap" for d in docs))
    docs = [dict(d) for d in rendered.bundle[path]]
    cm = next(i for i, d in enumerate(docs) if d.get("kind") == "ConfigMap")
    docs[cm] = {**docs[cm], "metadata": {**docs[cm]["metadata"], "name": docs[cm]["metadata"]["name"] + "x"}}
    edited = {**rendered.bundle, path: docs}
    again = _run(rendered, tmp_path, bundle=edited)
    assert count[0] == 1 and not again.reused
    assert _same(again, _run(rendered, None, bundle=edited))


def test_one_byte_of_a_module_evaluates_again(rendered: pipeline.Rendered, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    modules = _modules(rendered)
    before = _run(rendered, tmp_path, modules)
    count = _counting(monkeypatch)
    # the tls twin's deny message gets one more character: the answer must show it
    i = next(i for i, m in enumerate(modules) if "deny contains" in m.source and "tls" in m.name)
    source = modules[i].source
    at = source.index('"', source.index("deny contains")) + 1
    modules[i] = rego.RegoModule(modules[i].name, source[:at] + "!" + source[at:], modules[i].origin)
    again = _run(rendered, tmp_path, modules)
    assert count[0] == 1 and not again.reused
    assert _same(again, _run(rendered, None, modules)) and not _same(again, before)
    # and a module renamed, same source: evaluated again too
    modules[i] = rego.RegoModule(modules[i].name + ".rego", modules[i].source, modules[i].origin)
    _run(rendered, tmp_path, modules)
    assert count[0] == 3  # the edited modules, the uncached reference run, the renamed module


def test_another_engine_build_evaluates_again(rendered: pipeline.Rendered, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _run(rendered, tmp_path)
    count = _counting(monkeypatch)
    # a copy of the installed regorus package with one byte more in one of its files
    package = Path(regorus.__file__).parent
    copy = tmp_path / "regorus"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "__init__.py").write_bytes((copy / "__init__.py").read_bytes() + b"\n")
    monkeypatch.setattr(regorus, "__file__", str(copy / "__init__.py"))
    monkeypatch.setattr(rego, "_engine_identity", None)
    again = _run(rendered, tmp_path)
    assert count[0] == 1 and not again.reused
    # and this module's own source (which rules are asked, how the answer is read)
    module = tmp_path / "rego.py"
    module.write_bytes(Path(rego.__file__).read_bytes() + b"\n")
    monkeypatch.setattr(rego, "__file__", str(module))
    monkeypatch.setattr(rego, "_engine_identity", None)
    _run(rendered, tmp_path)
    assert count[0] == 2
    # and the engine's module (checks/embedded.py: the query, how its answer is read)
    from fedfleet.checks import embedded

    module = tmp_path / "embedded.py"
    module.write_bytes(Path(embedded.__file__).read_bytes() + b"\n")
    monkeypatch.setattr(embedded, "__file__", str(module))
    monkeypatch.setattr(rego, "_engine_identity", None)
    _run(rendered, tmp_path)
    assert count[0] == 3


def test_a_damaged_or_misfiled_entry_is_a_miss(rendered: pipeline.Rendered, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _run(rendered, tmp_path)
    [entry] = sorted((tmp_path / "rego").rglob("*.json"))
    # another answer (no addon package), under another key
    _run(rendered, tmp_path, [m for m in _modules(rendered) if not m.name.startswith("plugins/addon/")])
    other = next(p for p in (tmp_path / "rego").rglob("*.json") if p != entry)
    count = _counting(monkeypatch)
    entry.write_bytes(entry.read_bytes()[:-3])  # truncated
    again = _run(rendered, tmp_path)
    assert count[0] == 1 and not again.reused and _same(again, cold)
    shutil.copy(other, entry)  # a whole entry, filed under this key
    again = _run(rendered, tmp_path)
    assert count[0] == 2 and not again.reused and _same(again, cold)
    assert _run(rendered, tmp_path).reused  # written again whole


def test_another_engine_is_never_cached(rendered: pipeline.Rendered, tmp_path: Path) -> None:
    class Other(rego.EmbeddedEngine):
        """A subclass may evaluate differently: not the engine the key names."""

    rego.evaluate(rendered.fleet, rendered.plan, rendered.bundle, _modules(rendered), Other(), tmp_path)
    assert not (tmp_path / "rego").exists()


def _in_process(r: pipeline.Rendered, tmp_path: Path, modules: list[rego.RegoModule] | None = None,
                path: str = "input.json") -> Path:
    """The input file check writes for its Rego process (the rendered bundle as the objects)."""
    target = tmp_path / path
    objects = [(o.path, o.hub, rego.object_json(o.object)) for o in rego.hub_objects(r.bundle, r.roots)]
    rego.write_input(target, r.fleet, r.plan, objects, lambda: rego.hub_objects(r.bundle, r.roots))
    return target


def test_rego_in_its_own_process_gives_what_it_gives_in_process(rendered: pipeline.Rendered, tmp_path: Path) -> None:
    """check runs the embedded engine in a process of its own (checks/regoproc.py): the same
    answer as in this process, the same bad input, and a crash is raised here, not lost."""
    from fedfleet.checks.regoproc import RegoProcess
    from fedfleet.findings import InputError

    modules = _modules(rendered)
    path = _in_process(rendered, tmp_path)
    there, seconds = RegoProcess(modules, path).result()
    here = rego.EmbeddedEngine().evaluate_json(modules, path.read_text())
    assert there == here and seconds > 0
    assert rego.to_findings(rendered.fleet, there) == _run(rendered, None).findings
    broken = [rego.RegoModule("broken.rego", "package fedfleet.broken\ndeny contains x if {", "test")]
    with pytest.raises(InputError) as bad:
        RegoProcess(broken, path).result()
    assert bad.value.findings[0].check == "rego" and bad.value.findings[0].location.file == "broken.rego"
    path.write_text("[1, 2")  # not an input regorus reads: its error, raised here with its traceback
    with pytest.raises(RuntimeError, match="the Rego evaluation failed:\n.*Traceback"):
        RegoProcess(modules, path).result()


def test_rego_runs_in_process_when_no_process_can_start(rendered: pipeline.Rendered, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """No process can be made (Popen raises OSError: no memory, no process slot): Rego runs here,
    with the same answer."""
    import subprocess

    from fedfleet.checks.regoproc import RegoProcess

    modules = _modules(rendered)
    path = _in_process(rendered, tmp_path)
    there, _ = RegoProcess(modules, path).result()

    def no_process(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    here, _ = RegoProcess(modules, path).result()
    assert here == there


@pytest.mark.parametrize("how, says", [
    ("killed", "killed by signal SIGKILL"),
    ("exit", "exited with status 3"),
    ("truncated", "truncated answer"),
    ("silent", "ended without an answer"),
])
def test_a_rego_process_that_does_not_answer_is_an_error_finding(how: str, says: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The process killed (the OOM killer), gone without writing, or cut off mid-answer: the parent
    reports an error finding of the rego check naming what happened, not a traceback. The process
    here is a real interpreter that does just that in place of the evaluation."""
    import subprocess
    import sys

    from fedfleet.checks.regoproc import RegoProcess
    from fedfleet.findings import InputError

    script = {"killed": "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
              "exit": "import os; os._exit(3)",
              "truncated": "import sys; sys.stdout.write('{\"resu')",
              "silent": "pass"}[how]
    real = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda argv, **kw: real([sys.executable, "-c", script], **kw))
    (tmp_path / "input.json").write_text("{}")
    process = RegoProcess([], tmp_path / "input.json")
    monkeypatch.undo()
    with pytest.raises(InputError) as lost:
        process.result()
    [finding] = lost.value.findings
    assert finding.check == "rego" and finding.severity.value == "error" and says in finding.message


def test_the_key_of_the_input_bytes_is_the_key_of_its_text(rendered: pipeline.Rendered) -> None:
    """check keeps the input as UTF-8 bytes (one copy): the same key as its text, and one byte
    more is another key."""
    data_input = rego.build_input(rendered.fleet, rendered.plan, rendered.bundle)
    data_input["parameters"]["note"] = "naïve ✓"  # beyond ASCII: UTF-8 and the text differ in length
    raw, text = rego.input_bytes(data_input), rego.input_json(data_input)
    assert raw == text.encode() and len(raw) > len(text)
    modules = _modules(rendered)
    assert rego.results_key(modules, raw) == rego.results_key(modules, text) != rego.results_key(modules, raw + b" ")


def test_check_starts_its_rego_process_first_and_always_ends_it(fleet_repo: Path, run: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """check starts the Rego process before it renders (it waits for its input), and however the
    run ends it is ended and waited for (no process left running, no zombie): an evaluation, the
    cached answer reused (nothing evaluated), specs that do not load, an error mid-run."""
    from fedfleet import write
    from fedfleet.checks import regoproc

    started: list[regoproc.RegoProcess] = []
    rendering: list[bool] = []
    real_init, real_render = regoproc.RegoProcess.__init__, pipeline.render

    def recording(self: regoproc.RegoProcess, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        started.append(self)
        rendering.append(False)

    def render(*args: Any, **kwargs: Any) -> Any:
        rendering.append(True)
        return real_render(*args, **kwargs)

    monkeypatch.setattr(regoproc.RegoProcess, "__init__", recording)
    monkeypatch.setattr(pipeline, "render", render)
    assert run("generate").code == 0
    rendering.clear()

    def ended() -> bool:
        return bool(started) and all(p.proc is not None and p.proc.returncode is not None for p in started)

    evaluated = run("check", "-o", "json")
    assert '"rego"' in evaluated.out and ended() and started[0].asked and rendering[:2] == [False, True]
    started.clear()
    reused = run("check", "-o", "json")
    assert "answer reused" in reused.out and ended() and not started[0].asked
    started.clear()
    fleet = fleet_repo / "specs" / "fleet.yaml"
    good = fleet.read_text()
    fleet.write_text(good + "\n  bogus: [\n")
    assert run("check").code == 2 and ended() and not started[0].asked
    started.clear()
    fleet.write_text(good)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("drift failed")

    monkeypatch.setattr(write, "compare", broken)
    with pytest.raises(RuntimeError, match="drift failed"):
        run("check", "--no-cache")  # no cached answer: the process was handed the input
    assert ended() and started[0].asked  # it was evaluating: killed and waited for


def test_kustomizes_identity_asked_beside_the_render_is_waited_for_however_check_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """check asks kustomize's version (a process) in a thread while the specs render. A run the
    render ends with anything but bad specs (an interrupt, a bug) has still waited for it: no
    `version` process outlives check (the CLI leaves by os._exit, which would kill the thread
    and leave its process behind). The kustomize here is a script that answers slowly."""
    from fedfleet.checks import suite

    answered = tmp_path / "answered"
    slow = tmp_path / "kustomize"
    slow.write_text(f"#!/bin/sh\nsleep 1\necho v5.0.0 > {answered}\necho v5.0.0\n")
    slow.chmod(0o755)
    monkeypatch.setenv("FEDFLEET_KUSTOMIZE", f"{slow} build")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "render", interrupted)
    with pytest.raises(KeyboardInterrupt):
        suite.run_checks(pipeline.Paths(tmp_path / "specs", tmp_path), [], None)
    assert answered.exists()  # the version process ran to its end before check returned


def test_an_interrupt_ends_the_waiting_rego_process_quietly(capfd: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C signals check's whole process group, so the Rego process that waits for its input
    (most of check's run) gets it too: it ends without a word (check itself says "interrupted"),
    not with a KeyboardInterrupt traceback on the terminal; closing it afterwards is safe."""
    import os
    import signal
    import time

    from fedfleet.checks.regoproc import RegoProcess

    process = RegoProcess()
    assert process.proc is not None
    time.sleep(1.5)  # past its imports: waiting on its input
    os.kill(process.proc.pid, signal.SIGINT)
    assert process.proc.wait(timeout=30) == -signal.SIGINT
    process.close()
    assert "Traceback" not in capfd.readouterr().err
