"""Hostile surroundings (issue 13): servers that hang or lie, paths that lead out, outputs that
cannot be written. Each ends with one clear message and exit 2 (1 where a check fails).

The OPA server and the hub are local HTTP servers on 127.0.0.1 (tests/fake_opa.py,
tests/fake_hub.py) or a listening socket that never answers.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import pytest

from fake_hub import FakeHub
from fake_opa import FakeOpa


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


class Silent:
    """A 127.0.0.1 port that completes TCP handshakes (the kernel does, from the backlog) and never
    answers: a hung server."""

    def __enter__(self) -> "Silent":
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# --- case 11: diff with specs outside the repository, links out in history ----------------------

def test_diff_with_specs_outside_the_repository_is_bad_input(fleet_repo: Path, run, tmp_path_factory) -> None:
    _git(fleet_repo, "init", "-q", "-b", "main")
    _git(fleet_repo, "add", "specs")
    _git(fleet_repo, "commit", "-q", "-m", "base")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    result = run("diff", "--base", "main", "--specs", str(elsewhere))
    assert result.code == 2 and "Traceback" not in result.err
    assert f"{elsewhere}: error: diff: the spec directory {elsewhere} is outside the repository" in result.err


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../etc/passwd"])
def test_diff_refuses_a_committed_symlink_out(fleet_repo: Path, run, target: str) -> None:
    _git(fleet_repo, "init", "-q", "-b", "main")
    (fleet_repo / "specs/jobs/linked.yaml").symlink_to(target)
    _git(fleet_repo, "add", "specs")
    _git(fleet_repo, "commit", "-q", "-m", "a link out")
    (fleet_repo / "specs/jobs/linked.yaml").unlink()
    result = run("diff", "--base", "main")
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "specs/jobs/linked.yaml: error: diff: specs/jobs/linked.yaml is a symlink" in result.err


# --- case 12: an OPA server answering nonsense ------------------------------------------------

def test_malformed_opa_answer_is_one_error_not_one_finding_per_character(fleet_repo: Path, run, crds: Path) -> None:
    run("generate")
    with FakeOpa() as opa:
        opa.override = {"result": "a string"}
        result = run("check", "--format", "json", "--opa-url", opa.url)
    assert result.code == 1
    rego = next(c for c in json.loads(result.out)["checks"] if c["name"] == "rego")
    assert rego["status"] == "failed" and len(rego["findings"]) == 1, rego
    message = rego["findings"][0]["message"]
    assert "malformed answer from the OPA server" in message and "result is a str" in message


def test_hanging_opa_server_ends_at_the_stated_read_timeout(fleet_repo: Path, run, crds: Path) -> None:
    run("generate")
    with Silent() as hung:
        started = time.monotonic()
        result = run("check", "--format", "json", "--opa-url", hung.url, "--opa-read-timeout", "0.5")
        elapsed = time.monotonic() - started
    rego = next(c for c in json.loads(result.out)["checks"] if c["name"] == "rego")
    message = rego["findings"][0]["message"]
    assert "did not answer within the read timeout of 0.5 s" in message, message
    assert elapsed < 30, "a single attempt: retries would multiply the stated timeout"


# --- case 18: a hanging hub in the live audit --------------------------------------------------

def test_live_audit_against_a_hanging_hub_ends_near_the_stated_timeout(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.fault, hub.slow_seconds = "slow", 3.0
        started = time.monotonic()
        result = run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")), "--read-timeout", "0.5")
        elapsed = time.monotonic() - started
        calls = len(hub.requests)
    assert result.code == 2 and "Traceback" not in result.err
    assert "connected, but no response within the read timeout of 0.5 s, listing policies" in result.err
    assert calls == 1, "one attempt: the kubernetes client's default Retry(3) made it four"
    # the offline part (render, kustomize builds) runs first; the hub part costs one read timeout
    assert elapsed < 0.5 + 20


def test_live_audit_malformed_hub_answer_is_one_error(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.bodies["/apis/policy.open-cluster-management.io/v1/namespaces/fl-governance/policies"] = {"items": "nope"}
        result = run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")))
    assert result.code == 2 and "Traceback" not in result.err
    assert "malformed answer listing policies.policy.open-cluster-management.io" in result.err


# --- case 15: a report that cannot be written fails before the checks run ------------------------

@pytest.mark.parametrize("verb", [["check"], ["audit"], ["diff", "--base", "HEAD"]])
def test_unwritable_output_fails_fast(fleet_repo: Path, run, verb: list[str]) -> None:
    started = time.monotonic()
    result = run(*verb, "--output", "no/such/dir/r.txt")
    assert result.code == 2 and "Traceback" not in result.err
    assert "no/such/dir/r.txt: error: output: cannot write the report here: directory no/such/dir does not exist" in result.err
    assert time.monotonic() - started < 2, "before any check runs"
    (fleet_repo / "a-file").write_text("x")
    result = run(*verb, "--output", "a-file/r.txt")
    assert result.code == 2 and "a-file is not a directory" in result.err
