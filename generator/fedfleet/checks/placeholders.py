"""Placeholders are findings: example hosts, addresses managed clusters cannot resolve, unpinned images.

A value that only makes sense in documentation (git.example.com, 192.0.2.10, a `:latest` image)
passes every schema and every build, and fails on the hub. This check finds them in two places:

- the specs, at file:line and field: the fleet repository URL, each hub's API server and SuperLink
  domain/address, the FL controller image, each job's images, the governance plugins' parameters
  (URLs and `*Image` values);
- the built objects of every overlay and bootstrap directory (what Argo CD applies, user kustomize
  content and patches included), located at the kustomization root: container images anywhere in
  an object (Deployments, Jobs, the AddOnTemplate's manifests, Policy object-templates), Argo CD's
  kustomize `images:` overrides, repository URLs and destination servers, the metrics-sidecar
  annotation, the address a Flower add-on config tells SuperNodes to dial (`SUPERLINK_ADDRESS`),
  and a Flower `FederatedLearning` that leaves `spec.server.superlink` to the CRD default.

Severity follows the hub's `environment`: an error (exit 1) in `prod`, a warning in `dev` and
`staging`. A fleet-wide value (repository URL, plugin parameters) takes the strictest environment of
the fleet. A Fleet with `spec.example: true` (a template such as this repository's own example)
reports every placeholder as a warning, saying why.

Deterministic on purpose: no DNS lookup, no registry call (CI runs without network, and a name that
resolves on a laptop may not resolve on a managed cluster). "Unresolvable" therefore means what can
be decided from the text: syntactically not a host name (`<HUB_NODE_IP>`), a single label, a
cluster-internal zone (`.svc`, `.cluster.local`, `.local`, `.internal`), or `<service>.<namespace>`
of a namespace on the hub (spec/exposure.py `unreachable_reason`).

"Pinned": an image with a digest (`@sha256:...`), or with an explicit tag other than `latest`. A
missing tag (which means `latest`) and `latest` are unpinned. A tag without a digest is accepted:
release tags are immutable by convention in most registries, a digest is the stronger form.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator, Mapping
from urllib.parse import urlsplit

from ..findings import Finding, Location, Severity, Subject
from ..spec.exposure import unreachable_reason
from ..spec.model import Fleet, Hub, Origin
from ..spec.yamlsource import dotted
from ..upstream import DEFAULT_SUPERLINK_ENDPOINT, SIDECAR_ANNOTATION, SUPERLINK_NAMESPACE

CHECK = "placeholder"

# RFC 2606 section 2/3 and RFC 6761 section 6: reserved top-level names and the example
# second-level domains; RFC 8375: home.arpa (a home network, never a fleet's).
_EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "home.arpa")
_RESERVED_TLDS = ("test", "example", "invalid", "localhost")
# RFC 5737 (IPv4) and RFC 3849 (IPv6): address blocks for documentation.
_DOC_NETWORKS = tuple(ipaddress.ip_network(n) for n in
                      ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
# RFC 1123 host names: labels of letters, digits and hyphens, not starting or ending in a hyphen.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# distribution/reference: a digest is algorithm:hex.
_DIGEST = re.compile(r"@[a-z0-9]+([+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


# --- what counts as a placeholder -------------------------------------------------------------

def example_host(host: str) -> str | None:
    """Why `host` (a name or an IP address, no port) is a documentation placeholder, or None."""
    name = host.strip().lower().rstrip(".").strip("[]")
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        ip = None
    if ip is not None:
        for net in _DOC_NETWORKS:
            if ip in net:
                return f"{host} is in {net}, an address block reserved for documentation (RFC 5737/3849)"
        return None
    for domain in _EXAMPLE_DOMAINS:
        if name == domain or name.endswith("." + domain):
            return f"{host} is under {domain}, a domain reserved for examples (RFC 2606/6761)"
    tld = name.rsplit(".", 1)[-1]
    if tld in _RESERVED_TLDS:
        return f"{host} is under .{tld}, a top-level name reserved by RFC 2606/6761: it never resolves on the internet"
    return None


def invalid_host(host: str) -> str | None:
    """Why `host` is not a host name or IP address at all (`<HUB_NODE_IP>`, `REPLACE_ME`...)."""
    name = host.strip().rstrip(".")
    try:
        ipaddress.ip_address(name.strip("[]"))
        return None
    except ValueError:
        pass
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.lower().split(".")):
        return f"{host!r} is not a valid host name (RFC 1123), so nothing can resolve it"
    return None


def placeholder_host(host: str) -> str | None:
    return invalid_host(host) or example_host(host)


def url_host(url: str) -> str:
    """The host of a URL, or of scp-like git syntax (git@host:org/repo.git)."""
    if "://" not in url and "@" in url and ":" in url.split("@", 1)[1]:
        return url.split("@", 1)[1].split(":", 1)[0]
    try:
        return urlsplit(url if "://" in url else f"//{url}").hostname or ""
    except ValueError:
        return ""


def split_image(image: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) of an image reference (distribution/reference grammar:
    the first component is a registry when it has a dot or a port, or is localhost)."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    registry = ""
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    name, colon, tag = rest.rpartition(":")
    if not colon or "/" in tag:
        name, tag = rest, ""
    return registry, name, tag, digest


def unpinned(image: str) -> str | None:
    """Why `image` is not pinned, or None (see the module docstring for what pinned means)."""
    _registry, _name, tag, digest = split_image(image)
    if digest:
        return None if _DIGEST.match("@" + digest) else f"image {image} has a malformed digest"
    if not tag:
        return f"image {image} has no tag, so it means :latest, which moves"
    if tag == "latest":
        return f"image {image} uses the moving tag :latest"
    return None


def image_problem(image: str) -> str | None:
    registry = split_image(image)[0]
    host = registry.rsplit(":", 1)[0] if registry else ""
    return unpinned(image) or (placeholder_host(host) if host else None)


# --- severity ---------------------------------------------------------------------------------

def severity_of(environment: str, fleet: Fleet) -> Severity:
    return Severity.ERROR if environment == "prod" and not fleet.example else Severity.WARNING


def _fleet_environment(fleet: Fleet) -> str:
    """The strictest environment of the fleet: what a fleet-wide value (the repository URL, a
    plugin parameter) is judged by."""
    environments = {h.environment for h in fleet.hubs}
    return next((e for e in ("prod", "staging") if e in environments), "dev")


def _why(environment: str, fleet: Fleet) -> str:
    if fleet.example and environment == "prod":
        return " [a warning only because the Fleet sets spec.example: true; remove it for a real fleet]"
    return "" if environment == "prod" else f" [a warning in environment {environment}, an error in prod]"


# --- the specs --------------------------------------------------------------------------------

def spec_findings(fleet: Fleet) -> list[Finding]:
    """Placeholders in the specs, each at its file:line and field."""
    out: list[Finding] = []

    def add(origin: Origin, path: tuple[str | int, ...], environment: str, reason: str, fix: str,
            subject: Subject | None) -> None:
        full = origin.path + path
        out.append(Finding(CHECK, f"{reason}: {fix}{_why(environment, fleet)}", severity_of(environment, fleet),
                           origin.doc.locate(full), dotted(full), subject))

    fleet_env = _fleet_environment(fleet)
    host = url_host(fleet.repo_url)
    reason = placeholder_host(host) if host else f"{fleet.repo_url!r} names no host"
    if reason:
        add(fleet.origin, ("spec", "repo", "url"), fleet_env, f"repository URL {fleet.repo_url}: {reason}",
            "Argo CD on every hub clones this URL; name the fleet repository's real address", None)

    namespaces = {SUPERLINK_NAMESPACE, fleet.governance_namespace} | {j.namespace for j in fleet.jobs}
    for hub in fleet.hubs:
        subject = Subject.of_hub(hub.name)
        reason = placeholder_host(url_host(hub.server) or hub.server)
        if reason:
            add(hub.origin, ("server",), hub.environment, f"hub API server {hub.server}: {reason}",
                "name the hub's real API server (audit, doctor and kubeconfig matching use it)", subject)
        if hub.superlink_domain and not unreachable_reason(f"superlink-x.{hub.superlink_domain}", namespaces):
            reason = example_host(hub.superlink_domain)
            if reason:
                add(hub.origin, ("superlink", "domain"), hub.environment, f"SuperLink domain: {reason}",
                    "SuperNodes on managed clusters dial superlink-<job>.<domain>; name a domain they resolve", subject)
        address = hub.superlink_node_address
        if address and not unreachable_reason(address, namespaces):
            reason = placeholder_host(address)
            if reason:
                add(hub.origin, ("superlink", "address"), hub.environment, f"SuperLink node address: {reason}",
                    "SuperNodes on managed clusters dial this address; name a hub node address they reach", subject)
        if hub.controller_image_from:
            reason = image_problem(hub.controller_image)
            if reason:
                origin = hub.origin if hub.controller_image_from == "hub" else fleet.origin
                path = ("controller", "image") if hub.controller_image_from == "hub" else \
                    ("spec", "defaults", "controller", "image")
                add(origin, path, hub.environment, f"FL controller {reason}",
                    "pin it by digest (the hub runs whatever the tag points to at sync time)", subject)

    for job in fleet.jobs:
        hub_env = fleet.hub(job.hub).environment
        subject = Subject.job(job.name, job.hub)
        for path, image in ((("spec", "server", "image"), str(job.server["image"])),
                            (("spec", "client", "image"), job.client_image)):
            reason = image_problem(image)
            if reason:
                add(job.origin, path, hub_env, reason,
                    "pin a release tag or a digest, so the job that runs is the one reviewed", subject)

    for plugin, params in sorted(fleet.plugin_params.items()):
        for path, value in _strings(params, ("spec", "governance", "plugins", plugin)):
            key = str(path[-1])
            if key.lower().endswith("image"):
                reason = image_problem(value)
                fix = "pin a release tag or a digest"
            elif "://" in value:
                host = url_host(value)
                reason = placeholder_host(host) if host else None
                fix = "name the real endpoint"
            else:
                continue
            if reason:
                add(fleet.origin, path, fleet_env, f"governance.plugins.{plugin}.{dotted(path[4:])}: {reason}", fix, None)
    return out


def _strings(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, path + (str(k),))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


# --- the built objects ------------------------------------------------------------------------

def object_findings(fleet: Fleet, built: Mapping[str, list[dict]], hubs: Mapping[str, str]) -> list[Finding]:
    """Placeholders in what kustomize builds (root -> objects; root -> hub), located at the root.
    Values the specs declare are reported there (at their line) and skipped here."""
    return facts_findings(fleet, {root: [unit_facts(built[root])] for root in built}, hubs)


def unit_facts(objects: list[dict]) -> list[Any]:
    """What object_findings reads of some built objects, in their order, as JSON data: a pure
    function of the objects (check keeps it per unit in its cache, keyed by the unit's built
    bytes: checks/unitfacts.py). [services, records]: each Service's (namespace, name), and per
    object with anything to judge, [kind, name, namespace, ident, entries], an entry one of
    ["image", field, image, reason, fix] (an image with a problem; `reason` None when it has none,
    kept only for AddOnDeploymentConfig IMAGE values, which the fleet may declare),
    ["repo", url, reason], ["server", url, reason], ["superlink-address", index, address],
    ["superlink", endpoint, service namespace, service name, unset]. What depends on the fleet
    (declared images, the fleet's repository, the hub's SuperLink, its namespaces) is judged in
    facts_findings."""
    services: list[list[Any]] = []
    records: list[list[Any]] = []
    for obj in objects:
        if obj.get("kind") == "Service":
            services.append([obj.get("metadata", {}).get("namespace", ""), obj.get("metadata", {}).get("name", "")])
        entries: list[list[Any]] = []
        for field, image in _images(obj):
            # "{{IMAGE}}": an AddOnTemplate variable, filled from the AddOnDeploymentConfig
            # (checked there, below)
            if "{{" in image:
                continue
            reason = image_problem(image)
            if reason:
                entries.append(["image", field, image, reason, _image_fix(obj, field)])
        if obj.get("kind") == "Application":
            spec = obj.get("spec") or {}
            repo = str((spec.get("source") or {}).get("repoURL", ""))
            host = url_host(repo)
            reason = placeholder_host(host) if host else None
            if reason:
                entries.append(["repo", repo, reason])
            server = str((spec.get("destination") or {}).get("server", ""))
            host = url_host(server)
            reason = placeholder_host(host) if host else None
            if reason:
                entries.append(["server", server, reason])
        if obj.get("kind") == "AddOnDeploymentConfig":
            for i, var in enumerate((obj.get("spec") or {}).get("customizedVariables") or []):
                name, value = str(var.get("name", "")), str(var.get("value", ""))
                if name == "IMAGE" or name.endswith("_IMAGE"):
                    reason = image_problem(value)
                    if reason:
                        entries.append(["variable-image", i, value, reason])
                if name == "SUPERLINK_ADDRESS":
                    entries.append(["superlink-address", i, value])
        if obj.get("kind") == "FederatedLearning" and (obj.get("spec") or {}).get("framework") == "flower":
            server = (obj.get("spec") or {}).get("server") or {}
            endpoint = str(server.get("superlink") or DEFAULT_SUPERLINK_ENDPOINT)
            # <service>.<namespace>[.svc[.cluster.local]]:<port>
            name, _, rest = endpoint.partition(".")
            ns = rest.split(":", 1)[0].split(".", 1)[0]
            entries.append(["superlink", endpoint, ns, name, not server.get("superlink")])
        if entries:
            meta = obj.get("metadata") or {}
            records.append([str(obj.get("kind")), str(meta.get("name", "")), str(meta.get("namespace", "")),
                            _ident(obj), entries])
    return [services, records]


def facts_findings(fleet: Fleet, facts: Mapping[str, list[list[Any]]], hubs: Mapping[str, str]) -> list[Finding]:
    """object_findings from each root's unit_facts (root -> the facts of its units, in build order)."""
    declared_images = {str(j.server["image"]) for j in fleet.jobs} | {j.client_image for j in fleet.jobs}
    declared_images |= {h.controller_image for h in fleet.hubs if h.controller_image_from}
    declared_images |= {v for _p, v in _strings(fleet.plugin_params, ())}
    namespaces = {SUPERLINK_NAMESPACE, fleet.governance_namespace} | {j.namespace for j in fleet.jobs}
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for root in sorted(facts):
        hub = fleet.hub(hubs[root]) if hubs.get(root) in {h.name for h in fleet.hubs} else None
        environment = hub.environment if hub else _fleet_environment(fleet)
        units = facts[root]
        services = {(ns, name) for unit in units for ns, name in unit[0]}
        for _services, records in units:
            for kind, name, namespace, ident, entries in records:
                def add(field: str, reason: str, fix: str) -> None:
                    key = (root, ident, reason)
                    if key in seen:
                        return
                    seen.add(key)
                    out.append(Finding(CHECK, f"{reason}: {fix}{_why(environment, fleet)}",
                                       severity_of(environment, fleet), Location(root), field,
                                       Subject(kind, name, namespace, hub=hub.name if hub else "")))

                for entry in entries:
                    what = entry[0]
                    if what == "image":
                        _what, field, image, reason, fix = entry
                        if image not in declared_images:
                            add(field, reason, fix)
                    elif what == "repo":
                        if entry[1] != fleet.repo_url:
                            add("spec.source.repoURL", f"repository URL {entry[1]}: {entry[2]}", "name the real repository")
                    elif what == "server":
                        add("spec.destination.server", f"Argo CD destination {entry[1]}: {entry[2]}",
                            "set argocd.destinationServer to the cluster Argo CD deploys to")
                    elif what == "variable-image":
                        _what, i, value, reason = entry
                        if value not in declared_images:
                            add(f"spec.customizedVariables[{i}].value", reason, "pin a release tag or a digest")
                    elif what == "superlink-address":
                        _what, i, address = entry
                        if hub and address and (address == hub.superlink_node_address or (
                                hub.superlink_domain and address.endswith("." + hub.superlink_domain))):
                            continue  # rendered from the hub's superlink setting: reported at its spec line
                        reason = invalid_host(address) or unreachable_reason(address, namespaces) or example_host(address)
                        if reason:
                            add(f"spec.customizedVariables[{i}].value",
                                f"SuperNodes are told to dial SUPERLINK_ADDRESS {address}: {reason}",
                                "managed clusters cannot reach it; set the hub's superlink exposure in fleet.yaml "
                                "and do not patch the address")
                    elif what == "superlink":
                        _what, endpoint, ns, name, unset = entry
                        if (ns, name) not in services:
                            add("spec.server.superlink",
                                f"spec.server.superlink {'is unset, so the CRD default ' if unset else ''}{endpoint} "
                                f"names Service {ns}/{name}, which this build does not have",
                                "the controller's ServerApp would dial nothing; leave spec.server.superlink to fedfleet "
                                "(superlink-<job>.flower-system:9091)")
    return out


