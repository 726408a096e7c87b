"""The "more parameters, more overfitting" demo: an MLP trained live on a few real digits.

It lives here rather than in the page so that the page stays a description of its UI, and so that
the benchmark and the tests train exactly what the page trains.
"""

from __future__ import annotations

from lib.data.digits import DigitSplits
from lib.engine.training import TrainingRun, train_live
from lib.models.builders import build_mlp, compile_classifier

DEMO_BATCH_SIZE = 32
DEMO_METRICS = ["loss", "accuracy"]


def build_digit_mlp(hidden_units: int, seed: int = 0):
    """One hidden layer on the 64 pixels of an 8×8 digit, compiled for the ten classes."""
    return compile_classifier(build_mlp((8, 8), [hidden_units], 10, seed=seed, name="digit_mlp"))


def train_digit_mlp(
    page_key: str, splits: DigitSplits, hidden_units: int, epochs: int, area, seed: int = 0
) -> TrainingRun:
    model = build_digit_mlp(hidden_units, seed=seed)
    label = f"{len(splits.y_train):,} examples · {hidden_units} hidden units · {model.count_params():,} parameters"
    label += f" · seed {seed}" if seed else ""
    return train_live(
        model,
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_validation, splits.y_validation),
        epochs=epochs,
        batch_size=DEMO_BATCH_SIZE,
        label=label,
        page_key=page_key,
        settings={"examples": len(splits.y_train), "hidden_units": hidden_units, "epochs": epochs, "seed": seed},
        metrics=DEMO_METRICS,
        area=area,
    )
