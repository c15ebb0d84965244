"""Where the upstream oracles live, and the one rule for when they cannot run.

tools/install.sh builds them into .tools/bin (pinned by the go.mod/go.sum files under tools/).
Without a Go toolchain every oracle test skips with the same one-line reason; with Go, a missing
or stale binary is (re)built once per session, so the oracles never silently stop running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("FEDFLEET_TOOLS_BIN", REPO / ".tools" / "bin"))
GO_MISSING = ("upstream oracles need a Go toolchain (go >= 1.26 on PATH or in /usr/local/go/bin, "
              "or FEDFLEET_GO) to build with tools/install.sh; none found")


def go_binary() -> str | None:
    """FEDFLEET_GO when set (also how a test plays a machine without Go), else go on PATH, else
    the standard install location; tools/install.sh looks in the same places."""
    if "FEDFLEET_GO" in os.environ:
        return os.environ["FEDFLEET_GO"] if os.access(os.environ["FEDFLEET_GO"], os.X_OK) else None
    return shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")


def go_available() -> bool:
    return go_binary() is not None


@cache
def install() -> None:
    """Run tools/install.sh once per session (a no-op when every binary is up to date)."""
    done = subprocess.run([str(REPO / "tools" / "install.sh")], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"tools/install.sh failed:\n{done.stdout}{done.stderr}")


def tool(name: str) -> Path:
    install()
    path = BIN / name
    if not path.exists():
        raise RuntimeError(f"tools/install.sh ran but {path} is missing")
    return path
