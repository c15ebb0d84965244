"""The model quality gate (spec.validation): the spec's checks, what the bundle ships for it, the
gate script itself against a local API server, and the live audit's view of recorded results.

The federation runs (the example meets its gate; a stricter threshold fails the preview) are in
tests/test_simulate.py, marked `flower`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO, line_of
from fake_hub import FakeHub
from fedfleet import pipeline
from fedfleet.checks.rego import EmbeddedEngine, build_input, plugin_modules
from fedfleet.governance.builtin import rego_module

APP = REPO / "examples" / "flower-digits"
JOB = Path("specs/jobs/mnist-eu.yaml")
GATE = REPO / "generator/fedfleet/render/gate.py"


def _edit(old: str, new: str) -> None:
    text = JOB.read_text()
    assert old in text
    JOB.write_text(text.replace(old, new))


# --- spec -------------------------------------------------------------------------------------

def test_a_threshold_out_of_range_is_bad_input_at_its_line(fleet_repo: Path, run) -> None:
    _edit("minAccuracy: 0.9", "minAccuracy: 1.5")
    result = run("generate")
    assert result.code == 2 and not (fleet_repo / "overlays").exists()
    assert f"mnist-eu.yaml:{line_of(JOB, 'minAccuracy: 1.5')}:" in result.err
    assert "spec.validation.minAccuracy" in result.err


def test_a_threshold_needs_its_metric_and_the_gate_a_threshold(fleet_repo: Path, run) -> None:
    _edit("metrics: [accuracy, perClassRecall]", "metrics: [accuracy]")
    result = run("generate")
    assert result.code == 2
    assert f"mnist-eu.yaml:{line_of(JOB, 'minPerClassRecall:')}:" in result.err
    assert "minPerClassRecall needs metric 'perClassRecall'" in result.err
    text = JOB.read_text()
    for key in ("minAccuracy: 0.9", "minPerClassRecall: 0.8", "maxRegression: 0.02"):
        text = "\n".join(line for line in text.splitlines() if key not in line) + "\n"
    JOB.write_text(text)
    assert "the gate could never fail" in run("generate").err


def test_flower_gate_data_must_be_the_held_out_split(fleet_repo: Path, run) -> None:
    _edit("data: heldout", "data: /data/models/eval.npz")
    result = run("generate")
    assert result.code == 2 and f"mnist-eu.yaml:{line_of(JOB, 'data: /data/models/eval.npz')}:" in result.err
    assert "cannot mount the job namespace's model storage" in result.err


# --- the bundle -------------------------------------------------------------------------------

def _objects(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_the_run_job_runs_flwr_through_the_gate_with_a_token_for_one_configmap(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    objs = _objects(fleet_repo / "overlays/hub-prod/flower/mnist-eu.yaml")
    job = next(o for o in objs if o["kind"] == "Job")
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["command"][:5] == ["python", "/opt/fedfleet/gate.py", "/opt/fedfleet/gate.json", "--", "flwr"]
    assert c["args"][:2] == ["run", "/app"] and "--stream" in c["args"]
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "fedfleet-gate-mnist-eu"
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == job["metadata"]["name"])
    assert cm["data"]["gate.py"] == GATE.read_text()
    settings = json.loads(cm["data"]["gate.json"])
    assert settings["namespace"] == "fl-mnist" and settings["configMap"] == "fedfleet-validation-mnist-eu"
    assert settings["thresholds"] == {"minAccuracy": 0.9, "minPerClassRecall": 0.8, "maxRegression": 0.02}
    assert settings["evaluator"] == ["python", "-m", "flower_digits.evaluate"]
    role = next(o for o in objs if o["kind"] == "Role")
    assert role["metadata"]["namespace"] == "fl-mnist"
    named = [r for r in role["rules"] if r.get("resourceNames")]
    assert named == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["fedfleet-validation-mnist-eu"],
                      "verbs": ["get", "patch"]}]
    unnamed = [r for r in role["rules"] if not r.get("resourceNames")]
    assert unnamed == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]
    binding = next(o for o in objs if o["kind"] == "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "fedfleet-gate-mnist-eu", "namespace": "flower-system"}]
    # a job without a gate keeps the plain `flwr run`
    dev = _objects(fleet_repo / "overlays/hub-dev/flower/digits-dev.yaml")
    assert next(o for o in dev if o["kind"] == "Job")["spec"]["template"]["spec"]["containers"][0]["command"] == ["flwr"]


# --- the gate script --------------------------------------------------------------------------

def _model(epochs: int) -> str:
    """A model of the example app in its hand-over format (base64 of task.save_model)."""
    code = ("import base64,sys; from flower_digits.task import *; X,y,_,_=load_split(); "
            f"p,_=train(initial_parameters(),X,y,{epochs},0.5,32); sys.stdout.write(base64.b64encode(save_model(p)).decode())")
    return subprocess.run([sys.executable, "-c", code], cwd=APP, capture_output=True, text=True, check=True).stdout


class FakeApi:
    """The two calls the gate makes (GET, and server-side apply PATCH of one ConfigMap) on 127.0.0.1."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] | None = None
        self.calls: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                api.calls.append(f"GET {self.path}")
                if api.stored is None:
                    self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
                else:
                    self._send(200, api.stored)

            def do_PATCH(self) -> None:
                api.calls.append(f"PATCH {self.path} {self.headers['Content-Type']} {self.headers['Authorization']}")
                api.stored = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                self._send(200, api.stored)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = FakeApi()
    yield server
    server.close()


