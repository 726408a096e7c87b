"""ConvNets: weight sharing keeps the model small, the receptive field grows layer by layer, and moved digits."""

from dataclasses import replace

import numpy as np
import streamlit as st

from lib.engine.charts import (
    FIELD_STATUS_COLOURS,
    accuracy_by_shift_chart,
    line_chart,
    pixel_grid_chart,
    pixel_image,
    show,
)
from lib.engine.params import count_mlp_layers, total_params
from lib.engine.training import accuracy_runs_table, live_training, page_runs
from lib.models.convnets import (
    ConvLayerSpec,
    ConvStackSpec,
    build_convnet,
    build_feature_extractor,
    conv_parameter_count,
    convnet_parameter_count,
    feature_maps,
    layer_table_with_keras,
    matched_mlp_hidden_size,
    mlp_layer_table,
    parameters_by_input_side,
    trunk_output_side,
    trunk_up_to,
    validate_stack,
)
from lib.models.receptive_field import (
    field_comparison_frame,
    measured_field,
    receptive_field_frame,
    theoretical_field,
    theoretical_mask,
)
from lib.models.shifted_digits import (
    CANVAS_CHOICES,
    DEFAULT_TRAIN_COUNT,
    canvas_digits,
    latest_pair,
    next_press_number,
    shift_images,
    training_spec,
    translation_frame,
    translation_verdict,
)
from lib.page_glue.convnets import train_convnet_and_mlp
from lib.page_glue.export import convnet_pair_archive, run_downloads
from lib.page_glue.load_back import CONVNET_PAIR_LOADER, load_back_box
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.convnets import POOL_CHOICES, SETTINGS

PAGE_KEY = SETTINGS.page


# --- Shared, read-only: models built only to count and measure, the digits on a canvas -------------


@st.cache_data(max_entries=128, show_spinner="Building the Keras model…")
def keras_checked_table(spec: ConvStackSpec):
    """The per-layer table with Keras's own counts: the model is built, counted and let go.

    Only the table is cached: a "flatten" head on a 64×64 image holds millions of weights, and
    keeping one such model per stack anybody tried would fill the memory the room shares.
    """
    return layer_table_with_keras(spec, build_convnet(spec))


# The trunk has no head, so it stays small whatever the image; it holds no trained weights, so
# every session may share it.
@st.cache_resource(max_entries=32, show_spinner=False)
def geometry_trunk(spec: ConvStackSpec):
    return build_feature_extractor(spec)


@st.cache_data(max_entries=512, show_spinner=False)
def structural_field(spec: ConvStackSpec, unit_row: int, unit_col: int):
    return measured_field(geometry_trunk(spec), spec.input_side, spec.channels, unit_row, unit_col)


@st.cache_resource(max_entries=len(CANVAS_CHOICES), show_spinner="Placing the digits on the canvas…")
def digits_on_canvas(canvas_side: int):
    return canvas_digits(DEFAULT_TRAIN_COUNT, canvas_side)


def layer_controls(index: int) -> ConvLayerSpec:
    """One row of the layer table: a widget per setting, labelled on the first row only."""
    shown = "visible" if index == 0 else "collapsed"
    row = st.columns([0.5, 1, 1, 1, 1, 1, 1], vertical_alignment="bottom")
    row[0].markdown(f"**conv {index + 1}**")
    filters, kernel, stride, dilation, padding, pool = (
        SETTINGS.widget(f"{name}_{index}", column, label_visibility=shown)
        for name, column in zip(["filters", "kernel", "stride", "dilation", "padding", "pool"], row[1:])
    )
    return ConvLayerSpec(filters, kernel, stride, dilation, padding, POOL_CHOICES[pool])


def unit_slider(side: int, key: str) -> int:
    """A position among the `side` output units; the key carries the side so a new stack starts centred."""
    return SETTINGS.widget(f"{key}_{side}") if side > 1 else 0


