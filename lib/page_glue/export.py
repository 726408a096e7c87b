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
from dataclasses import asdict

import numpy as np
import pandas as pd
import streamlit as st

from lib.data.corpus import Corpus, tokenize
from lib.data.digits import split_digits
from lib.engine.training import TrainingRun, page_runs
from lib.models.convnets import convnet_parameter_count, matched_mlp_hidden_size
from lib.models.export import RunExport, build_archive, npz_bytes, slug
from lib.models.long_memory import DEFAULT_BUDGET, SETUPS, SYMBOL_COUNT, held_out_sequences
from lib.models.overfitting import DEMO_BATCH_SIZE
from lib.models.seq2seq import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE
from lib.models.shifted_digits import DEFAULT_TRAIN_COUNT, canvas_digits
from lib.models.transformer import MAX_POSITIONS
from lib.page_glue.load_back import load_back_box, translator_loader
from lib.page_glue.recurrence import BATCH_SIZE as FORECAST_BATCH_SIZE
from lib.page_glue.recurrence import SOURCES, error_metric_name, load_source
from lib.page_glue.translator_family import GRAMMAR_KEY, SHIPPED_STATUS, ShippedModel, corpus_vocabularies
from lib.page_glue.translator_page import PROFESSOR_FORCING
from lib.page_glue.vanishing import GRADIENT_PROBE_SEQUENCES


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


def pairs_tsv(pairs: list[tuple[str, str]]) -> bytes:
    """Sentence pairs as the pages read an upload: English, a tab, French, one pair a line."""
    return "".join(f"{english}\t{french}\n" for english, french in pairs).encode()


def translator_run_archive(
    run: TrainingRun, corpus_id: str, corpus: Corpus, page: str, template: str, script_settings: dict
) -> RunExport:
    """What a translator page's run holds: the teacher-forcing model (the run keeps its translator), both
    vocabularies, the pairs it trained on and the held-out ones, beside the curves and settings."""
    source_vocabulary, target_vocabulary = corpus_vocabularies(corpus_id, corpus)
    train_pairs = corpus.train
    longest = run.settings.get("longest_training_sentence")
    if longest:
        train_pairs = [pair for pair in train_pairs if len(tokenize(pair[0])) <= longest]
    data_files = {
        "train_pairs.tsv": pairs_tsv(train_pairs[: int(run.settings["train_sentences"])]),
        "held_out_pairs.tsv": pairs_tsv(corpus.test),
        "english_vocabulary.json": (source_vocabulary.to_json() + "\n").encode(),
        "french_vocabulary.json": (target_vocabulary.to_json() + "\n").encode(),
    }
    export = run_export(run, page, template, script_settings, data_files)
    # Once measured, the run keeps its translator (`.model`); before, its trainer (`.seq2seq`).
    export.model = getattr(run.model, "model", None) or getattr(run.model, "seq2seq", run.model)
    export.shuffled = False  # the batches come in one seeded order (bucketed_dataset)
    export.file_notes.update(
        {
            "train_pairs.tsv": "the sentence pairs the run trained on (English, a tab, French; one pair a line).",
            "held_out_pairs.tsv": "the held-out pairs the page measured the run on (its validation data).",
            "english_vocabulary.json": "the English words the model knows, by id (0-3: <pad>, <s>, </s>, <unk>).",
            "french_vocabulary.json": "the French words the model writes, by id (0-3: <pad>, <s>, </s>, <unk>).",
        }
    )
    if run.status == SHIPPED_STATUS:
        export.notes.append(
            f"This is the page's shipped model, trained by the app's scripts/train_translator.py with the recipe "
            f"train.py follows, on all {len(train_pairs):,} pairs; history.csv holds the curves recorded then."
        )
    export.notes.append(
        "The vocabularies are the page's: for the grammar's pairs, the shipped model's (built from the whole "
        "corpus's training part, so they hold words beyond these pairs); for an upload, its own."
    )
    return export


