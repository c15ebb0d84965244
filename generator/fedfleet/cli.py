"""`fedfleet <verb>`: the edge where findings become exit codes.

Exit codes everywhere: 0 ok, 1 checks failed or drift, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, NoReturn, Sequence

import yaml

if TYPE_CHECKING:
    from rich.console import Console

from . import __version__, extras, pipeline
from .report import summary
from .report.summary import Line
from .findings import Finding, InputError, Location, Severity

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


class _Console:
    """A rich Console made when first used: importing rich is ~0.07 s of every run's start, and a
    verb that prints only its report (`check -o json`) never uses one."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


# rich honours NO_COLOR (https://no-color.org) and turns styles off when the stream is not a
# terminal; the consoles are made per run so that a test's environment is read (see _consoles).
out: Any = _Console(highlight=False, soft_wrap=True)
err: Any = _Console(stderr=True, highlight=False, soft_wrap=True)
_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
# Formats every verb takes with -o: the structured ones are the verb's JSON document, as YAML too.
STRUCTURED = ("json", "yaml")
_quiet = False
# Verbs that run for minutes or talk to servers keep Python's cyclic garbage collector. The others
# are batch runs that build millions of dicts and lists (specs, plan, bundle, built objects) which
# all live until the end: the collector re-walks them ever more often as they grow and finds no
# garbage (their few cycles die with the process). At 10,000 clusters that walking was ~2 CPU-s
# of a `check` (bench/check.py).
_LONG_RUNNING = frozenset({"simulate", "doctor", "inventory"})
# Verbs whose process ends without Python's shutdown (console_script): check leaves millions of
# objects to free one by one and the cyclic garbage of a run without the collector to walk (at
# 10,000 clusters ~0.1-0.4 s after the report is written); the operating system takes the memory
# back at once. check holds no file, thread or child process once main returns.
_FAST_EXIT = frozenset({"check"})
_verb = ""


def _consoles() -> None:
    global out, err
    out = _Console(highlight=False, soft_wrap=True)
    err = _Console(stderr=True, highlight=False, soft_wrap=True, quiet=False)


def print_findings(findings: Sequence[Finding], console: Console | None = None) -> None:
    for f in findings:
        (console or err).print(f.render(), style=_STYLE[f.severity], markup=False)


def dump(data: Any, fmt: str) -> str:
    """The structured forms of one document: JSON (sorted keys) or the same data as YAML."""
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=True, allow_unicode=True, default_flow_style=False)
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def stamped(data: dict[str, Any], code: int) -> dict[str, Any]:
    """A verb's document with the two keys every -o json|yaml document carries (README, Command
    line): `exitCode`, and `ok` (exit 0) unless the document already says it."""
    return {**data, "ok": data.get("ok", code == EXIT_OK), "exitCode": code}


def emit_json(data: Any, fmt: str = "json", output: str | None = None) -> None:
    _write_output(dump(data, fmt), output)


def print_lines(lines: Iterable[Line]) -> None:
    # No -q filter here: the lines on stderr are errors and their details (which files drifted,
    # why a simulation failed), which -q keeps; the verbs' renderers leave out what -q drops.
    for line in lines:
        (err if line.stream == "err" else out).print(line.text, style=line.style or "", markup=False)


def note(text: str) -> None:
    """A side remark on stderr (which file was written...): silenced by -q, never on stdout."""
    if not _quiet:
        err.print(text, markup=False)


def _paths(args: argparse.Namespace) -> pipeline.Paths:
    return pipeline.Paths(specs=Path(args.specs), out=Path(args.out))


# --- verbs ------------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    drift = pipeline.generate(_paths(args), check_only=args.check)
    code = EXIT_FAILED if args.check and not drift.clean else EXIT_OK
    if args.format in STRUCTURED:
        emit_json(stamped(summary.drift_json(drift, args.check), code), args.format, args.output_file)
    else:
        print_lines(summary.drift_lines(drift, args.check))
    return code


def _trim_cache(args: argparse.Namespace) -> None:
    """check and validate keep their cache bounded: entries no run used for days go (cachedir.py)."""
    if not args.no_cache:
        from .cachedir import CACHE_DIR, trim

        trim(_paths(args).out / CACHE_DIR)


