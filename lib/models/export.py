"""A trained run as one zip to take home: its model, its history, its settings, its data and a script.

The archive holds `model.keras` (when the run still has its model), `history.csv` (one row per epoch, every
metric, training and held-out), `batches.csv` (the per-batch curve as the page drew it), `settings.json`,
the data the run trained on, `train.py` and `requirements.txt`. `train.py` comes from a template in
assets/export/: the builder fills the block between its `# --- settings` and `# --- end of settings` lines
with the run's values, and replaces each `# %% include: …` line with what it names (`assemble`): either a
part shared by several templates (assets/export/parts/<name>.py), or the source of definitions of the app
itself (`# %% include: lib.models.seq2seq: masked_crossentropy, TokenAccuracy`), copied from the app's
module at export time, so the script trains with the app's own layers, loss and batches and no second copy
of them is kept. The assembled train.py imports Keras, NumPy and pandas only, never this app's lib/, so the
folder trains again in any Python with the requirements installed.

Nothing here imports Streamlit, and nothing is built until asked for: the page glue calls `build_archive`
from the download's callable, when the participant clicks.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tempfile
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib.engine.graph_lock import builds_graph

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "assets" / "export"
PARTS = TEMPLATES / "parts"
INCLUDE = re.compile(r"^# %% include: (?P<what>\S.*?)\s*$")
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
    shuffled: bool = True  # whether the examples were shuffled into batches every epoch (seeded, as train.py does)
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


def app_source(module: str, names: list[str]) -> str:
    """The source of definitions in one of the app's modules, in the order named, each dedented: a class or
    function (with its decorators; nested in a function too, as the lazily defined Keras layers are) or a
    constant assigned once. Read from the module's file, so nothing is imported or run."""
    if not re.fullmatch(r"lib(\.\w+)+", module):
        raise ValueError(f"Not a module of the app: {module!r}.")
    text = (ROOT / Path(*module.split("."))).with_suffix(".py").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):  # breadth first: a module-level definition before a nested one
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            name, first = node.name, min([node.lineno, *(d.lineno for d in node.decorator_list)])
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:  # NAME = … or A, B = …
            target = node.targets[0]
            assigned = target.elts if isinstance(target, ast.Tuple) else [target]
            name = next((n.id for n in assigned if isinstance(n, ast.Name) and n.id in names), "")
            first = node.lineno
        else:
            continue
        if name in names and name not in found:
            found[name] = textwrap.dedent("".join(lines[first - 1 : node.end_lineno])).rstrip() + "\n"
    if missing := [name for name in names if name not in found]:
        raise ValueError(f"{module} defines no {missing}.")
    return "\n\n".join(dict.fromkeys(found[name] for name in names))  # A, B = … once when both are named


def assemble(template: str) -> str:
    """The template with each `# %% include: …` line replaced by the part or the app's source it names (a part
    may include others)."""
    out = []
    for line in template.splitlines(keepends=True):
        marker = INCLUDE.match(line)
        if marker is None:
            out.append(line)
            continue
        what = marker.group("what")
        if ":" in what:
            module, names = what.split(":", 1)
            out.append(app_source(module.strip(), [name.strip() for name in names.split(",")]))
        elif re.fullmatch(r"\w+", what):
            out.append(assemble((PARTS / f"{what}.py").read_text(encoding="utf-8")))
        else:
            raise ValueError(f"Not a part's name: {what!r}.")
    return "".join(out)


def train_script(template_name: str, values: dict[str, Any]) -> str:
    """train.py for one run: the template's settings filled with `values`, its parts and the app's source put in."""
    return assemble(fill_settings((TEMPLATES / template_name).read_text(encoding="utf-8"), values))


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
        "Every epoch the examples are shuffled into batches by NumPy's `default_rng([SEED, epoch])`, in "
        "`train.py` as in the app, so a second training follows these curves but for the rounding of "
        "floating-point sums."
        if export.shuffled
        else "The batches come in the run's own order (nothing is shuffled), so a second training follows these "
        "curves but for the rounding of floating-point sums.",
        *[f"\n{note}" for note in export.notes],
    ]
    return "\n".join(lines) + "\n"


def build_archive(export: RunExport) -> bytes:
    """The zip of one run (see the module's docstring)."""
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
        archive.writestr("train.py", train_script(export.template, export.script_settings))
        archive.writestr("requirements.txt", script_requirements())
        archive.writestr("README.md", readme(export, has_model))
    return buffer.getvalue()


# --- Reading an archive back -----------------------------------------------------------------------
# An archive comes back as an upload, so nothing in it is trusted: the zip's member names and sizes are
# checked before anything is read, what is read is read into memory with a bound, settings.json and the
# CSVs are parsed as data, and the model is opened by Keras in safe mode only after its config has been
# read as JSON and holds only Keras's own classes (no Lambda layer: that is Python code).

