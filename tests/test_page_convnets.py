"""The ConvNets page under AppTest (it runs, its controls redraw what they should, a short training
charts and measures), and the small library helpers the page added to lib/models/convnets.py,
lib/models/shifted_digits.py and lib/engine/charts.py."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.engine.charts import FIELD_STATUS_COLOURS, pixel_grid_chart, pixel_image
from lib.models.convnets import (
    DEFAULT_SPEC,
    ConvLayerSpec,
    ConvStackSpec,
)
from lib.models.shifted_digits import (
    describe_stack,
    gallery_indices,
    gallery_predictions,
    latest_pair,
    max_shift_for,
    next_press_number,
    shift_images,
    training_spec,
    translation_frame,
    translation_verdict,
)
from tests.page_support import metric, open_page

PAGE = "app_pages/convnets.py"
RUNS = "training_runs::convnets"


def chart_frames(chart) -> list[pd.DataFrame]:
    """Every dataset an Altair chart sent to the browser (a layered chart sends one per layer)."""
    import pyarrow

    proto = chart.proto
    blobs = [dataset.data.data for dataset in proto.datasets] or [proto.data.data]
    return [pyarrow.ipc.open_stream(blob).read_pandas() for blob in blobs if blob]


def frame_with(app, *columns: str, nth: int = 0) -> pd.DataFrame:
    """The nth chart dataset on the page that has all these columns."""
    found = [
        frame
        for chart in app.get("vega_lite_chart")
        for frame in chart_frames(chart)
        if set(columns) <= set(frame.columns)
    ]
    return found[nth]


def table_with(app, column: str) -> pd.DataFrame:
    return next(frame.value for frame in app.dataframe if column in frame.value.columns)


def slider(app, label: str):
    return next(s for s in app.slider if s.label == label)


# --- The page ---------------------------------------------------------------------------------------


def test_page_opens_on_the_default_stack_and_keras_agrees():
    app = open_page(PAGE)
    assert metric(app, "ConvNet parameters (formula)") == "6,218"
    assert metric(app, "Keras count_params()") == "6,218"
    assert metric(app, "MLP with 100 hidden units") == f"{16 * 16 * 100 + 100 + 100 * 10 + 10:,}"
    table = table_with(app, "Keras count_params()")
    assert table["Agrees"].all()
    assert list(table["Layer"]) == ["conv_1", "conv_2", "conv_3", "global_pool", "output"]
    field = table_with(app, "Receptive field")
    assert list(field["Receptive field"]) == [1, 3, 5, 9]  # 3×3, 3×3, then 3×3 dilated by 2
    assert any("Formula and gradient agree" in s.value for s in app.success)
    assert any("Train the ConvNet in section 3" in i.value for i in app.info)
    assert not app.error


def test_the_conv_layers_keep_their_count_when_the_image_grows():
    app = open_page(PAGE)
    conv_before, mlp_before = metric(app, "Conv layers alone"), metric(app, "MLP with 100 hidden units")
    slider(app, "Image side (pixels)").set_value(48).run()
    assert not app.exception
    assert metric(app, "Conv layers alone") == conv_before
    assert int(metric(app, "MLP with 100 hidden units").replace(",", "")) > int(mlp_before.replace(",", ""))
    growth = frame_with(app, "image side (pixels)", "part", "parameters")
    conv = growth[growth["part"] == "ConvNet: conv layers"]["parameters"]
    mlp = growth[growth["part"] == "MLP"]["parameters"]
    assert conv.nunique() == 1 and mlp.is_monotonic_increasing and mlp.iloc[-1] > 1_000 * conv.iloc[0]


def test_a_flatten_head_grows_with_the_image():
    app = open_page(PAGE)
    app.radio(key="head").set_value("flatten").run()
    assert not app.exception
    table = table_with(app, "Keras count_params()")
    assert table["Agrees"].all()
    assert table.set_index("Layer").loc["output", "Grows with the image?"]
    assert table.set_index("Layer").loc["output", "Parameters"] == 16 * 16 * 32 * 10 + 10
    assert any("Flatten" in m.value and "grows like the MLP" in m.value for m in app.markdown)


def test_more_layers_grow_the_field_and_the_unit_slider_moves_it():
    app = open_page(PAGE)
    slider(app, "Conv layers").set_value(5).run()
    assert not app.exception
    assert len(table_with(app, "Keras count_params()")) == 5 + 2
    assert table_with(app, "Receptive field")["Receptive field"].iloc[-1] == 13  # 9, then two more 3×3
    centre = frame_with(app, "status", "gradient", nth=0)
    inside = centre[centre["status"] == "formula and gradient"]
    assert len(inside) == 13 * 13 and inside["col"].min() == 2
    slider(app, "Unit column").set_value(0).run()
    moved = frame_with(app, "status", "gradient", nth=0)
    inside = moved[moved["status"] == "formula and gradient"]
    # The field of column 0 starts at pixel −6 in the padding: only columns 0..6 are in the image.
    assert inside["col"].min() == 0 and inside["col"].max() == 6 and len(inside) == 13 * 7
    assert (moved["status"] != "gradient only").all() and (moved["status"] != "formula only").all()
    assert any("zero padding" in s.value for s in app.success)
    # The layer slider looks at a unit of an earlier layer (same output side, same unit): a 3×3 field,
    # of which the columns −1..1 reach the image.
    slider(app, "A unit of conv layer").set_value(1).run()
    first = frame_with(app, "status", "gradient", nth=0)
    assert (first["status"] == "formula and gradient").sum() == 3 * 2


def test_pooling_and_stride_change_the_jump():
    app = open_page(PAGE)
    app.selectbox(key="pool_0").set_value("2×2 max").run()
    app.selectbox(key="stride_1").set_value(2).run()
    assert not app.exception and not app.error
    field = table_with(app, "Receptive field").set_index("Layer")
    assert field.loc["pool_1", "Jump"] == 2 and field.loc["conv_2", "Jump"] == 4
    assert table_with(app, "Keras count_params()")["Agrees"].all()


def test_an_impossible_stack_shows_the_reason_without_a_traceback():
    app = open_page(PAGE)
    app.selectbox(key="stride_0").set_value(2).run()
    app.selectbox(key="dilation_0").set_value(2).run()
    assert not app.exception
    assert any("cannot combine a stride above 1 with a dilation above 1" in e.value for e in app.error)
    app.selectbox(key="stride_0").set_value(1).run()
    assert not app.error
    app.selectbox(key="dilation_0").set_value(1).run()
    slider(app, "Image side (pixels)").set_value(8).run()
    for index in range(3):
        app.selectbox(key=f"padding_{index}").set_value("valid").run()
    # 8 → 6 → 4 pixels, and the third kernel (3×3 dilated by 2) spans 5.
    assert not app.exception
    assert any("Conv layer 3 receives a 4×4 map" in e.value and "spans 5 pixels" in e.value for e in app.error)
    assert not app.get("vega_lite_chart")  # nothing is drawn for a stack that cannot exist


def share_box_link(app) -> str:
    """The link in the page's "Share these settings" box (it fails when the box is not on the page)."""
    box = next(expander for expander in app.expander if expander.label == "Share these settings")
    return box.code[0].value


