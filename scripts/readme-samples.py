#!/usr/bin/env python3
"""Regenerate (or check) the README's console samples from real runs.

A ```console block directly after a `<!-- sample -->` line is a sample: each `$ fedfleet ...`
line is run, in order, in a scratch copy of the example fleet (specs/, policies/, examples/),
and the block is rewritten with what the commands print (stdout and stderr as a terminal shows
them, colours off). `../shared/crds` in a command means the CRDs beside this repository. The
samples see a CRD store as a fresh machine has it: a scratch store filled by `fedfleet crds pull`
from the Go module proxy alone (so they read the same with or without ../shared).
Blocks without the marker (live hubs, Flower runs with timings) are left alone.

The marker may carry options, shell-quoted, applied in order before/after the commands:
  edit FILE OLD NEW   replace the line OLD (stripped, exactly one) of FILE in the scratch fleet by
                      NEW (same indentation; a literal \\n starts another line at that indentation)
                      before the block's commands run: an edited fleet
  only REGEX          keep only output lines matching REGEX (the `$` lines always stay); each run
                      of dropped lines becomes one `...`, so a long report shows its stable part
  head N              keep the first N output lines, then `...`
A ```markdown block may follow the marker too: it holds one command's output, without `$` lines;
the command is the marker's `run '...'` option.

Usage: scripts/readme-samples.py [--check]   (--check: exit 1 and show what is stale)
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
FENCE = "```console"


FEDFLEET = shutil.which("fedfleet", path=str(Path(sys.executable).parent)) or "fedfleet"


def edit(scratch: Path, file: str, old: str, new: str) -> None:
    path = scratch / file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip() == old]
    assert len(hits) == 1, f"sample edit: {old!r} is on {len(hits)} lines of {file}, not one"
    line = lines[hits[0]]
    indent = line[:len(line) - len(line.lstrip())]
    lines[hits[0]] = indent + new.replace("\\n", "\n" + indent) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def keep_only(lines: list[str], pattern: str) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if line.startswith("$ ") or re.search(pattern, line):
            kept.append(line)
        elif not kept or kept[-1] != "...":
            kept.append("...")
    return kept


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
            marker = re.fullmatch(r"<!-- sample(?: (.*))? -->", lines[i].strip())
            fence = lines[i + 1].strip() if marker and i + 1 < len(lines) else ""
            if marker and fence in (FENCE, "```markdown"):
                options = shlex.split(marker.group(1) or "")
                end = lines.index("```", i + 2)
                commands = [l[2:] for l in lines[i + 2:end] if l.startswith("$ ")]
                scratch = Path(tmp) / f"fleet-{i}"
                scratch.mkdir()
                for part in ("specs", "policies", "examples"):
                    if (REPO / part).is_dir():
                        shutil.copytree(REPO / part, scratch / part)
                pattern, head = "", 0
                while options:
                    word = options.pop(0)
                    if word == "edit":
                        edit(scratch, options.pop(0), options.pop(0), options.pop(0))
                    elif word == "only":
                        pattern = options.pop(0)
                    elif word == "head":
                        head = int(options.pop(0))
                    elif word == "run":
                        commands = [options.pop(0)]
                    else:
                        raise SystemExit(f"README.md:{i + 1}: unknown sample option {word!r}")
                out = run_block(commands, scratch, store)
                if fence != FENCE:  # a markdown block: the report itself, no `$` line
                    out = out[1:]
                if pattern:
                    out = keep_only(out, pattern)
                if head and len(out) > head:
                    out = [*out[:head], "..."]
                result += [fence, *out, "```"]
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
