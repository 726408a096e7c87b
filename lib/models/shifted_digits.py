"""The ConvNets page's translation test: digits moved on a canvas, and a ConvNet trained against an MLP.

The notes give the image's intrinsic structure as the reason to share parameters: a digit is the
same digit wherever it sits. Digits are placed on a larger canvas so they can move; the ConvNet of
`lib.models.convnets` and an MLP with about as many parameters train on centred digits only (one
press of the page trains both, live, through lib.page_glue.convnets), and `translation_accuracy` measures how
their accuracy falls as the test digits move. What the page draws about a trained pair (accuracy
by shift, the gallery's guesses, the first layer's filters) is measured once, right after training,
and the verdict is written from those figures.

("Translation" here is the geometric one, a shift of the image, not the translator pages' kind.)
Keras is imported inside functions only, so importing this module does not load TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from lib.engine.params import count_mlp_layers, total_params
from lib.models.convnets import (
    CLASSES,
    DEFAULT_CANVAS_SIDE,
    DIGIT_SIDE,
    ConvStackSpec,
    build_convnet,
    build_matched_mlp,
    convnet_parameter_count,
    first_layer_filters,
    matched_mlp_hidden_size,
    require_valid,
)

# The default training budget. On 2 shared CPU cores, with plain model.fit, the default ConvNet
# trains in about 7.5 s and its matched MLP in about 2.5 s, under the 15 s together.
# Batches of 64 rather than 32 halve the number of steps, and Keras's fixed cost per step is most
# of the MLP's time; the higher learning rate makes up for the fewer steps.
DEFAULT_TRAIN_COUNT = 1_437
# The default press: 6 epochs at a learning rate of 0.01 (20 at 0.005 before 2026-12-06) cost about half the CPU
# and still leave the ConvNet far ahead of the MLP on moved digits (docs/press-cost-light.md).
DEFAULT_CONVNET_EPOCHS = 6
DEFAULT_MLP_EPOCHS = 6
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 1e-2


# --- Digits on a canvas, and translation --------------------------------------------------------


def place_on_canvas(
    images: np.ndarray, canvas_side: int = DEFAULT_CANVAS_SIDE, offset: tuple[int, int] | None = None
) -> np.ndarray:
    """Paste each image on a blank canvas with its top-left corner at `offset` (row, col); centred by default.

    Pixels that would fall off the canvas are dropped. A trailing channel axis is kept if present.
    """
    images = np.asarray(images, dtype=np.float32)
    has_channel = images.ndim == 4
    flat = images[..., 0] if has_channel else images
    count, height, width = flat.shape
    if offset is None:
        offset = ((canvas_side - height) // 2, (canvas_side - width) // 2)
    top, left = offset
    canvas = np.zeros((count, canvas_side, canvas_side), dtype=np.float32)
    source_rows = slice(max(0, -top), max(0, min(height, canvas_side - top)))
    source_cols = slice(max(0, -left), max(0, min(width, canvas_side - left)))
    target_rows = slice(max(0, top), max(0, top) + (source_rows.stop - source_rows.start))
    target_cols = slice(max(0, left), max(0, left) + (source_cols.stop - source_cols.start))
    if source_rows.stop > source_rows.start and source_cols.stop > source_cols.start:
        canvas[:, target_rows, target_cols] = flat[:, source_rows, source_cols]
    return canvas[..., np.newaxis] if has_channel else canvas


def shift_images(images: np.ndarray, dx: int, dy: int, canvas_side: int = DEFAULT_CANVAS_SIDE) -> np.ndarray:
    """Digits (8×8, or already on a canvas) moved dx pixels right and dy pixels down from the centre.

    The i-th output is the i-th input moved, so the labels array applies unchanged; the pixel sum is
    kept whenever the digit stays inside the canvas.
    """
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[1], images.shape[2]
    top = (canvas_side - height) // 2 + int(dy)
    left = (canvas_side - width) // 2 + int(dx)
    return place_on_canvas(images, canvas_side, (top, left))


def shift_directions(shift: int) -> list[tuple[int, int]]:
    """The eight compass moves of `shift` pixels (dx, dy ∈ {−s, 0, s}, not both 0), or no move for 0."""
    if shift == 0:
        return [(0, 0)]
    return [(dx, dy) for dy in (-shift, 0, shift) for dx in (-shift, 0, shift) if (dx, dy) != (0, 0)]


def with_channel(images: np.ndarray) -> np.ndarray:
    """(n, side, side) → (n, side, side, 1), the shape the Keras models take."""
    return images[..., np.newaxis] if images.ndim == 3 else images


def translation_accuracy(
    model,
    images: np.ndarray,
    labels: np.ndarray,
    max_shift: int,
    canvas_side: int = DEFAULT_CANVAS_SIDE,
    model_name: str | None = None,
) -> pd.DataFrame:
    """Accuracy at each shift s = 0..max_shift: the mean over the eight compass moves of s pixels.

    A move of s pixels is (dx, dy) with dx, dy ∈ {−s, 0, s}, so it covers the horizontal, vertical
    and diagonal directions alike. All the shifted copies go through the model in one predict call.
    """
    labels = np.asarray(labels)
    batches, keys = [], []
    for shift in range(int(max_shift) + 1):
        for dx, dy in shift_directions(shift):
            batches.append(shift_images(images, dx, dy, canvas_side))
            keys.append(shift)
    predictions = model.predict(with_channel(np.concatenate(batches)), batch_size=1024, verbose=0).argmax(axis=1)
    correct = (predictions.reshape(len(batches), len(labels)) == labels[np.newaxis]).mean(axis=1)
    frame = pd.DataFrame({"shift": keys, "accuracy": correct}).groupby("shift", as_index=False)["accuracy"].mean()
    if model_name is not None:
        frame["model"] = model_name
    return frame


def shifted_gallery(
    models: dict[str, Any],
    images: np.ndarray,
    labels: np.ndarray,
    dx: int,
    dy: int,
    canvas_side: int = DEFAULT_CANVAS_SIDE,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The shifted digits and, per digit, its label and each model's guess, for the page's gallery."""
    shifted = shift_images(images, dx, dy, canvas_side)
    table = pd.DataFrame({"label": np.asarray(labels)})
    for name, model in models.items():
        table[name] = model.predict(with_channel(shifted), verbose=0).argmax(axis=1)
    return shifted, table


