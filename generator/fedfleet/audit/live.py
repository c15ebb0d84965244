"""The live audit: read one hub through the official kubernetes client, then merge with the repo.

The boundary is three list calls on custom resources; no Argo CD API token is needed because
Applications are custom resources on the hub:
- root `Policy` objects in the governance namespace (their status lists each cluster's compliance);
- Argo CD `Application`s in the hub's Argo CD namespace (status.sync.status, status.health.status);
- `FederatedLearning` resources in every namespace (status.phase, status.message);
- for hubs with Flower jobs, the batch Jobs in the SuperLink namespace: each Flower job's run Job
  `flwr-run-<job>` (render/flower.py) is what fedfleet calls its completion, since the controller
  leaves a Flower FederatedLearning Running;
and, for what Argo CD shows (audit/health.py), the `Placement`s, `ClusterManagementAddOn`s and
`ManagedClusterAddOn`s the bundle causes; and, per namespace of a job with a quality gate, the
ConfigMaps the gate records (label fedfleet.io/validation=result, render/validation.py).
The `flower-addon` ManagedClusterAddOns also say whether each Flower client holds its per-cluster
registration credential (`registration_state`, the registration.addon rule).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..findings import Finding, InputError, Location
from ..kube import Timeouts, api_client, describe_failure
from ..render.argocd import app_name
from ..render.flower import run_job_name
from ..render.health import assess
from ..render.validation import RESULT_LABEL, result_configmap
from ..spec.model import Fleet, Hub
from ..placement import Plan
from ..upstream import ADDON_NAME, FLOWER_SIGNER, SUPERLINK_NAMESPACE
from .health import disagreements, verdicts
from .model import AuditReport, LiveFinding

POLICY = ("policy.open-cluster-management.io", "v1", "policies")
APPLICATION = ("argoproj.io", "v1alpha1", "applications")
FEDERATED_LEARNING = ("federation-ai.open-cluster-management.io", "v1alpha1", "federatedlearnings")
PLACEMENT = ("cluster.open-cluster-management.io", "v1beta1", "placements")
CLUSTER_MANAGEMENT_ADDON = ("addon.open-cluster-management.io", "v1alpha1", "clustermanagementaddons")
MANAGED_CLUSTER_ADDON = ("addon.open-cluster-management.io", "v1alpha1", "managedclusteraddons")


@dataclass
class HubState:
    hub: str
    policies: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)
    addons: list[dict[str, Any]] = field(default_factory=list)  # ClusterManagementAddOns and ManagedClusterAddOns
    missing_apis: list[str] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)  # the gate's result ConfigMaps
    run_jobs: list[dict[str, Any]] = field(default_factory=list)  # batch/v1 Jobs in the SuperLink namespace


def flower_run_state(job: dict[str, Any] | None) -> str:
    """A Flower run from its batch Job: Completed when it succeeded, Failed when the Job controller
    gave up (condition Failed, e.g. backoffLimit exceeded), else Running (kubernetes
    pkg/controller/job/job_controller.go sets the Complete/Failed conditions; status.succeeded
    counts succeeded pods). No Job: missing."""
    if job is None:
        return "missing"
    status = job.get("status") or {}
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or [] if isinstance(c, dict)}
    if conditions.get("Failed") == "True":
        return "Failed"
    if conditions.get("Complete") == "True" or (status.get("succeeded") or 0) > 0:
        return "Completed"
    return "Running"


def _bad(message: str, where: str = "") -> InputError:
    return InputError([Finding("audit", message, location=Location(where) if where else None)])


def pick_hub(fleet: Fleet, kubeconfig: Path, context: str | None, hub_name: str | None,
             verb: str = "audit") -> tuple[Hub, str | None]:
    """Which hub the kubeconfig context points at: --hub, else the server URL, else the name.
    `verb` labels the errors: doctor and inventory pick their hub here too."""
    from kubernetes import config

    def _bad(message: str, where: str = "") -> InputError:
        return InputError([Finding(verb, message, location=Location(where) if where else None)])

    try:
        contexts, current = config.list_kube_config_contexts(config_file=str(kubeconfig))
        raw = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    except Exception as exc:
        raise _bad(f"cannot read kubeconfig: {exc}", str(kubeconfig)) from None
    chosen = next((c for c in contexts if c["name"] == context), None) if context else current
    if chosen is None:
        raise _bad(f"kubeconfig has no context {context!r}", str(kubeconfig))
    hubs = {h.name: h for h in fleet.hubs}
    if hub_name:
        if hub_name not in hubs:
            raise _bad(f"the fleet has no hub {hub_name!r}; the hubs are: {', '.join(sorted(hubs))}")
        return hubs[hub_name], chosen["name"]
    cluster = chosen["context"].get("cluster")
    server = next((c["cluster"].get("server") for c in raw.get("clusters", []) if c.get("name") == cluster), None)
    by_server = [h for h in fleet.hubs if server and h.server.rstrip("/") == str(server).rstrip("/")]
    if by_server:
        return by_server[0], chosen["name"]
    if chosen["name"] in hubs:
        return hubs[chosen["name"]], chosen["name"]
    raise _bad(f"context {chosen['name']!r} (server {server}) matches no hub of the fleet; name one with --hub")


def read_hub(fleet: Fleet, hub: Hub, kubeconfig: Path, context: str | None, timeouts: Timeouts = Timeouts()) -> HubState:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        api_client_, server = api_client(kubeconfig, context)
    except ValueError as exc:
        raise _bad(f"cannot use kubeconfig: {exc}", str(kubeconfig)) from None
    api = client.CustomObjectsApi(api_client_)
    state = HubState(hub.name)

    def listing(resource: tuple[str, str, str], namespace: str | None) -> list[dict[str, Any]]:
        group, version, plural = resource
        try:
            if namespace:
                body = api.list_namespaced_custom_object(group, version, namespace, plural,
                                                         _request_timeout=timeouts.request)
            else:
                body = api.list_cluster_custom_object(group, version, plural, _request_timeout=timeouts.request)
        except ApiException as exc:
            if exc.status == 404:
                state.missing_apis.append(f"{plural}.{group}")
                return []
            raise _bad(describe_failure(exc, f"listing {plural}.{group} on hub {hub.name} ({server})", timeouts)
                       or str(exc)) from None
        except Exception as exc:
            message = describe_failure(exc, f"listing {plural}.{group} on hub {hub.name} ({server})", timeouts)
            if message is None:
                raise
            raise _bad(message) from None
        items = body.get("items", []) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _bad(f"malformed answer listing {plural}.{group} on hub {hub.name} ({server}): not a list of objects")
        return items

    try:
        state.policies = listing(POLICY, fleet.governance_namespace)
        state.applications = listing(APPLICATION, hub.argocd_namespace)
        state.jobs = listing(FEDERATED_LEARNING, None)
        state.placements = listing(PLACEMENT, None)
        state.addons = listing(CLUSTER_MANAGEMENT_ADDON, None) + listing(MANAGED_CLUSTER_ADDON, None)
        core = client.CoreV1Api(api_client_)
        # One namespaced list per gated job namespace: the audit needs no cluster-wide ConfigMap read.
        for ns in sorted({j.namespace for j in fleet.jobs_on(hub.name) if j.validation}):
            try:
                body = core.list_namespaced_config_map(ns, label_selector=f"{RESULT_LABEL}=result",
                                                       _request_timeout=timeouts.request)
            except ApiException as exc:
                if exc.status == 404:
                    continue  # the namespace is not there yet: nothing recorded
                raise _bad(describe_failure(exc, f"listing configmaps in {ns} on hub {hub.name} ({server})", timeouts)
                           or str(exc)) from None
            except Exception as exc:
                message = describe_failure(exc, f"listing configmaps in {ns} on hub {hub.name} ({server})", timeouts)
                if message is None:
                    raise
                raise _bad(message) from None
            state.validations += [api_client_.sanitize_for_serialization(i) for i in body.items or []]
        if any(j.framework == "flower" for j in fleet.jobs_on(hub.name)):
            batch = client.BatchV1Api(api_client_)
            where = f"listing jobs.batch in {SUPERLINK_NAMESPACE} on hub {hub.name} ({server})"
            try:
                body = batch.list_namespaced_job(SUPERLINK_NAMESPACE, _request_timeout=timeouts.request)
            except ApiException as exc:
                if exc.status != 404:  # 404: the namespace is not there yet, no run Job
                    raise _bad(describe_failure(exc, where, timeouts) or str(exc)) from None
                body = None
            except Exception as exc:
                message = describe_failure(exc, where, timeouts)
                if message is None:
                    raise
                raise _bad(message) from None
            if body is not None:
                state.run_jobs = [api_client_.sanitize_for_serialization(i) for i in body.items or []]
    finally:
        api_client_.close()
    return state


def merge(report: AuditReport, fleet: Fleet, state: HubState, plan: Plan | None = None) -> None:
    """Expected (repo) against actual (hub): missing or NonCompliant policies, unsynced
    Applications, jobs stuck or failed, Flower clients without a registration credential (with
    the plan). Adds findings; the report's exit code follows."""
    hub = state.hub
    report.live_hubs.append(hub)
    out = report.live_findings
    for api in state.missing_apis:
        out.append(LiveFinding(hub, "api", api, f"the hub does not serve {api}"))
    on_hub = {p["metadata"]["name"]: p for p in state.policies}
    expected = {p.name for c in report.controls for p in c.policies if p.hub == hub}
    for group in report.controls:
        for entry in group.policies:
            if entry.hub != hub:
                continue
            live = on_hub.get(entry.name)
            if live is None:
                entry.live_status = "missing on hub"
                continue
            status = live.get("status", {})
            entry.live_clusters = {s.get("clustername", "?"): s.get("compliant", "Pending") for s in status.get("status", [])}
            entry.live_status = status.get("compliant") or "Pending"
            entry.argo_health = assess(live)
    for name in sorted(expected):
        live = on_hub.get(name)
        if live is None:
            out.append(LiveFinding(hub, "policy", name, "in the repo but not on the hub (Argo CD has not synced it)"))
            continue
        bad = sorted(c for c, v in ((s.get("clustername"), s.get("compliant")) for s in live.get("status", {}).get("status", []))
                     if v == "NonCompliant")
        if bad:
            # a compliance finding either way; what Argo CD shows follows the inform/enforce rule
            action = str(live.get("spec", {}).get("remediationAction") or "per template").lower()
            argo = assess(live)
            out.append(LiveFinding(hub, "policy", name, f"NonCompliant on {', '.join(bad)}"
                                   + (f" ({action}: Argo CD {argo.status})" if argo else "")))
    for name in sorted(set(on_hub) - expected):
        labels = on_hub[name]["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/managed-by") == "fedfleet":
            out.append(LiveFinding(hub, "policy", name, "on the hub but no longer in the repo (Argo CD has not pruned it)"))
    wanted = fleet.hub(hub)
    apps = {a["metadata"]["name"]: a for a in state.applications}
    app = apps.get(app_name(wanted))
    if app is None:
        out.append(LiveFinding(hub, "application", app_name(wanted), "the Argo CD Application is missing: bootstrap the hub"))
    else:
        sync = app.get("status", {}).get("sync", {}).get("status", "Unknown")
        health = app.get("status", {}).get("health", {}).get("status", "Unknown")
        if sync != "Synced":
            revision = app.get("status", {}).get("sync", {}).get("revision", "")
            out.append(LiveFinding(hub, "application", app_name(wanted), f"sync status {sync}" + (f" at {revision[:12]}" if revision else "")))
        if health != "Healthy":
            out.append(LiveFinding(hub, "application", app_name(wanted), f"health {health}"))
    jobs_live = {(j["metadata"].get("namespace"), j["metadata"]["name"]): j for j in state.jobs}
    summary = []
    runs = {j["metadata"]["name"]: j for j in state.run_jobs if j.get("metadata", {}).get("namespace", SUPERLINK_NAMESPACE) == SUPERLINK_NAMESPACE}
    for job in fleet.jobs_on(hub):
        live = jobs_live.get((job.namespace, job.object_name))
        if live is None:
            out.append(LiveFinding(hub, "job", job.name, "the FederatedLearning resource is not on the hub"))
            summary.append({"job": job.name, "phase": "missing"})
            continue
        phase = live.get("status", {}).get("phase", "Unknown")
        message = live.get("status", {}).get("message", "")
        argo = assess(live)
        entry = {"job": job.name, "phase": phase, "message": message, "argoHealth": argo.as_dict() if argo else None}
        if job.framework == "flower":
            # The controller's phase stays Running for Flower; the run Job says how the run ended.
            run_name = run_job_name(job)
            run = flower_run_state(runs.get(run_name))
            entry["flowerRun"] = {"job": f"{SUPERLINK_NAMESPACE}/{run_name}", "state": run}
            if run in ("Failed", "missing"):
                out.append(LiveFinding(hub, "job", job.name, f"Flower run Job {SUPERLINK_NAMESPACE}/{run_name} "
                                       + ("Failed" if run == "Failed" else "is not on the hub")))
        summary.append(entry)
        if phase in ("Waiting", "Failed", "Unknown", "Start") or (argo and argo.status in ("Degraded", "Unknown")):
            verb = {"Waiting": "stuck in Waiting", "Failed": "Failed"}.get(phase, f"in phase {phase}")
            text = verb + (f": {message}" if message else "")
            if phase == "Completed" and argo:
                text = argo.message  # the validation verdict
            out.append(LiveFinding(hub, "job", job.name, text + (f" (Argo CD: {argo.status})" if argo else "")))
    report.validations += _validations(fleet, state, out)
    registrations = _registrations(fleet, plan, state, out) if plan is not None else []
    # What Argo CD shows for the placements and add-ons the bundle causes (audit/health.py).
    jobs_here = {(j.namespace, j.name) for j in fleet.jobs_on(hub)}
    caused = [p for p in state.placements
              if (p["metadata"].get("namespace"), p["metadata"]["name"]) in jobs_here
              or (p["metadata"].get("namespace") == fleet.governance_namespace
                  and p["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "fedfleet")]
    caused += [a for a in state.addons if a["metadata"]["name"] == ADDON_NAME]
    shown = verdicts(caused)
    for v in shown:
        if v.health.status != "Healthy":
            out.append(LiveFinding(hub, "health", v.label, f"Argo CD {v.health.status}: {v.health.message}"))
    everything = verdicts(state.policies) + verdicts(state.jobs) + shown
    if app is not None:
        out.extend(disagreements(hub, app_name(wanted), app, everything))
    report.live_objects[hub] = {
        "applications": [{"name": n, "sync": a.get("status", {}).get("sync", {}).get("status"),
                          "health": a.get("status", {}).get("health", {}).get("status")} for n, a in sorted(apps.items())],
        "jobs": summary,
        "argoHealth": [v.as_dict() for v in everything],
        "registrations": registrations,
    }


# What the klusterlet writes in condition ClusterCertificateRotated after a rotation (ocm
# pkg/registration/register/csr/csr.go Process: "client certificate rotated starting from %v to %v",
# Go's time.Time String()).
_ROTATED = re.compile(r"rotated starting from (.+?) to (.+?)$")


def registration_state(addon: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """A client's registration credential as the hub records it: "" when the flower-addon is
    registered for FLOWER_SIGNER with RegistrationApplied and ClusterCertificateRotated True, else
    what is wrong. The same judgement as the `registration.addon` policy and its Rego twin
    (governance/builtin/registration.py, rego/registration.rego), in their order."""
    if addon is None:
        return "has no flower-addon ManagedClusterAddOn: no registration credential", {}
    status = addon.get("status") or {}
    signers = [r.get("signerName", "") for r in status.get("registrations") or [] if isinstance(r, dict)]
    conditions = {c.get("type"): c for c in status.get("conditions") or [] if isinstance(c, dict)}
    rotated = conditions.get("ClusterCertificateRotated") or {}
    window = _ROTATED.search(str(rotated.get("message", ""))) if rotated.get("status") == "True" else None
    facts = {"signers": signers, "registrationApplied": (conditions.get("RegistrationApplied") or {}).get("status"),
             "rotated": rotated.get("status"), "validFrom": window.group(1) if window else None,
             "validUntil": window.group(2) if window else None}
    if FLOWER_SIGNER not in signers:
        other = f" (registered for {', '.join(signers)})" if signers else ""
        return f"has no registration for signer {FLOWER_SIGNER}{other}", facts
    if facts["registrationApplied"] != "True":
        return "has no RegistrationApplied=True condition", facts
    if rotated.get("status") != "True":
        return f"has no ClusterCertificateRotated=True condition ({rotated.get('message') or 'never reported'})", facts
    return "", facts


def _registrations(fleet: Fleet, plan: Plan, state: HubState, out: list[LiveFinding]) -> list[dict[str, Any]]:
    """Each planned client of each Flower job: its flower-addon's registration as recorded."""
    addons = {a["metadata"].get("namespace"): a for a in state.addons
              if a.get("kind", "ManagedClusterAddOn") == "ManagedClusterAddOn" and a["metadata"].get("namespace")
              and a["metadata"]["name"] == ADDON_NAME}
    entries = []
    for job in fleet.jobs_on(state.hub):
        if job.framework != "flower":
            continue
        for cluster in sorted(plan.clusters_of(job.name)):
            problem, facts = registration_state(addons.get(cluster))
            entries.append({"job": job.name, "cluster": cluster, "registered": not problem,
                            **({"problem": problem} if problem else {}), **facts})
            if problem:
                out.append(LiveFinding(state.hub, "registration", cluster,
                                       f"the flower-addon of {cluster} (job {job.name}) {problem}"))
    return entries


def validation_entry(hub: str, job_name: str, gate: dict[str, Any], data: dict[str, str] | None) -> dict[str, Any]:
    """One job's last validation as the audit reports it, from the gate's ConfigMap data."""
    entry: dict[str, Any] = {"hub": hub, "job": job_name, "recorded": data is not None,
                             "thresholds": {k: gate[k] for k in ("minAccuracy", "minPerClassRecall", "maxRegression")
                                            if k in gate}}
    if data is None:
        return entry

    def number(text: str | None) -> float | None:
        try:
            return float(text) if text else None
        except ValueError:
            return None

    def parsed(text: str | None, default: Any) -> Any:
        try:
            return json.loads(text) if text else default
        except ValueError:
            return default

    recall = parsed(data.get("perClassRecall"), {})
    entry.update({
        "run": data.get("run", ""), "runId": data.get("runId", ""), "verdict": data.get("verdict", "unknown"),
        "reasons": parsed(data.get("reasons"), []), "accuracy": number(data.get("accuracy")),
        "perClassRecall": {str(k): float(v) for k, v in recall.items()} if isinstance(recall, dict) else {},
        "samples": int(number(data.get("samples")) or 0), "modelDigest": data.get("modelDigest", ""),
        "completedAt": data.get("completedAt", ""), "data": data.get("data", ""),
        "recordedThresholds": parsed(data.get("thresholds"), {}),
    })
    return entry


def _validations(fleet: Fleet, state: HubState, out: list[LiveFinding]) -> list[dict[str, Any]]:
    recorded = {(c["metadata"].get("namespace"), c["metadata"]["name"]): c.get("data") or {} for c in state.validations}
    entries = []
    for job in fleet.jobs_on(state.hub):
        if not job.validation:
            continue
        entry = validation_entry(state.hub, job.name, job.gate, recorded.get((job.namespace, result_configmap(job))))
        entries.append(entry)
        if entry["recorded"] and entry["verdict"] != "passed":
            # The `validation.last-run` rule's verdict (its policy on the hub and its Rego twin say the same).
            out.append(LiveFinding(state.hub, "validation", job.name,
                                   f"the last run ({entry['run']}) failed its quality gate: " + "; ".join(entry["reasons"])))
        elif entry["recorded"] and entry["run"] != job.object_name:
            entry["stale"] = True  # the result is of an earlier run; this run has not finished yet
    return entries
