"""The playground's one chart style: every Altair chart that a page draws is built here.

Keeping the builders together gives every page the same fonts, colours and sizes, and lets the
live-training engine redraw its chart several times a second without each page re-inventing it.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections import OrderedDict

import altair as alt
import numpy as np
import pandas as pd

# Altair refuses to inline more than 5,000 rows unless told otherwise; every chart here is bounded
# by the app's own caps (a 40-word sentence's 8 heads of 40 × 40 cells are 12,800 rows), so the
# limit only turns a long sentence into an error. This sets Altair's registry for the process,
# which is only ever asked for these charts.
alt.data_transformers.disable_max_rows()


def _make_charts_cheap() -> None:
    """Two costs Altair charges every chart it builds, turned off for the process (2026-12-05, Altair 6.3:
    a warm Attention page run spent 60 % of its Python time in them, under the interpreter's lock that a
    room's sessions and its training share; benchmarks/room.py --profile):

    - its "debug mode" validates every schema object against the Vega-Lite schema as it is made; the
      builders here make valid charts (and `specification` already skips the final validation);
    - `SchemaBase.from_dict`, called for every channel given by name ("word:N"), builds a table of
      every schema class by a hash of its JSON schema, about 700 JSON dumps, then throws it away: the
      table depends only on the classes, so it is built once (`_FromDict`, private: if Altair renames
      it the charts still work, only slower, and tests/test_charts.py fails to say so).
    """
    from altair.utils import schemapi

    schemapi.disable_debug_mode()
    from_dict = getattr(schemapi, "_FromDict", None)
    if from_dict is None or getattr(from_dict, "_tables_kept", False):
        return
    build = from_dict.__init__
    tables: dict[tuple, object] = {}

    def init_once(self, wrapper_classes, /) -> None:
        classes = tuple(wrapper_classes)
        table = tables.get(classes)
        if table is None:
            build(self, classes)
            tables[classes] = self.class_dict
        else:
            self.class_dict = table

    from_dict.__init__ = init_once
    from_dict._tables_kept = True


_make_charts_cheap()

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
    "alignment_accuracy": "Alignment accuracy (held-out)",
    "discriminator_accuracy": "Discriminator accuracy (0.5: cannot tell)",
}
# Solid for training, dashed for validation, dotted for a reference value drawn beside the runs.
SPLIT_DASHES = {"train": [1, 0], "validation": [6, 4], "reference": [1, 3]}


def specification(chart: alt.TopLevelMixin) -> dict:
    """An Altair chart of this module as the Vega-Lite dictionary Streamlit draws, without Altair's
    schema validation: the builders here make valid specifications, and validating one costs about
    as much as building it (12 ms of a bar chart's 25 ms). A page may keep it to draw again.
    A chart made by a `shared_chart` builder is turned into its dictionary once."""
    with _SHARED_LOCK:
        kept = _SHARED_SPECS.get(id(chart))
    if kept is not None and kept[0] is chart:
        return kept[1]
    spec = chart.to_dict(validate=False)
    with _SHARED_LOCK:
        if any(built is chart for built in _SHARED_CHARTS.values()):
            _SHARED_SPECS[id(chart)] = (chart, spec)
    return spec


# --- Charts built once for the same numbers ------------------------------------------------------------

# The charts a page draws from a shipped model and the example sentence are the same in every session, and
# the same again at every rerun; a shared press's live heatmap is the same for each of its watchers. Altair
# takes 10-100 ms of the interpreter's lock to build one, so the builders marked `shared_chart` build a
# chart once for the same arguments (data frames and arrays compared by their content) and hand every
# caller that same chart: a caller must not change it in place (`line_chart`'s callers do, so it is not
# shared). Streamlit copies a specification before changing it, so the dictionary is shared too.
# A chart holds its rows twice (the frame, and the specification's inline copy, about 0.5 KB a row): only
# charts of up to SHARED_CHART_MAX_ROWS rows are kept (an attention map is tens to hundreds), so the charts
# kept stay within a few tens of MB even when every one is that large.
SHARED_CHARTS_KEPT = 128
SHARED_CHART_MAX_ROWS = 2_000
_SHARED_LOCK = threading.Lock()
_SHARED_CHARTS: OrderedDict[tuple, alt.TopLevelMixin] = OrderedDict()
_SHARED_SPECS: dict[int, tuple[alt.TopLevelMixin, dict]] = {}


class _NoContentKey(Exception):
    pass


def _content_key(value) -> tuple:
    """A key equal for equal arguments: data frames and arrays by a hash of their values."""
    rows = value.size if isinstance(value, np.ndarray) else len(value) if isinstance(value, pd.DataFrame) else 0
    if rows > SHARED_CHART_MAX_ROWS:  # a matrix's cells are its chart's rows
        raise _NoContentKey("too many rows to keep")
    if isinstance(value, pd.DataFrame):
        hashed = pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes()
        columns = tuple((str(name), str(dtype)) for name, dtype in value.dtypes.items())
        return ("frame", columns, hashlib.sha256(hashed).hexdigest())
    if isinstance(value, np.ndarray):
        return (
            "array",
            value.shape,
            str(value.dtype),
            hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
        )
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_content_key(item) for item in value))
    if isinstance(value, dict):
        return ("dict", tuple((str(name), _content_key(item)) for name, item in sorted(value.items())))
    if value is None or isinstance(value, (str, int, float, bool, np.integer, np.floating)):
        return (type(value).__name__, value)
    raise _NoContentKey(type(value).__name__)


def shared_chart(builder):
    """Build the chart once for equal arguments (see SHARED_CHARTS_KEPT), least recently used first out."""

    @functools.wraps(builder)
    def build(*args, **options):
        try:
            key = (builder.__name__, _content_key(args), _content_key(options))
        except (_NoContentKey, TypeError):  # an argument with no content key (or unhashable cells): build it
            return builder(*args, **options)
        with _SHARED_LOCK:
            chart = _SHARED_CHARTS.get(key)
            if chart is not None:
                _SHARED_CHARTS.move_to_end(key)
                return chart
        chart = builder(*args, **options)
        with _SHARED_LOCK:
            _SHARED_CHARTS[key] = chart
            while len(_SHARED_CHARTS) > SHARED_CHARTS_KEPT:
                _, dropped = _SHARED_CHARTS.popitem(last=False)
                _SHARED_SPECS.pop(id(dropped), None)
        return chart

    return build


def show(area, chart: alt.TopLevelMixin | dict, *, save: bool = True, **options) -> None:
    """Draw a chart of this module (or its `specification`) into a Streamlit container, with its "Save" menu
    (`save_menu`) under it; a chart redrawn while a training runs passes `save=False`."""
    spec = chart if isinstance(chart, dict) else specification(chart)
    if not save:
        area.vega_lite_chart(spec, **options)
        return
    holder = area.container(gap="xxsmall")  # the menu right under its chart
    holder.vega_lite_chart(spec, **options)
    save_menu(holder, spec, height=options.get("height"))


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
    so it is drawn dashed with a point at every measurement. A loss or error panel whose values
    span orders of magnitude is drawn on a log scale (see `_log_metrics`).
    """
    frame = _training_frame(history, metrics)
    return _training_chart(frame, metrics, list(dict.fromkeys(frame["run"])), _log_metrics(frame, metrics))


def draw_training_chart(area, history: pd.DataFrame, metrics: list[str], *, save: bool = False) -> None:
    """Draw `training_chart` into `area` quickly enough to redraw it several times a second.

    Altair spends about 50 ms turning a chart into Vega-Lite; the specification only depends on the
    metrics, the run labels and which panels are on a log scale, so it is built once for them and
    then only the rows are sent. With `save` (the chart at rest, not redrawn live), its "Save" menu.
    """
    frame = _training_frame(history, metrics)
    runs = list(dict.fromkeys(frame["run"]))
    spec = json.loads(_training_chart_spec(tuple(metrics), _log_metrics(frame, metrics)))
    _name_runs(spec, runs)
    if not save:
        area.vega_lite_chart(frame, spec, width="content")
        return
    holder = area.container(gap="xxsmall")  # the menu right under its chart
    holder.vega_lite_chart(frame, spec, width="content")
    save_menu(holder, spec, rows=frame, name="training-curves")


def _training_frame(history: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    frame = history[history["metric"].isin(metrics)].copy()
    frame["panel"] = frame["metric"].map(lambda name: METRIC_TITLES.get(name, name))
    return frame


# A loss or error panel goes on a log scale when its largest positive value is more than this many
# times its smallest: the first batches' loss (about 2) would otherwise flatten the rest (about 0.01).
LOG_SCALE_SPAN = 30.0


def _log_metrics(frame: pd.DataFrame, metrics: list[str]) -> tuple[str, ...]:
    """The loss and error metrics ("loss", "mae…") whose positive values span more than LOG_SCALE_SPAN."""
    chosen = []
    for metric in metrics:
        if metric != "loss" and not metric.startswith("mae"):
            continue
        values = pd.to_numeric(frame.loc[frame["metric"] == metric, "value"], errors="coerce")
        positive = values[values > 0]
        if len(positive) and positive.max() > LOG_SCALE_SPAN * positive.min():
            chosen.append(metric)
    return tuple(chosen)


# The run named in a cached training chart's colour scale, replaced by the drawn runs (`_name_runs`).
_ANY_RUN = "\x00run"


@functools.lru_cache(maxsize=256)
def _training_chart_spec(metrics: tuple[str, ...], log_metrics: tuple[str, ...] = ()) -> str:
    """The training chart's Vega-Lite specification for one placeholder run, without rows.

    The run labels appear only in the colour scale, so the specification is built (about 0.1 s of
    Altair, under the interpreter's lock) once per metrics and log panels rather than once per set of
    labels: a press that trains four models in a row, or a new label per press, used to build it again
    for every new set of runs, in the middle of the training (docs/press-cost-engine.md).
    """
    empty = pd.DataFrame(columns=["run", "metric", "split", "epoch", "value", "panel"])
    spec = _training_chart(empty, list(metrics), [_ANY_RUN], log_metrics).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def _name_runs(spec: dict | list, runs: list[str]) -> None:
    """Put the drawn runs, and a colour each, in every colour scale of a `_training_chart_spec`, in place."""
    if isinstance(spec, list):
        for item in spec:
            _name_runs(item, runs)
        return
    if not isinstance(spec, dict):
        return
    if spec.get("domain") == [_ANY_RUN]:
        # What `_training_chart` gives its colour scale for these runs.
        spec["domain"], spec["range"] = list(runs), PALETTE[: max(len(runs), 1)] or PALETTE
        return
    for value in spec.values():
        if isinstance(value, (dict, list)):
            _name_runs(value, runs)


def _training_chart(
    frame: pd.DataFrame, metrics: list[str], runs: list[str], log_metrics: tuple[str, ...] = ()
) -> alt.TopLevelMixin:
    """One layered chart per metric, concatenated: unlike a facet's panels, each can have its own scale type.

    The rows are given once, to the whole chart; each panel keeps its metric's rows (and, on a log
    scale, only the positive ones, which a log axis can draw).
    """
    colour = alt.Color(
        "run:N", title="Run", scale=alt.Scale(domain=runs, range=PALETTE[: max(len(runs), 1)] or PALETTE)
    )
    dash = alt.StrokeDash(
        "split:N",
        title="Split",
        scale=alt.Scale(domain=list(SPLIT_DASHES), range=list(SPLIT_DASHES.values())),
    )
    tooltip = [
        alt.Tooltip("run:N"),
        alt.Tooltip("split:N"),
        alt.Tooltip("epoch:Q", format=".2f"),
        alt.Tooltip("value:Q", format=".4f"),
    ]
    # Three panels side by side must fit the wide layout's main column (about 1,000 px at 1,400 px);
    # four or more wrap into rows of two.
    panel_width = 320 if len(metrics) < 3 else 250 if len(metrics) == 3 else 400
    panels = []
    for metric in metrics:
        log = metric in log_metrics
        title = METRIC_TITLES.get(metric, metric) + (" (log scale)" if log else "")
        kept = alt.datum.metric == metric
        if log:
            kept = kept & (alt.datum.value > 0)
        base = alt.Chart().encode(
            x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(nice=False)),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(type="log") if log else alt.Scale(zero=False)),
            color=colour,
            tooltip=tooltip,
        )
        lines = base.mark_line(strokeWidth=2).encode(strokeDash=dash)
        validation_points = base.mark_point(filled=True, size=40).transform_filter(alt.datum.split == "validation")
        panels.append(
            alt.layer(lines, validation_points)
            .transform_filter(kept)
            .properties(
                width=panel_width,
                height=CHART_HEIGHT,
                title=alt.TitleParams(title, fontSize=13, fontWeight="normal", anchor="middle"),
            )
        )
    if len(metrics) <= 3:
        chart = alt.hconcat(*panels, data=frame)
    else:
        chart = alt.concat(*panels, columns=2, data=frame)
    # Epochs line up from panel to panel, as in a facet; each metric keeps its own range.
    chart = chart.resolve_scale(x="shared", y="independent")
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


def points_chart(
    frame: pd.DataFrame, x: str, y: str, series: str, shape: str, *, x_title: str, y_title: str
) -> alt.TopLevelMixin:
    """One point per row, categories along x in the frame's order, coloured by `series` and shaped by
    `shape` (for instance this session's runs against a shipped measurement's)."""
    series_names = list(dict.fromkeys(frame[series]))
    chart = (
        alt.Chart(frame)
        .mark_point(filled=True, size=80, opacity=0.8)
        .encode(
            x=alt.X(
                f"{x}:N", sort=list(dict.fromkeys(frame[x])), title=x_title, axis=alt.Axis(labelAngle=0, labelLimit=220)
            ),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{series}:N", title=None, scale=alt.Scale(domain=series_names, range=PALETTE)),
            shape=alt.Shape(f"{shape}:N", title=None),
            xOffset=alt.XOffset(f"{series}:N"),
            tooltip=[f"{x}:N", f"{series}:N", f"{shape}:N", alt.Tooltip(f"{y}:Q", format=".3f")],
        )
        .properties(height=CHART_HEIGHT)
    )
    return _style(chart)


def ratio_gauge(ratio: float, bands: list[tuple[float, float, str, str]]) -> alt.TopLevelMixin:
    """Where one ratio falls on a log scale, over coloured bands that each carry a verdict.

    `bands` holds (low, high, label, colour) tuples; the ratio is drawn as a black rule. Give the
    chart an explicit height when drawing it (`st.altair_chart(..., height=120)`): with no
    quantitative y axis, Vega-Lite would otherwise collapse it to a sliver.
    """
    band_frame = pd.DataFrame(
        [
            {"low": low, "high": high, "verdict": label, "colour": colour, "lane": ""}
            for low, high, label, colour in bands
        ]
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
    marker = alt.Chart(marker_frame).mark_rule(color="black", strokeWidth=3).encode(x=alt.X("ratio:Q", scale=x_scale))
    chart = alt.layer(band_layer, band_labels, marker).properties(height=60)
    return _style(chart)


def time_chart(
    frame: pd.DataFrame,
    time: str,
    value: str,
    series: str,
    *,
    y_title: str,
    series_title: str | None = None,
    colours: dict[str, str] | None = None,
) -> alt.TopLevelMixin:
    """Values against time, one coloured line per series (a split of the data, or a model's forecast).

    A ``time`` column of dates is drawn as dates; a numeric one (the steps of a generated series,
    which have no calendar) as plain numbers.
    """
    names = list(dict.fromkeys(frame[series]))
    if colours:
        # The other series take the palette's colours that no fixed series uses, so that no forecast
        # is drawn in the colour of the truth it is compared with.
        free = [colour for colour in PALETTE if colour not in colours.values()]
        unfixed = iter(range(len(names)))
        palette = [colours[name] if name in colours else free[next(unfixed) % len(free)] for name in names]
    else:
        palette = PALETTE
    if pd.api.types.is_numeric_dtype(frame[time]):
        x_axis = alt.X(f"{time}:Q", title="Time step", scale=alt.Scale(zero=False))
        time_tooltip = alt.Tooltip(f"{time}:Q", format=",.0f", title="step")
        value_format = ".3f"  # a dimensionless series of about 1 needs a third decimal
    else:
        x_axis = alt.X(f"{time}:T", title=None)
        time_tooltip = alt.Tooltip(f"{time}:T", format="%Y-%m-%d %H:%M")
        value_format = ".2f"
    chart = (
        alt.Chart(frame)
        .mark_line(strokeWidth=1.5)
        .encode(
            x=x_axis,
            y=alt.Y(f"{value}:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color(f"{series}:N", title=series_title, scale=alt.Scale(domain=names, range=palette)),
            tooltip=[time_tooltip, f"{series}:N", alt.Tooltip(f"{value}:Q", format=value_format)],
        )
        .properties(height=_height_with_legend(len(names)))
    )
    return _style(chart)


# --- Pixel grids and images (the ConvNets page) -----------------------------------------------

# Fixed colours for where a receptive field's formula and its measured gradient agree or not, so
# that the same status has the same colour in every grid and every run.
FIELD_STATUS_COLOURS = {
    "formula and gradient": "#17bebb",
    "formula only": "#ffc914",
    "gradient only": "#e4572e",
    "outside": "#f2f2f2",
}
GRID_SIZE = 230


def pixel_grid_chart(
    frame: pd.DataFrame,
    value: str,
    *,
    side: int,
    title: str,
    colours: dict[str, str] | None = None,
    value_title: str | None = None,
    box: tuple[int, int, int, int] | None = None,
    size: int = GRID_SIZE,
) -> alt.TopLevelMixin:
    """One square grid of pixels (columns row, col), coloured by `value`, row 0 at the top.

    With `colours` (category → colour) the value is categorical and the legend lists every
    category, present or not; without, it is a magnitude from 0 (white) to 1 (dark). `box`
    (row0, row1, col0, col1, inclusive) outlines a square that may reach past the image into its
    zero padding: the axes then widen to show it, and the image's own border is drawn as well.
    """
    low, high = 0, side
    if box is not None:
        low, high = min(low, box[0], box[2]), max(high, box[1] + 1, box[3] + 1)
    scale = alt.Scale(domain=[low, high], nice=False, zero=False)
    y_scale = alt.Scale(domain=[high, low], nice=False, zero=False)
    axis = alt.Axis(values=list(range(low, high + 1, max(1, (high - low) // 4))), grid=False, tickCount=5, format="d")
    if colours is not None:
        colour = alt.Color(
            f"{value}:N", title=value_title, scale=alt.Scale(domain=list(colours), range=list(colours.values()))
        )
        tooltip = ["row:Q", "col:Q", f"{value}:N"]
    else:
        colour = alt.Color(
            f"{value}:Q",
            title=value_title,
            scale=alt.Scale(domain=[0, 1], range=["#ffffff", "#2e282a"]),
            legend=alt.Legend(gradientLength=120, format=".1f"),
        )
        tooltip = ["row:Q", "col:Q", alt.Tooltip(f"{value}:Q", format=".3f")]
    cells = (
        alt.Chart(frame)
        .transform_calculate(col_end="datum.col + 1", row_end="datum.row + 1")
        .mark_rect(stroke="#ffffff", strokeWidth=0.3 if side <= 32 else 0)
        .encode(
            x=alt.X("col:Q", scale=scale, axis=axis, title="column"),
            x2="col_end:Q",
            y=alt.Y("row:Q", scale=y_scale, axis=axis, title="row"),
            y2="row_end:Q",
            color=colour,
            tooltip=tooltip,
        )
    )
    layers = [cells]
    outlines = [{"row0": 0, "row1": side, "col0": 0, "col1": side, "what": "image"}]
    if box is not None:
        outlines.append({"row0": box[0], "row1": box[1] + 1, "col0": box[2], "col1": box[3] + 1, "what": "formula"})
    layers.append(
        alt.Chart(pd.DataFrame(outlines))
        .mark_rect(fill=None, strokeWidth=2)
        .encode(
            x=alt.X("col0:Q", scale=scale),
            x2="col1:Q",
            y=alt.Y("row0:Q", scale=y_scale),
            y2="row1:Q",
            stroke=alt.Stroke(
                "what:N", scale=alt.Scale(domain=["image", "formula"], range=["#999999", "#e4572e"]), legend=None
            ),
            strokeDash=alt.StrokeDash(
                "what:N", scale=alt.Scale(domain=["image", "formula"], range=[[2, 2], [1, 0]]), legend=None
            ),
        )
    )
    # "pad" keeps the grid square at `size` pixels: Streamlit's default autosizing squeezes its height.
    chart = alt.layer(*layers).properties(
        width=size,
        height=size,
        title=alt.Title(title, fontSize=13, anchor="start"),
        autosize=alt.AutoSizeParams(type="pad"),
    )
    return _style(chart)


def pixel_image(array, scale: int = 8, *, diverging: bool = False, limit: float | None = None):
    """A 2-D array as a crisp RGB image (uint8, each value a scale×scale block) for `st.image`.

    Plain: 0 is white and `limit` (default the array's maximum, at least 1e-9) is black, like ink.
    Diverging (for learned filters): negative values red, zero white, positive values teal, both
    scaled by `limit` (default the largest absolute value).
    """
    import numpy as np

    values = np.asarray(array, dtype=np.float32)
    if diverging:
        top = float(limit if limit is not None else max(np.abs(values).max(), 1e-9))
        share = np.clip(values / top, -1.0, 1.0)[..., np.newaxis]
        white = np.array([255, 255, 255], dtype=np.float32)
        positive, negative = np.array([23, 190, 187], dtype=np.float32), np.array([228, 87, 46], dtype=np.float32)
        rgb = np.where(share >= 0, white + share * (positive - white), white - share * (negative - white))
    else:
        top = float(limit if limit is not None else max(values.max(), 1e-9))
        share = np.clip(values / top, 0.0, 1.0)[..., np.newaxis]
        ink = np.array([46, 40, 42], dtype=np.float32)
        rgb = 255 + share * (ink - 255)
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    return np.clip(rgb.round(), 0, 255).astype(np.uint8)


def accuracy_by_shift_chart(frame: pd.DataFrame, *, y_title: str, chance: float | None = None) -> alt.TopLevelMixin:
    """Accuracy (0 to 1) against a whole number of pixels moved, one line per model, like `line_chart`.

    Shifts are integers, so the x axis ticks only at whole pixels; `chance` adds a dotted rule.
    """
    models = list(dict.fromkeys(frame["model"]))
    lines = (
        alt.Chart(frame)
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X(
                "shift:Q",
                title="Shift (pixels; each the mean of its eight directions)",
                axis=alt.Axis(tickMinStep=1, format="d"),
                scale=alt.Scale(nice=False),
            ),
            y=alt.Y("accuracy:Q", title=y_title, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", title=None, scale=alt.Scale(domain=models, range=PALETTE)),
            tooltip=["model:N", alt.Tooltip("shift:Q", format="d"), alt.Tooltip("accuracy:Q", format=".3f")],
        )
    )
    layers = [lines]
    if chance is not None:
        rule = pd.DataFrame({"accuracy": [chance], "label": [f"chance ({chance:g})"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[2, 3], color="#999999").encode(y="accuracy:Q"))
        layers.append(
            alt.Chart(rule)
            .mark_text(align="left", dx=4, dy=-7, color="#777777", fontSize=12)
            .encode(y="accuracy:Q", x=alt.value(0), text="label:N")
        )
    return _style(alt.layer(*layers).properties(height=CHART_HEIGHT))


# --- Attention ----------------------------------------------------------------------------------------


@shared_chart
def attention_heatmap(
    frame: pd.DataFrame,
    *,
    title: str = "",
    cell: int = 26,
    x_title: str = "English (encoder states zᵢ)",
    y_title: str = "French (decoder steps)",
) -> alt.TopLevelMixin:
    """French words (rows) × English words (columns), each cell's α as colour, gold alignments outlined.

    `frame` is long-form with columns english, french (labels unique per position, for instance
    "3 chat"), english_position, french_position, weight, and gold (bool). A row sums to 1: it is one
    decoder step's attention over the English words.
    """
    english = list(frame.sort_values("english_position")["english"].drop_duplicates())
    french = list(frame.sort_values("french_position")["french"].drop_duplicates())
    base = alt.Chart(frame).encode(
        x=alt.X(
            "english:N",
            sort=english,
            title=x_title,
            axis=alt.Axis(labelAngle=-50, orient="top", labelLimit=120, labelOverlap=False, labelFlush=False),
        ),
        y=alt.Y(
            "french:N", sort=french, title=y_title, axis=alt.Axis(labelLimit=120, labelOverlap=False, labelFlush=False)
        ),  # See matrix_heatmap.
    )
    cells = base.mark_rect().encode(
        color=alt.Color("weight:Q", title="α", scale=alt.Scale(domain=[0, 1], scheme="blues")),
        tooltip=["french:N", "english:N", alt.Tooltip("weight:Q", format=".3f", title="α")],
    )
    layers = [cells]
    if frame["gold"].any():
        layers.append(base.transform_filter(alt.datum.gold).mark_rect(fill=None, stroke=PALETTE[0], strokeWidth=2.5))
    # Discrete steps give every word one square cell, whatever the sentence's length; draw it with
    # st.altair_chart(..., width="content") so that Streamlit keeps that size.
    chart = alt.layer(*layers).properties(width=alt.Step(cell), height=alt.Step(cell))
    if title:
        chart = chart.properties(title=title)
    return _style(chart)


@shared_chart
def bar_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    highlight: str | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.TopLevelMixin:
    """One bar per category, in the frame's order (for instance one per source word); the rows where
    the boolean column `highlight` is true are drawn in the accent colour."""
    order = list(frame[x])
    color = (
        alt.condition(f"datum.{highlight}", alt.value(PALETTE[0]), alt.value(PALETTE[6]))
        if highlight
        else alt.value(PALETTE[6])
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            # Every bar keeps its word: Vega's overlap check hides slanted labels long before they touch
            # (at a laptop's width a nine-word sentence showed only words 1, 5 and 9), so it is turned
            # off, and past a dozen bars the labels stand upright, where each needs only a line's height.
            x=alt.X(
                f"{x}:N",
                sort=order,
                title=x_title,
                axis=alt.Axis(
                    labelAngle=-45 if len(order) <= 12 else -90,
                    labelLimit=120,
                    labelOverlap=False,
                    labelFlush=False,
                ),
            ),
            y=alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(domain=list(domain)) if domain else alt.Undefined),
            color=color,
            tooltip=[f"{x}:N", alt.Tooltip(f"{y}:Q", format=".3f")],
        )
        .properties(height=CHART_HEIGHT - 40)
    )
    return _style(chart)


@shared_chart
def vectors_chart(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Points in 2-D with a label each: columns x, y, label, kind ("zᵢ", "q", "z = Σ αᵢ zᵢ"), size."""
    kinds = list(dict.fromkeys(frame["kind"]))
    # Labels are written to the right of their points: the x axis runs a quarter further right than
    # the rightmost point, so the rightmost word is not cut at the chart's edge.
    low, high = float(frame["x"].min()), float(frame["x"].max())
    span = (high - low) or 1.0
    base = alt.Chart(frame).encode(
        x=alt.X("x:Q", title="principal component 1", scale=alt.Scale(domain=[low - 0.08 * span, high + 0.25 * span])),
        y=alt.Y("y:Q", title="principal component 2", scale=alt.Scale(zero=False)),
    )
    points = base.mark_circle(opacity=0.85).encode(
        # One legend entry a line: side by side, the three entries ran past a narrow column's edge.
        color=alt.Color(
            "kind:N",
            title=None,
            scale=alt.Scale(domain=kinds, range=[PALETTE[6], PALETTE[0], PALETTE[4]]),
            legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=400),
        ),
        size=alt.Size("size:Q", legend=None, scale=alt.Scale(range=[40, 600])),
        tooltip=["label:N", "kind:N", alt.Tooltip("size:Q", title="α (for zᵢ)", format=".3f")],
    )
    labels = base.mark_text(dx=9, dy=-9, align="left", fontSize=12).encode(text="label:N")
    return _style(alt.layer(points, labels).properties(height=CHART_HEIGHT + 40))


@shared_chart
def attention_grid(frame: pd.DataFrame, *, cell: int = 11) -> alt.TopLevelMixin:
    """Small attention maps, one per layer (rows) and head (columns): `attention_heatmap`'s frame
    with columns layer and head added; the words are left to the tooltips."""
    english = list(frame.sort_values("english_position")["english"].drop_duplicates())
    french = list(frame.sort_values("french_position")["french"].drop_duplicates())
    chart = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("english:N", sort=english, title=None, axis=None),
            y=alt.Y("french:N", sort=french, title=None, axis=None),
            color=alt.Color("weight:Q", title="α", scale=alt.Scale(domain=[0, 1], scheme="blues")),
            tooltip=["layer:N", "head:N", "french:N", "english:N", alt.Tooltip("weight:Q", format=".3f", title="α")],
        )
        .properties(width=alt.Step(cell), height=alt.Step(cell))
        .facet(row=alt.Row("layer:N", title=None), column=alt.Column("head:N", title=None))
    )
    return _style(chart).configure_header(labelFontSize=12)


@shared_chart
def matrix_heatmap(
    matrix,
    rows: list[str],
    *,
    title: str,
    cell: int = 14,
    diverging: bool = True,
    columns: list[str] | None = None,
    numbered: bool = True,
    cell_width: int | None = None,
) -> alt.TopLevelMixin:
    """A small matrix (rows = words, numbered so that a repeated word stays two rows) as coloured
    cells, for the Q, K, V walkthrough; −∞ (masked) cells are grey. Cells are `cell` pixels high and
    `cell_width` (default `cell`) wide; column labels that would overlap are thinned out."""
    import numpy as np

    values = np.asarray(matrix, dtype=float)
    columns = columns or [str(index) for index in range(values.shape[1])]
    rows = [f"{r + 1} {word}" for r, word in enumerate(rows)] if numbered else list(rows)
    frame = pd.DataFrame(
        [
            {"row": rows[r], "column": columns[c], "value": values[r, c], "masked": not np.isfinite(values[r, c])}
            for r in range(values.shape[0])
            for c in range(values.shape[1])
        ]
    )
    # Masked cells take the grey of the condition below; a null there would drop them from the chart.
    frame["shown"] = frame["value"].where(~frame["masked"], 0.0)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size else 1.0
    scale = (
        alt.Scale(scheme="redblue", domain=[-limit, limit], reverse=True)
        if diverging
        else alt.Scale(scheme="blues", domain=[0, max(limit, 1e-9)])
    )
    base = alt.Chart(frame).encode(
        x=alt.X(
            "column:N",
            sort=columns,
            title=None,
            # Upright labels need only a line's height each; slanted ones ran into each other in 14-pixel cells.
            axis=alt.Axis(
                labels=len(columns) <= 40,
                labelAngle=-90 if (cell_width or cell) < 20 else -50,
                labelOverlap=(cell_width or cell) < 12,
            ),
        ),
        # Streamlit's theme sets labelFlush, which pushes the first row's label onto the second's.
        y=alt.Y("row:N", sort=rows, title=None, axis=alt.Axis(labelOverlap=len(rows) > 30, labelFlush=False)),
    )
    cells = base.mark_rect().encode(
        color=alt.condition("datum.masked", alt.value("#bbbbbb"), alt.Color("shown:Q", title=None, scale=scale)),
        tooltip=["row:N", "column:N", alt.Tooltip("value:Q", format=".3f")],
    )
    return _style(cells.properties(width=alt.Step(cell_width or cell), height=alt.Step(cell), title=title))


# --- A workshop room's board (app_pages/board.py) -----------------------------------------------------


def room_curves_chart(frame: pd.DataFrame, metrics: list[str], labels: list[str] | None = None) -> alt.TopLevelMixin:
    """Every participant's runs of one page overlaid, one panel per metric: coloured by the runs' setting
    label (two people who trained the same settings share a colour), one line per run.

    `frame` is long-form with columns run_id, label, metric, split ("train" or "validation"), epoch, value.
    """
    labels = list(dict.fromkeys(frame["label"])) if labels is None else labels
    colour = alt.Color("label:N", title="Setting", scale=alt.Scale(domain=labels, range=PALETTE))
    dash = alt.StrokeDash(
        "split:N", title="Split", scale=alt.Scale(domain=["train", "validation"], range=[[1, 0], [6, 4]])
    )
    panels = []
    for metric in metrics:
        panels.append(
            alt.Chart()
            .mark_line(strokeWidth=2, opacity=0.75)
            .encode(
                x=alt.X("epoch:Q", title="Epoch", scale=alt.Scale(nice=False)),
                y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                color=colour,
                strokeDash=dash,
                detail="line:N",
                tooltip=["label:N", "split:N", alt.Tooltip("epoch:Q"), alt.Tooltip("value:Q", format=".4f")],
            )
            .transform_calculate(line=alt.datum.run_id + "/" + alt.datum.split)
            .transform_filter(alt.datum.metric == metric)
            .properties(
                width=320 if len(metrics) < 3 else 250,
                height=CHART_HEIGHT,
                title=alt.TitleParams(METRIC_TITLES.get(metric, metric), fontSize=13, fontWeight="normal"),
            )
        )
    chart = alt.hconcat(*panels, data=frame) if len(metrics) <= 3 else alt.concat(*panels, columns=2, data=frame)
    return _style(chart.resolve_scale(x="shared", y="independent"))


ROOM_POINTS_PER_CURVE = 60


def draw_room_curves(area, frame: pd.DataFrame, metrics: list[str]) -> None:
    """Draw `room_curves_chart` into `area` every few seconds for a room of thirty: the specification
    depends only on the metrics and the labels, so it is built once for them, and the rows (each curve
    thinned to ROOM_POINTS_PER_CURVE points) go to the browser as Arrow, not as inline JSON."""
    frame = frame[frame["metric"].isin(metrics)]
    position = frame.groupby(["run_id", "metric", "split"]).cumcount()
    length = frame.groupby(["run_id", "metric", "split"])["epoch"].transform("size")
    stride = np.ceil(length / ROOM_POINTS_PER_CURVE).astype(int)
    frame = frame[(position % stride == 0) | (position == length - 1)]
    labels = tuple(dict.fromkeys(frame["label"]))
    area.vega_lite_chart(frame, json.loads(_room_curves_spec(tuple(metrics), labels)), width="content")


@functools.lru_cache(maxsize=64)
def _room_curves_spec(metrics: tuple[str, ...], labels: tuple[str, ...]) -> str:
    empty = pd.DataFrame(columns=["run_id", "label", "metric", "split", "epoch", "value"])
    spec = room_curves_chart(empty, list(metrics), list(labels)).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


def room_scatter_chart(
    frame: pd.DataFrame,
    x: str,
    y: str,
    series: str | None,
    *,
    x_numeric: bool,
    x_title: str,
    y_title: str,
    series_title: str | None = None,
    series_order: list[str] | None = None,
) -> alt.TopLevelMixin:
    """One point per published run: a setting that varies across the room against what the run measured,
    coloured by another setting when one varies too (the model, say). `series_order` gives the colours'
    order when it must match another chart's (the room's curves, which also hold runs still training)."""
    encoding = {
        "x": alt.X(
            f"{x}:{'Q' if x_numeric else 'N'}",
            title=x_title,
            scale=alt.Scale(zero=False) if x_numeric else alt.Undefined,
        ),
        "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False)),
        "tooltip": [f"{x}:{'Q' if x_numeric else 'N'}", alt.Tooltip(f"{y}:Q", format=".4f"), "label:N"],
    }
    if series is not None:
        names = list(dict.fromkeys([*(series_order or []), *frame[series]]))
        encoding["color"] = alt.Color(
            f"{series}:N", title=series_title or series, scale=alt.Scale(domain=names, range=PALETTE)
        )
    chart = (
        alt.Chart(frame)
        .mark_point(filled=True, size=90, opacity=0.8, color=PALETTE[0] if series is None else alt.Undefined)
        .encode(**encoding)
        .properties(height=CHART_HEIGHT)
    )
    return _style(chart)


# --- Saving a chart as SVG or PNG ----------------------------------------------------------------------

# Streamlit 1.67 draws every chart through Vega-Embed with its actions menu turned off (`actions: false`,
# fixed in its frontend; of a specification's `usermeta.embedOptions` it keeps only the theme, the renderer
# and the padding), and its own toolbar offers a PNG only. So each chart drawn at rest gets a small "Save"
# menu of its own: an SVG and a PNG made from the very specification drawn, by vl-convert (Vega and
# Vega-Lite compiled into one library: no browser, no network). Nothing is rendered until a button is
# clicked: Streamlit calls the button's `data` then, in its own thread, and the click does not rerun the page.
SAVE_WIDTH = 720  # a chart drawn to the page's width ("container") is saved this wide
SAVE_PNG_SCALE = 2  # PNG pixels per chart pixel: sharp on a slide
SAVE_FORMATS = {"svg": ("SVG", "image/svg+xml"), "png": ("PNG", "image/png")}
SAVE_KEY_PREFIX = "save_chart::"  # the keys of the menus' buttons begin so


def chart_name(spec: dict) -> str:
    """A file name for a chart: its title, else its axes' titles ("loss-by-epoch"), in lower case with dashes."""

    def text(title) -> str:
        if isinstance(title, dict):
            title = title.get("text")
        if isinstance(title, list):
            title = " ".join(str(part) for part in title)
        return title if isinstance(title, str) else ""

    def walk(node) -> str:
        if isinstance(node, list):
            return next((found for found in map(walk, node) if found), "")
        if not isinstance(node, dict):
            return ""
        if text(node.get("title")):
            return text(node["title"])
        encoding = node.get("encoding")
        if isinstance(encoding, dict):
            axes = [
                text(encoding.get(axis, {}).get("title")) for axis in ("y", "x") if isinstance(encoding.get(axis), dict)
            ]
            if any(axes):
                return " by ".join(axis for axis in axes if axis)
        for part in ("layer", "hconcat", "vconcat", "concat", "spec"):
            found = walk(node.get(part))
            if found:
                return found
        return ""

    name = "".join(c if c.isascii() and c.isalnum() else "-" for c in walk(spec).lower()).strip("-")
    return "-".join(filter(None, name.split("-")))[:60] or "chart"


def chart_image(spec: dict, kind: str, *, rows: pd.DataFrame | None = None, height: int | None = None) -> bytes:
    """The chart as an SVG (UTF-8) or a PNG, rendered from its Vega-Lite specification without a browser.

    `rows` are the chart's data when the page sends them apart from the specification (the live curves);
    a chart drawn to the page's width is made SAVE_WIDTH wide, and `height` is the one the page gave it."""
    import vl_convert  # 3 ms to import; its first render starts Vega's engine (about 2 s), so only on a click

    spec = dict(spec)
    if rows is not None:
        spec["data"] = {"values": json.loads(rows.to_json(orient="records", date_format="iso"))}
    if spec.get("width") == "container":
        spec["width"] = SAVE_WIDTH
    if height is not None and not any(part in spec for part in ("hconcat", "vconcat", "concat", "facet")):
        spec["height"] = height
    version = _vega_lite_version()
    if kind == "svg":
        return vl_convert.vegalite_to_svg(spec, vl_version=version).encode()
    if kind == "png":
        return vl_convert.vegalite_to_png(spec, vl_version=version, scale=SAVE_PNG_SCALE)
    raise ValueError(f"no chart format {kind!r}: {', '.join(SAVE_FORMATS)}")


@functools.cache
def _vega_lite_version() -> str | None:
    """Altair's Vega-Lite ("6.4") when vl-convert has it, else vl-convert's own default."""
    import vl_convert

    wanted = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return wanted if wanted in vl_convert.get_vegalite_versions() else None


def save_menu(
    area, spec: dict, *, rows: pd.DataFrame | None = None, height: int | None = None, name: str | None = None
) -> None:
    """A "Save" menu under a chart: its SVG and its PNG, each made only when its button is clicked.

    The buttons' keys name the chart and count up past any the page has drawn already in this run (the
    same chart twice, or a chart drawn again after a training), so a page need not name its charts; `name`
    (a file name without its extension) replaces the one read off the chart."""
    from streamlit.errors import StreamlitDuplicateElementKey

    name = name or chart_name(spec)
    menu = area.popover("Save", icon=":material/download:", type="tertiary", help="Save this chart as SVG or PNG.")
    for copy in range(1000):
        try:
            for kind, (label, mime) in SAVE_FORMATS.items():
                menu.download_button(
                    label,
                    data=functools.partial(chart_image, spec, kind, rows=rows, height=height),
                    file_name=f"{name}.{kind}",
                    mime=mime,
                    on_click="ignore",
                    key=f"{SAVE_KEY_PREFIX}{name}::{copy}::{kind}",
                    icon=":material/image:",
                )
            return
        except StreamlitDuplicateElementKey:
            continue
