"""ClientApp: trains on this SuperNode's partition (node config partition-id, num-partitions)."""

from __future__ import annotations

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from flower_digits.task import evaluate, partition, train

app = ClientApp()


def _data(context: Context):  # type: ignore[no-untyped-def]
    return partition(int(context.node_config["partition-id"]), int(context.node_config["num-partitions"]))


@app.train()
def train_step(msg: Message, context: Context) -> Message:
    X_train, y_train, _, _ = _data(context)
    params = msg.content["arrays"].to_numpy_ndarrays()
    cfg = context.run_config
    new_params, loss = train(params, X_train, y_train, int(cfg["local-epochs"]), float(cfg["learning-rate"]),
                             int(cfg["batch-size"]), seed=int(context.node_config["partition-id"]))
    content = RecordDict({"arrays": ArrayRecord(new_params),
                          "metrics": MetricRecord({"train_loss": loss, "num-examples": len(X_train)})})
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate_step(msg: Message, context: Context) -> Message:
    _, _, X_test, y_test = _data(context)
    loss, accuracy = evaluate(msg.content["arrays"].to_numpy_ndarrays(), X_test, y_test)
    content = RecordDict({"metrics": MetricRecord({"eval_loss": loss, "eval_acc": accuracy, "num-examples": len(X_test)})})
    return Message(content=content, reply_to=msg)
