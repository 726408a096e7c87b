"""The held-out figures shipped beside each model are what the model measures now, and a file
measured on other weights is never shown."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from lib.app.shipped_evaluations import EVALUATION_FILE, load_evaluation
from lib.page_glue.translator_family import default_corpus
from scripts.evaluate_shipped import SHIPPED


@pytest.mark.parametrize("directory, model_file, measure", SHIPPED, ids=[model for _, model, _ in SHIPPED])
def test_the_shipped_figures_are_what_the_shipped_model_measures(directory, model_file, measure):
    shipped = load_evaluation(directory, model_file, default_corpus())
    assert shipped is not None, f"{directory / EVALUATION_FILE} is missing or stale: run scripts/evaluate_shipped.py"
    fresh = measure()
    for key in ("bleu", "exact_match", "teacher_forced_accuracy", "greedy_accuracy"):
        assert shipped[key] == pytest.approx(fresh[key], abs=1e-6), key
    pd.testing.assert_frame_equal(shipped["by_length"], fresh["by_length"], check_dtype=False)
    assert list(shipped["examples"]["Greedy output"]) == list(fresh["examples"]["Greedy output"])
    if "alignment_accuracy" in fresh:
        assert shipped["alignment_accuracy"] == pytest.approx(fresh["alignment_accuracy"], abs=1e-6)


def test_figures_measured_on_other_weights_are_not_used(tmp_path):
    directory, model_file, _ = SHIPPED[0]
    shutil.copy(directory / EVALUATION_FILE, tmp_path / EVALUATION_FILE)
    shutil.copy(directory / model_file, tmp_path / model_file)
    assert load_evaluation(tmp_path, model_file, default_corpus()) is not None
    with open(tmp_path / model_file, "ab") as model:
        model.write(b"retrained")
    assert load_evaluation(tmp_path, model_file, default_corpus()) is None
