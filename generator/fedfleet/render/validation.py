"""The model quality gate of a Flower job, on its hub: what the run Job needs to evaluate the final
model and record the result (spec.validation; the gate itself is gate.py).

The gate runs inside the run Job's container (the job's app image), wrapping its `flwr run`: the
model arrives in that run's streamed log, so no other pod could see it. It records the result in a
ConfigMap `fedfleet-validation-<job>` in the job namespace, where Git-side tools (`fedfleet audit`,
the `validation.last-run` governance rule) read it. The run Job runs in flower-system (it needs the
Flower CA there), so a ServiceAccount there is granted, by a Role and RoleBinding in the job
namespace, only that ConfigMap: `get` and `patch` by name, and `create`, which Kubernetes RBAC
cannot narrow by name (resourceNames does not apply to create; kubernetes.io/docs/reference/
access-authn-authz/rbac/#referring-to-resources); a server-side apply of a missing object is
authorised as create.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..spec.model import Job
from ..upstream import SUPERLINK_NAMESPACE
from .common import WAVE_CONFIG, meta, obj

GATE_DIR = "/opt/fedfleet"
TOKEN_DIR = "/var/run/secrets/fedfleet"
RESULT_LABEL = "fedfleet.io/validation"
GATE_SOURCE = Path(__file__).with_name("gate.py")


def result_configmap(job: Job) -> str:
    """The ConfigMap in the job namespace holding the job's last validation (written by the gate)."""
    return f"fedfleet-validation-{job.name}"


def gate_account(job: Job) -> str:
    return f"fedfleet-gate-{job.name}"


def gate_config(job: Job, app_dir: str, work_dir: str) -> dict[str, Any]:
    gate = job.gate
    thresholds = {k: gate[k] for k in ("minAccuracy", "minPerClassRecall", "maxRegression") if k in gate}
    return {
        "job": job.name, "run": job.object_name, "namespace": job.namespace, "configMap": result_configmap(job),
        "data": gate["data"], "metrics": list(gate["metrics"]), "thresholds": thresholds,
        "evaluator": list(gate["evaluator"]), "appDir": app_dir, "workDir": work_dir,
        "tokenDir": TOKEN_DIR, "apiServer": "https://kubernetes.default.svc",
    }


def gate_files(job: Job, app_dir: str, work_dir: str) -> dict[str, str]:
    """ConfigMap data keys of the run Job's ConfigMap: the gate script and its settings."""
    return {"gate.py": GATE_SOURCE.read_text(encoding="utf-8"),
            "gate.json": json.dumps(gate_config(job, app_dir, work_dir), indent=2, sort_keys=True) + "\n"}


def wrap_run(job: Job, config_map: str, pod: dict[str, Any], container: dict[str, Any]) -> None:
    """Make the run Job's container run `flwr run` through the gate, with the token to record it.

    `python` is the image's: Flower's images (and the controller's app image built FROM
    flwr/superexec) put the venv /python/venv/bin first on PATH (adap/flower
    framework/docker/base/ubuntu/Dockerfile), which has `python` and `flwr`; they run as user
    `app`, so the gate writes only below the emptyDir FLWR_HOME."""
    container["command"] = ["python", f"{GATE_DIR}/gate.py", f"{GATE_DIR}/gate.json", "--", *container["command"]]
    container["volumeMounts"] += [{"name": "gate", "mountPath": GATE_DIR, "readOnly": True},
                                  {"name": "gate-token", "mountPath": TOKEN_DIR, "readOnly": True}]
    pod["serviceAccountName"] = gate_account(job)
    # Only the gate's own projected token, at a path of its own: nothing else in the pod talks to the API.
    pod["automountServiceAccountToken"] = False
    pod["volumes"] += [
        {"name": "gate", "configMap": {"name": config_map, "items": [{"key": "gate.py", "path": "gate.py"},
                                                                      {"key": "gate.json", "path": "gate.json"}]}},
        {"name": "gate-token", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}},
    ]


def gate_rbac(job: Job, labels: dict[str, str]) -> list[dict[str, Any]]:
    name, cm = gate_account(job), result_configmap(job)
    rbac = "rbac.authorization.k8s.io"
    return [
        obj("v1", "ServiceAccount", meta(name, SUPERLINK_NAMESPACE, wave=WAVE_CONFIG, labels=labels),
            automountServiceAccountToken=False),
        obj(f"{rbac}/v1", "Role", meta(name, job.namespace, wave=WAVE_CONFIG, labels=labels), rules=[
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [cm], "verbs": ["get", "patch"]}]),
        obj(f"{rbac}/v1", "RoleBinding", meta(name, job.namespace, wave=WAVE_CONFIG, labels=labels),
            roleRef={"apiGroup": rbac, "kind": "Role", "name": name},
            subjects=[{"kind": "ServiceAccount", "name": name, "namespace": SUPERLINK_NAMESPACE}]),
    ]
