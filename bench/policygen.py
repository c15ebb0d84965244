"""fedfleet's governance output against the Policy Generator's, on the synthetic fleet.

Both produce the same policies (tests/oracles/test_oracle_policygen.py compares them field by
field): fedfleet from the fleet spec through its plugins, the Policy Generator
(open-cluster-management.io/policy-generator-plugin, built by tools/install.sh) from the
configuration a user of it would write for the same content, one configuration per hub. Prints
the time and bytes of each; writing the generator's input files is not counted. Needs Go (the
generator is built on first use). Run: python bench/policygen.py [--clusters N --jobs N --hubs N]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "tests"))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet import write  # noqa: E402
from fedfleet.governance import govern, load_registry, render_hub  # noqa: E402
from fedfleet.placement import plan  # noqa: E402
from fedfleet.spec.load import load_fleet  # noqa: E402
from oracles.oracle_policygen import generator_config  # noqa: E402
from oracles.oracle_tools import tool  # noqa: E402


def main() -> None:
    args = fleet_args(__doc__)
    generator = tool("PolicyGenerator")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs = write_fleet(root, args.clusters, args.jobs, args.hubs)
        registry = load_registry()
        fleet = load_fleet(specs, registry.parameter_schemas())
        the_plan = plan(fleet)

        t0 = time.perf_counter()
        by_file = {hub: render_hub(g) for hub, g in govern(fleet, the_plan, registry).items()}
        t1 = time.perf_counter()
        files = write.serialise_bundle({f"overlays/{hub}/{path}": objs for hub, per in by_file.items()
                                        for path, objs in per.items()})
        by_hub = {hub: [o for objs in per.values() for o in objs] for hub, per in by_file.items()}
        t2 = time.perf_counter()
        ours = sum(len(v) for v in files.values())
        policies = sum(1 for objs in by_hub.values() for o in objs if o["kind"] == "Policy")

        peer_seconds, peer_bytes, peer_policies = 0.0, 0, 0
        for hub, objs in sorted(by_hub.items()):
            work = root / "policygen" / hub
            config = generator_config(objs, work)
            s = time.perf_counter()
            done = subprocess.run([str(generator), config.name], cwd=work, capture_output=True, check=True)
            peer_seconds += time.perf_counter() - s
            peer_bytes += len(done.stdout)
            peer_policies += done.stdout.count(b"\nkind: Policy\n")

        print(f"fleet: {args.clusters} clusters, {args.jobs} jobs, {args.hubs} hubs")
        print(f"fedfleet:         {policies} Policies; governance objects {t1 - t0:.2f} s + serialise {t2 - t1:.2f} s "
              f"= {t2 - t0:.2f} s, {ours / 2**20:.1f} MiB")
        print(f"Policy Generator: {peer_policies} Policies; {peer_seconds:.2f} s over {len(by_hub)} runs "
              f"(one per hub), {peer_bytes / 2**20:.1f} MiB")
        print(f"ratio: time {peer_seconds / (t2 - t0):.1f}x, bytes {peer_bytes / ours:.2f}x (Policy Generator / fedfleet)")


if __name__ == "__main__":
    main()
