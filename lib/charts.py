"""The playground's one chart style: every Altair chart that a page draws is built here.

Keeping the builders together gives every page the same fonts, colours and sizes, and lets the
live-training engine redraw its chart several times a second without each page re-inventing it.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import functools
import json
import math

import altair as alt
import pandas as pd

# A palette that stays readable on a projector: strong hues, no two close in lightness.
PALETTE = ["#e4572e", "#17bebb", "#2e282a", "#ffc914", "#76b041", "#7b2cbf", "#3a86ff", "#ff006e"]
CHART_HEIGHT = 260
METRIC_TITLES = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "mae": "Mean absolute error",
    "sparse_categorical_accuracy": "Accuracy",
    "mae_celsius": "Mean absolute error (°C)",
    "mae_units": "Mean absolute error (series units)",
    "token_accuracy": "Token accuracy (padding ignored)",
    "greedy_accuracy": "Token accuracy, greedy decoding",
    "bleu": "BLEU (held-out, greedy)",
}
# Solid for training, dashed for validation, dotted for a reference value drawn beside the runs.
SPLIT_DASHES = {"train": [1, 0], "validation": [6, 4], "reference": [1, 3]}


def _height_with_legend(series_count: int) -> int:
    """Streamlit fits the whole chart, legend included, into its height: leave room for the legend's rows."""
    return CHART_HEIGHT + 24 * math.ceil(series_count / 2) + 30