def translator_archives(corpus_id: str, corpus: Corpus) -> Callable[[TrainingRun], bytes]:
    """The Translator page's archive of a run (the seq2seq), given the pairs the page works on now."""

    def archive(run: TrainingRun) -> bytes:
        settings = run.settings
        script_settings = {
            "CELL": settings["cell"],
            "UNITS": int(settings["units"]),
            "EMBEDDING_SIZE": int(settings["embedding_size"]),
            "LAYERS": int(settings["layers"]),
            "CONTEXT_EVERY_STEP": bool(settings["context_every_step"]),
            "REVERSE_SOURCE": True,
            "EPOCHS": int(settings["epochs"]),
            "BATCH_SIZE": DEFAULT_BATCH_SIZE,
            "LEARNING_RATE": DEFAULT_LEARNING_RATE,
            "SAMPLING_PROBABILITY": float(settings.get("sampling_probability") or 0.0),
            "SEED": int(settings.get("seed", 0)),
        }
        export = translator_run_archive(run, corpus_id, corpus, "Translator", "translator.py", script_settings)
        if settings.get("training") == PROFESSOR_FORCING:
            export.notes.append(
                "This run was trained by professor forcing; train.py does not reproduce it (its discriminator and "
                "second decoder run would double the script): it trains the same model with teacher forcing."
            )
        return build_archive(export)

    return archive


def attention_archives(corpus_id: str, corpus: Corpus) -> Callable[[TrainingRun], bytes]:
    """The Attention page's archive of a run (the seq2seq with Luong attention and the run's score)."""

    def archive(run: TrainingRun) -> bytes:
        settings = run.settings
        script_settings = {
            "SCORE": settings["score"],
            "UNITS": int(settings["units"]),
            "EMBEDDING_SIZE": int(settings["embedding_size"]),
            "EPOCHS": int(settings["epochs"]),
            "BATCH_SIZE": DEFAULT_BATCH_SIZE,
            "LEARNING_RATE": DEFAULT_LEARNING_RATE,
            "SAMPLING_PROBABILITY": float(settings.get("sampling_probability") or 0.0),
            "SEED": int(settings.get("seed", 0)),
        }
        return build_archive(
            translator_run_archive(run, corpus_id, corpus, "Attention", "attention.py", script_settings)
        )

    return archive


def transformer_archives(corpus_id: str, corpus: Corpus) -> Callable[[TrainingRun], bytes]:
    """The Transformer page's archive of a run (its positions, causal mask, dropout and step size)."""

    def archive(run: TrainingRun) -> bytes:
        settings = run.settings
        script_settings = {
            "LAYERS": int(settings["layers"]),
            "HEADS": int(settings["heads"]),
            "MODEL_SIZE": int(settings["model_size"]),
            "FEED_FORWARD_SIZE": int(settings["feed_forward_size"]),
            "DROPOUT": float(settings["dropout"]),
            "POSITIONS": settings["positions"],
            "MAX_POSITIONS": int(settings["max_positions"]),
            "CAUSAL_MASK": bool(settings["causal_mask"]),
            "EPOCHS": int(settings["epochs"]),
            "BATCH_SIZE": DEFAULT_BATCH_SIZE,
            "LEARNING_RATE": float(settings["learning_rate"]),
            "SAMPLING_PROBABILITY": float(settings.get("sampling_probability") or 0.0),
            "SEED": int(settings.get("seed", 0)),
        }
        export = translator_run_archive(run, corpus_id, corpus, "Transformer", "transformer.py", script_settings)
        if settings.get("longest_training_sentence"):
            export.notes.append(
                f"The run trained on English sentences of at most {settings['longest_training_sentence']} words "
                "only: train_pairs.tsv holds those it took."
            )
        return build_archive(export)

    return archive


