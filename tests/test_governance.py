"""Governance plugins: the core's wrapping, the four built-ins, third-party plugins, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import line_of
from fedfleet import pipeline
from fedfleet.checks import rego
from fedfleet.checks.kustomize import build as kustomize_build
from fedfleet.findings import Subject
from fedfleet.governance import load_registry
from fedfleet.governance.wrap import ACM_POLICY_NAME_LIMIT, fit_name
from plugins import install_module_plugin, pip_install_example

CONCERNS = {"addon", "tls", "data-locality", "observability", "membership", "prerequisites", "validation", "registration"}
PATHS = pipeline.Paths(Path("specs"), Path("."))


def _objects(root: Path, hub: str) -> list[dict]:
    return kustomize_build(root / "overlays" / hub)


def _rego_findings(b: pipeline.Rendered) -> list:
    modules = rego.plugin_modules(b.registry.rego_modules())
    return rego.evaluate(b.fleet, b.plan, b.bundle, modules).findings


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# --- the core's wrapping ------------------------------------------------------------------------

def test_every_overlay_carries_every_concern_with_controls(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    # hub-dev runs only a Flower job: observability has nothing it could measure there; and no job
    # of hub-dev declares a quality gate (spec.validation)
    for hub, concerns in (("hub-dev", CONCERNS - {"observability", "validation"}), ("hub-prod", CONCERNS)):
        objs = _objects(fleet_repo, hub)
        kinds = {o["kind"] for o in objs}
        assert {"Policy", "Placement", "PlacementBinding", "PolicySet"} <= kinds
        policies = [o for o in objs if o["kind"] == "Policy"]
        assert {p["metadata"]["annotations"]["fedfleet.io/concern"] for p in policies} == concerns
        for p in policies:
            ann = p["metadata"]["annotations"]
            assert ann["policy.open-cluster-management.io/standards"] == "NIST SP 800-53"
            assert ann["policy.open-cluster-management.io/controls"]
            assert ann["policy.open-cluster-management.io/categories"]
            # the Policy Generator's conventions: "," without a space, and a description
            assert all(", " not in ann[f"policy.open-cluster-management.io/{k}"] for k in ("controls", "categories"))
            assert ann["policy.open-cluster-management.io/description"]
        assert any("," in p["metadata"]["annotations"]["policy.open-cluster-management.io/controls"] for p in policies)
        # every governance Placement tolerates what the Policy Generator's do (or every taint)
        for pl in (o for o in objs if o["kind"] == "Placement" and o["metadata"]["namespace"] == "fl-governance"):
            tolerations = pl["spec"]["tolerations"]
            assert tolerations == [{"operator": "Exists"}] or all(
                {"key": f"cluster.open-cluster-management.io/{k}", "operator": "Exists"} in tolerations
                for k in ("unavailable", "unreachable")), pl["metadata"]["name"]
        sets = {o["metadata"]["name"]: o for o in objs if o["kind"] == "PolicySet"}
        assert set(sets) == {f"fedfleet-{c}" for c in concerns}
        # every policy is bound to a placement that exists in the overlay
        placements = {o["metadata"]["name"] for o in objs if o["kind"] == "Placement"}
        bound = {s["name"]: b["placementRef"]["name"] for b in objs if b["kind"] == "PlacementBinding" for s in b["subjects"]}
        assert {p["metadata"]["name"] for p in policies} == set(bound)
        assert set(bound.values()) <= placements


def test_remediation_follows_environment_with_overrides(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    pols = {(path.split("/")[1], d["metadata"]["name"]): d for path, docs in b.bundle.items() for d in docs if d["kind"] == "Policy"}
    assert pols[("hub-prod", "tls-superlink")]["spec"]["remediationAction"] == "enforce"
    assert pols[("hub-dev", "tls-superlink")]["spec"]["remediationAction"] == "inform"
    # status checks always inform, even in prod
    assert pols[("hub-prod", "addon-controller")]["spec"]["remediationAction"] == "inform"
    fleet = fleet_repo / "specs/fleet.yaml"
    _edit(fleet, "  hubs:\n", "  governance:\n    plugins:\n      tls:\n        remediation: inform\n"
          "      data-locality:\n        overrides:\n          mnist-eu: {disabled: true}\n  hubs:\n")
    b = pipeline.render(PATHS)
    pols = {(path.split("/")[1], d["metadata"]["name"]): d for path, docs in b.bundle.items() for d in docs if d["kind"] == "Policy"}
    assert pols[("hub-prod", "tls-superlink")]["spec"]["remediationAction"] == "inform"
    assert ("hub-prod", "data-locality-mnist-eu") not in pols
    assert ("hub-prod", "data-locality-ct-segment-us") in pols


def test_names_fit_acms_limit_deterministically() -> None:
    long = "data-locality-" + "x" * 80
    a, b = fit_name(long, 40), fit_name(long + "y", 40)
    assert len(a) <= 40 and len(b) <= 40 and a != b
    assert a == fit_name(long, 40)
    assert fit_name("short", 40) == "short"


def test_long_job_names_stay_within_namespace_plus_name_limit(fleet_repo: Path) -> None:
    long_job = "mnist-eu-" + "a" * 44  # 53: the longest Flower job name the controller accepts (spec/contract.py)
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("mnist-eu", long_job))
    for cluster_file in (fleet_repo / "specs/clusters").glob("*.yaml"):
        cluster_file.write_text(cluster_file.read_text().replace("mnist-eu.client-data", f"{long_job}.client-data"))
    b = pipeline.render(PATHS)
    names = [(path.split("/")[1], d["metadata"]) for path, docs in b.bundle.items() for d in docs
             if d["kind"] in ("Policy", "PolicySet")]
    assert names and all(len(m["namespace"]) + len(m["name"]) <= ACM_POLICY_NAME_LIMIT for _, m in names)
    assert any(len(m["name"]) == ACM_POLICY_NAME_LIMIT - len("fl-governance") for _, m in names), "the long name was cut"
    assert len({(hub, m["namespace"], m["name"]) for hub, m in names}) == len(names)


def test_generated_policies_validate_against_upstream_crds(fleet_repo: Path, run, crds: Path) -> None:
    report = json.loads(run("validate", "--crds", str(crds), "--format", "json").out)
    assert report["ok"], report["findings"]
    # the embedded ConfigurationPolicies are checked too (the Policy CRD leaves them open)
    assert report["schemaChecked"] > sum(report["built"].values())


# --- per-rule fixtures: each rule passes on the example and breaks on a fixture ---------------

def test_example_fleet_satisfies_every_rule(fleet_repo: Path) -> None:
    findings = [f for f in _rego_findings(pipeline.render(PATHS)) if f.severity.value == "error"]
    assert findings == []


def test_tls_jobs_rule_breaks_when_a_job_turns_tls_off(fleet_repo: Path) -> None:
    _edit(fleet_repo / "specs/jobs/mnist-eu.yaml", "  tls: {enabled: true}", "  tls: {enabled: false}")
    b = pipeline.render(PATHS)
    found = [f for f in _rego_findings(b) if f.check == "rego:tls.jobs"]
    assert len(found) == 1
    job = (fleet_repo / "specs/jobs/mnist-eu.yaml").read_text()
    line = line_of(job, "tls: {enabled: false}")
    column = job.splitlines()[line - 1].index("false") + 1  # the `enabled: false` node
    assert str(found[0].location) == f"specs/jobs/mnist-eu.yaml:{line}:{column}"
    # and the ACM side: the bundle records the job's intent, which the tls-jobs policy forbids
    fl = next(d for d in b.bundle["overlays/hub-prod/jobs/mnist-eu.yaml"] if d["kind"] == "FederatedLearning")
    assert fl["metadata"]["annotations"]["fedfleet.io/tls"] == "disabled"


def test_tls_listener_rule_breaks_on_nodeport_in_prod_only(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)  # digits-dev uses NodePort, in dev: allowed
    assert not [f for f in _rego_findings(b) if "NodePort" in f.message]
    dev_policy = next(d for d in b.bundle["overlays/hub-dev/governance/tls.yaml"] if d["metadata"]["name"] == "tls-jobs")
    prod_policy = next(d for d in b.bundle["overlays/hub-prod/governance/tls.yaml"] if d["metadata"]["name"] == "tls-jobs")
    templates = lambda p: p["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]  # noqa: E731
    assert not any(t["objectDefinition"].get("spec") for t in templates(dev_policy))
    assert {"complianceType": "mustnothave", "objectDefinition": {
        "apiVersion": "federation-ai.open-cluster-management.io/v1alpha1", "kind": "FederatedLearning",
        "spec": {"server": {"listeners": [{"type": "NodePort"}]}}}} in templates(prod_policy)
    _edit(fleet_repo / "specs/jobs/mnist-eu.yaml", "type: Route", "type: NodePort")
    found = [f for f in _rego_findings(pipeline.render(PATHS)) if "NodePort" in f.message]
    assert len(found) == 1 and found[0].field == "spec.server.listeners[0].type"
    line = line_of(fleet_repo / "specs/jobs/mnist-eu.yaml", "type: NodePort")
    assert str(found[0].location).startswith(f"specs/jobs/mnist-eu.yaml:{line}:")


def test_tls_policies_follow_each_hubs_tls_setting(fleet_repo: Path) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    _edit(fleet, "    environment: dev\n", "    environment: dev\n    tls: {enabled: false}\n")
    b = pipeline.render(PATHS)
    assert not b.fleet.job("digits-dev").tls_enabled, "a job follows its hub's TLS setting"
    from fedfleet import write
    write.write(b.files, fleet_repo)
    # the overlay's kustomize patch turns the shared TLS base back to --insecure on that hub only
    superlink = next(o for o in _objects(fleet_repo, "hub-dev") if o["kind"] == "Deployment")
    assert "--insecure" in superlink["spec"]["template"]["spec"]["containers"][0]["args"]
    dev = {d["metadata"]["name"] for d in b.bundle.get("overlays/hub-dev/governance/tls.yaml", []) if d["kind"] == "Policy"}
    prod = {d["metadata"]["name"] for d in b.bundle["overlays/hub-prod/governance/tls.yaml"] if d["kind"] == "Policy"}
    assert dev == set(), "no TLS check applies to a hub that runs without TLS (dev forbids no listener type)"
    assert {"tls-superlink", "tls-no-insecure", "tls-secrets", "tls-certificates", "tls-jobs"} <= prod
    # the twin agrees: an --insecure SuperLink and a TLS-off job are what that hub is meant to run
    built = {f"overlays/{h}/(built)": _objects(fleet_repo, h) for h in ("hub-dev", "hub-prod")}
    found = [f for f in rego.evaluate(b.fleet, b.plan, built,
                                      rego.plugin_modules(b.registry.rego_modules())).findings
             if f.check.startswith("rego:tls.") and f.severity.value == "error"]
    assert found == []


def test_insecure_next_to_tls_flags_breaks_only_the_no_insecure_rule(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    from fedfleet import write
    write.write(b.files, fleet_repo)
    superlink = next(o for o in _objects(fleet_repo, "hub-prod") if o["kind"] == "Deployment")
    superlink["spec"]["template"]["spec"]["containers"][0]["args"].append("--insecure")
    found = {f.check for f in rego.evaluate(b.fleet, b.plan, {**b.bundle, "overlays/hub-prod/built.yaml": [superlink]},
                                            rego.plugin_modules(b.registry.rego_modules())).findings
             if f.check.startswith("rego:tls.")}
    # musthave lists are subsets, so the --ssl-* rule still holds; the mustnothave rule does not
    assert found == {"rego:tls.no-insecure"}
    policy = next(d for d in b.bundle["overlays/hub-prod/governance/tls.yaml"] if d["metadata"]["name"] == "tls-no-insecure")
    template = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"][0]
    assert template["complianceType"] == "mustnothave" and "name" not in template["objectDefinition"]["metadata"]
    assert policy["spec"]["remediationAction"] == "inform"


def test_rego_ssl_arguments_are_the_rendered_ones() -> None:
    from fedfleet.upstream import superlink_args
    source = load_registry().rego_modules()["tls"]["tls.rego"]
    block = source.split("ssl_args := [", 1)[1].split("]", 1)[0]
    assert [line.strip().strip(",").strip('"') for line in block.strip().splitlines()] == superlink_args(True)


def test_rego_input_json_is_the_standard_librarys_document() -> None:
    """The Rego input is written with orjson (fast at 32 MB); it must parse to what json.dumps
    wrote before, non-ASCII text and non-string keys included, and what orjson refuses (an integer
    beyond 64 bits) still goes through the standard library."""
    doc = {"objects": [{"path": "a/b.yaml", "hub": "h", "object": {"data": {"ü": "é \u2028", 1: 1.5, "n": None}}}],
           "jobs": [{"minAvailableClients": 2, "tls": True, "holders": {}}]}
    assert json.loads(rego.input_json(doc)) == json.loads(json.dumps(doc))
    big = {**doc, "parameters": {"x": 2**70}}
    assert json.loads(rego.input_json(big)) == json.loads(json.dumps(big)) and json.loads(rego.input_json(big))["parameters"]["x"] == 2**70


def test_rego_tunnel_configuration_is_the_rendered_one() -> None:
    """The Rego twin rebuilds the hub tunnel's stunnel.conf around the checkHost lines (review
    finding 6): its head, tail, command and empty-plan name are render/tunnel.py's."""
    import json

    from fedfleet.render import tunnel
    source = load_registry().rego_modules()["tls"]["tls.rego"]

    def rego_list(name: str) -> list[str]:
        text = source.split(f"{name} := ", 1)[1]
        text = text[:text.index("\n]") + 2] if text.startswith("[\n") else text.split("\n", 1)[0]
        return json.loads(text.replace(",\n]", "\n]"))
    text = tunnel.hub_config(["c1"])
    from fedfleet.upstream import registration_common_name
    head, check, tail = text.partition("checkHost = " + registration_common_name("c1") + "\n")
    assert check
    assert rego_list("hub_conf_head") == head.split("\n")[:-1]
    assert rego_list("hub_conf_tail") == tail.split("\n") and tail.split("\n") == ["sslVersionMin = TLSv1.2", ""]
    assert json.loads(source.split("tunnel_command := ", 1)[1].split("\n", 1)[0]) == tunnel.TUNNEL_COMMAND
    assert f'no_cluster := "{tunnel.NO_CLUSTER}"' in source


