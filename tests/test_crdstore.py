"""The CRD store: the lock, `fedfleet crds pull` (Go module proxy, --from), the SHA-256 refusal,
validation against the store by default, --crds overrides, and kinds without a schema."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import SHARED_CRDS, line_of
from fedfleet import crdstore
from fedfleet.checks.crds import SchemaSet

PLACEMENT_CRD = "0000_02_clusters.open-cluster-management.io_placements.crd.yaml"
# The kinds issue 14 names: FL controller, OCM cluster/addon/work, ACM policy, Argo CD,
# cert-manager, AddOnTemplate, CertificatePolicy.
ISSUE_FILES = {
    "federation-ai.open-cluster-management.io_federatedlearnings.yaml",
    "0000_00_clusters.open-cluster-management.io_managedclusters.crd.yaml",
    "0000_00_addon.open-cluster-management.io_clustermanagementaddons.crd.yaml",
    "0000_03_addon.open-cluster-management.io_addontemplates.crd.yaml",
    "0000_00_work.open-cluster-management.io_manifestworks.crd.yaml",
    "policy.open-cluster-management.io_policies.yaml",
    "policy.open-cluster-management.io_certificatepolicies.yaml",
    "application-crd.yaml", "appproject-crd.yaml",
    "cert-manager.io_certificates.yaml", "cert-manager.io_issuers.yaml",
}


def test_the_lock_pins_every_targeted_crd() -> None:
    entries = crdstore.read_lock()
    assert ISSUE_FILES <= {e.file for e in entries}
    for e in entries:
        assert re.fullmatch(r"[0-9a-f]{40}", e.commit) and re.fullmatch(r"[0-9a-f]{64}", e.sha256), e
        assert e.path.endswith("/" + e.file) and e.license and e.why
        if e.served:
            assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", e.version), e
            # a pseudo-version names its commit: it must be the pinned one
            pseudo = re.search(r"-(\d{14})-([0-9a-f]{12})$", e.version)
            assert pseudo is None or e.commit.startswith(pseudo.group(2)), e
        else:
            assert e.note, f"{e.file}: not on the Go module proxy, the lock must say why"


# Lock entries whose upstream pin differs from ../shared/crds' copy: the proxy serves the release,
# not ../shared's commit (sources.json says so in the entry's note).
DIFFERS_FROM_SHARED = {
    "policy.open-cluster-management.io_policies.yaml", "policy.open-cluster-management.io_placementbindings.yaml",
    "policy.open-cluster-management.io_policysets.yaml", "application-crd.yaml", "applicationset-crd.yaml",
}


def test_the_lock_agrees_with_shared_crds_byte_for_byte() -> None:
    """Cross-check with the copies laid beside the repository (skipped without ../shared)."""
    if not SHARED_CRDS.is_dir():
        pytest.skip("../shared/crds is absent: nothing to cross-check the lock with")
    compared = differ = 0
    for e in crdstore.read_lock():
        shared = SHARED_CRDS / e.file
        if not shared.is_file():
            continue
        same = crdstore.sha256(shared.read_bytes()) == e.sha256
        assert same == (e.file not in DIFFERS_FROM_SHARED), e.file
        if same:
            compared += 1
        else:
            differ += 1
            assert "../shared/crds holds" in e.note, e.file
    assert compared >= 14 and differ == len(DIFFERS_FROM_SHARED)


def test_pull_fills_a_fresh_store_from_the_go_module_proxy(crds: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """`crds` has shown Go is here; a store of its own, pulled through the CLI."""
    store = tmp_path / "store"
    result = run("crds", "pull", "--store", str(store), "-o", "json")
    assert result.code == 0, result.out + result.err
    report = json.loads(result.out)
    by_file = {c["file"]: c for c in report["crds"]}
    for e in crdstore.read_lock():
        if e.served:
            assert by_file[e.file]["status"] == "pulled" and by_file[e.file]["source"] == f"{e.module}@{e.version}"
            assert crdstore.sha256((store / e.file).read_bytes()) == e.sha256
        else:
            assert by_file[e.file]["status"] == "missing" and not (store / e.file).exists()
            assert "--from DIR" in by_file[e.file]["detail"]
    again = json.loads(run("crds", "pull", "--store", str(store), "-o", "json").out)
    assert {c["status"] for c in again["crds"] if c["file"] in {e.file for e in crdstore.read_lock() if e.served}} == {"present"}


def test_pull_from_a_directory_verifies_and_refuses_a_changed_file(crds: Path, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "checkout"  # laid out as the upstream repository is
    entry = next(e for e in crdstore.read_lock() if e.file == PLACEMENT_CRD)
    (source / entry.path).parent.mkdir(parents=True)
    shutil.copy(crds / entry.file, source / entry.path)
    store = tmp_path / "store"
    result = run("crds", "pull", "--no-go", "--from", str(source), "--store", str(store), "-o", "json")
    assert result.code == 0
    assert {c["file"]: c["status"] for c in json.loads(result.out)["crds"]}[entry.file] == "pulled"
    assert (store / entry.file).read_bytes() == (crds / entry.file).read_bytes()
    # -q: no line per CRD pulled or present; the missing ones (not in this --from) and the verdict stay
    quiet = run("crds", "pull", "-q", "--no-go", "--from", str(source), "--store", str(store))
    assert entry.file not in quiet.out and "crds pull" in quiet.out
    assert all(line.startswith(("missing ", "crds pull ")) for line in quiet.out.splitlines()), quiet.out
    assert entry.file in run("crds", "pull", "--no-go", "--from", str(source), "--store", str(store)).out

    (store / entry.file).unlink()
    changed = source / entry.path
    changed.write_bytes(changed.read_bytes().replace(b"description:", b"description: ", 1))
    result = run("crds", "pull", "--no-go", "--from", str(source), "--store", str(store))
    assert result.code == 1
    assert re.search(rf"refused +{re.escape(entry.file)}: SHA-256 [0-9a-f]+\.\.\. is not the lock's", result.err)
    assert not (store / entry.file).exists(), "a refused file is not written"


def test_an_edited_store_file_is_bad_input(crds: Path, fleet_repo: Path, run, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                           tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(crds, store)
    monkeypatch.setenv("FEDFLEET_CRD_STORE", str(store))
    assert run("generate").code == 0
    assert run("validate").code == 0
    (store / PLACEMENT_CRD).write_bytes((store / PLACEMENT_CRD).read_bytes() + b"\n")
    result = run("validate")
    assert result.code == 2 and f"{PLACEMENT_CRD}: error: crd: differs from its lock entry" in result.err


def test_an_empty_store_is_exit_2_with_a_one_line_hint_never_skipped(fleet_repo: Path, run, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDFLEET_CRD_STORE", str(tmp_path / "empty"))
    assert run("generate").code == 0
    result = run("validate")
    assert result.code == 2
    [line] = result.err.strip().splitlines()[:1]
    assert "no CRD schemas: the CRD store is empty; run `fedfleet crds pull`" in line
    check = run("check", "-o", "json")
    assert check.code == 2
    crd = next(c for c in json.loads(check.out)["checks"] if c["name"] == "crd")
    assert crd["status"] == "failed" and "crds pull" in crd["findings"][0]["message"]


def test_check_validates_against_the_store_by_default(crds: Path, fleet_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    assert run("generate").code == 0
    report = json.loads(run("check", "-o", "json").out)
    crd = next(c for c in report["checks"] if c["name"] == "crd")
    assert crd["status"] == "passed" and "against the CRD store" in crd["summary"]
    assert int(crd["summary"].split()[0]) > 150


def test_crds_dir_overrides_the_stores_schema(crds: Path, fleet_repo: Path, run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Placement CRD of the user's without `spec.tolerations`: the bundle's Placements carry
    tolerations, so the override, not the store's CRD, judges them."""
    mine = tmp_path / "mine"
    mine.mkdir()
    text = (crds / PLACEMENT_CRD).read_text()
    assert "\n              tolerations:\n" in text
    (mine / "placement.yaml").write_text(text.replace("\n              tolerations:\n", "\n              tolerationz:\n", 1))
    assert run("generate").code == 0
    placements = [p for p in (fleet_repo / "overlays").rglob("*.yaml") if "tolerations:" in p.read_text()
                  and "kind: Placement\n" in p.read_text()]
    if not placements:
        pytest.skip("no generated Placement carries tolerations")
    result = run("validate", "--crds", str(mine), "-o", "json")
    report = json.loads(result.out)
    assert result.code == 1
    bad = [f for f in report["findings"] if f["severity"] == "error"]
    assert bad and all("(schema: placement.yaml)" in f["message"] and "tolerations" in f["message"] for f in bad)
    assert "and " + str(mine) in report["schemas"]


