"""The preview run: build -> read what ships -> certificates -> SuperLink -> SuperNodes ->
controller ServerApp/ClientApps -> the bundle's `flwr run` Job -> baseline -> report.

Nothing here invents a Flower command line: every process is a container of the built hub overlay
(shipped.py), or the FL controller's own ServerApp/ClientApp command as its templates write it.
A wrong flag, port, Service, mount or variable in the bundle therefore fails the preview.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .. import pipeline
from ..render.flower import APP_DIR, RUN_ANNOTATION
from ..spec.model import Fleet, Job
from ..spec.paths import inside_repo
from ..versions import FLOWER_VERSION
from . import registration
from .certs import Chain, TlsFiles
from .processes import ProcessSet, free_port
from .shipped import (
    DEFAULT_SUPERLINK, DEFAULT_SUPERNODE, Loopback, Materialiser, Objects, Process, ShippedError,
    delivered_objects, parse_endpoint, pod_spec, resolve_exposure, resolve_service, substitute_template, workload_id,
)

ROUND_LINE = re.compile(r"fedfleet-round (\{.*\})")
# The quality gate's one result line (render/gate.py RESULT_PREFIX), in the run Job's output.
VALIDATION_LINE = re.compile(r"fedfleet-validation (\{.*\})")


class SimulationError(Exception):
    """A preview that cannot run or did not finish; `code` is the CLI exit code (1 or 2)."""

    def __init__(self, message: str, code: int = 1, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass
class SimulationResult:
    job: str
    clients: list[str]
    rounds: list[dict[str, float]] = field(default_factory=list)  # round, loss, accuracy (global model)
    federated_accuracy: float = 0.0
    centralized_accuracy: float = 0.0
    centralized_loss: float = 0.0
    wall_seconds: float = 0.0
    tls: bool = True
    processes: list[str] = field(default_factory=list)  # what ran: name and workload
    leftover_processes: list[int] = field(default_factory=list)
    validation: dict[str, Any] | None = None  # the quality gate's result (spec.validation), as gate.py printed it
    registration: bool = False  # the SuperNodes reached the SuperLink through the registration tunnels
    intruders: dict[str, dict[str, bool]] = field(default_factory=dict)  # kind -> joined, receivedMessages
    tunnel_refusals: dict[str, int] = field(default_factory=dict)  # reason -> handshakes the SuperLink's tunnel refused

    @property
    def gate_failed(self) -> bool:
        return self.validation is not None and self.validation.get("verdict") != "passed"

    @property
    def intruder_admitted(self) -> bool:
        return any(f["joined"] or f["receivedMessages"] for f in self.intruders.values())

    @property
    def ratio(self) -> float:
        return self.federated_accuracy / self.centralized_accuracy if self.centralized_accuracy else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job, "clients": self.clients, "rounds": self.rounds,
            "federatedAccuracy": self.federated_accuracy, "centralizedAccuracy": self.centralized_accuracy,
            "centralizedLoss": self.centralized_loss, "ratio": self.ratio, "wallSeconds": self.wall_seconds,
            "tls": self.tls, "flowerVersion": FLOWER_VERSION, "processes": self.processes,
            "leftoverProcesses": self.leftover_processes, "validation": self.validation,
            "registration": self.registration, "intruders": self.intruders, "tunnelRefusals": self.tunnel_refusals,
        }


def app_config(app_dir: Path) -> dict[str, Any]:
    """The app's [tool.flwr.app] table: its components and run config defaults."""
    try:
        pyproject = tomllib.loads((app_dir / "pyproject.toml").read_text(encoding="utf-8"))
        app = dict(pyproject["tool"]["flwr"]["app"])
        app["config"], app["components"]["serverapp"]  # noqa: B018 - both must exist
        return app
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise SimulationError(f"{app_dir} is not a Flower app (pyproject.toml [tool.flwr.app]): {exc}", 2) from None


def resolve_app(fleet: Fleet, job: Job) -> Path:
    if job.framework != "flower":
        raise SimulationError(f"job {job.name} uses {job.framework}; simulate runs Flower jobs", 2)
    app = job.simulation.get("app")
    if not app:
        raise SimulationError(f"job {job.name} names no Flower app (spec.simulation.app)", 2)
    path = inside_repo(fleet.spec_dir, app)
    if path is None:  # load refuses it already; simulate never runs code from outside the repository
        raise SimulationError(f"the app of job {job.name} ({app!r}) leaves the repository", 2)
    if not (path / "pyproject.toml").is_file():
        raise SimulationError(f"the app of job {job.name} is not found at {path}", 2)
    return path


