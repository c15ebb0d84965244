"""The FL controller's runtime contract, checked at PR time.

Each rule below is one the FederatedLearning controller enforces only once the object is on the
hub, where a violation leaves the job Waiting forever, Failed for good, or its server never made.
Read from open-cluster-management-io/addon-contrib at f5844b98e8e24a8677ca04a5a4bcff942ccde382,
paths under federated-learning-controller/. `RULES` names every rule with its upstream line so the
tests can assert one finding per rule and the README can list them.

Which rules apply depends on the framework: `Reconcile` sends `flower` down `reconcileFlower`
(internal/controller/federatedlearning_controller.go:124) which reads neither listeners nor
storage nor claims; every other framework (openfl) takes the legacy path (same file, :129-146):
`federatedLearningServer` (storage, listeners, the model path) and `generateWorkload` (the data
claim's value as the client's --data-path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..findings import Finding, Subject
from .model import Fleet, Job
from .yamlsource import dotted

UPSTREAM = "addon-contrib federated-learning-controller/"

# Kubernetes name limits the controller's derived names run into.
LABEL_VALUE_MAX = 63  # label values, and DNS-1035 Service names
SUBDOMAIN_MAX = 253


@dataclass(frozen=True)
class Rule:
    id: str
    frameworks: tuple[str, ...]  # where the controller enforces it
    upstream: str  # file:line of the enforcing code, relative to the controller's folder
    says: str  # what the controller answers at runtime


RULES: dict[str, Rule] = {r.id: r for r in (
    Rule("openfl-listener-required", ("openfl",),
         "internal/controller/federatedlearning_server.go:48",
         "no listeners specified"),
    Rule("openfl-listener-type", ("openfl",),
         "internal/controller/federatedlearning_server.go:69",
         "unsupported listener type: Route"),
    Rule("storage-type", ("openfl",),
         "internal/controller/federatedlearning_server.go:660",
         "unsupported storage type: HostPath"),
    Rule("storage-size", ("openfl",),
         "internal/controller/federatedlearning_server.go:677 (PVC), :723 (S3Bucket)",
         "size must be specified for storage type S3Bucket"),
    Rule("storage-s3", ("openfl",),
         "internal/controller/federatedlearning_server.go:726, :729",
         "s3 configuration must be provided when storage type is S3Bucket / bucketName is required"),
    Rule("storage-name", ("openfl",),
         "internal/controller/federatedlearning_server.go:675 (PVC name), :721 and :737 (S3 claim and PV '<name>-pv')",
         "the PVC (and for S3 the PV '<name>-pv') is named after storage.name"),
    Rule("storage-path", ("openfl",),
         "internal/controller/federatedlearning_controller.go:203 getDirFile, called from federatedlearning_server.go:112",
         "path cannot be empty"),
    Rule("name-length", ("flower", "openfl"),
         "internal/controller/manifests/flower/serverapp/serverapp-deployment.yaml:14 and "
         "manifests/openfl/server/service.yaml:5 (derived names '<job>-serverapp', '<job>-server')",
         "the Deployment/Service/Job is refused by the API server"),
    Rule("data-claim-exists", ("openfl",),
         "internal/controller/federatedlearning_client.go:172-176 (dataKey = last Exists claim expression), :203",
         "failed to the dataConfig(<key>) from cluster(<cluster>)"),
)}

# The suffixes the controller appends to the job name, per framework, and the limit each derived
# name must respect: Flower puts "<job>-serverapp"/"<job>-clientapp" in the label
# app.kubernetes.io/instance (serverapp-deployment.yaml:14, manifestworkreplicaset.yaml:22);
# OpenFL names a Service "<job>-server" (DNS-1035 label, federatedlearning_server.go:339
# getSeverName) and the Jobs "<job>-server"/"<job>-client" (label job-name, server-job.yaml:11).
DERIVED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "flower": ("-serverapp", "-clientapp"),
    "openfl": ("-server", "-client"),
}
SUPPORTED_LISTENERS = ("LoadBalancer", "NodePort")  # federatedlearning_server.go:69-70
SUPPORTED_STORAGE = ("PersistentVolumeClaim", "S3Bucket")  # federatedlearning_server.go:663-668


def controller_data_key(placement: Mapping[str, Any]) -> str:
    """The claim key the controller reads the data path from: the key of the LAST claimSelector
    expression with operator Exists, across every predicate in order (generateWorkload,
    internal/controller/federatedlearning_client.go:172-179). "" when there is none."""
    key = ""
    for predicate in placement.get("predicates") or []:
        selector = (predicate.get("requiredClusterSelector") or {}).get("claimSelector") or {}
        for expr in selector.get("matchExpressions") or []:
            if expr.get("operator") == "Exists":
                key = expr["key"]
    return key


def check(fleet: Fleet) -> list[Finding]:
    out: list[Finding] = []
    for job in fleet.jobs:
        out.extend(check_job(job))
    return out


def check_job(job: Job) -> list[Finding]:
    out: list[Finding] = []
    fw = job.framework

    def err(rule_id: str, fields: tuple[str | int, ...], message: str) -> None:
        rule = RULES[rule_id]
        assert fw in rule.frameworks, rule_id
        path = job.origin.path + fields
        out.append(Finding(
            "contract", f"{message}; the FL controller fails this at runtime ({UPSTREAM}{rule.upstream})",
            location=job.origin.doc.locate(path), field=dotted(path), subject=Subject.job(job.name, job.hub)))

    name = job.object_name  # what the controller derives its names from ("<job>-run<N>" after a re-run)
    for suffix in DERIVED_SUFFIXES.get(fw, ()):
        if len(name) + len(suffix) > LABEL_VALUE_MAX:
            run = f" with its -run{job.run} suffix" if job.run > 1 else ""
            err("name-length", ("metadata", "name"),
                f"a {fw} FederatedLearning name{run} may have at most {LABEL_VALUE_MAX - len(suffix)} characters: "
                f"the controller names objects '{name}{suffix}' ({len(name) + len(suffix)} > {LABEL_VALUE_MAX})")
            break
    if fw == "openfl" and not job.name[:1].isalpha():
        err("name-length", ("metadata", "name"),
            f"an openfl job name must start with a letter: the Service '{job.name}-server' is a DNS-1035 label")
    if fw == "flower":
        return out  # reconcileFlower reads no listener, storage or claim value

    listeners = list(job.server.get("listeners") or [])
    if not listeners:
        err("openfl-listener-required", ("spec", "server"), "an openfl job needs at least one listener")
    for i, li in enumerate(listeners):
        if li["type"] not in SUPPORTED_LISTENERS:
            err("openfl-listener-type", ("spec", "server", "listeners", i, "type"),
                f"listener {li['name']!r} has type {li['type']}; the openfl server supports only "
                f"{' and '.join(SUPPORTED_LISTENERS)}")
    storage = job.server.get("storage")
    if not storage:
        err("storage-type", ("spec", "server"), "an openfl job needs server.storage (PersistentVolumeClaim or S3Bucket)")
        return out
    where = ("spec", "server", "storage")
    if storage["type"] not in SUPPORTED_STORAGE:
        err("storage-type", where + ("type",),
            f"storage type {storage['type']} is not supported; use {' or '.join(SUPPORTED_STORAGE)}")
        return out
    if not storage.get("size"):
        err("storage-size", where, f"storage of type {storage['type']} needs a size")
    if not storage.get("name"):
        err("storage-name", where, f"storage of type {storage['type']} needs a name (the PersistentVolumeClaim's)")
    elif storage["type"] == "S3Bucket" and len(storage["name"]) + len("-pv") > SUBDOMAIN_MAX:
        err("storage-name", where + ("name",), f"the S3 PersistentVolume '{storage['name']}-pv' exceeds {SUBDOMAIN_MAX} characters")
    if storage["type"] == "S3Bucket" and not (storage.get("s3") or {}).get("bucketName"):
        err("storage-s3", where, "storage of type S3Bucket needs s3.bucketName")
    if not storage.get("path"):
        err("storage-path", where, "storage needs a path: the model directory mounted into the server and clients")
    return out
