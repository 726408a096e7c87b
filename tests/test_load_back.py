"""Load a run back: an archive exported from a page, uploaded on the same page, joins its run table, and a
crafted or broken file is refused with a sentence while the runs trained in the session stay.

Every bad file is built here: a real Keras model with a Lambda layer saved to .keras, a model with a class
of its own, another page's archive, a file that is no zip, a truncated zip, a file over the 5 MB cap, a
zip bomb (a small zip whose member unpacks to far more than the cap), a model that the archive's settings
do not build, and settings outside the page's ranges. Each is uploaded through the page's uploader, as a
participant would, on the Parameter sharing page and (most of them) on the Vanishing gradients page.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.page_support import open_page, run_downloads

SHARING = "app_pages/parameter_sharing.py"
VANISHING = "app_pages/vanishing_gradients.py"
SHARING_RUNS = "training_runs::parameter_sharing"
VANISHING_RUNS = "training_runs::vanishing_gradients"
KEPT = "The runs you trained here are kept as they were."


def train_sharing(app, hidden_units: int = 8, epochs: int = 5, examples: int = 20):
    next(s for s in app.select_slider if s.label == "Training examples").set_value(examples).run()
    next(s for s in app.select_slider if s.label == "Hidden units").set_value(hidden_units).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(epochs).run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app.session_state[SHARING_RUNS]


def train_vanishing(app):
    app.multiselect(key="memory_cells").set_value(["GRU"]).run()
    app.select_slider(key="memory_lag").set_value(app.select_slider(key="memory_lag").options[0]).run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app.session_state[VANISHING_RUNS]


def upload(app, name: str, content: bytes):
    uploader = next(u for u in app.get("file_uploader") if u.key.startswith("load_back::"))
    uploader.upload(name, content, "application/zip").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def errors(app) -> list[str]:
    """The page's error messages as the participant reads them (Markdown's backslash escapes drawn away)."""
    return [e.value.replace("\\", "") for e in app.error]


def table_runs(app) -> list[str]:
    """The runs the page's run table lists (Parameter sharing)."""
    return [label for frame in app.dataframe if "Run" in frame.value.columns for label in frame.value["Run"]]


def members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def saved(model) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def lambda_model() -> bytes:
    """A real Keras model with a Lambda layer (its Python code is saved in the file)."""
    import keras

    inputs = keras.Input(shape=(8, 8))
    flat = keras.layers.Flatten()(inputs)
    doubled = keras.layers.Lambda(lambda x: x * 2.0)(flat)
    return saved(keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(doubled)))


def unknown_class_model() -> bytes:
    """A model with a layer class of its own: not one of Keras's, so no page of the app builds it."""
    import keras

    class Mystery(keras.layers.Layer):
        def call(self, x):
            return x

    inputs = keras.Input(shape=(8, 8))
    flat = Mystery()(keras.layers.Flatten()(inputs))
    return saved(keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(flat)))


def unregistered_class_model(model_file: bytes) -> bytes:
    """The page's own model file with its Dense layers renamed to a class Keras has never registered
    (its module still says keras.layers, so only Keras's own lookup can refuse it)."""
    files = members(model_file)
    config = files["config.json"].decode().replace('"class_name": "Dense"', '"class_name": "Mystery"')
    assert "Mystery" in config
    return zipped(files | {"config.json": config.encode()})


def zip_bomb() -> bytes:
    """40 MB of zeros that deflate to a few tens of kB, under a name an archive may hold."""
    return zipped({"settings.json": b"{}", "data.npz": bytes(40 * 1024 * 1024)})


@pytest.fixture(scope="module")
def sharing_archives():
    """One short Parameter sharing run and its archive; the archive of a Vanishing gradients run too."""
    from lib.page_glue.export import digit_mlp_archive

    app = open_page(SHARING)
    (run,) = train_sharing(app)
    return run, digit_mlp_archive(run)


