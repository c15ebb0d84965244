"""Why kustomize is slow on a large hub overlay, and what the split layout costs (render/layout.py).

Writes a synthetic fleet (bench/synthetic.py), generates it, and times real `kustomize build`s of
one hub's objects laid out several ways, each a child process, CPU = user+sys of the child:
- the overlay as generated (Argo CD's path; it composes the units, so kustomize accumulates all);
- each unit on its own (what `check` builds), summed;
- all the hub's objects in one flat kustomization: with the hub's labels and patches, without
  labels, without patches, without both (do the transformers matter?);
- the flat kustomization's subsets (jobs/, flower/, governance/): cost against object count.

With --part-objects 128,256,512 it instead generates the fleet once per unit size
(render/layout.py PART_OBJECTS) and builds every hub unit of every hub one by one, CPU summed
(what a cold `check` spends in kustomize on the overlays). FEDFLEET_KUSTOMIZE="kustomize build"
measures a standalone kustomize instead of kubectl's.

Run: python bench/kustomize_layout.py [--clusters 10000] [--hub hub-0] [--part-objects 128,256,512]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import write_fleet  # noqa: E402

from fedfleet.checks.built import composed_units  # noqa: E402
from fedfleet.checks.kustomize import build_env, find_kustomize  # noqa: E402

TOOL = find_kustomize()


def build(directory: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*TOOL.argv, str(directory)], capture_output=True, text=True, env=build_env())  # as check runs it
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    objects = sum(1 for d in yaml.load_all(proc.stdout, Loader=yaml.CSafeLoader) if d)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), objects


def row(what: str, wall: float, cpu: float, objects: int, builds: int = 1) -> None:
    print(f"{what:<52} {objects:>6} {builds:>6} {wall:>8.2f} {cpu:>8.2f}", flush=True)


GENERATE_WITH = """
import sys
from fedfleet.render import layout
layout.PART_OBJECTS = int(sys.argv[1])
from fedfleet.cli import main
sys.exit(main(["generate"]))
"""


def unit_sizes(clusters: int, sizes: list[int]) -> None:
    """Every hub unit built one by one, per PART_OBJECTS: the units' total CPU against their size."""
    with tempfile.TemporaryDirectory(prefix="fedfleet-kust-") as tmp:
        write_fleet(Path(tmp) / "specs-only", clusters, clusters // 10, 4)
        print(f"{TOOL.name}; {clusters} clusters, every hub's units; load average {os.getloadavg()[0]:.1f}")
        print(f"{'PART_OBJECTS':>12} {'units':>6} {'objects':>8} {'per unit':>8} {'wall s':>8} {'cpu s':>8}")
        for size in sizes:
            root = Path(tmp) / str(size)
            shutil.copytree(Path(tmp) / "specs-only" / "specs", root / "specs")
            subprocess.run([sys.executable, "-c", GENERATE_WITH, str(size)], cwd=root, check=True,
                           stdout=subprocess.DEVNULL)
            units = sorted(p.parent for p in root.glob("overlays/*/*/kustomization.yaml"))
            wall = cpu = 0.0
            count = 0
            for unit in units:
                w, c, n = build(unit)
                wall, cpu, count = wall + w, cpu + c, count + n
            print(f"{size:>12} {len(units):>6} {count:>8} {count / len(units):>8.0f} {wall:>8.2f} {cpu:>8.2f}", flush=True)
            shutil.rmtree(root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=int, default=10_000)
    ap.add_argument("--hub", default="hub-0")
    ap.add_argument("--part-objects", default="", help="comma-separated unit sizes (PART_OBJECTS) to compare")
    args = ap.parse_args()
    if args.part_objects:
        unit_sizes(args.clusters, [int(s) for s in args.part_objects.split(",")])
        return
    with tempfile.TemporaryDirectory(prefix="fedfleet-kust-") as tmp:
        root = Path(tmp)
        write_fleet(root, args.clusters, args.clusters // 10, 4)
        subprocess.run([str(Path(sys.executable).parent / "fedfleet"), "generate"], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        overlay = root / "overlays" / args.hub
        print(f"{TOOL.name}; {args.clusters} clusters, hub {args.hub}; load average {os.getloadavg()[0]:.1f}")
        print(f"{'layout':<52} {'objects':>6} {'builds':>6} {'wall s':>8} {'cpu s':>8}")
        row("overlay as generated (Argo CD's path), whole", *build(overlay))
        files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        units = composed_units(f"overlays/{args.hub}", files) or [f"overlays/{args.hub}"]
        wall = cpu = 0.0
        count = 0
        for unit in units:
            w, c, n = build(root / unit)
            wall, cpu, count = wall + w, cpu + c, count + n
        row("its units, one build each (what check builds)", wall, cpu, count, len(units))
        # one flat kustomization of every object of the hub
        flat = root / "flat"
        docs: dict[str, list] = {}
        unit_kust = None
        for path in sorted(overlay.rglob("*.yaml")):
            rel = path.relative_to(overlay).as_posix()
            if path.name == "kustomization.yaml":
                if rel.startswith("core/") or rel == "kustomization.yaml" and unit_kust is None:
                    unit_kust = yaml.safe_load(path.read_text())
                continue
            parts = rel.split("/")
            if parts[0] == "core" or parts[0].startswith("part-"):
                parts = parts[1:]
            kind = parts[0] if len(parts) > 1 else "top"
            docs.setdefault(kind, []).extend(d for d in yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader) if d)
        assert unit_kust is not None

        def flat_build(name: str, kinds: list[str], labels: bool, patches: bool, bases: bool) -> None:
            d = flat / str(len(list(flat.glob("*"))) if flat.exists() else 0)
            d.mkdir(parents=True)
            resources = []
            for kind in kinds:
                (d / f"{kind}.yaml").write_text(yaml.dump_all(docs[kind], Dumper=yaml.CSafeDumper))
                resources.append(f"{kind}.yaml")
            if bases:
                resources[:0] = [f"../../bases/{b}" for b in ("flower-addon", "governance")]
            k = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
            if labels and "labels" in unit_kust:
                k["labels"] = unit_kust["labels"]
            if patches and "patches" in unit_kust:
                k["patches"] = unit_kust["patches"]
            (d / "kustomization.yaml").write_text(yaml.safe_dump(k))
            row(f"flat: {name}", *build(d))

        every = sorted(docs)
        flat_build("all, labels and patches", every, True, True, True)
        flat_build("all, no labels", every, False, True, True)
        flat_build("all, no patches", every, True, False, True)
        flat_build("all, no labels, no patches", every, False, False, True)
        for kind in every:
            flat_build(f"{kind}/ only, no labels, no patches", [kind], False, False, False)
        shutil.rmtree(flat)


if __name__ == "__main__":
    main()