def shipped_run(shipped: ShippedModel) -> TrainingRun:
    """The shipped model as a finished run of its page, for its download: its settings and curves as
    measured when it was trained (metrics.json), on the grammar's pairs, with the shared translator."""
    figures = shipped.figures()
    epochs = int(figures["epochs"])
    settings = {
        **figures["settings"],
        "epochs": epochs,
        "train_sentences": int(figures["train_sentences"]),
        "learning_rate": float(figures["learning_rate"]),
        "max_positions": MAX_POSITIONS,
        "corpus": GRAMMAR_KEY,
    }
    epoch_rows = [
        {
            "metric": name.removeprefix("val_"),
            "split": "validation" if name.startswith("val_") else "train",
            "epoch": float(row["epoch"]),
            "value": float(value),
        }
        for row in figures.get("history", [])
        for name, value in row.items()
        if name not in ("epoch", "seconds")
    ]
    return TrainingRun(
        label=shipped.label,
        settings=settings,
        metrics=["loss", "token_accuracy"],
        epochs_planned=epochs,
        batches_per_epoch=1,
        status=SHIPPED_STATUS,
        epoch_rows=epoch_rows,
        epochs_completed=epochs,
        model=shipped.translator(),
    )


def family_downloads(
    page_key: str,
    corpus_id: str,
    corpus: Corpus,
    archives: Callable[[str, Corpus], Callable[[TrainingRun], bytes]],
    shipped: ShippedModel | None = None,
) -> None:
    """A translator page's downloads: its runs on the pairs the page works on now (their archive holds them),
    and, on the grammar's pairs, the page's shipped model (built only when its download is clicked); above
    them, the uploader that brings such a run back (onto the same pairs)."""
    if (loader := translator_loader(page_key, corpus_id, corpus)) is not None:
        load_back_box(page_key, loader)
    runs = [run for run in page_runs(page_key) if run.settings.get("corpus") == corpus_id]
    if shipped is not None and corpus_id == GRAMMAR_KEY:
        runs.append(shipped_run(shipped))
    run_downloads(page_key, runs, archives(corpus_id, corpus))


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


def series_for_run(run: TrainingRun, current_id: str, current: pd.DataFrame) -> pd.DataFrame | None:
    """The series a Recurrence run trained on: the page's current one, or a shipped one rebuilt; None for an
    upload that the page no longer holds (the page keeps one upload at a time)."""
    series_id = run.settings["series"]
    if series_id == current_id:
        return current
    source_key, _, noise = series_id.partition(":noise=")
    if source_key in SOURCES:
        return load_source(source_key, float(noise or 0.0))
    return None


def forecaster_archives(current_id: str, current: pd.DataFrame) -> Callable[[TrainingRun], bytes]:
    """The Recurrence page's archive of a run, given the series the page shows now (an upload's content
    is only in the page's session, and the download builds the archive outside the page's script)."""

    def archive(run: TrainingRun) -> bytes:
        settings = run.settings
        series = series_for_run(run, current_id, current)
        data_files, notes = {}, []
        if series is None:
            notes.append(
                "No series.csv: the run trained on an upload that the page no longer holds (it keeps the "
                "latest upload only). Put your CSV here as series.csv, with a `value` column, to run train.py."
            )
        else:
            data_files["series.csv"] = series[["time", "value"]].to_csv(index=False).encode()
        unit = "°C" if series is not None and series.attrs.get("units") == "°C" else "units"
        script_settings = {
            "KIND": settings["kind"],
            "HISTORY": int(settings["history"]),
            "HORIZON": int(settings["horizon"]),
            "UNITS": int(settings["units"]),
            "STACKED_LAYERS": int(settings["stacked_layers"]),
            "BIDIRECTIONAL": bool(settings["bidirectional"]),
            "EPOCHS": int(settings["epochs"]),
            "LEARNING_RATE": float(settings["learning_rate"]),
            "BATCH_SIZE": FORECAST_BATCH_SIZE,
            "SEED": int(settings.get("seed", 0)),
            "ERROR_NAME": error_metric_name(unit),
        }
        export = run_export(run, "Recurrence", "recurrence.py", script_settings, data_files)
        export.notes.extend(notes)
        export.keep_compile = False  # its error metric is a closure of the page glue (build_forecaster)
        return build_archive(export)

    return archive


