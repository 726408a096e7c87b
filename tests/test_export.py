"""Take a run home: each training page's run becomes a zip whose train.py trains the same model again.

For one short run of each page, the archive is built as the download builds it, unpacked into a
folder, and its `train.py --epochs 1` run in a fresh Python whose path does not hold this repository
(so an import of the app's lib/ would fail). The rerun's model has the app's parameter count and its
first epoch's loss is the app's within the tolerance stated per page; the archive's model.keras opens
in Keras's safe mode and predicts what the app's model predicts on the held-out data.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.models.export import TEMPLATES, assemble
from tests.browser_support import ROOT
from tests.page_support import APPTEST_TIMEOUT, run_downloads

APP = str(ROOT / "streamlit_app.py")
ARCHIVE_FILES = {"model.keras", "history.csv", "batches.csv", "settings.json", "train.py", "requirements.txt"}


def open_page(path: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=APPTEST_TIMEOUT).run()
    app.switch_page(path).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def unpack(archive: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        opened.extractall(folder)
    return folder


def outside_python_env() -> dict[str, str]:
    """The environment of a Python that does not see this repository: no PYTHONPATH, another folder."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def rerun(folder: Path, epochs: int = 1) -> pd.DataFrame:
    """Run the archive's train.py for one epoch, as a participant would on a laptop; its history."""
    done = subprocess.run(
        [sys.executable, "train.py", "--epochs", str(epochs)],
        cwd=folder,
        env=outside_python_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return pd.read_csv(folder / "rerun_history.csv")


def assert_untrained_weights_match(folder: Path, fresh) -> None:
    """train.py --epochs 0 saves its model before any training: its weights are the app builder's, exactly."""
    import keras

    rerun(folder, epochs=0)
    untrained = keras.saving.load_model(folder / "rerun_model.keras", safe_mode=True, compile=False)
    for got, expected in zip(untrained.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)


def check_archive(
    folder: Path, run, held_out: np.ndarray, tolerance: float, extra_files: set[str] = frozenset()
) -> tuple[float, float]:
    """The checks every page's archive passes; returns (the app's, the rerun's) first-epoch loss."""
    import keras

    assert ARCHIVE_FILES | set(extra_files) <= {path.name for path in folder.iterdir()}
    assert "from lib" not in (folder / "train.py").read_text() and "streamlit" not in (folder / "train.py").read_text()
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == run.epochs_completed
    app_loss = run.final("loss", "train") if run.epochs_completed == 1 else float(history["loss"].iloc[0])
    assert history["loss"].iloc[0] == pytest.approx(app_loss)

    rerun_history = rerun(folder)
    rerun_model = keras.saving.load_model(folder / "rerun_model.keras", safe_mode=True, compile=False)
    assert rerun_model.count_params() == run.model.count_params()
    assert rerun_history["loss"].iloc[0] == pytest.approx(app_loss, abs=tolerance)

    loaded = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(held_out, verbose=0), run.model.predict(held_out, verbose=0), rtol=1e-5, atol=1e-6
    )
    return app_loss, float(rerun_history["loss"].iloc[0])


def test_the_script_cannot_import_the_app():
    """The rerun's Python really is outside the repository: `import lib` fails there."""
    done = subprocess.run(
        [sys.executable, "-c", "import lib.models.export"],
        cwd=Path("/"),
        env=outside_python_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr


@pytest.mark.parametrize("template", sorted(path.name for path in TEMPLATES.glob("*.py")))
def test_every_assembled_script_passes_the_house_lint_and_stands_alone(template):
    """A template leaves undefined and unused names to its parts and the app's source it includes (its folder's
    ruff.toml), so the train.py a participant gets is checked whole: every part and definition put in, no
    marker or import of the app's lib/ left, and ruff passes it with the project's own rules."""
    script = assemble((TEMPLATES / template).read_text(encoding="utf-8"))
    assert "# %% include:" not in script and "import lib" not in script and "from lib" not in script
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--stdin-filename", "train.py", "-"],
        cwd=ROOT,
        input=script,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]


