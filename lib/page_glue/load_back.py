"""Bring a run home again: an archive exported from a page, uploaded on the same page, joins its run table.

`load_back_box(page_key, loader)` is the one line a page adds beside its run downloads: an uploader whose
callback (it runs before the page's script) reads the archive with lib.models.export's reading side, checks
its settings against the page's settings table, rebuilds the page's own model from them and compares it with
the uploaded one (layer classes, weight shapes, parameter count), and only then adds a finished run, labelled
"… · loaded from <file>", with its curves and its model. Anything else is refused with one sentence shown
under the uploader; the runs already in the session are left as they were.

Each page's `…_LOADER` says what its archives hold: the page's title (as the README names it), the settings
it takes and their check, its model's builder and its training's shape (epochs, batches per epoch).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from lib.app.settings import PageSettings
from lib.engine.training import TrainingRun, page_runs
from lib.models.export import (
    UPLOAD_CAP_BYTES,
    ArchiveError,
    LoadedArchive,
    architecture_problem,
    load_model,
    read_archive,
)
from lib.models.long_memory import CLIP_NORM, DEFAULT_BUDGET, SETUPS, build_long_memory_model
from lib.models.overfitting import DEMO_BATCH_SIZE, DEMO_METRICS, build_digit_mlp
from lib.page_glue.settings.parameter_sharing import SETTINGS as SHARING_SETTINGS
from lib.page_glue.settings.vanishing_gradients import SETTINGS as VANISHING_SETTINGS

LOADED = "loaded from"


@dataclass(frozen=True)
class PageLoader:
    page: str  # the page's title, as the archive's README names it
    metrics: list[str]
    check_settings: Callable[[dict[str, Any]], dict[str, Any]]  # the settings as the page records them, or raises
    build: Callable[[dict[str, Any]], Any]  # the page's own model for these settings
    epochs_planned: Callable[[dict[str, Any]], int]
    batches_per_epoch: Callable[[dict[str, Any]], int]
    finish: Callable[[TrainingRun, LoadedArchive], None] | None = None  # the page's extras (gradients, …)


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
        asked = [value] if table[key].widget == "multiselect" else str(value)
        if problem := table[key].problem(asked):
            raise ArchiveError(f"its setting {name} is not one this page takes ({problem}).")
        values[name] = value
    return values


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not float(value).is_integer():
        raise ArchiveError(f"its setting {name} is not a whole number.")
    return int(value)


def digit_mlp_settings(settings: dict[str, Any]) -> dict[str, Any]:
    keys = {"examples": "training_examples", "hidden_units": "hidden_units", "epochs": "epochs", "seed": "seed"}
    values = checked(SHARING_SETTINGS, settings, keys)
    return {name: whole(value, name) for name, value in values.items()}


DIGIT_MLP_LOADER = PageLoader(
    page="Parameter sharing",
    metrics=DEMO_METRICS,
    check_settings=digit_mlp_settings,
    build=lambda s: build_digit_mlp(s["hidden_units"], seed=s["seed"]),
    epochs_planned=lambda s: s["epochs"],
    batches_per_epoch=lambda s: math.ceil(s["examples"] / DEMO_BATCH_SIZE),
)


def memory_cell_settings(settings: dict[str, Any]) -> dict[str, Any]:
    values = checked(VANISHING_SETTINGS, settings, {"cell": "memory_cells", "lag": "memory_lag", "seed": "seed"})
    values = {"cell": values["cell"], "lag": whole(values["lag"], "lag"), "seed": whole(values["seed"], "seed")}
    setup, clip_norm = settings.get("setup"), settings.get("clip_norm")
    if setup not in SETUPS:
        raise ArchiveError(f"its setting setup is not one of {sorted(SETUPS)}.")
    if clip_norm not in (0, 0.0, CLIP_NORM) or (clip_norm and values["cell"] != "SimpleRNN"):
        raise ArchiveError(f"its setting clip_norm is not one this page takes (0, or {CLIP_NORM:g} for a SimpleRNN).")
    # A press of its own, so that the page shows it as the newest press, with its gradients.
    return values | {"setup": setup, "clip_norm": float(clip_norm), "press": time.time_ns()}


def memory_snapshots(run: TrainingRun, archive: LoadedArchive) -> None:
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
        run.snapshots.append({"epoch": float(epoch), "value": norms})


MEMORY_CELL_LOADER = PageLoader(
    page="Vanishing gradients",
    metrics=["loss", "accuracy"],
    check_settings=memory_cell_settings,
    build=lambda s: build_long_memory_model(
        s["cell"], seed=s["seed"], setup=SETUPS[s["setup"]], clip_norm=s["clip_norm"] or None
    ),
    epochs_planned=lambda s: DEFAULT_BUDGET.rounds,
    batches_per_epoch=lambda s: DEFAULT_BUDGET.updates_per_round,
    finish=memory_snapshots,
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


def loaded_run(data: bytes, file_name: str, loader: PageLoader, taken: list[str]) -> TrainingRun:
    """The run an uploaded archive holds, checked in full before anything is added (see the module)."""
    archive = read_archive(data, "the file")
    if archive.page and archive.page != loader.page:
        raise ArchiveError(f"it is a run of the {archive.page} page: open it there.")
    settings = loader.check_settings(archive.settings)
    epochs = loader.epochs_planned(settings)
    per_epoch = loader.batches_per_epoch(settings)
    rows = epoch_rows(archive.history, loader.metrics, epochs)
    curve = batch_rows(archive.batches, loader.metrics, epochs)
    model = load_model(archive.model_file)
    if problem := architecture_problem(model, loader.build(settings)):
        raise ArchiveError(f"{problem}: it is not a model this page builds.")
    name = "".join(ch for ch in file_name if ch.isprintable())[:80]
    label = f"{archive.label or 'a run'} · {LOADED} {name}"
    if label in taken:
        raise ArchiveError("it is already in the run table.")
    completed = len(archive.history)
    batches_seen = round(max(row["epoch"] for row in curve) * per_epoch) if curve else completed * per_epoch
    run = TrainingRun(
        label=label,
        settings=settings | {"loaded": hashlib.sha256(data).hexdigest()[:16]},
        metrics=list(loader.metrics),
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
        loader.finish(run, archive)
    run.released.set()
    return run


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
        run = loaded_run(data, upload.name, loader, [run.label for run in runs])
    except ArchiveError as problem:
        st.session_state[error_key(page_key)] = (
            f"“{upload.name}” cannot be loaded: {problem} The runs you trained here are kept as they were."
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
