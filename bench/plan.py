"""`fedfleet plan -o json` at fleet scale: 2,500 / 10,000 / 40,000 clusters (jobs a tenth, 4 hubs).

For each size, the verb as a process (wall, CPU, peak RSS, bytes written; the goals: <= 3 s at
10,000 clusters, <= 5 MB, <= 1 GiB at 40,000) and, in this process, where the CPU goes: spec
loading, the plan, the grouped JSON. Then the growth per 4x clusters (goal <= 4.5x). Timings on a
shared machine are noisy: compare CPU seconds, and the load average printed with them.

Run: python bench/plan.py [--sizes 2500,10000,40000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_fleet  # noqa: E402

import orjson  # noqa: E402

from fedfleet.placement import plan  # noqa: E402
from fedfleet.report.plan import plan_json  # noqa: E402
from fedfleet.spec.load import load_fleet  # noqa: E402

FEDFLEET = Path(sys.executable).with_name("fedfleet")


def as_process(root: Path) -> dict[str, float]:
    """`fedfleet plan -o json` in `root`: wall and CPU seconds, peak RSS (MiB), bytes written."""
    out = root / "plan.json"
    with out.open("wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen([str(FEDFLEET), "plan", "-o", "json"], cwd=root, stdout=fh)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):  # 1: some job lacks clients, the plan itself ran
        raise SystemExit(f"fedfleet plan exited {proc.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
            "bytes": out.stat().st_size}


def in_process(root: Path) -> dict[str, float]:
    """CPU seconds of each part, in a fresh interpreter as the verb has: load (read, validate,
    build), plan, JSON (grouping and encoding)."""
    done = subprocess.run([sys.executable, __file__, "--parts", str(root)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def parts(root: Path) -> dict[str, float]:
    t0 = time.process_time()
    fleet = load_fleet(root / "specs")
    gc.disable()  # as `fedfleet plan` runs (cli.main: batch verbs run without the cyclic collector)
    t1 = time.process_time()
    result = plan(fleet)
    t2 = time.process_time()
    orjson.dumps(plan_json(result), option=orjson.OPT_SORT_KEYS)
    t3 = time.process_time()
    return {"load": t1 - t0, "plan": t2 - t1, "json": t3 - t2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2500,10000,40000", help="cluster counts (jobs: a tenth)")
    ap.add_argument("--hubs", type=int, default=4)
    ap.add_argument("--parts", type=Path, help=argparse.SUPPRESS)  # internal: one size's parts, as JSON
    args = ap.parse_args()
    if args.parts:
        print(json.dumps(parts(args.parts)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores are shared: compare CPU seconds)")
    print(f"{'clusters':>8} {'jobs':>5} | {'wall s':>6} {'cpu s':>6} {'rss MiB':>7} {'MB out':>6} | "
          f"{'load':>5} {'plan':>5} {'json':>5}  (cpu s, in process)")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_fleet(root, n, n // 10, args.hubs)
            proc = as_process(root)
            split = in_process(root)
        rows.append((n, proc, split))
        print(f"{n:>8} {n // 10:>5} | {proc['wall']:>6.2f} {proc['cpu']:>6.2f} {proc['rss']:>7.0f} "
              f"{proc['bytes'] / 1e6:>6.2f} | {split['load']:>5.2f} {split['plan']:>5.2f} {split['json']:>5.2f}")
    for (n0, p0, q0), (n1, p1, q1) in zip(rows, rows[1:]):
        ratio = n1 / n0
        growth = {k: p1[k] / p0[k] for k in ("cpu", "rss", "bytes")} | {k: q1[k] / q0[k] for k in q0}
        print(f"growth {n0} -> {n1} ({ratio:g}x clusters; goal <= {ratio * 4.5 / 4:g}x): "
              + ", ".join(f"{k} {v:.2f}x" for k, v in growth.items()))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
