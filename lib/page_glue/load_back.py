"""Bring a run home again: an archive exported from a page, uploaded on the same page, joins its run table.

`load_back_box(page_key, loader)` is the one line a page adds beside its run downloads: an uploader whose
callback (it runs before the page's script) reads the archive with lib.models.export's reading side, checks
its settings against the page's settings table, rebuilds the page's own model from them and compares it with
the uploaded one (layer classes, weight shapes, parameter count), and only then adds a finished run, labelled
"… · loaded from <file>", with its curves and its model. Anything else is refused with one sentence shown
under the uploader; the runs already in the session are left as they were.

Each page's `…_LOADER` says what its archives hold: the page's title (as the README names it), the settings
it takes and their check, its model's builder and its training's shape (epochs, batches per epoch). The
translator pages' loaders (`translator_loader`) are made for the sentence pairs the page works on: a run
comes back only onto the pairs whose vocabularies it was trained with, and is measured on their held-out part.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from lib.app.settings import PageSettings
from lib.data.corpus import Corpus
from lib.engine.training import TrainingRun, page_runs
from lib.models.attention import AttentionTranslator
from lib.models.convnets import CLASSES, MAX_CONV_LAYERS, MIN_CONV_LAYERS, ConvLayerSpec, ConvStackSpec, validate_stack
from lib.models.export import (
    UPLOAD_CAP_BYTES,
    VOCABULARY_MEMBERS,
    ArchiveError,
    LoadedArchive,
    architecture_problem,
    load_model,
    plain_text,
    read_archive,
)
from lib.models.long_memory import CLIP_NORM, DEFAULT_BUDGET, SETUPS, build_long_memory_model
from lib.models.overfitting import DEMO_BATCH_SIZE, DEMO_METRICS, build_digit_mlp
from lib.models.seq2seq import Seq2SeqTranslator
from lib.models.shifted_digits import (
    CANVAS_CHOICES,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    DEFAULT_TRAIN_COUNT,
    TRAINING_METRICS,
    canvas_digits,
    convnet_and_matched_mlp,
    measure_after_training,
    next_press_number,
)
from lib.models.transformer import MAX_POSITIONS, TransformerTranslator
from lib.page_glue.attention_page import PAGE_KEY as ATTENTION_PAGE_KEY
from lib.page_glue.attention_page import TRANSLATOR_PAGE_KEY, AttentionSettings
from lib.page_glue.recurrence import SOURCES, ForecasterSettings, build_forecaster, error_metric_name
from lib.page_glue.settings.attention import SETTINGS as ATTENTION_SETTINGS
from lib.page_glue.settings.convnets import (
    DILATION_CHOICES,
    FILTER_CHOICES,
    HEADS,
    KERNEL_CHOICES,
    PADDING_CHOICES,
    POOL_CHOICES,
    STRIDE_CHOICES,
)
from lib.page_glue.settings.convnets import SETTINGS as CONVNET_SETTINGS
from lib.page_glue.settings.parameter_sharing import SETTINGS as SHARING_SETTINGS
from lib.page_glue.settings.recurrence import SETTINGS as RECURRENCE_SETTINGS
from lib.page_glue.settings.recurrence import UPLOAD
from lib.page_glue.settings.transformer import SETTINGS as TRANSFORMER_SETTINGS
from lib.page_glue.settings.translator import SETTINGS as TRANSLATOR_SETTINGS
from lib.page_glue.settings.vanishing_gradients import SETTINGS as VANISHING_SETTINGS
from lib.page_glue.transformer_page import PAGE_KEY as TRANSFORMER_PAGE_KEY
from lib.page_glue.transformer_page import TransformerSettings
from lib.page_glue.translator_family import corpus_vocabularies, measure_run
from lib.page_glue.translator_page import ScratchSettings

LOADED = "loaded from"


@dataclass(frozen=True)
class PageLoader:
    page: str  # the page's title, as the archive's README names it
    # The metrics its runs chart, given the settings and history.csv's columns.
    metrics: Callable[[dict[str, Any], list[str]], list[str]]
    check_settings: Callable[[dict[str, Any]], dict[str, Any]]  # the settings as the page records them, or raises
    build: Callable[[dict[str, Any]], Any]  # the page's own model for these settings
    epochs_planned: Callable[[dict[str, Any]], int]
    batches_per_epoch: Callable[[dict[str, Any], list[dict[str, Any]]], int]  # given the settings and the curve
    # The page's extras (gradients, measurements), given the run, its archive and the page's runs so far.
    finish: Callable[[TrainingRun, LoadedArchive, list[TrainingRun]], None] | None = None
    # A check of the archive as a whole, before its model is opened (a translator's vocabularies), or None.
    check_archive: Callable[[LoadedArchive], None] | None = None


def checked(table: PageSettings, settings: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """The run's settings named in `keys` (run setting -> the page's settings table key), each within its
    control's range or options; anything else in settings.json is left out."""
    if missing := sorted(keys.keys() - settings.keys()):
        raise ArchiveError(f"its settings.json lacks {', '.join(missing)}: it is not a run of this page.")
    values = {}
    for name, key in keys.items():
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ArchiveError(f"its setting {name} is not a value this page takes.")
        control = table[key]
        try:  # a choice is checked by its label, as a link writes it (the Attention page's score: "dot product q·zᵢ")
            label = str(control.format_func(value)) if getattr(control, "format_func", None) else str(value)
        except Exception as problem:  # a value its labels do not know
            raise ArchiveError(f"its setting {name} is not one this page takes.") from problem
        asked = [label] if control.widget == "multiselect" else label
        if problem := control.problem(asked):
            raise ArchiveError(f"its setting {name} is not one this page takes ({problem}).")
        values[name] = value
    return values


