"""Issue 17 run for real: `fedfleet simulate` with the bundle's registration tunnels (stunnel on
loopback), each simulated cluster's credential signed by the bundle's signing CA as OCM's addon
manager signs it; unregistered SuperNodes are refused by the SuperLink's tunnel and get no model."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from test_simulate import example, flower_processes, own_tag  # noqa: F401 - fixtures shared
from fedfleet.simulate import SimulationError, run_simulation

needs_stunnel = pytest.mark.skipif(shutil.which("stunnel") is None,
                                   reason="stunnel is not installed (Debian: apt-get install -y stunnel4)")


def _find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.mark.flower
@needs_stunnel
def test_registered_clusters_train_and_intruders_are_refused_and_get_no_model(example, tmp_path: Path, monkeypatch) -> None:
    build, objects = example
    before = flower_processes()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_simulation(build, "mnist-eu", rounds=2, objects=objects, intruders=["none", "foreign", "other-job"])
    ran = {line.split(":", 1)[0]: line for line in result.processes}
    # The registered clusters trained, through their tunnels: each SuperNode dials its own pod's tunnel.
    assert result.registration and [r["round"] for r in result.rounds] == [0, 1, 2]
    assert result.rounds[-1]["accuracy"] > 0.8
    assert "--superlink=127.0.0.1:" in ran["supernode-eu-hosp-1"]
    assert "/bin/sh" in ran["superlink-fleet-tunnel"] and "supernode-eu-hosp-1-fleet-tunnel" in ran
    # The intruders (a registered cluster's CA and node config; no credential, or one of another CA
    # naming a registered cluster) never got a node id and never received a message.
    # other-job: a cluster of the fleet outside this job, with a valid credential of the bundle's
    # signing CA (review finding 2: every job's tunnel trusts that CA; its checkHost lines do not).
    assert result.intruders == {"none": {"joined": False, "receivedMessages": False},
                                "foreign": {"joined": False, "receivedMessages": False},
                                "other-job": {"joined": False, "receivedMessages": False}}
    assert not result.intruder_admitted
    # ... because the SuperLink's tunnel refused their handshakes, each for its reason.
    assert result.tunnel_refusals["no certificate"] > 0
    assert result.tunnel_refusals["not signed by the registration CA"] > 0
    assert result.tunnel_refusals["not a cluster of this job"] > 0
    assert flower_processes() - before == set(), "every process, stunnel included, is gone"
    assert not list(tmp_path.glob("fedfleet-simulate-*"))


@pytest.mark.flower
@needs_stunnel
def test_a_hub_tunnel_that_does_not_ask_for_credentials_lets_an_intruder_in(example) -> None:
    """The test above can fail: with the SuperLink's tunnel not verifying clients, the intruder
    without a credential joins and receives the model (and the preview says so)."""
    build, objects = example
    edited = copy.deepcopy(objects)
    cm = _find(edited, "ConfigMap", "superlink-mnist-eu-tunnel")
    cm["data"]["stunnel.conf"] = "\n".join(l for l in cm["data"]["stunnel.conf"].splitlines()
                                           if not l.startswith(("verifyChain", "requireCert", "CAfile", "checkHost")))
    before = flower_processes()
    result = run_simulation(build, "mnist-eu", rounds=1, objects=edited, intruders=["none"])
    assert result.intruders["none"] == {"joined": True, "receivedMessages": True}
    assert result.intruder_admitted
    assert flower_processes() - before == set()


def test_a_cluster_tunnel_that_does_not_check_the_superlinks_name_fails(example) -> None:
    build, objects = example
    edited = copy.deepcopy(objects)
    template = _find(edited, "AddOnTemplate", "flower-addon")
    conf = next(m for m in template["spec"]["agentSpec"]["workload"]["manifests"] if m["kind"] == "ConfigMap")
    conf["data"]["stunnel.conf"] = conf["data"]["stunnel.conf"].replace("checkHost", "; checkHost").replace(
        "{{SUPERLINK_CHECK}}", "; {{SUPERLINK_CHECK}}")
    with pytest.raises(SimulationError, match="does not check the SuperLink's name"):
        run_simulation(build, "mnist-eu", rounds=1, objects=edited, timeout=60)


def test_the_signing_ca_must_be_issued_on_the_hub(example) -> None:
    build, objects = example
    edited = [o for o in copy.deepcopy(objects)
              if not (o["kind"] == "Certificate" and o["metadata"]["name"] == "flower-addon-signer")]
    with pytest.raises(SimulationError, match="Secret flower-system/flower-addon-signer is created by nothing in the bundle"):
        run_simulation(build, "mnist-eu", rounds=1, objects=edited, timeout=60)


def test_the_summary_reports_an_admitted_intruder_as_a_failure() -> None:
    from fedfleet.report.summary import simulation_json, simulation_lines
    from fedfleet.simulate.run import SimulationResult
    r = SimulationResult(job="j", clients=["a"], rounds=[{"round": 0, "loss": 1.0, "accuracy": 0.1}], registration=True,
                         intruders={"none": {"joined": True, "receivedMessages": False}},
                         tunnel_refusals={"no certificate": 0, "not signed by the registration CA": 2})
    assert simulation_json(r)["ok"] is False and json.dumps(simulation_json(r))
    text = "\n".join(l.text for l in simulation_lines(r))
    assert "intruder (no credential): JOINED" in text and "2 not signed by the registration CA" in text
