"""Build small spec directories for tests: real YAML files through the real loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fedfleet.spec.load import load_fleet
from fedfleet.spec.model import Fleet

API = "fedfleet.io/v1alpha1"


def cluster(name: str, cluster_set: str = "set-a", labels: dict | None = None, claims: dict | None = None,
            cpu: str | None = "8", memory: str | None = "32Gi", taints: list | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "clusterSet": cluster_set, "labels": labels or {}, "claims": claims or {}}
    alloc = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    if alloc:
        c["allocatable"] = alloc
    if taints:
        c["taints"] = taints
    return c


def job(name: str, holders: dict[str, str], placement: dict | None = None, namespace: str = "fl-a",
        hub: str = "hub-a", min_clients: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": API, "kind": "FederatedLearningJob", "metadata": {"name": name},
        "spec": {
            "hub": hub, "namespace": namespace, "framework": "flower",
            "server": {"image": "img:1", "rounds": 1, "minAvailableClients": min_clients},
            "client": {"image": "img:1"},
            "data": {"holders": holders},
            "placement": placement if placement is not None else {},
        },
    }


def write_specs(root: Path, clusters: list[dict], jobs: list[dict],
                sets: tuple[tuple[str, str], ...] = (("set-a", "hub-a"), ("set-b", "hub-a")),
                hubs: tuple[tuple[str, str], ...] = (("hub-a", "prod"),)) -> Path:
    specs = root / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    fleet = {
        "apiVersion": API, "kind": "Fleet", "metadata": {"name": "t"},
        "spec": {
            "repo": {"url": "https://git.example.com/t.git"},
            "hubs": [{"name": h, "environment": env, "server": f"https://api.{h}.example.com:6443",
                      "superlink": {"exposure": "Route", "domain": f"apps.{h}.example.com"}} for h, env in hubs],
            "clusterSets": [{"name": s, "hub": h} for s, h in sets],
            "clusters": clusters,
        },
    }
    (specs / "fleet.yaml").write_text(yaml.safe_dump(fleet, sort_keys=False))
    (specs / "jobs.yaml").write_text(yaml.safe_dump_all(jobs, sort_keys=False))
    return specs


def build_fleet(root: Path, clusters: list[dict], jobs: list[dict], **kw: Any) -> Fleet:
    return load_fleet(write_specs(root, clusters, jobs, **kw))
