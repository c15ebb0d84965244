"""`fedfleet <verb>`: the edge where findings become exit codes.

Exit codes everywhere: 0 ok, 1 checks failed or drift, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rich.console import Console

from . import __version__, pipeline
from .report import summary
from .report.summary import Line
from .findings import Finding, InputError, Location, Severity

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def print_findings(findings: Sequence[Finding], console: Console = err) -> None:
    for f in findings:
        console.print(f.render(), style=_STYLE[f.severity], markup=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def print_lines(lines: Iterable[Line]) -> None:
    for line in lines:
        (err if line.stream == "err" else out).print(line.text, style=line.style or "", markup=False)


def _paths(args: argparse.Namespace) -> pipeline.Paths:
    return pipeline.Paths(specs=Path(args.specs), out=Path(args.out))


# --- verbs ------------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    drift = pipeline.generate(_paths(args), check_only=args.check)
    if args.format == "json":
        emit_json(summary.drift_json(drift, args.check))
    else:
        print_lines(summary.drift_lines(drift, args.check))
    return EXIT_FAILED if args.check and not drift.clean else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from .checks.built import validate

    report = validate(_paths(args), Path(args.crds) if args.crds else None)
    if args.format == "json":
        emit_json(summary.validate_json(report))
    else:
        print_findings(report.findings, out)
        print_lines(summary.validate_lines(report, args.crds))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_plan(args: argparse.Namespace) -> int:
    from .placement import plan
    from .report import plan as plan_report

    fleet = pipeline.load(_paths(args))
    unknown = [j for j in args.jobs if j not in {job.name for job in fleet.jobs}]
    if unknown:
        raise InputError([Finding("plan", f"no job named {j!r} in {args.specs}") for j in unknown])
    result = plan(fleet, args.jobs)
    if args.explain:
        try:
            cluster = fleet.cluster(args.explain)
        except KeyError:
            raise InputError([Finding("plan", f"no cluster named {args.explain!r} in {args.specs}")]) from None
        hub = fleet.cluster_set(cluster.cluster_set).hub
        decisions = result.explain(cluster.name, cluster.cluster_set, hub)
        if args.format == "json":
            emit_json(plan_report.explain_json(cluster.name, cluster.cluster_set, hub, decisions))
        else:
            sys.stdout.write(plan_report.explain_text(cluster.name, cluster.cluster_set, hub, decisions))
        return EXIT_OK if result.ok else EXIT_FAILED
    if args.format == "json":
        emit_json(plan_report.plan_json(result))
    elif args.format == "markdown":
        sys.stdout.write(plan_report.plan_markdown(result))
    else:
        sys.stdout.write(plan_report.plan_text(result))
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


def _policy_dir(args: argparse.Namespace) -> Path | None:
    path = Path(args.policies)
    if args.policies != "policies" and not path.is_dir():
        raise InputError([Finding("policy", "policy directory does not exist", location=Location(args.policies))])
    return path if path.is_dir() else None


def cmd_check(args: argparse.Namespace) -> int:
    from .checks.suite import run_checks
    from .report.check import render

    _check_output(args.output)
    factory = None
    if args.opa_url:
        from .checks.opa import OpaServerEngine

        factory = lambda: OpaServerEngine(args.opa_url, args.opa_connect_timeout, args.opa_read_timeout)  # noqa: E731
    lifecycle = None
    if args.base:
        from .diff import lifecycle_findings

        lifecycle = lambda rendered: lifecycle_findings(Path(args.repo), args.base, _paths(args), rendered)  # noqa: E731
    report = run_checks(_paths(args), Path(args.crds) if args.crds else None, _policy_dir(args), factory,
                        lifecycle=lifecycle, base=args.base or "")
    _write_output(render(report, args.format), args.output)
    if args.output:
        out.print(f"wrote {args.format} report to {args.output}: exit {report.exit_code}", markup=False)
    return report.exit_code


def cmd_diff(args: argparse.Namespace) -> int:
    from . import diff

    _check_output(args.output)
    changes = diff.diff(Path(args.repo), args.base, _paths(args))
    if args.format == "json":
        text = json.dumps({"base": args.base, **diff.to_json(changes)}, indent=2, sort_keys=True) + "\n"
    elif args.format == "markdown":
        text = diff.to_markdown(changes, args.base)
    else:
        text = diff.to_text(changes)
    _write_output(text, args.output)
    return EXIT_FAILED if args.exit_code and changes else EXIT_OK


def cmd_policy_test(args: argparse.Namespace) -> int:
    from .checks.policytest import run_tests
    from .checks.rego import plugin_modules, repo_modules
    from .governance import load_registry

    modules = plugin_modules(load_registry().rego_modules()) + repo_modules(_policy_dir(args))
    report = run_tests(modules)
    if args.format == "json":
        emit_json(summary.policy_test_json(report))
    else:
        print_lines(summary.policy_test_lines(report))
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import SimulationError, run_simulation

    rendered = pipeline.render(_paths(args))
    if args.insecure:
        print_lines([summary.INSECURE_WARNING])
    progress = None if args.json else (lambda msg: err.print(msg, markup=False, highlight=False))
    try:
        result = run_simulation(rendered.fleet, rendered.plan, args.job, rounds=args.rounds, max_clients=args.clients,
                                insecure=args.insecure, supernode_auth=True if args.supernode_auth else None,
                                timeout=args.timeout, progress=progress)
    except SimulationError as exc:
        if args.json:
            emit_json(summary.simulation_failed_json(args.job, exc))
        else:
            print_lines(summary.simulation_failed_lines(exc))
        return exc.code
    if args.json:
        emit_json(summary.simulation_json(result))
    else:
        print_lines(summary.simulation_lines(result))
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from .audit import offline_audit
    from .report.audit import render

    from .checks.built import build_and_check

    _check_output(args.output)
    rendered = pipeline.render(_paths(args))
    built = build_and_check(rendered.files, rendered.roots, None)
    report = offline_audit(rendered, built.for_policies(rendered))
    if args.kubeconfig:
        from .audit.live import merge, pick_hub, read_hub

        kubeconfig = Path(args.kubeconfig)
        if not kubeconfig.is_file():
            raise InputError([Finding("audit", "kubeconfig not found", location=Location(args.kubeconfig))])
        hub, context = pick_hub(rendered.fleet, kubeconfig, args.context, args.hub)
        from .kube import Timeouts

        merge(report, rendered.fleet, read_hub(rendered.fleet, hub, kubeconfig, context,
                                               Timeouts(args.connect_timeout, args.read_timeout)))
    _write_output(render(report, args.format), args.output)
    if args.output:
        out.print(f"wrote {args.format} audit to {args.output}: "
                  f"{'compliant' if report.compliant else 'not compliant'}", markup=False)
    return report.exit_code


def _hub_clusters(args: argparse.Namespace, semantics: bool = True):  # type: ignore[no-untyped-def]
    from .audit.live import pick_hub
    from .inventory.hub import read_hub_clusters
    from .kube import Timeouts

    fleet = pipeline.load(_paths(args), semantics=semantics)
    kubeconfig = Path(args.kubeconfig)
    if not kubeconfig.is_file():
        raise InputError([Finding("inventory", "kubeconfig not found", location=Location(args.kubeconfig))])
    hub, context = pick_hub(fleet, kubeconfig, args.context, args.hub)
    state = read_hub_clusters(hub.name, kubeconfig, context, Timeouts(args.connect_timeout, args.read_timeout),
                              args.page_size)
    return fleet, state


def cmd_inventory_diff(args: argparse.Namespace) -> int:
    from .inventory.drift import compare
    from .report.inventory import drift_text

    fleet, state = _hub_clusters(args)
    report = compare(fleet, state)
    if args.format == "json":
        emit_json(report.as_dict())
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
    if args.format == "json":
        emit_json(result.as_dict())
    else:
        sys.stdout.write(pull_text(result))
    # What was pulled may contradict the jobs (say a claim path a holder entry disagrees with).
    try:
        pipeline.load(_paths(args))
    except InputError as exc:
        print_findings(exc.findings)
        err.print("the pulled inventory is written, but specs/ no longer validate: fix the findings above",
                  style="red", markup=False)
        return EXIT_FAILED
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from .governance import load_registry
    from .spec.schema import published_schema

    emit_json(published_schema(load_registry().parameter_schemas()))
    return EXIT_OK


def cmd_policy_list(args: argparse.Namespace) -> int:
    from .report.policies import catalogue_text, policy_catalogue

    entries = policy_catalogue(pipeline.render(_paths(args)))
    if args.format == "json":
        emit_json(entries)
    else:
        sys.stdout.write(catalogue_text(entries))
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------------

def _common(p: argparse.ArgumentParser, formats: Sequence[str] = ("text", "json")) -> None:
    p.add_argument("--specs", default="specs", help="directory of spec documents (default: specs)")
    p.add_argument("--out", default=".", help="root holding bases/, overlays/, bootstrap/ (default: .)")
    p.add_argument("--format", choices=formats, default="text", help="output format")


def _timeouts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--connect-timeout", type=float, default=5.0, help="seconds to connect to the hub (default 5)")
    p.add_argument("--read-timeout", type=float, default=30.0,
                   help="seconds to wait for each response of the hub (default 30); no retries")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fedfleet", description="Federated learning on OCM/ACM fleets, through Git.")
    parser.add_argument("--version", action="version", version=f"fedfleet {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="<verb>")
    verbs.required = True

    p = verbs.add_parser("generate", help="render specs/ into bases/, overlays/ and bootstrap/")
    _common(p)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and list files that drifted")
    p.set_defaults(func=cmd_generate)

    p = verbs.add_parser("validate", help="spec checks, real kustomize builds, CRD schema validation")
    _common(p)
    p.add_argument("--crds", help="directory of upstream CRD YAML files to validate built objects against")
    p.set_defaults(func=cmd_validate)

    p = verbs.add_parser("plan", help="preview which clusters each job selects, and why the others are out")
    _common(p, ("text", "json", "markdown"))
    p.add_argument("jobs", nargs="*", metavar="JOB", help="jobs to plan (default: all)")
    p.add_argument("--explain", metavar="CLUSTER", help="one cluster across all jobs, with the reason for each")
    p.set_defaults(func=cmd_plan)

    p = verbs.add_parser("simulate", help="run a Flower job as a real federation on loopback, with TLS")
    p.add_argument("--specs", default="specs", help="directory of spec documents (default: specs)")
    p.add_argument("--out", default=".", help=argparse.SUPPRESS)
    p.add_argument("job", metavar="JOB")
    p.add_argument("--rounds", type=int, help="rounds to run (default: the job's)")
    p.add_argument("--clients", type=int, help="at most this many of the planned clients")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--insecure", action="store_true", help="run without TLS (loudly; for debugging only)")
    p.add_argument("--supernode-auth", action="store_true", help="authenticate SuperNodes with per-node key pairs")
    p.add_argument("--timeout", type=float, default=300, help="seconds before the federation is stopped (default 300)")
    p.set_defaults(func=cmd_simulate)

    p = verbs.add_parser("policy", help="governance rules: list them, test their Rego twins")
    policy_verbs = p.add_subparsers(dest="policy_verb", metavar="<action>")
    policy_verbs.required = True
    q = policy_verbs.add_parser("list", help="every plugin, its rules, targets, remediation and controls")
    _common(q)
    q.set_defaults(func=cmd_policy_list)
    q = policy_verbs.add_parser("test", help="run the test_ rules of the plugins' and policies/ Rego, with coverage")
    q.add_argument("--policies", default="policies", help="the fleet repo's Rego directory (default: policies)")
    q.add_argument("--format", choices=("text", "json"), default="text")
    q.set_defaults(func=cmd_policy_test)

    p = verbs.add_parser("check", help="every pull-request check in one run, one report")
    _common(p, ("text", "json", "junit", "sarif", "markdown"))
    p.add_argument("--crds", help="directory of upstream CRD YAML files")
    p.add_argument("--policies", default="policies", help="the fleet repo's Rego directory (default: policies)")
    p.add_argument("--opa-url", help="evaluate Rego on this OPA server instead of the embedded engine")
    p.add_argument("--opa-connect-timeout", type=float, default=5.0, help="seconds to connect to OPA (default 5)")
    p.add_argument("--opa-read-timeout", type=float, default=30.0,
                   help="seconds to wait for each OPA answer (default 30); no retries")
    p.add_argument("--base", help="git revision to compare with (e.g. origin/main): warn on edits that would "
                                  "drive a running job to terminal Failed")
    p.add_argument("--repo", default=".", help="the git repository, with --base (default: .)")
    p.add_argument("--output", help="write the report to this file instead of standard output")
    p.set_defaults(func=cmd_check)

    p = verbs.add_parser("diff", help="object-level difference per hub against a git revision")
    _common(p, ("text", "json", "markdown"))
    p.add_argument("--base", required=True, help="git revision to compare with, e.g. origin/main")
    p.add_argument("--repo", default=".", help="the git repository (default: .)")
    p.add_argument("--output", help="write the diff to this file instead of standard output")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    p.set_defaults(func=cmd_diff)

    p = verbs.add_parser("audit", help="compliance by control: offline from the repo, live from a hub")
    _common(p, ("text", "markdown", "json", "html"))
    p.add_argument("--output", help="write the report to this file instead of standard output")
    p.add_argument("--kubeconfig", help="read the hub's live state through this kubeconfig")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--hub", help="which fleet hub the context points at (default: by server URL, then by name)")
    _timeouts(p)
    p.set_defaults(func=cmd_audit)

    p = verbs.add_parser("inventory", help="the cluster inventory against the hub: pull it, report drift")
    inventory_verbs = p.add_subparsers(dest="inventory_verb", metavar="<action>")
    inventory_verbs.required = True
    for name, func, text in (
        ("pull", cmd_inventory_pull, "write specs/clusters/ from the hub's ManagedClusters (comments kept)"),
        ("diff", cmd_inventory_diff, "report where specs/clusters/ differs from the hub (exit 1 on drift)"),
    ):
        q = inventory_verbs.add_parser(name, help=text)
        _common(q)
        q.add_argument("--kubeconfig", required=True, help="kubeconfig of the hub")
        q.add_argument("--context", help="kubeconfig context (default: the current one)")
        q.add_argument("--hub", help="which fleet hub the context points at (default: by server URL, then by name)")
        q.add_argument("--page-size", type=int, default=500, help="items per list call (default 500)")
        _timeouts(q)
        q.set_defaults(func=func)

    p = verbs.add_parser("schema", help="print the JSON Schema of the spec documents")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except InputError as exc:
        print_findings(exc.findings)
        n = len(exc.findings)
        err.print(f"{n} error{'s' if n != 1 else ''}; nothing was written", style="red", markup=False)
        return EXIT_INPUT
    except KeyboardInterrupt:
        err.print("interrupted", style="red")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
