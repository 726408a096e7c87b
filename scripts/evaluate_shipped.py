"""Measure the shipped translators on the held-out sentences once, and ship the figures beside each model.

The pages read `data/<model>/evaluation.json` instead of measuring in the server at the first visit
(lib/app/shipped_evaluations.py); each file names the model file's SHA-256 and the corpus it was measured
on, so a retrained model is measured again by the page until this script is run again.

Run from the repository root after training a shipped model:  python scripts/evaluate_shipped.py
    (about 2 minutes on 2 cores: greedy decoding of 500 sentences by each of the three models)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.app.shipped_evaluations import save_evaluation  # noqa: E402
from lib.models.attention import ATTENTION_DIRECTORY  # noqa: E402
from lib.models.attention import MODEL_FILE as ATTENTION_MODEL_FILE  # noqa: E402
from lib.models.seq2seq import MODEL_FILE, TRANSLATOR_DIRECTORY  # noqa: E402
from lib.models.transformer import MODEL_FILE as TRANSFORMER_MODEL_FILE  # noqa: E402
from lib.models.transformer import TRANSFORMER_DIRECTORY  # noqa: E402
from lib.page_glue.attention_page import measure_pretrained_attention_evaluation  # noqa: E402
from lib.page_glue.transformer_page import measure_pretrained_transformer_evaluation  # noqa: E402
from lib.page_glue.translator_page import default_corpus, measure_pretrained_evaluation  # noqa: E402

SHIPPED = [
    (TRANSLATOR_DIRECTORY, MODEL_FILE, measure_pretrained_evaluation),
    (ATTENTION_DIRECTORY, ATTENTION_MODEL_FILE, measure_pretrained_attention_evaluation),
    (TRANSFORMER_DIRECTORY, TRANSFORMER_MODEL_FILE, measure_pretrained_transformer_evaluation),
]


def main() -> None:
    corpus = default_corpus()
    for directory, model_file, measure in SHIPPED:
        started = time.perf_counter()
        results = measure()
        path = save_evaluation(results, directory, model_file, corpus)
        print(f"{path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}: BLEU {results['bleu']:.1f}, "
              f"greedy accuracy {results['greedy_accuracy']:.3f}, measured in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
