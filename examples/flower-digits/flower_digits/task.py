"""The model, the data and its partitioning: shared by ServerApp, ClientApp and the baseline.

A softmax regression in numpy on scikit-learn's digits (8x8 images, 10 classes, bundled with
scikit-learn). The held-out test split is the "whole data set" the global model is validated on.
"""

from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

NUM_FEATURES = 64
NUM_CLASSES = 10
SEED = 7


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits as scikit-learn ships them (datasets/data/digits.csv.gz).

    Read directly: every round spawns a fresh ClientApp process, and importing sklearn.datasets
    would cost each one over a second. Falls back to scikit-learn's loader if the file moved.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec and spec.submodule_search_locations:
        csv = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
        if csv.is_file():
            with gzip.open(csv, "rt") as fh:
                data = np.loadtxt(fh, delimiter=",")
            return data[:, :-1], data[:, -1].astype(int)
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X, y


def load_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/test split, deterministic: 80% train, 20% test."""
    X, y = _digits()
    X = X.astype(np.float64) / 16.0
    order = np.random.default_rng(SEED).permutation(len(X))
    cut = int(0.8 * len(X))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def partition(partition_id: int, num_partitions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One client's share (IID shards of the train and test splits)."""
    if not 0 <= partition_id < num_partitions:
        raise ValueError(f"partition-id {partition_id} outside 0..{num_partitions - 1}")
    X_train, y_train, X_test, y_test = load_split()
    tr = np.array_split(np.arange(len(X_train)), num_partitions)[partition_id]
    te = np.array_split(np.arange(len(X_test)), num_partitions)[partition_id]
    return X_train[tr], y_train[tr], X_test[te], y_test[te]


def initial_parameters() -> list[np.ndarray]:
    return [np.zeros((NUM_FEATURES, NUM_CLASSES)), np.zeros(NUM_CLASSES)]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def evaluate(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Cross-entropy loss and accuracy."""
    W, b = params
    p = _softmax(X @ W + b)
    loss = float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-12)))
    return loss, float(np.mean(p.argmax(axis=1) == y))


def per_class_recall(params: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Recall of every class (digit) that the data holds: the share of its samples predicted right."""
    W, b = params
    predicted = (X @ W + b).argmax(axis=1)
    return {str(c): float(np.mean(predicted[y == c] == c)) for c in range(NUM_CLASSES) if np.any(y == c)}


def save_model(params: list[np.ndarray]) -> bytes:
    """The model as .npy bytes of W then b (no zip: no timestamps, so equal models have one digest)."""
    import io

    buf = io.BytesIO()
    for p in params:
        np.save(buf, np.asarray(p, dtype=np.float64), allow_pickle=False)
    return buf.getvalue()


def load_model(data: bytes) -> list[np.ndarray]:
    import io

    buf = io.BytesIO(data)
    return [np.load(buf, allow_pickle=False) for _ in range(2)]


def train(params: list[np.ndarray], X: np.ndarray, y: np.ndarray, epochs: int, lr: float,
          batch_size: int, seed: int = 0) -> tuple[list[np.ndarray], float]:
    """Mini-batch gradient descent; returns new parameters and the final training loss."""
    W, b = (p.copy() for p in params)
    rng = np.random.default_rng(seed)
    onehot = np.eye(NUM_CLASSES)[y]
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            grad = _softmax(X[idx] @ W + b) - onehot[idx]
            W -= lr * X[idx].T @ grad / len(idx)
            b -= lr * grad.mean(axis=0)
    return [W, b], evaluate([W, b], X, y)[0]


def centralized_baseline(rounds: int, local_epochs: int, lr: float, batch_size: int) -> tuple[float, float]:
    """The same model trained on the pooled data for as many epochs as one client trains in total."""
    X_train, y_train, X_test, y_test = load_split()
    params, _ = train(initial_parameters(), X_train, y_train, rounds * local_epochs, lr, batch_size)
    return evaluate(params, X_test, y_test)
