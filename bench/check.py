"""Pull-request checks at fleet scale: generate, plan and check as processes, with the floor.

For each size (clusters; jobs a tenth of them; 4 hubs) it writes a synthetic fleet, then runs the
real CLI as child processes and prints wall and CPU (user+sys) seconds and peak RSS of each:
- generate (and the floor measured in the same run: PyYAML's C loader over the same spec bytes
  plus its C dumper over the same rendered objects, in this process);
- plan -o json (and the size of what it writes);
- check (against the CRD store: `fedfleet crds pull` first), cold (empty cache), then again with one job changed (a warm cache);
RSS MiB is the largest process of the run's tree (wait4), main the fedfleet process's own peak and
rego check's Rego process's (goal: <= 1 GiB at 40,000 clusters), both the peak of the two together
while they run at the same time (their resident sizes sampled every 50 ms and added: a peak between
two samples is missed, so it is a lower bound);
Optionally writes the figures as JSON (--json) and a plot (--plot, matplotlib).

Run: python bench/check.py [--sizes 2500,10000,40000] [--json out.json] [--plot out.png]
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

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_fleet  # noqa: E402

FEDFLEET = str(Path(sys.executable).parent / "fedfleet")


def _hwm_mib(pid: int, field: str = "VmHWM:") -> float:
    """A process's peak RSS so far (VmHWM; or its RSS now, VmRSS:), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next((int(line.split()[1]) / 1024 for line in fh if line.startswith(field)), 0.0)
    except OSError:
        return 0.0


