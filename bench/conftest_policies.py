"""conftest `package main` and the placeholders check at fleet scale (both run in `fedfleet check`).

Renders the synthetic fleet in memory and times, over the rendered bundle's objects per hub:
- checks/conftest.py evaluating a two-rule `package main` (a deny on Deployments, a warn with an
  object result on Namespaces, plus the exception query), one object at a time as conftest does;
- checks/placeholders.py over the specs and every object.
Prints objects, seconds and objects per second for each.

Run: python bench/conftest_policies.py [--clusters 2500 --jobs 250]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet import pipeline  # noqa: E402
from fedfleet.checks import conftest, placeholders  # noqa: E402
from fedfleet.checks.rego import RegoModule, hub_objects  # noqa: E402

MAIN = """package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("Deployment %s must set runAsNonRoot", [input.metadata.name])
}

warn_team contains {"msg": sprintf("Namespace %s has no team label", [input.metadata.name])} if {
	input.kind == "Namespace"
	not input.metadata.labels.team
}
"""


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        specs = write_fleet(Path(tmp), args.clusters, args.jobs, args.hubs)
        rendered = pipeline.render(pipeline.Paths(specs, Path(tmp)))
    objects = hub_objects(rendered.bundle, rendered.roots)
    t0 = time.perf_counter()
    result = conftest.evaluate([RegoModule("policies/main.rego", MAIN, "bench")], objects)
    seconds = time.perf_counter() - t0
    print(f"conftest main: {len(objects)} objects, {len(result.rules)} rules, {len(result.findings)} findings, "
          f"{seconds:.2f} s, {len(objects) / seconds:,.0f} objects/s")
    by_hub: dict[str, list[dict]] = {}
    for o in objects:
        by_hub.setdefault(o.hub, []).append(dict(o.object))
    t0 = time.perf_counter()
    found = placeholders.spec_findings(rendered.fleet) + placeholders.object_findings(
        rendered.fleet, by_hub, {hub: hub for hub in by_hub})
    seconds = time.perf_counter() - t0
    print(f"placeholders: {len(objects)} objects, {len(found)} findings, {seconds:.2f} s, "
          f"{len(objects) / seconds:,.0f} objects/s")


if __name__ == "__main__":
    main()
