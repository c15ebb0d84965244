"""check lets go of data it has no more use for (issue 15: memory at 40,000 clusters) without
changing a result: a dropped bundle is rendered again the same, dropped files are never read
silently, and a check whose build fails (Rego then judges the rendered bundle, rendered again)
reports what it reported with the bundle kept."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import EXAMPLE_SPECS
from fedfleet import pipeline
from fedfleet.checks import suite


def test_a_dropped_bundle_is_rendered_again_the_same(tmp_path: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(EXAMPLE_SPECS, tmp_path))
    bundle, governance = copy.deepcopy(rendered.bundle), rendered.governance
    rendered.drop_bundle()
    assert rendered._bundle is None and rendered._governance is None  # really let go
    assert rendered.bundle == bundle
    assert sorted(rendered.governance) == sorted(governance)


def test_dropped_files_are_an_error_to_read(tmp_path: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(EXAMPLE_SPECS, tmp_path))
    assert rendered.files
    rendered.drop_files()
    with pytest.raises(RuntimeError, match="dropped"):
        rendered.files  # noqa: B018
    with pytest.raises(RuntimeError, match="dropped"):
        rendered.build_inputs  # noqa: B018


def test_a_failed_build_reports_the_same_with_the_bundle_dropped(fleet_repo: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """hub-prod names kustomize content that is not there: its build fails, and Rego judges the
    rendered bundle (Built.for_policies), which check dropped after serialising it: rendered again,
    the same report as with the bundle kept."""
    from test_user_kustomize import _declare

    _declare(fleet_repo)  # the hand-written files it names are missing
    paths = pipeline.Paths(fleet_repo / "specs", fleet_repo)
    dropped = suite.run_checks(paths, [], None, use_cache=False)
    monkeypatch.setattr(pipeline.Rendered, "drop_bundle", lambda self: None)
    kept = suite.run_checks(paths, [], None, use_cache=False)
    runs = {r.name: r for r in dropped.runs}
    assert runs["kustomize"].findings and runs["rego"].findings
    for report in (dropped, kept):
        for r in report.runs:
            r.seconds = 0.0
    assert dropped.runs == kept.runs
