"""Without Go, the oracle tests skip with one line naming the reason; never silently."""

from __future__ import annotations

import os
import subprocess
import sys

from oracles.oracle_tools import GO_MISSING, REPO


def test_without_go_every_oracle_test_skips_with_one_line() -> None:
    env = {**os.environ, "FEDFLEET_GO": "/nonexistent/go"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/oracles/test_oracle_placement.py"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and GO_MISSING in skipped[0], done.stdout
    assert " passed" not in done.stdout.splitlines()[-1]


def test_install_says_so_without_go() -> None:
    env = {**os.environ, "FEDFLEET_GO": "/nonexistent/go"}
    done = subprocess.run(["bash", str(REPO / "tools" / "install.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and "no Go toolchain" in done.stdout
