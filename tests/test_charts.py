"""The chart builders' specifications: what a room reads off a chart, checked without a browser."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from lib.engine import charts


def history(loss_from: float, loss_to: float, metrics=("loss", "accuracy"), epochs: int = 3, batches: int = 20):
    """A long-form training history: per-batch training rows and one validation row per epoch."""
    rows = []
    steps = epochs * batches
    for step in range(steps + 1):
        epoch = step / batches
        progress = step / steps
        loss = loss_from * (loss_to / loss_from) ** progress  # geometric: every order of magnitude gets equal room
        values = {
            "loss": loss,
            "accuracy": 0.5 + 0.45 * progress,
            "mae": loss / 2,
            "token_accuracy": 0.3 + 0.5 * progress,
            "bleu": 10 * progress,
        }
        for metric in metrics:
            rows.append({"run": "run", "metric": metric, "split": "train", "epoch": epoch, "value": values[metric]})
            if step and step % batches == 0:
                rows.append(
                    {
                        "run": "run",
                        "metric": metric,
                        "split": "validation",
                        "epoch": epoch,
                        "value": values[metric] * 1.1,
                    }
                )
    return pd.DataFrame(rows)


def panels(spec: dict) -> list[dict]:
    return spec.get("hconcat") or spec.get("concat")


def panel_for(spec: dict, metric: str) -> dict:
    """The panel whose rows are this metric's (each panel keeps its own metric with a filter)."""
    return next(panel for panel in panels(spec) if f"datum.metric === '{metric}'" in json.dumps(panel["transform"]))


def y_scale_type(panel: dict) -> str:
    return panel["layer"][0]["encoding"]["y"]["scale"].get("type", "linear")


def drawn_spec(frame: pd.DataFrame, metrics: list[str]) -> tuple[pd.DataFrame, dict]:
    """What `draw_training_chart` sends: the rows and the cached specification."""

    class Area:
        def vega_lite_chart(self, data, spec, **kwargs):
            self.data, self.spec = data, spec

    area = Area()
    charts.draw_training_chart(area, frame, metrics)
    return area.data, area.spec


def test_a_loss_falling_by_orders_of_magnitude_gets_a_log_scale_and_accuracy_stays_linear():
    data, spec = drawn_spec(history(2.0, 0.01), ["loss", "accuracy"])
    assert y_scale_type(panel_for(spec, "loss")) == "log"
    assert y_scale_type(panel_for(spec, "accuracy")) == "linear"
    assert "log scale" in json.dumps(panel_for(spec, "loss")["title"])
    # A log axis cannot draw zero: the log panel keeps only positive values.
    assert "datum.value > 0" in json.dumps(panel_for(spec, "loss")["transform"])
    # The rows are still sent once, whole, for the chart's panels to share.
    assert {"run", "metric", "split", "epoch", "value"} <= set(data.columns)
    assert set(data["metric"]) == {"loss", "accuracy"}
    # The full Altair path (`training_chart`) makes the same choice.
    full = charts.training_chart(history(2.0, 0.01), ["loss", "accuracy"]).to_dict()
    assert y_scale_type(panel_for(full, "loss")) == "log"


def test_a_loss_within_one_order_of_magnitude_stays_linear():
    _, spec = drawn_spec(history(0.5, 0.3), ["loss", "accuracy"])
    assert y_scale_type(panel_for(spec, "loss")) == "linear"
    assert y_scale_type(panel_for(spec, "accuracy")) == "linear"
    assert "log scale" not in json.dumps(spec)


def test_an_error_metric_spanning_orders_of_magnitude_is_logged_too_and_zeros_do_not_count():
    frame = history(2.0, 0.01, metrics=("loss", "mae"))
    # A zero (or negative) value cannot decide a log scale nor be drawn on one.
    frame = pd.concat(
        [frame, pd.DataFrame([{"run": "run", "metric": "loss", "split": "train", "epoch": 0.0, "value": 0.0}])],
        ignore_index=True,
    )
    assert charts._log_metrics(frame, ["loss", "mae"]) == ("loss", "mae")
    # Accuracy-like metrics never go on a log scale, whatever their range.
    assert (
        charts._log_metrics(history(2.0, 0.01, metrics=("bleu",)).assign(value=lambda f: f["value"] + 0.01), ["bleu"])
        == ()
    )


