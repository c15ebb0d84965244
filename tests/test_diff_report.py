"""`fedfleet diff` text and markdown show what changed inside a list, not one shared prefix twice."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from fedfleet.diff import MAX_VALUE, compare, to_markdown, to_text

JOB = "specs/jobs/mnist-eu.yaml"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def _fields(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("        ")]


def test_a_second_job_shows_its_added_placement_and_policy_by_name(fleet_repo: Path, run) -> None:
    _git(fleet_repo, "init", "-q", "-b", "main")
    _git(fleet_repo, "add", "specs")
    _git(fleet_repo, "commit", "-q", "-m", "base")
    source = (fleet_repo / JOB).read_text()
    assert "name: mnist-eu\n" in source, "fixture drifted"
    (fleet_repo / "specs/jobs/mnist-eu2.yaml").write_text(source.replace("name: mnist-eu\n", "name: mnist-eu2\n", 1))

    text = run("diff", "--base", "main").out
    lines = _fields(text)
    # every shown change differs on its two sides
    for line in lines:
        old, _, new = line.partition(": ")[2].partition(" -> ")
        assert old != new, line
    placement = next(line for line in lines if line.startswith("spec.installStrategy.placements"))
    assert "name=flower-addon-mnist-eu2]: (absent) -> " in placement
    assert any(line.startswith("subjects[name=validation-last-run-mnist-eu2]: (absent) -> ") for line in lines)
    assert any(line.endswith('(absent) -> "addon-agent-mnist-eu2"') for line in lines)

    markdown = run("diff", "--base", "main", "--format", "markdown").out
    assert "name=flower-addon-mnist-eu2]`: `(absent)` → " in markdown

    # JSON keeps the whole lists
    changes = json.loads(run("diff", "--base", "main", "--format", "json").out)["changes"]
    addon = next(c for c in changes if c["kind"] == "ClusterManagementAddOn")
    field = next(f for f in addon["fields"] if f["path"] == "spec.installStrategy.placements")
    assert len(field["new"]) == len(field["old"]) + 1


def _one(old: object, new: object) -> list[str]:
    base = {"hub": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": old}]}
    head = {"hub": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": new}]}
    return _fields(to_text(compare(base, head)))


def test_unnamed_items_are_aligned_by_content_and_edited_names_by_field() -> None:
    assert _one({"l": ["a", "b"]}, {"l": ["x", "a", "b"]}) == ['data.l[0]: (absent) -> "x"']
    assert _one({"l": ["a", "b", "c"]}, {"l": ["a", "c"]}) == ['data.l[1]: "b" -> (absent)']
    named = _one({"l": [{"name": "p", "v": 1}, {"name": "q", "v": 1}]}, {"l": [{"name": "q", "v": 2}]})
    assert named == ['data.l[name=p]: {"name": "p", "v": 1} -> (absent)', "data.l[name=q].v: 1 -> 2"]


def test_long_values_are_cut_around_their_first_difference() -> None:
    prefix = "x" * (2 * MAX_VALUE)
    [line] = _one({"s": prefix + "-old-tail"}, {"s": prefix + "-new-tail"})
    old, new = line.removeprefix("data.s: ").split(" -> ")
    assert "old-tail" in old and "new-tail" in new
    assert len(old) <= MAX_VALUE and len(new) <= MAX_VALUE
    base = {"hub": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"s": prefix + "a"}}]}
    head = {"hub": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"s": prefix + "b"}}]}
    markdown = to_markdown(compare(base, head), "main")
    assert 'a"` → `...' in markdown and markdown.count('b"`') == 1
