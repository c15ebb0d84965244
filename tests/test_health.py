"""The Argo CD health scripts, run for real (Lua 5.1 through lupa, in Argo CD's sandbox) on
objects shaped like what the upstream controllers write, one per state each script handles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from fedfleet.checks.crds import SchemaSet
from fedfleet.render.health import CHECKS, Health, assess, check_for, run

HERE = Path(__file__).parent / "fixtures" / "health"
FILES = ("federatedlearnings.yaml", "managedclusteraddons.yaml", "clustermanagementaddons.yaml",
         "placements.yaml", "policies.yaml")


def objects(name: str) -> dict[str, dict]:
    docs = yaml.safe_load((HERE / name).read_text())["items"]  # a List, as the API server answers
    return {(d["metadata"].get("namespace", "") + "/" + d["metadata"]["name"]).lstrip("/"): d for d in docs}


FL = "federatedlearnings.yaml"
MCA = "managedclusteraddons.yaml"
CMA = "clustermanagementaddons.yaml"
PL = "placements.yaml"
POL = "policies.yaml"
FLOWER_UP = "Running (Flower federation up; the run is Job flwr-run-<job>)"

CASES = [
    (FL, "fl-mnist/new", "Progressing", "Waiting for the FL controller to report a phase"),
    (FL, "fl-mnist/start", "Progressing", "Start"),
    (FL, "fl-mnist/awaiting", "Progressing", "Waiting: Awaiting server and client readiness"),
    (FL, "fl-mnist/short-of-clients", "Progressing", "Waiting: Expected 2 clusters, but only 1 meet the criteria"),
    (FL, "fl-mnist/running-flower", "Healthy", f"{FLOWER_UP}: Assigned 3 clusters for client execution in model training"),
    (FL, "fl-ct/running-openfl", "Progressing", "Running: Assigned 2 clusters for client execution in model training"),
    (FL, "fl-ct/completed", "Healthy", "Completed: Model training successful. Check storage for details"),
    (FL, "fl-ct/completed-validated", "Healthy", "Completed, validation passed: accuracy 0.936 on the full test split (baseline 0.942)"),
    (FL, "fl-ct/completed-rejected", "Degraded", "Completed, validation failed: accuracy 0.41 below the required 0.90"),
    (FL, "fl-mnist/failed", "Degraded", "Failed: the server could not find the requested resource "
     "(post manifestworkreplicasets.work.open-cluster-management.io)"),
    (MCA, "eu-hosp-1/flower-addon", "Progressing", "Waiting for the add-on agent to report Available"),
    (MCA, "eu-hosp-2/flower-addon", "Healthy", "Available (ProbeAvailable): flower-addon add-on is available."),
    (MCA, "eu-hosp-3/flower-addon", "Degraded", "Not available (ProbeUnavailable): Probe addon unavailable with err "
     "[unhealthy: flower-supernode replicas 0]"),
    (MCA, "eu-hosp-4/flower-addon", "Unknown", "Availability unknown (ManagedClusterAddOnLeaseUpdateStopped): "
     "flower-addon add-on is not available."),
    (MCA, "us-clinic-1/flower-addon", "Degraded", "Configuration not applied (Failed): the supported config resources "
     "are required in ClusterManagementAddon"),
    (CMA, "manual", "Healthy", "Install strategy Manual: add-ons are created per cluster"),
    (CMA, "flower-addon-new", "Progressing", "Waiting for the addon-manager to report install placement(s) "
     "open-cluster-management/flower-addon-placement"),
    (CMA, "flower-addon-rolling-out", "Healthy", "open-cluster-management/flower-addon-placement: selected clusters 4. "
     "configured addons 3/4 progressing..., 0 failed 0 timeout."),
    (CMA, "flower-addon-installed", "Healthy", "open-cluster-management/flower-addon-placement: selected clusters 4. "
     "configured addons 4/4 completed with no errors, 0 failed 0 timeout."),
    (PL, "fl-governance/unscheduled", "Progressing", "Waiting for the placement to be scheduled"),
    (PL, "fl-governance/fedfleet-clients-mnist-eu", "Healthy",
     "2 cluster(s) selected (1 cluster decisions unscheduled); job mnist-eu needs 2"),
    (PL, "fl-governance/fedfleet-clients-short", "Progressing",
     "1 cluster(s) selected (2 cluster decisions unscheduled); job mnist-eu needs 2 (minAvailableClients) and stays Waiting"),
    (PL, "fl-mnist/mnist-eu", "Healthy", "1 cluster(s) selected (2 cluster decisions unscheduled)"),
    (PL, "fl-governance/fedfleet-hub", "Healthy", "1 cluster(s) selected"),
    (PL, "fl-governance/fedfleet-set-us-clinics", "Healthy",
     "0 cluster(s) selected (None of ManagedClusterSets [us-clinics] is bound to placement namespace)"),
    (PL, "fl-governance/misconfigured", "Degraded", "Misconfigured: AddOn:AddOnPlacementScores default not found"),
    (POL, "fl-governance/no-status", "Progressing", "Waiting for the status to be reported"),
    (POL, "fl-governance/no-clusters", "Healthy", "No clusters match this policy"),
    (POL, "fl-governance/pending", "Progressing", "Pending on eu-hosp-2"),
    (POL, "fl-governance/compliant", "Healthy", "Compliant"),
    (POL, "fl-governance/inform-violated", "Healthy", "inform: violation reported (not enforced), NonCompliant on eu-hosp-4"),
    (POL, "fl-governance/enforce-violated", "Degraded", "enforce: not remediated, NonCompliant on local-cluster"),
    (POL, "fl-governance/template-enforces-violated", "Degraded", "enforce: not remediated, NonCompliant on eu-hosp-2"),
    (POL, "fl-governance/enforce-compliant", "Healthy", "Compliant"),
    (POL, "fl-governance/disabled", "Healthy", "Policy is disabled"),
]


@pytest.mark.parametrize(("file", "name", "status", "message"), CASES, ids=[f"{f.split('.')[0]}:{n}" for f, n, *_ in CASES])
def test_health_script_on_recorded_object(file: str, name: str, status: str, message: str) -> None:
    assert assess(objects(file)[name]) == Health(status, message)


def test_every_fixture_has_an_expectation_and_every_script_a_fixture() -> None:
    expected = {(f, n) for f, n, *_ in CASES}
    present = {(f, n) for f in FILES for n in objects(f)}
    assert present == expected
    kinds = {(check_for(o).group, check_for(o).kind) for f in FILES for o in objects(f).values()}  # type: ignore[union-attr]
    assert kinds == {(c.group, c.kind) for c in CHECKS}


def test_fixtures_match_the_upstream_crds(crds: Path) -> None:
    schemas = SchemaSet.from_directory(crds)
    fl = (crds / "federation-ai.open-cluster-management.io_federatedlearnings.yaml").is_file()  # not on the Go module proxy: from ../shared/crds when it is there
    for name in FILES:
        items = [o for o in objects(name).values() if fl or o["kind"] != "FederatedLearning"]
        findings, checked = schemas.validate(items, name)
        assert checked >= len(items)  # embedded ConfigurationPolicies are checked too
        assert [f.message for f in findings] == []


def test_scripts_only_use_what_argo_cd_sandbox_opens() -> None:
    """Argo CD opens base, table, package and a safe os; a string method or math call fails there."""
    from lupa import lua51

    for snippet in ('return {status = string.upper("x")}', 'return {status = ("x"):upper()}',
                    "return {status = math.floor(1)}"):
        with pytest.raises(lua51.LuaError):
            run(snippet, {})
    for check in CHECKS:
        assert "string." not in check.source and "math." not in check.source and ":" not in _code(check.source).replace('": "', "")


def _code(source: str) -> str:
    """The script without comments and string literals, to look for method calls."""
    out = []
    for line in source.splitlines():
        line = line.split("--", 1)[0]
        parts = line.split('"')
        out.append("".join(parts[0::2]))
    return "\n".join(out)


def test_argo_builtin_policy_check_turns_an_inform_violation_degraded() -> None:
    """The reason fedfleet replaces the built-in (argo-cd#23331): same object, different verdicts."""
    # Argo CD's own script is upstream code and is not committed here: a developer with an argo-cd
    # checkout points ARGO_CD_SOURCE at it (resource_customizations/.../Policy/health.lua).
    source = os.environ.get("ARGO_CD_SOURCE")
    script = Path(source or ".") / "resource_customizations/policy.open-cluster-management.io/Policy/health.lua"
    if not source or not script.is_file():
        pytest.skip("Argo CD's built-in Policy health.lua: set ARGO_CD_SOURCE to an argo-cd checkout")
    builtin = script.read_text()
    policies = objects(POL)
    inform = policies["fl-governance/inform-violated"]
    assert run(builtin, inform) == Health("Degraded", "NonCompliant clusters: eu-hosp-4")
    assert assess(inform).status == "Healthy"  # type: ignore[union-attr]
    # where there is no violation of an inform policy, the two agree on the status
    for name in ("compliant", "no-status", "no-clusters", "disabled", "enforce-violated"):
        ours, theirs = assess(policies[f"fl-governance/{name}"]), run(builtin, policies[f"fl-governance/{name}"])
        assert ours is not None and ours.status == theirs.status, name


def test_a_failing_script_raises() -> None:
    from lupa import lua51

    with pytest.raises(lua51.LuaError):
        run("return nil", {})
    with pytest.raises(lua51.LuaError):
        run("error('boom')", {})


def test_the_runtime_is_lua_5_1_like_gopher_lua() -> None:
    from lupa import lua51

    assert lua51.LuaRuntime().eval("_VERSION") == "Lua 5.1"
    # 5.2+ syntax (goto, integer division) does not even compile, as in gopher-lua
    for snippet in ("goto done ::done:: return {}", "return {status = 7 // 2}"):
        with pytest.raises(lua51.LuaError):
            run(snippet, {})