def whole(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool) or not float(value).is_integer():
            raise ValueError(value)
        return int(float(value))
    except (TypeError, ValueError, OverflowError) as problem:
        raise ArchiveError(f"its setting {name} is not a whole number.") from problem


def digit_mlp_settings(settings: dict[str, Any]) -> dict[str, Any]:
    keys = {"examples": "training_examples", "hidden_units": "hidden_units", "epochs": "epochs", "seed": "seed"}
    values = checked(SHARING_SETTINGS, settings, keys)
    return {name: whole(value, name) for name, value in values.items()}


DIGIT_MLP_LOADER = PageLoader(
    page="Parameter sharing",
    metrics=lambda s, columns: list(DEMO_METRICS),
    check_settings=digit_mlp_settings,
    build=lambda s: build_digit_mlp(s["hidden_units"], seed=s["seed"]),
    epochs_planned=lambda s: s["epochs"],
    batches_per_epoch=lambda s, curve: math.ceil(s["examples"] / DEMO_BATCH_SIZE),
)


def memory_cell_settings(settings: dict[str, Any]) -> dict[str, Any]:
    values = checked(VANISHING_SETTINGS, settings, {"cell": "memory_cells", "lag": "memory_lag", "seed": "seed"})
    values = {"cell": values["cell"], "lag": whole(values["lag"], "lag"), "seed": whole(values["seed"], "seed")}
    setup, clip_norm = settings.get("setup"), settings.get("clip_norm")
    if not isinstance(setup, str) or setup not in SETUPS:
        raise ArchiveError(f"its setting setup is not one of {sorted(SETUPS)}.")
    if clip_norm not in (0, 0.0, CLIP_NORM) or (clip_norm and values["cell"] != "SimpleRNN"):
        raise ArchiveError(f"its setting clip_norm is not one this page takes (0, or {CLIP_NORM:g} for a SimpleRNN).")
    # A press of its own, so that the page shows it as the newest press, with its gradients.
    return values | {"setup": setup, "clip_norm": float(clip_norm), "press": time.time_ns()}


def memory_snapshots(run: TrainingRun, archive: LoadedArchive, runs: list[TrainingRun]) -> None:
    """gradients.csv back into the run's gradient snapshots, as the page measured them while it trained."""
    frame = archive.csv_files.get("gradients.csv")
    if frame is None or frame.empty:
        return
    if list(frame.columns) != ["epoch", "steps_back", "gradient_norm"]:
        raise ArchiveError("its gradients.csv does not have the columns epoch, steps_back, gradient_norm.")
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    lag = run.settings["lag"]
    if not np.isfinite(numbers.to_numpy(dtype=float)).all() or not numbers["steps_back"].between(0, lag).all():
        raise ArchiveError("its gradients.csv holds values that are not gradients of this run.")
    for epoch, rows in numbers.groupby("epoch", sort=True):
        norms = rows.sort_values("steps_back")["gradient_norm"].to_numpy(dtype=float)
        if len(norms) != lag + 1:
            raise ArchiveError("its gradients.csv does not have one gradient per step back at each point.")
        run.snapshots.append({"epoch": float(epoch), "value": norms})


