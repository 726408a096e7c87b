"""Every page under AppTest: it runs without an exception, and its widgets change what it shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.app.course import COURSE_PAGES
from lib.page_glue.recurrence import MARKOV_BASELINE, SOURCES, WINDOW_BASELINE
from tests.browser_support import ROOT
from tests.page_support import APP, chart_data, metric, open_page

# --- Home -----------------------------------------------------------------------------------------


def test_home_links_every_course_page():
    app = open_page("app_pages/home.py")
    assert app.title[0].value == "RNN Playground"
    linked = {link.proto.page for link in app.get("page_link")}
    assert {course_page.path.removeprefix("app_pages/").removesuffix(".py") for course_page in COURSE_PAGES} <= {
        name.removeprefix("app_pages/").removesuffix(".py") for name in linked
    }
    questions = " ".join(m.value for m in app.markdown)
    for course_page in COURSE_PAGES:
        assert course_page.question in questions


def test_home_renders_without_importing_tensorflow():
    # A fresh interpreter: in this one, other tests have imported TensorFlow already.
    probe = (
        "import sys, json\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({APP!r}, default_timeout=60).run()\n"
        "print(json.dumps({'exceptions': len(app.exception), 'titles': [t.value for t in app.title],"
        " 'tensorflow': 'tensorflow' in sys.modules, 'keras': 'keras' in sys.modules}))\n"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    report = json.loads(output.stdout.strip().splitlines()[-1])
    assert report == {"exceptions": 0, "titles": ["RNN Playground"], "tensorflow": False, "keras": False}


# --- Parameter sharing ------------------------------------------------------------------------------


def test_parameter_page_opens_on_the_notes_example():
    app = open_page("app_pages/parameter_sharing.py")
    assert metric(app, "Parameters (formula)") == "1,001,110"
    assert metric(app, "Keras count_params()") == "1,001,110"
    table = app.dataframe[0].value
    first = table.iloc[0]
    assert (first["Weights"], first["Biases"], first["Parameters"]) == (1_000_000, 100, 1_000_100)
    assert any("1,000,000 weights" in m.value for m in app.markdown)


def test_more_hidden_layers_and_units_change_the_count_and_keras_agrees():
    app = open_page("app_pages/parameter_sharing.py")
    app.slider[0].set_value(3).run()
    app.number_input(key="hidden_1").set_value(50).run()
    app.number_input(key="hidden_2").set_value(20).run()
    expected = 10_000 * 100 + 100 + 100 * 50 + 50 + 50 * 20 + 20 + 20 * 10 + 10
    assert metric(app, "Parameters (formula)") == f"{expected:,}"
    assert metric(app, "Keras count_params()") == f"{expected:,}"
    assert len(app.dataframe[0].value) == 4 + 1  # four layers and the total row


def test_camera_preset_is_counted_but_never_built():
    app = open_page("app_pages/parameter_sharing.py")
    app.selectbox(key="preset").set_value("A 10-megapixel camera: 3,872×2,592").run()
    assert not app.exception
    assert metric(app, "Keras count_params()") == "not built"
    parameters = int(metric(app, "Parameters (formula)").replace(",", ""))
    assert 1.0e9 < parameters < 1.01e9
    assert any("Not built" in w.value for w in app.warning)


def test_examples_change_the_rule_of_thumb_verdict():
    app = open_page("app_pages/parameter_sharing.py")
    examples = next(n for n in app.number_input if n.label == "Training examples you have")
    examples.set_value(10).run()
    verdicts = " ".join(m.value for m in app.markdown)
    assert "notes’ “10k vs 10”" in verdicts or "10k vs 10" in verdicts
    examples = next(n for n in app.number_input if n.label == "Training examples you have")
    examples.set_value(500_000).run()
    verdicts = " ".join(m.value for m in app.markdown)
    assert "same order of magnitude, as the notes recommend" in verdicts


def test_out_of_range_input_is_refused_without_a_traceback():
    app = open_page("app_pages/parameter_sharing.py")
    # A value past the widget's bound (as a hand-crafted browser message could send) is refused
    # by Streamlit: the page keeps the last valid image and counts it.
    app.number_input(key="image_height").set_value(50_000).run()
    assert not app.exception
    assert app.number_input(key="image_height").value == 100
    assert metric(app, "Parameters (formula)") == "1,001,110"
    app.number_input(key="image_height").set_value(10_000).run()
    app.number_input(key="image_width").set_value(10_000).run()
    assert not app.exception
    assert metric(app, "Keras count_params()") == "not built"


def test_demo_trains_charts_and_overlays_runs():
    app = open_page("app_pages/parameter_sharing.py")
    app.select_slider[0].set_value(20).run()
    epochs = next(s for s in app.slider if s.label == "Epochs")
    epochs.set_value(5).run()
    train = next(b for b in app.button if b.label == "Train")
    train.click().run()
    assert not app.exception
    runs = app.session_state["training_runs::parameter_sharing"]
    assert len(runs) == 1 and runs[0].status == "finished"
    assert runs[0].epochs_completed == 5
    table = app.dataframe[-1].value
    assert table.iloc[0]["Train accuracy"] >= 0 and "20 examples" in table.iloc[0]["Run"]
    charts_after_one = len(app.get("vega_lite_chart"))
    next(s for s in app.select_slider if s.label == "Hidden units").set_value(8).run()
    next(b for b in app.button if b.label == "Train").click().run()
    runs = app.session_state["training_runs::parameter_sharing"]
    assert [r.settings["hidden_units"] for r in runs] == [512, 8]
    assert len(app.get("vega_lite_chart")) == charts_after_one
    drawn_runs = set(chart_data(app.get("vega_lite_chart")[-1])["run"])
    assert drawn_runs == {
        "20 examples · 512 hidden units · 38,410 parameters",
        "20 examples · 8 hidden units · 610 parameters",
    }
    next(b for b in app.button if b.label == "Clear runs").click().run()
    assert app.session_state["training_runs::parameter_sharing"] == []
    assert any("No run yet" in i.value for i in app.info)


# --- Recurrence -----------------------------------------------------------------------------------------


def comparison(app: AppTest):
    """The page's comparison table, whatever the series' unit ("Test MAE" or "Test MAE (°C)")."""
    return next(frame.value for frame in app.dataframe if any(c.startswith("Test MAE") for c in frame.value.columns))


def test_recurrence_opens_on_mackey_glass_with_its_baselines_and_both_measured_results():
    app = open_page("app_pages/recurrence.py")
    assert app.radio(key="series_choice").value == "mackey_glass"
    table = comparison(app)
    assert set(table["Model"]) == {"Persistence (last value)", MARKOV_BASELINE, WINDOW_BASELINE}
    # Twelve steps ahead on the chaotic series, the linear model of the whole window is far better
    # than the Markov model of order 1, and both beat "nothing changes".
    errors = table.set_index("Model")["Test MAE"]
    assert errors[WINDOW_BASELINE] < errors[MARKOV_BASELINE] < errors["Persistence (last value)"]
    assert any("Mackey-Glass delay equation" in caption.value for caption in app.caption)
    # Its steps have no calendar: the series chart counts them instead of showing dates of 1970.
    time_axes = [
        spec["encoding"]["x"]
        for spec in (json.loads(chart.proto.spec) for chart in app.get("vega_lite_chart"))
        if spec.get("encoding", {}).get("x", {}).get("field") == "time"
    ]
    assert time_axes and all(axis["type"] == "quantitative" for axis in time_axes)
    # The shipped measurement of both defaults is written out: the chaotic series and the real-world check.
    summary = next(m.value for m in app.markdown if m.value.startswith("What one press of **Train**"))
    assert SOURCES["mackey_glass"].label in summary and SOURCES["hourly"].label in summary
    parameters = next(frame.value for frame in app.dataframe if "Shared across time?" in frame.value.columns)
    counts = dict(zip(parameters["Model"], parameters["Parameters"]))
    assert counts[WINDOW_BASELINE] == 49  # T = 48 weights and a bias
    assert counts[MARKOV_BASELINE] == 2
    assert counts["SimpleRNN"] == 1 * 32 + 32 * 32 + 32 + 33


def test_recurrence_temperatures_are_one_click_away_with_their_own_baselines():
    app = open_page("app_pages/recurrence.py")
    app.radio(key="series_choice").set_value("hourly").run()
    assert not app.exception
    table = comparison(app)
    assert set(table["Model"]) == {
        "Persistence (last value)",
        "Persistence (same hour yesterday)",
        MARKOV_BASELINE,
        WINDOW_BASELINE,
    }
    assert (table["Test MAE (°C)"] > 0).all()
    assert any("30-year hourly normals" in caption.value for caption in app.caption)
    assert next(s for s in app.slider if s.label.startswith("Horizon h")).value == 24


def test_recurrence_observation_noise_makes_the_series_harder_for_the_linear_model():
    app = open_page("app_pages/recurrence.py")
    clean = comparison(app).set_index("Model")["Test MAE"]
    app.slider(key="noise_mackey_glass").set_value(0.05).run()
    assert not app.exception
    noisy = comparison(app).set_index("Model")["Test MAE"]
    assert noisy[WINDOW_BASELINE] > clean[WINDOW_BASELINE] + 0.01
    # The noise slider belongs to the generated series only.
    app.radio(key="series_choice").set_value("daily").run()
    assert not any(s.key == "noise_daily" for s in app.slider)


def test_recurrence_default_series_trains_and_the_verdict_is_written_from_the_table():
    app = open_page("app_pages/recurrence.py")
    app.multiselect[0].set_value(["Window MLP", "SimpleRNN"]).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(2).run()
    next(b for b in app.button if b.label.startswith("Train")).click().run()
    assert not app.exception
    table = comparison(app)
    trained = [name for name in table["Model"] if " · " in name]
    assert sorted(name.split(" · ")[0] for name in trained) == ["SimpleRNN", "Window MLP"]
    verdict = next(m.value for m in app.markdown if m.value.startswith("**Best on the test part"))
    assert table.iloc[0]["Model"] in verdict
    errors = table.set_index(table["Model"].str.split(" · ").str[0])["Test MAE"]
    best_classical = errors[errors.index.str.startswith(("Persistence", "Autoregressive"))].min()
    # Whichever way the short run goes, the verdict says it as the table has it.
    if errors["SimpleRNN"] < best_classical:
        assert "beats the best classical model" in verdict
    else:
        assert "No recurrent network beats" in verdict
    if errors["SimpleRNN"] < errors["Window MLP"]:
        assert "SimpleRNN also beats the window MLP" in verdict
    else:
        assert "does as well or better" in verdict


def test_recurrence_window_grows_the_mlp_but_not_the_rnn():
    app = open_page("app_pages/recurrence.py")
    before = next(f.value for f in app.dataframe if "Shared across time?" in f.value.columns).set_index("Model")[
        "Parameters"
    ]
    next(s for s in app.slider if s.label.startswith("History T")).set_value(96).run()
    after = next(f.value for f in app.dataframe if "Shared across time?" in f.value.columns).set_index("Model")[
        "Parameters"
    ]
    assert after["Window MLP"] > before["Window MLP"]
    assert after["LSTM"] == before["LSTM"]
    assert after[WINDOW_BASELINE] == 97


def test_recurrence_trains_the_chosen_models_and_compares_them_on_the_test_part():
    app = open_page("app_pages/recurrence.py")
    app.radio(key="series_choice").set_value("daily").run()
    app.multiselect[0].set_value(["SimpleRNN", "GRU"]).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(2).run()
    next(b for b in app.button if b.label.startswith("Train")).click().run()
    assert not app.exception
    table = comparison(app)
    trained = [name for name in table["Model"] if "·" in name]
    assert sorted(name.split(" · ")[0] for name in trained) == ["GRU", "SimpleRNN"]
    assert (table["Parameters"][table["Model"].isin(trained)] > 0).all()
    runs = app.session_state["training_runs::recurrence"]
    assert all(run.results["parameters"] == run.results["formula_parameters"] for run in runs)
    # The error the chart shows in °C is the real mean absolute error of the model's forecasts.
    from lib.page_glue.recurrence import forecasting_data, load_source

    values = load_source("daily")["value"].to_numpy()
    data = forecasting_data(values, 30, 1)
    truth = data.normalizer.inverse_transform(data.y_validation)
    for run in runs:
        measured = float(abs(truth - run.results["validation_forecast"]).mean())
        assert run.final("mae_celsius") == pytest.approx(measured, rel=1e-3)
    verdict = next(m.value for m in app.markdown if m.value.startswith("**Best on the test part"))
    best = table.iloc[0]["Model"]
    assert best in verdict
    # One live chart holds both runs and the baselines' reference lines.
    training_charts = [data for data in map(chart_data, app.get("vega_lite_chart")) if "split" in data.columns]
    assert len(training_charts) == 1
    drawn = training_charts[0]
    assert {"train", "validation", "reference"} <= set(drawn["split"])
    assert len({name for name in drawn["run"] if " · " in name}) == 2


def test_recurrence_rejects_a_bad_upload_keeps_its_series_then_takes_a_good_one():
    app = open_page("app_pages/recurrence.py")
    before = comparison(app)
    app.get("file_uploader")[0].upload("broken.csv", b"when,what\nyesterday,warm\ntoday,cold\n", "text/csv").run()
    assert not app.exception
    assert any("“broken.csv” cannot be used" in error.value for error in app.error)
    assert app.radio(key="series_choice").options == [s.label for s in SOURCES.values()]
    assert comparison(app)["Test MAE"].tolist() == before["Test MAE"].tolist()

    hours = pd.date_range("2024-01-01", periods=2_000, freq="h")
    values = 10 + 5 * np.sin(np.arange(2_000) * 2 * np.pi / 24)
    good = pd.DataFrame({"timestamp": hours, "reading": values}).to_csv(index=False).encode()
    app.get("file_uploader")[0].upload("good.csv", good, "text/csv").run()
    assert not app.exception
    # A good file is chosen at once, and the error of the bad one is gone.
    assert app.radio(key="series_choice").value == "upload"
    assert not app.error
    table = next(frame.value for frame in app.dataframe if "Test MAE" in frame.value.columns)
    # A pure daily cycle: "same time yesterday" is not offered (no known period), but the linear
    # autoregressive model recovers a sinusoid exactly.
    autoregressive = table.set_index("Model").loc[WINDOW_BASELINE, "Test MAE"]
    assert autoregressive < 1e-3


def test_recurrence_window_longer_than_an_upload_keeps_the_models_settings_and_the_share_box():
    app = open_page("app_pages/recurrence.py")
    hours = pd.date_range("2024-01-01", periods=500, freq="h")
    short = pd.DataFrame({"timestamp": hours, "reading": np.sin(np.arange(500) / 5)}).to_csv(index=False).encode()
    app.get("file_uploader")[0].upload("short.csv", short, "text/csv").run()
    assert app.radio(key="series_choice").value == "upload"
    app.slider(key="history_upload").set_value(100).run()
    assert not app.exception
    # 500 steps leave 75 for validation, fewer than a window of 100.
    assert any("too short for a history of 100" in error.value for error in app.error)
    assert not [frame for frame in app.dataframe if "Test MAE" in frame.value.columns]
    # The models' settings and the share box are still on the page, and the link holds the window.
    assert any("Shared across time?" in frame.value.columns for frame in app.dataframe)
    app.slider(key="epochs").set_value(3).run()
    box = next(expander for expander in app.expander if expander.label == "Share these settings")
    link = box.code[0].value
    assert "history_upload=100" in link and "epochs=3" in link, link
    app.slider(key="history_upload").set_value(48).run()
    assert not app.error and app.slider(key="epochs").value == 3
    assert any("Test MAE" in frame.value.columns for frame in app.dataframe)


# --- Vanishing gradients ------------------------------------------------------------------------------


def charts_with(app: AppTest, column: str) -> list[pd.DataFrame]:
    return [frame for frame in map(chart_data, app.get("vega_lite_chart")) if column in frame.columns]


def test_vanishing_mlp_gradients_redraw_with_depth_and_activation():
    app = open_page("app_pages/vanishing_gradients.py")
    layers_before = charts_with(app, "layer")[0]["layer"].max()
    next(s for s in app.slider if s.label == "Depth (layers)").set_value(25).run()
    assert charts_with(app, "layer")[0]["layer"].max() == 25 != layers_before
    app.selectbox[0].set_value("sigmoid").run()
    norms = charts_with(app, "layer")[0]
    weights = norms[norms["quantity"] == "weights"].set_index("layer")["gradient_norm"]
    # Sigmoid's derivative is at most 1/4: through 25 layers the first layer's gradient is tiny.
    assert weights.loc[1] < 1e-3 * weights.loc[25]


def test_vanishing_recurrent_scale_and_clipping_change_the_measured_gradients():
    app = open_page("app_pages/vanishing_gradients.py")
    app.multiselect[0].set_value(["SimpleRNN"]).run()

    def far_over_near(scale: float) -> float:
        next(s for s in app.slider if s.label == "Recurrent weights' scale").set_value(scale).run()
        frame = charts_with(app, "steps_back")[0].set_index("steps_back")["gradient_norm"]
        return frame.loc[frame.index.max()] / frame.loc[0]

    shrinking, growing = far_over_near(0.6), far_over_near(1.4)
    # Below 1 the far steps vanish; above 1 they weigh more than the last step (tanh saturation limits it).
    assert shrinking < 1e-6 and growing > 10
    next(s for s in app.select_slider if s.label.startswith("Gradient clipping")).set_value(0.1).run()
    totals = next(frame.value for frame in app.dataframe if "after clipping" in frame.value.columns)
    assert totals["after clipping"].max() <= 0.1 + 1e-9
    assert (totals["total gradient norm"] > 0.1).all()


def setup_columns(app: AppTest) -> dict[str, list[str]]:
    """The markdown lines of each setup's column of section 3, by setup name."""
    from lib.models.long_memory import SETUPS

    titles = {setup.title: name for name, setup in SETUPS.items()}
    found = {}
    for column in app.columns:
        headers = [header.value for header in column.subheader]
        if headers and headers[0] in titles:
            found[titles[headers[0]]] = [m.value for m in column.markdown]
    return found


