"""fedfleet's model quality gate: the run Job's command on the hub, and the preview's.

    python gate.py GATE.json -- flwr run /app <connection> --stream --run-config ...

Runs `flwr run` (the run Job's own command) and passes its output through; takes the final model
the ServerApp hands over in its streamed log (a `fedfleet-model <base64>` line: the FL controller's
ServerApp Deployment has no volume, serverapp-deployment.yaml); evaluates it with the app's own
evaluator (GATE.json `evaluator`, run in `appDir`) on the job's validation data; decides against
the thresholds and the last passed run's accuracy; prints one `fedfleet-validation {json}` line;
and, when a ServiceAccount token is mounted at `tokenDir`, server-side applies the job's
validation ConfigMap in the job namespace. `render/validation.py` ships this file in a ConfigMap;
it runs in the app image, so it uses the standard library only.

Exit code: that of `flwr run` when it fails (the Job retries the run); 1 when the result could not
be recorded on the hub; else 0, a failed verdict included: the verdict is data (the ConfigMap, the
audit, the governance rule), and retrying a finished training would not change it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MODEL_LINE = re.compile(r"fedfleet-model ([A-Za-z0-9+/=]+)")
RUN_ID = re.compile(r"started run (\d+)")
RESULT_PREFIX = "fedfleet-validation "
FIELD_MANAGER = "fedfleet-gate"


def decide(gate: dict[str, Any], metrics: dict[str, Any], previous: dict[str, str] | None) -> tuple[str, list[str], float | None]:
    """The verdict, every reason it failed, and the accuracy it was compared with (the last passed
    run's, carried in the ConfigMap as lastPassedAccuracy)."""
    reasons: list[str] = []
    accuracy = float(metrics.get("accuracy", 0.0))
    if "minAccuracy" in gate and accuracy < gate["minAccuracy"]:
        reasons.append(f"accuracy {accuracy:.4f} < minAccuracy {gate['minAccuracy']}")
    if "minPerClassRecall" in gate:
        for cls, recall in sorted(metrics.get("perClassRecall", {}).items(), key=lambda kv: _class_key(kv[0])):
            if float(recall) < gate["minPerClassRecall"]:
                reasons.append(f"class {cls} recall {float(recall):.4f} < minPerClassRecall {gate['minPerClassRecall']}")
        if not metrics.get("perClassRecall"):
            reasons.append("the evaluator reported no per-class recall")
    baseline = None
    if previous:
        last = previous.get("lastPassedAccuracy") or ""
        baseline = float(last) if last else None
    if "maxRegression" in gate and baseline is not None and baseline - accuracy > gate["maxRegression"]:
        reasons.append(f"accuracy {accuracy:.4f} regressed {baseline - accuracy:.4f} from the last passed run's "
                       f"{baseline:.4f} (maxRegression {gate['maxRegression']})")
    return ("failed" if reasons else "passed"), reasons, baseline


def _class_key(name: str) -> tuple[int, Any]:
    return (0, int(name)) if name.isdigit() else (1, name)


def configmap(gate: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The job's validation ConfigMap: flat string values (ConfigMap data), JSON where nested."""
    data = {
        "job": gate["job"], "run": gate["run"], "runId": str(result.get("runId") or ""),
        "verdict": result["verdict"], "reasons": json.dumps(result["reasons"]),
        "modelDigest": result.get("modelDigest") or "", "data": gate["data"],
        "accuracy": "" if result.get("accuracy") is None else f"{result['accuracy']:.6f}",
        "perClassRecall": json.dumps(result.get("perClassRecall") or {}, sort_keys=True),
        "samples": str(result.get("samples") or 0),
        "thresholds": json.dumps(gate["thresholds"], sort_keys=True),
        "lastPassedAccuracy": result.get("lastPassedAccuracy") or "",
        "completedAt": result["completedAt"],
    }
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": gate["configMap"], "namespace": gate["namespace"],
                         "labels": {"app.kubernetes.io/managed-by": "fedfleet", "fedfleet.io/job": gate["job"],
                                    "fedfleet.io/validation": "result"}},
            "data": data}


