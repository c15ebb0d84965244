"""Rego stage speed and growth on synthetic fleets (goal >= 5,000 objects/s; linear growth:
<= 4.5x time per 4x clusters).

For each size (jobs a tenth of the clusters unless --jobs is given) it renders the fleet in memory,
takes the objects every hub gets (the rendered bundle, or with --built what kustomize builds from
it, as `fedfleet check` does), then prints the CPU seconds of each part of the stage: building the
input, writing it as JSON, handing it to regorus, each package's deny and warn, turning results into
findings, and the whole stage (`rego.evaluate`, wall and CPU) as `check` runs it. With several sizes
it prints the growth of the stage per step. Numbers only; nothing is asserted.

    python bench/rego.py --sizes 2500,10000,40000 [--built] [--modules DIR]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_fleet  # noqa: E402

from fedfleet import pipeline  # noqa: E402
from fedfleet.checks import rego  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def cpu() -> float:
    return time.process_time()


def measure(clusters: int, jobs: int, hubs: int, built: bool, module_dir: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        specs = write_fleet(Path(tmp), clusters, jobs, hubs)
        rendered = pipeline.render(pipeline.Paths(specs, Path(tmp)))
        if built:
            from fedfleet.checks import built as build

            objects: rego.Bundle | list[rego.HubObject] = build.build_and_check(
                rendered.build_inputs, rendered.roots, None, Path(tmp) / ".fedfleet-cache").for_policies(rendered)
        else:
            objects = rendered.bundle
    if module_dir:  # e.g. the modules of an older commit, for a before/after comparison
        modules = [rego.RegoModule(p.name, p.read_text(encoding="utf-8"), str(p)) for p in sorted(module_dir.glob("*.rego"))]
    else:
        modules = rego.plugin_modules(rendered.registry.rego_modules()) + rego.repo_modules(REPO / "policies")
    modules = [m for m in modules if not m.name.endswith("_test.rego")]

    # Collect the render's garbage first: its deferred cost would otherwise land on whichever part
    # allocates next (build_input took 7.6 s instead of 0.3 s at 40,000 clusters that way).
    gc.collect()
    # The parts, one by one, on one engine.
    t = cpu()
    data_input = rego.build_input(rendered.fleet, rendered.plan, objects)
    parts = {"build_input": cpu() - t}
    t = cpu()
    text = rego.input_json(data_input)
    parts["input JSON"] = cpu() - t
    engine = rego.EmbeddedEngine()
    packages = engine.load(modules)
    t = cpu()
    engine._engine.set_input_json(text)
    parts["set_input_json"] = cpu() - t
    results: dict[str, dict[str, list]] = {}
    per_package: dict[str, float] = {}
    for pkg in packages:
        if not pkg.startswith("fedfleet.") or pkg.endswith("_test"):
            continue
        results[pkg] = {}
        for name in ("deny", "warn"):
            t = cpu()
            results[pkg][name] = engine._set_rule(pkg, name)
            per_package[f"{pkg.removeprefix('fedfleet.')}.{name}"] = cpu() - t
    # What check asks: every package's deny and warn in one query, so the complete rules the
    # packages share (data.fedfleet_lib.objects) are evaluated once instead of once per rule above.
    t = cpu()
    assert engine._ask(packages) == results
    parts["one query"] = cpu() - t
    t = cpu()
    findings = rego.to_findings(rendered.fleet, results)
    parts["to_findings"] = cpu() - t

    # The whole stage, as `check` runs it (a fresh engine).
    n_objects, megabytes = len(data_input["objects"]), len(text) / 1e6
    del engine, data_input, text
    gc.collect()
    t, w = cpu(), time.perf_counter()
    result = rego.evaluate(rendered.fleet, rendered.plan, objects, modules)
    stage_cpu, stage_wall = cpu() - t, time.perf_counter() - w
    assert len(result.findings) == len(findings)

    print(f"\n{clusters} clusters, {jobs} jobs, {hubs} hubs: {n_objects} objects "
          f"({'built by kustomize' if built else 'rendered bundle'}), {megabytes:.1f} MB input, "
          f"{len(findings)} findings")
    for name, secs in [*list(parts.items())[:3], *per_package.items(),
                       ("all packages, one by one", sum(per_package.values())),
                       ("all packages, one query", parts["one query"]), ("to_findings", parts["to_findings"])]:
        print(f"  {name:<28} {secs:6.2f} s")
    # Throughput on CPU seconds: wall time on a shared 2-core machine says more about the neighbours.
    print(f"  {'stage (rego.evaluate)':<28} {stage_cpu:6.2f} s CPU, {stage_wall:.2f} s wall, "
          f"{n_objects / stage_cpu:.0f} objects per CPU second (goal >= 5000)")
    return {"clusters": clusters, "objects": n_objects, "cpu": stage_cpu, "wall": stage_wall,
            "packages": parts["one query"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000", help="comma-separated cluster counts (default 10000)")
    ap.add_argument("--jobs", type=int, help="jobs per fleet (default: a tenth of the clusters)")
    ap.add_argument("--hubs", type=int, default=4)
    ap.add_argument("--built", action="store_true", help="judge what kustomize builds, as `check` does (slower)")
    ap.add_argument("--modules", type=Path, help="evaluate the .rego files of this directory instead of the plugins' "
                    "and policies/ (e.g. `git archive` of an older commit's modules, for before/after)")
    args = ap.parse_args()
    rows = [measure(n, args.jobs or max(1, n // 10), args.hubs, args.built, args.modules)
            for n in map(int, args.sizes.split(","))]
    if len(rows) > 1:
        print("\nclusters  objects  stage CPU s  packages CPU s  growth (stage CPU, per step)")
        for prev, row in zip([None, *rows], rows):
            growth = f"{row['cpu'] / prev['cpu']:.2f}x for {row['clusters'] / prev['clusters']:.0f}x clusters" if prev else ""
            print(f"{row['clusters']:>8} {row['objects']:>8} {row['cpu']:>12.2f} {row['packages']:>15.2f}  {growth}")


if __name__ == "__main__":
    main()
