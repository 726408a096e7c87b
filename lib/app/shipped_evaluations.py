"""The shipped models' held-out figures, measured once and shipped beside each model.

The translator pages show each shipped model's BLEU, token accuracies, BLEU by length and its greedy
output on the 500 held-out sentences. Measured in the server, that took the first visitor of the
Translator page about 20 s; the figures depend only on the shipped weights and the seeded corpus, so
`scripts/evaluate_shipped.py` measures them once and writes `evaluation.json` beside the model. The
file names the SHA-256 of the model file it was measured on and the corpus it used: when either
differs (a retrained model, another corpus), the page measures again instead of showing stale figures.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

EVALUATION_FILE = "evaluation.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def corpus_signature(corpus) -> dict:
    """What identifies the held-out sentences: the generator's settings and a digest of the pairs."""
    pairs = "\n".join(f"{english}\t{french}" for english, french in corpus.test)
    return {
        "held_out_pairs": len(corpus.test),
        "seed": corpus.seed,
        "held_out_sha256": hashlib.sha256(pairs.encode("utf-8")).hexdigest(),
    }


def save_evaluation(results: dict, directory: Path, model_file: str, corpus) -> Path:
    """Write a page's evaluation results (numbers and two frames) with what they were measured on."""
    stored = {
        "model_file": model_file,
        "model_sha256": file_sha256(Path(directory) / model_file),
        "corpus": corpus_signature(corpus),
        "results": {
            key: (value.to_dict(orient="records") if isinstance(value, pd.DataFrame) else value)
            for key, value in results.items()
        },
    }
    path = Path(directory) / EVALUATION_FILE
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def load_evaluation(directory: Path, model_file: str, corpus) -> dict | None:
    """The shipped results, or None when there are none or they were measured on another model or corpus."""
    path = Path(directory) / EVALUATION_FILE
    if not path.exists():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    if stored.get("model_sha256") != file_sha256(Path(directory) / model_file) or stored.get(
        "corpus"
    ) != corpus_signature(corpus):
        return None
    results = dict(stored["results"])
    for key in ("by_length", "examples"):
        if key in results:
            results[key] = pd.DataFrame(results[key])
    return results
