"""What the bundle ships for one Flower job, read the way the hub and the add-on manager read it.

From the *built* hub overlay (kustomize output) this module derives the processes the preview
starts, each with the container's command, arguments, environment and mounted files:

- the job's SuperLink: the Deployment behind the Service that the FederatedLearning's
  `spec.server.superlink` names (the FL controller's ServerApp dials exactly that);
- one SuperNode per planned cluster: the AddOnTemplate's workload with `{{VARIABLES}}` substituted
  from the AddOnDeploymentConfig of the add-on install placement that selects the job's clusters
  (as the addon manager does: CLUSTER_NAME plus the config's customizedVariables), and the objects
  that the bundle's policies deliver to that cluster (hub templates resolved against the policy's
  namespace);
- the controller's ServerApp and ClientApps, as its templates write them
  (federated-learning-controller/internal/controller/manifests/flower/serverapp/
  serverapp-deployment.yaml:25-28, clientapp/manifestworkreplicaset.yaml:33-36);
- the bundle's run Job (`flwr run`).

Kubernetes semantics reproduced: Service port -> targetPort (number or container port name) ->
the Deployment whose pod labels match the selector; `$(VAR)` expansion in args; volumes from
Secrets (issued by the certificate chain), ConfigMaps and emptyDirs, with `items` and `subPath`.
Listen addresses `0.0.0.0:P` become 127.0.0.1 ports; container paths become local directories.
Anything that does not resolve is a `ShippedError` naming both ends.
"""

from __future__ import annotations

import base64
import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..upstream import DEFAULT_SUPERLINK_ENDPOINT, DEFAULT_SUPERNODE_ENDPOINT, SUPERLINK_NAMESPACE
from .certs import Chain, ChainError
from .processes import free_port

DEFAULT_SUPERLINK = DEFAULT_SUPERLINK_ENDPOINT
DEFAULT_SUPERNODE = DEFAULT_SUPERNODE_ENDPOINT
# Image entrypoints: the official images run their binary; the app image is built FROM
# flwr/superexec with ENTRYPOINT ["flower-superexec"] (examples/flower/app-torch/Dockerfile).
ENTRYPOINTS = {"flwr/superlink": "flower-superlink", "flwr/supernode": "flower-supernode",
               "flwr/superexec": "flower-superexec"}
APP_ENTRYPOINT = "flower-superexec"
_LISTEN = re.compile(r"(?:0\.0\.0\.0|\[::\]|127\.0\.0\.1):(\d+)")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_TEMPLATE_VAR = re.compile(r"\{\{\s*([A-Z_][A-Z0-9_]*)\s*\}\}")
_HUB_TEMPLATE = re.compile(r"\{\{hub\s+(.*?)\s+hub\}\}")
_ENDPOINT = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.svc(\.cluster\.local)?)?:(\d+)$")


class ShippedError(Exception):
    """The bundle, read as the hub would read it, cannot run: the message names both ends."""


@dataclass
class Objects:
    """Built objects of one scope (the hub, or one managed cluster)."""

    items: list[dict[str, Any]]
    scope: str

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        for o in self.items:
            md = o.get("metadata", {})
            if o.get("kind") == kind and md.get("name") == name and (namespace is None or md.get("namespace", "") == namespace):
                return o
        return None

    def of(self, kind: str) -> Iterator[dict[str, Any]]:
        return (o for o in self.items if o.get("kind") == kind)


@dataclass
class Process:
    """One container of the bundle, ready to start on loopback."""

    name: str  # e.g. "superlink", "supernode-eu-hosp-1", "serverapp", "flwr-run"
    argv: list[str]
    env: dict[str, str]
    workload: str  # "Deployment flower-system/superlink-x container superlink"
    ports: dict[int, int] = field(default_factory=dict)  # container port -> loopback port
    probe_ports: list[tuple[str, int]] = field(default_factory=list)  # (probe, loopback port)