def test_vanishing_sweep_reading_is_written_from_the_shipped_data_per_setup():
    from lib.models.long_memory import SETUPS, load_sweep, summarise_sweep

    app = open_page("app_pages/vanishing_gradients.py")
    summary = summarise_sweep(load_sweep())
    columns = setup_columns(app)
    assert set(columns) == set(SETUPS)
    plain = summary[summary["clip_norm"] == 0].set_index(["setup", "cell", "lag"])
    for setup, lines in columns.items():
        rows = summary[summary["setup"] == setup]
        for variant, variant_rows in rows.groupby("variant"):
            # Each variant's line names the lags every seed solved before "with every seed", the
            # lags no seed solved after "not".
            line = next(line for line in lines if line.startswith(f"**{variant}**:"))
            every_seed = variant_rows[variant_rows["solved_seeds"] == variant_rows["seeds"]]["lag"].tolist()
            never = variant_rows[variant_rows["solved_seeds"] == 0]["lag"].tolist()
            assert all(str(lag) in line.split("with every seed")[0] for lag in every_seed), line
            assert all(str(lag) in line.split("not ")[-1] for lag in never), line
        # Where the page says the notes' ordering holds, the LSTM solved the lag with at least as many
        # seeds and a higher mean; where it says reversed, the mirror.
        holds = []
        for line in lines:
            heading = line.split("**")[1] if line.startswith("**") else ""
            lags = [int(word) for word in heading.replace(",", " ").split() if word.isdigit()]
            for lag in lags:
                lstm, simple = plain.loc[(setup, "LSTM", lag)], plain.loc[(setup, "SimpleRNN", lag)]
                if heading.startswith("The notes' ordering holds"):
                    holds.append(lag)
                    assert (
                        lstm["solved_seeds"] >= simple["solved_seeds"]
                        and lstm["mean_accuracy"] > simple["mean_accuracy"]
                    )
                elif heading.startswith("It is reversed"):
                    assert (
                        lstm["solved_seeds"] <= simple["solved_seeds"]
                        and lstm["mean_accuracy"] < simple["mean_accuracy"]
                    )
        assert any("does not show the notes' ordering" in line for line in lines) == (not holds)


