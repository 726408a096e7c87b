"""The "more parameters, more overfitting" demo: an MLP for a few real digits, and how it is trained.

It lives here rather than in the page so that the benchmark and the tests build exactly what the
page trains; the page trains it live through lib.page_glue.sharing.train_digit_mlp.
"""

from __future__ import annotations

from lib.models.builders import build_mlp, compile_classifier

DEMO_BATCH_SIZE = 32
DEMO_METRICS = ["loss", "accuracy"]


def build_digit_mlp(hidden_units: int, seed: int = 0):
    """One hidden layer on the 64 pixels of an 8×8 digit, compiled for the ten classes."""
    return compile_classifier(build_mlp((8, 8), [hidden_units], 10, seed=seed, name="digit_mlp"))
