"""CLI habits (issue 14, point 7): -o on every verb, JSON on a clean stdout even on failure,
the verb's own usage on a bad flag, -q, NO_COLOR."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fedfleet.cli import build_parser

# Arguments each verb needs to do real work in the scratch fleet. A verb missing here fails
# test_the_table_covers_every_verb: a new verb must take -o json too.
VERB_ARGS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("generate",): (),
    ("validate",): (),
    ("plan",): (),
    ("simulate",): ("no-such-job",),  # a real federation is test_simulate's; here the error document
    ("policy", "list"): (),
    ("policy", "test"): (),
    ("check",): (),
    ("diff",): ("--base", "main"),
    ("audit",): (),
    ("inventory", "pull"): ("--kubeconfig", "no-such-kubeconfig"),
    ("inventory", "diff"): ("--kubeconfig", "no-such-kubeconfig"),
    ("doctor",): ("--kubeconfig", "no-such-kubeconfig"),
    ("schema",): (),
    ("crds", "pull"): ("--no-go", "--from", "no-such-dir"),  # the error document; pulls are test_crdstore's
    ("crds", "list"): (),
}


# Their document is the thing asked for, not a report of a run (README, Command line): the spec
# schema, and the policy catalogue (a list, as it always was).
NOT_A_REPORT = {("schema",), ("policy", "list")}


def _leaf_verbs(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _leaf_verbs(sub, (*path, name))
    return found or [path]


def _git_repo(root: Path) -> None:
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "specs"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "base"], check=True)


def test_the_table_covers_every_verb() -> None:
    assert sorted(_leaf_verbs(build_parser())) == sorted(VERB_ARGS)


@pytest.mark.parametrize("verb", sorted(VERB_ARGS), ids=" ".join)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_verb_prints_a_parseable_document_and_nothing_on_stderr(fleet_repo: Path, run, verb, fmt) -> None:
    _git_repo(fleet_repo)
    result = run(*verb, *VERB_ARGS[verb], "-o", fmt)
    document = json.loads(result.out) if fmt == "json" else yaml.safe_load(result.out)
    assert isinstance(document, (dict, list)) and document, result.out
    assert result.err == "", result.err
    assert result.code in (0, 1, 2)
    if verb in NOT_A_REPORT:
        assert "exitCode" not in document
        return
    # what the README's command-line section promises of every document
    assert isinstance(document, dict) and document["ok"] is (result.code == 0), document
    assert document["exitCode"] == result.code, document
    if verb in (("simulate",), ("inventory", "pull"), ("inventory", "diff"), ("doctor",)):
        assert result.code == 2 and document["ok"] is False


def test_bad_input_under_json_is_the_findings_as_json(fleet_repo: Path, run) -> None:
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: many"))
    result = run("generate", "-o", "json")
    assert result.code == 2 and result.err == ""
    document = json.loads(result.out)
    assert document["ok"] is False and document["exitCode"] == 2
    [finding] = [f for f in document["findings"] if "rounds" in f["field"] or "rounds" in f["message"]]
    assert finding["file"].endswith("mnist-eu.yaml") and finding["line"] > 0
    assert not (fleet_repo / "overlays").exists(), "nothing half written"


@pytest.mark.parametrize("verb", [v for v in sorted(VERB_ARGS) if not set(VERB_ARGS[v]) & {"no-such-job", "no-such-kubeconfig", "no-such-dir"}],
                         ids=" ".join)
def test_bad_specs_under_json_are_one_shape_for_every_verb(fleet_repo: Path, run, verb) -> None:
    _git_repo(fleet_repo)
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: many"))
    result = run(*verb, *VERB_ARGS[verb], "-o", "json")
    document = json.loads(result.out)
    if verb in (("schema",), ("crds", "list"), ("policy", "test")):  # they do not read specs/
        assert result.code == 0
        return
    assert result.code == 2 and result.err == "", (result.code, result.err)
    assert document["ok"] is False and document["exitCode"] == 2, document
    assert any("rounds" in f["message"] or "rounds" in (f["field"] or "") for f in document["findings"]), document


def test_old_flag_spellings_still_work(fleet_repo: Path, run, tmp_path: Path, crds: Path) -> None:
    assert json.loads(run("plan", "--format", "json").out)["jobs"]
    assert json.loads(run("plan", "--output-format", "json").out)["jobs"]
    report = tmp_path / "check.json"
    assert run("check", "--format", "json", "--output", str(report)).code in (0, 1)
    assert json.loads(report.read_text())["checks"]


def test_output_file_writes_the_report_and_quiet_silences_the_note(fleet_repo: Path, run, tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    result = run("plan", "-o", "markdown", "--output-file", str(target))
    assert result.out == "" and "|" in target.read_text()
    loud = run("audit", "-o", "json", "--output-file", str(tmp_path / "a.json"))
    assert "wrote json audit" in loud.err and loud.out == ""
    quiet = run("audit", "-q", "-o", "json", "--output-file", str(tmp_path / "b.json"))
    assert quiet.err == "" and quiet.out == ""
    assert json.loads((tmp_path / "b.json").read_text())


def test_quiet_drops_validates_build_lines_and_keeps_errors_with_their_details(fleet_repo: Path, run) -> None:
    loud, quiet = run("validate"), run("validate", "-q")
    assert "built overlays/" in loud.out and loud.code == 0
    assert "built overlays/" not in quiet.out and "validate ok" in quiet.out and quiet.code == 0
    assert run("generate").code == 0
    drifted = next((fleet_repo / "overlays").rglob("*.yaml"))
    drifted.write_text(drifted.read_text() + "# edited by hand\n")
    result = run("generate", "--check", "-q")
    assert result.code == 1 and "drift:" in result.err
    assert drifted.relative_to(fleet_repo).as_posix() in result.err, result.err


def test_a_bad_flag_prints_the_verbs_usage(fleet_repo: Path, run) -> None:
    result = run("plan", "--no-such-flag")
    assert result.code == 2
    assert "usage: fedfleet plan" in result.err and "unrecognized arguments: --no-such-flag" in result.err
    nested = run("policy", "list", "--no-such-flag")
    assert nested.code == 2 and "usage: fedfleet policy list" in nested.err
    assert "usage: fedfleet check" in run("check", "-o", "pdf").err


@pytest.mark.parametrize(("argv", "message"), [
    (("plan", "--bogus"), "unrecognized arguments: --bogus (see fedfleet plan --help)"),
    (("diff",), "the following arguments are required: --base (see fedfleet diff --help)"),
    (("doctor",), "the following arguments are required: --kubeconfig (see fedfleet doctor --help)"),
    (("policy", "list", "--bogus"), "unrecognized arguments: --bogus (see fedfleet policy list --help)"),
], ids=lambda v: " ".join(v) if isinstance(v, tuple) else None)
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_usage_error_under_o_json_is_the_error_document(fleet_repo: Path, run, argv, message, fmt) -> None:
    result = run(*argv, "-o", fmt)
    assert result.code == 2 and result.err == "", result.err
    document = json.loads(result.out) if fmt == "json" else yaml.safe_load(result.out)
    assert document == {"ok": False, "exitCode": 2, "findings": [
        {"check": "usage", "field": "", "message": message, "severity": "error", "subject": ""}]}
    # the spellings of -o argparse accepts count too; text keeps argparse's usage on stderr
    assert json.loads(run(*argv, "--format=json").out)["exitCode"] == 2
    text = run(*argv)
    assert text.code == 2 and text.out == "" and f"usage: fedfleet {argv[0]}" in text.err


def test_schema_in_text_is_its_yaml(fleet_repo: Path, run) -> None:
    text = run("schema", "-o", "text")
    assert text.code == 0 and text.out == run("schema", "-o", "yaml").out
    assert yaml.safe_load(text.out) == json.loads(run("schema").out)


def test_plan_of_an_unknown_job_names_the_jobs_that_exist(fleet_repo: Path, run) -> None:
    result = run("plan", "no-such-job")
    assert result.code == 2
    assert "no job named 'no-such-job'" in result.err
    assert "ct-segment-us, digits-dev, mnist-eu" in result.err
    # plan writes nothing: the tally says nothing about writing; generate's does
    assert result.err.rstrip().splitlines()[-1] == "1 error"
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: many"))
    assert run("generate").err.rstrip().splitlines()[-1] == "1 error; nothing was written"
    assert run("generate", "--check").err.rstrip().splitlines()[-1] == "1 error"


def test_simulate_of_an_unknown_job_is_bad_input_like_plan(fleet_repo: Path, run) -> None:
    text = run("simulate", "no-such-job")
    assert text.code == 2 and text.out == ""
    assert "simulate: no job named 'no-such-job'" in text.err and "ct-segment-us, digits-dev, mnist-eu" in text.err
    as_json = run("simulate", "no-such-job", "-o", "json")
    assert as_json.code == 2 and as_json.err == ""
    document = json.loads(as_json.out)
    assert document["ok"] is False and document["exitCode"] == 2 and set(document) == {"ok", "exitCode", "findings"}
    [finding] = document["findings"]
    assert finding["check"] == "simulate" and "the jobs are: ct-segment-us, digits-dev, mnist-eu" in finding["message"]
    # another bad input of simulate (an OpenFL job) takes the same shape
    openfl = json.loads(run("simulate", "ct-segment-us", "-o", "json").out)
    assert openfl["exitCode"] == 2 and "simulate runs Flower jobs" in openfl["findings"][0]["message"]


KUBECONFIG_OF_NO_HUB = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://api.elsewhere.invalid:6443"}}]
contexts: [{name: elsewhere, context: {cluster: c, user: u}}]
current-context: elsewhere
users: [{name: u, user: {}}]
"""


