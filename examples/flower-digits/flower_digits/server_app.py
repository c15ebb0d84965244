"""ServerApp: FedAvg over every connected SuperNode; the global model is validated on the whole
test split after every round, and each round's figures go to `results-path` as JSON lines."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from flower_digits.task import evaluate, initial_parameters, load_split, save_model

app = ServerApp()


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    nodes = int(cfg["min-nodes"])
    results = Path(str(cfg["results-path"])) if cfg["results-path"] else None
    _, _, X_test, y_test = load_split()

    def global_evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        loss, accuracy = evaluate(arrays.to_numpy_ndarrays(), X_test, y_test)
        record = {"round": server_round, "loss": loss, "accuracy": accuracy}
        print(f"fedfleet-round {json.dumps(record)}", flush=True)
        if results:
            with results.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        return MetricRecord({"loss": loss, "accuracy": accuracy})

    client_eval = float(cfg["fraction-evaluate"])
    strategy = FedAvg(fraction_train=1.0, fraction_evaluate=client_eval, min_train_nodes=nodes,
                      min_evaluate_nodes=nodes if client_eval else 0, min_available_nodes=nodes)
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord(initial_parameters()),
                            num_rounds=int(cfg["num-server-rounds"]), evaluate_fn=global_evaluate, timeout=120)
    _hand_over(save_model(result.arrays.to_numpy_ndarrays()))


def _hand_over(model: bytes) -> None:
    """The final model leaves the ServerApp two ways. The FL controller's ServerApp Deployment has
    no volume and no env (serverapp-deployment.yaml), so on a hub the model travels in the log that
    `flwr run --stream` streams to the run Job, whose quality gate evaluates it (the example's model
    is 5 KB). Where FLOWER_MODEL_OUTPUT_PATH is set (the upstream example app's convention) it is
    written there too."""
    print(f"fedfleet-model {base64.b64encode(model).decode()}", flush=True)
    out = os.environ.get("FLOWER_MODEL_OUTPUT_PATH")
    if out:
        Path(out).write_bytes(model)
