"""Parameter sharing: count an MLP's parameters, judge them against the data, and train one live."""

import pandas as pd
import streamlit as st

from lib.data.digits import split_digits
from lib.engine.charts import line_chart, ratio_gauge, show
from lib.engine.params import count_mlp_layers, float32_bytes, format_bytes, total_params
from lib.engine.training import accuracy_runs_table, live_training, page_runs
from lib.page_glue.export import digit_mlp_archive, run_downloads
from lib.page_glue.load_back import DIGIT_MLP_LOADER, load_back_box
from lib.page_glue.predict import prediction_box, prediction_result
from lib.page_glue.settings.parameter_sharing import SETTINGS
from lib.page_glue.sharing import (
    BUILD_CAP_PARAMS,
    IMAGE_PRESETS,
    RATIO_BANDS,
    built_convnet_parameter_count,
    built_mlp_parameter_count,
    convnet_layer_counts,
    parameters_by_image_side,
    ratio_verdict,
    train_digit_mlp,
)

PAGE_KEY = SETTINGS.page


def apply_preset() -> None:
    """Copy the chosen preset into the image widgets; editing them afterwards makes a custom image."""
    preset = next(p for p in IMAGE_PRESETS if p.label == st.session_state.preset)
    st.session_state.image_height = preset.height
    st.session_state.image_width = preset.width
    st.session_state.image_channels = preset.channels


st.title("Parameter sharing")
link = SETTINGS.link()
st.markdown(
    "> *The feed-forward net requires lots of parameters: an input image of 100×100 is 10,000 input "
    "neurons; with 100 hidden neurons that is 1M parameters. Is it a problem? Yes and no.*  — the notes"
)

# --- 1. The MLP and its parameters ---------------------------------------------------------------
st.header("1 · How many parameters does the MLP need?")
controls, results = st.columns([1, 2], gap="large")
with controls:
    SETTINGS.widget("preset", on_change=apply_preset)
    height_column, width_column, channel_column = st.columns(3)
    height = SETTINGS.widget("image_height", height_column)
    width = SETTINGS.widget("image_width", width_column)
    channels = SETTINGS.widget("image_channels", channel_column)
    layer_count = SETTINGS.widget("hidden_layers")
    hidden_sizes = [SETTINGS.widget(f"hidden_{i}") for i in range(layer_count)]
    outputs = SETTINGS.widget("outputs")
    examples = SETTINGS.widget("examples")

input_size = int(height * width * channels)
layers = count_mlp_layers(input_size, hidden_sizes, outputs)
parameters = total_params(layers)
with results:
    first = layers[0]
    st.markdown(
        f"An image of **{height:,} × {width:,} × {channels}** is **{input_size:,} inputs**. "
        f"Its first layer alone has {first.formula.split(' + ')[0]} = **{first.weights:,} weights** "
        f"+ {first.biases:,} biases = **{first.total:,} parameters**."
    )
    formula_column, keras_column, memory_column = st.columns(3)
    formula_column.metric("Parameters (formula)", f"{parameters:,}")
    memory_column.metric("Weights in float32", format_bytes(float32_bytes(parameters)))
    if parameters <= BUILD_CAP_PARAMS:
        keras_count = built_mlp_parameter_count((height, width, channels), tuple(hidden_sizes), outputs)
        agreement = "agrees with the formula" if keras_count == parameters else "DISAGREES with the formula"
        keras_column.metric("Keras count_params()", f"{keras_count:,}", help=f"The real Keras model {agreement}.")
        st.success(f"Built the real Keras model: its `count_params()` {agreement}.", icon=":material/check:")
    else:
        keras_column.metric("Keras count_params()", "not built")
        st.warning(
            f"Not built: {parameters:,} parameters would take {format_bytes(float32_bytes(parameters))} "
            f"before any training (Adam needs about three times that). Above {BUILD_CAP_PARAMS:,} "
            "parameters the page shows the formula's count instead, so that one person's slider "
            "cannot take the memory that everyone in the room shares.",
            icon=":material/memory:",
        )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Layer": layer.name,
                    "Weights": layer.weights,
                    "Biases": layer.biases,
                    "Parameters": layer.total,
                    "Formula": layer.formula,
                }
                for layer in layers
            ]
            + [
                {
                    "Layer": "Total",
                    "Weights": sum(layer.weights for layer in layers),
                    "Biases": sum(layer.biases for layer in layers),
                    "Parameters": parameters,
                    "Formula": "",
                }
            ]
        ),
        hide_index=True,
        column_config={
            name: st.column_config.NumberColumn(format="localized") for name in ("Weights", "Biases", "Parameters")
        },
    )

