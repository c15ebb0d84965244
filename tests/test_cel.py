"""OCM's celSelector in the placement preview (issue 14, point 6).

The expressions and clusters are OCM's own (open-cluster-management-io/ocm at 00f84c32):
pkg/placement/helpers/cel_test.go (TestCELSelector), pkg/placement/plugins/predicate/
predicate_test.go and test/integration/placement/predicate_test.go ("Should schedule placement
successfully once spec.Predicates CelSelector changes"); the memory threshold is the issue's case.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from conftest import line_of, need_crd
from fedfleet.cel import compile_selector, parse_quantity

JOB = "specs/jobs/mnist-eu.yaml"
GPU_PREDICATE = '''        labelSelector:
          matchLabels: {gpu: "true"}'''


def _cel(repo: Path, *expressions: str) -> None:
    """mnist-eu's predicate becomes a celSelector with these expressions."""
    job = repo / JOB
    cel = "        celSelector:\n          celExpressions:\n" + "".join(
        f"          - {json.dumps(e)}\n" for e in expressions)
    job.write_text(job.read_text().replace(GPU_PREDICATE + "\n", cel))


def _plan(run) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    result = run("plan", "mnist-eu", "-o", "json", "--all-exclusions")
    [job] = json.loads(result.out)["jobs"]
    return result.code, job


def _selected(job: dict) -> list[str]:
    return [c["cluster"] for c in job["selected"]]


def _pruned_warning(job: dict) -> bool:
    """The plan says the FL controller's CRD cannot carry celSelector to the hub (exit 1)."""
    return any(f["severity"] == "error" and f["field"].endswith("celSelector") and "prunes it" in f["message"]
               for f in job["findings"])


def _reason(job: dict, cluster: str) -> str:
    return next(e["reason"] for e in job["excluded"] if e["cluster"] == cluster)


# --- OCM's TestCELSelector cases, on the ManagedCluster OCM's test builds --------------------------

OCM_CEL_TEST = [  # (expressions, labels, expected match) from pkg/placement/helpers/cel_test.go
    (['managedCluster.metadata.labels["env"] == "prod"'], {"env": "prod"}, True),
    (['managedCluster.metadata.labels["env"] == "prod"'], {"env": "dev"}, False),
    (['managedCluster.metadata.labels["env"] == "prod"',
      'semver(managedCluster.metadata.labels["version"]).isLessThan(semver("1.31.0"))'],
     {"env": "prod", "version": "1.30.0"}, True),
    (['managedCluster.metadata.labels["env"] == "prod"',
      'semver(managedCluster.metadata.labels["version"]).isGreaterThan(semver("1.31.0"))'],
     {"env": "prod", "version": "1.30.0"}, False),
    ([], {}, True),  # "empty expressions"
]


@pytest.mark.parametrize(("expressions", "labels", "match"), OCM_CEL_TEST)
def test_ocm_cel_selector_cases(expressions: list[str], labels: dict[str, str], match: bool) -> None:
    selector, errors = compile_selector(expressions)
    assert errors == [] and selector is not None
    cluster = {"metadata": {"labels": labels}}
    assert (selector.failure(cluster) is None) is match


def test_ocm_invalid_expression_does_not_compile() -> None:
    selector, errors = compile_selector(["invalid.expression"])  # OCM: expectCompileError
    assert selector is None and "undeclared reference to 'invalid.expression'" in errors[0][1]


def test_semver_normalize_is_not_in_ocms_environment() -> None:
    # OCM's BaseEnvOpts uses SemverLib() at version 0: semver(string, bool) does not compile there.
    selector, errors = compile_selector(['semver("v1.30", true).major() == 1'])
    assert selector is None and "semver" in errors[0][1]


def test_quantities_compare_by_value_and_semver_by_precedence() -> None:
    assert parse_quantity("96Gi") == 96 * 2**30 == parse_quantity("103079215104")
    assert parse_quantity("1500m") == Fraction(3, 2) == parse_quantity("1.5") == parse_quantity("15e-1")
    with pytest.raises(ValueError):
        parse_quantity("1.5 Gi")
    selector, _ = compile_selector([
        'quantity("1Gi").compareTo(quantity("1024Mi")) == 0',
        'quantity("2").add(quantity("500m")).isGreaterThan(quantity("2400m"))',
        'quantity("3Ki").asInteger() == 3072 && !quantity("1m").isInteger()',
        'semver("1.2.3-alpha").isLessThan(semver("1.2.3")) && semver("1.2.3-alpha.1").isGreaterThan(semver("1.2.3-alpha"))',
        'semver("1.2.3").minor() == 2 && !isSemver("v1.2") && isSemver("1.2.3+build.5")',
    ])
    assert selector is not None and selector.failure({}) is None
    broken, _ = compile_selector(['quantity("lots").isInteger()'])
    assert broken is not None and "quantities must match" in (broken.failure({}) or "")


