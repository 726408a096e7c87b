"""The ConvNets page's training: one press trains the ConvNet and its matched MLP, live, through the engine.

The models and what is measured after training are lib.models.shifted_digits's; this module only
drives the engine's live training for the page (the engine draws into the page, so models stay
free of Streamlit).
"""

from __future__ import annotations

from lib.engine.training import TrainingRun, train_live
from lib.models.builders import held_out_batches
from lib.models.convnets import ConvStackSpec
from lib.models.shifted_digits import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    TRAINING_METRICS,
    CanvasDigits,
    convnet_and_matched_mlp,
    measure_after_training,
)


def train_convnet_and_mlp(
    page_key: str,
    spec: ConvStackSpec,
    digits: CanvasDigits,
    epochs: int,
    area,
    *,
    press_number: int = 1,
    seed: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> list[TrainingRun]:
    """Train the ConvNet of `spec`, then the MLP with about as many parameters, into one live chart.

    `spec` is a training spec (grayscale, the canvas's side). Each run's measurements are stored in
    `run.results` right after it trains (see `measure_after_training`), with the same `press`
    number (see `next_press_number`) so the page can pair the two runs of one press. A Stop or a
    moved widget ends the press: the run cut short keeps its curves but gets no measurements, and
    the MLP is not trained.
    """
    pair = convnet_and_matched_mlp(spec, press_number=press_number, seed=seed, learning_rate=learning_rate)
    area = area.empty()  # One chart for the whole press: each run's view replaces the previous one.
    press = int(press_number)
    validation = held_out_batches(digits.x_validation, digits.y_validation)
    runs = []
    for member in pair:
        run = train_live(
            member.model,
            digits.x_train,
            digits.y_train,
            validation_data=validation,
            epochs=epochs,
            batch_size=batch_size,
            shuffle_seed=seed,  # the same batches in the run's exported train.py
            label=member.label,
            page_key=page_key,
            settings={"kind": member.kind, "press": press, "canvas": spec.input_side, "epochs": epochs}
            | {"spec": spec, "seed": seed, "batch_size": batch_size, "learning_rate": learning_rate},  # for its export
            metrics=TRAINING_METRICS,
            area=area,
        )
        run.results = measure_after_training(member.kind, member.model, spec, digits, press, member.formula_parameters)
        runs.append(run)
    return runs