def test_a_kind_without_a_schema_is_an_error_unless_allowed(crds: Path, fleet_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    line = "    - policy.open-cluster-management.io/v1/CertificatePolicy\n"
    assert line in text
    assert run("generate").code == 0
    allowed = json.loads(run("validate", "-o", "json").out)
    [warning, *_] = [f for f in allowed["findings"] if "CertificatePolicy" in f["message"]]
    assert warning["severity"] == "warning" and "allowUnvalidatedKinds" in warning["message"]
    fleet.write_text(text.replace(line, ""))
    result = run("validate", "-o", "json")
    assert result.code == 1
    errors = [f for f in json.loads(result.out)["findings"] if f["severity"] == "error"]
    assert errors and all("no schema for policy.open-cluster-management.io/v1 CertificatePolicy" in f["message"]
                          for f in errors)


def test_allow_unvalidated_kinds_is_validated(fleet_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("    - policy.open-cluster-management.io/v1/CertificatePolicy\n",
                                               "    - CertificatePolicy\n"))
    result = run("validate")
    assert result.code == 2
    assert f"specs/fleet.yaml:{line_of(fleet, '- CertificatePolicy')}" in result.err and "allowUnvalidatedKinds" in result.err


def test_a_null_combinator_in_a_crd_counts_as_absent(tmp_path: Path) -> None:
    """openshift/api's Route CRD has `anyOf: null` under spec.port.targetPort; the API server
    decodes null as absent, so the schema must load and validate."""
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.example.io"},
           "spec": {"group": "example.io", "names": {"kind": "Thing", "plural": "things"}, "scope": "Namespaced",
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {
                            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
                            "spec": {"type": "object", "properties": {"port": {
                                "anyOf": None, "x-kubernetes-int-or-string": True}}}}}}}]}}
    (tmp_path / "thing.yaml").write_text(json.dumps(crd))
    schemas = SchemaSet.from_directory(tmp_path)
    thing = {"apiVersion": "example.io/v1", "kind": "Thing", "metadata": {"name": "t"}, "spec": {"port": 8080}}
    assert schemas.validate([thing], "test") == ([], 1)
    thing["spec"]["colour"] = "red"
    assert "colour" in schemas.validate([thing], "test")[0][0].message


def test_the_route_crd_of_the_store_loads_and_judges_the_bundles_route(crds: Path, fleet_repo: Path, run) -> None:  # type: ignore[no-untyped-def]
    schemas = SchemaSet.from_directory(crds)
    assert ("route.openshift.io/v1", "Route") in schemas.validators
    assert ("argoproj.io/v1beta1", "ArgoCD") in schemas.validators
    assert ("cert-manager.io/v1", "Certificate") in schemas.validators
