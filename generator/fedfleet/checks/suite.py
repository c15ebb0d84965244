"""`fedfleet check`: every pull-request check in one run, into one result model.

spec validation -> drift -> real kustomize builds -> CRD schemas -> placeholders -> sync waves ->
placement feasibility -> Rego.
A spec that does not load stops the run (exit 2); every other check runs even when an earlier
one failed, so a reviewer sees everything at once.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import orjson

from .. import pipeline, write
from ..findings import Finding, InputError, Location, Severity, Subject
from ..results import CheckReport, CheckRun
from . import cache, conftest, crds, placeholders, rego, waves
from .built import Built, build_all, check_crds, default_cache
from .rego import HubObject


def _timed(run: CheckRun, started: float) -> CheckRun:
    run.seconds = round(time.perf_counter() - started, 3)
    return run


class _Beside:
    """`evaluate` run in a forked child while this process goes on; `result()` waits for it
    (and raises its InputError). The child shares this process's memory as it was (copy-on-write),
    sends the result back as JSON through a pipe, with the seconds it took, and exits without any
    cleanup of this process. Without fork (not Linux, or fork failing), or when asked not to (an
    OPA server client), it runs here and now. A child killed, exiting non-zero or sending a cut-off
    answer is an error finding of the rego run (through InputError), naming what happened."""

    def __init__(self, evaluate: Callable[[], rego.RegoResult], fork: bool) -> None:
        self.pid = 0
        self.payload: dict[str, Any] | None = None
        if not fork or sys.platform != "linux":
            self.payload = self._run(evaluate)
            return
        self.read, write_end = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:  # no memory or process slot for a child: run here, as without fork
            os.close(self.read)
            os.close(write_end)
            self.pid = 0
            self.payload = self._run(evaluate)
            return
        if self.pid == 0:  # the child: never returns into the caller
            code = 1
            try:
                os.close(self.read)
                with os.fdopen(write_end, "wb") as fh:
                    fh.write(orjson.dumps(self._run(evaluate)))
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)

    @staticmethod
    def _run(evaluate: Callable[[], rego.RegoResult]) -> dict[str, Any]:
        t = time.perf_counter()
        try:
            r = evaluate()
            out: dict[str, Any] = {"result": {"findings": [cache.finding_to(f) for f in r.findings],
                                              "packages": r.packages, "objects": r.objects, "reused": r.reused}}
        except InputError as exc:
            out = {"input_error": [cache.finding_to(f) for f in exc.findings]}
        except Exception:  # noqa: BLE001 - raised again by result(), in the process that reports
            out = {"crash": traceback.format_exc()}
        out["seconds"] = round(time.perf_counter() - t, 3)
        return out

    def _collect(self) -> dict[str, Any]:
        if self.payload is None:
            with os.fdopen(self.read, "rb") as fh:
                data = fh.read()
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
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
                "lost": f"the Rego evaluation did not complete: its process (pid {self.pid}) {why or 'sent no result'}"}
        return self.payload

    def close(self) -> None:
        """Wait for the child without its result (this process is leaving with an error)."""
        self._collect()

    def result(self) -> tuple[rego.RegoResult, float]:
        payload = self._collect()
        if "input_error" in payload:
            raise InputError([cache.finding_from(f) for f in payload["input_error"]])
        if "lost" in payload:  # an error finding of the rego run, not a traceback
            raise InputError([Finding("rego", payload["lost"])])
        if "crash" in payload:
            raise RuntimeError(f"the Rego evaluation failed:\n{payload['crash']}")
        r = payload["result"]
        return (rego.RegoResult([cache.finding_from(f) for f in r["findings"]], r["packages"], r["objects"],
                                r["reused"]), payload["seconds"])


def _rest(report: CheckReport, rendered: pipeline.Rendered, built: Built,
          lifecycle: Callable[[pipeline.Rendered], list[Finding]] | None, base: str) -> None:
    """The checks that run beside Rego: placeholders, sync waves, the plan, the lifecycle."""
    t = time.perf_counter()
    found = placeholders.spec_findings(rendered.fleet) + placeholders.object_findings(
        rendered.fleet, built.objects, built.hubs)
    errors = sum(1 for f in found if f.severity is Severity.ERROR)
    report.runs.append(_timed(CheckRun(
        "placeholders", "No example hosts, unreachable SuperLink addresses or unpinned images (errors in prod)", found,
        summary=f"{len(found)} placeholder(s), {errors} error(s)" if found else "none found"), t))

    t = time.perf_counter()
    wave_findings, needs = waves.check(built.objects)
    report.runs.append(_timed(CheckRun(
        "waves", "Sync waves: what a workload needs is applied no later than it", wave_findings,
        summary=f"{needs} needs checked over {len(built.objects)} builds"), t))

    t = time.perf_counter()
    report.runs.append(_timed(CheckRun(
        "plan", "Every job can select its minimum clients", list(rendered.plan.findings),
        summary=", ".join(f"{j.job}: {len(j.selected)}/{j.min_clients}" for j in rendered.plan.jobs)), t))

    t = time.perf_counter()
    if lifecycle is not None:  # needs a base to compare with; without one it is not run
        found = lifecycle(rendered)
        summary = f"{len(found)} risky edit(s) against {base}" if found else f"no risky edit against {base}"
        report.runs.append(_timed(CheckRun("lifecycle", "Edits that would fail a running job", found, summary=summary), t))


def _conftest(policy_dir: Path | None, objects: list[HubObject]) -> CheckRun | None:
    """conftest's layout: policies/ with `package main` (or other packages outside fedfleet.) run
    with conftest's semantics, one built object at a time (checks/conftest.py)."""
    repo = rego.repo_modules(policy_dir)
    if not any(not (rego.package_of(m.source) or "fedfleet.").startswith("fedfleet.") for m in repo
               if not m.name.endswith("_test.rego")):
        return None
    t = time.perf_counter()
    title = "conftest policies (package main, one object at a time)"
    try:
        found = conftest.evaluate(repo, objects)
        excepted = f", {found.exceptions} excepted" if found.exceptions else ""
        summary = (f"package main: {len(found.rules)} rule(s) ({', '.join(found.rules)}) over {found.objects} "
                   f"objects{excepted}" if found.rules else "package main has no deny/violation/warn rule")
        return _timed(CheckRun("conftest", title, found.findings, summary=summary), t)
    except InputError as exc:
        return _timed(CheckRun("conftest", title, exc.findings, summary="policies could not run"), t)


