"""The FL controller's runtime contract is a spec error at PR time: one case per rule.

Each case breaks the example fleet the way the controller would refuse at runtime and names the
upstream line (addon-contrib federated-learning-controller/, commit f5844b98) that refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import line_of
from fedfleet.spec.contract import RULES, controller_data_key

OPENFL = "specs/jobs/ct-segment-us.yaml"
FLOWER = "specs/jobs/mnist-eu.yaml"


# (rule id, file, old, new, the line the finding must name (by content: a mapping is located at its
# first key), message fragment)
CASES = [
    # federatedlearning_server.go:48 `if len(instance.Spec.Server.Listeners) == 0 { return fmt.Errorf("no listeners specified") }`
    ("openfl-listener-required", OPENFL, "    listeners:\n    - {name: aggregator, port: 50051, type: LoadBalancer}\n", "",
     "    image:", "at least one listener"),
    # federatedlearning_server.go:69-72: listeners[0].type must be LoadBalancer or NodePort, else "unsupported listener type"
    ("openfl-listener-type", OPENFL, "type: LoadBalancer}", "type: Route}", "type: Route}", "supports only LoadBalancer and NodePort"),
    # federatedlearning_server.go:660-671 storage(): PersistentVolumeClaim and S3Bucket only, HostPath falls to the default error
    ("storage-type", OPENFL, "type: S3Bucket", "type: HostPath", "type: HostPath", "storage type HostPath is not supported"),
    # federatedlearning_server.go:723 ensureS3PVC: "size must be specified for storage type %s"
    ("storage-size", OPENFL, "      size: 20Gi\n", "", "      type: S3Bucket", "needs a size"),
    # federatedlearning_server.go:726/:729 ensureS3PVC: s3 block and bucketName required
    ("storage-s3", OPENFL, "      s3: {bucketName: acme-fl-models, prefix: ct-segment/, region: us-east-1}\n", "",
     "      type: S3Bucket", "needs s3.bucketName"),
    # federatedlearning_server.go:721/:737: the PVC and the PV "<name>-pv" are named after storage.name
    ("storage-name", OPENFL, "      name: ct-segment-models", "", "      type: S3Bucket", "needs a name"),
    # federatedlearning_controller.go:203 getDirFile("") -> "path cannot be empty" (called at federatedlearning_server.go:112)
    ("storage-path", OPENFL, "      path: /models\n", "", "      type: S3Bucket", "needs a path"),
    # serverapp-deployment.yaml:14 label app.kubernetes.io/instance: <job>-serverapp (label values <= 63)
    ("name-length", FLOWER, "name: mnist-eu", "name: " + "m" * 54, "  name: mmm", "at most 53 characters"),
]


@pytest.mark.parametrize("rule_id,file,old,new,at,expect", CASES, ids=[c[0] for c in CASES])
def test_controller_rule_is_a_spec_error(fleet_repo: Path, run, rule_id, file, old, new, at, expect) -> None:
    path = fleet_repo / file
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r}"
    path.write_text(text.replace(old, new, 1))
    result = run("generate")
    assert result.code == 2, result.out + result.err
    assert expect in result.err, result.err
    upstream_file = RULES[rule_id].upstream.split(":")[0]
    assert upstream_file in result.err, result.err
    assert f"{file[len('specs/'):]}:{line_of(path, at)}:" in result.err, result.err
    assert not (fleet_repo / "overlays").exists()


def test_every_rule_has_a_case() -> None:
    assert {c[0] for c in CASES} | {"data-claim-exists"} == set(RULES)


def test_openfl_name_must_start_with_a_letter_and_fit_a_service_name(fleet_repo: Path, run) -> None:
    # getSeverName (federatedlearning_server.go:339) makes Service "<job>-server", a DNS-1035 label.
    for src in sorted((fleet_repo / "specs").rglob("*.yaml")):
        src.write_text(src.read_text().replace("ct-segment-us", "9ct-segment-us"))
    result = run("generate")
    assert result.code == 2 and "must start with a letter" in result.err, result.err
    for src in sorted((fleet_repo / "specs").rglob("*.yaml")):
        src.write_text(src.read_text().replace("9ct-segment-us", "c" * 57))
    result = run("generate")
    assert result.code == 2 and "at most 56 characters" in result.err, result.err


def test_flower_jobs_are_not_held_to_the_openfl_server_rules(fleet_repo: Path, run) -> None:
    # reconcileFlower (federatedlearning_controller.go:124) never reads listeners or storage.
    job = fleet_repo / FLOWER
    job.write_text(job.read_text().replace(
        "    storage: {type: PersistentVolumeClaim, name: model-pvc, path: /data/models, size: 2Gi}\n", ""))
    assert run("generate").code == 0


def test_rendered_placement_hands_the_controller_the_data_claim(fleet_repo: Path, run) -> None:
    """generateWorkload takes the last Exists claim expression as the data key
    (federatedlearning_client.go:172-179); even with a user's own Exists expression the rendered
    placement must yield the job's data claim."""
    job = fleet_repo / OPENFL
    job.write_text(job.read_text().replace(
        "          - {key: region, operator: In, values: [us-east, us-west]}\n",
        "          - {key: region, operator: In, values: [us-east, us-west]}\n"
        "        claimSelector:\n          matchExpressions:\n"
        "          - {key: region.open-cluster-management.io, operator: Exists}\n"))
    assert run("generate").code == 0
    seen = 0
    for path in sorted((fleet_repo / "overlays").glob("*/jobs/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "FederatedLearning":
                claim = doc["metadata"]["annotations"]["fedfleet.io/data-claim"]
                assert controller_data_key(doc["spec"]["client"]["placement"]) == claim, path
                seen += 1
    assert seen == 3


def test_holder_path_and_cluster_claim_must_agree_naming_both_places(fleet_repo: Path, run) -> None:
    """One data path: the holder entry is the source, the inventory's claim (the hub as pulled) must
    say the same; the controller hands the claim's value to the client (federatedlearning_client.go:197-206)."""
    eu = fleet_repo / "specs/clusters/eu-hospitals.yaml"
    eu.write_text(eu.read_text().replace("mnist-eu.client-data: /srv/fl/mnist", "mnist-eu.client-data: /srv/fl/mnist-v2"))
    result = run("generate")
    assert result.code == 2, result.err
    job_line = line_of(fleet_repo / FLOWER, "eu-hosp-3: /srv/fl/mnist")
    claim_line = line_of(eu, "mnist-eu.client-data: /srv/fl/mnist-v2")
    assert f"jobs/mnist-eu.yaml:{job_line}:" in result.err, result.err
    assert f"clusters/eu-hospitals.yaml:{claim_line}:" in result.err, result.err
    assert "'/srv/fl/mnist'" in result.err and "'/srv/fl/mnist-v2'" in result.err
    assert not (fleet_repo / "overlays").exists()
