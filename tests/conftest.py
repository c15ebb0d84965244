"""Shared fixtures: the example fleet copied to a scratch repo, the upstream CRDs, the CLI."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from fedfleet.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPECS = REPO / "specs"
SHARED_CRDS = REPO.parent / "shared" / "crds"
# Upstream CRDs that ../shared/crds does not carry (cert-manager's Certificate/Issuer, the Argo CD
# operator's ArgoCD). Upstream files are never committed here; a developer who has them (for
# example from scripts or a fetched upstream checkout) points FEDFLEET_EXTRA_CRDS at the folder,
# and the tests that need them skip with one line naming the missing file otherwise.
EXTRA_CRDS = Path(os.environ["FEDFLEET_EXTRA_CRDS"]) if os.environ.get("FEDFLEET_EXTRA_CRDS") else None


def extra_crd(file: str) -> Path:
    """The upstream CRD `file` from ../shared/crds or FEDFLEET_EXTRA_CRDS; skip (one line) without it."""
    for folder in (SHARED_CRDS, EXTRA_CRDS):
        if folder is not None and (folder / file).is_file():
            return folder / file
    pytest.skip(f"upstream CRD {file} is in neither ../shared/crds nor FEDFLEET_EXTRA_CRDS")


def line_of(text: str | Path, needle: str) -> int:
    """1-based number of the first line that contains `needle`: tests locate spec lines by their
    content, never by a number that an edit of the example fleet would silently shift."""
    content = text.read_text(encoding="utf-8") if isinstance(text, Path) else text
    for number, line in enumerate(content.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in {text if isinstance(text, Path) else 'the text'}")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process; returns exit code and captured output."""

    def _run(*argv: str) -> Result:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture
def fleet_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch repository root holding a copy of the example specs; the CWD for the test."""
    shutil.copytree(EXAMPLE_SPECS, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def crds() -> Path:
    if not SHARED_CRDS.is_dir():
        pytest.fail(f"upstream CRDs not found at {SHARED_CRDS}; ../shared must sit beside the repo")
    return SHARED_CRDS