def test_the_share_box_stays_when_nothing_is_trained_and_when_the_stack_cannot_be_built():
    app = open_page(PAGE)
    assert any("No trained pair yet" in i.value for i in app.info)
    assert "?" not in share_box_link(app)  # the defaults: nothing to add to the page's address
    slider(app, "Epochs").set_value(7).run()
    app.selectbox(key="stride_0").set_value(2).run()
    app.selectbox(key="dilation_0").set_value(2).run()
    assert not app.exception
    assert any("cannot combine a stride above 1 with a dilation above 1" in e.value for e in app.error)
    # The stack that cannot be built is still shared, with the training settings set before it.
    link = share_box_link(app)
    assert all(setting in link for setting in ("stride_0=2", "dilation_0=2", "epochs=7")), link
    assert next(b for b in app.button if b.label.startswith("Train the ConvNet")).disabled
    app.selectbox(key="dilation_0").set_value(1).run()
    assert not app.error and slider(app, "Epochs").value == 7


def test_a_short_training_charts_both_models_and_measures_the_shifts():
    app = open_page(PAGE)
    slider(app, "Epochs").set_value(2).run()
    next(b for b in app.button if b.label.startswith("Train the ConvNet")).click().run()
    assert not app.exception, [e.value for e in app.exception]
    runs = app.session_state[RUNS]
    assert [run.results["kind"] for run in runs] == ["ConvNet", "MLP"]
    assert all(run.status == "finished" and run.epochs_completed == 2 for run in runs)
    convnet, mlp = runs
    assert convnet.results["parameters"] == convnet.results["formula_parameters"] == 6_218
    assert mlp.results["parameters"] == mlp.results["formula_parameters"]
    assert abs(mlp.results["parameters"] - 6_218) <= 0.1 * 6_218
    assert list(convnet.results["translation"]["shift"]) == [0, 1, 2, 3, 4]
    assert convnet.results["gallery_guesses"].shape == (9, 9, 10)
    # One live chart holds both runs.
    training = [
        frame for chart in app.get("vega_lite_chart") for frame in chart_frames(chart) if "split" in frame.columns
    ]
    assert len(training) == 1 and {name.split(" #")[0] for name in training[0]["run"]} == {"ConvNet", "MLP"}
    translation = frame_with(app, "shift", "accuracy", "model")
    assert len(translation) == 2 * 5 and translation["accuracy"].between(0, 1).all()
    assert any(m.value.startswith("**On centred digits") for m in app.markdown)
    # After the press the page reran: the trained model's field is drawn in section 2.
    assert any("The trained network's gradient reaches" in m.value for m in app.markdown)
    gallery, filters, maps = (image.captions for image in app.get("image"))
    assert len(gallery) == 10 and gallery[3].startswith("3: ConvNet ")
    assert filters == [f"filter {index}" for index in range(1, 9)]
    assert maps[0] == "input" and len(maps) == 1 + 8

    # The gallery and the translation chart redraw from the stored results, without training again.
    slider(app, "Move right (pixels)").set_value(3).run()
    assert not app.exception and len(app.session_state[RUNS]) == 2
    assert any(c.value.startswith("Moved +3 right") for c in app.caption)
    slider(app, "Largest shift k (pixels)").set_value(2).run()
    assert len(frame_with(app, "shift", "accuracy", "model")) == 2 * 3
    assert any("Moved by 1 to 2 pixels" in m.value for m in app.markdown)