MEMORY_CELL_LOADER = PageLoader(
    page="Vanishing gradients",
    metrics=lambda s, columns: ["loss", "accuracy"],
    check_settings=memory_cell_settings,
    build=lambda s: build_long_memory_model(
        s["cell"], seed=s["seed"], setup=SETUPS[s["setup"]], clip_norm=s["clip_norm"] or None
    ),
    epochs_planned=lambda s: DEFAULT_BUDGET.rounds,
    batches_per_epoch=lambda s, curve: DEFAULT_BUDGET.updates_per_round,
    finish=memory_snapshots,
)


def convnet_spec(spec: Any) -> ConvStackSpec:
    """settings.json's spec back into the page's ConvStackSpec, each field one the page's table offers."""
    if not isinstance(spec, dict) or set(spec) != {"input_side", "channels", "layers", "classes", "head"}:
        raise ArchiveError("its setting spec is not a stack this page builds.")
    layers = spec["layers"]
    if not isinstance(layers, list) or not MIN_CONV_LAYERS <= len(layers) <= MAX_CONV_LAYERS:
        raise ArchiveError(f"its stack does not have {MIN_CONV_LAYERS} to {MAX_CONV_LAYERS} conv layers.")
    built = []
    for layer in layers:
        fields = {"filters", "kernel_size", "stride", "dilation", "padding", "pool"}
        if not isinstance(layer, dict) or set(layer) != fields:
            raise ArchiveError("its stack has a layer this page does not build.")
        if (
            layer["filters"] not in FILTER_CHOICES
            or layer["kernel_size"] not in KERNEL_CHOICES
            or layer["stride"] not in STRIDE_CHOICES
            or layer["dilation"] not in DILATION_CHOICES
            or layer["padding"] not in PADDING_CHOICES
            or layer["pool"] not in POOL_CHOICES.values()
            or any(type(layer[name]) not in (int, str, type(None)) for name in fields)
        ):
            raise ArchiveError("its stack has a layer outside the page's choices.")
        built.append(ConvLayerSpec(**{name: layer[name] for name in fields}))
    if (
        type(spec["input_side"]) is not int
        or spec["input_side"] not in CANVAS_CHOICES
        or spec["channels"] != 1
        or spec["classes"] != CLASSES
    ):
        raise ArchiveError("its stack's input is not a canvas this page trains on.")
    if not isinstance(spec["head"], str) or spec["head"] not in HEADS:
        raise ArchiveError(f"its stack's head is not one of {list(HEADS)}.")
    stack = ConvStackSpec(spec["input_side"], 1, tuple(built), CLASSES, spec["head"])
    if problem := validate_stack(stack):
        raise ArchiveError(f"its stack cannot be built ({problem}).")
    return stack


def convnet_pair_settings(settings: dict[str, Any]) -> dict[str, Any]:
    values = checked(CONVNET_SETTINGS, settings, {"canvas": "canvas", "epochs": "epochs", "seed": "seed"})
    values = {name: whole(value, name) for name, value in values.items()}
    if settings.get("kind") not in ("ConvNet", "MLP"):
        raise ArchiveError("its setting kind is neither ConvNet nor MLP.")
    if settings.get("batch_size") != DEFAULT_BATCH_SIZE or settings.get("learning_rate") != DEFAULT_LEARNING_RATE:
        raise ArchiveError("its batch size or learning rate is not the page's.")
    spec = convnet_spec(settings.get("spec"))
    if spec.input_side != values["canvas"]:
        raise ArchiveError("its stack's input side is not its canvas.")
    press = whole(settings.get("press", 0), "press")
    page = {"kind": settings["kind"], "spec": spec, "batch_size": DEFAULT_BATCH_SIZE, "press": press}
    return values | page | {"learning_rate": DEFAULT_LEARNING_RATE}


