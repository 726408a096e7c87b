"""Take a run home: the download of each run of a page's run table, and what each page's archive holds.

`run_downloads(page_key, runs, archive)` is the one line a page adds under its run table: one download
button per finished or stopped run. The archive is built by `archive(run)` only when the participant
clicks (Streamlit calls the button's `data` then, in its own thread), so keeping a run costs nothing for
its export; the click does not rerun the page (`on_click="ignore"`), so a training under way goes on.

Each page's `…_archive(run)` gathers what lib.models.export packs: the run's curves and settings, the
data rebuilt from the run's settings, and the values of its train.py template in assets/export/.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lib.data.digits import split_digits
from lib.engine.training import TrainingRun
from lib.models.export import RunExport, build_archive, npz_bytes, slug
from lib.models.overfitting import DEMO_BATCH_SIZE


def run_downloads(page_key: str, runs: list[TrainingRun], archive: Callable[[TrainingRun], bytes]) -> None:
    """One download per run that has stopped training: a zip with its model, curves, data and train.py."""
    done = [run for run in runs if run.status != "training"]
    if not done:
        return
    row = st.container(horizontal=True, vertical_alignment="center")
    row.caption("Take a run home (model, curves, settings, data and a `train.py` that trains it again):")
    for run in done:
        row.download_button(
            run.display_label if len(done) > 1 else "Download the run",
            data=lambda run=run: archive(run),
            file_name=f"{slug(run.label)}.zip",
            mime="application/zip",
            on_click="ignore",
            icon=":material/download:",
            key=f"export::{page_key}::{run.label}",
            help=f"{run.label}: a zip with model.keras (while the app keeps the model), history.csv, "
            "settings.json, the data, train.py and requirements.txt.",
        )


def run_export(run: TrainingRun, page: str, template: str, script_settings: dict, data_files: dict) -> RunExport:
    return RunExport(
        page=page,
        template=template,
        label=run.label,
        status=run.status_text,
        settings=dict(run.settings),
        script_settings=script_settings,
        epoch_rows=list(run.epoch_rows),
        batch_rows=list(run.batch_rows),
        data_files=data_files,
        model=run.model,
    )


def digit_mlp_archive(run: TrainingRun) -> bytes:
    """The Parameter sharing page's run: the digit MLP, on the run's training digits and the 360 validation ones."""
    settings = run.settings
    splits = split_digits(settings["examples"])
    data = npz_bytes(
        x_train=splits.x_train,
        y_train=splits.y_train,
        x_validation=splits.x_validation,
        y_validation=splits.y_validation,
    )
    script_settings = {
        "HIDDEN_UNITS": int(settings["hidden_units"]),
        "EPOCHS": int(settings["epochs"]),
        "BATCH_SIZE": DEMO_BATCH_SIZE,
        "LEARNING_RATE": 1e-3,
        "SEED": int(settings.get("seed", 0)),
    }
    return build_archive(
        run_export(run, "Parameter sharing", "parameter_sharing.py", script_settings, {"data.npz": data})
    )