# --- The library helpers the page added --------------------------------------------------------


class FakeRun:
    def __init__(self, kind=None, press=None, label="run"):
        self.results = {"kind": kind, "press": press} if kind else {}
        self.settings = {"press": press} if press else {}
        self.display_label = label


def test_latest_pair_skips_a_press_cut_short():
    complete = [FakeRun("ConvNet", 1), FakeRun("MLP", 1)]
    cut_short = [FakeRun()]  # a ConvNet stopped mid-training: no measurements
    assert latest_pair(complete + cut_short) == (complete[0], complete[1])
    only_convnet = [FakeRun("ConvNet", 2)]  # the MLP of press 2 was stopped
    assert latest_pair(complete + only_convnet) == (complete[0], complete[1])
    assert latest_pair(cut_short) is None
    assert next_press_number(complete + only_convnet) == 3 and next_press_number([]) == 1


def test_translation_verdict_says_who_won_with_the_numbers():
    def results(kind, accuracies):
        return {"kind": kind, "translation": pd.DataFrame({"shift": range(len(accuracies)), "accuracy": accuracies})}

    convnet, mlp = results("ConvNet", [0.93, 0.92, 0.90]), results("MLP", [0.97, 0.30, 0.10])
    verdict = translation_verdict(convnet, mlp, 2)
    assert "the MLP wins: 0.970 against 0.930" in verdict and "copes with moved digits far better" in verdict
    assert "0.910" in verdict and "0.200" in verdict
    reversed_verdict = translation_verdict(mlp, convnet, 2)
    assert "did not cope better" in reversed_verdict
    assert "Move *Largest shift*" in translation_verdict(convnet, mlp, 0)

    runs = [FakeRun(label="a"), FakeRun(label="b")]
    runs[0].results = convnet
    frame = translation_frame(runs, 1)
    assert list(frame["shift"]) == [0, 1] and set(frame["model"]) == {"a"}


