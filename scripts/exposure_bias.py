"""Measure the teacher-forcing mismatch at the Translator page's default budget, for teacher forcing,
scheduled sampling and professor forcing, over several seeds; write data/translator/exposure_bias.csv.

Each press is the page's own "Train from scratch" (`lib.page_glue.translator_family.train_from_scratch`, run
under Streamlit's AppTest, so through the same live engine and the same held-out measurements as a
participant's press): GRU 256, embedding 64, the context at every step, 48,000 pairs, 3 epochs,
batches of 64 sentences of one length, Adam 0.006 along a cosine. Only the way of training and the
seed change: the seed sets the model's initial weights and the order of the batches. Scheduled
sampling uses the page's suggested p (0.25), professor forcing its default weight (1).

One row is appended to the CSV as soon as a press ends, so a measurement cut short keeps what it
measured. The ways of training alternate within each seed, so that a change of the machine's load
falls on all three alike. Each row records the date, the machine and the load average (1 minute,
at the press's start and end): the machine is shared, and a press's seconds move with its load.

Run from the repository root, gently:  nice python scripts/exposure_bias.py [--seeds 0 1] [--trainings …] [--fresh]
(about 15 minutes a seed on 2 shared cores.)
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

from lib.page_glue.translator_page import (  # noqa: E402  (Streamlit and pandas only; TensorFlow loads in the press)
    EXPOSURE_BIAS_FILE,
    PROFESSOR_FORCING,
    SCHEDULED_SAMPLING,
    TEACHER_FORCING,
)

MACHINE = "2 cores (AMD EPYC), 24 GB, no GPU, shared with other jobs"
COLUMNS = [
    "date",
    "machine",
    "load_average",
    "training",
    "sampling_probability",
    "adversarial_weight",
    "seed",
    "units",
    "train_sentences",
    "epochs",
    "teacher_forced_accuracy",
    "greedy_accuracy",
    "gap_points",
    "bleu",
    "exact_match",
    "seconds",
    "final_discriminator_accuracy",
]


def press(training: str, seed: int) -> None:
    """The page's press with its default settings but `training` and `seed` (run inside AppTest)."""
    import streamlit as st

    import lib.page_glue.translator_family as page
    from lib.page_glue import translator_page

    settings = translator_page.ScratchSettings(
        training=training, seed=seed, sampling_probability=translator_page.SUGGESTED_SAMPLING
    )
    run = page.train_from_scratch("exposure_bias", page.GRAMMAR_KEY, page.default_corpus(), settings, st.container())
    st.session_state["row"] = {
        "training": training,
        "sampling_probability": settings.sampling_probability,
        "adversarial_weight": settings.adversarial_weight,
        "seed": seed,
        "units": settings.units,
        "train_sentences": settings.train_sentences,
        "epochs": settings.epochs,
        "teacher_forced_accuracy": round(run.results["teacher_forced_accuracy"], 5),
        "greedy_accuracy": round(run.results["greedy_accuracy"], 5),
        "gap_points": round(100 * (run.results["teacher_forced_accuracy"] - run.results["greedy_accuracy"]), 3),
        "bleu": round(run.results["bleu"], 3),
        "exact_match": round(run.results["exact_match"], 4),
        "seconds": round(run.seconds, 1),
        "final_discriminator_accuracy": (
            round(run.final("discriminator_accuracy", "train"), 4)
            if training == translator_page.PROFESSOR_FORCING
            else ""
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--trainings",
        nargs="+",
        default=[TEACHER_FORCING, SCHEDULED_SAMPLING, PROFESSOR_FORCING],
        choices=[TEACHER_FORCING, SCHEDULED_SAMPLING, PROFESSOR_FORCING],
        help="the ways of training to press for each seed, in this order",
    )
    parser.add_argument("--fresh", action="store_true", help="start a new CSV instead of appending")
    parser.add_argument("--output", type=Path, default=EXPOSURE_BIAS_FILE)
    arguments = parser.parse_args()
    if arguments.fresh or not arguments.output.exists():
        with arguments.output.open("w", newline="", encoding="utf-8") as handle:
            csv.DictWriter(handle, COLUMNS).writeheader()
    for seed in arguments.seeds:
        for training in arguments.trainings:
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            app = AppTest.from_function(press, kwargs={"training": training, "seed": seed}, default_timeout=3600).run()
            if app.exception:
                raise SystemExit(f"{training}, seed {seed}: {app.exception[0].value}")
            row = {
                "date": datetime.date.today().isoformat(),
                "machine": MACHINE,
                "load_average": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
                **app.session_state["row"],
            }
            with arguments.output.open("a", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, COLUMNS).writerow(row)
            print(
                f"{training:20s} seed {seed}: teacher-forced {row['teacher_forced_accuracy']:.4f} greedy "
                f"{row['greedy_accuracy']:.4f} gap {row['gap_points']:.2f} BLEU {row['bleu']:.2f} "
                f"fit {row['seconds']:.0f} s (whole press {time.perf_counter() - started:.0f} s, load {row['load_average']})"
                + (
                    f" discriminator {row['final_discriminator_accuracy']}"
                    if row["final_discriminator_accuracy"] != ""
                    else ""
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