def cmd_validate(args: argparse.Namespace) -> int:
    from .checks.built import validate

    report = validate(_paths(args), [Path(d) for d in args.crds], use_cache=not args.no_cache)
    _trim_cache(args)
    if args.format in STRUCTURED:
        emit_json(stamped(summary.validate_json(report), EXIT_OK if report.ok else EXIT_FAILED), args.format,
                  args.output_file)
    else:
        print_findings(report.findings, out)
        print_lines(summary.validate_lines(report, quiet=_quiet))
    return EXIT_OK if report.ok else EXIT_FAILED


def _require_jobs(verb: str, fleet: pipeline.Fleet, wanted: Sequence[str], specs: str) -> None:
    """Bad input (exit 2) naming the jobs that exist when a job asked for is not in the specs."""
    names = sorted(job.name for job in fleet.jobs)
    unknown = [j for j in wanted if j not in names]
    if unknown:
        known = ", ".join(names) or "none"
        raise InputError([Finding(verb, f"no job named {j!r} in {specs}; the jobs are: {known}") for j in unknown])


def cmd_plan(args: argparse.Namespace) -> int:
    from .placement import plan
    from .report import plan as plan_report

    _check_output(args.output_file)
    fleet = pipeline.load(_paths(args))
    _require_jobs("plan", fleet, args.jobs, args.specs)
    result = plan(fleet, args.jobs)
    if args.explain:
        try:
            cluster = fleet.cluster(args.explain)
        except KeyError:
            raise InputError([Finding("plan", f"no cluster named {args.explain!r} in {args.specs}")]) from None
        hub = fleet.cluster_set(cluster.cluster_set).hub
        decisions = result.explain(cluster.name, cluster.cluster_set, hub)
        if args.format in STRUCTURED:
            emit_json(stamped(plan_report.explain_json(cluster.name, cluster.cluster_set, hub, decisions),
                              EXIT_OK if result.ok else EXIT_FAILED), args.format, args.output_file)
        else:
            _write_output(plan_report.explain_text(cluster.name, cluster.cluster_set, hub, decisions),
                          args.output_file)
        return EXIT_OK if result.ok else EXIT_FAILED
    every = args.all_exclusions
    if args.format == "json":
        # orjson: the plan of a 10,000-cluster fleet is megabytes; compact unless asked to indent
        import orjson

        option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if args.pretty else 0)
        _write_output(orjson.dumps(plan_report.plan_json(result, every), option=option).decode() + "\n",
                      args.output_file)
    elif args.format in STRUCTURED:
        emit_json(plan_report.plan_json(result, every), args.format, args.output_file)
    elif args.format == "markdown":
        _write_output(plan_report.plan_markdown(result, every), args.output_file)
    else:
        _write_output(plan_report.plan_text(result, every), args.output_file)
    return EXIT_OK if result.ok else EXIT_FAILED


def _check_output(output: str | None) -> None:
    """Fail fast, before any work: a report that cannot be written is a usage error."""
    if not output:
        return
    target = Path(output)
    parent = target.parent
    problem = ""
    if not parent.is_dir():
        problem = f"directory {parent} does not exist" if not parent.exists() else f"{parent} is not a directory"
    elif target.is_dir():
        problem = "it is a directory"
    elif not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        problem = "permission denied"
    if problem:
        raise InputError([Finding("output", f"cannot write the report here: {problem}", location=Location(output))])