# --- 2. The rule of thumb ------------------------------------------------------------------------
st.header("2 · Is that too many for your data?")
ratio, verdict = ratio_verdict(parameters, examples)
st.markdown(
    "The notes' rule of thumb: *the number of parameters may be greater or smaller than the number of "
    "examples, but they should be in the same order of magnitude. Ex: 10k vs. 10 is bad.*"
)
show(st, ratio_gauge(ratio, RATIO_BANDS), width="stretch", height=120)
st.markdown(f"**{parameters:,} parameters for {examples:,} examples: {ratio:,.3g} per example.** Verdict: {verdict}.")
st.caption(
    f"The notes' example, 10,000 parameters for 10 examples, is a ratio of 1,000: “{ratio_verdict(10_000, 10)[1]}”."
)

# --- 3. A ConvNet on the same input --------------------------------------------------------------
st.header("3 · Share the weights: a ConvNet on the same image")
conv_layers = convnet_layer_counts(channels, outputs)
conv_parameters = total_params(conv_layers)
text_column, chart_column = st.columns([1, 2], gap="large")
with text_column:
    st.markdown(
        "Two convolution layers of 16 and 32 filters slide the **same 3×3 kernels** over every position, "
        "then global average pooling gives the classifier one number per filter. The image's height and "
        "width appear nowhere in the count."
    )
    st.metric(
        "ConvNet parameters",
        f"{conv_parameters:,}",
        delta=f"{conv_parameters - parameters:,} vs the MLP",
        delta_color="inverse",
    )
    if parameters <= BUILD_CAP_PARAMS:
        built = built_convnet_parameter_count((height, width, channels), outputs)
        st.caption(f"Keras `count_params()` of the real ConvNet: {built:,}.")
    st.dataframe(
        pd.DataFrame(
            [{"Layer": layer.name, "Parameters": layer.total, "Formula": layer.formula} for layer in conv_layers]
        ),
        hide_index=True,
        column_config={"Parameters": st.column_config.NumberColumn(format="localized")},
    )
with chart_column:
    sides = sorted({8, 16, 28, 64, 100, 256, 512, 1024, 3162, max(height, width)})
    show(
        st,
        line_chart(
            parameters_by_image_side(sides, channels, hidden_sizes, outputs),
            "image side (pixels)",
            "parameters",
            "model",
            x_title="Square image side (pixels, log scale)",
            y_title="Parameters (log scale)",
            log_x=True,
            log_y=True,
        ),
        width="stretch",
    )

# --- 4. More parameters, more overfitting: live ---------------------------------------------------
st.header("4 · More parameters, more overfitting: train one")
st.markdown(
    "An MLP on real handwritten digits (8×8 pixels, 1,797 images from UCI). Shrink the training set or "
    "widen the hidden layer, train, and compare training accuracy with validation accuracy on 360 "
    "images the model never sees. Each run stays on the chart, labelled by its settings."
)
demo_controls = st.columns(5)
train_count = SETTINGS.widget("training_examples", demo_controls[0])
demo_hidden = SETTINGS.widget("hidden_units", demo_controls[1])
epochs = SETTINGS.widget("epochs", demo_controls[2])
demo_parameters = total_params(count_mlp_layers(64, [demo_hidden], 10))
demo_ratio, demo_verdict = ratio_verdict(demo_parameters, train_count)
seed = SETTINGS.widget("seed", demo_controls[3])
demo_controls[4].metric("Parameters per example", f"{demo_ratio:,.3g}", help=demo_verdict)

prediction_box(PAGE_KEY)
live_training(
    PAGE_KEY,
    ["loss", "accuracy"],
    lambda area: train_digit_mlp(PAGE_KEY, split_digits(train_count), demo_hidden, epochs, area, seed=seed),
    share={"examples": train_count, "hidden_units": demo_hidden, "epochs": epochs, "seed": seed},
)

load_back_box(PAGE_KEY, DIGIT_MLP_LOADER)
runs = page_runs(PAGE_KEY)
if runs:
    accuracy_runs_table(runs, "Validation accuracy", show_gap=True)
    run_downloads(PAGE_KEY, runs, digit_mlp_archive)
    prediction_result(PAGE_KEY)
else:
    st.info("No run yet: press **Train**.", icon=":material/play_arrow:")

link.finish()