@dataclass
class Loopback:
    """Stable loopback ports per (workload, container port)."""

    ports: dict[tuple[str, int], int] = field(default_factory=dict)

    def port(self, workload: str, container_port: int) -> int:
        return self.ports.setdefault((workload, container_port), free_port())


def workload_id(obj: dict[str, Any], scope: str) -> str:
    md = obj["metadata"]
    return f"{scope}:{obj['kind']} {md.get('namespace', '')}/{md['name']}"


def parse_endpoint(text: str) -> tuple[str, str, int] | None:
    """"svc.ns:port" (optionally .svc / .svc.cluster.local) -> (svc, ns, port)."""
    m = _ENDPOINT.match(text)
    return (m.group(1), m.group(3), int(m.group(7))) if m else None


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def _container_port(container: dict[str, Any], target: int | str) -> int | None:
    for p in container.get("ports", []):
        if p.get("name") == target or p.get("containerPort") == target:
            return int(p["containerPort"])
    return target if isinstance(target, int) else None


def resolve_service(objects: Objects, service: str, namespace: str, port: int, who: str
                    ) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Service port -> (workload, container, container port), or a ShippedError naming `who`."""
    svc = objects.get("Service", namespace, service)
    if svc is None:
        raise ShippedError(f"{who} dials {service}.{namespace}:{port}, but the {objects.scope} has no Service "
                           f"{namespace}/{service}")
    entry = next((p for p in svc["spec"].get("ports", []) if int(p.get("port", 0)) == port), None)
    if entry is None:
        raise ShippedError(f"{who} dials {service}.{namespace}:{port}, but Service {namespace}/{service} has no port "
                           f"{port} (it has {', '.join(str(p.get('port')) for p in svc['spec'].get('ports', []))})")
    return _backend(objects, svc, entry.get("targetPort", port), f"Service {namespace}/{service} port {port}")


def _backend(objects: Objects, svc: dict[str, Any], target: int | str, what: str) -> tuple[dict[str, Any], dict[str, Any], int]:
    namespace = svc["metadata"].get("namespace", "")
    selector = svc["spec"].get("selector") or {}
    for workload in list(objects.of("Deployment")) + list(objects.of("Job")):
        labels = workload["spec"]["template"].get("metadata", {}).get("labels", {})
        if workload["metadata"].get("namespace", "") != namespace or not selector:
            continue
        if all(labels.get(k) == v for k, v in selector.items()):
            for container in pod_spec(workload)["containers"]:
                number = _container_port(container, target)
                if number is not None and any(p.get("containerPort") == number for p in container.get("ports", [])):
                    return workload, container, number
            raise ShippedError(f"{what} targets port {target!r}, which no container of "
                               f"{workload['kind']} {namespace}/{workload['metadata']['name']} declares")
    raise ShippedError(f"{what} selects {selector}, which no Deployment in {namespace} matches")


def resolve_exposure(hub: Objects, host: str, port: int, who: str) -> tuple[dict[str, Any], dict[str, Any], int, str]:
    """How a managed cluster's `host:port` reaches the hub: a passthrough Route (443), a LoadBalancer
    Service published under `host`, or a NodePort. Returns the backend and what exposed it."""
    for route in hub.of("Route"):
        spec = route["spec"]
        if spec.get("host") != host:
            continue
        if port != 443:
            raise ShippedError(f"{who} dials {host}:{port}, but Route {route['metadata']['name']} serves {host} on 443")
        if spec.get("tls", {}).get("termination") != "passthrough":
            raise ShippedError(f"Route {route['metadata']['name']} terminates TLS at the router; the SuperLink's gRPC "
                               "needs passthrough")
        ns = route["metadata"].get("namespace", "")
        svc = hub.get("Service", ns, spec["to"]["name"])
        if svc is None:
            raise ShippedError(f"Route {ns}/{route['metadata']['name']} sends {host} to Service {spec['to']['name']}, "
                               "which the hub does not have")
        target = spec.get("port", {}).get("targetPort")
        entry = next((p for p in svc["spec"]["ports"] if target in (p.get("name"), p.get("targetPort"), p.get("port"))), None)
        if entry is None:
            raise ShippedError(f"Route {ns}/{route['metadata']['name']} targets port {target!r}, which Service "
                               f"{ns}/{svc['metadata']['name']} does not have")
        w, c, n = _backend(hub, svc, entry.get("targetPort", entry["port"]), f"Route {ns}/{route['metadata']['name']}")
        return w, c, n, f"Route {route['metadata']['name']} (passthrough)"
    for svc in hub.of("Service"):
        spec, ns = svc["spec"], svc["metadata"].get("namespace", "")
        annotations = svc["metadata"].get("annotations", {})
        for entry in spec.get("ports", []):
            lb = spec.get("type") == "LoadBalancer" and annotations.get("external-dns.alpha.kubernetes.io/hostname") == host \
                and int(entry["port"]) == port
            node = spec.get("type") == "NodePort" and int(entry.get("nodePort", 0)) == port
            if lb or node:
                w, c, n = _backend(hub, svc, entry.get("targetPort", entry["port"]), f"Service {ns}/{svc['metadata']['name']}")
                return w, c, n, f"{spec['type']} Service {svc['metadata']['name']}"
    raise ShippedError(f"{who} dials {host}:{port}, but nothing on the hub exposes it (no passthrough Route for "
                       f"{host}, no LoadBalancer Service published as {host}, no NodePort {port})")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command/args: defined variables are replaced, $$ escapes."""
    return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), value)