def _write_output(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError([Finding("output", f"cannot write the report: {exc.strerror}",
                                      location=Location(output))]) from None
    else:
        sys.stdout.write(text)


def _yaml_or(render: Callable[[Any, str], str], report: Any, fmt: str) -> str:
    """A report renderer's own format, or its JSON document as YAML."""
    if fmt == "yaml":
        return dump(json.loads(render(report, "json")), "yaml")
    return render(report, fmt)


def _policy_dir(args: argparse.Namespace) -> Path | None:
    path = Path(args.policies)
    if args.policies != "policies" and not path.is_dir():
        raise InputError([Finding("policy", "policy directory does not exist", location=Location(args.policies))])
    return path if path.is_dir() else None


def cmd_check(args: argparse.Namespace) -> int:
    from .checks.suite import run_checks
    from .report.check import render

    _check_output(args.output_file)
    factory = None
    if args.opa_url:
        from .checks.opa import OpaServerEngine

        factory = lambda: OpaServerEngine(args.opa_url, args.opa_connect_timeout, args.opa_read_timeout)  # noqa: E731
    lifecycle = None
    if args.base:
        from .diff import lifecycle_findings

        lifecycle = lambda rendered: lifecycle_findings(Path(args.repo), args.base, _paths(args), rendered)  # noqa: E731
    report = run_checks(_paths(args), [Path(d) for d in args.crds], _policy_dir(args), factory,
                        lifecycle=lifecycle, base=args.base or "", use_cache=not args.no_cache)
    _trim_cache(args)
    _write_output(_yaml_or(render, report, args.format), args.output_file)
    if args.output_file:
        note(f"wrote {args.format} report to {args.output_file}: exit {report.exit_code}")
    return report.exit_code


def cmd_diff(args: argparse.Namespace) -> int:
    from . import diff

    _check_output(args.output_file)
    changes = diff.diff(Path(args.repo), args.base, _paths(args))
    code = EXIT_FAILED if args.exit_code and changes else EXIT_OK
    if args.format in STRUCTURED:
        text = dump(stamped({"base": args.base, **diff.to_json(changes)}, code), args.format)
    elif args.format == "markdown":
        text = diff.to_markdown(changes, args.base)
    else:
        text = diff.to_text(changes)
    _write_output(text, args.output_file)
    return code


def cmd_policy_test(args: argparse.Namespace) -> int:
    from .checks.policytest import run_tests
    from .checks.rego import plugin_modules, repo_modules
    from .governance import load_registry

    modules = plugin_modules(load_registry().rego_modules()) + repo_modules(_policy_dir(args))
    report = run_tests(modules)
    if args.format in STRUCTURED:
        emit_json(stamped(summary.policy_test_json(report), EXIT_OK if report.ok else EXIT_FAILED), args.format,
                  args.output_file)
    else:
        print_lines(summary.policy_test_lines(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import SimulationError, run_simulation

    _check_output(args.output_file)
    rendered = pipeline.render(_paths(args))
    _require_jobs("simulate", rendered.fleet, [args.job], args.specs)
    structured = args.format in STRUCTURED
    try:
        with Progress(enabled=not structured and not _quiet, verbose=args.verbose) as progress:
            result = run_simulation(rendered, args.job, rounds=args.rounds, timeout=args.timeout, progress=progress.say,
                                    intruders=args.intruder or ())
    except SimulationError as exc:
        if exc.code == EXIT_INPUT:  # bad input (not a Flower job, no app...): the documented shape
            raise InputError([Finding("simulate", f"{exc}{': ' + exc.details if exc.details else ''}")]) from None
        if structured:
            emit_json(summary.simulation_failed_json(args.job, exc), args.format, args.output_file)
        else:
            print_lines(summary.simulation_failed_lines(exc))
        return exc.code
    if structured:
        emit_json(stamped(summary.simulation_json(result),
                          EXIT_FAILED if result.gate_failed or result.intruder_admitted else EXIT_OK),
                  args.format, args.output_file)
    else:
        print_lines(summary.simulation_lines(result))
    # The quality gate (spec.validation) not met: the pull request lowers the model's quality; or an
    # unregistered SuperNode (--intruder) got into the federation.
    return EXIT_FAILED if result.gate_failed or result.intruder_admitted else EXIT_OK


class Progress:
    """What a long run is doing, on stderr. On a terminal, one transient rich status line that
    the next step replaces (so the summary is the only place a round is printed); off a
    terminal (CI logs, pipes) only the setup steps, one line each, and never the rounds: the
    summary prints each round once. -v prints every step on its own line."""

    def __init__(self, enabled: bool, verbose: bool = False) -> None:
        self.enabled, self.verbose = enabled, verbose
        self._status: Any = None

    def __enter__(self) -> "Progress":
        if self.enabled and err.is_terminal and not self.verbose:
            self._status = err.status("starting", spinner="dots")
            self._status.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._status is not None:
            self._status.stop()

    def say(self, message: str) -> None:
        if not self.enabled:
            return
        if self._status is not None:
            self._status.update(message)
        elif self.verbose or not message.startswith("round "):
            err.print(message, markup=False, highlight=False)


def cmd_audit(args: argparse.Namespace) -> int:
    from .audit import offline_audit
    from .report.audit import render

    from .checks.built import build_and_check

    _check_output(args.output_file)
    rendered = pipeline.render(_paths(args))
    hubs = sorted(h.name for h in rendered.fleet.hubs)
    if args.hub and args.hub not in hubs:
        # Checked here too, not only where a kubeconfig picks the hub: a misspelt --hub must not
        # pass silently just because the audit is offline.
        raise InputError([Finding("audit", f"the fleet has no hub {args.hub!r}; the hubs are: {', '.join(hubs)}")])
    built = build_and_check(rendered.build_inputs, rendered.roots, None)
    report = offline_audit(rendered, built.for_policies(rendered))
    if args.kubeconfig:
        from .audit.live import merge, pick_hub, read_hub

        kubeconfig = Path(args.kubeconfig)
        if not kubeconfig.is_file():
            raise InputError([Finding("audit", "kubeconfig not found", location=Location(args.kubeconfig))])
        hub, context = pick_hub(rendered.fleet, kubeconfig, args.context, args.hub)
        from .kube import Timeouts

        merge(report, rendered.fleet, read_hub(rendered.fleet, hub, kubeconfig, context,
                                               Timeouts(args.connect_timeout, args.read_timeout)), rendered.plan)
    _write_output(_yaml_or(render, report, args.format), args.output_file)
    if args.output_file:
        note(f"wrote {args.format} audit to {args.output_file}: "
             f"{'compliant' if report.compliant else 'not compliant'}")
    return report.exit_code


def _hub_clusters(args: argparse.Namespace, semantics: bool = True):  # type: ignore[no-untyped-def]
    from .audit.live import pick_hub
    from .inventory.hub import read_hub_clusters
    from .kube import Timeouts

    fleet = pipeline.load(_paths(args), semantics=semantics)
    kubeconfig = Path(args.kubeconfig)
    if not kubeconfig.is_file():
        raise InputError([Finding("inventory", "kubeconfig not found", location=Location(args.kubeconfig))])
    hub, context = pick_hub(fleet, kubeconfig, args.context, args.hub, "inventory")
    state = read_hub_clusters(hub.name, kubeconfig, context, Timeouts(args.connect_timeout, args.read_timeout),
                              args.page_size)
    return fleet, state


def cmd_crds_pull(args: argparse.Namespace) -> int:
    from . import crdstore
    from .report.crds import pull_json, pull_lines

    sources = [Path(d) for d in args.sources]
    if not sources and args.no_go:
        raise InputError([Finding("crd", "nothing to pull from: give --from DIR or drop --no-go")])
    report = crdstore.pull(Path(args.store) if args.store else None, sources, use_go=not args.no_go)
    if not report.go and not sources and report.count("pulled", "present") == 0:
        raise InputError([Finding("crd", "no Go toolchain (go on PATH, /usr/local/go/bin or FEDFLEET_GO) to download "
                                  "the CRDs' Go modules; install Go, or give --from DIR (a folder or checkout of them)",
                                  location=Location(str(report.store)))])
    if args.format in STRUCTURED:
        emit_json(stamped(pull_json(report), EXIT_OK if report.ok else EXIT_FAILED), args.format, args.output_file)
    else:
        print_lines(pull_lines(report, quiet=_quiet))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_crds_list(args: argparse.Namespace) -> int:
    from . import crdstore
    from .report.crds import list_json, list_lines

    store = Path(args.store) if args.store else crdstore.store_dir()
    entries = crdstore.read_lock()
    present = {p.name for p in crdstore.installed(store)} if store.is_dir() else set()
    if args.format in STRUCTURED:
        emit_json(stamped(list_json(entries, store, present), EXIT_OK), args.format, args.output_file)
    else:
        print_lines(list_lines(entries, store, present))
    return EXIT_OK


def cmd_inventory_diff(args: argparse.Namespace) -> int:
    from .inventory.drift import compare
    from .report.inventory import drift_text

    fleet, state = _hub_clusters(args)
    report = compare(fleet, state)
    if args.format in STRUCTURED:
        emit_json(stamped(report.as_dict(), EXIT_OK if report.clean else EXIT_FAILED), args.format, args.output_file)
    else:
        sys.stdout.write(drift_text(report))
    return EXIT_OK if report.clean else EXIT_FAILED


def cmd_inventory_pull(args: argparse.Namespace) -> int:
    from .inventory.pull import plan_pull, write_files
    from .report.inventory import pull_text

    # A first pull fills an inventory the jobs already name clusters of: only the schema must hold
    # before, everything is validated after.
    fleet, state = _hub_clusters(args, semantics=False)
    result, texts = plan_pull(fleet, state, Path(args.specs))
    write_files(texts)
    # What was pulled may contradict the jobs (say a claim path a holder entry disagrees with).
    try:
        pipeline.load(_paths(args))
        problems: list[Finding] = []
    except InputError as exc:
        problems = list(exc.findings)
    if args.format in STRUCTURED:
        emit_json(stamped({**result.as_dict(), "specsValid": not problems, "findings": [f.as_dict() for f in problems]},
                          EXIT_FAILED if problems else EXIT_OK), args.format, args.output_file)
        return EXIT_FAILED if problems else EXIT_OK
    _write_output(pull_text(result), args.output_file)
    if problems:
        print_findings(problems)
        err.print("the pulled inventory is written, but specs/ no longer validate: fix the findings above",
                  style="red", markup=False)
        return EXIT_FAILED
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from .audit.live import pick_hub
    from .doctor import doctor, parse_connect_to
    from .kube import Timeouts
    from .report.doctor import doctor_json, doctor_text

    connect_to = parse_connect_to(args.connect_to)
    fleet = pipeline.load(_paths(args))
    kubeconfig = Path(args.kubeconfig)
    if not kubeconfig.is_file():
        raise InputError([Finding("doctor", "kubeconfig not found", location=Location(args.kubeconfig))])
    hub, context = pick_hub(fleet, kubeconfig, args.context, args.hub, "doctor")
    report = doctor(fleet, hub, Path(args.out), kubeconfig, context, Timeouts(args.connect_timeout, args.read_timeout),
                    connect_to)
    if args.format in STRUCTURED:
        emit_json(stamped(doctor_json(report), EXIT_OK if report.ready else EXIT_FAILED), args.format,
                  args.output_file)
    else:
        _write_output(doctor_text(report), args.output_file)
    return EXIT_OK if report.ready else EXIT_FAILED


def cmd_schema(args: argparse.Namespace) -> int:
    from .governance import load_registry
    from .spec.schema import published_schema

    # text, for a person: the YAML form (every verb takes text, json and yaml)
    fmt = args.format if args.format in STRUCTURED else "yaml"
    emit_json(published_schema(load_registry().parameter_schemas()), fmt, args.output_file)
    return EXIT_OK


def cmd_policy_list(args: argparse.Namespace) -> int:
    from .report.policies import catalogue_text, policy_catalogue

    entries = policy_catalogue(pipeline.render(_paths(args)))
    if args.format in STRUCTURED:
        emit_json(entries, args.format, args.output_file)
    else:
        sys.stdout.write(catalogue_text(entries))
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------------

def _format(p: argparse.ArgumentParser, formats: Sequence[str] = ("text", "json", "yaml"), default: str = "text",
            output_file: bool = True) -> None:
    """-o/--output-format on every verb (kubectl's and helm's habit); --format stays as an alias.
    --output-file writes the report to a file; --output is its deprecated old spelling."""
    p.add_argument("-o", "--output-format", "--format", dest="format", choices=formats, default=default,
                   help=f"output format: {', '.join(formats)} (default: {default})")
    if output_file:
        p.add_argument("--output-file", "--output", dest="output_file", metavar="FILE",
                       help="write the report to this file instead of standard output")
    _verbosity(p)


def _verbosity(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", action="store_true", help="only the result and errors: no notes, no progress")
    g.add_argument("-v", "--verbose", action="store_true",
                   help="every progress step on its own line (simulate; the other verbs have none)")


def _common(p: argparse.ArgumentParser, formats: Sequence[str] = ("text", "json", "yaml")) -> None:
    p.add_argument("--specs", default="specs", help="directory of spec documents (default: specs)")
    p.add_argument("--out", default=".", help="root holding bases/, overlays/, bootstrap/ (default: .)")
    _format(p, formats)


def _timeouts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to connect to the hub (default 5)")
    p.add_argument("--read-timeout", type=float, default=30.0,
                   help="seconds to wait for each response of the hub (default 30); no retries")


class _Parser(argparse.ArgumentParser):
    """An unknown flag after a verb is that verb's error: print the verb's usage, not the top
    level's. argparse hands unrecognised arguments to the top parser; route them back."""

    verb_parsers: dict[tuple[str, ...], argparse.ArgumentParser]
    # The command line being parsed, for error(): a usage error under -o json|yaml is the JSON
    # error document on stdout, as every other failure is (argparse fails before -o is parsed).
    argv: list[str] = []

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        _Parser.argv = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            path = tuple(v for v in (getattr(parsed, "verb", None), getattr(parsed, "policy_verb", None),
                                     getattr(parsed, "inventory_verb", None), getattr(parsed, "crds_verb", None)) if v)
            target = self.verb_parsers.get(path, self)
            target.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def error(self, message: str) -> NoReturn:
        fmt = _asked_format(_Parser.argv)
        if fmt in STRUCTURED:
            finding = Finding("usage", f"{message} (see {self.prog} --help)")
            sys.stdout.write(dump({"ok": False, "exitCode": EXIT_INPUT, "findings": [finding.as_dict()]}, fmt))
            sys.exit(EXIT_INPUT)
        super().error(message)


def _asked_format(argv: Sequence[str]) -> str:
    """The -o/--output-format/--format value on a raw command line (the last one wins, as in
    argparse), or "" when there is none."""
    fmt = ""
    for i, arg in enumerate(argv):
        if arg in ("-o", "--output-format", "--format") and i + 1 < len(argv):
            fmt = argv[i + 1]
        elif arg.startswith(("--output-format=", "--format=")):
            fmt = arg.split("=", 1)[1]
        elif arg.startswith("-o") and not arg.startswith("--") and len(arg) > 2:
            fmt = arg[2:].lstrip("=")
    return fmt


def _crds_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--crds", action="append", default=[], metavar="DIR",
                   help="also validate against the CRD YAML files in DIR (repeatable); a CRD of the same group, "
                        "version and kind replaces the CRD store's (default: the store only, see `fedfleet crds`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fedfleet", description="Federated learning on OCM/ACM fleets, through Git.")
    parser.verb_parsers = {}
    parser.add_argument("--version", action="version", version=f"fedfleet {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>")
    verbs.required = True

    def verb(name: str, help: str, under: Any = verbs, path: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        p = under.add_parser(name, help=help, description=help)
        parser.verb_parsers[(*path, name)] = p
        return p

    p = verb("generate", "render specs/ into bases/, overlays/ and bootstrap/")
    _common(p)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and list files that drifted")
    p.set_defaults(func=cmd_generate)

    p = verb("validate", "spec checks, real kustomize builds, CRD schema validation")
    _common(p)
    _crds_option(p)
    p.add_argument("--no-cache", action="store_true",
                   help="build, validate, serialise and evaluate Rego afresh; neither read nor write .fedfleet-cache/")
    p.set_defaults(func=cmd_validate)

    p = verb("plan", "preview which clusters each job selects, and why the others are out")
    _common(p, ("text", "json", "yaml", "markdown"))
    p.add_argument("jobs", nargs="*", metavar="JOB", help="jobs to plan (default: all)")
    p.add_argument("--explain", metavar="CLUSTER", help="one cluster across all jobs, with the reason for each")
    p.add_argument("--all-exclusions", action="store_true",
                   help="list every excluded cluster of every job (default: grouped by reason, with examples)")
    p.add_argument("--pretty", action="store_true", help="indent the JSON (default: compact)")
    p.set_defaults(func=cmd_plan)

    p = verb("simulate", "run what the bundle ships for a Flower job on loopback, with its TLS")
    p.add_argument("--specs", default="specs", help="directory of spec documents (default: specs)")
    p.add_argument("--out", default=".", help=argparse.SUPPRESS)
    p.add_argument("job", metavar="JOB")
    p.add_argument("--rounds", type=int, help="replace num-server-rounds in the run Job's arguments (default: the job's)")
    _format(p)
    p.add_argument("--json", dest="format", action="store_const", const="json",
                   help="deprecated: use -o json")
    p.add_argument("--timeout", type=float, default=300, help="seconds before the federation is stopped (default 300)")
    p.add_argument("--intruder", action="append", choices=["none", "foreign", "other-job"],
                   help="also start an unregistered SuperNode: with no registration credential (none), one "
                        "from another CA (foreign), or a valid one of a cluster outside the job (other-job); "
                        "exit 1 if it joins (repeatable)")
    p.set_defaults(func=cmd_simulate)

    p = verb("policy", "governance rules: list them, test their Rego twins")
    policy_verbs = p.add_subparsers(dest="policy_verb", metavar="<action>")
    policy_verbs.required = True
    q = verb("list", "every plugin, its rules, targets, remediation and controls", policy_verbs, ("policy",))
    _common(q)
    q.set_defaults(func=cmd_policy_list)
    q = verb("test", "run the test_ rules of the plugins' and policies/ Rego, with coverage", policy_verbs,
             ("policy",))
    q.add_argument("--policies", default="policies", help="the fleet repo's Rego directory (default: policies)")
    _format(q)
    q.set_defaults(func=cmd_policy_test)

    p = verb("check", "every pull-request check in one run, one report")
    _common(p, ("text", "json", "yaml", "junit", "sarif", "markdown"))
    _crds_option(p)
    p.add_argument("--no-cache", action="store_true",
                   help="build, validate, serialise and evaluate Rego afresh; neither read nor write .fedfleet-cache/")
    p.add_argument("--policies", default="policies", help="the fleet repo's Rego directory (default: policies)")
    p.add_argument("--opa-url", help="evaluate Rego on this OPA server instead of the embedded engine")
    p.add_argument("--opa-connect-timeout", type=float, default=5.0, help="seconds to connect to OPA (default 5)")
    p.add_argument("--opa-read-timeout", type=float, default=30.0,
                   help="seconds to wait for each OPA answer (default 30); no retries")
    p.add_argument("--base", help="git revision to compare with (e.g. origin/main): warn on edits that would "
                                  "drive a running job to terminal Failed")
    p.add_argument("--repo", default=".", help="the git repository, with --base (default: .)")
    p.set_defaults(func=cmd_check)

    p = verb("diff", "object-level difference per hub against a git revision")
    _common(p, ("text", "json", "yaml", "markdown"))
    p.add_argument("--base", required=True, help="git revision to compare with, e.g. origin/main")
    p.add_argument("--repo", default=".", help="the git repository (default: .)")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    p.set_defaults(func=cmd_diff)

    p = verb("audit", "compliance by control: offline from the repo, live from a hub")
    _common(p, ("text", "markdown", "json", "yaml", "html"))
    p.add_argument("--kubeconfig", help="read the hub's live state through this kubeconfig")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--hub", help="which fleet hub the context points at (default: by server URL, then by name)")
    _timeouts(p)
    p.set_defaults(func=cmd_audit)

    p = verb("inventory", "the cluster inventory against the hub: pull it, report drift")
    inventory_verbs = p.add_subparsers(dest="inventory_verb", metavar="<action>")
    inventory_verbs.required = True
    for name, func, text in (
        ("pull", cmd_inventory_pull, "write specs/clusters/ from the hub's ManagedClusters (comments kept)"),
        ("diff", cmd_inventory_diff, "report where specs/clusters/ differs from the hub (exit 1 on drift)"),
    ):
        q = verb(name, text, inventory_verbs, ("inventory",))
        _common(q)
        q.add_argument("--kubeconfig", required=True, help="kubeconfig of the hub")
        q.add_argument("--context", help="kubeconfig context (default: the current one)")
        q.add_argument("--hub", help="which fleet hub the context points at (default: by server URL, then by name)")
        q.add_argument("--page-size", type=int, default=500, help="items per list call (default 500)")
        _timeouts(q)
        q.set_defaults(func=func)

    p = verb("crds", "the upstream CRDs validate and check use: fill the store from the lock, list it")
    crds_verbs = p.add_subparsers(dest="crds_verb", metavar="<action>")
    crds_verbs.required = True
    q = verb("pull", "copy the locked upstream CRDs into the store (go mod download, or --from DIR), each "
             "checked against its SHA-256", crds_verbs, ("crds",))
    q.add_argument("--from", dest="sources", action="append", default=[], metavar="DIR",
                   help="take the files from DIR first (a folder of CRDs, or a checkout of the upstream "
                        "repository); repeatable")
    q.add_argument("--no-go", action="store_true", help="do not run `go mod download` (only --from)")
    q.add_argument("--store", help="the store directory (default: FEDFLEET_CRD_STORE, else "
                                   "~/.cache/fedfleet/crds/<lock id>)")
    _format(q)
    q.set_defaults(func=cmd_crds_pull)
    q = verb("list", "every locked CRD: repository, commit, Go module, and whether the store has it",
             crds_verbs, ("crds",))
    q.add_argument("--store", help="the store directory (default: FEDFLEET_CRD_STORE, else "
                                   "~/.cache/fedfleet/crds/<lock id>)")
    _format(q)
    q.set_defaults(func=cmd_crds_list)

    p = verb("doctor", "is the hub ready for its bundle? each readiness step with a verdict and the fix")
    _common(p)
    p.add_argument("--kubeconfig", required=True, help="kubeconfig of the hub")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--hub", help="which fleet hub the context points at (default: by server URL, then by name)")
    p.add_argument("--connect-to", action="append", default=[], metavar="HOST:PORT:ADDRESS:PORT",
                   help="probe the SuperLink HOST:PORT at ADDRESS:PORT instead (a port-forward, a bastion), still "
                        "checking its certificate for HOST; repeatable (curl's --connect-to)")
    _timeouts(p)
    p.set_defaults(func=cmd_doctor)

    p = verb("schema", "print the JSON Schema of the spec documents")
    _format(p, ("json", "yaml", "text"), default="json")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    global _quiet, _verb
    parser = build_parser()
    args = parser.parse_args(argv)
    _consoles()
    _quiet = bool(getattr(args, "quiet", False))
    _verb = args.verb
    func: Callable[[argparse.Namespace], int] = args.func
    need = extras.needed(args)
    if need and extras.missing(need[0]):
        return _missing_extra(args, extras.hint(*need))
    collect = gc.isenabled()
    if args.verb not in _LONG_RUNNING:
        gc.disable()
    try:
        return func(args)
    except ModuleNotFoundError as exc:
        # A module of an extra that is not installed, on a path `extras.needed` does not foresee:
        # the same one-line hint rather than a traceback. Any other missing module is a bug.
        extra = extras.extra_of(exc.name or "")
        if extra is None or not extras.missing(extra):
            raise
        return _missing_extra(args, extras.hint(extra, f"fedfleet {args.verb}"))
    except InputError as exc:
        if getattr(args, "format", "text") in STRUCTURED:
            # A machine asked: the findings are the answer, on stdout, and stderr stays empty.
            sys.stdout.write(dump({"ok": False, "exitCode": EXIT_INPUT,
                                   "findings": [f.as_dict() for f in exc.findings]}, args.format))
            return EXIT_INPUT
        print_findings(exc.findings)
        n = len(exc.findings)
        written = "; nothing was written" if _writes(args) else ""
        err.print(f"{n} error{'s' if n != 1 else ''}{written}", style="red", markup=False)
        return EXIT_INPUT
    except KeyboardInterrupt:
        err.print("interrupted", style="red")
        return 130
    finally:
        if collect:
            gc.enable()


def _writes(args: argparse.Namespace) -> bool:
    """Whether the verb would have written files (so "nothing was written" tells the reader something)."""
    return bool(getattr(args, "output_file", None)) or (args.verb == "generate" and not args.check) or (
        getattr(args, "inventory_verb", None) == "pull" or getattr(args, "crds_verb", None) == "pull")


def _missing_extra(args: argparse.Namespace, message: str) -> int:
    """Exit 2 with one line (a usage problem of this install), or the JSON error document."""
    fmt = getattr(args, "format", "text")
    if fmt in STRUCTURED:
        sys.stdout.write(dump({"ok": False, "exitCode": EXIT_INPUT,
                               "findings": [Finding("install", message).as_dict()]}, fmt))
    else:
        err.print(message, style="red", markup=False)
    return EXIT_INPUT


def console_script() -> NoReturn:
    """The `fedfleet` command: main, then the exit (_FAST_EXIT: without Python's shutdown)."""
    code = main()
    if _verb in _FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_script()
