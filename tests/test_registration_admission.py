"""Review finding 1: only a cluster's own klusterlet may ask for its Flower registration
credential. The bundle's ValidatingAdmissionPolicy evaluated for real, with Google's CEL
(cel-expr-python, the project's CEL runtime, fedfleet/cel.py), against CSR objects as the API
server passes them (spec.username is the creator: kubernetes pkg/registry/certificates/
certificates/strategy.go PrepareForCreate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.checks.built import build_and_check
from fedfleet.render import tunnel
from fedfleet.render.bootstrap import CLUSTER_SCOPED
from fedfleet.upstream import FLOWER_SIGNER

ce = pytest.importorskip("cel_expr_python.cel")
PATHS = pipeline.Paths(Path("specs"), Path("."))


def _hub_prod() -> dict[str, Any]:
    rendered = pipeline.render(PATHS)
    return build_and_check(rendered.files, {"overlays/hub-prod": "hub-prod"}, None).objects["overlays/hub-prod"]


def _admit(policy: dict[str, Any], csr: dict[str, Any]) -> str | None:
    """What the API server does with the CSR: None when the policy does not apply or allows it,
    else the first failing validation's message (k8s.io/apiserver pkg/admission/plugin/policy/
    validating: matchConditions, then variables, then validations in order)."""
    T = ce.Type
    env = ce.NewEnv(variables={"object": T.Map(T.STRING, T.DYN), "variables": T.Map(T.STRING, T.DYN)})

    def run(expression: str, variables: dict[str, Any]) -> Any:
        value = env.compile(expression).eval(data={"object": csr, "variables": variables})
        assert value.type().name().lower() != "error", (expression, value.value())
        return value.value()

    spec = policy["spec"]
    if not all(run(c["expression"], {}) for c in spec["matchConditions"]):
        return None
    variables: dict[str, Any] = {}
    for v in spec["variables"]:
        variables[v["name"]] = run(v["expression"], variables)
    for rule in spec["validations"]:
        if run(rule["expression"], variables) is not True:
            return run(rule["messageExpression"], variables) if "messageExpression" in rule else rule["message"]
    return None


def _csr(cluster_label: str | None, username: str, signer: str = FLOWER_SIGNER, annotations: dict[str, str] | None = None,
         addon: str = "flower-addon") -> dict[str, Any]:
    labels = {tunnel.ADDON_LABEL: addon}
    if cluster_label is not None:
        labels[tunnel.CLUSTER_LABEL] = cluster_label
    meta: dict[str, Any] = {"name": "addon-eu-hosp-1-flower-addon-abcde", "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": meta,
            "spec": {"signerName": signer, "username": username, "request": "LS0tLS1CRUdJTi...", "usages": ["client auth"]}}


AGENT = "system:open-cluster-management:eu-hosp-1:5c2a1f0e-agent"  # the klusterlet's hub identity


def test_a_cluster_may_ask_for_its_own_credential_and_not_for_another_clusters(fleet_repo: Path) -> None:
    objs = _hub_prod()
    policy = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicy")
    binding = next(o for o in objs if o["kind"] == "ValidatingAdmissionPolicyBinding")
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    rule = policy["spec"]["matchConstraints"]["resourceRules"][0]
    assert rule["resources"] == ["certificatesigningrequests"] and set(rule["operations"]) == {"CREATE", "UPDATE"}
    assert policy["spec"]["failurePolicy"] == "Fail"

    assert _admit(policy, _csr("eu-hosp-1", AGENT)) is None
    denied = _admit(policy, _csr("eu-hosp-2", AGENT))
    assert denied and "cluster eu-hosp-2" in denied and AGENT in denied
    # no label, a cluster whose name is a prefix of the requester's, another add-on's label
    assert _admit(policy, _csr(None, AGENT))
    assert _admit(policy, _csr("eu-hosp", AGENT.replace("eu-hosp-1", "eu-hosp-10")))
    assert _admit(policy, _csr("eu-hosp-1", AGENT, addon="otel-addon"))
    # anyone else on the hub (a user, another cluster's add-on agent identity)
    assert _admit(policy, _csr("eu-hosp-1", "alice"))
    assert _admit(policy, _csr("eu-hosp-1", "system:open-cluster-management:cluster:eu-hosp-1:addon:flower-addon:agent:x"))
    # other signers are untouched, whatever they claim
    assert _admit(policy, _csr("eu-hosp-2", AGENT, signer="kubernetes.io/kube-apiserver-client")) is None
    assert _admit(policy, _csr("eu-hosp-2", "alice", signer="open-cluster-management.io/otel-addon")) is None


def test_the_grpc_driver_is_judged_by_the_agent_it_acts_for(fleet_repo: Path) -> None:
    policy = next(o for o in _hub_prod() if o["kind"] == "ValidatingAdmissionPolicy")
    grpc = tunnel.GRPC_SERVER_USER
    assert _admit(policy, _csr("eu-hosp-1", grpc, annotations={tunnel.CSR_USER_ANNOTATION: AGENT})) is None
    assert _admit(policy, _csr("eu-hosp-2", grpc, annotations={tunnel.CSR_USER_ANNOTATION: AGENT}))
    assert _admit(policy, _csr("eu-hosp-1", grpc))


def test_argo_cd_may_sync_the_policy(fleet_repo: Path) -> None:
    """Cluster-scoped kinds are whitelisted by the AppProject and granted by the ClusterRole only
    when listed in CLUSTER_SCOPED (render/argocd.py project, render/bootstrap.py rbac)."""
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} <= CLUSTER_SCOPED
    rendered = pipeline.render(PATHS)
    text = "\n".join(str(v) for k, v in rendered.files.items() if k.startswith("bootstrap/hub-prod/"))
    assert "validatingadmissionpolicies" in text and "validatingadmissionpolicybindings" in text
    assert "ValidatingAdmissionPolicyBinding" in text


def test_validate_checks_the_admission_objects_required_fields(fleet_repo: Path, crds: Path) -> None:
    """Built-in kinds have no CRD: `fedfleet validate` checks the fields the API server requires
    (checks/crds.py BUILTIN_SCHEMAS); the rendered objects pass, broken ones do not."""
    from fedfleet.checks.crds import SchemaSource
    schemas = SchemaSource.resolve([crds], store=False).load()  # the session's store, not ../shared
    objs = [o for o in _hub_prod() if o["kind"].startswith("ValidatingAdmissionPolicy")]
    assert len(objs) == 2
    findings, checked = schemas.validate(objs, "hub-prod")
    assert checked == 2 and not findings
    policy, binding = sorted(objs, key=lambda o: o["kind"])
    broken_policy = {**policy, "spec": {k: v for k, v in policy["spec"].items() if k != "matchConstraints"}}
    broken_binding = {**binding, "spec": {"policyName": binding["spec"]["policyName"], "validationActions": ["Block"]}}
    findings, _ = schemas.validate([broken_policy, broken_binding], "hub-prod")
    assert len(findings) >= 2 and any("matchConstraints" in f.message for f in findings)
