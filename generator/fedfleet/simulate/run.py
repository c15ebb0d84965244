"""The preview run: plan -> certificates -> SuperLink -> SuperNodes -> flwr run -> baseline -> report.

Flower 1.42 serves the Fleet, Control and runtime APIs of a SuperLink over HTTPS on one port
(`--host/--port`); each SuperNode has its own runtime port. `flwr run APP CONNECTION --stream`
reads the connection (address, root certificates) from FLWR_HOME/config.toml. The SuperLink
starts `flower-superexec` by name, so the interpreter's scripts directory leads PATH.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ..placement import Plan
from ..spec.model import Fleet, Job
from ..spec.paths import inside_repo
from ..versions import FLOWER_VERSION
from .certs import TlsFiles, make_node_keys, make_tls
from .processes import ProcessSet, free_port

CONNECTION = "fedfleet-preview"
# FLWR_SUPEREXEC_TASK_POLL_INTERVAL stays at Flower's default (1 s): on 2 cores, 4 clients x 5
# rounds took 64-70 s at 0.2 s, 58 s at 0.5 s and 56 s at 1 s (bench/simulate.py) - faster
# polling by five SuperExecs competes with the ClientApps for the CPU.


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
    supernode_auth: bool = False
    leftover_processes: list[int] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.federated_accuracy / self.centralized_accuracy if self.centralized_accuracy else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job, "clients": self.clients, "rounds": self.rounds,
            "federatedAccuracy": self.federated_accuracy, "centralizedAccuracy": self.centralized_accuracy,
            "centralizedLoss": self.centralized_loss, "ratio": self.ratio, "wallSeconds": self.wall_seconds,
            "tls": self.tls, "supernodeAuth": self.supernode_auth, "flowerVersion": FLOWER_VERSION,
            "leftoverProcesses": self.leftover_processes,
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
    scripts = str(Path(sys.executable).parent)
    env.update({
        "PATH": scripts + os.pathsep + env.get("PATH", ""),
        "FLWR_HOME": str(workdir / "flwr-home"),
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
def superlink(workdir: Path, tls: TlsFiles | None, auth: bool = False, startup_timeout: float = 30) -> Iterator[tuple[ProcessSet, int]]:
    """A SuperLink on 127.0.0.1 (TLS unless `tls` is None); torn down on exit, whatever happens."""
    procs = ProcessSet(workdir, _env(workdir))
    port = free_port()
    argv = [_scripts("flower-superlink"), "--host", "127.0.0.1", "--port", str(port),
            "--database", str(workdir / "superlink.db"), "--disable-runtime-dependency-installation"]
    argv += ["--ssl-ca-certfile", str(tls.ca), "--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)] if tls else ["--insecure"]
    if auth:
        argv.append("--enable-supernode-auth")
    try:
        proc = procs.start("superlink", argv)
        if not wait_for_port(port, proc, startup_timeout):
            raise SimulationError("the SuperLink did not start", 1, procs.log_tail("superlink"))
        yield procs, port
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


def _write_connection(workdir: Path, port: int, tls: TlsFiles | None) -> None:
    home = workdir / "flwr-home"
    home.mkdir(exist_ok=True)
    lines = ["[superlink]", f'default = "{CONNECTION}"', "", f"[superlink.{CONNECTION}]", f'address = "127.0.0.1:{port}"']
    lines.append(f'root-certificates = "{tls.ca}"' if tls else "insecure = true")
    (home / "config.toml").write_text("\n".join(lines) + "\n")


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


def run_simulation(fleet: Fleet, plan: Plan, job_name: str, rounds: int | None = None, max_clients: int | None = None,
                   insecure: bool = False, supernode_auth: bool | None = None, timeout: float = 300,
                   progress: Callable[[str], None] | None = None) -> SimulationResult:
    """Run the job's app on its planned clients. Raises SimulationError; always tears down."""
    try:
        job = fleet.job(job_name)
    except KeyError:
        raise SimulationError(f"no job named {job_name!r}", 2) from None
    app_dir = resolve_app(fleet, job)
    app = app_config(app_dir)
    job_plan = plan.job(job.name)
    if not job_plan.enough:
        raise SimulationError(
            f"job {job.name} can select only {len(job_plan.selected)} client(s), fewer than minAvailableClients="
            f"{job.min_clients}: on the hub it would stay Waiting (see `fedfleet plan {job.name}`)", 1)
    clients = list(job_plan.cluster_names[: max_clients or None])
    if len(clients) < job.min_clients:
        raise SimulationError(f"--clients {max_clients} is fewer than the job's minAvailableClients={job.min_clients}", 1)
    n_rounds = rounds or job.rounds
    auth = bool(job.simulation.get("supernodeAuth", False)) if supernode_auth is None else supernode_auth
    say = progress or (lambda _msg: None)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fedfleet-simulate-"))
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        tls = None if insecure else make_tls(workdir)
        with superlink(workdir, tls, auth) as (procs, port):
            _write_connection(workdir, port, tls)
            say(f"SuperLink on 127.0.0.1:{port} ({'TLS, throwaway CA' if tls else 'INSECURE'})")
            if auth:
                say("SuperNode authentication on: registering one key pair per client")
            for i, cluster in enumerate(clients):
                argv = [_scripts("flower-supernode"), "--superlink", f"127.0.0.1:{port}", "--port", str(free_port()),
                        "--node-config", f'partition-id={i} num-partitions={len(clients)} cluster-name="{cluster}"']
                argv += ["--root-certificates", str(tls.ca)] if tls else ["--insecure"]
                if auth:
                    private, public = make_node_keys(workdir, cluster)
                    _register(procs, app_dir, public, cluster)
                    argv += ["--auth-supernode-private-key", str(private), "--auth-supernode-public-key", str(public)]
                procs.start(f"supernode-{cluster}", argv)
                say(f"SuperNode for {cluster} (partition {i} of {len(clients)})")
            results_file = workdir / "rounds.jsonl"
            run_config = (f"num-server-rounds={n_rounds} min-nodes={len(clients)} "
                          f"results-path='{results_file}'")
            flwr = procs.start("flwr-run", [_scripts("flwr"), "run", str(app_dir), CONNECTION, "--stream",
                                            "--run-config", run_config])
            _follow(procs, flwr, results_file, timeout, say)
            if flwr.returncode != 0:
                raise SimulationError(f"flwr run exited with {flwr.returncode}", 1, procs.log_tail("flwr-run", 25))
            rounds_done = read_rounds(results_file)
        if not rounds_done or rounds_done[-1]["round"] != n_rounds:
            raise SimulationError(f"the federation stopped before round {n_rounds}", 1)
        c_loss, c_acc = _baseline(app_dir, app, n_rounds)
        return SimulationResult(
            job=job.name, clients=clients, rounds=rounds_done, federated_accuracy=rounds_done[-1]["accuracy"],
            centralized_accuracy=c_acc, centralized_loss=c_loss, wall_seconds=round(time.monotonic() - started, 2),
            tls=tls is not None, supernode_auth=auth)
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(workdir, ignore_errors=True)