@dataclass
class Materialiser:
    """Turns a pod's volumes and env into local files and values."""

    workdir: Path
    chain: Chain
    loopback: Loopback

    def secret(self, scope: Objects, namespace: str, name: str, who: str) -> dict[str, bytes]:
        plain = scope.get("Secret", namespace, name)
        if plain is not None:
            return {k: base64.b64decode(v) for k, v in (plain.get("data") or {}).items()} | \
                {k: str(v).encode() for k, v in (plain.get("stringData") or {}).items()}
        if scope.scope != "hub":
            raise ShippedError(f"{who} needs Secret {namespace}/{name}, which nothing delivers to the {scope.scope}")
        try:
            return self.chain.secret(namespace, name)
        except ChainError as exc:
            raise ShippedError(f"{who}: {exc}") from None

    def config_map(self, scope: Objects, namespace: str, name: str, who: str) -> dict[str, bytes]:
        cm = scope.get("ConfigMap", namespace, name)
        if cm is None:
            raise ShippedError(f"{who} needs ConfigMap {namespace}/{name}, which nothing in the bundle delivers to the "
                               f"{scope.scope}")
        return {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}

    def process(self, scope: Objects, workload: dict[str, Any], container: dict[str, Any], name: str,
                extra_paths: dict[str, Path] | None = None) -> Process:
        ns = workload["metadata"].get("namespace", "")
        wid = workload_id(workload, scope.scope)
        who = f"{workload['kind']} {ns}/{workload['metadata']['name']} ({scope.scope})"
        root = self.workdir / name
        root.mkdir(parents=True, exist_ok=True)
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        paths: dict[str, Path] = dict(extra_paths or {})
        files_to_rewrite: list[Path] = []
        for mount in container.get("volumeMounts", []):
            volume = volumes.get(mount["name"])
            if volume is None:
                raise ShippedError(f"{who} mounts volume {mount['name']!r}, which the pod does not declare")
            if "secret" in volume:
                data = self.secret(scope, ns, volume["secret"]["secretName"], who)
                source = f"Secret {ns}/{volume['secret']['secretName']}"
            elif "configMap" in volume:
                data = self.config_map(scope, ns, volume["configMap"]["name"], who)
                source = f"ConfigMap {ns}/{volume['configMap']['name']}"
            elif "emptyDir" in volume:
                data, source = {}, "emptyDir"
            elif "projected" in volume and any("serviceAccountToken" in src for src in volume["projected"]["sources"]):
                # A ServiceAccount token: the preview has no API server, so the directory stays empty
                # and whatever reads it (the quality gate) knows it runs without a hub.
                data, source = {}, "projected ServiceAccount token"
            else:
                raise ShippedError(f"{who}: volume {mount['name']!r} is of a kind the preview does not materialise")
            items = (volume.get("secret") or volume.get("configMap") or {}).get("items")
            if items:
                missing = [i["key"] for i in items if i["key"] not in data]
                if missing:
                    raise ShippedError(f"{who} mounts key {missing[0]!r} of {source}, which has only "
                                       f"{', '.join(sorted(data)) or 'no keys'}")
                data = {i["path"]: data[i["key"]] for i in items}
            mount_path = mount["mountPath"]
            local = root / "fs" / mount_path.lstrip("/")
            if "subPath" in mount:
                if mount["subPath"] not in data:
                    raise ShippedError(f"{who} mounts subPath {mount['subPath']!r} of {source}, which has only "
                                       f"{', '.join(sorted(data)) or 'no keys'}")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(data[mount["subPath"]])
                files_to_rewrite.append(local)
            else:
                local.mkdir(parents=True, exist_ok=True)
                for key, value in data.items():
                    (local / key).write_bytes(value)
                    files_to_rewrite.append(local / key)
            paths[mount_path] = local
        env: dict[str, str] = {}
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = expand(str(var["value"]), env)
                continue
            ref = var.get("valueFrom", {})
            if "configMapKeyRef" in ref:
                r = ref["configMapKeyRef"]
                data = self.config_map(scope, ns, r["name"], f"{who} env {var['name']}")
                what = f"ConfigMap {ns}/{r['name']}"
            elif "secretKeyRef" in ref:
                r = ref["secretKeyRef"]
                data = self.secret(scope, ns, r["name"], f"{who} env {var['name']}")
                what = f"Secret {ns}/{r['name']}"
            else:
                raise ShippedError(f"{who} env {var['name']}: a valueFrom the preview does not resolve")
            if r["key"] not in data or not data[r["key"]]:
                raise ShippedError(f"{who} env {var['name']} reads key {r['key']!r} of {what}, which is "
                                   f"{'empty' if r['key'] in data else 'missing'} on the {scope.scope}")
            env[var["name"]] = data[r["key"]].decode()
        image = str(container.get("image", ""))
        command = list(container.get("command") or [ENTRYPOINTS.get(image.split(":")[0], APP_ENTRYPOINT)])
        argv = [expand(str(a), env) for a in command + [str(a) for a in container.get("args", [])]]
        proc = Process(name, argv, env, wid)
        # Listen addresses -> loopback ports of this workload.
        for number in [int(p["containerPort"]) for p in container.get("ports", [])]:
            proc.ports[number] = self.loopback.port(wid, number)

        def rewrite(text: str) -> str:
            text = _LISTEN.sub(lambda m: f"127.0.0.1:{proc.ports.setdefault(int(m.group(1)), self.loopback.port(wid, int(m.group(1))))}", text)
            for container_path in sorted(paths, key=len, reverse=True):
                text = re.sub(rf"(?<![\w/]){re.escape(container_path.rstrip('/'))}(?=/|\b|$)", str(paths[container_path]), text)
            return text

        proc.argv = [rewrite(a) for a in proc.argv]
        proc.env = {k: rewrite(v) for k, v in env.items()}
        for f in files_to_rewrite:
            try:
                f.write_text(rewrite(f.read_text()))
            except UnicodeDecodeError:
                pass
        for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = container.get(kind, {})
            if "tcpSocket" in probe:
                target = probe["tcpSocket"]["port"]
                number = _container_port(container, target)
                if number is None or number not in proc.ports:
                    raise ShippedError(f"{who}: {kind} port {target!r} is not a port the container declares")
                proc.probe_ports.append((f"{kind} port {target}", proc.ports[number]))
        return proc