def run_checks(paths: pipeline.Paths, crd_dirs: list[Path], policy_dir: Path | None,
               engine_factory: Callable[[], rego.RegoEngine] | None = None,
               lifecycle: Callable[[pipeline.Rendered], list[Finding]] | None = None,
               base: str = "", use_cache: bool = True) -> CheckReport:
    """`lifecycle`, when given (by the CLI, with `--base`), finds the edits that would fail a
    running job; it compares with the git base, a stage above the checks (diff.lifecycle_findings)."""
    report = CheckReport()
    t = time.perf_counter()
    try:
        rendered = pipeline.render(paths, cache=use_cache)
    except InputError as exc:
        report.runs.append(_timed(CheckRun("spec", "Spec validation", exc.findings, summary="specs do not load"), t))
        report.bad_input = True
        return report
    report.runs.append(_timed(CheckRun(
        "spec", "Spec validation",
        summary=f"{len(rendered.fleet.hubs)} hubs, {len(rendered.fleet.clusters)} clusters, {len(rendered.fleet.jobs)} jobs"), t))

    # The critical path of a run with a warm cache: the builds, then Rego (the longest check, in
    # a child process). Drift, the CRD schemas and the other checks need nothing Rego needs: they
    # run here while the child evaluates, and their reports keep their order.
    t = time.perf_counter()
    store = default_cache(paths) if use_cache else None
    built = build_all(rendered.build_inputs, rendered.roots, store)
    build_seconds = time.perf_counter() - t

    # Rego needs only the built objects, the fleet and the plan: it starts now, in a child process
    # when the embedded engine runs it (regorus holds the GIL while it evaluates). Its input is
    # made here, before the fork (rego.Prepared says why).
    t = time.perf_counter()
    modules = rego.plugin_modules(rendered.registry.rego_modules()) + rego.repo_modules(policy_dir)
    # Rego sees what Argo CD applies: the built objects, with each overlay's patches applied.
    objects = built.for_policies(rendered)
    engine = engine_factory() if engine_factory else None  # the embedded one is made in the child
    engine_name = getattr(engine, "name", "engine") if engine else rego.EmbeddedEngine.name
    evaluation = rego.prepare(rendered.fleet, rendered.plan, objects, modules, engine, store)
    prepare_seconds = time.perf_counter() - t
    # An answer reused from the cache is only made into findings: no child for that.
    beside = _Beside(evaluation.run, fork=engine is None and not evaluation.reused)
    try:
        t = time.perf_counter()
        drift = write.compare(rendered.files, paths.out)
        drift_findings = [
            Finding("drift", f"{kind}: regenerate with `fedfleet generate` and commit", location=Location(path),
                    subject=Subject.path(path))
            for kind, paths_of_kind in (("out of date", drift.changed), ("missing", drift.added), ("stale", drift.removed))
            for path in paths_of_kind
        ]
        report.runs.append(_timed(CheckRun("drift", "Committed bundle matches the specs", drift_findings,
                                           summary="no drift" if drift.clean else f"{len(drift_findings)} file(s) drifted"), t))

        t = time.perf_counter()
        try:  # the CRD store, overridden by --crds; never skipped: no schema at all is bad input
            source: crds.SchemaSource | None = crds.SchemaSource.resolve(crd_dirs, rendered.fleet.allow_unvalidated_kinds)
            source_findings: list[Finding] = []
        except InputError as exc:
            source, source_findings = None, exc.findings
            report.bad_input = True
        check_crds(built, source, store)
        reused = f" ({len(built.cached)} unchanged, reused from {default_cache(paths)})" if built.cached else ""
        report.runs.append(CheckRun(
            "kustomize", "kustomize build of every overlay and bootstrap directory", built.build_findings,
            summary=f"{len(built.units)} kustomizations built with {built.tool}{reused}"
                    + (f" (the {len(built.objects)} Argo CD and bootstrap paths compose them)" if len(built.units) > len(built.objects) else ""),
            seconds=round(build_seconds, 3)))
        report.runs.append(_timed(CheckRun(
            "crd", "Built objects valid against the CRD schemas", source_findings + built.crd_findings,
            summary=f"{built.checked} objects checked against {source.described}" if source else "no CRD schemas"), t))

        _rest(report, rendered, built, lifecycle, base)
        conftest_run = _conftest(policy_dir, objects)
    except BaseException:
        beside.close()
        raise
    # What is left needs none of the run's data: freed now, while the Rego child works, rather
    # than on return, after it (~2 million objects at 10,000 clusters: ~0.1 s).
    del rendered, built, objects, evaluation
    try:
        result, seconds = beside.result()
        report.runs.append(CheckRun(
            "rego", f"Rego policies ({engine_name})", result.findings, seconds=round(prepare_seconds + seconds, 3),
            summary=f"{len(result.packages)} packages over {result.objects} objects"
                    + (f" (input unchanged, answer reused from {default_cache(paths)})" if result.reused else "")))
    except InputError as exc:
        report.runs.append(CheckRun("rego", "Rego policies", exc.findings, summary="policies could not run",
                                    seconds=round(prepare_seconds + (beside.payload.get("seconds", 0.0) if beside.payload else 0.0), 3)))

    if conftest_run is not None:
        report.runs.append(conftest_run)
    return report
