"""Rego evaluation speed on the 10,000-cluster benchmark fleet (goal >= 5,000 objects/s).

Builds the fleet's bundle in memory, then times the embedded engine evaluating every plugin's
module and policies/ over it. Prints objects, seconds and objects per second.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet import pipeline  # noqa: E402
from fedfleet.checks import rego  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        specs = write_fleet(Path(tmp), args.clusters, args.jobs, args.hubs)
        rendered = pipeline.render(pipeline.Paths(specs, Path(tmp)))
    modules = rego.plugin_modules(rendered.registry.rego_modules()) + rego.repo_modules(REPO / "policies")
    t0 = time.perf_counter()
    data_input = rego.build_input(rendered.fleet, rendered.plan, rendered.bundle)
    t1 = time.perf_counter()
    result = rego.evaluate(rendered.fleet, rendered.plan, rendered.bundle, modules)
    t2 = time.perf_counter()
    n = result.objects
    print(f"fleet: {args.clusters} clusters, {args.jobs} jobs; {n} objects in the Rego input, {len(data_input['jobs'])} jobs")
    print(f"input build: {t1 - t0:.2f} s")
    print(f"evaluation (input + {len(result.packages)} packages, embedded regorus): {t2 - t1:.2f} s")
    print(f"throughput: {n / (t2 - t1):.0f} objects/s (goal >= 5000)")
    print(f"findings: {sum(1 for f in result.findings if f.severity.value == 'error')} errors, "
          f"{sum(1 for f in result.findings if f.severity.value == 'warning')} warnings")


if __name__ == "__main__":
    main()