def test_a_runs_batches_are_drawn_again_from_its_seed():
    """The app's shuffle (which train.py copies) is the run's own: the same seed deals the same batches again,
    every epoch in a new order with each example once; another seed deals others."""
    from lib.engine.training import seeded_batches_class

    x, y = np.arange(70, dtype=np.float32)[:, None], np.arange(70)

    def dealt(seed: int, epochs: int = 3) -> tuple[list[np.ndarray], list[int]]:
        batches = seeded_batches_class()(x, y, 32, seed)
        orders = []
        for _ in range(epochs):
            batches.on_epoch_begin()
            orders.append(np.concatenate([batches[index][1] for index in range(len(batches))]))
        return orders, batches.batch_sizes

    (first, sizes), (again, _), (other, _) = dealt(3), dealt(3), dealt(4)
    assert sizes == [32, 32, 6]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert all(sorted(order) == list(range(70)) for order in first)
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[0], other[0])


# --- Parameter sharing -----------------------------------------------------------------------------


def train_parameter_sharing(app: AppTest, hidden_units: int = 128, epochs: int = 5, examples: int = 20):
    next(s for s in app.select_slider if s.label == "Training examples").set_value(examples).run()
    next(s for s in app.select_slider if s.label == "Hidden units").set_value(hidden_units).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(epochs).run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app.session_state["training_runs::parameter_sharing"]


def test_parameter_sharing_run_goes_home_and_trains_again(tmp_path):
    from lib.data.digits import split_digits
    from lib.page_glue.export import digit_mlp_archive

    app = open_page("app_pages/parameter_sharing.py")
    (run,) = train_parameter_sharing(app, examples=200)
    folder = unpack(digit_mlp_archive(run), tmp_path)
    assert json.loads((folder / "settings.json").read_text())["hidden_units"] == 128
    shipped = np.load(folder / "data.npz")
    expected = split_digits(200)
    np.testing.assert_array_equal(shipped["x_train"], expected.x_train)
    np.testing.assert_array_equal(shipped["y_validation"], expected.y_validation)
    # 200 examples are 7 batches of 32, shuffled every epoch by the run's seed (default_rng([seed, epoch]), in
    # the app and in train.py alike), so the first epoch's loss is the app's but for the order of float sums
    # (measured: equal to 6 digits). Keras's own unseeded shuffle moved it by ±0.01, as much as another seed.
    app_loss, rerun_loss = check_archive(folder, run, expected.x_validation, tolerance=1e-4, extra_files={"data.npz"})
    print(f"parameter sharing: app {app_loss:.6f}, rerun {rerun_loss:.6f}")


def test_the_page_offers_each_finished_run_and_the_download_changes_nothing():
    """A download per run, built only when clicked (deferred), and a click that does not rerun the page
    (so a training under way goes on); building an archive leaves the runs as they were."""
    from lib.page_glue.export import digit_mlp_archive

    app = open_page("app_pages/parameter_sharing.py")
    assert not run_downloads(app), "no run yet, nothing to download"
    train_parameter_sharing(app, hidden_units=8, epochs=5)
    downloads = run_downloads(app)
    assert [d.proto.label for d in downloads] == ["Download the run"]
    runs = train_parameter_sharing(app, hidden_units=32, epochs=5)
    downloads = run_downloads(app)
    assert [d.proto.label for d in downloads] == [run.display_label for run in runs] and len(runs) == 2
    for download in downloads:
        assert download.proto.ignore_rerun, "clicking must not rerun the page"
        assert download.proto.deferred_file_id and not download.proto.url, "the archive is built only on a click"
    before = [(run.status, run.epochs_completed, len(run.batch_rows), run.model) for run in runs]
    table = app.dataframe[-1].value
    for run in runs:
        with zipfile.ZipFile(io.BytesIO(digit_mlp_archive(run))) as archive:
            assert "train.py" in archive.namelist()
    assert [(run.status, run.epochs_completed, len(run.batch_rows), run.model) for run in runs] == before
    app.run()
    assert app.session_state["training_runs::parameter_sharing"] == runs
    pd.testing.assert_frame_equal(app.dataframe[-1].value, table)


