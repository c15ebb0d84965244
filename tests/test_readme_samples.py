"""The README's console samples marked `<!-- sample -->` are what fedfleet prints today
(issue 14, point 9): scripts/readme-samples.py reruns them on a scratch copy of the example
fleet; this test fails when one is stale, with the diff."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_readme_samples_are_current(crds: Path) -> None:
    """`crds`: the samples' CRD store is pulled from the Go module proxy (skips without Go)."""
    readme = (REPO / "README.md").read_text()
    assert readme.count("<!-- sample -->") >= 2, "the generate/validate and plan samples are checked"
    # the edited-fleet check samples (TLS off, example: false) and the audit's control table
    assert readme.count("<!-- sample edit ") >= 2 and "<!-- sample run 'fedfleet audit -o markdown'" in readme
    done = subprocess.run([sys.executable, str(REPO / "scripts/readme-samples.py"), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