st.title("ConvNets")
link = SETTINGS.link()
st.markdown(
    "> *Better solution = convnets = share parameters across segments of the input. ConvNets capture info "
    "from local contexts. They can be stacked to increase the size of the local context from which they "
    "capture info ⇒ receptive field. But they are inherently **local**.*  — the notes"
)
formula_column, text_column = st.columns([2, 3], gap="large")
with formula_column:
    st.latex(r"y_{i,j} = \mathrm{ReLU}\Big(b + \sum_{u,v=0}^{k-1} w_{u,v}\; x_{i+du,\;j+dv}\Big)")
    st.caption("One filter of one layer, on a one-channel image; d is the dilation.")
with text_column:
    st.markdown(
        "The same k×k kernel **w** is applied at every position (i, j) of the image: a stroke is found with "
        "the same weights wherever it sits. The notes give the reason: an image has an intrinsic structure, "
        "and a digit is the same digit when it moves (invariance by translation). Below: what sharing does "
        "to the parameter count, how far one unit sees, and whether it helps on real moved digits."
    )

# --- 1. Parameters ---------------------------------------------------------------------------------
st.header("1 · Parameters: one kernel for every position")
shape_controls = st.columns([1, 1, 1, 2])
layer_count = SETTINGS.widget("conv_layers", shape_controls[0])
input_side = SETTINGS.widget("image_side", shape_controls[1])
channels = SETTINGS.widget("image_channels", shape_controls[2])
head = SETTINGS.widget("head", shape_controls[3])
with st.container(border=True):
    layers = tuple(layer_controls(index) for index in range(layer_count))
spec = ConvStackSpec(input_side=int(input_side), channels=int(channels), layers=layers, head=head)
problem = validate_stack(spec)
if problem:
    st.error(problem, icon=":material/error:")
