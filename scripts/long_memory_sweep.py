"""Measure how far back SimpleRNN, LSTM and GRU remember: the sweep shipped in data/long_memory_sweep.csv.

Every (cell, lag, seed) is trained once with the same budget (`lib.long_memory.DEFAULT_BUDGET`) on
the recall-the-first-symbol task, and its held-out accuracy is written as one CSV row. The file is
rewritten after every run, so an interrupted sweep still leaves the runs it finished, and a rerun
with `--resume` skips them.

Run from the repository root:

    python scripts/long_memory_sweep.py --seeds 0 1 2 --output data/long_memory_sweep.csv

The sweep is seeded through the data generators and the Keras initializers; TensorFlow's CPU kernels
may still round differently from one machine to the next, so a rerun elsewhere gives close, not
identical, accuracies.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter would hide the progress lines.

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # Lets the script run from any directory.
    sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402

from lib import long_memory  # noqa: E402

SWEEP_COLUMNS = [
    "cell",
    "lag",
    "seed",
    "accuracy",
    "chance",
    "solved",
    "best_epoch_accuracy",
    "train_accuracy",
    "epochs",
    "seconds",
    "units",
    "parameters",
    "training_examples",
    "validation_examples",
    "batch_size",
    "learning_rate",
]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lags", type=int, nargs="+", default=list(long_memory.SWEEP_LAGS))
    parser.add_argument("--cells", nargs="+", default=list(long_memory.RECURRENT_CELL_NAMES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=long_memory.DEFAULT_BUDGET.epochs)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "data" / "long_memory_sweep.csv")
    parser.add_argument("--resume", action="store_true", help="Keep the rows already in the output file.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    budget = replace(long_memory.DEFAULT_BUDGET, epochs=arguments.epochs)
    rows: list[dict] = []
    if arguments.resume and arguments.output.exists():
        rows = pd.read_csv(arguments.output).to_dict("records")
    done = {(row["cell"], int(row["lag"]), int(row["seed"])) for row in rows}
    # Seeds run in the outer loop, so that a sweep cut short still holds every cell at every lag.
    plan = [
        (cell, lag, seed)
        for seed in arguments.seeds
        for lag in arguments.lags
        for cell in arguments.cells
        if (cell, lag, seed) not in done
    ]
    print(
        f"Sweep of {len(plan)} runs on {platform.node()} ({os.cpu_count()} CPUs), budget {budget}",
        flush=True,
    )
    sweep_started = time.perf_counter()
    for index, (cell, lag, seed) in enumerate(plan, start=1):
        row = long_memory.train_once(cell, lag, seed=seed, budget=budget)
        rows.append(row)
        frame = pd.DataFrame(rows)[SWEEP_COLUMNS].sort_values(["seed", "lag", "cell"], kind="stable")
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(arguments.output, index=False, float_format="%.4f")
        elapsed = time.perf_counter() - sweep_started
        print(
            f"[{index}/{len(plan)}] {cell:>9} lag {lag:>3} seed {seed}: accuracy {row['accuracy']:.3f} "
            f"(chance {row['chance']:.3f}) in {row['seconds']:.1f} s; sweep {elapsed / 60:.1f} min",
            flush=True,
        )
    print(f"Wrote {arguments.output} ({len(rows)} rows).", flush=True)


if __name__ == "__main__":
    main()
