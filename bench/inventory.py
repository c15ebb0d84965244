"""Benchmark of `fedfleet inventory diff` and `inventory pull` against a 10,000-cluster hub.

The synthetic fleet's inventory is served as ManagedCluster and ManagedClusterSet lists by the
tests' local fake hub (127.0.0.1, pages of 500, as the API server pages them) through the real
kubernetes client; the hub's clusters differ from the inventory by one label each on 1% of them.
Prints the time of a diff, of a pull (ruamel.yaml round-trip of every inventory file that changes)
and of a second pull that finds nothing to write. Run: python bench/inventory.py [--clusters N]
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from fake_hub import FakeHub  # noqa: E402
from synthetic import fleet_args, write_fleet  # noqa: E402

from fedfleet.cli import main as fedfleet  # noqa: E402
from fedfleet.upstream import CLUSTER_SET_LABEL  # noqa: E402

CLUSTERS = "/apis/cluster.open-cluster-management.io/v1/managedclusters"
SETS = "/apis/cluster.open-cluster-management.io/v1beta2/managedclustersets"


def hub_lists(specs: Path, hub: str) -> tuple[dict, dict, int]:
    fleet = yaml.safe_load((specs / "fleet.yaml").read_text())
    sets = [s["name"] for s in fleet["spec"]["clusterSets"] if s["hub"] == hub]
    items = []
    for path in sorted((specs / "clusters").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for c in doc["spec"]["clusters"]:
                if c["clusterSet"] not in sets:
                    continue
                labels = {**c.get("labels", {}), CLUSTER_SET_LABEL: c["clusterSet"]}
                if len(items) % 100 == 0:
                    labels["gpu"] = "false" if labels.get("gpu") == "true" else "true"  # 1% drifted
                alloc = c.get("allocatable", {})
                items.append({
                    "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                    "metadata": {"name": c["name"], "labels": labels},
                    "spec": {"hubAcceptsClient": True, "taints": c.get("taints", [])},
                    "status": {"allocatable": alloc, "capacity": c.get("capacity", alloc),
                               "clusterClaims": [{"name": k, "value": v} for k, v in c.get("claims", {}).items()]},
                })
    cluster_list = {"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedClusterList",
                    "metadata": {"resourceVersion": "1"}, "items": items}
    set_list = {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSetList",
                "metadata": {"resourceVersion": "1"}, "items": [
                    {"apiVersion": "cluster.open-cluster-management.io/v1beta2", "kind": "ManagedClusterSet",
                     "metadata": {"name": s}, "spec": {"clusterSelector": {
                         "selectorType": "LabelSelector", "labelSelector": {"matchLabels": {CLUSTER_SET_LABEL: s}}}}}
                    for s in sets]}
    return cluster_list, set_list, len(items)


def timed(*argv: str) -> tuple[float, int, str]:
    out = io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(out):
        code = fedfleet(list(argv))
    return time.perf_counter() - start, code, out.getvalue()


def main() -> None:
    args = fleet_args(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        specs = write_fleet(root, args.clusters, args.jobs, args.hubs)
        hub = yaml.safe_load((specs / "fleet.yaml").read_text())["spec"]["hubs"][0]["name"]
        clusters, sets, n = hub_lists(specs, hub)
        with FakeHub() as fake:
            fake.bodies[CLUSTERS], fake.bodies[SETS] = clusters, sets
            kubeconfig = str(fake.kubeconfig(root / "kubeconfig", context=hub))
            common = ["--specs", str(specs), "--kubeconfig", kubeconfig, "--hub", hub, "--format", "json"]
            t_diff, code, out = timed("inventory", "diff", *common)
            drifted = len(json.loads(out)["drift"])
            t_pull, _, out = timed("inventory", "pull", *common)
            files = len(json.loads(out)["files"])
            t_again, _, out = timed("inventory", "pull", *common)
            assert json.loads(out)["files"] == []
            t_clean, code_clean, _ = timed("inventory", "diff", *common)
        print(f"hub {hub}: {n} ManagedClusters in pages of 500 ({len(fake.requests)} list calls in all)")
        print(f"inventory diff:   {t_diff:6.2f} s, exit {code}, {drifted} cluster(s) drifted")
        print(f"inventory pull:   {t_pull:6.2f} s, {files} file(s) rewritten")
        print(f"pull again:       {t_again:6.2f} s, nothing to write")
        print(f"diff after pull:  {t_clean:6.2f} s, exit {code_clean}")


if __name__ == "__main__":
    main()