def _style(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Fonts and axes shared by every chart of the playground."""
    return (
        chart.configure_axis(labelFontSize=12, titleFontSize=13, gridColor="#eeeeee")
        .configure_legend(labelFontSize=12, titleFontSize=12, orient="bottom", columns=2, labelLimit=420)
        .configure_view(strokeWidth=0)
        .configure_header(labelFontSize=13, titleFontSize=0)
    )


def training_chart(history: pd.DataFrame, metrics: list[str]) -> alt.TopLevelMixin:
    """Loss and metrics against epochs, one panel per metric, runs overlaid and told apart by colour.

    `history` is long-form with columns run, metric, split ("train" or "validation"), epoch, value.
    The training curve is drawn per batch (smoothed); validation is measured at each epoch's end,
    so it is drawn dashed with a point at every measurement.
    """
    frame = _training_frame(history, metrics)
    return _training_chart(frame, metrics, list(dict.fromkeys(frame["run"])))


def draw_training_chart(area, history: pd.DataFrame, metrics: list[str]) -> None:
    """Draw `training_chart` into `area` quickly enough to redraw it several times a second.

    Altair spends about 50 ms turning a chart into Vega-Lite; the specification only depends on the
    metrics and the run labels, so it is built once for them and then only the rows are sent.
    """
    frame = _training_frame(history, metrics)
    spec = json.loads(_training_chart_spec(tuple(metrics), tuple(dict.fromkeys(frame["run"]))))
    area.vega_lite_chart(frame, spec, width="content")


def _training_frame(history: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    frame = history[history["metric"].isin(metrics)].copy()
    frame["panel"] = frame["metric"].map(lambda name: METRIC_TITLES.get(name, name))
    return frame


@functools.lru_cache(maxsize=256)
def _training_chart_spec(metrics: tuple[str, ...], runs: tuple[str, ...]) -> str:
    empty = pd.DataFrame(columns=["run", "metric", "split", "epoch", "value", "panel"])
    spec = _training_chart(empty, list(metrics), list(runs)).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def _training_chart(frame: pd.DataFrame, metrics: list[str], runs: list[str]) -> alt.TopLevelMixin:
    colour = alt.Color(
        "run:N", title="Run", scale=alt.Scale(domain=runs, range=PALETTE[: max(len(runs), 1)] or PALETTE)
    )
    dash = alt.StrokeDash(
        "split:N",
        title="Split",
        scale=alt.Scale(domain=list(SPLIT_DASHES), range=list(SPLIT_DASHES.values())),
    )
    base = alt.Chart().encode(
        x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(nice=False)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=colour,
        tooltip=[
            alt.Tooltip("run:N"),
            alt.Tooltip("split:N"),
            alt.Tooltip("epoch:Q", format=".2f"),
            alt.Tooltip("value:Q", format=".4f"),
        ],
    )
    lines = base.mark_line(strokeWidth=2).encode(strokeDash=dash)
    validation_points = base.mark_point(filled=True, size=40).transform_filter(alt.datum.split == "validation")
    layered = alt.layer(lines, validation_points, data=frame).properties(width=320, height=CHART_HEIGHT)
    chart = layered.facet(
        column=alt.Column("panel:N", title=None, sort=[METRIC_TITLES.get(m, m) for m in metrics])
    ).resolve_scale(y="independent")
    return _style(chart)


def line_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    series: str,
    *,
    x_title: str,
    y_title: str,
    log_x: bool = False,
    log_y: bool = False,
) -> alt.TopLevelMixin:
    """A plain comparison chart (for instance parameters against image side), one line per series."""
    series_names = list(dict.fromkeys(frame[series]))
    chart = (
        alt.Chart(frame)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(type="log" if log_x else "linear")),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(type="log" if log_y else "linear")),
            color=alt.Color(f"{series}:N", title=None, scale=alt.Scale(domain=series_names, range=PALETTE)),
            tooltip=[f"{series}:N", alt.Tooltip(f"{x}:Q", format=","), alt.Tooltip(f"{y}:Q", format=",")],
        )
        .properties(height=_height_with_legend(len(series_names)))
    )
    return _style(chart)


def ratio_gauge(ratio: float, bands: list[tuple[float, float, str, str]]) -> alt.TopLevelMixin:
    """Where one ratio falls on a log scale, over coloured bands that each carry a verdict.

    `bands` holds (low, high, label, colour) tuples; the ratio is drawn as a black rule. Give the
    chart an explicit height when drawing it (`st.altair_chart(..., height=120)`): with no
    quantitative y axis, Vega-Lite would otherwise collapse it to a sliver.
    """
    band_frame = pd.DataFrame(
        [{"low": low, "high": high, "verdict": label, "colour": colour, "lane": ""} for low, high, label, colour in bands]
    )
    domain = [bands[0][0], bands[-1][1]]
    x_scale = alt.Scale(type="log", domain=domain, clamp=True)
    ticks = [10.0**power for power in range(round(math.log10(domain[0])), round(math.log10(domain[1])) + 1)]
    x_axis = alt.X(
        "low:Q",
        scale=x_scale,
        title="parameters ÷ training examples (log scale)",
        axis=alt.Axis(
            orient="bottom",
            values=ticks,
            labelExpr=(
                "datum.value >= 1e6 ? format(datum.value / 1e6, '~g') + 'M' : "
                "datum.value >= 1e3 ? format(datum.value / 1e3, '~g') + 'k' : format(datum.value, '~g')"
            ),
        ),
    )
    band_layer = (
        alt.Chart(band_frame)
        .mark_rect(opacity=0.7)
        .encode(
            x=x_axis,
            x2="high:Q",
            y=alt.Y("lane:N", axis=None),
            color=alt.Color("colour:N", scale=None, legend=None),
            tooltip=["verdict:N"],
        )
    )
    band_labels = (
        alt.Chart(band_frame)
        .transform_calculate(middle="sqrt(datum.low * datum.high)")
        .mark_text(fontSize=12, color="#2e282a")
        .encode(x=alt.X("middle:Q", scale=x_scale), y=alt.Y("lane:N", axis=None), text="verdict:N")
    )
    clamped = min(max(ratio, domain[0]), domain[1])
    marker_frame = pd.DataFrame({"ratio": [clamped], "lane": [""]})
    marker = (
        alt.Chart(marker_frame)
        .mark_rule(color="black", strokeWidth=3)
        .encode(x=alt.X("ratio:Q", scale=x_scale))
    )
    chart = alt.layer(band_layer, band_labels, marker).properties(height=60)
    return _style(chart)


def time_chart(
    frame: pd.DataFrame, time: str, value: str, series: str, *, y_title: str, series_title: str | None = None,
    colours: dict[str, str] | None = None,
) -> alt.TopLevelMixin:
    """Values against time, one coloured line per series (a split of the data, or a model's forecast)."""
    names = list(dict.fromkeys(frame[series]))
    palette = [colours.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(names)] if colours else PALETTE
    chart = (
        alt.Chart(frame)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=alt.X(f"{time}:T", title=None),
            y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{series}:N", title=series_title, scale=alt.Scale(domain=names, range=palette)),
            tooltip=[alt.Tooltip(f"{time}:T", format="%Y-%m-%d %H:%M"), f"{series}:N", alt.Tooltip(f"{value}:Q", format=".2f")],
        )
        .properties(height=_height_with_legend(len(names)))
    )
    return _style(chart)
