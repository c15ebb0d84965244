"""Install weight: the base package against the extras, each in a throwaway venv.

For each variant (`.` base, `.[live]`, `.[simulate]`, `.[simulate,live]` full) it creates a fresh
venv, runs `pip install` of this checkout (not editable, so the package itself counts too) and
prints the wall time, the number of distributions installed and the size of site-packages. Then,
in the base venv, it runs `fedfleet generate` and `fedfleet check` on a copy of the example fleet,
so the figures are those of an install that really works.

The times use pip's cache as it is on the machine (a warm cache: no downloads); a first install
also downloads, roughly the wheels' size, which pip's cache size gives an idea of.

Run: python bench/install_size.py [--variants base,full] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO.parent / "shared" / "crds"
VARIANTS = {"base": ".", "live": ".[live]", "simulate": ".[simulate]", "full": ".[simulate,live]"}


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(name: str, target: str, root: Path) -> dict[str, object]:
    venv = root / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    t0 = time.perf_counter()
    subprocess.run([*pip, target], cwd=REPO, check=True)
    seconds = time.perf_counter() - t0
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json",
                             "--disable-pip-version-check"], capture_output=True, text=True, check=True)
    dists = sorted(d["name"] for d in json.loads(listed.stdout) if d["name"] not in ("pip", "setuptools"))
    site = next((venv / "lib").glob("python3*/site-packages"))
    return {"variant": name, "install": target, "seconds": round(seconds, 1), "distributions": len(dists),
            "sitePackagesMiB": round(tree_size(site) / 2**20, 1), "names": dists}


def smoke(venv: Path, root: Path) -> list[str]:
    """generate and check on the example fleet with the base venv: exit codes, one line each."""
    fleet = root / "fleet"
    shutil.copytree(REPO / "specs", fleet / "specs")
    lines = []
    for argv in (["generate"], ["check", "--crds", str(CRDS)]):
        done = subprocess.run([str(venv / "bin" / "fedfleet"), *argv], cwd=fleet, capture_output=True, text=True)
        lines.append(f"fedfleet {' '.join(argv)}: exit {done.returncode}")
        if done.returncode != 0:
            lines.append((done.stdout + done.stderr)[-1500:])
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fedfleet-install-") as tmp:
        root = Path(tmp)
        for name in args.variants.split(","):
            row = measure(name, VARIANTS[name], root)
            rows.append(row)
            print(f"{name:9} pip install {row['install']:17} {row['seconds']:6.1f} s  "
                  f"{row['distributions']:3} distributions  {row['sitePackagesMiB']:7.1f} MiB site-packages", flush=True)
        if "base" in args.variants.split(","):
            for line in smoke(root / "base", root):
                print(line)
            full = next((r for r in rows if r["variant"] == "full"), None)
            if full:
                only = sorted(set(full["names"]) - set(rows[0]["names"]))  # type: ignore[arg-type]
                print(f"only with the extras ({len(only)}): {', '.join(only)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