def substitute_template(value: Any, variables: dict[str, str], where: str) -> Any:
    """The addon manager's `{{NAME}}` substitution in AddOnTemplate manifests."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in variables:
                raise ShippedError(f"{where} uses {{{{{m.group(1)}}}}}, which neither the AddOnDeploymentConfig nor the "
                                   "addon manager's built-in variables define")
            return variables[m.group(1)]
        return _TEMPLATE_VAR.sub(sub, value)
    if isinstance(value, list):
        return [substitute_template(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: substitute_template(v, variables, where) for k, v in value.items()}
    return value


def resolve_hub_templates(value: Any, cluster: str, policy_ns: str, hub: Objects, m: Materialiser, who: str) -> Any:
    """ACM hub templates used by the bundle: fromSecret / fromConfigMap in the policy's namespace,
    keyed by a string or .ManagedClusterName. Anything else is refused rather than guessed."""
    if isinstance(value, list):
        return [resolve_hub_templates(v, cluster, policy_ns, hub, m, who) for v in value]
    if isinstance(value, dict):
        return {k: resolve_hub_templates(v, cluster, policy_ns, hub, m, who) for k, v in value.items()}
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        words = [w.strip('"') if w.startswith('"') else w for w in match.group(1).split()]
        fn, args = words[0], [cluster if w == ".ManagedClusterName" else w for w in words[1:]]
        if len(args) != 3 or args[0] not in ("", policy_ns):
            raise ShippedError(f"{who}: hub template {match.group(0)!r} reads outside the policy namespace {policy_ns}")
        if fn == "fromSecret":
            data = m.secret(hub, policy_ns, args[1], who)
            if args[2] not in data:
                raise ShippedError(f"{who}: Secret {policy_ns}/{args[1]} has no key {args[2]!r}")
            return base64.b64encode(data[args[2]]).decode()
        if fn == "fromConfigMap":
            return m.config_map(hub, policy_ns, args[1], who).get(args[2], b"").decode()
        raise ShippedError(f"{who}: hub template function {fn!r} is not one the preview evaluates")

    return _HUB_TEMPLATE.sub(one, value)


def delivered_objects(hub: Objects, cluster: str, cluster_set: str, client_placement: dict[str, Any],
                      m: Materialiser) -> list[dict[str, Any]]:
    """What the bundle's policies create on `cluster`: musthave object-templates of the enforced
    policies bound to a Placement that selects the job's clusters (the job's own placement spec,
    or its cluster set without predicates)."""
    out: list[dict[str, Any]] = []
    for binding in hub.of("PlacementBinding"):
        ns = binding["metadata"].get("namespace", "")
        placement = hub.get("Placement", ns, binding["placementRef"]["name"])
        if placement is None:
            continue
        spec = placement.get("spec", {})
        targets = spec == client_placement or (cluster_set in spec.get("clusterSets", []) and not spec.get("predicates"))
        if not targets:
            continue
        for subject in binding.get("subjects", []):
            policy = hub.get("Policy", ns, subject["name"])
            if policy is None or policy["spec"].get("remediationAction") != "enforce" or policy["spec"].get("disabled"):
                continue
            for t in policy["spec"].get("policy-templates", []):
                definition = t["objectDefinition"]
                if definition.get("kind") != "ConfigurationPolicy":
                    continue
                for ot in definition["spec"].get("object-templates", []):
                    if ot.get("complianceType") in ("musthave", "mustonlyhave"):
                        out.append(resolve_hub_templates(copy.deepcopy(ot["objectDefinition"]), cluster, ns, hub, m,
                                                         f"Policy {ns}/{subject['name']}"))
    return out


def app_paths(app_dir: Path, container_dir: str) -> dict[str, Path]:
    """The app image's filesystem: its app directory is the job's app in the repository."""
    return {container_dir: app_dir}


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["SUPERLINK_NAMESPACE"]