class Hub:
    """The job namespace's validation ConfigMap through the API server, with the mounted token."""

    def __init__(self, token_dir: Path, server: str) -> None:
        self.token = (token_dir / "token").read_text().strip()
        # The API server's CA (kube-root-ca.crt); an http:// server (a test's) needs none.
        self.ctx = ssl.create_default_context(cafile=str(token_dir / "ca.crt")) if server.startswith("https:") else None
        self.server = server

    def _call(self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json") -> Any:
        req = urllib.request.Request(self.server + path, data=body, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": ctype,
                                              "Accept": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
            return json.loads(resp.read())

    def get(self, ns: str, name: str) -> dict[str, str] | None:
        try:
            return dict(self._call("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}").get("data") or {})
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def apply(self, cm: dict[str, Any]) -> None:
        md = cm["metadata"]
        self._call("PATCH", f"/api/v1/namespaces/{md['namespace']}/configmaps/{md['name']}"
                   f"?fieldManager={FIELD_MANAGER}&force=true", json.dumps(cm).encode(), "application/apply-patch+yaml")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: gate.py GATE.json -- flwr run ...", file=sys.stderr)
        return 2
    gate = json.loads(Path(argv[0]).read_text())
    hub = None
    token_dir = Path(gate["tokenDir"])
    if (token_dir / "token").is_file():
        hub = Hub(token_dir, gate["apiServer"])
    # Read before the run: this run's result replaces it.
    previous = hub.get(gate["namespace"], gate["configMap"]) if hub else None

    proc = subprocess.Popen(argv[2:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    model_b64, run_id = None, None
    assert proc.stdout is not None
    for line in proc.stdout:
        found = MODEL_LINE.search(line)
        if found:
            model_b64 = found.group(1)
            line = line[:found.start()] + f"fedfleet-model ({len(model_b64)} base64 characters, taken by the gate)\n"
        rid = RUN_ID.search(line)
        if rid:
            run_id = rid.group(1)
        sys.stdout.write(line)
        sys.stdout.flush()
    code = proc.wait()
    if code != 0:
        return code

    result: dict[str, Any] = {"runId": run_id, "completedAt": datetime.datetime.now(datetime.timezone.utc)
                              .strftime("%Y-%m-%dT%H:%M:%SZ")}
    metrics: dict[str, Any] = {}
    reasons: list[str] = []
    if model_b64 is None:
        reasons.append("the ServerApp handed over no model (no fedfleet-model line in the run's log)")
    else:
        model = base64.b64decode(model_b64)
        result["modelDigest"] = "sha256:" + hashlib.sha256(model).hexdigest()
        work = Path(gate["workDir"])
        work.mkdir(parents=True, exist_ok=True)
        (work / "model").write_bytes(model)
        ev = subprocess.run([*gate["evaluator"], "--model", str(work / "model"), "--data", gate["data"]],
                            cwd=gate["appDir"], capture_output=True, text=True)
        try:
            if ev.returncode != 0:
                raise ValueError(f"exit {ev.returncode}: {ev.stderr.strip()[-500:]}")
            metrics = json.loads(ev.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            reasons.append(f"the evaluator failed: {exc}")
    if not reasons:
        verdict, reasons, baseline = decide(gate["thresholds"], metrics, previous)
    else:
        verdict, baseline = "failed", None
    keep = [m for m in gate["metrics"]]
    result.update({
        "verdict": verdict, "reasons": reasons, "accuracy": metrics.get("accuracy") if "accuracy" in keep else None,
        "perClassRecall": metrics.get("perClassRecall") if "perClassRecall" in keep else None,
        "samples": metrics.get("samples"),
        "previousAccuracy": baseline,
        # What the next run compares with: this run's accuracy if it passed, else the last passed one.
        "lastPassedAccuracy": (f"{metrics['accuracy']:.6f}" if verdict == "passed" and "accuracy" in metrics
                               else (previous or {}).get("lastPassedAccuracy", "")),
    })
    cm = configmap(gate, result)
    print(RESULT_PREFIX + json.dumps({**result, "thresholds": gate["thresholds"], "job": gate["job"],
                                      "run": gate["run"], "configMap": f"{gate['namespace']}/{gate['configMap']}",
                                      "recorded": hub is not None}), flush=True)
    if hub is not None:
        try:
            hub.apply(cm)
        except (urllib.error.URLError, OSError) as exc:
            print(f"fedfleet-gate: could not record {gate['namespace']}/{gate['configMap']}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