@dataclass(frozen=True)
class CanvasDigits:
    """The shipped digits centred on a canvas, (n, side, side, 1), with the fixed split of lib.data.digits."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    raw_validation: np.ndarray = field(repr=False)


def canvas_digits(train_count: int = DEFAULT_TRAIN_COUNT, canvas_side: int = DEFAULT_CANVAS_SIDE) -> CanvasDigits:
    """Centred digits only: the models never see a moved digit while training, so shifts test invariance."""
    from lib.data.digits import split_digits

    splits = split_digits(train_count)
    return CanvasDigits(
        with_channel(place_on_canvas(splits.x_train, canvas_side)),
        np.asarray(splits.y_train),
        with_channel(place_on_canvas(splits.x_validation, canvas_side)),
        np.asarray(splits.y_validation),
        np.asarray(splits.x_validation),
    )


# --- Training the ConvNet against its matched MLP, and what is measured after ------------------

TRAINING_METRICS = ["loss", "accuracy"]
# The canvases the training section offers: wide enough for the digit to move, small enough that
# the default ConvNet and its MLP still train in seconds (time grows with the canvas's area).
CANVAS_CHOICES = (12, 16, 20, 24)


def max_shift_for(canvas_side: int, digit_side: int = DIGIT_SIDE) -> int:
    """The largest move that keeps a centred digit wholly on the canvas."""
    return max(0, (int(canvas_side) - digit_side) // 2)


def training_spec(spec: ConvStackSpec, canvas_side: int) -> ConvStackSpec:
    """The page's stack, on a grayscale canvas of the digits' size, with one output per digit."""
    return replace(spec, input_side=int(canvas_side), channels=1, classes=CLASSES)


def describe_stack(spec: ConvStackSpec) -> str:
    """A short label for a stack, e.g. '8·16·32 filters 3×3, dilated · global average'."""
    filters = "·".join(str(layer.filters) for layer in spec.layers)
    kernels = "/".join(sorted({f"{layer.kernel_size}×{layer.kernel_size}" for layer in spec.layers}))
    extras = [
        word
        for word, used in (
            ("pooled", any(layer.pool for layer in spec.layers)),
            ("strided", any(layer.stride > 1 for layer in spec.layers)),
            ("dilated", any(layer.dilation > 1 for layer in spec.layers)),
        )
        if used
    ]
    head = "global average" if spec.head == "global_average" else "flatten"
    return f"{filters} filters {kernels}" + "".join(f", {word}" for word in extras) + f" · {head}"


def gallery_indices(labels: np.ndarray, count: int = CLASSES) -> np.ndarray:
    """The first digit of each class 0, 1, 2, … in `labels`: one of each for the gallery."""
    labels = np.asarray(labels)
    firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(count) if (labels == digit).any()]
    return np.asarray(firsts, dtype=int)


def gallery_predictions(model, images: np.ndarray, canvas_side: int, max_shift: int) -> np.ndarray:
    """Each model guess for each 8×8 image at every move (dx, dy) in −max_shift..max_shift, in one call.

    Shaped (2m + 1, 2m + 1, n) and indexed [dy + m, dx + m, digit], so the page can show any move
    later without the model.
    """
    span = range(-int(max_shift), int(max_shift) + 1)
    batch = np.concatenate([shift_images(images, dx, dy, canvas_side) for dy in span for dx in span])
    guesses = model.predict(with_channel(batch), batch_size=1024, verbose=0).argmax(axis=1)
    return guesses.reshape(len(span), len(span), len(images))


def measure_after_training(
    kind: str, model, spec: ConvStackSpec, digits: CanvasDigits, press: int, formula_parameters: int
) -> dict[str, Any]:
    """What the page draws about a trained model on later reruns, computed once right after training.

    Translation accuracy for every shift the canvas allows, the gallery's guesses at every move,
    and (for the ConvNet) its first layer's filters: none of these needs the model afterwards.
    """
    max_shift = max_shift_for(spec.input_side)
    gallery = gallery_indices(digits.y_validation)
    results = {
        "kind": kind,
        "press": press,
        "spec": spec,
        "canvas": spec.input_side,
        "max_shift": max_shift,
        "parameters": int(model.count_params()),
        "formula_parameters": int(formula_parameters),
        "translation": translation_accuracy(
            model, digits.raw_validation, digits.y_validation, max_shift, spec.input_side, model_name=kind
        ),
        "gallery_indices": gallery,
        "gallery_guesses": gallery_predictions(model, digits.raw_validation[gallery], spec.input_side, max_shift),
    }
    if kind == "ConvNet":
        results["filters"] = first_layer_filters(model)
    return results


@dataclass(frozen=True)
class PairMember:
    """One model of a press: the ConvNet or its matched MLP, compiled, with the label its live chart shows."""

    kind: str  # "ConvNet" or "MLP"
    model: Any
    label: str
    formula_parameters: int


def convnet_and_matched_mlp(
    spec: ConvStackSpec,
    *,
    press_number: int = 1,
    seed: int = 0,
    learning_rate: float = DEFAULT_LEARNING_RATE,
) -> list[PairMember]:
    """The ConvNet of `spec`, then the MLP with about as many parameters, both compiled, in training order.

    `spec` is a training spec (grayscale, the canvas's side). lib.page_glue.convnets trains the pair
    live (`train_convnet_and_mlp`).
    """
    from lib.models.builders import compile_classifier

    require_valid(spec)
    convnet = compile_classifier(build_convnet(spec, seed=seed, name="convnet"), learning_rate)
    formula = convnet_parameter_count(spec)
    mlp = compile_classifier(
        build_matched_mlp(spec.input_side, spec.channels, formula, seed=seed, classes=spec.classes), learning_rate
    )
    hidden = matched_mlp_hidden_size(spec.input_side**2 * spec.channels, formula, spec.classes)
    canvas = f"{spec.input_side}×{spec.input_side}" + (f" · seed {seed}" if seed else "")
    return [
        PairMember(
            "ConvNet",
            convnet,
            f"ConvNet #{press_number} · {describe_stack(spec)} · {formula:,} params · {canvas}",
            formula,
        ),
        PairMember(
            "MLP",
            mlp,
            f"MLP #{press_number} · {hidden} hidden units · {mlp.count_params():,} params · {canvas}",
            total_params(count_mlp_layers(spec.input_side**2 * spec.channels, [hidden], spec.classes)),
        ),
    ]


def next_press_number(runs: list) -> int:
    """One more than the highest press among the page's runs, so labels stay unique as old runs are dropped."""
    return 1 + max((int(run.settings.get("press", 0)) for run in runs), default=0)


def latest_pair(runs: list) -> tuple[Any, Any] | None:
    """The ConvNet and MLP runs of the newest press in which both finished and were measured, or None."""
    measured = [run for run in runs if run.results.get("press")]
    for mlp_run in reversed(measured):
        if mlp_run.results["kind"] != "MLP":
            continue
        partner = [
            run
            for run in measured
            if run.results["kind"] == "ConvNet" and run.results["press"] == mlp_run.results["press"]
        ]
        if partner:
            return partner[-1], mlp_run
    return None


def translation_frame(runs: list, max_shift: int) -> pd.DataFrame:
    """Accuracy against shift (0..max_shift) for every measured run, labelled by the run's label."""
    frames = []
    for run in runs:
        if "translation" not in run.results:
            continue
        frame = run.results["translation"]
        frame = frame[frame["shift"] <= max_shift][["shift", "accuracy"]].copy()
        frame["model"] = run.display_label
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["shift", "accuracy", "model"])
    return pd.concat(frames, ignore_index=True)