@pytest.mark.parametrize("verb", [("doctor",), ("inventory", "pull"), ("audit",)], ids=" ".join)
def test_a_kubeconfig_of_no_hub_is_labelled_with_the_verb_that_ran(fleet_repo: Path, run, tmp_path: Path, verb) -> None:
    """pick_hub is shared (audit/live.py); its errors name the verb the user ran, not `audit`."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG_OF_NO_HUB)
    result = run(*verb, "--kubeconfig", str(kubeconfig))
    assert result.code == 2
    assert f"error: {verb[0]}: context 'elsewhere' (server https://api.elsewhere.invalid:6443) matches no hub" in result.err
    named = run(*verb, "--kubeconfig", str(kubeconfig), "--hub", "nohub")
    assert named.code == 2
    assert f"error: {verb[0]}: the fleet has no hub 'nohub'; the hubs are: hub-dev, hub-prod" in named.err


def _cli(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fedfleet.cli", *argv], cwd=cwd, capture_output=True, text=True,
                          env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, **env}, timeout=120)


def test_no_color_is_honoured_on_a_terminal(fleet_repo: Path) -> None:
    # FORCE_COLOR makes rich treat the pipe as a terminal: colours appear; NO_COLOR removes them.
    coloured = _cli(fleet_repo, {"FORCE_COLOR": "1"}, "plan", "no-such-job")
    plain = _cli(fleet_repo, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, "plan", "no-such-job")
    assert "\x1b[" in coloured.stderr
    assert "\x1b[" not in plain.stderr and "no job named" in plain.stderr


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_command_writes_all_of_checks_report_before_its_fast_exit(fleet_repo: Path, crds: Path, fmt: str) -> None:
    """`fedfleet check` ends without Python's shutdown (cli.console_script): the whole report,
    stderr and the exit code come out as main gives them with Python's own exit."""
    fast = "from fedfleet.cli import console_script; console_script()"
    plain = "import sys; from fedfleet.cli import main; sys.exit(main())"
    assert subprocess.run([sys.executable, "-c", fast, "generate"], capture_output=True).returncode == 0
    argv = ["check", "--crds", str(crds), "-o", fmt, "--no-cache"]
    got, want = (subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
                 for code in (fast, plain))
    assert got.returncode == want.returncode and got.stderr == want.stderr and len(got.stdout) > 4096
    if fmt == "json":  # the same document but for each check's seconds
        untimed = [{k: v for k, v in c.items() if k != "seconds"} for c in json.loads(want.stdout)["checks"]]
        assert [{k: v for k, v in c.items() if k != "seconds"} for c in json.loads(got.stdout)["checks"]] == untimed
        assert json.loads(got.stdout)["exitCode"] == got.returncode and got.stdout.endswith("}\n")
    else:
        assert got.stdout == want.stdout