def test_panels_keep_their_look_validation_dashed_with_points_legend_at_the_bottom():
    _, spec = drawn_spec(history(2.0, 0.01), ["loss", "accuracy"])
    assert spec["config"]["legend"]["orient"] == "bottom"
    assert "hconcat" in spec
    for panel in panels(spec):
        lines, points = panel["layer"]
        assert lines["encoding"]["strokeDash"]["scale"]["range"][1] == charts.SPLIT_DASHES["validation"]
        assert points["mark"]["type"] == "point"
        assert "validation" in json.dumps(points["transform"])
    assert [panel["title"]["text"] for panel in panels(spec)] == ["Loss (log scale)", "Accuracy"]
    assert spec["resolve"]["scale"]["y"] == "independent"


def test_four_or_more_metrics_wrap_into_rows_of_two():
    metrics = ["loss", "token_accuracy", "bleu", "accuracy"]
    _, spec = drawn_spec(history(2.0, 0.01, metrics=tuple(metrics)), metrics)
    assert spec["columns"] == 2
    assert len(spec["concat"]) == 4
    assert all(panel["width"] == 400 for panel in spec["concat"])
    assert y_scale_type(panel_for(spec, "loss")) == "log"
    assert y_scale_type(panel_for(spec, "token_accuracy")) == "linear"
    # Three or fewer stay on one row.
    _, three = drawn_spec(
        history(0.5, 0.3, metrics=("loss", "token_accuracy", "bleu")), ["loss", "token_accuracy", "bleu"]
    )
    assert len(three["hconcat"]) == 3 and "columns" not in three


def test_the_specification_is_cached_per_scale_choice():
    charts._training_chart_spec.cache_clear()
    drawn_spec(history(0.5, 0.3), ["loss", "accuracy"])
    drawn_spec(history(0.5, 0.3), ["loss", "accuracy"])
    assert charts._training_chart_spec.cache_info().misses == 1
    _, spec = drawn_spec(history(2.0, 0.01), ["loss", "accuracy"])
    assert charts._training_chart_spec.cache_info().misses == 2
    assert y_scale_type(panel_for(spec, "loss")) == "log"


def test_new_run_labels_reuse_the_specification_and_each_run_keeps_its_own_colour():
    # A press that trains four models in a row draws four sets of runs: one specification, four colours.
    charts._training_chart_spec.cache_clear()
    one = history(0.5, 0.3).assign(run="Window MLP")
    two = pd.concat([one, history(0.6, 0.3).assign(run="LSTM")], ignore_index=True)
    _, first = drawn_spec(one, ["loss", "accuracy"])
    _, second = drawn_spec(two, ["loss", "accuracy"])
    assert charts._training_chart_spec.cache_info().misses == 1
    for spec, runs in ((first, ["Window MLP"]), (second, ["Window MLP", "LSTM"])):
        for panel in spec["hconcat"]:
            for layer in panel["layer"]:
                scale = layer["encoding"]["color"]["scale"]
                assert scale["domain"] == runs
                assert scale["range"] == charts.PALETTE[: len(runs)]


def test_the_vanishing_pages_per_layer_chart_has_whole_number_ticks():
    from lib.page_glue.vanishing import mlp_gradients_chart

    norms = pd.DataFrame(
        {
            "layer": np.tile(np.arange(1, 11), 2),
            "quantity": ["weights"] * 10 + ["pre-activation"] * 10,
            "gradient_norm": np.geomspace(1e-3, 1, 20),
        }
    )
    x = mlp_gradients_chart(norms).to_dict()["encoding"]["x"]
    assert x["field"] == "layer"
    assert x["axis"]["tickMinStep"] == 1
    assert x["axis"]["format"] == "d"