def memory_cell_archive(run: TrainingRun) -> bytes:
    """The Vanishing gradients page's run: one cell on the recall task; its held-out sequences, and the
    gradient reaching each step back that the page drew while it trained."""
    settings = run.settings
    lag, seed = int(settings["lag"]), int(settings.get("seed", 0))
    setup = SETUPS[settings["setup"]]
    x_held_out, y_held_out = held_out_sequences(lag, seed=seed)
    data_files = {"held_out.npz": npz_bytes(symbols=x_held_out.argmax(axis=-1).astype(np.int8), answers=y_held_out)}
    notes = {
        "held_out.npz": "the run's held-out sequences (`symbols`: each step's symbol, `answers`: the first symbol); "
        "the training stream is drawn by train.py, batch by batch, from the same seeds as the page's."
    }
    if run.snapshots:
        rows = [
            {"epoch": snapshot["epoch"], "steps_back": steps_back, "gradient_norm": float(norm)}
            for snapshot in run.snapshots
            for steps_back, norm in enumerate(snapshot["value"])
        ]
        data_files["gradients.csv"] = pd.DataFrame(rows).to_csv(index=False).encode()
        notes["gradients.csv"] = (
            "the gradient norm of the answer's loss reaching the input k steps back (`steps_back`), on the first "
            f"{GRADIENT_PROBE_SEQUENCES} held-out sequences, at each point of training the page measured it "
            "(`epoch`: the position in rounds)."
        )
    script_settings = {
        "CELL": settings["cell"],
        "LAG": lag,
        "SEED": seed,
        "UNITS": DEFAULT_BUDGET.units,
        "SYMBOLS": SYMBOL_COUNT,
        "BATCH_SIZE": DEFAULT_BUDGET.batch_size,
        "UPDATES_PER_ROUND": run.batches_per_epoch,
        # A finished run that remembered early stopped there (lib.page_glue.vanishing.STOP_WHEN_REMEMBERED).
        "ROUNDS": run.epochs_completed if run.status == "finished" and run.epochs_completed else run.epochs_planned,
        "OPTIMIZER": setup.optimizer,
        "LEARNING_RATE": setup.learning_rate,
        "MOMENTUM": setup.momentum,
        "RECURRENT_INITIALIZER": setup.recurrent_initializer,
        "INITIAL_RANGE": setup.initial_range,
        "FORGET_BIAS": setup.forget_bias,
        "CLIP_NORM": float(settings.get("clip_norm") or 0.0),
    }
    export = run_export(run, "Vanishing gradients", "vanishing_gradients.py", script_settings, data_files)
    export.file_notes.update(notes)
    export.shuffled = False  # the stream's batches come in their drawn order
    return build_archive(export)


def convnet_pair_archive(run: TrainingRun) -> bytes:
    """The ConvNets page's run (the ConvNet or its matched MLP of one press), on the centred canvas digits."""
    settings = dict(run.settings)
    spec = settings["spec"]
    digits = canvas_digits(DEFAULT_TRAIN_COUNT, spec.input_side)
    data = npz_bytes(
        x_train=digits.x_train,
        y_train=digits.y_train,
        x_validation=digits.x_validation,
        y_validation=digits.y_validation,
    )
    formula = convnet_parameter_count(spec)
    script_settings = {
        "KIND": settings["kind"],
        "LAYERS": [asdict(layer) for layer in spec.layers],
        "HEAD": spec.head,
        "HIDDEN_UNITS": matched_mlp_hidden_size(spec.input_side**2 * spec.channels, formula, spec.classes),
        "CLASSES": spec.classes,
        "EPOCHS": int(settings["epochs"]),
        "BATCH_SIZE": int(settings["batch_size"]),
        "LEARNING_RATE": float(settings["learning_rate"]),
        "SEED": int(settings["seed"]),
    }
    settings["spec"] = asdict(spec)
    export = run_export(run, "ConvNets", "convnets.py", script_settings, {"data.npz": data})
    export.settings = settings
    export.file_notes["data.npz"] = (
        "the digits the pair trained on, centred on the canvas (`x_train`, `y_train`), and the held-out ones "
        "(`x_validation`, `y_validation`; the page moves these to test translation)."
    )
    return build_archive(export)
