"""Shared fixtures: the example fleet copied to a scratch repo, the upstream CRDs, the CLI."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from fedfleet.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SPECS = REPO / "specs"
SHARED_CRDS = REPO.parent / "shared" / "crds"  # cross-checks only: every test skips without it
_STORE: list[Path] = []  # the session's CRD store, once pulled


def extra_crd(file: str) -> Path:
    """The upstream CRD `file` from the session's CRD store (`crds` fixture); skip (one line) when
    the store lacks it (not on the Go module proxy and no ../shared/crds to take it from)."""
    for folder in (*_STORE, SHARED_CRDS):
        if (folder / file).is_file():
            return folder / file
    pytest.skip(f"upstream CRD {file} is not in the CRD store (fedfleet crds pull) nor ../shared/crds")


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


@pytest.fixture(autouse=True, scope="session")
def crd_store_env(tmp_path_factory: pytest.TempPathFactory):
    """Every test's CRD store is the session's own folder, never the user's ~/.cache one, filled
    at the start as a user fills it: `fedfleet crds pull` (the Go module proxy), plus
    ../shared/crds for the CRDs the proxy does not serve when ../shared is there. Without a Go
    toolchain it stays empty and the tests that need it (the `crds` fixture) skip."""
    from fedfleet import crdstore

    store = tmp_path_factory.mktemp("crd-store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FEDFLEET_CRD_STORE", str(store))
        if crdstore.find_go() is not None:
            report = crdstore.pull(store, [SHARED_CRDS] if SHARED_CRDS.is_dir() else [])
            assert report.ok, [o.as_dict() for o in report.outcomes if o.status in ("refused", "failed")]
            _STORE[:] = [store]
        yield store


@pytest.fixture(scope="session")
def crds(crd_store_env: Path) -> Path:
    """The session's CRD store (a plain folder of CRD files, so `--crds` takes it too); skips
    (one line) without a Go toolchain to fill it."""
    if not _STORE:
        pytest.skip("no Go toolchain: the CRD store is filled by `go mod download` (fedfleet crds pull)")
    return crd_store_env


def need_crd(crds: Path, file: str) -> Path:
    """A CRD the store may lack (the proxy does not serve it): skip with one line without it."""
    if not (crds / file).is_file():
        pytest.skip(f"upstream CRD {file} is not on the Go module proxy and ../shared/crds is absent")
    return crds / file


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A failed Flower preview's exception carries the failing process's log tail (SimulationError
    .details, which the CLI prints): shown with the failure, since the scratch directory is gone."""
    report = yield
    details = getattr(call.excinfo.value, "details", None) if call.excinfo is not None else None
    if report.failed and isinstance(details, str) and details:
        report.sections.append(("log tail of the failing process", details))
    return report
