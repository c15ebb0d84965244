"""Argo CD health checks through lupa, as the live audit runs them on a large hub.

Renders the 10,000-cluster benchmark fleet, gives every Policy, Placement and FederatedLearning
of its bundle a status in the shape the hub reports (the recorded fixtures' statuses, cycled),
then times `fedfleet.render.health.assess` on all of them: a fresh Lua 5.1 state per object, as
Argo CD does. Prints objects, seconds and objects per second.
"""

from __future__ import annotations

import copy
import itertools
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet import pipeline  # noqa: E402
from fedfleet.render.health import assess, check_for  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "health"


def statuses(kind_file: str) -> itertools.cycle:
    items = yaml.safe_load((FIXTURES / kind_file).read_text())["items"]
    return itertools.cycle([i["status"] for i in items if "status" in i])


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        specs = write_fleet(Path(tmp), args.clusters, args.jobs, args.hubs)
        rendered = pipeline.render(pipeline.Paths(specs, Path(tmp)))
    recorded = {"Policy": statuses("policies.yaml"), "Placement": statuses("placements.yaml"),
                "FederatedLearning": statuses("federatedlearnings.yaml")}
    objects = []
    for docs in rendered.bundle.values():
        for doc in docs:
            if check_for(doc) is not None and doc["kind"] in recorded:
                live = copy.deepcopy(doc)
                live["status"] = next(recorded[doc["kind"]])
                objects.append(live)
    t0 = time.perf_counter()
    verdicts = [assess(o) for o in objects]
    seconds = time.perf_counter() - t0
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1  # type: ignore[union-attr]
    print(f"{len(objects)} objects in {seconds:.2f} s: {len(objects) / seconds:,.0f} objects/s ({counts})")


if __name__ == "__main__":
    main()