def convnet_pair_model(settings: dict[str, Any]):
    pair = convnet_and_matched_mlp(settings["spec"], seed=settings["seed"], learning_rate=settings["learning_rate"])
    return next(member.model for member in pair if member.kind == settings["kind"])


def convnet_measurements(run: TrainingRun, archive: LoadedArchive, runs: list[TrainingRun]) -> None:
    """What the page measures after training (translation, gallery, filters), measured on the loaded model.

    A loaded run takes a press number of its own, so that it does not pair with a run trained here; the
    other member of its press, loaded too, shares it, so a ConvNet and its MLP brought back pair again.
    """
    original = run.settings["press"]
    partners = [
        other.settings["press"]
        for other in runs
        if other.settings.get("loaded_press") == original
        and other.settings["kind"] != run.settings["kind"]
        and other.settings["spec"] == run.settings["spec"]
        and other.settings["seed"] == run.settings["seed"]
    ]
    press = partners[-1] if partners else next_press_number(runs)
    run.settings |= {"press": press, "loaded_press": original}
    spec = run.settings["spec"]
    pair = convnet_and_matched_mlp(spec, seed=run.settings["seed"])
    formula = next(member.formula_parameters for member in pair if member.kind == run.settings["kind"])
    digits = canvas_digits(DEFAULT_TRAIN_COUNT, spec.input_side)
    run.results = measure_after_training(run.settings["kind"], run.model, spec, digits, press, formula)


CONVNET_PAIR_LOADER = PageLoader(
    page="ConvNets",
    metrics=lambda s, columns: list(TRAINING_METRICS),
    check_settings=convnet_pair_settings,
    build=convnet_pair_model,
    epochs_planned=lambda s: s["epochs"],
    batches_per_epoch=lambda s, curve: math.ceil(DEFAULT_TRAIN_COUNT / s["batch_size"]),
    finish=convnet_measurements,
)


def forecaster_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A Recurrence run's settings: its series (a shipped one with its noise, or an upload by its content's
    hash), its window and horizon within that series' ranges, and the page's model controls."""
    series = settings.get("series")
    if not isinstance(series, str):
        raise ArchiveError("its setting series is not a series this page offers.")
    if re.fullmatch(r"upload:[0-9a-f]{16}", series):
        source, noise = UPLOAD, None
    else:
        source, _, noise = series.partition(":noise=")
        if source not in SOURCES:
            raise ArchiveError(f"its series {series[:40]!r} is not one this page offers.")
        if noise and (
            f"noise_{source}" not in RECURRENCE_SETTINGS or RECURRENCE_SETTINGS[f"noise_{source}"].problem(noise)
        ):
            raise ArchiveError(f"its series' noise {noise[:20]!r} is not one this page takes.")
    keys = {"kind": "models", "units": "units", "stacked_layers": "layers", "epochs": "epochs", "seed": "seed"}
    keys |= {"history": f"history_{source}", "horizon": f"horizon_{source}"}
    values = checked(RECURRENCE_SETTINGS, settings, keys)
    values = {name: value if name == "kind" else whole(value, name) for name, value in values.items()}
    if not isinstance(settings.get("bidirectional"), bool):
        raise ArchiveError("its setting bidirectional is not true or false.")
    if settings.get("learning_rate") != ForecasterSettings.learning_rate:
        raise ArchiveError("its learning rate is not the page's.")
    return (
        values
        | {"series": series, "bidirectional": settings["bidirectional"]}
        | {"learning_rate": ForecasterSettings.learning_rate}
    )


def forecaster_model(settings: dict[str, Any]):
    model_settings = ForecasterSettings(
        settings["units"], settings["stacked_layers"], settings["bidirectional"], settings["epochs"]
    )
    return build_forecaster(settings["kind"], settings["history"], model_settings, 1.0, "units", seed=settings["seed"])


def batches_from_curve(curve: list[dict[str, Any]]) -> int:
    """The batches of an epoch, from the per-batch curve (the engine records every batch, the first at 1/n)."""
    positions = [row["epoch"] for row in curve if row["epoch"] > 0]
    return max(1, round(1 / min(positions))) if positions else 1


def forecaster_metrics(settings: dict[str, Any], columns: list[str]) -> list[str]:
    """Loss and the error in the series' units: °C for the weather series, plain units for the others."""
    named = [name for name in (error_metric_name("°C"), error_metric_name("units")) if name in columns]
    return ["loss", named[0] if named else error_metric_name("units")]