def _raise_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so `finally` tears everything down on SIGTERM too


def _register(procs: ProcessSet, app_dir: Path, public: Path, name: str) -> None:
    proc = subprocess.run([_scripts("flwr"), "supernode", "register", str(public), CONNECTION, "--name", name],
                          env=procs.env, cwd=app_dir, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise SimulationError(f"registering the SuperNode key of {name} failed", 1, (proc.stdout + proc.stderr)[-2000:])


def read_rounds(results: Path) -> list[dict[str, float]]:
    """The rounds the ServerApp has written so far (one JSON object a line)."""
    if not results.exists():
        return []
    return [json.loads(line) for line in results.read_text().splitlines() if line.strip()]


def _follow(procs: ProcessSet, flwr: subprocess.Popen[bytes], results: Path, timeout: float,
            say: Callable[[str], None]) -> None:
    """Wait for `flwr run`, reporting each finished round as the ServerApp writes it."""
    deadline = time.monotonic() + timeout
    reported = 0
    while True:
        running = flwr.poll() is None
        rounds = read_rounds(results)
        for record in rounds[reported:]:
            say(f"round {record['round']}: loss {record['loss']:.4f}, accuracy {record['accuracy']:.4f}")
        reported = len(rounds)
        if not running:
            return
        if time.monotonic() > deadline:
            raise SimulationError(f"the federation did not finish within {timeout:.0f} s", 1, procs.log_tail("flwr-run", 25))
        procs.remember_descendants()
        for name, proc in procs.started:
            if name.startswith("supernode") or name == "superlink":
                if proc.poll() is not None:
                    raise SimulationError(f"{name} exited early with {proc.returncode}", 1, procs.log_tail(name))
        time.sleep(0.25)