UPLOAD_CAP_BYTES = 5 * 1024 * 1024  # the app's upload cap (.streamlit/config.toml's maxUploadSize)
MEMBER_CAP_BYTES = 16 * 1024 * 1024  # one member, uncompressed
ARCHIVE_CAP_BYTES = 32 * 1024 * 1024  # all members, uncompressed
# What this module writes; data files are named by the page glue (data.npz, series.csv, held_out.npz, …).
ARCHIVE_MEMBERS = {"model.keras", "history.csv", "batches.csv", "settings.json", "train.py", "requirements.txt"}
ARCHIVE_MEMBERS |= {"README.md", "data.npz", "series.csv", "held_out.npz", "gradients.csv"}
# A translator page's: its pairs (not read back: the page works on its own) and its vocabularies (read as JSON).
VOCABULARY_MEMBERS = ("english_vocabulary.json", "french_vocabulary.json")
ARCHIVE_MEMBERS |= {"train_pairs.tsv", "held_out_pairs.tsv", *VOCABULARY_MEMBERS}
# The layers of this app's own are registered for safe mode under this package (rnn_playground>ReverseTokens, …).
APP_PACKAGE = "rnn_playground>"
MODEL_MEMBERS = {"metadata.json", "config.json", "model.weights.h5"}
MAX_CSV_ROWS = 200_000
LABEL_CHARACTERS = 200


class ArchiveError(ValueError):
    """Why an uploaded file is not an archive of a run that this app can open (a sentence for the page)."""


@dataclass
class LoadedArchive:
    """What an archive holds, parsed and checked as data (the model still as bytes, opened by `load_model`)."""

    page: str  # the page named in its README ("" when it names none)
    label: str
    settings: dict[str, Any]
    history: pd.DataFrame  # history.csv: one row per epoch
    batches: pd.DataFrame  # batches.csv: metric, split, epoch, value
    model_file: bytes | None
    csv_files: dict[str, pd.DataFrame] = field(default_factory=dict)  # the page's other CSVs (gradients.csv)
    json_files: dict[str, Any] = field(default_factory=dict)  # a translator's vocabularies, parsed as JSON


def plain_text(text: str, length: int = LABEL_CHARACTERS) -> str:
    """Text from a file, safe to show in the page's Markdown: letters, digits, spaces and the punctuation of
    the app's own labels, so no link, image or emphasis comes from an upload."""
    kept = re.sub(r"[^\w \t·×=(),.:#°/+\-]", "", text).replace("://", " ")  # no bare address either
    return kept[:length].strip()


def bounded_members(data: bytes, allowed: set[str], what: str, cap: int = UPLOAD_CAP_BYTES) -> dict[str, bytes]:
    """The members of a zip, by name, each read with its declared size as the bound; refused when the zip
    is larger than `cap`, is not a zip, is truncated, names a member outside `allowed` (a path, a
    duplicate) or unpacks to more than the caps."""
    if len(data) > cap:
        raise ArchiveError(f"{what} is larger than the {cap // (1024 * 1024)} MB the app takes.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(names) != len(set(names)):
                raise ArchiveError(f"{what} names a file twice.")
            if unknown := sorted(set(names) - allowed):
                raise ArchiveError(f"{what} holds files that an export of this app never holds: {unknown[:5]}.")
            if any(info.file_size > MEMBER_CAP_BYTES for info in infos) or (
                sum(info.file_size for info in infos) > ARCHIVE_CAP_BYTES
            ):
                raise ArchiveError(
                    f"{what} unpacks to more than the app opens ({MEMBER_CAP_BYTES // (1024 * 1024)} MB a file, "
                    f"{ARCHIVE_CAP_BYTES // (1024 * 1024)} MB in all)."
                )
            members = {}
            for info in infos:
                with archive.open(info) as member:
                    content = member.read(info.file_size + 1)  # never more than it declared, plus one to tell
                if len(content) != info.file_size:
                    raise ArchiveError(f"{what}'s {info.filename} is not the size the zip declares.")
                members[info.filename] = content
            return members
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError) as problem:
        raise ArchiveError(f"{what} is not a whole zip archive ({type(problem).__name__}).") from problem
    except Exception as problem:  # zlib.error and whatever else a crafted zip may raise while reading
        raise ArchiveError(f"{what} cannot be read as a zip archive ({type(problem).__name__}).") from problem


def read_csv_member(content: bytes, name: str) -> pd.DataFrame:
    """A CSV as numbers and short strings only (pandas's C parser; no code is run by reading a CSV)."""
    try:
        frame = pd.read_csv(io.BytesIO(content), nrows=MAX_CSV_ROWS + 1)
    except Exception as problem:
        raise ArchiveError(f"its {name} is not a CSV table ({type(problem).__name__}).") from problem
    if len(frame) > MAX_CSV_ROWS:
        raise ArchiveError(f"its {name} has more than {MAX_CSV_ROWS:,} rows.")
    return frame