def translation_verdict(convnet_results: dict, mlp_results: dict, max_shift: int) -> str:
    """What the translation test measured for one press, in words and numbers, whoever won."""
    conv = convnet_results["translation"].set_index("shift")["accuracy"]
    mlp = mlp_results["translation"].set_index("shift")["accuracy"]
    conv_centred, mlp_centred = float(conv.loc[0]), float(mlp.loc[0])
    if mlp_centred > conv_centred:
        centred = (
            f"**On centred digits the MLP wins: {mlp_centred:.3f} against {conv_centred:.3f}** for the ConvNet. "
            "With as many parameters, it learned each pixel's own weight for digits that always sit in the same place."
        )
    elif conv_centred > mlp_centred:
        centred = f"**On centred digits the ConvNet wins: {conv_centred:.3f} against {mlp_centred:.3f}** for the MLP."
    else:
        centred = f"**On centred digits both score {conv_centred:.3f}.**"
    if max_shift < 1:
        return centred + " Move *Largest shift* to test moved digits."
    moved = range(1, max_shift + 1)
    conv_moved = float(np.mean([conv.loc[s] for s in moved]))
    mlp_moved = float(np.mean([mlp.loc[s] for s in moved]))
    at_most = (
        f"Moved by 1 to {max_shift} pixel{'s' if max_shift > 1 else ''} (each shift averaged over its eight directions), "
        f"the ConvNet scores **{conv_moved:.3f}** on average and the MLP **{mlp_moved:.3f}**; at {max_shift} "
        f"pixel{'s' if max_shift > 1 else ''}, {float(conv.loc[max_shift]):.3f} against {float(mlp.loc[max_shift]):.3f} "
        "(chance is 0.100)."
    )
    if conv_moved > mlp_moved + 0.02:
        judgement = (
            "**The ConvNet copes with moved digits far better**: its filters are shared by every position, so a "
            "stroke is detected wherever it sits, while each MLP weight belongs to one pixel it saw ink on in training."
        )
    elif mlp_moved > conv_moved + 0.02:
        judgement = (
            "**This time the ConvNet did not cope better than the MLP.** Look at the stack: a flatten head gives "
            "every position its own weights again, and pooling or strides that the shift is not a multiple of "
            "change which pixels are grouped together."
        )
    else:
        judgement = "**Neither model copes clearly better with moved digits** (less than 0.02 apart)."
    return f"{centred} {at_most} {judgement}"