def test_a_series_of_steps_is_drawn_on_a_step_axis_and_no_forecast_takes_the_truths_colour():
    frame = pd.DataFrame(
        {
            "time": np.tile(np.arange(5, dtype=float), 4),
            "value": np.arange(20, dtype=float),
            "model": np.repeat(["Truth", "Markov", "Linear", "LSTM"], 5),
        }
    )
    spec = charts.time_chart(frame, "time", "value", "model", y_title="Value", colours={"Truth": "#2e282a"}).to_dict()
    assert spec["encoding"]["x"]["type"] == "quantitative"
    colours = dict(zip(spec["encoding"]["color"]["scale"]["domain"], spec["encoding"]["color"]["scale"]["range"]))
    assert colours["Truth"] == "#2e282a"
    assert "#2e282a" not in [colours[name] for name in ("Markov", "Linear", "LSTM")]
    assert len(set(colours.values())) == 4
    # Dates stay dates.
    dated = frame.assign(time=pd.Timestamp("2010-01-01") + pd.to_timedelta(frame["time"], unit="h"))
    assert (
        charts.time_chart(dated, "time", "value", "model", y_title="Value").to_dict()["encoding"]["x"]["type"]
        == "temporal"
    )


def test_every_word_of_a_sentence_keeps_its_label_on_the_bar_charts():
    # At a laptop's width Vega's overlap check had hidden all but words 1, 5 and 9 of a nine-word sentence.
    for words in (9, 30):
        frame = pd.DataFrame({"word": [f"{i + 1} w{i}" for i in range(words)], "alpha": np.full(words, 1 / words)})
        axis = charts.specification(charts.bar_chart(frame, "word", "alpha", x_title="i", y_title="α"))["encoding"][
            "x"
        ]["axis"]
        assert axis["labelOverlap"] is False
        assert axis["labelAngle"] == (-45 if words <= 12 else -90)


def test_the_2d_picture_leaves_room_for_the_rightmost_label():
    frame = pd.DataFrame(
        {"x": [0.0, 10.0, 5.0], "y": [0.0, 1.0, 2.0], "label": ["a", "houses", "q"], "kind": ["zᵢ", "zᵢ", "q"]}
    )
    frame["size"] = 1.0
    spec = charts.specification(charts.vectors_chart(frame))
    domain = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain[1] >= 10.0 + 0.2 * 10.0 and domain[0] < 0.0


def heatmap_frame(weights) -> pd.DataFrame:
    rows = []
    for french_position, row in enumerate(weights):
        for english_position, weight in enumerate(row):
            rows.append(
                {
                    "english": f"{english_position + 1} e{english_position}",
                    "french": f"{french_position + 1} f{french_position}",
                    "english_position": english_position,
                    "french_position": french_position,
                    "weight": float(weight),
                    "gold": english_position == french_position,
                }
            )
    return pd.DataFrame(rows)


def cell_weights(spec: dict) -> list[float]:
    (rows,) = spec["datasets"].values()
    return [row["weight"] for row in rows]


def test_a_shared_heatmap_is_built_once_for_the_same_numbers_and_anew_for_other_numbers():
    """A room's watchers draw the same live heatmap: one chart for equal frames (compared by content, not
    identity), and a frame with other weights or another title gets its own chart, drawing its own weights."""
    weights = np.array([[0.9, 0.1], [0.2, 0.8]])
    first = charts.attention_heatmap(heatmap_frame(weights), title="Epoch 1.00")
    again = charts.attention_heatmap(heatmap_frame(weights.copy()), title="Epoch 1.00")
    assert again is first
    assert charts.specification(again) is charts.specification(first)
    changed = weights.copy()
    changed[0] = [0.3, 0.7]
    other = charts.attention_heatmap(heatmap_frame(changed), title="Epoch 1.00")
    retitled = charts.attention_heatmap(heatmap_frame(weights), title="Epoch 2.00")
    assert other is not first and retitled is not first
    assert cell_weights(charts.specification(other))[:2] == [0.3, 0.7]
    assert cell_weights(charts.specification(first))[:2] == [0.9, 0.1]
    assert charts.specification(retitled)["title"] == "Epoch 2.00"