def test_certificate_policy_checks_duration_and_the_superlink_names(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    policy = next(d for d in b.bundle["overlays/hub-prod/governance/tls.yaml"] if d["metadata"]["name"] == "tls-certificates")
    spec = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
    assert spec["minimumDuration"] == "360h" and spec["namespaceSelector"] == {"include": ["flower-system"]}
    # below cert-manager's renewBefore, so a healthy renewal never shows as NonCompliant
    certificates = [d for path, docs in b.bundle.items() if path.startswith("overlays/hub-prod/") or path.startswith("bases/")
                    for d in docs if d.get("kind") == "Certificate"]
    assert certificates and all(int(c["spec"]["renewBefore"].rstrip("h")) > 360 for c in certificates)
    import re
    pattern = re.compile(spec["allowedSANPattern"])
    # the job's exposed Route host and its SuperLink's Service names, nothing else
    assert pattern.match("superlink-mnist-eu.apps.hub-prod.example.com") and pattern.match("superlink-mnist-eu.flower-system.svc")
    assert not pattern.match("nodes.hub-dev.example.com") and not pattern.match("superlink-mnist-eu.appsxhub-prod.example.com")
    secrets = next(d for d in b.bundle["overlays/hub-prod/governance/tls.yaml"] if d["metadata"]["name"] == "tls-secrets")
    objs = secrets["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
    assert {o["objectDefinition"]["type"] for o in objs} == {"kubernetes.io/tls"}


def test_addon_rules_break_when_the_overlay_lacks_the_addon(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    edited = dict(b.bundle)
    for hub in ("hub-dev", "hub-prod"):
        edited[f"overlays/{hub}/addon.yaml"] = []  # the ClusterManagementAddOn, as if hand-deleted
    edited = {p: [d for d in docs if d.get("kind") != "Placement" or not d["metadata"]["name"].startswith("flower-addon-")]
              for p, docs in edited.items()}
    found = {f.check for f in rego.evaluate(b.fleet, b.plan, edited, rego.plugin_modules(b.registry.rego_modules())).findings}
    assert "rego:addon.agent-available" in found
    agent = next(d for d in b.bundle["overlays/hub-prod/governance/addon.yaml"] if d["metadata"]["name"] == "addon-agent-mnist-eu")
    spec = agent["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"][0]["objectDefinition"]
    assert (spec["kind"], spec["metadata"]["name"], spec["status"]) == (
        "Deployment", "flower-supernode", {"conditions": [{"type": "Available", "status": "True"}]})


def test_addon_agent_policy_targets_exactly_the_jobs_clients(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    placement = next(d for d in b.bundle["overlays/hub-prod/governance/placements.yaml"]
                     if d["kind"] == "Placement" and d["metadata"]["name"] == "fedfleet-clients-mnist-eu")
    fl = next(d for d in b.bundle["overlays/hub-prod/jobs/mnist-eu.yaml"] if d["kind"] == "FederatedLearning")
    spec = dict(placement["spec"])
    tolerations = spec.pop("tolerations")
    job_tolerations = fl["spec"]["client"]["placement"].get("tolerations", [])
    assert spec == {k: v for k, v in fl["spec"]["client"]["placement"].items() if k != "tolerations"}
    # the job's own tolerations, then the Policy Generator's two
    assert tolerations == job_tolerations + [
        {"key": "cluster.open-cluster-management.io/unavailable", "operator": "Exists"},
        {"key": "cluster.open-cluster-management.io/unreachable", "operator": "Exists"}]


def test_data_locality_rule_breaks_when_a_non_holder_carries_the_claim(fleet_repo: Path) -> None:
    _edit(fleet_repo / "specs/clusters/eu-hospitals.yaml", "      region.open-cluster-management.io: eu-north-1",
          "      region.open-cluster-management.io: eu-north-1\n      mnist-eu.client-data: /tmp/copy")
    _edit(fleet_repo / "specs/clusters/eu-hospitals.yaml", 'labels: {region: eu-north, country: se, gpu: "false"',
          'labels: {region: eu-north, country: se, gpu: "true"')
    found = [f for f in _rego_findings(pipeline.render(PATHS)) if f.check == "rego:data-locality.claim" and f.severity.value == "error"]
    assert len(found) == 1 and "eu-hosp-4" in found[0].message
    assert found[0].location.file == "specs/jobs/mnist-eu.yaml"


def test_data_locality_policy_uses_hub_templates_one_per_job(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    policies = [d for d in b.bundle["overlays/hub-prod/governance/data-locality.yaml"] if d["kind"] == "Policy"]
    assert len(policies) == 2  # one per job, whatever the number of clusters
    raw = policies[1]["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates-raw"]
    assert 'fromConfigMap "" "mnist-eu-data-locality" .ManagedClusterName' in raw
    assert "mustnothave" in raw and "name: mnist-eu.client-data" in raw
    # a holder's path reaches the claim through two template passes (hub, then managed cluster):
    # the hub pass writes it as a JSON string, the managed pass re-encodes it with toJson. Played
    # here with Python's json for both (tests/oracles runs the propagator and config-policy-controller).
    for branch in ("/data/x", "/it's \"q\" {{ .ManagedClusterName }} hub}}\nline ünï ✓", ""):
        text = raw.replace('{{hub $path := fromConfigMap "" "mnist-eu-data-locality" .ManagedClusterName hub}}\n', "")
        keep_first = bool(branch)
        body = text.split("{{hub else hub}}\n")[0 if keep_first else 1].replace("{{hub if $path hub}}\n", "")
        body = body.replace("{{hub end hub}}\n", "").replace("{{ {{hub $path | toJson hub}} | toJson }}", json.dumps(branch))
        parsed = yaml.safe_load(body)
        assert parsed[0]["complianceType"] == ("musthave" if keep_first else "mustnothave")
        if keep_first:
            assert parsed[0]["objectDefinition"]["spec"]["value"] == branch
    # an enforced claim goes when its job goes
    template = policies[1]["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
    assert template["pruneObjectBehavior"] == "DeleteIfCreated"


SIDECAR = "registry.acme.test/fl-sidecar@sha256:" + "0" * 64


def test_no_sidecar_image_by_default_only_a_warning_naming_the_parameter(fleet_repo: Path) -> None:
    # upstream publishes no pinned sidecar (observability.py): no :latest default is rendered
    b = pipeline.render(PATHS)
    fl = next(d for d in b.bundle["overlays/hub-prod/jobs/ct-segment-us.yaml"] if d["kind"] == "FederatedLearning")
    assert "federated-learning.io/sidecar-image" not in fl["metadata"]["annotations"]
    assert not any(":latest" in str(o) for objs in b.bundle.values() for o in objs
                   if o.get("kind") == "FederatedLearning"), "no moving tag rendered for a job"
    found = [f for f in rego.evaluate(b.fleet, b.plan, b.bundle, rego.plugin_modules(b.registry.rego_modules())).findings
             if f.check == "rego:observability.sidecar" and "OpenFL job ct-segment-us" in f.message]
    assert [f.severity.value for f in found] == ["warning"]
    assert "governance.plugins.observability.sidecarImage" in found[0].message


def test_observability_rule_breaks_without_the_metrics_sidecar(fleet_repo: Path) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n",
          f"  governance:\n    plugins:\n      observability: {{sidecarImage: '{SIDECAR}'}}\n  hubs:\n")
    b = pipeline.render(PATHS)
    fl = next(d for d in b.bundle["overlays/hub-prod/jobs/ct-segment-us.yaml"] if d["kind"] == "FederatedLearning")
    assert fl["metadata"]["annotations"]["federated-learning.io/sidecar-image"] == SIDECAR
    # upstream has no sidecar for Flower: no annotation promising one
    flower = next(d for d in b.bundle["overlays/hub-prod/jobs/mnist-eu.yaml"] if d["kind"] == "FederatedLearning")
    assert "federated-learning.io/sidecar-image" not in flower["metadata"]["annotations"]
    edited = dict(b.bundle)
    stripped = json.loads(json.dumps(fl))
    del stripped["metadata"]["annotations"]["federated-learning.io/sidecar-image"]
    edited["overlays/hub-prod/jobs/ct-segment-us.yaml"] = [stripped]
    found = [f for f in rego.evaluate(b.fleet, b.plan, edited, rego.plugin_modules(b.registry.rego_modules())).findings
             if f.check == "rego:observability.sidecar" and f.severity.value == "error"]
    assert len(found) == 1 and found[0].subject == Subject.job("ct-segment-us", "hub-prod")


def test_otel_addon_serves_the_address_the_sidecar_dials(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    assert "overlays/hub-dev/otel-addon.yaml" not in b.bundle, "no OpenFL job on hub-dev, nothing to collect"
    objs = {(d["kind"], d["metadata"]["name"]): d for d in b.bundle["overlays/hub-prod/otel-addon.yaml"]}
    cma, template = objs[("ClusterManagementAddOn", "otel")], objs[("AddOnTemplate", "otel-addon")]
    config = objs[("AddOnDeploymentConfig", "otel-config")]
    assert template["spec"]["registration"][0]["type"] == "CustomSigner"
    assert template["spec"]["registration"][0]["customSigner"]["signerName"] == "open-cluster-management.io/otel-addon"
    assert cma["spec"]["installStrategy"]["placements"][0]["name"] == "otel-addon"
    service = next(m for m in template["spec"]["agentSpec"]["workload"]["manifests"] if m["kind"] == "Service")
    # the FL controller's OpenFL manifests hard-code OTEL_ENDPOINT; the template agent puts every
    # namespaced manifest in the AddOnDeploymentConfig's agentInstallNamespace
    address = f"{service['metadata']['name']}.{config['spec']['agentInstallNamespace']}.svc.cluster.local:" \
              f"{service['spec']['ports'][0]['port']}"
    assert address == "otel-collector.open-cluster-management-agent-addon.svc.cluster.local:4317"
    placement = objs[("Placement", "otel-addon")]
    sets = placement["spec"]["predicates"][1]["requiredClusterSelector"]["labelSelector"]["matchExpressions"][0]["values"]
    assert sets == ["us-clinics"]  # ct-segment-us's set; the hub is the other predicate


def test_disabled_plugin_contributes_nothing(fleet_repo: Path) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n", "  governance:\n    plugins:\n      observability: {enabled: false}\n  hubs:\n")
    b = pipeline.render(PATHS)
    assert not any(p.endswith("governance/observability.yaml") for p in b.bundle)
    fl = next(d for d in b.bundle["overlays/hub-prod/jobs/mnist-eu.yaml"] if d["kind"] == "FederatedLearning")
    assert "federated-learning.io/sidecar-image" not in fl["metadata"]["annotations"]


# --- plugin parameters, discovery and errors -----------------------------------------------------

def test_plugin_parameters_are_validated_with_the_fleet(fleet_repo: Path, run) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n",
          "  governance:\n    plugins:\n      tls:\n        forbiddenListenerTypes: {prod: [Ingress]}\n  hubs:\n")
    result = run("generate")
    assert result.code == 2
    line = line_of(fleet_repo / "specs/fleet.yaml", "forbiddenListenerTypes")
    assert f"specs/fleet.yaml:{line}:" in result.err and "'Ingress' is not one of" in result.err
    _edit(fleet_repo / "specs/fleet.yaml", "forbiddenListenerTypes: {prod: [Ingress]}", "colour: blue")
    assert "unknown field 'colour'" in run("generate").err


def test_builtins_are_discovered_through_entry_points() -> None:
    assert set(load_registry().plugins) == CONCERNS


def test_third_party_plugin_plugs_in_through_its_entry_point(fleet_repo: Path, tmp_path_factory, monkeypatch, run) -> None:
    pip_install_example(tmp_path_factory.mktemp("site"), monkeypatch)
    registry = load_registry()
    assert "registries" in registry.plugins
    assert run("generate").code == 0
    policy = yaml.safe_load_all((fleet_repo / "overlays/hub-prod/governance/registries.yaml").read_text())
    names = {d["metadata"]["name"] for d in policy if d}
    assert {"registries-mnist-eu", "registries-ct-segment-us", "fedfleet-registries"} <= names
    # its Rego twin runs beside the built-ins: quay.io is allowed by default, a narrower list breaks
    assert not [f for f in _rego_findings(pipeline.render(PATHS)) if f.check == "rego:registries.allowed"]
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n",
          "  governance:\n    plugins:\n      registries: {allowed: [registry.internal/]}\n  hubs:\n")
    found = [f for f in _rego_findings(pipeline.render(PATHS)) if f.check == "rego:registries.allowed"]
    assert {str(f.subject) for f in found} == {"FederatedLearningJob mnist-eu", "FederatedLearningJob digits-dev",
                                          "FederatedLearningJob ct-segment-us"}
    assert run("policy", "list", "--format", "json").code == 0


RAISING = """
from fedfleet.governance import Concern, hookimpl

@hookimpl
def fedfleet_concern():
    return Concern(name="broken", title="t", description="d", standards=("s",), categories=("c",), controls=("x",))

@hookimpl
def fedfleet_policies(context):
    raise KeyError("no such thing")
"""

INVALID = """
from fedfleet.governance import Concern, PolicyContent, Target, Template, hookimpl

@hookimpl
def fedfleet_concern():
    return Concern(name="sloppy", title="t", description="d", standards=("s",), categories=("c",), controls=("x",))

@hookimpl
def fedfleet_policies(context):
    return [PolicyContent(name="Not_A_Name", description="d", target=Target("hub"),
                          templates=(Template("ConfigurationPolicy", {"object-templates": []}),))]
"""

NO_CONTROLS = """
from fedfleet.governance import Concern, hookimpl

@hookimpl
def fedfleet_concern():
    return Concern(name="bare", title="t", description="d", standards=("s",), categories=("c",), controls=())
"""


@pytest.mark.parametrize("module,source,expect", [
    ("faulty_raising", RAISING, "plugin 'faulty': fedfleet_policies raised KeyError: 'no such thing'"),
    ("faulty_invalid", INVALID, "plugin 'faulty': policy name 'Not_A_Name' is not a DNS-1123 label"),
    ("faulty_bare", NO_CONTROLS, "plugin 'faulty': a concern needs standards, categories and controls"),
    ("faulty_import", "import does_not_exist_anywhere\n", "plugin 'faulty': cannot be loaded from faulty_import"),
])
def test_faulty_plugin_gives_a_clear_error_naming_it(fleet_repo: Path, tmp_path_factory, monkeypatch, run,
                                                     module, source, expect) -> None:
    install_module_plugin(tmp_path_factory.mktemp("site"), monkeypatch, "faulty", module, source)
    result = run("generate")
    assert result.code == 2
    assert expect in result.err
    assert "Traceback" not in result.err
    assert not (fleet_repo / "overlays").exists()


def test_policy_list_shows_rules_targets_and_controls(fleet_repo: Path, run) -> None:
    result = run("policy", "list", "--format", "json")
    assert result.code == 0
    entries = {e["plugin"]: e for e in json.loads(result.out)}
    assert set(entries) == CONCERNS
    assert "SC-8 Transmission Confidentiality and Integrity" in entries["tls"]["controls"]
    assert entries["tls"]["rego"] == ["tls.rego", "tls_test.rego"]
    superlink = [p for p in entries["tls"]["policies"] if p["name"] == "tls-superlink"]
    assert {(p["hub"], p["remediation"], p["placement"]) for p in superlink} == {
        ("hub-prod", "enforce", "fedfleet-hub"), ("hub-dev", "inform", "fedfleet-hub")}
    text = run("policy", "list").out
    assert "tls: Federated-learning traffic is encrypted" in text and "rule tls.superlink" in text


def test_a_data_holder_under_a_noselect_taint_still_gets_its_claim(fleet_repo: Path) -> None:
    from fedfleet.placement import _taint_failure
    b = pipeline.render(PATHS)
    placement = next(d for d in b.bundle["overlays/hub-prod/governance/placements.yaml"]
                     if d["kind"] == "Placement" and d["metadata"]["name"] == "fedfleet-sets-mnist-eu")
    tainted = b.fleet.cluster("eu-hosp-3")
    assert tainted.taints and b.fleet.job("mnist-eu").holders.get("eu-hosp-3")
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    # the job's own placement leaves it out (the plan says so), the data-locality placement does not
    assert _taint_failure(tainted, list(b.fleet.job("mnist-eu").placement.get("tolerations", [])), now)
    assert _taint_failure(tainted, placement["spec"]["tolerations"], now) is None