FORECASTER_LOADER = PageLoader(
    page="Recurrence",
    metrics=forecaster_metrics,
    check_settings=forecaster_settings,
    build=forecaster_model,
    epochs_planned=lambda s: s["epochs"],
    batches_per_epoch=lambda s, curve: batches_from_curve(curve),
)


@dataclass(frozen=True)
class TranslatorPage:
    """What a translator page's runs hold: its title, its settings (a dataclass whose `build(vocabularies)` is
    the page's model), the controls that bound the model's shape (run setting -> the page's settings key),
    the values it always trains with, its translator (whose layers safe mode must know) and its metrics."""

    title: str
    settings_class: type
    table: PageSettings
    keys: dict[str, str]
    fixed: dict[str, Any]
    translator: type
    metrics: tuple[str, ...] = ("loss", "token_accuracy", "bleu")
    extra_metrics: tuple[str, ...] = ()  # charted when the run's history has them


TRANSLATOR_PAGES = {
    TRANSLATOR_PAGE_KEY: TranslatorPage(
        "Translator",
        ScratchSettings,
        TRANSLATOR_SETTINGS,
        {"cell": "cell", "units": "units", "embedding_size": "embedding", "layers": "layers"}
        | {"epochs": "epochs", "seed": "seed"},
        {},
        Seq2SeqTranslator,
        extra_metrics=("discriminator_accuracy",),
    ),
    ATTENTION_PAGE_KEY: TranslatorPage(
        "Attention",
        AttentionSettings,
        ATTENTION_SETTINGS,
        {"score": "score", "units": "units", "embedding_size": "embedding", "epochs": "epochs", "seed": "seed"},
        {},
        AttentionTranslator,
        extra_metrics=("alignment_accuracy",),
    ),
    TRANSFORMER_PAGE_KEY: TranslatorPage(
        "Transformer",
        TransformerSettings,
        TRANSFORMER_SETTINGS,
        {"layers": "layers", "heads": "heads", "model_size": "width", "feed_forward_size": "feed_forward"}
        | {"dropout": "dropout", "positions": "positions", "epochs": "epochs", "seed": "seed"},
        {"max_positions": MAX_POSITIONS},
        TransformerTranslator,
    ),
}


def plain_value(value: Any, default: Any) -> bool:
    """Whether a setting from the file is a value of the kind its field's default is (and of a sane size)."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if default is None or isinstance(default, int):  # whole numbers, or None where the default is None
        return (value is None and default is None) or (type(value) is int and 0 <= value <= 1_000_000)
    if isinstance(default, float):
        return type(value) in (int, float) and math.isfinite(value) and 0 <= value <= 10
    return isinstance(value, str) and len(value) <= 60 and plain_text(value, 60) == value


def translator_settings(page: TranslatorPage, settings: dict[str, Any], corpus_id: str, corpus: Corpus) -> dict:
    """A translator run's settings as the page records them: its model's shape within the page's controls,
    every other field a plain value of its kind (a field the file lacks takes the page's default: the shipped
    models record their shape only), the page's fixed values, and the pairs the page works on."""
    checked(page.table, settings, page.keys)
    values = {}
    for field in fields(page.settings_class):
        default = field.default if field.default is not MISSING else None
        value = settings.get(field.name, default)
        if not plain_value(value, default):
            raise ArchiveError(f"its setting {field.name} is not a value this page takes.")
        values[field.name] = value
    for name, value in page.fixed.items():
        if values[name] != value:
            raise ArchiveError(f"its setting {name} is not the page's ({value}).")
    if not 1 <= values["train_sentences"] <= len(corpus.train):
        raise ArchiveError(f"it trained on {values['train_sentences']:,} pairs, more than these pairs have.")
    if not 0 <= values["sampling_probability"] <= 1:
        raise ArchiveError("its scheduled sampling probability is not between 0 and 1.")
    try:
        made = page.settings_class(**values)
    except (ValueError, TypeError) as problem:
        raise ArchiveError(f"its settings are not ones this page takes ({problem}).") from problem
    return asdict(made) | {"corpus": corpus_id}


