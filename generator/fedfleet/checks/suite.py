"""`fedfleet check`: every pull-request check in one run, into one result model.

spec validation -> drift -> real kustomize builds -> CRD schemas -> placeholders -> sync waves ->
placement feasibility -> Rego.
A spec that does not load stops the run (exit 2); every other check runs even when an earlier
one failed, so a reviewer sees everything at once.
"""

from __future__ import annotations

import ctypes
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .. import pipeline, write
from ..findings import Finding, InputError, Location, Severity, Subject
from ..results import CheckReport, CheckRun
from . import cache, conftest, crds, placeholders, rego, regoproc, unitfacts, waves
from .built import Built, build_all, check_crds, default_cache, find_tool
from .rego import HubObject


def _return_freed_pages() -> None:
    """Hand the C allocator's free pages back to the system (glibc's malloc_trim(0): freed memory
    otherwise stays this process's resident size). Elsewhere (no malloc_trim) nothing happens."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _timed(run: CheckRun, started: float) -> CheckRun:
    run.seconds = round(time.perf_counter() - started, 3)
    return run


class _RegoBeside:
    """The embedded engine's evaluation of check's Rego input, in a process of its own
    (checks/regoproc.py, started when check started) beside this one's other checks. The input is
    written to a scratch file piece by piece, from each object's JSON text, and handed to the
    process; with a cache directory, an answer for the same input, modules and engine is reused
    and the process ended without evaluating anything (rego.results_key)."""

    def __init__(self, rendered: pipeline.Rendered, built: Built, modules: list[rego.RegoModule],
                 cache_dir: Path | None, process: regoproc.RegoProcess) -> None:
        started = time.perf_counter()
        self.fleet = rendered.fleet
        self.modules = [m for m in modules if not m.name.endswith("_test.rego")]
        self.scratch = tempfile.TemporaryDirectory(prefix="fedfleet-rego-")
        path = Path(self.scratch.name) / "input.json"
        digest, self.objects = rego.write_input(path, rendered.fleet, rendered.plan, built.policy_json(rendered),
                                                lambda: built.for_policies(rendered))
        self.store = cache.Cache(cache_dir) if cache_dir is not None else None
        self.key = rego.results_key_of(self.modules, digest) if self.store is not None else ""
        hit = self.store.get("rego", self.key) if self.store is not None else None
        self.reused = rego._is_results(hit)
        self.answer: dict[str, dict[str, list[Any]]] | None = hit if self.reused else None
        self.process = process
        if self.reused:
            process.close()
        else:
            process.evaluate(self.modules, path)
        self.seconds = time.perf_counter() - started

    def close(self) -> None:
        """Stop the evaluation without its result (this process is leaving with an error)."""
        self.process.close()
        self.scratch.cleanup()

    def result(self) -> tuple[rego.RegoResult, float]:
        try:
            if self.answer is None:
                self.answer, seconds = self.process.result()
                self.seconds += seconds
                if self.store is not None:  # only a successful evaluation: a failure raised above
                    self.store.put("rego", self.key, self.answer)
        finally:
            self.scratch.cleanup()
        return (rego.RegoResult(rego.to_findings(self.fleet, self.answer), sorted(self.answer), self.objects,
                                self.reused), round(self.seconds, 3))


def _rest(report: CheckReport, rendered: pipeline.Rendered, built: Built,
          lifecycle: Callable[[pipeline.Rendered], list[Finding]] | None, base: str,
          store: Path | None = None) -> None:
    """The checks that run beside Rego: placeholders, sync waves, the plan, the lifecycle."""
    # Both checks judge what they read of each unit's objects (checks/unitfacts.py: from the cache
    # for a unit whose built bytes an earlier run saw, else from its objects, one unit as Python
    # data at a time), root by root (their findings are per root).
    t = time.perf_counter()
    found = placeholders.spec_findings(rendered.fleet)
    placeholder_seconds = time.perf_counter() - t
    facts = unitfacts.collect(built, store)
    t = time.perf_counter()
    found += placeholders.facts_findings(rendered.fleet, facts.placeholders, built.hubs)
    t2 = time.perf_counter()
    wave_findings, needs = waves.check_facts(facts.waves)
    placeholder_seconds += facts.placeholder_seconds + t2 - t
    wave_seconds = facts.wave_seconds + time.perf_counter() - t2
    errors = sum(1 for f in found if f.severity is Severity.ERROR)
    report.runs.append(CheckRun(
        "placeholders", "No example hosts, unreachable SuperLink addresses or unpinned images (errors in prod)", found,
        summary=f"{len(found)} placeholder(s), {errors} error(s)" if found else "none found",
        seconds=round(placeholder_seconds, 3)))
    report.runs.append(CheckRun(
        "waves", "Sync waves: what a workload needs is applied no later than it", wave_findings,
        summary=f"{needs} needs checked over {len(built.objects)} builds", seconds=round(wave_seconds, 3)))

    t = time.perf_counter()
    report.runs.append(_timed(CheckRun(
        "plan", "Every job can select its minimum clients", list(rendered.plan.findings),
        summary=", ".join(f"{j.job}: {len(j.selected)}/{j.min_clients}" for j in rendered.plan.jobs)), t))

    t = time.perf_counter()
    if lifecycle is not None:  # needs a base to compare with; without one it is not run
        found = lifecycle(rendered)
        summary = f"{len(found)} risky edit(s) against {base}" if found else f"no risky edit against {base}"
        report.runs.append(_timed(CheckRun("lifecycle", "Edits that would fail a running job", found, summary=summary), t))


def _conftest(policy_dir: Path | None, objects_of: Callable[[], list[HubObject]]) -> CheckRun | None:
    """conftest's layout: policies/ with `package main` (or other packages outside fedfleet.) run
    with conftest's semantics, one built object at a time (checks/conftest.py). The objects are
    made only when such a policy exists."""
    repo = rego.repo_modules(policy_dir)
    if not any(not (rego.package_of(m.source) or "fedfleet.").startswith("fedfleet.") for m in repo
               if not m.name.endswith("_test.rego")):
        return None
    t = time.perf_counter()
    title = "conftest policies (package main, one object at a time)"
    try:
        found = conftest.evaluate(repo, objects_of())
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
    # The embedded engine's process starts before anything else: its interpreter and imports run
    # beside the render and the builds, and it waits for its input (checks/regoproc.py). However
    # the run ends (bad specs, an error, the cached answer reused), it is ended and waited for.
    process = regoproc.RegoProcess() if engine_factory is None else None
    try:
        return _run_checks(paths, crd_dirs, policy_dir, engine_factory, lifecycle, base, use_cache, process)
    finally:
        if process is not None:
            process.close()


def _run_checks(paths: pipeline.Paths, crd_dirs: list[Path], policy_dir: Path | None,
                engine_factory: Callable[[], rego.RegoEngine] | None,
                lifecycle: Callable[[pipeline.Rendered], list[Finding]] | None,
                base: str, use_cache: bool, process: regoproc.RegoProcess | None) -> CheckReport:
    report = CheckReport()
    t = time.perf_counter()
    # The build cache keys on kustomize's identity, which its binary reports (a process): asked
    # in a thread while the specs render, not after.
    early = ThreadPoolExecutor(max_workers=1) if use_cache else None
    tool_found = early.submit(find_tool).result if early is not None else None
    try:
        try:
            rendered = pipeline.render(paths, cache=use_cache)
        except InputError as exc:
            report.runs.append(_timed(CheckRun("spec", "Spec validation", exc.findings, summary="specs do not load"), t))
            report.bad_input = True
            return report
        report.runs.append(_timed(CheckRun(
            "spec", "Spec validation",
            summary=f"{len(rendered.fleet.hubs)} hubs, {len(rendered.fleet.clusters)} clusters, {len(rendered.fleet.jobs)} jobs"), t))
        if lifecycle is None:
            # The bundle's objects are in its files now, and the checks read what kustomize builds:
            # only a failed build's fallback (Built.for_policies) and the lifecycle check read the
            # objects, so they go before the builds arrive (~270 MiB at 40,000 clusters), and are
            # rendered again in the rare run that needs them. Freeing them costs ~0.05 CPU-s at
            # 10,000 clusters here, before the builds, rather than beside the Rego process (in a
            # thread beside the builds it was no faster).
            rendered.drop_bundle()

        # The critical path of a run with a warm cache: the builds, then Rego (the longest check, in
        # a child process). Drift, the CRD schemas and the other checks need nothing Rego needs: they
        # run here while the child evaluates, and their reports keep their order.
        t = time.perf_counter()
        store = default_cache(paths) if use_cache else None
        # while kustomize builds what changed, the plan Rego's input needs (computed here or there)
        built = build_all(rendered.build_inputs, rendered.roots, store, tool_found, meanwhile=lambda: rendered.plan)
    finally:
        # However this part ends (bad specs, an interrupt, a bug), kustomize's identity is waited
        # for: no thread or `version` process is left when check returns or raises (the CLI
        # leaves by os._exit, which would kill the thread and leave its process running).
        if early is not None:
            early.shutdown(wait=True)
    build_seconds = time.perf_counter() - t

    # Rego needs only the built objects, the fleet and the plan: the embedded engine's process
    # (regorus holds the GIL while it evaluates; checks/regoproc.py says why not a fork) gets its
    # input now, written here from each built object's JSON text. Rego sees what Argo CD applies:
    # the built objects, with each overlay's patches applied.
    modules = rego.plugin_modules(rendered.registry.rego_modules()) + rego.repo_modules(policy_dir)
    engine = engine_factory() if engine_factory else None
    engine_name = getattr(engine, "name", "engine") if engine else rego.EmbeddedEngine.name
    beside: _RegoBeside | None = None
    try:
        if engine is None:
            assert process is not None
            beside = _RegoBeside(rendered, built, modules, store, process)
        t = time.perf_counter()
        drift = write.compare(rendered.files, paths.out)
        rendered.drop_files()  # their last reader (the builds read them before)
        _return_freed_pages()
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

        _rest(report, rendered, built, lifecycle, base, store)
        conftest_run = _conftest(policy_dir, lambda: built.for_policies(rendered))
    except BaseException:
        if beside is not None:
            beside.close()
        raise
    fleet = rendered.fleet
    plan, for_policies = (None, None) if beside is not None else (rendered.plan, built.for_policies(rendered))
    # What is left needs none of the run's data (the Rego findings need the fleet, which `beside`
    # keeps): freed now, while the Rego process works, rather than on return, after it (~2 million
    # objects at 10,000 clusters: ~0.1 s), and before Rego's answer becomes findings. The pages
    # freed go back to the system, so that the Rego process's peak does not come on top of this
    # process's high-water mark (at 40,000 clusters both peak near the end of the run).
    del rendered, built
    _return_freed_pages()
    try:
        if beside is not None:
            result, seconds = beside.result()
        else:  # another engine (an OPA server), asked here and now over the objects as Python data
            assert for_policies is not None and plan is not None
            t = time.perf_counter()
            result = rego.evaluate(fleet, plan, for_policies, modules, engine, store)
            seconds = round(time.perf_counter() - t, 3)
        report.runs.append(CheckRun(
            "rego", f"Rego policies ({engine_name})", result.findings, seconds=seconds,
            summary=f"{len(result.packages)} packages over {result.objects} objects"
                    + (f" (input unchanged, answer reused from {default_cache(paths)})" if result.reused else "")))
    except InputError as exc:
        report.runs.append(CheckRun("rego", "Rego policies", exc.findings, summary="policies could not run",
                                    seconds=round(beside.seconds, 3) if beside is not None else 0.0))

    if conftest_run is not None:
        report.runs.append(conftest_run)
    return report
