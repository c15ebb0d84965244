#!/usr/bin/env python3
"""Regenerate (or check) the README's console samples from real runs.

A ```console block directly after a `<!-- sample -->` line is a sample: each `$ fedfleet ...`
line is run, in order, in a scratch copy of the example fleet (specs/, policies/, examples/),
and the block is rewritten with what the commands print (stdout and stderr as a terminal shows
them, colours off). `../shared/crds` in a command means the CRDs beside this repository. The
samples see a CRD store as a fresh machine has it: a scratch store filled by `fedfleet crds pull`
from the Go module proxy alone (so they read the same with or without ../shared).
Blocks without the marker (edited fleets, live hubs, Flower runs with timings) are left alone.

Usage: scripts/readme-samples.py [--check]   (--check: exit 1 and show what is stale)
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARKER = "<!-- sample -->"
FENCE = "```console"


FEDFLEET = shutil.which("fedfleet", path=str(Path(sys.executable).parent)) or "fedfleet"


def run_block(commands: list[str], scratch: Path, store: Path) -> list[str]:
    out: list[str] = []
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "FLWR_TELEMETRY_ENABLED": "0",
           "FEDFLEET_CRD_STORE": str(store)}
    env.pop("FORCE_COLOR", None)
    fedfleet = FEDFLEET
    for command in commands:
        argv = shlex.split(command.split("  #")[0])
        assert argv[0] == "fedfleet", f"a sample runs fedfleet only: {command}"
        argv = [str((REPO.parent / "shared/crds").resolve()) if a == "../shared/crds" else a for a in argv[1:]]
        done = subprocess.run([fedfleet, *argv], cwd=scratch, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=600)
        text = done.stdout.replace(str(scratch) + "/", "").replace(str((REPO.parent / "shared/crds").resolve()),
                                                                     "../shared/crds")
        out += [f"$ {command}", *text.rstrip("\n").splitlines()]
    return out


def regenerate(text: str) -> str:
    lines = text.splitlines()
    result: list[str] = []
    i = 0
    with tempfile.TemporaryDirectory(prefix="fedfleet-samples-") as tmp:
        store = Path(tmp) / "crd-store"
        subprocess.run([FEDFLEET, "crds", "pull", "-q", "--store", str(store)], check=True, stdout=subprocess.DEVNULL,
                       timeout=1800)
        while i < len(lines):
            result.append(lines[i])
            if lines[i].strip() == MARKER and i + 1 < len(lines) and lines[i + 1].strip() == FENCE:
                end = lines.index("```", i + 2)
                commands = [l[2:] for l in lines[i + 2:end] if l.startswith("$ ")]
                scratch = Path(tmp) / f"fleet-{i}"
                scratch.mkdir()
                for part in ("specs", "policies", "examples"):
                    if (REPO / part).is_dir():
                        shutil.copytree(REPO / part, scratch / part)
                result += [FENCE, *run_block(commands, scratch, store), "```"]
                i = end + 1
                continue
            i += 1
    return "\n".join(result) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    current = README.read_text(encoding="utf-8")
    fresh = regenerate(current)
    if fresh == current:
        print("README samples are current")
        return 0
    if check:
        sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), fresh.splitlines(True),
                                                   "README.md", "README.md (regenerated)"))
        print("README samples are stale: run scripts/readme-samples.py", file=sys.stderr)
        return 1
    README.write_text(fresh, encoding="utf-8")
    print("README samples regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