else:
    table = keras_checked_table(spec)
    parameters = convnet_parameter_count(spec)
    mlp_hidden = 100
    mlp_table = mlp_layer_table(spec.input_side, spec.channels, [mlp_hidden])
    metrics = st.columns(4)
    metrics[0].metric("ConvNet parameters (formula)", f"{parameters:,}")
    agreement = "agrees" if table["agrees"].all() else "DISAGREES"
    metrics[1].metric(
        "Keras count_params()",
        f"{int(table['keras count_params()'].sum()):,}",
        help=f"The real Keras model, layer by layer: it {agreement} with the formula.",
    )
    metrics[2].metric("Conv layers alone", f"{conv_parameter_count(spec):,}")
    metrics[3].metric(
        f"MLP with {mlp_hidden} hidden units",
        f"{int(mlp_table['parameters'].sum()):,}",
        help="One hidden layer of 100 units, the notes' example, on the same image.",
    )
    st.dataframe(
        table[
            [
                "layer",
                "kind",
                "output",
                "formula",
                "parameters",
                "keras count_params()",
                "agrees",
                "depends_on_image_size",
            ]
        ].rename(
            columns={
                "layer": "Layer",
                "kind": "Kind",
                "output": "Output",
                "formula": "Weights + biases",
                "parameters": "Parameters",
                "keras count_params()": "Keras count_params()",
                "agrees": "Agrees",
                "depends_on_image_size": "Grows with the image?",
            }
        ),
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(format="localized") for name in ("Parameters", "Keras count_params()")
        },
    )
    table_column, chart_column = st.columns([5, 4], gap="large")
    with table_column:
        st.markdown(f"The MLP that would see the same {spec.input_side}×{spec.input_side}×{spec.channels} image:")
        st.dataframe(
            mlp_table[["layer", "formula", "parameters", "depends_on_image_size"]].rename(
                columns={
                    "layer": "Layer",
                    "formula": "Weights + biases",
                    "parameters": "Parameters",
                    "depends_on_image_size": "Grows with the image?",
                }
            ),
            hide_index=True,
            column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
        )
        biggest_side = 1024
        growth = parameters_by_input_side(
            spec, sorted({8, 16, 32, 64, 128, 256, 512, biggest_side, spec.input_side}), [mlp_hidden]
        )
        largest = growth[growth["image side (pixels)"] == biggest_side].set_index("part")["parameters"]
        st.markdown(
            f"From 8×8 to {biggest_side:,}×{biggest_side:,} pixels the conv layers keep "
            f"**{conv_parameter_count(spec):,}** parameters: a kernel has k×k×channels weights per filter wherever it "
            "slides. The MLP's first layer has one "
            f"weight per pixel and unit, and reaches **{int(largest['MLP']):,}**."
            + (
                " The *Flatten* head grows like the MLP: it gives every position of the last map its own weights."
                if spec.head == "flatten"
                else ""
            )
        )
    with chart_column:
        show(
            st,
            line_chart(
                growth,
                "image side (pixels)",
                "parameters",
                "part",
                x_title="Square image side (pixels, log scale)",
                y_title="Parameters (log scale)",
                log_x=True,
                log_y=True,
            ),
            width="stretch",
            height=400,
        )

    # --- 2. Receptive field --------------------------------------------------------------------------------
    st.header("2 · Receptive field: how far one unit sees")
    st.markdown(
        "Each layer widens what one unit sees by (k_eff − 1) × jump input pixels, where k_eff = d·(k − 1) + 1 is "
        "the dilated kernel's span and the jump is the product of the strides (and poolings) below it. Stack layers "
        "and the field grows; stop stacking and it stays a square: the ConvNet is *local*."
    )
    field_table = receptive_field_frame(spec)
    st.dataframe(
        field_table[
            [
                "layer",
                "kind",
                "kernel",
                "stride",
                "dilation",
                "effective_kernel",
                "padding_before",
                "output_side",
                "jump",
                "receptive_field",
                "first_pixel",
            ]
        ].rename(
            columns={
                "layer": "Layer",
                "kind": "Kind",
                "kernel": "Kernel",
                "stride": "Stride",
                "dilation": "Dilation",
                "effective_kernel": "k_eff",
                "padding_before": "Zeros padded before",
                "output_side": "Output side",
                "jump": "Jump",
                "receptive_field": "Receptive field",
                "first_pixel": "First unit starts at",
            }
        ),
        hide_index=True,
    )
    unit_controls = st.columns(3)
    with unit_controls[0]:
        field_layer = SETTINGS.widget(f"field_layer_{layer_count}") if layer_count > 1 else 1
    field_spec = replace(spec, layers=spec.layers[:field_layer])
    field_side = trunk_output_side(field_spec)
    with unit_controls[1]:
        unit_row = unit_slider(field_side, "unit_row")
    with unit_controls[2]:
        unit_col = unit_slider(field_side, "unit_col")

    formula = theoretical_mask(field_spec, unit_row, unit_col)
    clipped, square = theoretical_field(field_spec, unit_row, unit_col)
    measured = structural_field(field_spec, unit_row, unit_col)
    comparison = field_comparison_frame(formula, measured)
    formula_frame = comparison.assign(formula=np.where(formula.ravel(), "in the formula's square", "outside"))
    field_size = int(field_table.loc[field_table["layer"].str.endswith(f"_{field_layer}"), "receptive_field"].iloc[-1])
    box = (square.row0, square.row1, square.col0, square.col1)
    grids = st.columns(3)
    show(
        grids[0],
        pixel_grid_chart(
            formula_frame,
            "formula",
            side=spec.input_side,
            box=box,
            colours={
                "in the formula's square": FIELD_STATUS_COLOURS["formula and gradient"],
                "outside": FIELD_STATUS_COLOURS["outside"],
            },
            title=f"Formula: a {field_size}×{field_size} square",
        ),
        width="content",
    )
    show(
        grids[1],
        pixel_grid_chart(
            comparison,
            "status",
            side=spec.input_side,
            box=box,
            colours=FIELD_STATUS_COLOURS,
            title="Measured: input pixels with a non-zero gradient",
        ),
        width="content",
    )
    show(
        grids[2],
        pixel_grid_chart(
            comparison,
            "gradient",
            side=spec.input_side,
            box=box,
            value_title="|gradient|",
            title="Gradient magnitude: the effective field",
        ),
        width="content",
    )
    counts = comparison["status"].value_counts()
    inside = int(formula.sum())
    if counts.get("formula only", 0) == 0 and counts.get("gradient only", 0) == 0:
        cut = (
            " (the square is cut by the image border: the rest of it lies in the zero padding)"
            if clipped != square
            else ""
        )
        st.success(
            f"Formula and gradient agree: unit ({unit_row}, {unit_col}) of layer {field_layer} depends on exactly the "
            f"**{inside:,}** input pixels of the formula's square{cut}. The gradient is taken on a linear twin of the real "
            "Keras layers (same kernels, strides, dilations and padding; all-ones weights, no ReLU, average instead of "
            "max pooling), so it counts the paths from each pixel to the unit: the field is heavier in its centre.",
            icon=":material/check:",
        )
    else:
        st.warning(
            f"Formula and gradient differ: {counts.get('formula only', 0)} pixels of the square have no gradient, and "
            f"{counts.get('gradient only', 0)} pixels outside it do.",
            icon=":material/warning:",
        )

    # The field on the trained ConvNet of the latest press, with a real digit.
    pair = latest_pair(page_runs(PAGE_KEY))
    trained_run = pair[0] if pair and pair[0].model is not None else None
    st.subheader("On the trained ConvNet, with a real digit")
    if trained_run is None:
        st.info(
            "Train the ConvNet in section 3: its real gradient, with its ReLUs and max poolings, then appears here.",
            icon=":material/school:",
        )
    else:
        trained_spec = trained_run.results["spec"]
        trained_layer = min(field_layer, len(trained_spec.layers))
        trained_field_spec = replace(trained_spec, layers=trained_spec.layers[:trained_layer])
        trained_side = trunk_output_side(trained_field_spec)
        trained_unit = (min(unit_row, trained_side - 1), min(unit_col, trained_side - 1))
        digits = digits_on_canvas(trained_spec.input_side)
        digit_index = st.slider("Held-out digit", 0, len(digits.y_validation) - 1, 0, key="field_digit")
        image = digits.x_validation[digit_index]
        real = measured_field(
            trunk_up_to(trained_run.model, trained_layer),
            trained_spec.input_side,
            1,
            *trained_unit,
            channel=None,
            image=image,
        )
        real_formula = theoretical_mask(trained_field_spec, *trained_unit)
        real_square = theoretical_field(trained_field_spec, *trained_unit)[1]
        real_box = (real_square.row0, real_square.row1, real_square.col0, real_square.col1)
        real_comparison = field_comparison_frame(real_formula, real)
        real_comparison["ink"] = image[..., 0].ravel()
        trained_grids = st.columns(3)
        show(
            trained_grids[0],
            pixel_grid_chart(
                real_comparison,
                "ink",
                side=trained_spec.input_side,
                box=real_box,
                value_title="ink",
                title=f"Digit {digits.y_validation[digit_index]}, unit {trained_unit} of layer {trained_layer}",
            ),
            width="content",
        )
        show(
            trained_grids[1],
            pixel_grid_chart(
                real_comparison,
                "status",
                side=trained_spec.input_side,
                box=real_box,
                colours=FIELD_STATUS_COLOURS,
                title="Trained gradient ≠ 0, against the formula",
            ),
            width="content",
        )
        show(
            trained_grids[2],
            pixel_grid_chart(
                real_comparison,
                "gradient",
                side=trained_spec.input_side,
                box=real_box,
                value_title="|gradient|",
                title="Trained gradient magnitude",
            ),
            width="content",
        )
        reached = int((real.support & real_formula).sum())
        outside = int((real.support & ~real_formula).sum())
        st.markdown(
            f"The trained network's gradient reaches **{reached:,} of the {int(real_formula.sum()):,}** pixels of the "
            f"formula's square"
            + (
                " and none outside it"
                if outside == 0
                else f", and **{outside} outside it (the formula would be wrong)**"
            )
            + ". "
            + (
                "The effective field is smaller than the theoretical one: a ReLU that is off passes no gradient, "
                "and a max pooling passes it to the winner of its window only. "
                if reached < real_formula.sum()
                else "Here every pixel of the square matters. "
            )
            + (
                "This is the model trained in section 3, on its own canvas and stack."
                if trained_field_spec != field_spec
                else ""
            )
        )