def test_vanishing_default_setting_is_the_sweeps_clearest_contrast():
    from lib.models.long_memory import clearest_contrast, load_sweep, summarise_sweep

    app = open_page("app_pages/vanishing_gradients.py")
    contrast = clearest_contrast(summarise_sweep(load_sweep()))
    assert app.radio(key="memory_setup").value == contrast.setup
    assert app.select_slider(key="memory_lag").value == contrast.lag
    assert app.multiselect(key="memory_cells").value == ["SimpleRNN", "LSTM"]
    message = (app.success if contrast.every_seed else app.warning)[0].value
    assert f"lag {contrast.lag}" in message
    assert f"the LSTM solved it with {contrast.lstm_solved} of {contrast.seeds} seeds" in message
    assert ("No point of the sweep" in message) == (not contrast.every_seed)


def test_vanishing_gradient_chart_after_a_press_shows_that_press_only():
    from lib.engine.training import TrainingRun
    from lib.page_glue.vanishing import gradient_frame, latest_press

    def run(cell: str, press: int, status: str = "finished") -> TrainingRun:
        made = TrainingRun(
            label=cell,
            settings={"cell": cell, "clip_norm": 0.0, "press": press},
            metrics=["loss"],
            epochs_planned=2,
            batches_per_epoch=100,
            status=status,
        )
        made.snapshots = [
            {"epoch": 0.0, "value": np.array([1.0, 0.1, 0.01])},
            {"epoch": 2.0, "value": np.array([1.0, 0.5, 0.0])},
        ]
        return made

    older, first, second = run("LSTM", 1), run("SimpleRNN", 2), run("LSTM", 2, status="stopped")
    assert latest_press([older, first, second]) == [first, second]
    frame = gradient_frame([first, second])
    assert set(frame["series"]) == {
        "SimpleRNN · update 0",
        "SimpleRNN · update 200",
        "LSTM · update 0",
        "LSTM · update 200",
    }
    # Each curve is relative to its last step's gradient; one that vanished below float32 is drawn at
    # the floor of the log scale, not dropped.
    assert (frame[frame["steps_back"] == 0]["relative_gradient"] == 1.0).all()
    assert (frame["relative_gradient"] > 0).all() and len(frame) == 12


