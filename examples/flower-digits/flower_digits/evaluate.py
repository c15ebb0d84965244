"""The evaluation entry point: the final model on the held-out split (or an .npz with X and y).

    python -m flower_digits.evaluate --model MODEL --data heldout|FILE.npz

prints one JSON object: {"accuracy": x, "perClassRecall": {"0": r, ..., "9": r}, "samples": n}.
fedfleet's quality gate runs it with the app image on the hub and in the preview; the same command
evaluates a model file copied out of any run (Flower or OpenFL) in the model format of task.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from flower_digits.task import evaluate, load_model, load_split, per_class_recall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flower_digits.evaluate")
    parser.add_argument("--model", required=True, help="the model file (task.save_model format)")
    parser.add_argument("--data", default="heldout", help="'heldout' (the test split) or an .npz holding X and y")
    args = parser.parse_args(argv)
    params = load_model(Path(args.model).read_bytes())
    if args.data == "heldout":
        _, _, X, y = load_split()
    else:
        with np.load(args.data, allow_pickle=False) as data:
            X, y = data["X"].astype(np.float64), data["y"].astype(int)
    _, accuracy = evaluate(params, X, y)
    json.dump({"accuracy": accuracy, "perClassRecall": per_class_recall(params, X, y), "samples": int(len(y))}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