# --- 3. Training on real digits, and translation --------------------------------------------------------
st.header("3 · Train on real digits, then move them")
st.markdown(
    "The 8×8 handwritten digits (1,797 from UCI), centred on a larger blank canvas so that they can move. "
    "One press trains the ConvNet of section 1 (grayscale, on this canvas), then an MLP with about as many "
    "parameters, both on **centred digits only**; then both are tested on the 360 held-out digits moved by "
    "0 to k pixels in eight directions."
)
train_controls = st.columns(5)
canvas = SETTINGS.widget("canvas", train_controls[0])
epochs = SETTINGS.widget("epochs", train_controls[1])
seed = SETTINGS.widget("seed", train_controls[4])
train_spec = training_spec(spec, canvas)
train_problem = validate_stack(train_spec)
if train_problem:
    st.error(f"On a {canvas}×{canvas} canvas this stack cannot be built: {train_problem}", icon=":material/error:")
else:
    train_parameters = convnet_parameter_count(train_spec)
    hidden = matched_mlp_hidden_size(canvas * canvas, train_parameters)
    train_controls[2].metric("ConvNet parameters", f"{train_parameters:,}")
    mlp_parameters = total_params(count_mlp_layers(canvas * canvas, [hidden], 10))
    train_controls[3].metric(
        f"MLP: {hidden} hidden units",
        f"{mlp_parameters:,}",
        help="The one-hidden-layer MLP whose count is closest to the ConvNet's.",
    )