def _rego_children(pid: int) -> list[int]:
    """check's Rego process (python -m fedfleet.checks.regoproc), when it runs."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            children = [int(c) for c in fh.read().split()]
    except OSError:
        return []
    found = []
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as fh:
                if b"fedfleet.checks.regoproc" in fh.read():
                    found.append(child)
        except OSError:
            pass
    return found


def run(argv: list[str], cwd: Path, stdout: Path | None = None) -> dict[str, float]:
    """One child process: wall, CPU (user+sys) and peak RSS: of the largest process of its tree
    (wait4: the child and the descendants it waited for, each on its own, not summed), and, read
    from /proc while it runs (Linux), of the fedfleet process itself and of check's Rego process,
    and of the two together (the sum of their resident sizes at one sample)."""
    t0 = time.perf_counter()
    main_mib = rego_mib = both_mib = 0.0
    with open(stdout or os.devnull, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL)
        while True:  # VmHWM only grows: the last reading before each process ends is its peak
            main_mib = max(main_mib, _hwm_mib(proc.pid))
            now = _hwm_mib(proc.pid, "VmRSS:")
            for child in _rego_children(proc.pid):
                rego_mib = max(rego_mib, _hwm_mib(child))
                now += _hwm_mib(child, "VmRSS:")
            both_mib = max(both_mib, now)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "main_mib": main_mib, "rego_mib": rego_mib, "both_mib": both_mib, "exit": code}


def floor(root: Path) -> float:
    """C loader over the spec bytes + C dumper over the rendered objects, in this process (CPU s)."""
    from fedfleet.governance import load_registry
    from fedfleet.pipeline import render_all
    from fedfleet.placement import plan
    from fedfleet.spec.load import load_fleet

    specs = root / "specs"
    registry = load_registry()
    fleet = load_fleet(specs, registry.parameter_schemas())
    _gov, objects = render_all(fleet, plan(fleet), registry)
    # The CLI runs batch verbs without the cyclic collector (cli.main); so does the floor, else
    # the collector re-walking this process's live objects inflates it (and the ratio flatters us).
    gc.collect()
    gc.disable()
    t0 = time.process_time()  # CPU seconds, like the children's figures it is compared with
    for path in sorted(specs.rglob("*.yaml")):
        list(yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader))
    for docs in objects.values():
        yaml.dump_all(docs, Dumper=yaml.CSafeDumper)
    spent = time.process_time() - t0
    gc.enable()
    return spent


def change_one_job(root: Path) -> None:
    first = sorted((root / "specs" / "jobs").glob("*.yaml"))[0]
    text = first.read_text()
    first.write_text(text.replace("rounds: 3", "rounds: 4", 1))


def measure(clusters: int) -> dict[str, object]:
    jobs = clusters // 10
    with tempfile.TemporaryDirectory(prefix="fedfleet-bench-") as tmp:
        root = Path(tmp)
        write_fleet(root, clusters, jobs, 4)
        fl = floor(root)
        gen = run([FEDFLEET, "generate"], root)
        plan_out = root / "plan.json"
        pl = run([FEDFLEET, "plan", "-o", "json"], root, plan_out)
        crds: list[str] = []  # check's default: the CRD store (run `fedfleet crds pull` first)
        cold = run([FEDFLEET, "check", *crds], root)
        change_one_job(root)
        run([FEDFLEET, "generate"], root)
        warm = run([FEDFLEET, "check", *crds], root)
        return {"clusters": clusters, "jobs": jobs, "floor": fl, "generate": gen, "plan": pl,
                "plan_bytes": plan_out.stat().st_size, "check_cold": cold, "check_one_job": warm,
                "load": os.getloadavg()[0]}


def plot(results: list[dict], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("--plot needs matplotlib (pip install matplotlib); the figures are in --json", file=sys.stderr)
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["clusters"] for r in results]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, label in (("generate", "generate"), ("plan", "plan -o json"), ("check_cold", "check (cold cache)"),
                       ("check_one_job", "check (one job changed)")):
        ax.plot(xs, [r[key]["cpu"] for r in results], marker="o", label=label)
    ax.plot(xs, [r["floor"] for r in results], marker="x", linestyle="--", label="floor (C loader + C dumper)")
    ax.set_xlabel("clusters (jobs = clusters / 10, 4 hubs)")
    ax.set_ylabel("CPU seconds, user+sys (with kustomize)")
    ax.set_title("fedfleet at fleet scale (2 cores, shared machine)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2500,10000,40000")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--plot", help="write a PNG plot here")
    ap.add_argument("--replot", help="only draw --plot from a JSON file an earlier run wrote")
    args = ap.parse_args()
    if args.replot:
        plot(json.loads(Path(args.replot).read_text()), Path(args.plot or "bench-check.png"))
        return
    results = []
    print(f"{'clusters':>8} {'step':<22} {'wall s':>7} {'cpu s':>7} {'RSS MiB':>8} {'main':>6} {'rego':>6} {'both':>6}  note")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n)
        results.append(r)
        for key in ("generate", "plan", "check_cold", "check_one_job"):
            m = r[key]
            note = ""
            # issue 15's goals, printed beside the size they apply to: times at 10,000 clusters,
            # memory at 40,000; the floor ratio and the plan's size at every size
            if key == "generate":
                note = f"floor {r['floor']:.2f} s, generate cpu/floor {m['cpu'] / r['floor']:.1f}x (goal <= 2x)"
            if key == "plan":
                note = f"{r['plan_bytes'] / 2**20:.1f} MiB JSON (goal <= 5 MB)" + ("; goal <= 3 s" if n == 10000 else "")
            if key == "check_cold" and n == 10000:
                note = "goal <= 10 s wall"
            if key == "check_one_job" and n == 10000:
                note = "goal <= 3 s wall"
            if key.startswith("check") and n == 40000:
                note = "goal <= 1 GiB (main and rego each; both: the two together)"
            print(f"{n:>8} {key:<22} {m['wall']:>7.2f} {m['cpu']:>7.2f} {m['rss_mib']:>8.0f} {m['main_mib']:>6.0f} "
                  f"{m['rego_mib']:>6.0f} {m['both_mib']:>6.0f}  {note}", flush=True)
        print(f"{'':>8} load average during the run: {r['load']:.1f}", flush=True)
        if args.json:  # after each size: a long run still leaves what it measured
            Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    for a, b in zip(results, results[1:]):
        ratio = b["clusters"] / a["clusters"]
        growth = ", ".join(f"{k} {b[k]['cpu'] / a[k]['cpu']:.2f}x" for k in ("generate", "plan", "check_cold", "check_one_job"))
        print(f"growth {a['clusters']} -> {b['clusters']} ({ratio:.0f}x clusters, CPU): {growth} (goal <= 4.5x per 4x)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        plot(results, Path(args.plot))


if __name__ == "__main__":
    main()