def test_altair_builds_charts_without_rebuilding_its_class_table_or_validating_each_object():
    """Altair's private `_FromDict` table is built once per process (if Altair renames it, this fails to say
    the charts went back to costing 60 % more of the server's time), and its debug validation is off."""
    from altair.utils import schemapi

    assert getattr(schemapi._FromDict, "_tables_kept", False), "Altair's _FromDict is no longer patched"
    assert schemapi.DEBUG_MODE is False
    chart = charts.bar_chart(
        pd.DataFrame({"word": ["a", "b"], "score": [1.0, 2.0], "top": [False, True]}),
        "word",
        "score",
        x_title="x",
        y_title="y",
        highlight="top",
    )
    assert charts.specification(chart)["encoding"]["x"]["field"] == "word"


def test_a_chart_with_many_rows_is_built_for_each_caller_and_not_kept():
    """The charts kept hold their rows twice: a long sentence's large map is not kept, so thirty typed
    sentences cannot fill the server's memory with charts."""
    large = np.full((50, 50), 1 / 50)
    first = charts.attention_heatmap(heatmap_frame(large))
    assert charts.attention_heatmap(heatmap_frame(large)) is not first
    small = charts.attention_heatmap(heatmap_frame(large[:5, :5]))
    assert charts.attention_heatmap(heatmap_frame(large[:5, :5])) is small