def test_gallery_guesses_are_indexed_by_move():
    class ArgmaxOfColumnSum:
        """A stand-in model whose guess is the column (mod 10) holding the most ink: it sees moves."""

        def predict(self, batch, **_):
            columns = batch[..., 0].sum(axis=1).argmax(axis=1) % 10
            return np.eye(10)[columns]

    images = np.zeros((2, 8, 8), dtype=np.float32)
    images[:, :, 3] = 1.0
    guesses = gallery_predictions(ArgmaxOfColumnSum(), images, 16, 2)
    assert guesses.shape == (5, 5, 2)
    for dx in range(-2, 3):
        assert (guesses[2, dx + 2] == 4 + 3 + dx).all()  # canvas column of the digit's column 3
    assert (shift_images(images, 1, 0)[:, 4:12, 4 + 3 + 1] == 1).all()


def test_small_helpers():
    assert max_shift_for(16) == 4 and max_shift_for(12) == 2 and max_shift_for(8) == 0
    spec = training_spec(ConvStackSpec(input_side=40, channels=3), 20)
    assert (spec.input_side, spec.channels, spec.classes) == (20, 1, 10)
    assert describe_stack(DEFAULT_SPEC) == "8·16·32 filters 3×3, dilated · global average"
    pooled = ConvStackSpec(layers=(ConvLayerSpec(pool=2), ConvLayerSpec(kernel_size=5, stride=2)), head="flatten")
    assert describe_stack(pooled) == "16·16 filters 3×3/5×5, pooled, strided · flatten"
    assert list(gallery_indices(np.array([3, 0, 1, 0, 2, 3]), count=4)) == [1, 2, 4, 0]


def test_pixel_image_is_crisp_and_coloured():
    ink = pixel_image(np.array([[0.0, 1.0]]), scale=3)
    assert ink.shape == (3, 6, 3) and ink.dtype == np.uint8
    assert (ink[:, :3] == 255).all() and (ink[:, 3:] == [46, 40, 42]).all()
    signs = pixel_image(np.array([[-2.0, 0.0, 2.0]]), scale=1, diverging=True)
    assert tuple(signs[0, 0]) == (228, 87, 46) and tuple(signs[0, 1]) == (255, 255, 255)
    assert tuple(signs[0, 2]) == (23, 190, 187)


def test_pixel_grid_chart_lists_every_status_and_widens_for_the_padding():
    rows, cols = np.indices((4, 4))
    frame = pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "status": "outside", "gradient": 0.0})
    spec = pixel_grid_chart(
        frame, "status", side=4, colours=FIELD_STATUS_COLOURS, title="t", box=(-1, 2, -1, 2)
    ).to_dict()
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == list(FIELD_STATUS_COLOURS) and colour["range"] == list(FIELD_STATUS_COLOURS.values())
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [-1, 4]
    assert spec["autosize"] == {"type": "pad"}
