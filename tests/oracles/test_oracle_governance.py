"""Governance agreement: on every case of tests/oracles/governance/, the Rego twin and ACM's own
evaluator (config-policy-controller's dryrun, after the propagator's hub-template resolution) give
the verdict the case expects. A disagreement fails with both verdicts and their reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracles.oracle_agreement import CASES, Case, discover, evaluate, report

ALL = discover()


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_rego_twin_and_acm_agree(case: Case, tmp_path: Path) -> None:
    outcome = evaluate(case, tmp_path)
    expected_rego = case.verdict if case.twin else "(no twin)"
    assert (outcome.rego, outcome.acm) == (expected_rego, case.verdict), "\n" + report(case, outcome)
    assert outcome.acm_evaluations, f"{case.id}: no policy was evaluated"


def test_every_rule_with_a_twin_has_a_passing_and_a_breaking_case() -> None:
    verdicts: dict[str, set[str]] = {}
    for case in ALL:
        verdicts.setdefault(case.rule, set()).add(case.verdict)
    missing = {rule: {"Compliant", "NonCompliant"} - seen for rule, seen in verdicts.items()
               if seen != {"Compliant", "NonCompliant"}}
    assert not missing, f"rules without both a passing and a breaking case in {CASES}: {missing}"
