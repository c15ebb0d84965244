"""Slim install (issue 14, point 8): the base install runs every repository verb; a verb that needs
an extra says so in one line and exits 2.

A fresh venv per test would be slow, so the CLI runs as a subprocess of this (full) venv with
tests/fixtures/slim/sitecustomize.py refusing every module a base install lacks. That set is not
written here: it is computed from the installed metadata as (what the extras pull in, transitively)
minus (what the base requirements pull in, transitively), so a new dependency of an extra is
refused automatically. The blocker logs each refusal, so a base verb is shown never even to try.
The README's "Install size" figures come from real throwaway venvs (bench/install_size.py).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fedfleet import extras
from fedfleet.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
BLOCKER = Path(__file__).parent / "fixtures" / "slim"
FEDFLEET = Path(sys.executable).parent / "fedfleet"


def _closure(requirements: list[Requirement], extra: str) -> set[str]:
    """Distribution names (canonical) the requirements install, transitively, with `extra` active
    for the first level only (as pip resolves `fedfleet[extra]`)."""
    seen: set[str] = set()
    todo = [(r, extra) for r in requirements]
    while todo:
        req, active = todo.pop()
        env = {**default_environment(), "extra": active}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        for sub in requires:
            for sub_extra in (req.extras or {""}):
                todo.append((Requirement(sub), sub_extra))
    return seen


@cache
def absent_modules() -> tuple[str, ...]:
    """Top-level import names provided only by distributions a base install does not have."""
    own = [Requirement(r) for r in metadata.requires("fedfleet") or []]
    base = _closure(own, "")
    full = _closure(own, "simulate") | _closure(own, "live")
    extra_only = full - base
    assert {"flwr", "scikit-learn", "scipy", "kubernetes"} <= extra_only, extra_only
    by_module = metadata.packages_distributions()
    return tuple(sorted(m for m, dists in by_module.items()
                        if dists and all(canonicalize_name(d) in extra_only for d in dists)))


def fedfleet(cwd: Path, log: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(BLOCKER), "FEDFLEET_TEST_ABSENT": ",".join(absent_modules()),
           "FEDFLEET_TEST_ABSENT_LOG": str(log), "NO_COLOR": "1"}
    return subprocess.run([str(FEDFLEET), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_blocker_refuses_the_extras_modules(tmp_path: Path) -> None:
    """The harness itself: flwr, sklearn, scipy and kubernetes really cannot be imported under it."""
    modules = absent_modules()
    assert {"flwr", "sklearn", "scipy", "kubernetes", "numpy"} <= set(modules)
    env = {**os.environ, "PYTHONPATH": str(BLOCKER), "FEDFLEET_TEST_ABSENT": ",".join(modules)}
    for module in ("flwr", "sklearn", "scipy", "kubernetes"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True)
        assert done.returncode == 1 and f"No module named '{module}'" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-c", "import yaml, jsonschema, rich"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_extras_match_pyproject() -> None:
    """fedfleet/extras.py names the distributions of each extra exactly as pyproject.toml lists them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["optional-dependencies"]
    for extra, modules in extras.EXTRAS.items():
        assert {canonicalize_name(Requirement(r).name) for r in declared[extra]} == \
               {canonicalize_name(d) for d in modules.values()}, extra
    # `.[test]` keeps installing everything the tests use
    assert any(Requirement(r).name == "fedfleet" and Requirement(r).extras == set(extras.EXTRAS)
               for r in declared["test"])
    assert not {canonicalize_name(Requirement(r).name) for r in project["dependencies"]} & \
        {canonicalize_name(d) for m in extras.EXTRAS.values() for d in m.values()}


def _git(root: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
                   check=True, capture_output=True)