def readme_title(readme_text: str) -> tuple[str, str]:
    """The run's label (the README's title) and the page it names."""
    lines = readme_text.splitlines()
    label = lines[0][2:].strip() if lines and lines[0].startswith("# ") else ""
    found = re.search(r"A run of RNN Playground's (.{1,60}?) page", readme_text)
    return plain_text(label), plain_text(found.group(1)) if found else ""


def read_archive(data: bytes, what: str = "the file") -> LoadedArchive:
    """An exported run's archive, parsed and checked as data (see the section's comment)."""
    members = bounded_members(data, ARCHIVE_MEMBERS, what)
    missing = sorted({"settings.json", "history.csv", "batches.csv", "model.keras"} - members.keys())
    if missing:
        raise ArchiveError(f"{what} is not a run exported with its model by this app (no {', '.join(missing)}).")
    try:
        settings = json.loads(members["settings.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as problem:
        raise ArchiveError("its settings.json is not JSON.") from problem
    if not isinstance(settings, dict):
        raise ArchiveError("its settings.json is not a table of settings.")
    readme_text = members.get("README.md", b"").decode("utf-8", errors="replace")
    label, page = readme_title(readme_text)
    history = read_csv_member(members["history.csv"], "history.csv")
    batches = read_csv_member(members["batches.csv"], "batches.csv")
    if list(batches.columns) != ["metric", "split", "epoch", "value"]:
        raise ArchiveError("its batches.csv does not have the columns metric, split, epoch, value.")
    csv_files = {name: read_csv_member(content, name) for name, content in members.items() if name == "gradients.csv"}
    json_files = {}
    for name in VOCABULARY_MEMBERS:
        if name in members:
            try:
                json_files[name] = json.loads(members[name].decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as problem:
                raise ArchiveError(f"its {name} is not JSON.") from problem
    return LoadedArchive(page, label, settings, history, batches, members["model.keras"], csv_files, json_files)


def app_class(registered: Any) -> bool:
    """Whether a config's registered name is a layer of this app's own, registered for safe mode (the page that
    builds such a model registers its layers before it loads one): Keras then takes the registered class, and
    imports nothing that the file names."""
    import keras

    return (
        isinstance(registered, str)
        and registered.startswith(APP_PACKAGE)
        and keras.saving.get_registered_object(registered) is not None
    )


def model_config_problem(config: Any) -> str | None:
    """Why a .keras file's config.json is not one of Keras's own layers and models (None when it is)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                return "its model has a Lambda layer (Python code, which the app never runs)"
            module, registered = node.get("module"), node.get("registered_name")
            if "class_name" in node and module is not None and not str(module).startswith("keras"):
                if not app_class(registered):
                    return f"its model uses a class this app does not know ({node.get('class_name')!r} of {module!r})"
            if registered is not None and str(registered) != str(node.get("class_name")):
                if not str(registered).startswith("keras") and not app_class(registered):
                    return f"its model uses a class this app does not know ({registered!r})"
            stack.extend(node.values())
    return None


@builds_graph
def load_model(model_file: bytes, what: str = "its model.keras"):
    """The model of an archive, opened by Keras in safe mode after its members and config are checked."""
    import keras

    members = bounded_members(model_file, MODEL_MEMBERS, what, cap=MEMBER_CAP_BYTES)
    if "config.json" not in members or "model.weights.h5" not in members:
        raise ArchiveError(f"{what} is not a Keras model file.")
    try:
        config = json.loads(members["config.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as problem:
        raise ArchiveError(f"{what}'s config.json is not JSON.") from problem
    if problem := model_config_problem(config):
        raise ArchiveError(f"{problem}.")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(model_file)
        try:
            return keras.saving.load_model(path, compile=True, safe_mode=True)
        except Exception as problem:
            raise ArchiveError(f"Keras could not open {what} in safe mode ({type(problem).__name__}).") from problem


def architecture(model) -> list[tuple[str, list[tuple]]]:
    """Each layer's class and weight shapes: what tells one page's model from another's."""
    return [(type(layer).__name__, [tuple(weight.shape) for weight in layer.weights]) for layer in model.layers]


def architecture_problem(loaded, built) -> str | None:
    """Why the loaded model is not the one the page builds from the same settings (None when it is)."""
    if loaded.count_params() != built.count_params():
        return f"its model has {loaded.count_params():,} parameters where the page's has {built.count_params():,}"
    if architecture(loaded) != architecture(built):
        return "its model's layers are not those the page builds from its settings"
    return None