def translator_loader(page_key: str, corpus_id: str, corpus: Corpus) -> PageLoader | None:
    """The loader of a translator page (None for another page), for the sentence pairs it works on now: an
    archive comes back only if its vocabularies are those pairs' (the model's word tables are theirs), and the
    run is measured on their held-out sentences, as a run trained here is."""
    page = TRANSLATOR_PAGES.get(page_key)
    if page is None:
        return None
    vocabularies = corpus_vocabularies(corpus_id, corpus)

    def check_archive(archive: LoadedArchive) -> None:
        for name, vocabulary in zip(VOCABULARY_MEMBERS, vocabularies):
            table = archive.json_files.get(name)
            if not isinstance(table, dict) or table.get("words") != list(vocabulary.words):
                raise ArchiveError(
                    f"its {name} is not the vocabulary of the pairs this page works on now: it was trained on "
                    "other pairs (choose those pairs above first), or it is not a translator's run."
                )
        page.translator.register_layers()  # so that safe mode knows the page's own layers

    def build(settings: dict[str, Any]):
        made = page.settings_class(**{field.name: settings[field.name] for field in fields(page.settings_class)})
        return made.build(vocabularies)

    return PageLoader(
        page=page.title,
        # An extra measure may be held-out only (the Attention page's alignment accuracy: val_… alone).
        metrics=lambda s, columns: [
            *page.metrics,
            *(m for m in page.extra_metrics if m in columns or f"val_{m}" in columns),
        ],
        check_settings=lambda settings: translator_settings(page, settings, corpus_id, corpus),
        build=build,
        epochs_planned=lambda s: s["epochs"],
        batches_per_epoch=lambda s, curve: batches_from_curve(curve),
        finish=lambda run, archive, runs: measure_run(run, corpus_id, corpus),
        check_archive=check_archive,
    )


def epoch_rows(history: pd.DataFrame, metrics: list[str], epochs: int) -> list[dict[str, Any]]:
    """history.csv back into the run's epoch rows; refused unless it holds the page's metrics per epoch."""
    allowed = {"epoch", *metrics, *(f"val_{metric}" for metric in metrics)}
    if "epoch" not in history.columns or not set(history.columns) <= allowed:
        raise ArchiveError(f"its history.csv has columns {list(history.columns)[:8]}, not this page's metrics.")
    numbers = history.apply(pd.to_numeric, errors="coerce")
    values = numbers.to_numpy(dtype=float)
    if len(numbers) > epochs or np.isnan(numbers["epoch"]).any() or np.isinf(values).any():
        raise ArchiveError("its history.csv is not this run's epochs.")
    if list(numbers["epoch"]) != list(range(1, len(numbers) + 1)):
        raise ArchiveError("its history.csv does not count its epochs from 1.")
    rows = []
    for _, row in numbers.iterrows():
        for metric in metrics:
            for split, column in (("train", metric), ("validation", f"val_{metric}")):
                if column in row and not np.isnan(row[column]):
                    rows.append({"metric": metric, "split": split, "epoch": float(row["epoch"]), "value": row[column]})
    return rows


def batch_rows(batches: pd.DataFrame, metrics: list[str], epochs: int) -> list[dict[str, Any]]:
    """batches.csv back into the run's per-batch curve (training split, the page's metrics)."""
    if batches.empty:
        return []
    value = pd.to_numeric(batches["value"], errors="coerce").to_numpy(dtype=float)
    epoch = pd.to_numeric(batches["epoch"], errors="coerce").to_numpy(dtype=float)
    if (
        not set(batches["metric"]) <= set(metrics)
        or not set(batches["split"]) <= {"train"}
        or not np.isfinite(value).all()
        or not np.isfinite(epoch).all()
        or epoch.min() < 0
        or epoch.max() > epochs
    ):
        raise ArchiveError("its batches.csv is not a training curve of this page's metrics.")
    return [
        {"metric": str(m), "split": "train", "epoch": float(e), "value": float(v)}
        for m, e, v in zip(batches["metric"], epoch, value, strict=True)
    ]


