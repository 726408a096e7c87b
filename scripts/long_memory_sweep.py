"""Measure how far back SimpleRNN, LSTM and GRU remember, on fresh sequences: data/long_memory_sweep.csv.

Every (setup, cell, clipping, lag, seed) trains once on a stream of fresh sequences with the same
budget in updates (`lib.models.long_memory.DEFAULT_BUDGET`), in both setups (`lib.models.long_memory.SETUPS`:
Keras's modern defaults and the 1990s setting), plus the SimpleRNN with gradient clipping in each
setup; its held-out accuracy is written as one CSV row. The file is rewritten after every run, so an
interrupted sweep still leaves the runs it finished, and a rerun with `--resume` skips them.

TensorFlow runs on one thread (the machine is shared): run from the repository root with

    nohup nice -n 10 python scripts/long_memory_sweep.py --output data/long_memory_sweep.csv > sweep.log 2>&1 &

Seeds run in the outer loop, so that a sweep cut short holds every point for its first seeds. The
sweep is seeded through the data streams and the Keras initializers; TensorFlow's CPU kernels may
still round differently from one machine to the next, so a rerun elsewhere gives close, not
identical, accuracies.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter would hide the progress lines.

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # Lets the script run from any directory.
    sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402

from lib.models import long_memory  # noqa: E402

SWEEP_COLUMNS = [
    "setup",
    "cell",
    "clip_norm",
    "lag",
    "seed",
    "accuracy",
    "chance",
    "solved",
    "best_round_accuracy",
    "last_round_train_accuracy",
    "last_round_loss",
    "updates",
    "batch_size",
    "units",
    "parameters",
    "held_out_examples",
    "seconds",
]

# The SimpleRNN is swept twice in each setup: as it is, and with its gradient's global norm clipped.
VARIANTS: tuple[tuple[str, float], ...] = (
    ("SimpleRNN", 0.0),
    ("LSTM", 0.0),
    ("GRU", 0.0),
    ("SimpleRNN", long_memory.CLIP_NORM),
)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lags", type=int, nargs="+", default=list(long_memory.SWEEP_LAGS))
    parser.add_argument("--setups", nargs="+", default=list(long_memory.SETUPS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(long_memory.SWEEP_SEEDS))
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "data" / "long_memory_sweep.csv")
    parser.add_argument("--resume", action="store_true", help="Keep the rows already in the output file.")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow's intra- and inter-op threads.")
    parser.add_argument(
        "--table",
        action="store_true",
        help="Only print the output file as data/README.md's tables (accuracy per seed), then stop.",
    )
    return parser.parse_args(argv)


def markdown_tables(sweep: pd.DataFrame) -> str:
    """One table per setup: a row per lag, a column per variant, the held-out accuracy of each seed."""
    sweep = sweep.assign(variant=[long_memory.variant_name(c, k) for c, k in zip(sweep["cell"], sweep["clip_norm"])])
    variants = [long_memory.variant_name(cell, clip) for cell, clip in VARIANTS]
    blocks = []
    for setup in long_memory.SETUPS.values():
        rows = sweep[sweep["setup"] == setup.name]
        if rows.empty:
            continue
        lines = [
            f"{setup.title} ({setup.describe()}):",
            "",
            "| lag | " + " | ".join(variants) + " |",
            "| ---: |" + " --- |" * len(variants),
        ]
        for lag in sorted(rows["lag"].unique()):
            cells = []
            for variant in variants:
                point = rows[(rows["lag"] == lag) & (rows["variant"] == variant)].sort_values("seed")
                cells.append(" / ".join(f"{accuracy:.2f}" for accuracy in point["accuracy"]) or "—")
            lines.append(f"| {lag} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    if arguments.table:
        print(markdown_tables(pd.read_csv(arguments.output)))
        return
    long_memory.limit_tensorflow_threads(arguments.threads)
    budget = long_memory.DEFAULT_BUDGET
    rows: list[dict] = []
    if arguments.resume and arguments.output.exists():
        rows = pd.read_csv(arguments.output).to_dict("records")
    done = {(row["setup"], row["cell"], float(row["clip_norm"]), int(row["lag"]), int(row["seed"])) for row in rows}
    plan = [
        (setup, cell, clip_norm, lag, seed)
        for seed in arguments.seeds
        for lag in arguments.lags
        for setup in arguments.setups
        for cell, clip_norm in VARIANTS
        if (setup, cell, float(clip_norm), lag, seed) not in done
    ]
    print(
        f"Sweep of {len(plan)} runs on {platform.node()} ({os.cpu_count()} CPUs, TensorFlow on "
        f"{arguments.threads} thread), budget {budget}",
        flush=True,
    )
    sweep_started = time.perf_counter()
    for index, (setup, cell, clip_norm, lag, seed) in enumerate(plan, start=1):
        row = long_memory.train_once(
            cell, lag, seed=seed, setup=long_memory.SETUPS[setup], clip_norm=clip_norm or None, budget=budget
        )
        rows.append(row)
        frame = pd.DataFrame(rows)[SWEEP_COLUMNS].sort_values(
            ["seed", "lag", "setup", "cell", "clip_norm"], kind="stable"
        )
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(arguments.output, index=False, float_format="%.4f")
        elapsed = time.perf_counter() - sweep_started
        print(
            f"[{index}/{len(plan)}] {setup:>6} {long_memory.variant_name(cell, clip_norm):>20} lag {lag:>3} "
            f"seed {seed}: accuracy {row['accuracy']:.3f} (best round {row['best_round_accuracy']:.3f}) "
            f"in {row['seconds']:.1f} s; sweep {elapsed / 60:.1f} min",
            flush=True,
        )
    print(
        f"Wrote {arguments.output} ({len(rows)} rows) in {(time.perf_counter() - sweep_started) / 60:.1f} min.",
        flush=True,
    )


if __name__ == "__main__":
    main()
