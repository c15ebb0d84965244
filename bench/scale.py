"""Scale benchmark of `fedfleet generate`: 10,000 clusters, 1,000 jobs, 4 hubs.

Prints wall time per stage, peak memory (max RSS), files and bytes written, and the floor: the
time PyYAML's C dumper alone takes to dump the same objects. Run: python bench/scale.py
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet import write  # noqa: E402
from fedfleet.governance import load_registry  # noqa: E402
from fedfleet.pipeline import render_all  # noqa: E402
from fedfleet.placement import plan  # noqa: E402
from fedfleet.spec.load import load_fleet  # noqa: E402


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs = write_fleet(root, args.clusters, args.jobs, args.hubs)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        registry = load_registry()
        fleet = load_fleet(specs, registry.parameter_schemas())
        t1 = time.perf_counter()
        the_plan = plan(fleet)
        tp = time.perf_counter()
        _governance, objects = render_all(fleet, the_plan, registry)
        t2 = time.perf_counter()
        files = write.serialise_bundle(objects)
        t3 = time.perf_counter()
        write.write(files, root)
        t4 = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The floor: the C dumper alone on the very same objects, no ordering, no disk.
        f0 = time.perf_counter()
        for docs in objects.values():
            yaml.dump_all(docs, Dumper=yaml.CSafeDumper)
        floor = time.perf_counter() - f0
        total = t4 - t0
        out_bytes = sum(len(v) for v in files.values())
        print(f"fleet: {args.clusters} clusters, {args.jobs} jobs, {args.hubs} hubs")
        print(f"load+validate: {t1 - t0:.2f} s")
        print(f"plan:          {tp - t1:.2f} s")
        print(f"render:        {t2 - tp:.2f} s (core + governance plugins)")
        print(f"serialise:     {t3 - t2:.2f} s")
        print(f"write:         {t4 - t3:.2f} s")
        print(f"total:         {total:.2f} s (goal <= 15 s)")
        print(f"render+serialise+write: {t4 - tp:.2f} s")
        print(f"floor (CSafeDumper alone): {floor:.2f} s; total/floor = {total / floor:.1f}x, "
              f"(render+serialise+write)/floor = {(t4 - tp) / floor:.1f}x (goal <= 3x)")
        print(f"peak RSS: {peak / 1024:.0f} MiB (before generate: {rss_before / 1024:.0f} MiB; goal <= 2048 MiB)")
        print(f"files written: {len(files)}, bytes: {out_bytes} ({out_bytes / 2**20:.1f} MiB)")
        kinds: dict[str, int] = {}
        for docs in objects.values():
            for d in docs:
                kinds[d.get("kind", "?")] = kinds.get(d.get("kind", "?"), 0) + 1
        gov = sum(len(v) for p, v in files.items() if "/governance/" in p)
        print("objects: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        print(f"governance files: {sum(1 for p in files if '/governance/' in p)}, {gov / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