def _gate(tmp_path: Path, api: FakeApi, model_b64: str, **thresholds: float) -> subprocess.CompletedProcess[str]:
    token = tmp_path / "token-dir"
    token.mkdir(exist_ok=True)
    (token / "token").write_text("gate-token")
    settings = {"job": "mnist-eu", "run": "mnist-eu", "namespace": "fl-mnist", "configMap": "fedfleet-validation-mnist-eu",
                "data": "heldout", "metrics": ["accuracy", "perClassRecall"], "thresholds": thresholds,
                "evaluator": [sys.executable, "-m", "flower_digits.evaluate"], "appDir": str(APP),
                "workDir": str(tmp_path / "work"), "tokenDir": str(token), "apiServer": api.url}
    (tmp_path / "gate.json").write_text(json.dumps(settings))
    # `flwr run --stream` stands in as a process printing what Flower and the ServerApp stream at the end.
    flwr = [sys.executable, "-c", f"print('Successfully started run 77'); print('fedfleet-model {model_b64}')"]
    return subprocess.run([sys.executable, str(GATE), str(tmp_path / "gate.json"), "--", *flwr],
                          capture_output=True, text=True, timeout=120)


def _result(out: str) -> dict[str, Any]:
    line = next(line for line in out.splitlines() if line.startswith("fedfleet-validation "))
    return json.loads(line.removeprefix("fedfleet-validation "))


def test_gate_records_the_verdict_and_compares_the_next_run_with_the_last_passed_one(tmp_path: Path, api: FakeApi) -> None:
    model = _model(5)
    good = _gate(tmp_path, api, model, minAccuracy=0.9, minPerClassRecall=0.8, maxRegression=0.02)
    assert good.returncode == 0, good.stderr
    first = _result(good.stdout)
    assert first["verdict"] == "passed" and first["runId"] == "77" and first["recorded"]
    assert sorted(first["perClassRecall"], key=int) == [str(d) for d in range(10)]
    assert first["modelDigest"] == "sha256:" + hashlib.sha256(base64.b64decode(model)).hexdigest()
    assert "taken by the gate" in good.stdout and model[:40] not in good.stdout, "the model is not echoed"
    assert api.calls[0] == "GET /api/v1/namespaces/fl-mnist/configmaps/fedfleet-validation-mnist-eu"
    assert api.calls[1] == ("PATCH /api/v1/namespaces/fl-mnist/configmaps/fedfleet-validation-mnist-eu"
                            "?fieldManager=fedfleet-gate&force=true application/apply-patch+yaml Bearer gate-token")
    cm = api.stored
    assert cm is not None and cm["data"]["verdict"] == "passed"
    assert cm["metadata"]["labels"]["fedfleet.io/validation"] == "result"
    passed_accuracy = float(cm["data"]["lastPassedAccuracy"])

    # A worse model (one epoch): it regresses from the recorded last passed accuracy, and classes fall short.
    worse = _gate(tmp_path, api, _model(1), minAccuracy=0.5, minPerClassRecall=0.95, maxRegression=0.01)
    assert worse.returncode == 0, "a failed verdict is data, not a failed Job (a retry would retrain)"
    second = _result(worse.stdout)
    assert second["verdict"] == "failed" and second["previousAccuracy"] == pytest.approx(passed_accuracy)
    assert any("regressed" in r for r in second["reasons"]) and any(r.startswith("class ") for r in second["reasons"])
    assert api.stored is not None and api.stored["data"]["verdict"] == "failed"
    assert api.stored["data"]["lastPassedAccuracy"] == f"{passed_accuracy:.6f}", "the baseline stays the last passed run"


