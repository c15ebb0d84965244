"""The kustomize-build and CRD-validation stage of `check` (checks/built.py build_and_check) alone.

For each size (clusters; jobs a tenth of them; 4 hubs) it writes a synthetic fleet
(bench/synthetic.py), renders it in a child process, and runs the stage there:
- cold: an empty cache directory, every unit built by real kustomize and validated;
- warm: one job's `rounds` changed in its spec, rendered again, the same cache directory.
Printed per run: wall seconds, CPU seconds of the process and of its kustomize children
(user+sys, RUSAGE_CHILDREN), the process's peak RSS, units built / reused, objects validated.
CRD schemas: the CRD store (`fedfleet crds pull` first).

Run: python bench/build_stage.py [--sizes 2500,10000,40000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from fedfleet import pipeline
from fedfleet.checks import crds
from fedfleet.checks.built import build_and_check

root, store = Path(sys.argv[1]), Path(sys.argv[2])
rendered = pipeline.render(pipeline.Paths(specs=root / "specs", out=root))
files, roots = rendered.build_inputs, rendered.roots
source = crds.SchemaSource.resolve([], rendered.fleet.allow_unvalidated_kinds)
self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.perf_counter()
built = build_and_check(files, roots, source, store)
wall = time.perf_counter() - t0
self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "wall": wall,
    "cpu": self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime,
    "kustomize_cpu": kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime,
    "rss_mib": self1.ru_maxrss / 1024,
    "units": len(built.units), "reused": len(built.cached), "revalidated": len(built.units) - len(built.validated_from_cache),
    "objects": sum(len(o) for o in built.objects.values()), "checked": built.checked,
    "input_mb": sum(len(b) for b in files.values()) / 1e6,
}))
"""


def stage(root: Path, store: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), str(store)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def change_one_job(root: Path) -> None:
    first = sorted((root / "specs" / "jobs").glob("*.yaml"))[0]
    text = first.read_text()
    assert "rounds: 3" in text
    first.write_text(text.replace("rounds: 3", "rounds: 4", 1))


def main() -> None:
    from synthetic import write_fleet

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2500,10000,40000")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} cores; GOGC={os.environ.get('GOGC', '(fedfleet: 400)')}")
    print(f"{'clusters':>8} {'run':<5} {'wall s':>7} {'cpu s':>6} {'kust s':>7} {'rss MiB':>8} {'units':>6} "
          f"{'reused':>6} {'valid.':>6} {'objects':>8} {'checked':>8}")
    for clusters in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="fedfleet-stage-") as tmp:
            root = Path(tmp)
            write_fleet(root, clusters, clusters // 10, 4)
            store = root / ".fedfleet-cache"
            for run in ("cold", "warm"):
                if run == "warm":
                    change_one_job(root)
                else:
                    shutil.rmtree(store, ignore_errors=True)
                r = stage(root, store)
                print(f"{clusters:>8} {run:<5} {r['wall']:>7.2f} {r['cpu']:>6.2f} {r['kustomize_cpu']:>7.2f} "
                      f"{r['rss_mib']:>8.0f} {r['units']:>6} {r['reused']:>6} {r['revalidated']:>6} "
                      f"{r['objects']:>8} {r['checked']:>8}", flush=True)


if __name__ == "__main__":
    main()