# --- Saving a chart ------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def svg_texts(svg: bytes) -> list[str]:
    """The words an SVG shows (its <text> elements), parsed as XML: a file that is not valid SVG fails here."""
    import xml.etree.ElementTree as ElementTree

    root = ElementTree.fromstring(svg)
    # An SVG document: a namespaced <svg> root (the namespace is compared as read from the file, so the test
    # names no address), whose <text> elements share that namespace.
    namespace, _, name = root.tag.rpartition("}")
    assert namespace.startswith("{") and namespace.endswith("/svg") and name == "svg", root.tag
    return [" ".join(element.itertext()) for element in root.iter(f"{namespace}}}text")]


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def colour_of(spec: dict, label: str) -> str:
    """The colour a chart gives one series label, read from its colour scale (domain to range)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            scale = node.get("scale") if isinstance(node.get("scale"), dict) else None
            if scale and "domain" in scale and "range" in scale and label in scale["domain"]:
                found.append(scale["range"][scale["domain"].index(label)])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert found, f"no colour scale names {label!r}"
    return found[0]


def test_on_the_board_a_finished_run_has_the_same_colour_in_the_scatter_as_in_the_curves():
    # The curves hold a run still training ("epochs=2") before the finished one; the scatter only the finished.
    curves = pd.DataFrame(
        [
            {"run_id": run_id, "label": label, "metric": "loss", "split": "train", "epoch": 1, "value": 1.0}
            for run_id, label in (("a", "epochs=2"), ("b", "epochs=8"))
        ]
    )
    labels = list(dict.fromkeys(curves["label"]))
    curves_spec = charts.room_curves_chart(curves, ["loss"], labels).to_dict()
    finished = pd.DataFrame({"x": [8], "y": [0.9], "label": ["epochs=8"], "series": ["epochs=8"]})
    scatter = dict(x_numeric=True, x_title="epochs", y_title="accuracy")
    matched = charts.room_scatter_chart(finished, "x", "y", "series", series_order=labels, **scatter).to_dict()
    assert colour_of(matched, "epochs=8") == colour_of(curves_spec, "epochs=8")
    # Without the curves' order the scatter would give its only run the first colour: the mismatch fixed here.
    alone = charts.room_scatter_chart(finished, "x", "y", "series", **scatter).to_dict()
    assert colour_of(alone, "epochs=8") != colour_of(curves_spec, "epochs=8")


def test_the_live_training_chart_saves_as_svg_and_png_with_its_axes_and_curves():
    """The chart the run table draws (rows sent apart from the specification) saves with its rows put back."""
    frame, spec = drawn_spec(history(2.0, 0.01), ["loss", "accuracy"])
    svg = charts.chart_image(spec, "svg", rows=frame)
    texts = svg_texts(svg)
    assert {"Epoch", "Loss (log scale)", "Accuracy", "Run"} <= set(texts)
    assert "run" in texts  # the legend names the run drawn: the rows are in the picture
    assert svg.count(b"<path") > 4
    width, height = png_size(charts.chart_image(spec, "png", rows=frame))
    assert width > 400 and height > 200
    assert "data" not in spec  # the page's cached specification is left as it was


def test_a_chart_drawn_to_the_page_width_saves_at_a_fixed_width_with_its_axis_titles():
    frame = pd.DataFrame(
        {"side": [8, 16, 28] * 2, "parameters": [10, 40, 90, 5, 5, 5], "model": ["MLP"] * 3 + ["CNN"] * 3}
    )
    chart = charts.line_chart(frame, "side", "parameters", "model", x_title="image side (pixels)", y_title="parameters")
    spec = {**charts.specification(chart), "width": "container"}
    texts = svg_texts(charts.chart_image(spec, "svg"))
    assert {"image side (pixels)", "parameters", "MLP", "CNN"} <= set(texts)
    width, _ = png_size(charts.chart_image(spec, "png"))
    assert width >= charts.SAVE_WIDTH * charts.SAVE_PNG_SCALE
    assert charts.chart_name(spec) == "parameters-by-image-side-pixels"


def test_the_save_menu_renders_nothing_until_a_button_is_clicked(monkeypatch):
    rendered = []
    monkeypatch.setattr(charts, "chart_image", lambda spec, kind, **options: rendered.append(kind) or kind.encode())

    class Area:
        """A container that records what the menu puts in it (the popover is itself)."""

        def __init__(self):
            self.buttons = []

        def popover(self, label, **options):
            self.label = label
            return self

        def download_button(self, label, data, **options):
            self.buttons.append((label, data, options))

    area = Area()
    frame = pd.DataFrame({"word": ["le", "chat"], "weight": [0.2, 0.8]})
    spec = charts.specification(charts.bar_chart(frame, "word", "weight", x_title="word", y_title="attention"))
    charts.save_menu(area, spec)
    assert area.label == "Save" and [label for label, _, _ in area.buttons] == ["SVG", "PNG"]
    assert rendered == []
    assert all(options["on_click"] == "ignore" for _, _, options in area.buttons)
    assert [options["file_name"].rsplit(".", 1)[1] for _, _, options in area.buttons] == ["svg", "png"]
    assert area.buttons[1][1]() == b"png" and rendered == ["png"]


def test_after_a_run_the_pages_charts_each_offer_an_svg_and_a_png_in_their_save_menu():
    """Parameter sharing, after a one-epoch run: its run chart, and each chart drawn at rest, has a "Save" menu
    with an SVG and a PNG download that leave a training under way alone."""
    from tests.page_support import open_page

    app = open_page("app_pages/parameter_sharing.py")
    saves_before = [block for block in app.get("popover") if block.proto.popover.label == "Save"]
    next(s for s in app.select_slider if s.label == "Training examples").set_value(20).run()
    next(s for s in app.select_slider if s.label == "Hidden units").set_value(8).run()
    next(s for s in app.slider if s.label == "Epochs").set_value(1).run()
    next(b for b in app.button if b.label == "Train").click().run()
    assert not app.exception, [e.value for e in app.exception]
    saves = [block for block in app.get("popover") if block.proto.popover.label == "Save"]
    assert len(saves) == len(saves_before) + 1  # the run chart's, beside the page's other charts'
    menus = [[(button.proto.label, button.proto.id) for button in block.get("download_button")] for block in saves]
    assert all([label for label, _ in menu] == ["SVG", "PNG"] for menu in menus)
    assert all(button.proto.ignore_rerun for block in saves for button in block.get("download_button"))
    run_menu = next(menu for menu in menus if "save_chart::training-curves::" in menu[0][1])
    assert run_menu[0][1].endswith("::svg") and run_menu[1][1].endswith("::png")
    # Every chart on the page sits in a container with its menu.
    assert len(saves) == len(app.get("vega_lite_chart"))