def loaded_run(data: bytes, file_name: str, loader: PageLoader, runs: list[TrainingRun]) -> TrainingRun:
    """The run an uploaded archive holds, checked in full before anything is added (see the module)."""
    archive = read_archive(data, "the file")
    if archive.page and archive.page != loader.page:
        raise ArchiveError(f"it is a run of the {archive.page} page: open it there.")
    if loader.check_archive is not None:
        loader.check_archive(archive)
    settings = loader.check_settings(archive.settings)
    epochs = loader.epochs_planned(settings)
    metrics = loader.metrics(settings, list(archive.history.columns))
    rows = epoch_rows(archive.history, metrics, epochs)
    curve = batch_rows(archive.batches, metrics, epochs)
    per_epoch = loader.batches_per_epoch(settings, curve)
    model = load_model(archive.model_file)
    if problem := architecture_problem(model, loader.build(settings)):
        raise ArchiveError(f"{problem}: it is not a model this page builds.")
    name = plain_text(file_name, 80)
    label = f"{archive.label or 'a run'} · {LOADED} {name}"
    if label in [run.label for run in runs]:
        raise ArchiveError("it is already in the run table.")
    completed = len(archive.history)
    batches_seen = round(max(row["epoch"] for row in curve) * per_epoch) if curve else completed * per_epoch
    run = TrainingRun(
        label=label,
        settings=settings | {"loaded": hashlib.sha256(data).hexdigest()[:16]},
        metrics=metrics,
        epochs_planned=epochs,
        batches_per_epoch=per_epoch,
        status="finished" if completed >= epochs else "stopped",
        batch_rows=curve,
        epoch_rows=rows,
        epochs_completed=completed,
        batches_completed=max(min(batches_seen, epochs * per_epoch), completed * per_epoch),
        model=model,
    )
    if loader.finish is not None:
        loader.finish(run, archive, runs)
    run.released.set()
    return run


def as_shown(text: str, length: int = 400) -> str:
    """A refusal's reason, which may quote a value from the file, as Markdown that draws it as typed: no link,
    image, HTML or code span can come from the file, and a long value is cut."""
    text = text if len(text) <= length else text[:length] + "…"
    return re.sub(r"([\\`\[\]<>!*_~|])", r"\\\1", text).replace("://", ":/\u200b/")


def error_key(page_key: str) -> str:
    return f"load_back::{page_key}::error"


def uploader_key(page_key: str) -> str:
    return f"load_back::{page_key}::file"


def read_upload(page_key: str, loader: PageLoader) -> None:
    """The uploader's callback: a good archive joins the page's runs; a bad one leaves a sentence."""
    upload = st.session_state.get(uploader_key(page_key))
    st.session_state.pop(error_key(page_key), None)
    if upload is None:
        return
    runs = page_runs(page_key)
    try:
        data = upload.getvalue()
        if len(data) > UPLOAD_CAP_BYTES:
            raise ArchiveError(f"it is larger than the {UPLOAD_CAP_BYTES // (1024 * 1024)} MB the app takes.")
        run = loaded_run(data, upload.name, loader, runs)
    except Exception as problem:  # a crafted file may break a check in a way no check foresaw: refuse it too
        reason = (
            problem
            if isinstance(problem, ArchiveError)
            else (f"it could not be read as a run of this page ({type(problem).__name__}).")
        )
        st.session_state[error_key(page_key)] = (
            f"“{plain_text(upload.name, 80)}” cannot be loaded: {as_shown(str(reason))} The runs you trained here are kept as they were."
        )
        return
    run.trainer_thread = threading.get_ident()
    runs.append(run)


def load_back_box(page_key: str, loader: PageLoader) -> None:
    """An expander with the uploader of an exported run and, after a bad file, why it was refused."""
    message = st.session_state.get(error_key(page_key))
    with st.expander("Load a run you took home", expanded=message is not None, icon=":material/upload:"):
        st.file_uploader(
            f"An archive downloaded from this page (.zip, up to {UPLOAD_CAP_BYTES // (1024 * 1024)} MB): "
            "it joins the run table with its curves and its model. Keras opens the model in safe mode, and only "
            "a model this page builds is taken.",
            type=["zip"],
            key=uploader_key(page_key),
            on_change=read_upload,
            args=(page_key, loader),
        )
        if message:
            st.error(message, icon=":material/error:")