# The press's number names its two runs ("ConvNet #2", "MLP #2") and pairs them, so it is part of what
# a shared press depends on: a room's first presses share, and so do its second ones.
press_number = next_press_number(page_runs(PAGE_KEY))
prediction_box(PAGE_KEY)
trained = live_training(
    PAGE_KEY,
    ["loss", "accuracy"],
    lambda area: train_convnet_and_mlp(
        PAGE_KEY, train_spec, digits_on_canvas(canvas), epochs, area, press_number=press_number, seed=seed
    ),
    train_label="Train the ConvNet, then the MLP",
    disabled=bool(train_problem),
    share={"spec": repr(train_spec), "canvas": canvas, "epochs": epochs, "seed": seed, "press": press_number},
)
if trained:
    st.rerun()  # Redraw the whole page from the stored runs, the trained field of section 2 included.

load_back_box(PAGE_KEY, CONVNET_PAIR_LOADER)
runs = page_runs(PAGE_KEY)
if runs:
    accuracy_runs_table(runs, "Held-out accuracy (centred)")
    run_downloads(PAGE_KEY, runs, convnet_pair_archive)
    prediction_result(PAGE_KEY)

# The settings end here (what follows views a trained pair), so the link is complete at this point.
link.finish()

pair = latest_pair(page_runs(PAGE_KEY))
if pair is None:
    st.info(
        "No trained pair yet: press **Train the ConvNet, then the MLP** (a few seconds with the defaults).",
        icon=":material/play_arrow:",
    )
