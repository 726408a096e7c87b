"""Hochreiter and Schmidhuber's (1997) experiment 2, tasks 2a and 2b, in Keras: data/paper_memory_task.csv.

Every (task, cell, p, seed) trains on fresh sequences until the paper's success criterion holds (the
largest output error below 0.25 on 10,000 test sequences: `lib.models.long_memory.train_paper_task`) or
its budget of training sequences runs out; one CSV row per run, written as soon as the run ends, so an
interrupted sweep keeps what it finished and `--resume` runs only the missing rows.

TensorFlow runs on one thread (the machine is shared): run from the repository root with

    nohup nice -n 10 python scripts/paper_memory_task.py --resume > paper_task.log 2>&1 &

Seeds run in the outer loop, then p, so that a sweep cut short holds every point for its first seeds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402

from lib.models import long_memory  # noqa: E402

COLUMNS = [
    "task",
    "cell",
    "p",
    "seed",
    "setup",
    "solved",
    "sequences_to_success",
    "sequences_trained",
    "sequences_before_cell",
    "final_max_error",
    "final_recall_accuracy",
    "last_loss",
    "tests",
    "test_sequences",
    "error_at",
    "staged",
    "state_output_zero",
    "lstm_activation",
    "units",
    "batch_size",
    "learning_rate",
    "forget_gate_bias",
    "input_gate_bias",
    "max_sequences",
    "parameters",
    "seconds",
]


INTEGER_COLUMNS = [
    "p",
    "seed",
    "sequences_to_success",
    "sequences_trained",
    "sequences_before_cell",
    "tests",
    "test_sequences",
    "units",
    "batch_size",
    "max_sequences",
    "parameters",
]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(long_memory.PAPER_TASKS))
    parser.add_argument("--cells", nargs="+", default=["LSTM", "SimpleRNN", "GRU"])
    parser.add_argument("--delays", type=int, nargs="+", default=list(long_memory.PAPER_DELAYS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(long_memory.PAPER_SEEDS))
    parser.add_argument("--max-sequences", type=int, default=long_memory.PAPER_SETUP.max_sequences)
    parser.add_argument("--setup", choices=list(long_memory.PAPER_SETUPS), default=long_memory.PAPER_SETUP.name)
    parser.add_argument("--output", type=Path, default=long_memory.PAPER_FILE)
    parser.add_argument("--resume", action="store_true", help="Keep the rows already in the output file.")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--table",
        action="store_true",
        help="Only print the output file as data/README.md's table (sequences to success per seed), then stop.",
    )
    return parser.parse_args(argv)


def markdown_table(runs: pd.DataFrame) -> str:
    """A row per setup, task and p; a column per cell: each seed's training sequences to success, or "—" (not
    within the budget)."""
    cells = [cell for cell in long_memory.RECURRENT_CELL_NAMES if cell in set(runs["cell"])]
    lines = ["| setup | task | p | " + " | ".join(cells) + " |", "| --- | --- | ---: |" + " --- |" * len(cells)]
    for (setup, task, p), rows in runs.groupby(["setup", "task", "p"], sort=True):
        entries = []
        for cell in cells:
            point = rows[rows["cell"] == cell].sort_values("seed")
            entries.append(
                " / ".join(f"{int(value):,}" if value == value else "—" for value in point["sequences_to_success"])
                or ""
            )
        lines.append(f"| {setup} | {task} | {p} | " + " | ".join(entries) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    if arguments.table:
        print(markdown_table(pd.read_csv(arguments.output)))
        return
    long_memory.limit_tensorflow_threads(arguments.threads)
    setup = dataclasses.replace(long_memory.PAPER_SETUPS[arguments.setup], max_sequences=arguments.max_sequences)
    rows: list[dict] = []
    if arguments.resume and arguments.output.exists():
        rows = pd.read_csv(arguments.output).to_dict("records")
    done = {(row["setup"], row["task"], row["cell"], int(row["p"]), int(row["seed"])) for row in rows}
    plan = [
        (task, cell, p, seed)
        for seed in arguments.seeds
        for p in arguments.delays
        for task in arguments.tasks
        for cell in arguments.cells
        if (setup.name, task, cell, p, seed) not in done
    ]
    print(
        f"{len(plan)} runs on {platform.node()} ({os.cpu_count()} CPUs, TensorFlow on {arguments.threads} thread): "
        f"{setup}",
        flush=True,
    )
    started = time.perf_counter()
    for index, (task, cell, p, seed) in enumerate(plan, start=1):
        row = long_memory.train_paper_task(task, cell, p, seed, setup)
        rows.append(row)
        frame = pd.DataFrame(rows)[COLUMNS].sort_values(["setup", "seed", "p", "task", "cell"], kind="stable")
        # Counts stay whole numbers (an empty cell where a run never succeeded), the rest four significant digits.
        frame = frame.astype({column: "Int64" for column in INTEGER_COLUMNS})
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(arguments.output, index=False, float_format="%.4g")
        outcome = (
            f"solved after {row['sequences_to_success']:,} sequences"
            if row["solved"]
            else f"not solved in {row['sequences_trained']:,} (max error {row['final_max_error']:.2f}, "
            f"recall {row['final_recall_accuracy']:.2f})"
        )
        print(
            f"[{index}/{len(plan)}] {setup.name} {task} {cell:>9} p {p:>3} seed {seed}: {outcome} in "
            f"{row['seconds']:.0f} s; sweep {(time.perf_counter() - started) / 60:.1f} min",
            flush=True,
        )
    print(f"Wrote {arguments.output} ({len(rows)} rows).", flush=True)


if __name__ == "__main__":
    main()