@pytest.fixture(scope="module")
def vanishing_archive():
    from lib.models.long_memory import StreamBudget
    from lib.page_glue.export import memory_cell_archive

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("lib.page_glue.vanishing.DEFAULT_BUDGET", StreamBudget(updates=100))
        app = open_page(VANISHING)
        (run,) = train_vanishing(app)
    return run, memory_cell_archive(run)


def bad_files(good: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (content, what the refusal says): files made from a page's good archive, or from nothing."""
    good_members = members(good)
    return {
        "lambda.zip": (zipped(good_members | {"model.keras": lambda_model()}), "Lambda layer"),
        "mystery.zip": (
            zipped(good_members | {"model.keras": unknown_class_model()}),
            "a class this app does not know",
        ),
        "unregistered.zip": (
            zipped(good_members | {"model.keras": unregistered_class_model(good_members["model.keras"])}),
            "Keras could not open its model.keras in safe mode",
        ),
        "model.zip": (lambda_model(), "files that an export of this app never holds"),
        "notes.zip": (b"just some text, not a zip at all\n" * 10, "not a whole zip archive"),
        "truncated.zip": (good[: len(good) // 2], "not a whole zip archive"),
        "huge.zip": (good + bytes(5 * 1024 * 1024), "larger than the 5 MB"),
        "bomb.zip": (zip_bomb(), "unpacks to more than the app opens"),
    }


def with_settings(good: bytes, **changed) -> bytes:
    good_members = members(good)
    settings = json.loads(good_members["settings.json"]) | changed
    return zipped(good_members | {"settings.json": json.dumps(settings).encode()})


def assert_refused(app, name: str, said: str) -> None:
    assert any(f"“{name}” cannot be loaded" in e and said in e and KEPT in e for e in errors(app)), (name, errors(app))


def test_bad_files_are_refused_on_parameter_sharing_and_the_trained_run_stays(sharing_archives, vanishing_archive):
    _, good = sharing_archives
    app = open_page(SHARING)
    (trained,) = train_sharing(app, hidden_units=32)
    other = vanishing_archive[1]
    cases = bad_files(good) | {
        "other-page.zip": (other, "it is a run of the Vanishing gradients page: open it there"),
        "other-page-no-readme.zip": (
            zipped({k: v for k, v in members(other).items() if k != "README.md"}),
            "lacks epochs, examples, hidden_units: it is not a run of this page",
        ),
        "wide.zip": (with_settings(good, hidden_units=32), "parameters where the page's has"),
        "odd.zip": (with_settings(good, hidden_units=7), "not one this page takes"),
    }
    for name, (content, said) in cases.items():
        upload(app, name, content)
        assert_refused(app, name, said)
        assert app.session_state[SHARING_RUNS] == [trained], name
        assert app.session_state[SHARING_RUNS][0].model is trained.model
        assert table_runs(app) == [trained.display_label], name
    # A value written to show an image is quoted in the refusal as typed, not drawn.
    upload(app, "image.zip", with_settings(good, hidden_units="![seen](https://example.com/p.png)"))
    assert_refused(app, "image.zip", "is not one this page takes")
    (raw,) = [e.value for e in app.error]
    assert "![" not in raw.replace("\\!\\[", "") and "https://" not in raw
    # A title written to show an image or a link is loaded as plain text.
    readme = members(good)["README.md"].decode().splitlines()
    crafted = "\n".join(["# a run ![seen](https://example.com/p.png) [click](https://example.com)", *readme[1:]])
    upload(app, "crafted [x].zip", zipped(members(good) | {"README.md": crafted.encode()}))
    assert not errors(app)
    loaded = app.session_state[SHARING_RUNS][-1]
    assert loaded.label == "a run seen(https example.com/p.png) click(https example.com) · loaded from crafted x.zip"


def test_bad_files_are_refused_on_vanishing_gradients_and_the_trained_run_stays(
    sharing_archives, vanishing_archive, monkeypatch
):
    from lib.models.long_memory import StreamBudget

    monkeypatch.setattr("lib.page_glue.vanishing.DEFAULT_BUDGET", StreamBudget(updates=100))
    _, good = vanishing_archive
    app = open_page(VANISHING)
    (trained,) = train_vanishing(app)
    refused = bad_files(good)
    cases = {name: refused[name] for name in ("lambda.zip", "mystery.zip", "truncated.zip", "bomb.zip", "huge.zip")}
    cases["other-page.zip"] = (sharing_archives[1], "it is a run of the Parameter sharing page: open it there")
    cases["lstm.zip"] = (with_settings(good, cell="LSTM"), "parameters where the page's has")
    cases["clipped-gru.zip"] = (with_settings(good, clip_norm=1.0), "clip_norm is not one this page takes")
    for name, (content, said) in cases.items():
        upload(app, name, content)
        assert_refused(app, name, said)
        assert app.session_state[VANISHING_RUNS] == [trained], name
        assert [d.proto.label for d in run_downloads(app)] == ["Download the run"], name


def test_a_parameter_sharing_run_comes_back_with_its_curves_and_predictions(sharing_archives):
    from lib.data.digits import split_digits

    run, archive = sharing_archives
    app = open_page(SHARING)
    (trained,) = train_sharing(app, hidden_units=32)
    upload(app, "my-run.zip", archive)
    assert not errors(app)
    earlier, loaded = app.session_state[SHARING_RUNS]
    assert earlier is trained
    assert loaded.label == f"{run.label} · loaded from my-run.zip"
    assert table_runs(app) == [trained.display_label, loaded.display_label]
    assert loaded.status == "finished" and loaded.epochs_completed == run.epochs_completed == 5
    assert loaded.final("accuracy") == pytest.approx(run.final("accuracy"))
    for got, expected in zip(loaded.epoch_rows, run.epoch_rows, strict=True):
        assert got == {**expected, "value": pytest.approx(expected["value"])}
    assert len(loaded.batch_rows) == len(run.batch_rows)
    # Its curves are drawn with the trained run's, under its own label.
    drawn = {name for frame in app.get("vega_lite_chart") for name in _runs_drawn(frame)}
    assert {trained.display_label, loaded.display_label} <= drawn
    x_validation = split_digits(20).x_validation
    np.testing.assert_allclose(
        loaded.model.predict(x_validation, verbose=0), run.model.predict(x_validation, verbose=0), atol=1e-6
    )
    # The same file again adds nothing.
    upload(app, "my-run.zip", b"")
    upload(app, "my-run.zip", archive)
    assert any("already in the run table" in e for e in errors(app))
    assert len(app.session_state[SHARING_RUNS]) == 2
    # A loaded run goes home again like any run, and comes back once more.
    from lib.page_glue.export import digit_mlp_archive

    upload(app, "again.zip", digit_mlp_archive(loaded))
    assert not errors(app)
    assert app.session_state[SHARING_RUNS][-1].label == f"{loaded.label} · loaded from again.zip"


def _runs_drawn(chart) -> set[str]:
    from tests.page_support import chart_data

    frame = chart_data(chart)
    return set(frame["run"]) if "run" in frame.columns else set()


def test_a_vanishing_gradients_run_comes_back_with_its_gradients_and_predictions(vanishing_archive):
    from lib.models.long_memory import held_out_sequences

    run, archive = vanishing_archive
    app = open_page(VANISHING)
    upload(app, "gru.zip", archive)
    assert not errors(app)
    (loaded,) = app.session_state[VANISHING_RUNS]
    assert loaded.label == f"{run.label} · loaded from gru.zip"
    assert loaded.final("accuracy") == pytest.approx(run.final("accuracy"))
    assert len(loaded.snapshots) == len(run.snapshots)
    np.testing.assert_allclose(loaded.snapshots[-1]["value"], run.snapshots[-1]["value"], rtol=1e-6)
    assert any(loaded.display_label in m.value and "held-out accuracy" in m.value for m in app.markdown)
    from lib.page_glue.export import memory_cell_archive

    assert members(memory_cell_archive(loaded))["gradients.csv"] == members(archive)["gradients.csv"]
    x_held_out, _ = held_out_sequences(int(run.settings["lag"]), seed=0)
    np.testing.assert_allclose(
        loaded.model.predict(x_held_out, verbose=0), run.model.predict(x_held_out, verbose=0), atol=1e-6
    )


def test_a_convnets_pair_comes_back_measured_and_paired_and_a_bad_one_changes_nothing():
    from lib.models.shifted_digits import DEFAULT_TRAIN_COUNT, canvas_digits
    from lib.page_glue.export import convnet_pair_archive

    app = open_page("app_pages/convnets.py")
    app.select_slider(key="canvas").set_value(12).run()
    app.slider(key="epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train the ConvNet, then the MLP").click().run()
    assert not app.exception, [e.value for e in app.exception]
    convnet, mlp = app.session_state["training_runs::convnets"]
    archives = {run.settings["kind"]: convnet_pair_archive(run) for run in (convnet, mlp)}

    fresh = open_page("app_pages/convnets.py")
    upload(fresh, "mlp.zip", with_settings(archives["MLP"], kind="ConvNet"))
    assert_refused(fresh, "mlp.zip", "parameters where the page's has")
    upload(fresh, "convnet-lambda.zip", zipped(members(archives["ConvNet"]) | {"model.keras": lambda_model()}))
    assert_refused(fresh, "convnet-lambda.zip", "Lambda layer")
    assert fresh.session_state["training_runs::convnets"] == []
    assert "No trained pair yet" in " ".join(i.value for i in fresh.info)
    upload(fresh, "convnet.zip", archives["ConvNet"])
    upload(fresh, "mlp.zip", archives["MLP"])
    assert not errors(fresh)
    loaded = fresh.session_state["training_runs::convnets"]
    assert [run.label for run in loaded] == [
        f"{convnet.label} · loaded from convnet.zip",
        f"{mlp.label} · loaded from mlp.zip",
    ]
    assert table_runs(fresh) == [run.display_label for run in loaded]
    # Measured again on the loaded models, they pair as a press: the translation verdict is drawn from them.
    for run, original in zip(loaded, (convnet, mlp), strict=True):
        assert run.results["press"] == loaded[0].results["press"]
        np.testing.assert_allclose(
            run.results["translation"]["accuracy"], original.results["translation"]["accuracy"], atol=1e-6
        )
    assert "No trained pair yet" not in " ".join(i.value for i in fresh.info)
    x_validation = canvas_digits(DEFAULT_TRAIN_COUNT, 12).x_validation
    for run, original in zip(loaded, (convnet, mlp), strict=True):
        np.testing.assert_allclose(
            run.model.predict(x_validation, verbose=0), original.model.predict(x_validation, verbose=0), atol=1e-6
        )


def train_recurrence(app, units: int = 8):
    app.radio(key="series_choice").set_value("daily").run()
    app.multiselect(key="models").set_value(["GRU"]).run()
    next(s for s in app.select_slider if s.label == "Units").set_value(units).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(1).run()
    next(b for b in app.button if b.label.startswith("Train")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app.session_state["training_runs::recurrence"]


def comparison_models(app) -> list[str]:
    return [name for frame in app.dataframe if "Model" in frame.value.columns for name in frame.value["Model"]]


def test_a_recurrence_run_comes_back_measured_in_the_comparison_and_a_bad_one_changes_nothing():
    from lib.page_glue.export import forecaster_archives
    from lib.page_glue.recurrence import forecasting_data, load_source

    app = open_page("app_pages/recurrence.py")
    (run,) = train_recurrence(app)
    series = load_source("daily")
    archive = forecaster_archives("daily", series)(run)

    fresh = open_page("app_pages/recurrence.py")
    (trained,) = train_recurrence(fresh, units=16)
    cases = {
        "lambda.zip": (zipped(members(archive) | {"model.keras": lambda_model()}), "Lambda layer"),
        "wrong-units.zip": (with_settings(archive, units=16), "parameters where the page's has"),
        "unknown-series.zip": (with_settings(archive, series="../../etc"), "is not one this page offers"),
        "bomb.zip": (zip_bomb(), "unpacks to more than the app opens"),
    }
    for name, (content, said) in cases.items():
        upload(fresh, name, content)
        assert_refused(fresh, name, said)
        assert fresh.session_state["training_runs::recurrence"] == [trained], name
        assert trained.display_label in comparison_models(fresh)
    upload(fresh, "gru.zip", archive)
    assert not errors(fresh)
    earlier, loaded = fresh.session_state["training_runs::recurrence"]
    assert earlier is trained and loaded.label == f"{run.label} · loaded from gru.zip"
    assert loaded.metrics == run.metrics == ["loss", "mae_celsius"]
    assert loaded.final("mae_celsius") == pytest.approx(run.final("mae_celsius"))
    # The page measured it on the test part, as a run of its own: it joins the comparison beside the trained one.
    assert {trained.display_label, loaded.display_label} <= set(comparison_models(fresh))
    assert loaded.results["test_mae"] == pytest.approx(run.results["test_mae"], rel=1e-5)
    data = forecasting_data(series["value"].to_numpy(), 30, 1)
    np.testing.assert_allclose(
        loaded.model.predict(data.x_test, verbose=0), run.model.predict(data.x_test, verbose=0), atol=1e-6
    )


# --- The translator pages ------------------------------------------------------------------------------

TRANSLATOR = "app_pages/translator.py"
TRANSLATOR_RUNS = "training_runs::translator"


def train_translator_page(page: str, page_key: str, **choices):
    """The smallest press a translator page allows on the grammar's pairs (its fewest pairs, 3,000, and one
    epoch) with the sizes chosen; returns the page and its finished run."""
    app = open_page(page)
    for key, value in choices.items():
        next(w for w in [*app.select_slider, *app.slider, *app.selectbox] if w.key == key).set_value(value).run()
    next(s for s in app.select_slider if s.label == "Training pairs").set_value(3000).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train from scratch").click().run()
    assert not app.exception, [e.value for e in app.exception]
    (run,) = [run for run in app.session_state[f"training_runs::{page_key}"] if run.status == "finished"]
    assert run.settings["train_sentences"] == 3000 and run.epochs_completed == 1
    return app, run


@pytest.fixture(scope="module")
def translator_archive():
    """One short Translator run (GRU 64, embeddings of 16, 3,000 pairs, one epoch) and its archive."""
    from lib.page_glue.export import translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, default_corpus

    _, run = train_translator_page(TRANSLATOR, "translator", units=64, embedding=16)
    return run, translator_archives(GRAMMAR_KEY, default_corpus())(run)


def model_choices(app) -> list[str]:
    """The translator page's model box: the shipped model and the session's runs, as the participant picks."""
    return next(box for box in app.selectbox if box.label == "Model").options


def attention_model_file() -> bytes:
    """An Attention page model for the grammar's vocabularies (untrained): another page's model in a file."""
    from lib.models.attention import build_attention_seq2seq
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    vocabularies = corpus_vocabularies(GRAMMAR_KEY, default_corpus())
    return saved(build_attention_seq2seq(len(vocabularies[0]), len(vocabularies[1]), "dot", 64, 16, seed=0))


def test_bad_files_are_refused_on_the_translator_pages_and_nothing_is_added(translator_archive):
    _, good = translator_archive
    good_members = members(good)
    vocabulary = json.loads(good_members["french_vocabulary.json"])
    other_words = json.dumps({"words": [*vocabulary["words"][:-1], "zzz"]}).encode()
    app = open_page(TRANSLATOR)
    before = model_choices(app)
    cases = bad_files(good) | {
        "attention-model.zip": (
            zipped(good_members | {"model.keras": attention_model_file()}),
            "it is not a model this page builds",
        ),
        "wide.zip": (with_settings(good, units=128), "parameters where the page's has"),
        "odd.zip": (with_settings(good, units=100), "not one this page takes"),
        "other-pairs.zip": (
            zipped(good_members | {"french_vocabulary.json": other_words}),
            "not the vocabulary of the pairs this page works on now",
        ),
        "too-many-pairs.zip": (with_settings(good, train_sentences=10**6), "more than these pairs have"),
    }
    for name, (content, said) in cases.items():
        upload(app, name, content)
        assert_refused(app, name, said)
        assert app.session_state[TRANSLATOR_RUNS] == [], name
        assert model_choices(app) == before, name
    # On the Attention page, a Translator run is another page's: by its README, or (without one) by its settings.
    attention = open_page("app_pages/attention.py")
    upload(attention, "translator.zip", good)
    assert_refused(attention, "translator.zip", "it is a run of the Translator page: open it there")
    no_readme = zipped({name: content for name, content in good_members.items() if name != "README.md"})
    upload(attention, "no-readme.zip", no_readme)
    assert_refused(attention, "no-readme.zip", "lacks score: it is not a run of this page")
    assert attention.session_state["training_runs::attention"] == []


def test_a_translator_run_comes_back_measured_and_translates_as_it_did(translator_archive):
    from lib.data.corpus import encode_pairs
    from lib.page_glue.translator_family import default_corpus

    run, archive = translator_archive
    app = open_page(TRANSLATOR)
    upload(app, "gru.zip", archive)
    assert not errors(app)
    (loaded,) = app.session_state[TRANSLATOR_RUNS]
    assert loaded.label == f"{run.label} · loaded from gru.zip"
    assert loaded.status == "finished" and loaded.epochs_completed == 1
    assert loaded.final("loss") == pytest.approx(run.final("loss"))
    # Measured on the held-out pairs as a run trained here, it is offered in the model box and translates alike.
    assert loaded.results["bleu"] == pytest.approx(run.results["bleu"], abs=1e-6)
    assert loaded.display_label in model_choices(app)
    corpus = default_corpus()
    batch = encode_pairs(corpus.test[:64], run.model.source_vocabulary, run.model.target_vocabulary)
    np.testing.assert_allclose(
        loaded.model.teacher_forced_probabilities(batch), run.model.teacher_forced_probabilities(batch), atol=1e-6
    )
    # It goes home again like any run.
    from lib.page_glue.export import translator_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY

    again = members(translator_archives(GRAMMAR_KEY, corpus)(loaded))
    assert again["french_vocabulary.json"] == members(archive)["french_vocabulary.json"]
    assert json.loads(again["settings.json"])["units"] == 64


def test_the_shipped_attention_model_goes_home_and_comes_back_on_its_page():
    """The shipped model's download (its score a choice that the page labels "dot product q·zᵢ") comes back as
    a run of the Attention page: offered in the model box, it scores its held-out pairs as the shipped one."""
    from lib.page_glue.attention_page import SHIPPED_ATTENTION
    from lib.page_glue.export import attention_archives, shipped_run
    from lib.page_glue.translator_family import GRAMMAR_KEY, default_corpus

    archive = attention_archives(GRAMMAR_KEY, default_corpus())(shipped_run(SHIPPED_ATTENTION))
    app = open_page("app_pages/attention.py")
    upload(app, "shipped-attention.zip", archive)
    assert not errors(app)
    (loaded,) = app.session_state["training_runs::attention"]
    assert loaded.label == f"{SHIPPED_ATTENTION.label} · loaded from shipped-attention.zip"
    assert loaded.settings["score"] == "dot" and loaded.display_label in model_choices(app)
    assert loaded.results["bleu"] == pytest.approx(SHIPPED_ATTENTION.evaluation()["bleu"], abs=1e-6)


# --- Round trips: a run trained on the Attention and Transformer pages, exported, and loaded back -------------


def assert_comes_back(app, page_key: str, run, archive: bytes, file_name: str) -> None:
    """Uploaded on the page it was trained on, beside the run itself: the run joins the page's runs (the model
    box and the curves) with its history, is measured as the trained one was, and predicts as it did."""
    from lib.data.corpus import encode_pairs
    from lib.page_glue.translator_family import default_corpus

    upload(app, file_name, archive)
    assert not errors(app)
    trained, loaded = app.session_state[f"training_runs::{page_key}"]
    assert trained is run, "the run trained in the session stays"
    assert loaded.label == f"{run.label} · loaded from {file_name}"
    assert loaded.status == "finished" and loaded.epochs_completed == 1
    assert {run.display_label, loaded.display_label} <= set(model_choices(app))
    drawn = {name for frame in app.get("vega_lite_chart") for name in _runs_drawn(frame)}
    assert {run.display_label, loaded.display_label} <= drawn
    # Its history is the trained run's: every epoch's figures, and the per-batch curve.
    assert len(loaded.epoch_rows) == len(run.epoch_rows) > 0
    for got, expected in zip(loaded.epoch_rows, run.epoch_rows, strict=True):
        assert got == {**expected, "value": pytest.approx(expected["value"], rel=1e-6)}
    assert [row["value"] for row in loaded.batch_rows] == pytest.approx([row["value"] for row in run.batch_rows])
    # Measured on the held-out pairs as a run trained here, it scores and predicts as the trained run.
    assert loaded.results["bleu"] == pytest.approx(run.results["bleu"], abs=1e-6)
    batch = encode_pairs(default_corpus().test[:64], run.model.source_vocabulary, run.model.target_vocabulary)
    np.testing.assert_allclose(
        loaded.model.teacher_forced_probabilities(batch), run.model.teacher_forced_probabilities(batch), atol=1e-6
    )


def test_an_attention_run_goes_home_and_comes_back_with_its_history_and_predictions():
    from lib.page_glue.export import attention_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, default_corpus

    # The page's smallest sizes (64 units, embeddings of 16) and the general score, whose W is a weight too.
    app, run = train_translator_page("app_pages/attention.py", "attention", units=64, embedding=16, score="general")
    archive = attention_archives(GRAMMAR_KEY, default_corpus())(run)
    assert_comes_back(app, "attention", run, archive, "attention.zip")
    loaded = app.session_state["training_runs::attention"][-1]
    assert loaded.settings["score"] == "general" and loaded.settings["units"] == 64


def test_a_transformer_run_goes_home_and_comes_back_with_its_history_and_predictions():
    from lib.page_glue.export import transformer_archives
    from lib.page_glue.translator_family import GRAMMAR_KEY, default_corpus

    # A small model: one layer, width 64, feed-forward 128, two heads (so the archive carries a head split),
    # learned positions (a table of weights the archive must carry). One head works as well since the page
    # writes a one-value range instead of a slider (tests/test_page_transformer.py).
    app, run = train_translator_page(
        "app_pages/transformer.py", "transformer", layers=1, heads=2, width=64, feed_forward=128, positions="learned"
    )
    archive = transformer_archives(GRAMMAR_KEY, default_corpus())(run)
    assert_comes_back(app, "transformer", run, archive, "transformer.zip")
    loaded = app.session_state["training_runs::transformer"][-1]
    assert (loaded.settings["layers"], loaded.settings["heads"]) == (1, 2)
    assert loaded.model.model.count_params() == run.model.model.count_params()
