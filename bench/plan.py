"""Placement preview benchmark: 10,000 clusters x 1,000 jobs (goal <= 5 s on 2 cores).

Prints the time to plan every job (the fleet is loaded first and not counted), the number of
selected and excluded entries, and the time of the JSON rendering. Run: python bench/plan.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet.placement import plan  # noqa: E402
from fedfleet.report.plan import plan_json  # noqa: E402
from fedfleet.spec.load import load_fleet  # noqa: E402


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        fleet = load_fleet(write_fleet(Path(tmp), args.clusters, args.jobs, args.hubs))
        t0 = time.perf_counter()
        result = plan(fleet)
        t1 = time.perf_counter()
        text = json.dumps(plan_json(result))
        t2 = time.perf_counter()
    selected = sum(len(j.selected) for j in result.jobs)
    excluded = sum(len(j.excluded) for j in result.jobs)
    print(f"fleet: {args.clusters} clusters, {args.jobs} jobs, {args.hubs} hubs")
    print(f"plan:  {t1 - t0:.2f} s for {len(result.jobs)} jobs (goal <= 5 s)")
    print(f"json:  {t2 - t1:.2f} s, {len(text) / 2**20:.1f} MiB")
    print(f"decisions: {selected} selected, {excluded} excluded with a reason, "
          f"{sum(1 for j in result.jobs if not j.enough)} jobs short of clients")


if __name__ == "__main__":
    main()
