"""A trained run as one zip to take home: its model, its history, its settings, its data and a script.

The archive holds `model.keras` (when the run still has its model), `history.csv` (one row per epoch, every
metric, training and held-out), `batches.csv` (the per-batch curve as the page drew it), `settings.json`,
the data the run trained on, `train.py` and `requirements.txt`. `train.py` comes from a template in
assets/export/ (a real Python file, so ruff checks it): the builder fills the block between its
`# --- settings` and `# --- end of settings` lines with the run's values. The template imports Keras, NumPy and
pandas only, never this app's lib/, so the folder trains again in any Python with the requirements installed.

Nothing here imports Streamlit, and nothing is built until asked for: the page glue calls `build_archive`
from the download's callable, when the participant clicks.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.engine.graph_lock import builds_graph

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "assets" / "export"
REQUIREMENTS = ROOT / "requirements.txt"
# What train.py needs of the app's pinned requirements (the app's own server and charts are left out).
SCRIPT_PACKAGES = ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas")
SETTINGS_START = "# --- settings"
SETTINGS_END = "# --- end of settings"


@dataclass
class RunExport:
    """What one run's archive holds, gathered by the page glue from the run and its page."""

    page: str  # the page's title, for the README
    template: str  # the file in assets/export/ that becomes train.py
    label: str
    status: str
    settings: dict[str, Any]  # the run's settings, as the page recorded them (settings.json)
    script_settings: dict[str, Any]  # the values train.py's settings block takes
    epoch_rows: list[dict[str, Any]]
    batch_rows: list[dict[str, Any]]
    data_files: dict[str, bytes]  # name in the archive -> content (the data the run trained on)
    model: Any = None
    # False when the model was compiled with a function of this app (a metric in the series' units): Keras
    # could not find it when loading, so model.keras then holds the trained model without its compile state.
    keep_compile: bool = True
    shuffled: bool = True  # whether Keras shuffled the batches (unseeded), so that a rerun cannot match exactly
    notes: list[str] = field(default_factory=list)  # page-specific lines for the README
    # What a data file holds, for the README (a file named in data_files but not here is "the data the run
    # trained on"); a page's other measurements (say, gradients during training) come this way too.
    file_notes: dict[str, str] = field(default_factory=dict)


def slug(text: str) -> str:
    """A file name's part from a run's label: lower case letters, digits and single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "run"


def fill_settings(template: str, values: dict[str, Any]) -> str:
    """The template with its settings block replaced by `NAME = value` lines, one per entry of `values`."""
    lines = template.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(SETTINGS_START))
    end = next(i for i, line in enumerate(lines) if line.startswith(SETTINGS_END))
    block = [f"{name} = {value!r}\n" for name, value in values.items()]
    return "".join([*lines[: start + 1], *block, *lines[end:]])


def script_requirements() -> str:
    """The app's pinned versions of what train.py imports (TensorFlow's platform markers kept)."""
    kept = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        name = re.split(r"[=<>;\s\[]", line.strip(), maxsplit=1)[0].lower()
        if name in SCRIPT_PACKAGES:
            kept.append(line.strip())
    return "\n".join(kept) + "\n"


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def epoch_history(epoch_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished epoch, with Keras's names: loss, accuracy, val_loss, val_accuracy, …"""
    if not epoch_rows:
        return pd.DataFrame({"epoch": []})
    frame = pd.DataFrame(epoch_rows)
    frame["column"] = np.where(frame["split"] == "validation", "val_" + frame["metric"], frame["metric"])
    wide = frame.pivot_table(index="epoch", columns="column", values="value", aggfunc="last").reset_index()
    wide["epoch"] = wide["epoch"].astype(int)
    wide.columns.name = None
    return wide


@builds_graph
def uncompiled_copy(model):
    """The same layers and weights, with no optimizer, loss or metrics to save."""
    import keras

    copy = keras.Model.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def model_bytes(model, keep_compile: bool = True) -> bytes:
    """The model as a `.keras` file's bytes (Keras writes to a path, so through a temporary folder)."""
    model = model if keep_compile else uncompiled_copy(model)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def readme(export: RunExport, has_model: bool) -> str:
    epochs = len(epoch_history(export.epoch_rows))
    lines = [
        f"# {export.label}",
        "",
        f"A run of RNN Playground's {export.page} page ({export.status}, {epochs} epoch(s) recorded).",
        "",
        "- `model.keras`: the trained model; open it with `keras.saving.load_model('model.keras')`."
        + (
            ""
            if export.keep_compile
            else " It holds the layers and trained weights without the optimizer's state: its error metric is "
            "a function of the app's, so compile it as train.py does to train it further."
        )
        if has_model
        else "- No `model.keras`: the app had let this run's model go (it keeps the models of a page's newest "
        "runs only), so this archive has its curves, settings and data; `train.py` trains the model again.",
        "- `history.csv`: every finished epoch's metrics (training, and `val_` for the held-out data).",
        "- `batches.csv`: the per-batch training curve as the page drew it (smoothed like the chart, "
        "`epoch` is the position in epochs).",
        "- `settings.json`: the run's settings as the page recorded them.",
        *[f"- `{name}`: {export.file_notes.get(name, 'the data the run trained on.')}" for name in export.data_files],
        "- `train.py`: builds the same data, model and training with plain Keras; "
        "`python train.py --epochs 1` for a short check. Its `# %%` cells open as a notebook in Jupyter "
        "(jupytext) and VS Code.",
        "- `requirements.txt`: `pip install -r requirements.txt` installs what `train.py` needs.",
        "",
        "Keras shuffles the batches with a random order of its own, so a second training gives curves close to "
        "these, not the same to the last digit."
        if export.shuffled
        else "The batches come in the run's own order (nothing is shuffled), so a second training follows these "
        "curves but for the rounding of floating-point sums.",
        *[f"\n{note}" for note in export.notes],
    ]
    return "\n".join(lines) + "\n"


def build_archive(export: RunExport) -> bytes:
    """The zip of one run (see the module's docstring)."""
    template = (TEMPLATES / export.template).read_text(encoding="utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        has_model = export.model is not None
        if has_model:
            archive.writestr("model.keras", model_bytes(export.model, export.keep_compile))
        archive.writestr("history.csv", epoch_history(export.epoch_rows).to_csv(index=False))
        batches = pd.DataFrame(export.batch_rows, columns=["metric", "split", "epoch", "value"])
        archive.writestr("batches.csv", batches.to_csv(index=False))
        archive.writestr("settings.json", json.dumps(export.settings, indent=2, default=str) + "\n")
        for name, content in export.data_files.items():
            archive.writestr(name, content)
        archive.writestr("train.py", fill_settings(template, export.script_settings))
        archive.writestr("requirements.txt", script_requirements())
        archive.writestr("README.md", readme(export, has_model))
    return buffer.getvalue()
