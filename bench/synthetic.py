"""A synthetic fleet for the benchmarks: many clusters and jobs, spread like a real fleet."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import yaml

API = "fedfleet.io/v1alpha1"
REGIONS = ["eu-west", "eu-central", "eu-north", "us-east", "us-west", "ap-south"]


def write_fleet(root: Path, clusters: int = 10_000, jobs: int = 1_000, hubs: int = 4,
                sets_per_hub: int = 10, holders_per_job: int = 10, seed: int = 7) -> Path:
    """Write specs/ under root and return it. Deterministic for a given seed."""
    rnd = random.Random(seed)
    specs = root / "specs"
    (specs / "clusters").mkdir(parents=True)
    (specs / "jobs").mkdir(parents=True)
    hub_names = [f"hub-{i}" for i in range(hubs)]
    sets = [(f"set-{h}-{s}", hub) for h, hub in enumerate(hub_names) for s in range(sets_per_hub)]
    fleet = {
        "apiVersion": API, "kind": "Fleet", "metadata": {"name": "bench"},
        "spec": {
            "repo": {"url": "https://git.example.com/bench/fleet.git"},
            "hubs": [{"name": h, "environment": "prod" if i % 2 else "dev",
                      "server": f"https://api.{h}.example.com:6443",
                      "superlink": {"exposure": "Route", "domain": f"apps.{h}.example.com"}} for i, h in enumerate(hub_names)],
            "clusterSets": [{"name": n, "hub": h} for n, h in sets],
        },
    }
    (specs / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    members: dict[str, list[str]] = {n: [] for n, _ in sets}
    cluster_docs = []
    for i in range(clusters):
        set_name = sets[i % len(sets)][0]
        name = f"c{i:05d}"
        members[set_name].append(name)
        cpu = rnd.choice([8, 16, 32, 64])
        cluster_docs.append({
            "name": name, "clusterSet": set_name,
            "labels": {"region": rnd.choice(REGIONS), "gpu": rnd.choice(["true", "false"]),
                       "tier": rnd.choice(["gold", "silver", "bronze"])},
            "claims": {"region.open-cluster-management.io": rnd.choice(REGIONS) + "-1"},
            "allocatable": {"cpu": str(cpu // 2), "memory": f"{cpu * 2}Gi"},
            "capacity": {"cpu": str(cpu), "memory": f"{cpu * 4}Gi"},
            **({"taints": [{"key": "maintenance", "value": "true", "effect": "NoSelect"}]} if i % 97 == 0 else {}),
        })
    job_specs = []
    # A cluster runs one Flower SuperNode, so Flower jobs draw their holders from a per-set pool
    # without overlap; a job the pool can no longer serve becomes an OpenFL job.
    pools = {s: rnd.sample(m, len(m)) for s, m in members.items()}
    for j in range(jobs):
        set_name, hub = sets[j % len(sets)]
        name = f"job-{j:04d}"
        flower = bool(j % 3) and len(pools[set_name]) >= min(holders_per_job, len(members[set_name]))
        if flower:
            holders = [pools[set_name].pop() for _ in range(min(holders_per_job, len(members[set_name])))]
        else:
            holders = rnd.sample(members[set_name], min(holders_per_job, len(members[set_name])))
        for h in holders:
            cluster_docs[int(h[1:])]["claims"][f"{name}.client-data"] = f"/data/{name}"
        job_specs.append({
            "apiVersion": API, "kind": "FederatedLearningJob", "metadata": {"name": name},
            "spec": {
                "hub": hub, "namespace": f"fl-{j % 50:02d}", "framework": "flower" if flower else "openfl",
                "server": {"image": "quay.io/bench/app:1", "rounds": 3, "minAvailableClients": 2,
                           # the FL controller needs a listener and storage for OpenFL (spec contract)
                           **({} if flower else {
                               "listeners": [{"name": "aggregator", "port": 50051, "type": "LoadBalancer"}],
                               "storage": {"type": "PersistentVolumeClaim", "name": f"models-{j:04d}",
                                           "path": "/models", "size": "1Gi"}})},
                "client": {"image": "quay.io/bench/app:1"},
                "data": {"holders": {h: f"/data/{name}" for h in sorted(holders)}},
                "placement": {
                    "clusterSets": [set_name], "numberOfClusters": 5,
                    "predicates": [{"requiredClusterSelector": {"labelSelector": {"matchExpressions": [
                        {"key": "tier", "operator": "In", "values": ["gold", "silver"]}]}}}],
                    "prioritizerPolicy": {"mode": "Additive", "configurations": [
                        {"scoreCoordinate": {"builtIn": "ResourceAllocatableMemory"}, "weight": 1}]},
                },
            },
        })
    chunk = 500
    for k in range(0, clusters, chunk):
        inv = {"apiVersion": API, "kind": "ManagedClusterInventory", "metadata": {"name": f"inv-{k // chunk:03d}"},
               "spec": {"clusters": cluster_docs[k:k + chunk]}}
        (specs / "clusters" / f"inv-{k // chunk:03d}.yaml").write_text(yaml.safe_dump(inv, sort_keys=False))
    for k in range(0, jobs, 100):
        (specs / "jobs" / f"jobs-{k // 100:02d}.yaml").write_text(yaml.safe_dump_all(job_specs[k:k + 100], sort_keys=False))
    return specs


def fleet_args(description: str | None = None) -> argparse.Namespace:
    """The benchmarks' common size arguments (defaults: the 10,000-cluster goal fleet)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--clusters", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=1_000)
    ap.add_argument("--hubs", type=int, default=4)
    return ap.parse_args()
