"""The published JSON Schema of fedfleet specs (`fedfleet schema` prints it).

One schema per document kind, combined with `oneOf` on `kind` for the published form. Unknown
fields are errors everywhere (`additionalProperties: false`): a typo must not pass silently.
Governance plugins contribute their parameter schemas under `Fleet.spec.governance.plugins`.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import API_VERSION
from ..upstream import DNS1123_LABEL, LISTENER_TYPES, REMEDIATION_ACTIONS

DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Kubernetes quantities (k8s.io/apimachinery/pkg/api/resource): a number with an optional suffix.
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Label keys: optional DNS prefix, then a name of at most 63 characters.
LABEL_KEY = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"


def _obj(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def _name(max_length: int = 63, pattern: str = DNS1123_LABEL) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern}


_quantity = {"type": ["string", "integer", "number"], "pattern": QUANTITY, "minimum": 0}
_labels = {
    "type": "object",
    "propertyNames": {"pattern": LABEL_KEY, "maxLength": 317},
    "additionalProperties": {"type": "string", "pattern": LABEL_VALUE, "maxLength": 63},
}
# Cluster claim values are free text of 1 to 1024 characters (ManagedCluster CRD,
# status.clusterClaims[].value: minLength 1, maxLength 1024).
_claims = {
    "type": "object",
    "propertyNames": {"pattern": DNS1123_SUBDOMAIN, "maxLength": 253},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 1024},
}
_metadata = _obj({"name": _name(), "labels": _labels, "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}, ["name"])

_match_expression = _obj(
    {
        "key": {"type": "string", "minLength": 1},
        "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
        "values": {"type": "array", "items": {"type": "string"}},
    },
    ["key", "operator"],
)
_selector = _obj(
    {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": _match_expression},
    }
)
_claim_selector = _obj({"matchExpressions": {"type": "array", "items": _match_expression}})
# OCM v1beta1 ClusterCelSelector (cluster/v1beta1 types_placement.go; the Placement CRD's
# requiredClusterSelector.celSelector.celExpressions, a list of strings, ANDed).
_cel_selector = _obj({"celExpressions": {"type": "array", "items": {"type": "string", "minLength": 1}}})

# OCM PlacementSpec, the parts fedfleet previews (cluster/v1beta1 types_placement.go). Fields
# OCM has that the preview cannot evaluate (spreadPolicy, decisionStrategy) are
# rejected by name rather than ignored, so a preview never silently differs from the hub.
PLACEMENT = _obj(
    {
        "clusterSets": {"type": "array", "items": _name(), "uniqueItems": True},
        "numberOfClusters": {"type": "integer", "minimum": 0},
        "predicates": {
            "type": "array",
            "items": _obj(
                {
                    "requiredClusterSelector": _obj(
                        {"labelSelector": _selector, "claimSelector": _claim_selector, "celSelector": _cel_selector}
                    )
                },
                ["requiredClusterSelector"],
            ),
        },
        "prioritizerPolicy": _obj(
            {
                "mode": {"enum": ["Additive", "Exact"]},
                "configurations": {
                    "type": "array",
                    "items": _obj(
                        {
                            "scoreCoordinate": _obj(
                                {
                                    "type": {"enum": ["BuiltIn", "AddOn"]},
                                    "builtIn": {
                                        "enum": ["Balance", "Steady", "ResourceAllocatableCPU", "ResourceAllocatableMemory"]
                                    },
                                    "addOn": _obj(
                                        {"resourceName": {"type": "string"}, "scoreName": {"type": "string"}},
                                        ["resourceName", "scoreName"],
                                    ),
                                }
                            ),
                            "weight": {"type": "integer", "minimum": -10, "maximum": 10},
                        },
                        ["scoreCoordinate"],
                    ),
                },
            }
        ),
        "tolerations": {
            "type": "array",
            "items": _obj(
                {
                    "key": {"type": "string"},
                    "operator": {"enum": ["Equal", "Exists"]},
                    "value": {"type": "string"},
                    "effect": {"enum": ["NoSelect", "PreferNoSelect", "NoSelectIfNew"]},
                    "tolerationSeconds": {"type": "integer", "minimum": 0},
                }
            ),
        },
    }
)

_taint = _obj(
    {
        "key": {"type": "string", "pattern": LABEL_KEY},
        "value": {"type": "string", "pattern": LABEL_VALUE},
        "effect": {"enum": ["NoSelect", "PreferNoSelect", "NoSelectIfNew"]},
        "timeAdded": {"type": "string"},
    },
    ["key", "effect"],
)

CLUSTER = _obj(
    {
        "name": _name(),
        "clusterSet": _name(),
        "labels": _labels,
        "claims": _claims,
        "allocatable": _obj({"cpu": _quantity, "memory": _quantity}),
        "capacity": _obj({"cpu": _quantity, "memory": _quantity}),
        "taints": {"type": "array", "items": _taint},
        # The AddOnPlacementScores the hub holds for this cluster (name -> score name -> value,
        # cluster/v1alpha1 AddOnPlacementScore status.scores): only what a celSelector's
        # `managedCluster.scores(name)` reads in the preview.
        "addOnPlacementScores": {
            "type": "object",
            "propertyNames": {"pattern": DNS1123_SUBDOMAIN, "maxLength": 253},
            "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    ["name", "clusterSet"],
)

_tls = _obj({"enabled": {"type": "boolean"}})
# Where the FL controller runs on the hub (its Deployment federated-learning-controller).
# image: what the bootstrap's controller Application sets (kustomize images controller=<image>);
# default versions.FL_CONTROLLER_IMAGE, upstream's only published tag (:latest): pin a digest here.
_controller = _obj({"namespace": _name(), "image": {"type": "string", "minLength": 1, "pattern": r"^\S+$"}})
# How managed clusters reach the hub's per-job SuperLinks (fleet API). Route: OpenShift Route with
# TLS passthrough on 443, host superlink-<job>.<domain>; LoadBalancer: host superlink-<job>.<domain>
# (a DNS name for the load balancer); NodePort: a hub node address and a node port per Flower job.
_superlink = _obj(
    {
        "exposure": {"enum": ["Route", "LoadBalancer", "NodePort"]},
        "domain": {"type": "string", "pattern": DNS1123_SUBDOMAIN, "maxLength": 200},
        "address": {"type": "string", "minLength": 1, "maxLength": 253},
        "nodePorts": {"type": "object", "propertyNames": {"pattern": DNS1123_LABEL, "maxLength": 63},
                      "additionalProperties": {"type": "integer", "minimum": 30000, "maximum": 32767}},
    },
    ["exposure"],
)
_argocd = _obj(
    {
        "namespace": _name(),
        "project": _name(),
        "destinationServer": {"type": "string", "minLength": 1},
        # How the health checks reach Argo CD: the OpenShift GitOps operator's ArgoCD CR, or
        # upstream Argo CD's argocd-cm (render/argocd.py).
        "flavour": {"enum": ["openshift-gitops", "argocd"]},
        "instance": _name(),
        # The Git revision this hub's Application tracks (default: repo.revision): dev on main,
        # prod on a tag.
        "targetRevision": {"type": "string", "minLength": 1},
        # Replaces keys of the generated Application's syncPolicy (argo-cd pkg/apis/application/
        # v1alpha1 types.go SyncPolicy); a key set to null drops it (automated: null = manual sync).
        "syncPolicy": _obj({
            "automated": {"oneOf": [{"type": "null"}, _obj({"prune": {"type": "boolean"},
                                                             "selfHeal": {"type": "boolean"},
                                                             "allowEmpty": {"type": "boolean"}})]},
            "syncOptions": {"oneOf": [{"type": "null"}, {"type": "array", "items": {"type": "string", "minLength": 1}}]},
            "retry": {"oneOf": [{"type": "null"}, _obj({
                "limit": {"type": "integer", "minimum": -1},
                "backoff": _obj({"duration": {"type": "string"}, "factor": {"type": "integer", "minimum": 1},
                                 "maxDuration": {"type": "string"}})})]},
        }),
    }
)

# User kustomize content, included verbatim in a generated kustomization.yaml (issue 14.3).
# Paths are relative to that kustomization's directory, as kustomize reads them; a patch is a
# kustomize `patches` entry (kustomize api/types/patch.go: path or patch, target, options).
_path = {"type": "string", "minLength": 1, "maxLength": 1024}
_patch_target = _obj({k: {"type": "string", "minLength": 1} for k in
                      ("group", "version", "kind", "name", "namespace", "labelSelector", "annotationSelector")})
KUSTOMIZE = _obj(
    {
        "resources": {"type": "array", "items": _path, "uniqueItems": True},
        "components": {"type": "array", "items": _path, "uniqueItems": True},
        "patches": {
            "type": "array",
            "items": {
                **_obj({"path": _path, "patch": {"type": "string", "minLength": 1}, "target": _patch_target,
                        "options": _obj({"allowNameChange": {"type": "boolean"},
                                         "allowKindChange": {"type": "boolean"}})}),
                "oneOf": [{"required": ["path"]}, {"required": ["patch"]}],
            },
        },
    }
)

FLEET = _obj(
    {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "Fleet"},
        "metadata": _metadata,
        "spec": _obj(
            {
                "repo": _obj(
                    {"url": {"type": "string", "minLength": 1}, "revision": {"type": "string", "minLength": 1}},
                    ["url"],
                ),
                # A template fleet (this repository's example): placeholder hosts and images are
                # warnings in every environment instead of errors in prod (checks/placeholders.py).
                "example": {"type": "boolean"},
                "defaults": _obj(
                    {
                        "tls": _tls,
                        "argocd": _argocd,
                        "controller": _controller,
                        "governance": _obj(
                            {
                                "namespace": _name(),
                                "remediation": {
                                    "type": "object",
                                    "additionalProperties": {"enum": list(REMEDIATION_ACTIONS)},
                                },
                            }
                        ),
                    }
                ),
                "hubs": {
                    "type": "array",
                    "minItems": 1,
                    "items": _obj(
                        {
                            "name": _name(),
                            "environment": {"enum": ["dev", "staging", "prod"]},
                            "server": {"type": "string", "pattern": r"^https://"},
                            "superlink": _superlink,
                            "argocd": _argocd,
                            "controller": _controller,
                            "tls": _tls,
                            "kustomize": KUSTOMIZE,
                        },
                        ["name", "environment", "server"],
                    ),
                },
                "clusterSets": {
                    "type": "array",
                    "items": _obj({"name": _name(), "hub": _name()}, ["name", "hub"]),
                },
                "clusters": {"type": "array", "items": CLUSTER},
                # the same, for the shared bases every hub's overlay includes
                "bases": _obj({"flower-addon": _obj({"kustomize": KUSTOMIZE}),
                               "governance": _obj({"kustomize": KUSTOMIZE})}),
                "governance": _obj({"plugins": {"type": "object", "properties": {}, "additionalProperties": False}}),
                # `validate`/`check`: a built kind without a CRD schema is an error unless listed here
                # as "<apiVersion>/<kind>"; a listed kind is still validated when a schema exists.
                "validation": _obj({"allowUnvalidatedKinds": {
                    "type": "array", "uniqueItems": True,
                    "items": {"type": "string", "pattern": r"^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?v[0-9][a-z0-9]*/[A-Z][A-Za-z0-9]*$"},
                }}),
                # One Argo CD ApplicationSet instead of one Application per hub (render/argocd.py
                # application_set): held by `hub`'s Argo CD, generating the Applications of `hubs`.
                "applicationSet": _obj({
                    "name": _name(),
                    "hub": _name(),
                    "hubs": {"type": "array", "items": _name(), "minItems": 1, "uniqueItems": True},
                }),
            },
            ["repo", "hubs"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

INVENTORY = _obj(
    {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "ManagedClusterInventory"},
        "metadata": _metadata,
        "spec": _obj({"clusters": {"type": "array", "items": CLUSTER}}, ["clusters"]),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_listener = _obj(
    {
        "name": _name(),
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "type": {"enum": list(LISTENER_TYPES)},
        "ip": {"type": "string"},
    },
    ["name", "port", "type"],
)

JOB = _obj(
    {
        "apiVersion": {"const": API_VERSION},
        "kind": {"const": "FederatedLearningJob"},
        "metadata": _metadata,
        "spec": _obj(
            {
                "hub": _name(),
                "namespace": _name(),
                "framework": {"enum": ["flower", "openfl"]},
                # Bump to re-run: run N >= 2 renders the FederatedLearning as "<job>-run<N>".
                "run": {"type": "integer", "minimum": 1, "maximum": 99999},
                "server": _obj(
                    {
                        "image": {"type": "string", "minLength": 1},
                        "rounds": {"type": "integer", "minimum": 1, "maximum": 100000},
                        "minAvailableClients": {"type": "integer", "minimum": 1, "maximum": 100000},
                        "listeners": {"type": "array", "items": _listener},
                        "storage": _obj(
                            {
                                "type": {"enum": ["PersistentVolumeClaim", "HostPath", "S3Bucket"]},
                                "name": _name(253, DNS1123_SUBDOMAIN),
                                "path": {"type": "string", "pattern": "^/"},
                                "size": _quantity,
                                "s3": _obj(
                                    {
                                        "bucketName": {"type": "string", "minLength": 1},
                                        "prefix": {"type": "string"},
                                        "region": {"type": "string"},
                                    },
                                    ["bucketName"],
                                ),
                            },
                            ["type"],
                        ),
                    },
                    ["image", "rounds", "minAvailableClients"],
                ),
                "client": _obj({"image": {"type": "string", "minLength": 1}}, ["image"]),
                "data": _obj(
                    {
                        "claim": {"type": "string", "pattern": DNS1123_SUBDOMAIN, "maxLength": 253},
                        "holders": {
                            "type": "object",
                            "minProperties": 1,
                            "propertyNames": {"pattern": DNS1123_LABEL, "maxLength": 63},
                            "additionalProperties": {"type": "string", "pattern": "^/", "maxLength": 1024},
                        },
                    },
                    ["holders"],
                ),
                "placement": PLACEMENT,
                "tls": _tls,
                # Extra `flwr run --run-config` values for the run Job (num-server-rounds comes from
                # server.rounds); keys must exist in the app's [tool.flwr.app.config].
                "runConfig": {"type": "object", "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},
                "simulation": _obj(
                    {
                        "app": {"type": "string", "minLength": 1},
                    }
                ),
                # The model quality gate at the end of every run (semantic.py: _validation).
                "validation": _obj(
                    {
                        # "heldout": the app's own held-out split; or an absolute path on the hub's model storage.
                        "data": {"type": "string", "pattern": "^(heldout|/.+)$", "maxLength": 1024},
                        # The app image's evaluation entry point: given --model FILE --data DATA it prints
                        # one JSON object {"accuracy": x, "perClassRecall": {"<class>": r, ...}, "samples": n}.
                        "evaluator": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                        "metrics": {"type": "array", "minItems": 1, "uniqueItems": True,
                                    "items": {"enum": ["accuracy", "perClassRecall"]}},
                        "minAccuracy": {"type": "number", "minimum": 0, "maximum": 1},
                        "minPerClassRecall": {"type": "number", "minimum": 0, "maximum": 1},
                        "maxRegression": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                    ["data", "evaluator"],
                ),
            },
            ["hub", "namespace", "framework", "server", "client", "data", "placement"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "Fleet": FLEET,
    "ManagedClusterInventory": INVENTORY,
    "FederatedLearningJob": JOB,
}


def kind_schemas(plugin_fragments: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The per-kind schemas, with each governance plugin's parameter schema slotted in."""
    schemas = copy.deepcopy(KIND_SCHEMAS)
    plugins = schemas["Fleet"]["properties"]["spec"]["properties"]["governance"]["properties"]["plugins"]
    for name, fragment in sorted((plugin_fragments or {}).items()):
        plugins["properties"][name] = fragment
    return schemas


def published_schema(plugin_fragments: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The whole spec language as one JSON Schema document (draft 2020-12)."""
    schemas = kind_schemas(plugin_fragments)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://fedfleet.io/schemas/v1alpha1/spec.json",
        "title": "fedfleet spec documents",
        "description": "Any document under specs/: a Fleet, a ManagedClusterInventory or a FederatedLearningJob.",
        "oneOf": [schemas[k] for k in sorted(schemas)],
    }