def test_gate_without_a_model_fails_the_verdict_and_a_failed_run_is_the_jobs_exit(tmp_path: Path, api: FakeApi) -> None:
    (tmp_path / "gate.json").write_text(json.dumps({
        "job": "j", "run": "j", "namespace": "n", "configMap": "fedfleet-validation-j", "data": "heldout",
        "metrics": ["accuracy"], "thresholds": {"minAccuracy": 0.5}, "evaluator": ["false"], "appDir": str(tmp_path),
        "workDir": str(tmp_path / "w"), "tokenDir": str(tmp_path / "none"), "apiServer": api.url}))
    no_model = subprocess.run([sys.executable, str(GATE), str(tmp_path / "gate.json"), "--", "true"],
                              capture_output=True, text=True)
    assert no_model.returncode == 0 and _result(no_model.stdout)["verdict"] == "failed"
    assert "handed over no model" in _result(no_model.stdout)["reasons"][0]
    assert not _result(no_model.stdout)["recorded"] and api.calls == [], "no token: nothing is written anywhere"
    failed_run = subprocess.run([sys.executable, str(GATE), str(tmp_path / "gate.json"), "--", "sh", "-c", "exit 3"],
                                capture_output=True, text=True)
    assert failed_run.returncode == 3 and "fedfleet-validation" not in failed_run.stdout


# --- the live audit and the governance rule ---------------------------------------------------

FIXTURE = REPO / "tests/fixtures/hub-prod/configmaps-fl-mnist.json"


def _failed_body() -> dict[str, Any]:
    body = json.loads(FIXTURE.read_text())
    data = body["items"][0]["data"]
    data.update({"verdict": "failed", "accuracy": "0.871111",
                 "reasons": json.dumps(["accuracy 0.8711 < minAccuracy 0.9", "class 8 recall 0.6250 < minPerClassRecall 0.8"])})
    return body


def test_live_audit_shows_the_last_validation_per_class(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        report = json.loads(run("audit", "--kubeconfig", str(kubeconfig), "-o", "json").out)
        text = run("audit", "--kubeconfig", str(kubeconfig)).out
        html = run("audit", "--kubeconfig", str(kubeconfig), "-o", "html").out
        assert {"labelSelector": ["fedfleet.io/validation=result"]} in hub.queries
    [v] = report["validations"]
    assert v["job"] == "mnist-eu" and v["verdict"] == "passed" and v["recorded"]
    assert len(v["perClassRecall"]) == 10 and v["accuracy"] == pytest.approx(0.944444)
    assert not any(f["kind"] == "validation" for f in report["liveFindings"])
    assert "passed: accuracy 0.9444" in text and "8 0.88" in text
    assert 'aria-label="Per-class recall of mnist-eu"' in html and html.count("<title>class ") == 10


def test_a_failed_validation_is_a_live_finding_and_its_rego_twin_agrees(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.bodies["/api/v1/namespaces/fl-mnist/configmaps"] = _failed_body()
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        result = run("audit", "--kubeconfig", str(kubeconfig), "-o", "json")
        html = run("audit", "--kubeconfig", str(kubeconfig), "-o", "html").out
    report = json.loads(result.out)
    assert result.code == 1
    finding = next(f for f in report["liveFindings"] if f["kind"] == "validation")
    assert finding["name"] == "mnist-eu" and "class 8 recall 0.6250" in finding["message"]
    assert "FAILED" in html

    # The Rego twin over the same recorded results: breaking (failed) and passing (the fixture as recorded).
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    modules = [m for m in plugin_modules({"validation": rego_module("validation")}) if not m.name.endswith("_test.rego")]

    def twin(body: dict[str, Any]) -> list[Any]:
        data = build_input(rendered.fleet, rendered.plan, [])
        data["validations"] = [{"hub": "hub-prod", "namespace": i["metadata"]["namespace"], "name": i["metadata"]["name"],
                                "data": i["data"]} for i in body["items"]]
        return EmbeddedEngine().evaluate(modules, data).get("fedfleet.validation", {}).get("deny", [])

    denied = twin(_failed_body())
    assert [d["rule"] for d in denied] == ["validation.last-run"] and denied[0]["job"] == "mnist-eu"
    assert twin(json.loads(FIXTURE.read_text())) == []


def test_the_hub_policy_flags_a_recorded_failed_verdict(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    docs = _objects(fleet_repo / "overlays/hub-prod/governance/validation.yaml")
    policy = next(d for d in docs if d["kind"] == "Policy")
    assert policy["spec"]["remediationAction"] == "inform"
    assert policy["metadata"]["annotations"]["fedfleet.io/rule"] == "validation.last-run"
    [template] = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
    assert template["complianceType"] == "mustnothave"
    assert template["objectDefinition"]["metadata"] == {"name": "fedfleet-validation-mnist-eu", "namespace": "fl-mnist"}
    assert template["objectDefinition"]["data"] == {"verdict": "failed"}
