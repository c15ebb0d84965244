"""Flower preview benchmark: what the bundle ships for a 4-client job, 5 rounds on loopback, with TLS (goal <= 60 s on 2 cores,
federated accuracy >= 0.95 x centralized). Builds a one-job fleet whose plan selects 4 clusters
and runs `fedfleet simulate` on it in-process. Prints wall time, accuracies and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import time
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from fleetbuilder import cluster, job, write_specs  # noqa: E402

from fedfleet import pipeline  # noqa: E402
from fedfleet.simulate import run_simulation  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        names = [f"site-{i}" for i in range(args.clients)]
        spec = job("bench", {n: f"/data/{n}" for n in names}, min_clients=args.clients)
        # the app must live inside the fleet repository
        shutil.copytree(REPO / "examples" / "flower-digits", root / "app", ignore=shutil.ignore_patterns("__pycache__"))
        spec["spec"]["simulation"] = {"app": "app"}
        spec["spec"]["runConfig"] = {"min-nodes": args.clients}
        specs = write_specs(root, [cluster(n, claims={"bench.client-data": f"/data/{n}"}) for n in names], [spec])
        rendered = pipeline.render(pipeline.Paths(specs, root))
        t0 = time.monotonic()
        result = run_simulation(rendered, "bench", rounds=args.rounds,
                                progress=lambda m: print(f"  [{time.monotonic() - t0:5.1f}s] {m}", flush=True))
    print(f"clients: {len(result.clients)}, rounds: {args.rounds}, TLS: {result.tls}")
    print(f"wall time: {result.wall_seconds:.1f} s (goal <= 60 s)")
    print(f"federated accuracy: {result.federated_accuracy:.4f}, centralized: {result.centralized_accuracy:.4f}, "
          f"ratio: {result.ratio:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