def _ident(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"


def _image_fix(obj: Mapping[str, Any], field: str) -> str:
    if obj.get("kind") == "Application" and "kustomize.images" in field:
        return ("set controller.image in fleet.yaml (spec.defaults or the hub) to a digest of the FL controller "
                "image: upstream publishes it only as :latest")
    if field.endswith(SIDECAR_ANNOTATION + "]"):
        return "set governance.plugins.observability.sidecarImage to a pinned image"
    return "pin a release tag or a digest"


def _images(obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, image) for every container image in an object, at any depth (pod templates,
    AddOnTemplate manifests, Policy object-templates), plus Argo CD kustomize image overrides
    (`name=image`) and the metrics-sidecar annotation."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if SIDECAR_ANNOTATION in annotations:
        yield f"metadata.annotations[{SIDECAR_ANNOTATION}]", str(annotations[SIDECAR_ANNOTATION])
    if obj.get("kind") == "Application":
        for i, entry in enumerate(((((obj.get("spec") or {}).get("source") or {}).get("kustomize") or {})
                                   .get("images") or [])):
            text = str(entry)
            yield f"spec.source.kustomize.images[{i}]", text.split("=", 1)[1] if "=" in text else text
    yield from _walk_images(obj, ())


def _walk_images(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[str, str]]:
    # Plain dict/list checks (built objects are JSON data): typing.Mapping's isinstance is ~5x
    # slower, and this walks every node of every built object (a large fleet has tens of thousands).
    if type(value) is dict:
        for key, sub in value.items():
            if type(sub) is list:
                if key in _CONTAINER_LISTS:
                    for i, c in enumerate(sub):
                        if type(c) is dict and type(c.get("image")) is str:
                            yield f"{dotted(path + (key, i))}.image", c["image"]
                yield from _walk_images(sub, path + (key,))
            elif type(sub) is dict:
                yield from _walk_images(sub, path + (key,))
    elif type(value) is list:
        for i, sub in enumerate(value):
            if type(sub) is dict or type(sub) is list:
                yield from _walk_images(sub, path + (i,))


_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
