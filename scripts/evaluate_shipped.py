"""Measure the shipped translators on the held-out sentences once, and ship the figures beside each model.

The pages read `data/<model>/evaluation.json` instead of measuring in the server at the first visit
(lib/app/shipped_evaluations.py); each file names the model file's SHA-256 and the corpus it was measured
on, so a retrained model is measured again by the page until this script is run again.

Each file also keeps the model's greedy outputs on the long held-out set (200 sentences of 21-30 English
words drawn apart from the corpus, lib/data/grammar.py `long_held_out_pairs`) and how long decoding them
took: the Attention page's long-sentence comparison reads them, and a session's press never decodes them.

Run from the repository root after training a shipped model:  python scripts/evaluate_shipped.py
    (about 2 minutes on 2 cores: greedy decoding of 500 sentences by each of the three models)
To add the long held-out outputs to files measured before they existed, keeping every other figure:
    python scripts/evaluate_shipped.py --long-only
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.app.shipped_evaluations import EVALUATION_FILE, save_evaluation  # noqa: E402
from lib.page_glue.translator_family import (  # noqa: E402
    LONG_HELD_OUT,
    SHIPPED_MODELS,
    default_corpus,
    long_held_out_results,
)

# Each shipped model's folder, model file and live measurement (`ShippedModel.measure_evaluation`).
SHIPPED = [(model.directory, model.model_file, model.measure_evaluation) for model in SHIPPED_MODELS.values()]
# The loaded shipped model of each directory, for the long held-out set.
TRANSLATORS = {model.directory: model.translator for model in SHIPPED_MODELS.values()}


def stored_results(directory: Path) -> dict:
    """The results already in a model's evaluation.json, as written (frames as lists of records)."""
    return json.loads((Path(directory) / EVALUATION_FILE).read_text(encoding="utf-8"))["results"]


def main(long_only: bool = False) -> None:
    corpus = default_corpus()
    for directory, model_file, measure in SHIPPED:
        started = time.perf_counter()
        results = stored_results(directory) if long_only else measure()
        results.update(long_held_out_results(TRANSLATORS[directory]()))
        path = save_evaluation(results, directory, model_file, corpus)
        print(
            f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: BLEU {results['bleu']:.1f}, "
            f"greedy accuracy {results['greedy_accuracy']:.3f}, long held-out set decoded in "
            f"{results[LONG_HELD_OUT]['decoding_seconds']:.2f} s, measured in {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main(long_only="--long-only" in sys.argv[1:])
