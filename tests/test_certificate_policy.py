"""tls.certificates: the bundle's CertificatePolicy judged by cert-policy-controller's rules
(fedfleet.checks.certpolicy) on the hub states of tests/oracles/governance/tls.certificates/.

config-policy-controller's dryrun cannot judge a CertificatePolicy, so these cases run here, with
the same case layout as the dryrun-judged rules. The rule has no Rego twin: certificates exist
only on the hub, never in the bundle (`fedfleet audit` reports it as "no twin")."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from fedfleet import pipeline
from fedfleet.checks import certpolicy

CASES = Path(__file__).parent / "oracles" / "governance" / "tls.certificates"
ALL = sorted(p for p in CASES.iterdir() if (p / "case.yaml").exists())
PATHS = pipeline.Paths(Path("specs"), Path("."))


def _certificate_policy(hub: str) -> dict:
    b = pipeline.render(PATHS)
    policy = next(d for d in b.bundle[f"overlays/{hub}/governance/tls.yaml"] if d["metadata"]["name"] == "tls-certificates")
    return policy["spec"]["policy-templates"][0]["objectDefinition"]


@pytest.mark.parametrize("case", ALL, ids=[p.name for p in ALL])
def test_certificate_policy_verdict(fleet_repo: Path, case: Path) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    objects = [d for d in yaml.safe_load_all((case / "hub.yaml").read_text()) if d]
    objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flower-system"}})
    verdict = certpolicy.evaluate(_certificate_policy(spec["hub"]), objects)
    assert verdict.word == spec["verdict"], f"{case.name}: {spec['description']}: {verdict.findings}"


def test_the_corpus_has_passing_and_breaking_cases_and_an_expired_one() -> None:
    verdicts = {yaml.safe_load((c / "case.yaml").read_text())["verdict"] for c in ALL}
    assert verdicts == {"Compliant", "NonCompliant"} and len(ALL) >= 3
    assert (CASES / "expired-server-certificate").is_dir()


def test_expired_certificate_is_found_with_the_reason(fleet_repo: Path) -> None:
    objects = list(yaml.safe_load_all((CASES / "expired-server-certificate" / "hub.yaml").read_text()))
    verdict = certpolicy.evaluate(_certificate_policy("hub-prod"), objects + [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flower-system"}}])
    assert [(f.secret, f.reason.split(",")[0]) for f in verdict.findings] == [
        ("superlink-mnist-eu-tls", "expires on 2025-01-01T00:00:00+00:00")]
    # the CA was read too, and is fine
    assert set(verdict.checked) == {"flower-system/flower-tls-ca", "flower-system/superlink-mnist-eu-tls"}


def test_controller_semantics() -> None:
    objects = list(yaml.safe_load_all((CASES / "expired-server-certificate" / "hub.yaml").read_text()))
    base = {"minimumDuration": "720h"}
    # an empty namespaceSelector selects nothing: Compliant, nothing read (retrieveNamespaces)
    nothing = certpolicy.evaluate({"spec": base}, objects)
    assert nothing.compliant and nothing.checked == ()
    # exclude wins over include; globs as filepath.Match
    excluded = certpolicy.evaluate({"spec": {**base, "namespaceSelector": {"include": ["flower-*"], "exclude": ["flower-system"]}}},
                                   objects)
    assert excluded.compliant and excluded.checked == ()
    # labelSelector narrows the Secrets read
    labelled = certpolicy.evaluate({"spec": {**base, "namespaceSelector": {"include": ["flower-system"]},
                                             "labelSelector": {"app": "none"}}}, objects)
    assert labelled.checked == ()
    # evaluated on the day the server certificate still had more than 720h left, it passes
    before = certpolicy.evaluate({"spec": {**base, "namespaceSelector": {"include": ["flower-system"]}}}, objects,
                                 now=datetime(2024, 6, 1, tzinfo=timezone.utc))
    assert before.compliant
    assert certpolicy.go_duration("1h30m") == certpolicy.go_duration("90m")
    with pytest.raises(ValueError):
        certpolicy.go_duration("30d")
