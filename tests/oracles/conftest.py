"""Oracle tests: without Go every one of them skips for the same reason, reported from this one
place, so pytest -ra folds them into ONE line naming it; never silently."""

from __future__ import annotations

from typing import Any, Generator

import pytest

from oracles.oracle_tools import GO_MISSING, go_available


@pytest.fixture(autouse=True)
def _needs_go() -> None:
    if not go_available():
        pytest.skip(GO_MISSING)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    # pytest reports a fixture's skip at each test's line, one summary line per test; the reason
    # is the same for all of them, so report it where it is decided.
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(GO_MISSING):
        report.longrepr = (__file__, None, report.longrepr[2])
    return report