def _env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLWR_")}
    env.update({
        # The containers' binaries are this interpreter's Flower scripts.
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        "FLWR_TELEMETRY_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _scripts(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def wait_for_port(port: int, proc: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@contextmanager
def superlink(workdir: Path, tls: TlsFiles | None, startup_timeout: float = 30) -> Iterator[tuple[ProcessSet, int]]:
    """A bare 1.26.1 SuperLink on 127.0.0.1 (TLS unless `tls` is None), for TLS tests; torn down on exit."""
    procs = ProcessSet(workdir, _env(workdir))
    ports = [free_port() for _ in range(3)]
    argv = [_scripts("flower-superlink"), f"--serverappio-api-address=127.0.0.1:{ports[0]}",
            f"--fleet-api-address=127.0.0.1:{ports[1]}", f"--control-api-address=127.0.0.1:{ports[2]}"]
    argv += [f"--ssl-ca-certfile={tls.ca}", f"--ssl-certfile={tls.cert}", f"--ssl-keyfile={tls.key}"] if tls else ["--insecure"]
    try:
        proc = procs.start("superlink", argv)
        if not wait_for_port(ports[1], proc, startup_timeout):
            raise SimulationError("the SuperLink did not start", 1, procs.log_tail("superlink"))
        yield procs, ports[1]
    finally:
        leftover = procs.stop()
        if leftover:
            raise SimulationError(f"processes {leftover} survived SIGKILL", 1)


def tls_refuses_unknown_ca(port: int) -> bool:
    """True when a client that does not trust the preview CA cannot complete a TLS handshake."""
    context = ssl.create_default_context()  # the system's CAs, not ours
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1"):
                return False
    except ssl.SSLCertVerificationError:
        return True


def _baseline(app_dir: Path, app: dict[str, Any], rounds: int) -> tuple[float, float]:
    """The app's centralized baseline: `centralized_baseline` of the `task` module beside its
    ServerApp, trained on the pooled data for as many epochs as each client trains in total."""
    config = app["config"]
    package = app["components"]["serverapp"].split(":")[0].rsplit(".", 1)[0]
    sys.path.insert(0, str(app_dir))
    try:
        module = importlib.import_module(f"{package}.task")
        loss, accuracy = module.centralized_baseline(rounds, int(config["local-epochs"]), float(config["learning-rate"]),
                                                     int(config["batch-size"]))
        return float(loss), float(accuracy)
    except (AttributeError, KeyError, ImportError) as exc:
        raise SimulationError(f"the app at {app_dir} has no centralized_baseline in its task module: {exc}", 2) from None
    finally:
        sys.path.remove(str(app_dir))


def hub_objects(build: pipeline.Rendered, job: Job) -> list[dict[str, Any]]:
    """The job's hub overlay as kustomize builds it (what Argo CD applies)."""
    from ..checks.built import build_and_check
    from ..render import overlay_root

    root = overlay_root(job.hub)
    built = build_and_check(build.files, {root: job.hub}, None)
    if built.build_findings:
        raise SimulationError("the bundle does not build: " + "; ".join(f.message for f in built.build_findings), 1)
    return built.objects[root]


@dataclass
class Federation:
    """The processes of one preview, in start order, as read from the bundle."""

    superlink: Process
    supernodes: list[tuple[str, Process]]  # (cluster, SuperNode)
    serverapp: Process
    clientapps: list[tuple[str, Process]]
    run: Process
    rounds: int
    tls: bool
    tunnels: list[Process] = field(default_factory=list)  # registration tunnels: the SuperLink's first
    intruders: list[tuple[str, Process]] = field(default_factory=list)  # (kind, SuperNode) of `intruders`


def read_federation(objects: list[dict[str, Any]], fleet: Fleet, job: Job, clients: list[str], app_dir: Path,
                    workdir: Path, rounds: int | None, intruders: Sequence[str] = ()) -> Federation:
    """Everything the hub and each client cluster would run for `job`, from the built objects."""
    hub = Objects(objects, "hub")
    chain = Chain(lambda kind, ns, name: hub.get(kind, ns, name), list(hub.of("Certificate")), list(hub.of("Secret")))
    loop = Loopback()
    m = Materialiser(workdir, chain, loop)
    fl = hub.get("FederatedLearning", job.namespace, job.object_name)
    if fl is None:
        raise ShippedError(f"the hub overlay has no FederatedLearning {job.namespace}/{job.object_name}")
    link_ep = fl["spec"]["server"].get("superlink", DEFAULT_SUPERLINK)
    node_ep = fl["spec"]["client"].get("supernode", DEFAULT_SUPERNODE)
    placement = fl["spec"]["client"]["placement"]

    # The SuperLink: the workload behind the Service the controller's ServerApp dials.
    parsed = parse_endpoint(link_ep)
    if parsed is None:
        raise ShippedError(f"FederatedLearning {job.name} spec.server.superlink {link_ep!r} is not <service>.<namespace>:<port>")
    serverapp_who = f"the controller's ServerApp of {job.name} (--appio-api-address={link_ep})"
    workload, container, serverappio = resolve_service(hub, *parsed, serverapp_who)
    link = m.process(hub, workload, container, "superlink")
    tls_secret = next((v["secret"]["secretName"] for v in pod_spec(workload).get("volumes", []) if "secret" in v), None)

    # SuperNodes: the add-on install placement that selects the job's clusters, its config, the template.
    cma = hub.get("ClusterManagementAddOn", None, "flower-addon")
    if cma is None:
        raise ShippedError("the hub overlay installs no flower-addon ClusterManagementAddOn: no SuperNode would run")
    install = None
    for entry in cma["spec"].get("installStrategy", {}).get("placements", []):
        p = hub.get("Placement", entry["namespace"], entry["name"])
        if p is not None and p.get("spec") == placement:
            install = entry
    if install is None:
        raise ShippedError(f"no install placement of the flower-addon selects job {job.name}'s clusters (none has the "
                           "job's PlacementSpec): its SuperNodes would not run where the controller puts its ClientApps")
    adc_ref = next((c for c in install.get("configs", []) if c.get("resource") == "addondeploymentconfigs"), None)
    adc = hub.get("AddOnDeploymentConfig", adc_ref["namespace"], adc_ref["name"]) if adc_ref else None
    if adc is None:
        raise ShippedError(f"install placement {install['name']} names no AddOnDeploymentConfig the hub has")
    template_name = next((c["defaultConfig"]["name"] for c in cma["spec"].get("supportedConfigs", [])
                          if c.get("resource") == "addontemplates" and "defaultConfig" in c), "flower-addon")
    template = hub.get("AddOnTemplate", None, template_name)
    if template is None:
        raise ShippedError(f"the flower-addon names AddOnTemplate {template_name}, which the hub overlay lacks")
    variables = {v["name"]: str(v["value"]) for v in adc["spec"].get("customizedVariables", [])}
    variables["INSTALL_NAMESPACE"] = adc["spec"].get("agentInstallNamespace", "open-cluster-management-agent-addon")
    sets = {c.name: c.cluster_set for c in fleet.clusters}
    reg = registration.custom_signer(template)
    link_wid = workload_id(workload, "hub")
    # The SuperLink pod's other containers (the registration tunnel) run beside it.
    hub_tunnels = [m.process(hub, workload, c, f"superlink-{c['name']}") for c in pod_spec(workload)["containers"]
                   if c is not container]
    supernodes: list[tuple[str, Process]] = []
    clientapps: list[tuple[str, Process]] = []
    tunnels: list[Process] = list(hub_tunnels)
    intruding: list[tuple[str, Process]] = []

    def check_names(host: str, who: str, argv: list[str]) -> None:
        _check_san(chain, tls_secret, host, who, argv)

    def cluster_pod(cluster: str, name: str, delivered_from: str, intruder: str | None = None) -> tuple[Process, Objects]:
        where = f"AddOnTemplate {template_name} on {name}"
        manifests = substitute_template(template["spec"]["agentSpec"]["workload"]["manifests"],
                                        {**variables, "CLUSTER_NAME": name}, where)
        extra: list[dict[str, Any]] = []
        if reg is not None:
            if intruder != "none":
                registration.decorate(manifests, reg["signerName"])
                extra.append(registration.credential(hub, m, reg, cluster, variables["INSTALL_NAMESPACE"],
                                                     foreign=intruder == "foreign"))
            else:
                registration.strip_credential(manifests)
        scope = Objects(manifests + extra + delivered_objects(hub, delivered_from, sets[delivered_from], placement, m),
                        f"cluster {name}")
        deployments = [d for d in scope.of("Deployment")]
        if not deployments:
            raise ShippedError(f"{where} has no Deployment: no SuperNode")
        node_workload = deployments[0]
        containers = pod_spec(node_workload)["containers"]
        node = m.process(scope, node_workload, containers[0], f"supernode-{name}")
        pod_tunnels = [m.process(scope, node_workload, c, f"supernode-{name}-{c['name']}") for c in containers[1:]]
        who = f"the SuperNode on {name}"
        for t in pod_tunnels:
            registration.point_client_tunnel(t, hub, workload, f"the tunnel of {who}", lambda n: loop.port(link_wid, n),
                                             lambda host: check_names(host, f"the tunnel of {who}", ["root-certificates"]))
        tunnels.extend(pod_tunnels)
        # The SuperNode dials the exposed SuperLink, or (registration tunnel) a loopback port of its
        # own pod where the tunnel listens; map the exposed host:port to the SuperLink pod's port.
        for i, arg in enumerate(node.argv):
            if arg.startswith("--superlink=") or (i and node.argv[i - 1] == "--superlink"):
                target = arg.split("=", 1)[1] if arg.startswith("--superlink=") else arg
                host, _, port = target.rpartition(":")
                if host == "127.0.0.1":
                    if not any(int(port) in t.ports.values() for t in pod_tunnels):
                        raise ShippedError(f"{who} dials {target} in its own pod, where no container listens")
                    check_names("127.0.0.1", who, node.argv)
                    continue
                w, _c, number, how = resolve_exposure(hub, host, int(port), who)
                if w is not workload:
                    raise ShippedError(f"{who} reaches {w['metadata']['name']} through {how}, not "
                                       f"the job's SuperLink {workload['metadata']['name']}")
                check_names(host, who, node.argv)
                node.argv[i] = ("--superlink=" if arg.startswith("--superlink=") else "") + f"127.0.0.1:{loop.port(link_wid, number)}"
        return node, scope

    for cluster in clients:
        node, scope = cluster_pod(cluster, cluster, cluster)
        node_workload = next(iter(scope.of("Deployment")))
        supernodes.append((cluster, node))
        # The controller's ClientApp on this cluster (clientapp/manifestworkreplicaset.yaml:33-36).
        parsed_node = parse_endpoint(node_ep)
        if parsed_node is None:
            raise ShippedError(f"FederatedLearning {job.name} spec.client.supernode {node_ep!r} is not <service>.<namespace>:<port>")
        w, _c, number = resolve_service(scope, *parsed_node, f"the controller's ClientApp on {cluster} "
                                        f"(--appio-api-address={node_ep})")
        if w is not node_workload:
            raise ShippedError(f"Service {node_ep} on {cluster} does not lead to the SuperNode")
        clientapps.append((cluster, Process(f"clientapp-{cluster}", [
            "flower-superexec", "--insecure", f"--appio-api-address=127.0.0.1:{node.ports[number]}",
            "--plugin-type=clientapp"], {}, f"controller ClientApp on {cluster}")))
    for kind in intruders:
        if kind not in registration.INTRUDER_KINDS:
            raise SimulationError(f"unknown intruder {kind!r} (one of {', '.join(registration.INTRUDER_KINDS)})", 2)
        # A copy of the first client's set-up (its CA, node config and cluster name in the
        # credential), without its credential: none at all, or one signed by another CA.
        # other-job: the credential of a cluster of the fleet outside this job (right CA, wrong cluster).
        outsider = next((c.name for c in fleet.clusters if c.name not in clients), "registered-elsewhere")
        node, _scope = cluster_pod(outsider if kind == "other-job" else clients[0], f"intruder-{kind}", clients[0],
                                   intruder=kind)
        intruding.append((kind, node))

    # The controller's ServerApp (serverapp/serverapp-deployment.yaml:25-28).
    serverapp = Process("serverapp", ["flower-superexec", "--insecure",
                                      f"--appio-api-address=127.0.0.1:{link.ports[serverappio]}",
                                      "--plugin-type=serverapp"], {}, "controller ServerApp")

    # The run: the bundle's Job for this job, with its app directory being the job's app here.
    run_job = next((j for j in hub.of("Job") if j["metadata"].get("annotations", {}).get(RUN_ANNOTATION) == job.name), None)
    if run_job is None:
        raise ShippedError(f"the hub overlay has no Job that runs job {job.name} (annotation {RUN_ANNOTATION})")
    run = m.process(hub, run_job, pod_spec(run_job)["containers"][0], "flwr-run", extra_paths={APP_DIR: app_dir})
    run_rounds = _rounds_of(run.argv)
    if rounds is not None:
        run.argv = [re.sub(r"num-server-rounds=\d+", f"num-server-rounds={rounds}", a) for a in run.argv]
        run_rounds = rounds
    _point_run_at_superlink(run, hub, chain, tls_secret, link)
    tls = any(a.startswith("--ssl-certfile") for a in link.argv)
    return Federation(link, supernodes, serverapp, clientapps, run, run_rounds, tls, tunnels, intruding)


def _rounds_of(argv: list[str]) -> int:
    for a in argv:
        m = re.search(r"num-server-rounds=(\d+)", a)
        if m:
            return int(m.group(1))
    raise ShippedError("the run Job does not pass num-server-rounds")


def _check_san(chain: Chain, secret: str | None, host: str, who: str, argv: list[str]) -> None:
    """The name a client dials must be in the SuperLink certificate's SANs (gRPC verifies it)."""
    if secret is None or not any("root-certificates" in a for a in argv):
        return
    from ..upstream import SUPERLINK_NAMESPACE

    dns, ips = chain.sans(SUPERLINK_NAMESPACE, secret)
    if host not in dns and host not in ips:
        raise ShippedError(f"{who} dials {host}, but the SuperLink certificate (Secret {secret}) names only "
                           f"{', '.join(dns + ips) or 'nothing'}: TLS verification would fail")


def _point_run_at_superlink(run: Process, hub: Objects, chain: Chain, tls_secret: str | None, link: Process) -> None:
    """The run Job's connection (FLWR_HOME/config.toml) names the SuperLink's Control API Service."""
    home = run.env.get("FLWR_HOME")
    config = Path(home) / "config.toml" if home else None
    if config is None or not config.is_file():
        raise ShippedError("the run Job has no FLWR_HOME/config.toml: `flwr run` would not know the SuperLink")
    text = config.read_text()
    for match in re.finditer(r'address\s*=\s*"([^"]+)"', text):
        parsed = parse_endpoint(match.group(1))
        if parsed is None:
            raise ShippedError(f"the run Job dials {match.group(1)!r}, which is not a hub Service address")
        w, _c, number = resolve_service(hub, *parsed, f"the run Job (address {match.group(1)})")
        if w["metadata"]["name"] != link.workload.split("/")[-1]:
            raise ShippedError(f"the run Job dials {match.group(1)}, which is not the job's SuperLink")
        if "root-certificates" in text and tls_secret:
            dns, ips = chain.sans(w["metadata"].get("namespace", ""), tls_secret)
            host = match.group(1).rsplit(":", 1)[0]
            if host not in dns and host not in ips:
                raise ShippedError(f"the run Job dials {host}, but the SuperLink certificate names only {', '.join(dns + ips)}")
        text = text.replace(match.group(0), f'address = "127.0.0.1:{link.ports[number]}"')
    config.write_text(text)


def run_simulation(build: pipeline.Rendered, job_name: str, rounds: int | None = None, timeout: float = 300,
                   progress: Callable[[str], None] | None = None,
                   objects: list[dict[str, Any]] | None = None, intruders: Sequence[str] = ()) -> SimulationResult:
    """Run what the bundle ships for `job_name` on its planned clients. `objects` replaces the
    built hub overlay (tests break a rendered copy); `intruders` adds unregistered SuperNodes
    (simulate/registration.py) whose fate is reported. Raises SimulationError; always tears down."""
    fleet, plan = build.fleet, build.plan
    job = next((j for j in fleet.jobs if j.name == job_name), None)
    if job is None:
        raise SimulationError(f"no job named {job_name!r}", 2)
    app_dir = resolve_app(fleet, job)
    app = app_config(app_dir)
    job_plan = plan.job(job.name)
    if not job_plan.enough:
        raise SimulationError(
            f"job {job.name} can select only {len(job_plan.selected)} client(s), fewer than minAvailableClients="
            f"{job.min_clients}: on the hub it would stay Waiting (see `fedfleet plan {job.name}`)", 1)
    clients = sorted(job_plan.cluster_names)
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fedfleet-simulate-"))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    procs = ProcessSet(workdir, _env(workdir))
    try:
        try:
            fed = read_federation(objects if objects is not None else hub_objects(build, job), fleet, job, clients,
                                  app_dir, workdir, rounds, intruders)
        except ShippedError as exc:
            raise SimulationError(f"the bundle would not run: {exc}", 1) from None
        if fed.tunnels and shutil.which("stunnel") is None:
            raise SimulationError("the bundle's registration tunnels need stunnel, which is not installed here "
                                  "(Debian: apt-get install -y stunnel4)", 2)
        ran = [f"{p.name}: {' '.join(p.argv[:1] + p.argv[1:])}" for p in _all(fed)]
        _start(procs, fed.superlink, say, "SuperLink", wait=True)
        probe = fed.superlink.probe_ports[0][1] if fed.superlink.probe_ports else 0
        say(f"SuperLink on 127.0.0.1:{probe} ({fed.superlink.workload.split(':', 1)[1]}, "
            f"{'TLS, throwaway cert-manager chain' if fed.tls else 'INSECURE'})")
        for t in fed.tunnels:
            _start(procs, t, say, f"tunnel {t.name}", wait=True)
            for address in registration.loopback_backends(t):
                if not wait_for_port(int(address.rsplit(":", 1)[1]), procs.started[0][1], 30):
                    raise SimulationError(f"tunnel {t.name} ({t.workload}) forwards to {address}, where nothing in its "
                                          "pod listens (the SuperLink's --fleet-api-address is elsewhere)", 1,
                                          procs.log_tail(fed.superlink.name))
        if fed.tunnels:
            say(f"registration tunnels: {len(fed.tunnels)} (stunnel), credentials signed by the bundle's signing CA")
        for cluster, node in fed.supernodes:
            _start(procs, node, say, f"SuperNode {cluster}", wait=True)
        for kind, node in fed.intruders:
            _start(procs, node, say, f"intruder SuperNode ({kind})", wait=True)
        for _, clientapp in fed.clientapps:
            _start(procs, clientapp, say, clientapp.name)
        _start(procs, fed.serverapp, say, "ServerApp")
        say(f"{len(fed.supernodes)} SuperNode(s) from the AddOnTemplate, controller ServerApp and ClientApps started")
        run = _start(procs, fed.run, say, "flwr run")
        rounds_done = _follow(procs, run, timeout, say)
        if run.returncode != 0:
            raise SimulationError(f"the run Job's `flwr run` exited with {run.returncode}", 1, procs.log_tail("flwr-run", 25))
        if not rounds_done or rounds_done[-1]["round"] != fed.rounds:
            raise SimulationError(f"the federation stopped before round {fed.rounds}", 1, procs.log_tail("flwr-run", 25))
        validation = read_validation((procs.workdir / "flwr-run.log").read_text(errors="replace"))
        if job.gate and validation is None:
            raise SimulationError("the run Job's quality gate reported no result (no fedfleet-validation line)", 1,
                                  procs.log_tail("flwr-run", 25))
        intruded = {kind: _intruder_fate((procs.workdir / f"{node.name}.log").read_text(errors="replace"))
                    for kind, node in fed.intruders}
        refusals = {reason: 0 for reason in REFUSALS}
        for t in fed.tunnels:
            if t.name.startswith("superlink-"):
                for reason, n in _refusals((procs.workdir / f"{t.name}.log").read_text(errors="replace")).items():
                    refusals[reason] += n
        leftover = procs.stop()
        c_loss, c_acc = _baseline(app_dir, app, fed.rounds)
        return SimulationResult(
            job=job.name, clients=clients, rounds=rounds_done, federated_accuracy=rounds_done[-1]["accuracy"],
            centralized_accuracy=c_acc, centralized_loss=c_loss, wall_seconds=round(time.monotonic() - started, 2),
            tls=fed.tls, processes=ran, leftover_processes=leftover, validation=validation,
            registration=bool(fed.tunnels), intruders=intruded, tunnel_refusals=refusals)
    finally:
        leftover = procs.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)
        if leftover:
            raise SimulationError(f"processes {leftover} survived SIGKILL", 1)


def _all(fed: Federation) -> list[Process]:
    return [fed.superlink, *fed.tunnels, *(p for _, p in fed.supernodes), *(p for _, p in fed.intruders),
            *(p for _, p in fed.clientapps), fed.serverapp, fed.run]


def _intruder_fate(log: str) -> dict[str, bool]:
    """From a SuperNode's log (flwr 1.26.1 supernode/start_client_internal.py): `SuperNode ID: ...`
    once the SuperLink registered it, `[RUN ...` for every message (model) it received."""
    return {"joined": "SuperNode ID:" in log, "receivedMessages": "[RUN " in log}


REFUSALS = {"no certificate": "peer did not return a certificate",
            "not signed by the registration CA": "CERT: Pre-verification error",
            # the hub tunnel's checkHost lines (render/tunnel.py hub_config): not one of the job's clusters
            "not a cluster of this job": "CERT: Subject checks failed"}


def _refusals(log: str) -> dict[str, int]:
    """Handshakes the hub tunnel refused, by reason (stunnel 5.68 with OpenSSL 3: `SSL_accept: ...
    peer did not return a certificate`, or its certificate check's `CERT: ...` warning, one per
    refused handshake: a chain that does not verify, or a subject no checkHost line names)."""
    lines = log.splitlines()
    return {reason: sum(needle in l for l in lines) for reason, needle in REFUSALS.items()}


def _start(procs: ProcessSet, p: Process, say: Callable[[str], None], label: str, wait: bool = False) -> Any:
    env = dict(procs.env)
    env.update(p.env)
    if "FLWR_HOME" not in p.env:  # each container has its own filesystem
        env["FLWR_HOME"] = str(procs.workdir / p.name / "flwr-home")
    argv = [_scripts(p.argv[0]), *p.argv[1:]]
    proc = procs.start(p.name, argv, env=env)
    if wait:
        for probe, port in p.probe_ports[:1]:
            if not wait_for_port(port, proc, 30):
                raise SimulationError(f"{label} ({p.workload}) never answered its {probe}: it exited or listens elsewhere",
                                      1, procs.log_tail(p.name))
        if proc.poll() is not None:
            raise SimulationError(f"{label} ({p.workload}) exited with {proc.returncode}", 1, procs.log_tail(p.name))
    return proc


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so `finally` tears everything down on SIGTERM too


def read_rounds(log: str) -> list[dict[str, float]]:
    """The rounds the ServerApp reported so far (its `fedfleet-round` lines, streamed by `flwr run`)."""
    return [json.loads(m.group(1)) for m in ROUND_LINE.finditer(log)]


def read_validation(log: str) -> dict[str, Any] | None:
    found = VALIDATION_LINE.findall(log)
    return json.loads(found[-1]) if found else None


def _follow(procs: ProcessSet, run: Any, timeout: float, say: Callable[[str], None]) -> list[dict[str, float]]:
    """Wait for `flwr run`, reporting each finished round as the ServerApp logs it."""
    deadline = time.monotonic() + timeout
    reported = 0
    log = procs.workdir / "flwr-run.log"
    while True:
        running = run.poll() is None
        rounds = read_rounds(log.read_text(errors="replace")) if log.exists() else []
        for record in rounds[reported:]:
            say(f"round {record['round']}: loss {record['loss']:.4f}, accuracy {record['accuracy']:.4f}")
        reported = len(rounds)
        if not running:
            return rounds
        if time.monotonic() > deadline:
            raise SimulationError(f"the federation did not finish within {timeout:.0f} s", 1, procs.log_tail("flwr-run", 25))
        procs.remember_descendants()
        for name, proc in procs.started:
            # An intruder (--intruder) may come and go: its fate is read from its log, not required.
            if (name.startswith("supernode") and "-intruder-" not in name) or name.startswith("superlink"):
                if proc.poll() is not None:
                    raise SimulationError(f"{name} exited early with {proc.returncode}", 1, procs.log_tail(name))
        time.sleep(0.25)