# --- Recurrence ------------------------------------------------------------------------------------


def test_recurrence_run_goes_home_and_trains_again(tmp_path):
    from lib.page_glue.recurrence import ForecasterSettings, build_forecaster, forecasting_data, load_source

    app = open_page("app_pages/recurrence.py")
    app.radio(key="series_choice").set_value("daily").run()
    app.multiselect[0].set_value(["GRU"]).run()
    next(s for s in app.select_slider if s.label == "Units").set_value(8).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(1).run()
    next(b for b in app.button if b.label.startswith("Train")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    (run,) = app.session_state["training_runs::recurrence"]
    assert [d.proto.label for d in run_downloads(app)] == ["Download the run"]

    from lib.page_glue.export import forecaster_archives

    series = load_source("daily")
    folder = unpack(forecaster_archives("daily", series)(run), tmp_path)
    shipped = pd.read_csv(folder / "series.csv")
    np.testing.assert_array_equal(shipped["value"].to_numpy(), series["value"].to_numpy())
    data = forecasting_data(series["value"].to_numpy(), 30, 1)
    assert_untrained_weights_match(
        folder, build_forecaster("GRU", 30, ForecasterSettings(units=8, epochs=1), 1.0, "°C")
    )
    # Same seeded first weights and windows, and the 16 batches shuffled by the run's seed in the app and in
    # train.py alike, so the first epoch's loss is the app's but for the order of float sums (measured: equal
    # to 6 digits). Keras's own unseeded shuffle had moved it by up to 0.015 (the tolerance was 0.03).
    app_loss, rerun_loss = check_archive(folder, run, data.x_validation, tolerance=1e-4, extra_files={"series.csv"})
    print(f"recurrence: app {app_loss:.6f}, rerun {rerun_loss:.6f}")
    history = pd.read_csv(folder / "history.csv")
    assert {"loss", "mae_celsius", "val_loss", "val_mae_celsius"} <= set(history.columns)


# --- Vanishing gradients ---------------------------------------------------------------------------


def test_vanishing_gradients_run_goes_home_and_trains_on_the_same_stream(tmp_path, monkeypatch):
    from lib.models.long_memory import StreamBudget, held_out_sequences
    from lib.page_glue.export import memory_cell_archive

    # One round of 100 updates instead of the page's 15, so the test trains for seconds.
    monkeypatch.setattr("lib.page_glue.vanishing.DEFAULT_BUDGET", StreamBudget(updates=100))
    app = open_page("app_pages/vanishing_gradients.py")
    app.multiselect(key="memory_cells").set_value(["GRU"]).run()
    lag = app.select_slider(key="memory_lag").options[0]
    app.select_slider(key="memory_lag").set_value(lag).run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    (run,) = app.session_state["training_runs::vanishing_gradients"]
    assert run.status == "finished" and run.epochs_completed == 1
    assert [d.proto.label for d in run_downloads(app)] == ["Download the run"]

    folder = unpack(memory_cell_archive(run), tmp_path)
    x_held_out, y_held_out = held_out_sequences(int(lag), seed=0)
    shipped = np.load(folder / "held_out.npz")
    np.testing.assert_array_equal(np.eye(8, dtype=np.float32)[shipped["symbols"]], x_held_out)
    np.testing.assert_array_equal(shipped["answers"], y_held_out)
    assert "nothing is shuffled" in (folder / "README.md").read_text()
    gradients = pd.read_csv(folder / "gradients.csv")
    assert gradients["steps_back"].max() == int(lag) and (gradients["gradient_norm"] >= 0).all()
    # No shuffle here: the page's stream gives batch b of round r from default_rng([seed, r, b]), in order, and
    # train.py draws the same batches. So the first round's loss is the app's but for float rounding.
    app_loss, rerun_loss = check_archive(
        folder, run, x_held_out, tolerance=1e-4, extra_files={"held_out.npz", "gradients.csv"}
    )
    print(f"vanishing gradients: app {app_loss:.6f}, rerun {rerun_loss:.6f}")


# --- ConvNets --------------------------------------------------------------------------------------


def test_convnets_pair_goes_home_and_trains_again(tmp_path):
    from lib.models.convnets import DEFAULT_SPEC
    from lib.models.shifted_digits import DEFAULT_TRAIN_COUNT, canvas_digits, convnet_and_matched_mlp, training_spec
    from lib.page_glue.export import convnet_pair_archive

    app = open_page("app_pages/convnets.py")
    app.select_slider(key="canvas").set_value(12).run()
    app.slider(key="epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train the ConvNet, then the MLP").click().run()
    assert not app.exception, [e.value for e in app.exception]
    runs = app.session_state["training_runs::convnets"]
    assert [run.settings["kind"] for run in runs] == ["ConvNet", "MLP"]
    assert [d.proto.label for d in run_downloads(app)] == [run.display_label for run in runs]

    digits = canvas_digits(DEFAULT_TRAIN_COUNT, 12)
    fresh = {member.kind: member.model for member in convnet_and_matched_mlp(training_spec(DEFAULT_SPEC, 12), seed=0)}
    # The 23 batches are shuffled by the run's seed in the app and in train.py alike, so each first epoch's
    # loss is the app's but for the order of float sums (measured: equal to 6 digits). Keras's own unseeded
    # shuffle had spread the ConvNet's over 2.289-2.304 and the MLP's over 1.868-1.926 (tolerances were 0.04
    # and 0.15). The seeded first weights are checked exactly as well (train.py --epochs 0 saves the model
    # before any training), and the data is the app's to the last pixel.
    tolerances = {"ConvNet": 1e-4, "MLP": 1e-4}
    for run in runs:
        kind = run.settings["kind"]
        folder = unpack(convnet_pair_archive(run), tmp_path / kind)
        shipped = np.load(folder / "data.npz")
        np.testing.assert_array_equal(shipped["x_train"], digits.x_train)
        np.testing.assert_array_equal(shipped["y_validation"], digits.y_validation)
        assert_untrained_weights_match(folder, fresh[kind])
        app_loss, rerun_loss = check_archive(folder, run, digits.x_validation, tolerance=tolerances[kind])
        print(f"convnets {kind}: app {app_loss:.6f}, rerun {rerun_loss:.6f}")


def test_a_run_whose_model_was_let_go_still_goes_home_and_says_so(tmp_path):
    """The app keeps the models of a page's newest runs only: an older run's archive has the rest, and its
    README says why there is no model.keras; train.py carries the run's own settings."""
    from lib.models.export import RunExport, build_archive, npz_bytes

    export = RunExport(
        page="Parameter sharing",
        template="parameter_sharing.py",
        label="20 examples · 8 hidden units · 610 parameters",
        status="finished",
        settings={"examples": 20, "hidden_units": 8, "epochs": 5, "seed": 3},
        script_settings={"HIDDEN_UNITS": 8, "EPOCHS": 5, "BATCH_SIZE": 32, "LEARNING_RATE": 0.001, "SEED": 3},
        epoch_rows=[
            {"metric": "loss", "split": "train", "epoch": 1.0, "value": 2.4},
            {"metric": "loss", "split": "validation", "epoch": 1.0, "value": 2.3},
        ],
        batch_rows=[{"metric": "loss", "split": "train", "epoch": 0.5, "value": 2.5}],
        data_files={"data.npz": npz_bytes(x_train=np.zeros((2, 8, 8)))},
    )
    folder = unpack(build_archive(export), tmp_path)
    assert not (folder / "model.keras").exists()
    assert "No `model.keras`" in (folder / "README.md").read_text()
    script = (folder / "train.py").read_text()
    assert "HIDDEN_UNITS = 8\n" in script and "SEED = 3\n" in script and "HIDDEN_UNITS = 512" not in script
    assert pd.read_csv(folder / "history.csv").to_dict("records") == [{"epoch": 1, "loss": 2.4, "val_loss": 2.3}]
    requirements = (folder / "requirements.txt").read_text()
    assert "keras==" in requirements and "streamlit" not in requirements


# --- The translator family -------------------------------------------------------------------------

TRANSLATOR_FILES = {"train_pairs.tsv", "held_out_pairs.tsv", "english_vocabulary.json", "french_vocabulary.json"}


def train_translator_page(page: str | AppTest, page_key: str, **choices) -> tuple[AppTest, object]:
    """A short press of a translator page (its path, or the page already open) on the grammar's pairs:
    3,000 pairs, one epoch, the sizes chosen."""
    app = open_page(page) if isinstance(page, str) else page
    for key, value in choices.items():
        widget = next(w for w in [*app.select_slider, *app.slider, *app.selectbox] if w.key == key)
        widget.set_value(value).run()
    next(s for s in app.select_slider if s.label == "Training pairs").set_value(3000).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception, [e.value for e in app.exception]
    (run,) = [run for run in app.session_state[f"training_runs::{page_key}"] if run.status == "finished"]
    # The run's download, and the shipped model's beside it (the run table lists it on the grammar's pairs).
    labels = [d.proto.label for d in run_downloads(app)]
    assert labels[0] == run.display_label and len(labels) == 2 and "shipped" in labels[1]
    return app, run


def check_translator_archive(folder: Path, run, fresh, tolerance: float) -> tuple[float, float]:
    """The checks of check_archive for a translator (the run keeps its translator, whose teacher-forced
    probabilities on a held-out batch the archive's model.keras must give); returns both first-epoch losses."""
    import keras

    from lib.data.corpus import Vocabulary, encode_pairs

    assert ARCHIVE_FILES | TRANSLATOR_FILES <= {path.name for path in folder.iterdir()}
    script = (folder / "train.py").read_text()
    assert "from lib" not in script and "import lib" not in script and "streamlit" not in script
    translator = run.model
    vocabularies = [
        Vocabulary.from_json((folder / name).read_text())
        for name in ("english_vocabulary.json", "french_vocabulary.json")
    ]
    assert [v.words for v in vocabularies] == [translator.source_vocabulary.words, translator.target_vocabulary.words]
    pairs = [tuple(line.split("\t")) for line in (folder / "train_pairs.tsv").read_text().splitlines()]
    assert len(pairs) == run.settings["train_sentences"]
    held_out = [tuple(line.split("\t")) for line in (folder / "held_out_pairs.tsv").read_text().splitlines()]
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == run.epochs_completed == 1
    app_loss = float(history["loss"].iloc[0])
    assert app_loss == pytest.approx(run.final("loss", "train"))

    assert_untrained_weights_match(folder, fresh)
    rerun_history = rerun(folder)
    rerun_model = keras.saving.load_model(folder / "rerun_model.keras", safe_mode=True, compile=False)
    assert rerun_model.count_params() == translator.model.count_params() == fresh.count_params()
    assert rerun_history["loss"].iloc[0] == pytest.approx(app_loss, abs=tolerance)

    batch = encode_pairs(held_out[:64], *vocabularies)
    loaded = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(batch.inputs, verbose=0), translator.teacher_forced_probabilities(batch), rtol=1e-4, atol=1e-6
    )
    return app_loss, float(rerun_history["loss"].iloc[0])