# --- through the CLI, on the example fleet ------------------------------------------------------

def test_a_memory_threshold_plans_by_quantity_value(fleet_repo: Path, run) -> None:
    # eu-hosp-1 has 128Gi allocatable, eu-hosp-2 96Gi, eu-hosp-3 and -4 64Gi (specs/clusters).
    _cel(fleet_repo, 'quantity(managedCluster.status.allocatable.memory).compareTo(quantity("96Gi")) >= 0')
    code, job = _plan(run)
    assert _selected(job) == ["eu-hosp-1", "eu-hosp-2"] and job["enough"]
    assert "CEL expression is false" in _reason(job, "eu-hosp-3")
    assert code == 1 and _pruned_warning(job)
    _cel_only = 'quantity(managedCluster.status.allocatable.memory).isGreaterThan(quantity("96Gi"))'
    (fleet_repo / JOB).write_text((fleet_repo / JOB).read_text().replace(
        'compareTo(quantity(\\"96Gi\\")) >= 0', 'isGreaterThan(quantity(\\"96Gi\\"))'))
    code, job = _plan(run)
    assert _selected(job) == ["eu-hosp-1"] and not job["enough"], "96Gi is not greater than 96Gi: one client"
    assert _reason(job, "eu-hosp-2") == f"CEL expression is false: {_cel_only}"


def test_ocm_claim_and_label_examples_select_on_the_inventory(fleet_repo: Path, run) -> None:
    # predicate_test.go's shapes: a label equality and clusterClaims.exists(...) on the inventory.
    _cel(fleet_repo, 'managedCluster.metadata.labels["gpu"] == "true"',
         'managedCluster.status.clusterClaims.exists(c, c.name == "mnist-eu.client-data")')
    code, job = _plan(run)
    assert _selected(job) == ["eu-hosp-1", "eu-hosp-2"]
    assert "CEL expression fails" not in json.dumps(job)


def test_ocm_integration_scores_example(fleet_repo: Path, run) -> None:
    # test/integration/placement/predicate_test.go: AddOnPlacementScore "demo" of 70 and 90, the
    # expression keeps the cluster above 80. The preview reads the scores from the inventory.
    inventory = fleet_repo / "specs/clusters/eu-hospitals.yaml"
    doc = yaml.safe_load(inventory.read_text())
    for cluster, score in (("eu-hosp-1", 70), ("eu-hosp-2", 90)):
        entry = next(c for c in doc["spec"]["clusters"] if c["name"] == cluster)
        entry["addOnPlacementScores"] = {"demo": {"demo": score}}
    inventory.write_text(yaml.safe_dump(doc, sort_keys=False))
    _cel(fleet_repo, "managedCluster.scores(\"demo\").filter(s, s.name == 'demo').all(e, e.value > 80)")
    code, job = _plan(run)
    assert _selected(job) == ["eu-hosp-2"]
    assert _reason(job, "eu-hosp-1").startswith("CEL expression is false")
    # No AddOnPlacementScore: OCM's scores() errors and the cluster does not match.
    assert "addonplacementscore 'demo' not found" in _reason(job, "eu-hosp-3")


def test_a_cel_expression_that_does_not_compile_is_bad_input_at_its_line(fleet_repo: Path, run) -> None:
    _cel(fleet_repo, "managedCluster.metadata.labels.gpu == ", )
    result = run("generate", "-o", "json")
    assert result.code == 2 and result.err == ""
    [finding] = json.loads(result.out)["findings"]
    assert finding["file"].endswith("mnist-eu.yaml")
    assert finding["line"] == line_of(fleet_repo / JOB, "managedCluster.metadata.labels.gpu")
    assert "CEL expression does not compile" in finding["message"]
    assert not (fleet_repo / "overlays").exists()


def test_the_generated_placement_carries_the_cel_selector_verbatim(fleet_repo: Path, run, crds: Path) -> None:
    need_crd(crds, "federation-ai.open-cluster-management.io_federatedlearnings.yaml")  # the FL CRD's verdict on celSelector is part of the test
    expression = 'quantity(managedCluster.status.allocatable.memory).compareTo(quantity("96Gi")) >= 0'
    _cel(fleet_repo, expression)
    assert run("generate").code == 0
    found = []
    for path in (fleet_repo / "overlays").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "FederatedLearning" and doc["metadata"]["name"] == "mnist-eu":
                predicates = doc["spec"]["client"]["placement"]["predicates"]
                found += [p["requiredClusterSelector"]["celSelector"]["celExpressions"] for p in predicates]
    assert found == [[expression]]
    # ...which the FL controller's FederatedLearning CRD refuses: validate says so, as plan does.
    report = json.loads(run("validate", "--crds", str(crds), "-o", "json").out)
    assert any("'celSelector' was unexpected" in f["message"] and "federatedlearnings" in f["message"]
               for f in report["findings"])