def test_base_install_runs_the_repository_verbs(fleet_repo: Path, tmp_path: Path, crds: Path) -> None:
    # the session's CRD store (conftest `crds`): what `fedfleet crds pull` gives a fresh machine
    log = tmp_path / "refused.log"
    _git(fleet_repo, "init", "-q", "-b", "main")
    _git(fleet_repo, "add", "specs")
    _git(fleet_repo, "commit", "-q", "-m", "base")
    steps = [
        (("generate",), 0, "bundle updated"),
        (("generate", "--check"), 0, ""),
        (("validate", "--crds", str(crds)), 0, "validate ok"),
        (("plan", "-o", "json"), 0, '"jobs"'),
        (("check", "--crds", str(crds)), 0, ""),
        (("diff", "--base", "main"), 0, ""),
        (("policy", "test"), 0, ""),
        (("policy", "list", "-o", "json"), 0, ""),
        (("audit", "-o", "json"), None, ""),
        (("schema",), 0, "$schema"),
        (("crds", "list", "-o", "json"), None, "\"crds\""),
    ]
    for argv, code, needle in steps:
        done = fedfleet(fleet_repo, log, *argv)
        assert "Traceback" not in done.stderr, (argv, done.stderr)
        if code is not None:
            assert done.returncode == code, (argv, done.returncode, done.stdout[-2000:], done.stderr[-2000:])
        else:  # the offline audit of the example fleet is not compliant by design, the CRD store may be
            # empty (crds list exits 1 then): only "it ran"
            assert done.returncode in (0, 1), (argv, done.stderr[-2000:])
        assert needle in done.stdout + done.stderr, (argv, done.stdout[-2000:])
    refused = [line.split() for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    # a library's optional import may be refused (the verb worked without it); fedfleet's never
    ours = sorted({module for module, importer in refused if importer.split(".")[0] == "fedfleet"})
    assert ours == [], f"fedfleet code imported modules of an extra in a base verb: {ours}"


def _hint(what: str, extra: str) -> str:
    """The one line, spelled out here (not extras.hint): both install forms, checkout and index."""
    return f"{what} needs the {extra} extra: pip install -e '.[{extra}]' in a checkout (pip install 'fedfleet[{extra}]' from an index)"


@pytest.mark.parametrize(("argv", "hint"), [
    (("simulate", "digits-dev"), _hint("fedfleet simulate", "simulate")),
    (("doctor", "--kubeconfig", "kubeconfig"), _hint("fedfleet doctor", "live")),
    (("inventory", "pull", "--kubeconfig", "kubeconfig"),
     _hint("fedfleet inventory pull", "live")),
    (("inventory", "diff", "--kubeconfig", "kubeconfig"),
     _hint("fedfleet inventory diff", "live")),
    (("audit", "--kubeconfig", "kubeconfig"), _hint("fedfleet audit --kubeconfig", "live")),
    (("check", "--opa-url", "http://127.0.0.1:1"), _hint("fedfleet check --opa-url", "live")),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
def test_a_verb_without_its_extra_prints_one_line_and_exits_2(fleet_repo: Path, tmp_path_factory, argv, hint) -> None:
    (fleet_repo / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    done = fedfleet(fleet_repo, tmp_path_factory.mktemp("log") / "refused.log", *argv)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", hint + "\n")
    # nothing was started or written on the way
    assert sorted(p.name for p in fleet_repo.iterdir()) == ["kubeconfig", "specs"]


def test_the_hint_is_the_json_document_with_o_json(fleet_repo: Path, tmp_path: Path) -> None:
    done = fedfleet(fleet_repo, tmp_path / "refused.log", "simulate", "digits-dev", "-o", "json")
    assert done.returncode == 2 and done.stderr == ""
    document = json.loads(done.stdout)
    assert document["ok"] is False and document["exitCode"] == 2
    assert [f["message"] for f in document["findings"]] == \
        [_hint("fedfleet simulate", "simulate")]


def test_with_the_extras_installed_no_hint(fleet_repo: Path, tmp_path: Path) -> None:
    """Without the blocker the same command goes past the check (here to the job lookup)."""
    done = subprocess.run([str(FEDFLEET), "simulate", "no-such-job", "-o", "json"], cwd=fleet_repo,
                          capture_output=True, text=True, timeout=300)
    assert "extra" not in done.stdout and "no-such-job" in done.stdout, done.stdout


def test_the_sample_workflow_installs_the_base_package_from_the_repository() -> None:
    """examples/ci: fedfleet from the fleet repository itself (`pip install .`: a fleet repo made from
    this template carries pyproject.toml), no extras for the checks; the live extra only in the step
    that reads a hub; every other fedfleet command of the workflow needs no extra."""
    workflow = yaml.safe_load((REPO / "examples/ci/fleet-pull-request.yaml").read_text(encoding="utf-8"))
    [job] = workflow["jobs"].values()

    def lines(script: str) -> list[str]:
        return script.replace("\\\n", " ").splitlines()

    installs: list[tuple[str, str]] = []  # (what pip installs, the whole step)
    for step in job["steps"]:
        for line in lines(step.get("run", "")):
            words = shlex.split(line, comments=True)
            if words[:4] == ["python", "-m", "pip", "install"]:
                installs.append((words[4], step["run"]))
    [(base, _), (live, live_step)] = installs
    assert (base, live) == (".", ".[live]")
    assert "fedfleet inventory diff" in live_step
    parser = build_parser()
    checked = 0
    for step in job["steps"]:
        for line in lines(step.get("run", "")):
            words = shlex.split(line, comments=True)
            if words[:1] == ["fedfleet"] and step.get("run") != live_step:
                assert extras.needed(parser.parse_args(words[1:])) is None, line
                checked += 1
    assert checked >= 3  # check (sarif, markdown) and diff