def test_vanishing_default_press_trains_both_cells_and_charts_the_gradient_reaching_each_step():
    from lib.models.long_memory import DEFAULT_BUDGET

    app = open_page("app_pages/vanishing_gradients.py")
    assert any("Train an LSTM in section 3" in info.value for info in app.info)
    lag, setup = app.select_slider(key="memory_lag").value, app.radio(key="memory_setup").value
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    lines = {}
    for cell in ("SimpleRNN", "LSTM"):
        line = next(m.value for m in app.markdown if m.value.startswith(f"**{cell} · lag {lag} · {setup}**"))
        assert "held-out accuracy" in line and "(finished" in line and "steps back, was" in line
        lines[cell] = line
    # The SimpleRNN trains its whole budget; the LSTM stops where it remembered, and its line says when.
    assert "remembered after" not in lines["SimpleRNN"]
    early = re.search(r"held-out accuracy \*\*([\d.]+)\*\*.*it remembered after ([\d,]+) of its", lines["LSTM"])
    if early:
        assert float(early.group(1)) >= 0.9
    lstm_updates = early.group(2) if early else f"{DEFAULT_BUDGET.updates:,}"
    # The per-step gradient of both cells, at update 0 and after the updates each trained, over every step back.
    gradient = next(frame for frame in charts_with(app, "steps_back") if "series" in frame.columns)
    assert {
        "SimpleRNN · update 0",
        f"SimpleRNN · update {DEFAULT_BUDGET.updates:,}",
        "LSTM · update 0",
        f"LSTM · update {lstm_updates}",
    } == set(gradient["series"])
    assert gradient["steps_back"].max() == lag and (gradient["relative_gradient"] > 0).all()
    # Section 2 (above the training) now sets both trained cells' gradients beside the fresh ones'.
    series = set(charts_with(app, "steps_back")[0]["cell"])
    assert {f"LSTM after training (lag {lag})", f"SimpleRNN after training (lag {lag})"} <= series
    gate_charts = charts_with(app, "unit")
    assert len(gate_charts) == 4
    forget = gate_charts[0]
    assert forget["step"].max() == lag and forget["value"].between(0, 1).all()