def test_translator_run_goes_home_and_trains_again(tmp_path):
    from lib.models.seq2seq import build_seq2seq
    from lib.page_glue.export import translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    app, run = train_translator_page("app_pages/translator.py", "translator", units=64, embedding=16)
    corpus = default_corpus()
    folder = unpack(translator_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    assert json.loads((folder / "settings.json").read_text())["units"] == 64
    assert (folder / "train_pairs.tsv").read_text().splitlines()[0] == "\t".join(corpus.train[0])
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    fresh = build_seq2seq(len(vocabularies[0]), len(vocabularies[1]), "GRU", 64, 16, 1, True, seed=0)
    # Nothing is shuffled here: the batches (sentences of one length) come in one seeded order, rebuilt by
    # train.py from the same seed, and the first weights are the app's exactly (checked above through
    # --epochs 0). So the first epoch's loss is the app's but for the order of float sums (measured: equal to
    # 5 digits). Keras's own shuffle of the batch order alone moved it by 0.008, hence a tolerance of 1e-4.
    app_loss, rerun_loss = check_translator_archive(folder, run, fresh, tolerance=1e-4)
    print(f"translator: app {app_loss:.5f}, rerun {rerun_loss:.5f}")


def test_a_scheduled_sampling_run_trains_again_with_its_own_guesses(tmp_path):
    """Scheduled sampling is written out in train.py too: the coin that swaps a gold word for the model's
    guess is drawn from the same seeded generator as the page's, so the first epoch's loss is the app's."""
    from lib.models.seq2seq import build_seq2seq
    from lib.page_glue.export import translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    app = open_page("app_pages/translator.py")
    app.button_group(key="training").set_value("scheduled sampling").run()
    app, run = train_translator_page(app, "translator", units=64, embedding=16, sampling=0.3)
    assert run.settings["sampling_probability"] == pytest.approx(0.3)
    corpus = default_corpus()
    folder = unpack(translator_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    assert "SAMPLING_PROBABILITY = 0.3\n" in (folder / "train.py").read_text()
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    fresh = build_seq2seq(len(vocabularies[0]), len(vocabularies[1]), "GRU", 64, 16, 1, True, seed=0)
    app_loss, rerun_loss = check_translator_archive(folder, run, fresh, tolerance=1e-4)
    print(f"scheduled sampling: app {app_loss:.5f}, rerun {rerun_loss:.5f}")


def test_attention_run_goes_home_and_trains_again(tmp_path):
    from lib.models.attention import build_attention_seq2seq
    from lib.page_glue.export import attention_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    # The general score q·W·zᵢ: its W is a weight of the attention layer, which the script writes out.
    app, run = train_translator_page("app_pages/attention.py", "attention", units=64, embedding=16, score="general")
    corpus = default_corpus()
    folder = unpack(attention_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    assert run.settings["score"] == "general" and "SCORE = 'general'\n" in (folder / "train.py").read_text()
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    fresh = build_attention_seq2seq(len(vocabularies[0]), len(vocabularies[1]), "general", 64, 16, seed=0)
    # As on the Translator page: no shuffle, the same seeded batches and first weights (checked exactly), so
    # the first epoch's loss is the app's but for the order of float sums.
    app_loss, rerun_loss = check_translator_archive(folder, run, fresh, tolerance=1e-4)
    print(f"attention: app {app_loss:.5f}, rerun {rerun_loss:.5f}")


def test_transformer_run_goes_home_and_trains_again(tmp_path):
    from lib.models.transformer import build_transformer
    from lib.page_glue.export import transformer_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    # Learned positions (a table of weights the script writes out) and the page's dropout of 0.1, seeded.
    app, run = train_translator_page(
        "app_pages/transformer.py", "transformer", layers=1, heads=2, width=64, feed_forward=128, positions="learned"
    )
    corpus = default_corpus()
    folder = unpack(transformer_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    script = (folder / "train.py").read_text()
    assert "POSITIONS = 'learned'\n" in script and "CAUSAL_MASK = True\n" in script and "DROPOUT = 0.1\n" in script
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    fresh = build_transformer(
        len(vocabularies[0]),
        len(vocabularies[1]),
        seed=0,
        layers=1,
        heads=2,
        model_size=64,
        feed_forward_size=128,
        positions="learned",
    )
    # As on the Translator page: no shuffle, the same seeded batches and first weights (checked exactly), and
    # every dropout layer seeded as the page seeds it, so the first epoch's loss is the app's but for the order
    # of float sums.
    app_loss, rerun_loss = check_translator_archive(folder, run, fresh, tolerance=1e-4)
    print(f"transformer: app {app_loss:.5f}, rerun {rerun_loss:.5f}")


def test_the_shipped_translator_goes_home_with_its_recorded_curves(tmp_path):
    """The pretrained model's row downloads too: its model.keras (loads in safe mode, translates as the
    shipped one), the curves measured when it was trained, all the pairs it trained on, and a train.py with
    its settings (run here for no epoch: ten epochs of 48,000 pairs take minutes)."""
    import keras

    from lib.data.corpus import encode_pairs
    from lib.page_glue.export import shipped_run, translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, SHIPPED_SEQ2SEQ, default_corpus

    corpus = default_corpus()
    run = shipped_run(SHIPPED_SEQ2SEQ)
    folder = unpack(translator_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    figures = SHIPPED_SEQ2SEQ.figures()
    history = pd.read_csv(folder / "history.csv")
    assert len(history) == figures["epochs"] == 10
    assert history["val_token_accuracy"].iloc[-1] == pytest.approx(figures["history"][-1]["val_token_accuracy"])
    assert len((folder / "train_pairs.tsv").read_text().splitlines()) == figures["train_sentences"]
    script = (folder / "train.py").read_text()
    assert "UNITS = 256\n" in script and "EPOCHS = 10\n" in script
    translator = SHIPPED_SEQ2SEQ.translator()
    batch = encode_pairs(corpus.test[:64], translator.source_vocabulary, translator.target_vocabulary)
    loaded = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    assert loaded.count_params() == figures["parameters"]
    np.testing.assert_allclose(
        loaded.predict(batch.inputs, verbose=0), translator.teacher_forced_probabilities(batch), rtol=1e-4, atol=1e-6
    )
    # Without its vocabulary files, train.py builds them from the pairs as scripts/train_translator.py did: a
    # model of the shipped size (both vocabularies' sizes enter the count) comes out, before any training.
    (folder / "english_vocabulary.json").unlink()
    (folder / "french_vocabulary.json").unlink()
    rerun(folder, epochs=0)
    untrained = keras.saving.load_model(folder / "rerun_model.keras", safe_mode=True, compile=False)
    assert untrained.count_params() == figures["parameters"]


def test_a_professor_forcing_run_says_its_script_trains_with_teacher_forcing(tmp_path):
    """train.py does not write out professor forcing (its discriminator and second decoder run): the README
    of such a run says so, and the script carries the run's model settings all the same."""
    from dataclasses import asdict

    from lib.engine.training import TrainingRun
    from lib.models.seq2seq import build_seq2seq
    from lib.page_glue.export import translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus
    from lib.page_glue.translator_page import PROFESSOR_FORCING, ScratchSettings

    corpus = default_corpus()
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    settings = ScratchSettings(
        cell="LSTM", units=64, embedding_size=16, train_sentences=3000, training=PROFESSOR_FORCING
    )
    run = TrainingRun(
        label=settings.label,
        settings={**asdict(settings), "corpus": GRAMMAR_KEY},
        metrics=["loss"],
        epochs_planned=1,
        batches_per_epoch=1,
        status="stopped",
        model=settings.build(vocabularies),
    )
    folder = unpack(translator_archives(GRAMMAR_KEY, corpus)(run), tmp_path)
    readme = (folder / "README.md").read_text()
    assert "professor forcing" in readme and "does not reproduce it" in readme
    assert "CELL = 'LSTM'\n" in (folder / "train.py").read_text()
    assert len((folder / "train_pairs.tsv").read_text().splitlines()) == 3000
    fresh = build_seq2seq(len(vocabularies[0]), len(vocabularies[1]), "LSTM", 64, 16, seed=0)
    assert_untrained_weights_match(folder, fresh)