else:
    convnet_run, mlp_run = pair
    max_shift = convnet_run.results["max_shift"]

    st.subheader("Translation test")
    largest = (
        st.slider("Largest shift k (pixels)", 0, max_shift, max_shift, key=f"largest_shift_{max_shift}")
        if max_shift > 0
        else 0
    )
    show(
        st,
        accuracy_by_shift_chart(translation_frame(runs, largest), y_title="Accuracy, 360 held-out digits", chance=0.1),
        width="stretch",
        height=380,
    )
    st.markdown(translation_verdict(convnet_run.results, mlp_run.results, largest))

    st.subheader("Shifted digits and both models' guesses")
    move = st.columns(2)
    dx = (
        move[0].slider("Move right (pixels)", -max_shift, max_shift, 0, key=f"gallery_dx_{max_shift}")
        if max_shift
        else 0
    )
    dy = (
        move[1].slider("Move down (pixels)", -max_shift, max_shift, 0, key=f"gallery_dy_{max_shift}")
        if max_shift
        else 0
    )
    digits = digits_on_canvas(convnet_run.results["canvas"])
    gallery = convnet_run.results["gallery_indices"]
    shifted = shift_images(digits.raw_validation[gallery], dx, dy, convnet_run.results["canvas"])
    conv_guesses = convnet_run.results["gallery_guesses"][dy + max_shift, dx + max_shift]
    mlp_guesses = mlp_run.results["gallery_guesses"][dy + max_shift, dx + max_shift]
    labels = digits.y_validation[gallery]
    st.image(
        [pixel_image(image, 6) for image in shifted],
        caption=[
            f"{label}: ConvNet {c} {'✓' if c == label else '✗'} · MLP {m} {'✓' if m == label else '✗'}"
            for label, c, m in zip(labels, conv_guesses, mlp_guesses)
        ],
        width=110,
        output_format="PNG",  # JPEG would blur the crisp pixels
    )
    st.caption(
        f"Moved {dx:+d} right and {dy:+d} down: the ConvNet gets {int((conv_guesses == labels).sum())} of {len(labels)}, "
        f"the MLP {int((mlp_guesses == labels).sum())} of {len(labels)}."
    )

    st.subheader("What the first layer learned")
    filters = convnet_run.results["filters"]
    filter_column, map_column = st.columns([1, 2], gap="large")
    with filter_column:
        st.markdown(
            f"The {filters.shape[-1]} learned {filters.shape[0]}×{filters.shape[0]} kernels of conv 1 "
            "(teal positive, red negative weights):"
        )
        shown_filters = range(min(filters.shape[-1], 32))
        st.image(
            [pixel_image(filters[..., f], max(6, 48 // filters.shape[0]), diverging=True) for f in shown_filters],
            caption=[f"filter {f + 1}" for f in shown_filters],
            width=64,
            output_format="PNG",
        )
    with map_column:
        if convnet_run.model is None:
            st.info("Feature maps need the model, and only the latest runs keep theirs: train again to see them.")
        else:
            digit_choice = st.selectbox(
                "Digit for the feature maps",
                range(len(gallery)),
                format_func=lambda i: f"the {labels[i]} of the gallery",
                key="map_digit",
            )
            maps = feature_maps(convnet_run.model, shifted[digit_choice][..., np.newaxis], 0)
            pooled_by = (
                "so global average pooling sees the same features wherever it is"
                if convnet_run.results["spec"].head == "global_average"
                else "but the Flatten head gives each position its own weights, so it sees them elsewhere"
            )
            st.markdown(
                f"Its feature maps in conv 1, moved as in the gallery ({dx:+d}, {dy:+d}): the maps move with "
                f"the digit, {pooled_by}. One grey scale for all maps: a pale map is a filter this digit barely "
                "excites."
            )
            shown_maps = range(min(maps.shape[-1], 16))
            peak = max(float(maps.max()), 1e-6)
            st.image(
                [pixel_image(shifted[digit_choice], 4)]
                + [pixel_image(maps[..., f], 4, limit=peak) for f in shown_maps],
                caption=["input"] + [f"filter {f + 1}" for f in shown_maps],
                width=96,
                output_format="PNG",
            )
