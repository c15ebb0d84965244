"""generate works out the plan of the Flower jobs only (their clusters are rendered); the rest,
and every exclusion's reason, when something asks: the same plan as computed eagerly."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fedfleet import pipeline
from fedfleet.placement import Planner, plan


def test_rendering_plans_only_the_flower_jobs(fleet_repo: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    flower = {j.name for j in rendered.fleet.jobs if j.framework == "flower"}
    others = {j.name for j in rendered.fleet.jobs} - flower
    assert flower and others
    assert set(rendered.planner.planned) == flower
    assert {j.job for j in rendered.plan.jobs} == flower | others  # asked: all of it


def test_the_plan_on_demand_is_the_eager_plan_reasons_included(fleet_repo: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    eager = plan(rendered.fleet, now=now)
    lazy = Planner(rendered.fleet, now=now)
    assert any(e.stage == "predicate" for j in eager.jobs for e in j.excluded)
    assert lazy.plan == eager
    assert [[e.reason for e in j.excluded] for j in lazy.jobs] == [[e.reason for e in j.excluded] for j in eager.jobs]
    assert all(isinstance(e.reason, str) and e.reason for j in lazy.jobs for e in j.excluded)
