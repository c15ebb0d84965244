"""`fedfleet <verb>`: the edge where findings become exit codes.

Exit codes everywhere: 0 ok, 1 checks failed or drift, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.console import Console

from . import __version__, pipeline
from .findings import Finding, InputError, Severity

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def print_findings(findings: Sequence[Finding], console: Console = err) -> None:
    for f in findings:
        console.print(f.render(), style=_STYLE[f.severity], markup=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _paths(args: argparse.Namespace) -> pipeline.Paths:
    return pipeline.Paths(specs=Path(args.specs), out=Path(args.out))


# --- verbs ------------------------------------------------------------------------------------

def cmd_generate(args: argparse.Namespace) -> int:
    drift = pipeline.generate(_paths(args), check_only=args.check)
    if args.format == "json":
        emit_json({"check": args.check, "clean": drift.clean, "changed": drift.changed,
                   "missing": drift.added, "stale": drift.removed})
    elif args.check:
        if drift.clean:
            out.print("no drift: the committed bundle matches specs/")
        else:
            err.print("drift: the bundle on disk differs from what specs/ generate "
                      "(run `fedfleet generate` and commit):", style="red", markup=False)
            for line in drift.lines():
                err.print(f"  {line}", markup=False)
    else:
        written = len(drift.added) + len(drift.changed)
        out.print(f"wrote {written} file(s), pruned {len(drift.removed)}, "
                  f"{'nothing changed' if drift.clean else 'bundle updated'}")
    return EXIT_FAILED if args.check and not drift.clean else EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    report = pipeline.validate(_paths(args), Path(args.crds) if args.crds else None)
    if args.format == "json":
        emit_json({"ok": report.ok, "kustomize": report.tool, "built": report.built,
                   "schemaChecked": report.checked, "findings": [f.as_dict() for f in report.findings]})
    else:
        print_findings(report.findings, out)
        for root, count in report.built.items():
            out.print(f"built {root}: {count} objects", markup=False)
        crd_note = f", {report.checked} objects checked against {args.crds}" if args.crds else " (no --crds: schema check skipped)"
        verdict = "ok" if report.ok else "FAILED"
        out.print(f"validate {verdict}: specs valid, {len(report.built)} kustomizations built with {report.tool}{crd_note}",
                  style="green" if report.ok else "red", markup=False)
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
        cluster = next((c for c in fleet.clusters if c.name == args.explain), None)
        if cluster is None:
            raise InputError([Finding("plan", f"no cluster named {args.explain!r} in {args.specs}")])
        hub = next(s.hub for s in fleet.cluster_sets if s.name == cluster.cluster_set)
        rows = plan_report.explain(result, cluster.name, cluster.cluster_set, hub)
        if args.format == "json":
            emit_json({"cluster": cluster.name, "clusterSet": cluster.cluster_set, "hub": hub, "jobs": rows})
        else:
            out.print(f"{cluster.name} (cluster set {cluster.cluster_set}, hub {hub})", markup=False)
            for row in rows:
                detail = f"score {row['score']} ({row['reason']})" if row["decision"] == "selected" else row["reason"]
                out.print(f"  {row['job']}: {row['decision']}: {detail}", markup=False)
        return EXIT_OK if result.ok else EXIT_FAILED
    if args.format == "json":
        emit_json(plan_report.plan_json(result))
    elif args.format == "markdown":
        sys.stdout.write(plan_report.plan_markdown(result))
    else:
        sys.stdout.write(plan_report.plan_text(result))
    return EXIT_OK if result.ok else EXIT_FAILED


def cmd_schema(args: argparse.Namespace) -> int:
    from .governance import load_registry
    from .spec.schema import published_schema

    emit_json(published_schema(load_registry().parameter_schemas()))
    return EXIT_OK


def cmd_policy_list(args: argparse.Namespace) -> int:
    from .report.policies import catalogue_text, policy_catalogue

    entries = policy_catalogue(pipeline.build(_paths(args)))
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

    p = verbs.add_parser("policy", help="governance rules: list them, test their Rego twins")
    policy_verbs = p.add_subparsers(dest="policy_verb", metavar="<action>")
    policy_verbs.required = True
    q = policy_verbs.add_parser("list", help="every plugin, its rules, targets, remediation and controls")
    _common(q)
    q.set_defaults(func=cmd_policy_list)

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
