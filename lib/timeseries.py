"""Data and models for the Recurrence page: forecast a series h steps ahead from its last T values.

The page asks whether sharing weights across time (a recurrent network) beats a window MLP and a
classical autoregressive (Markov) model on hourly temperatures. This module holds everything
that question needs apart from the drawing and the training loop:

- the data: Seattle's hourly temperatures (shipped in ``data/``) and a validator for a series that a
  user uploads as CSV. The Seattle file holds NOAA's hourly climate *normals* (30-year averages for
  each hour of the year, stamped 2010), not one year's observations: the curve is smooth, so linear
  models and persistence are very strong on it, and an uploaded real series is the harder test;
- a split in time order and sliding windows that never straddle two parts of the split, so that no
  target of the test part is ever seen while training;
- a normaliser fitted on the training part only;
- the baselines that any model must beat: naive persistence (the last observed value), seasonal
  persistence (the value one period, 24 hours, before the target) and a linear autoregressive model
  solved in closed form;
- small Keras builders for a window MLP, a recurrent forecaster (SimpleRNN, LSTM or GRU, stacked,
  optionally bidirectional) and a linear autoregressive model trained by gradient descent.

Keras is imported inside the builders only, so that importing this module stays cheap: the home page
and the unit tests of the data functions must not pay for TensorFlow's import.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Sequence

import numpy as np
import pandas as pd

from lib.text_files import decode_text_upload

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the builders import it.
    import keras

DATA_DIRECTORY = Path(__file__).parent.parent / "data"
SEATTLE_TEMPERATURES_FILE = DATA_DIRECTORY / "seattle-temps.csv"
SEATTLE_WEATHER_FILE = DATA_DIRECTORY / "seattle-weather.csv"

# A day of hourly readings: the period of the "same hour yesterday" baseline.
HOURS_PER_DAY = 24

# Runs of at most this many missing values are filled by linear interpolation; a longer hole is
# reported to the user, because inventing hours of data would make the models look better or worse
# than they are.
MAX_INTERPOLATED_GAP = 6

RecurrentCellName = Literal["SimpleRNN", "LSTM", "GRU"]
RECURRENT_CELL_NAMES: tuple[str, ...] = ("SimpleRNN", "LSTM", "GRU")


# --------------------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------------------


def fahrenheit_to_celsius(fahrenheit):
    """Convert degrees Fahrenheit to degrees Celsius (works on numbers and arrays)."""
    return (np.asarray(fahrenheit, dtype=np.float64) - 32.0) * 5.0 / 9.0


def celsius_to_fahrenheit(celsius):
    """Convert degrees Celsius to degrees Fahrenheit (works on numbers and arrays)."""
    return np.asarray(celsius, dtype=np.float64) * 9.0 / 5.0 + 32.0


# --------------------------------------------------------------------------------------------------
# Loading the shipped data set and validating uploads
# --------------------------------------------------------------------------------------------------


class SeriesUploadError(ValueError):
    """An uploaded series cannot be used; the message is a sentence meant for the user."""


def load_seattle_temperatures() -> pd.DataFrame:
    """Return Seattle's hourly temperatures as columns ``time`` (datetime64) and ``value`` (°C).

    According to vega-datasets' SOURCES.md these are NOAA's hourly normals for Seattle-Tacoma airport
    (station USW00024233): each value is a 30-year average for that hour of the year, stamped with
    the dates of 2010. The day-to-day change of the daily mean never exceeds 0.26 °C, whereas the observed
    daily maxima of 2012-2015 (vega-datasets' seattle-weather.csv) move by 2.2 °C a day on average:
    expect small errors from every model.

    The file has 8,759 readings: the hour 2010-03-14 03:00 is missing (the night the clocks went
    forward). We put that hour back on the hourly grid and interpolate it, giving 8,760 rows, because
    the windowing functions count steps by position: without it, "24 steps before" would be 25 hours
    before for the windows that span that night. ``DataFrame.attrs["notes"]`` says what was done.
    """
    raw = pd.read_csv(SEATTLE_TEMPERATURES_FILE)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["date"], format="%Y/%m/%d %H:%M"),
            "value": fahrenheit_to_celsius(raw["temp"].to_numpy()),
        }
    )
    return _shipped_series_in_celsius(frame)


def load_seattle_daily_maximum() -> pd.DataFrame:
    """Return Seattle's observed daily maximum temperature, 2012-2015, as ``time`` and ``value`` (°C).

    Unlike the hourly normals, these are one station's real observations (NOAA, via vega-datasets'
    seattle-weather.csv, 1,461 days): the weather moves by about 2 °C a day and is much harder to
    forecast, which makes it the honest test of the notes' claim that recurrence helps.
    """
    raw = pd.read_csv(SEATTLE_WEATHER_FILE)
    frame = pd.DataFrame(
        {
            "time": pd.to_datetime(raw["date"], format="%Y/%m/%d"),
            "value": raw["temp_max"].astype(np.float64).to_numpy(),
        }
    )
    return _shipped_series_in_celsius(frame)


def _shipped_series_in_celsius(frame: pd.DataFrame) -> pd.DataFrame:
    """Put a shipped series on its regular grid, fill its short gaps, and say what was done."""
    notes: list[str] = []
    frame = _put_on_regular_grid(frame, max_rows=len(frame) * 2, notes=notes)
    frame = _fill_short_gaps(frame, notes=notes)
    frame.attrs["notes"] = notes
    frame.attrs["units"] = "°C"
    return frame


def parse_uploaded_series(
    raw_bytes: bytes,
    max_bytes: int = 5_000_000,
    min_rows: int = 500,
    max_rows: int = 200_000,
) -> pd.DataFrame:
    """Validate a user's CSV and return it as columns ``time`` and ``value``, like the loader.

    The time column is the first column whose entries parse as dates; the value column is the first
    other column that holds numbers. Rows are sorted by time, repeated timestamps keep their first
    row, a series with a regular clock is put on its grid, and holes of at most
    ``MAX_INTERPOLATED_GAP`` missing values are interpolated. Missing values at either end are
    trimmed. ``DataFrame.attrs["notes"]`` lists, in sentences, every change made to the user's data,
    so that the page can show them. The units are the user's.

    Raises ``SeriesUploadError`` with a sentence for the user whenever the file cannot be used.
    """
    text = decode_text_upload(raw_bytes, max_bytes=max_bytes, error_type=SeriesUploadError, kind="a CSV file",
                              needs="a column of dates and a column of numbers", fewer="a shorter series")
    table = _read_csv_text(text)
    if len(table) > max_rows:
        raise SeriesUploadError(
            f"The file has {len(table):,} rows, more than the {max_rows:,} allowed: please upload a shorter series."
        )
    if table.shape[1] < 2:
        raise SeriesUploadError(
            "The file has only one column: it needs a column of dates and a column of numbers, "
            "separated by commas or semicolons."
        )

    time_column = _find_time_column(table)
    value_column = _find_value_column(table, exclude=time_column)
    notes: list[str] = [f"Used column '{time_column}' as time and column '{value_column}' as value."]

    times = _parse_times(table[time_column], time_column)
    values = _coerce_numbers(table[value_column]).astype(np.float64)
    non_finite = ~np.isfinite(values)
    if non_finite.all():
        raise SeriesUploadError(f"Column '{value_column}' has no numbers at all, only empty or invalid cells.")

    frame = pd.DataFrame({"time": times.to_numpy(), "value": values.to_numpy()})
    frame.loc[non_finite.to_numpy(), "value"] = np.nan
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    duplicated = frame["time"].duplicated(keep="first")
    if duplicated.any():
        notes.append(f"Dropped {int(duplicated.sum()):,} rows whose timestamp was repeated (kept the first of each).")
        frame = frame.loc[~duplicated].reset_index(drop=True)

    frame = _put_on_regular_grid(frame, max_rows=max_rows, notes=notes)
    frame = _fill_short_gaps(frame, notes=notes)

    if len(frame) < min_rows:
        raise SeriesUploadError(
            f"The series has {len(frame):,} usable rows, fewer than the {min_rows:,} needed "
            "to train a model and still keep validation and test parts."
        )
    if len(frame) > max_rows:
        raise SeriesUploadError(
            f"The series has {len(frame):,} rows, more than the {max_rows:,} allowed: please upload a shorter series."
        )
    if float(frame["value"].std()) == 0.0:
        raise SeriesUploadError(f"Column '{value_column}' has the same value in every row: there is nothing to forecast.")
    frame.attrs["notes"] = notes
    frame.attrs["units"] = str(value_column)
    return frame


def _read_csv_text(text: str) -> pd.DataFrame:
    """Parse CSV text; if commas give one column, look for another separator (';', tab or '|').

    Spreadsheets in many European locales write semicolons, because the comma is their decimal mark.
    Spaces are not tried: they would split an ordinary header such as "mean temperature".
    """
    try:
        table = pd.read_csv(io.StringIO(text))
        if table.shape[1] < 2:
            try:
                dialect = csv.Sniffer().sniff(text[:20_000], delimiters=";\t|")
            except csv.Error:
                dialect = None
            if dialect is not None:
                table = pd.read_csv(io.StringIO(text), sep=dialect.delimiter)
                if dialect.delimiter == ";":
                    # Such files usually write decimals with a comma ("12,5"): a column that is only
                    # numeric when read that way is taken from the second reading.
                    comma_decimals = pd.read_csv(io.StringIO(text), sep=";", decimal=",")
                    for name in table.columns:
                        if not pd.api.types.is_numeric_dtype(table[name]) and pd.api.types.is_numeric_dtype(
                            comma_decimals[name]
                        ):
                            table[name] = comma_decimals[name]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SeriesUploadError(f"The file could not be read as CSV ({first_line}).") from None
    if table.empty:
        raise SeriesUploadError("The file has a header but no data rows.")
    return table


def _number_like_fraction(column: pd.Series) -> float:
    """Share of the non-empty cells that are numbers; 1.0 for a numeric column."""
    if pd.api.types.is_bool_dtype(column):
        return 0.0
    if pd.api.types.is_numeric_dtype(column):
        return 1.0
    present = column.dropna()
    if present.empty:
        return 0.0
    return float(pd.to_numeric(present, errors="coerce").notna().mean())


def _parse_dates_leniently(column: pd.Series) -> pd.Series:
    """Parse text as UTC timestamps, NaT where a cell is not a date, without pandas' format warnings."""
    with warnings.catch_warnings():
        # Pandas warns when it cannot infer one format and falls back to parsing each cell; that is
        # what we want for odd files, so the warning would only be noise in the server log.
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(column, errors="coerce", utc=True)
        if parsed.isna().any() and column.notna().any():
            # The format was inferred from the first row; a file that mixes formats needs "mixed".
            mixed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
            if mixed.notna().sum() > parsed.notna().sum():
                parsed = mixed
    return parsed


def _find_time_column(table: pd.DataFrame) -> str:
    """Return the first column, not made of numbers, whose cells mostly parse as dates."""
    for name in table.columns:
        column = table[name]
        # Numbers are never taken as dates: "12" would otherwise become the 12th of this month.
        if _number_like_fraction(column) >= 0.8:
            continue
        sample = column.dropna().astype(str).head(200)
        if sample.empty:
            continue
        if _parse_dates_leniently(sample).notna().mean() >= 0.8:
            return str(name)
    raise SeriesUploadError(
        "No column of dates was found: the file needs a column of timestamps such as 2010-01-31 13:00."
    )


def _find_value_column(table: pd.DataFrame, exclude: str) -> str:
    """Return the first column other than the time column whose cells are mostly numbers."""
    for name in table.columns:
        if str(name) == exclude:
            continue
        if _number_like_fraction(table[name]) >= 0.8:
            return str(name)
    raise SeriesUploadError(
        "No column of numbers was found: the file needs a column of values next to the dates."
    )


def _parse_times(column: pd.Series, name: str) -> pd.Series:
    """Parse the whole time column, naming the first bad row if any cell is not a date."""
    parsed = _parse_dates_leniently(column.astype("string"))
    bad = parsed.isna().to_numpy()
    if bad.any():
        first_bad = int(np.flatnonzero(bad)[0])
        shown = column.iloc[first_bad]
        shown = "an empty cell" if pd.isna(shown) else f"'{shown}'"
        raise SeriesUploadError(
            f"Column '{name}' has {int(bad.sum()):,} {'cell that is' if bad.sum() == 1 else 'cells that are'} "
            f"not a date; the first is {shown} "
            f"in data row {first_bad + 1}."
        )
    # Everything was converted to UTC so that mixed offsets compare; the models need no time zone.
    return parsed.dt.tz_convert(None)


def _coerce_numbers(column: pd.Series) -> pd.Series:
    """Return the column as floats, with NaN for cells that are not numbers (e.g. 'M' for missing)."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(np.float64)
    return pd.to_numeric(column, errors="coerce").astype(np.float64)


def _put_on_regular_grid(frame: pd.DataFrame, max_rows: int, notes: list[str]) -> pd.DataFrame:
    """Insert the missing timestamps of a regular clock as NaN rows, so that one step is one period.

    The step is the most common interval. If some intervals are not whole multiples of it, the clock
    is irregular: the rows are kept as they are and a note says that the models will treat them as
    equally spaced, because there is no honest grid to put them on.
    """
    if len(frame) < 3:
        return frame
    intervals = frame["time"].diff().iloc[1:]
    step = intervals.mode().iloc[0]
    if step <= pd.Timedelta(0):
        return frame
    multiples = intervals / step
    if not np.allclose(multiples, np.round(multiples)):
        notes.append(
            f"The timestamps are not evenly spaced (most are {step} apart): "
            "the models treat consecutive rows as equally spaced."
        )
        return frame
    grid_length = int(round((frame["time"].iloc[-1] - frame["time"].iloc[0]) / step)) + 1
    if grid_length == len(frame):
        return frame
    if grid_length > max_rows:
        raise SeriesUploadError(
            f"With one row every {step}, the series from {frame['time'].iloc[0]} to {frame['time'].iloc[-1]} "
            f"would need {grid_length:,} rows, more than the {max_rows:,} allowed: it has a very long hole."
        )
    grid = pd.date_range(frame["time"].iloc[0], periods=grid_length, freq=step)
    regular = frame.set_index("time").reindex(grid).rename_axis("time").reset_index()
    notes.append(f"Added {grid_length - len(frame):,} missing timestamps to keep one row every {step}.")
    return regular


def _fill_short_gaps(frame: pd.DataFrame, notes: list[str], max_gap: int = MAX_INTERPOLATED_GAP) -> pd.DataFrame:
    """Trim missing values at both ends and interpolate inner holes of at most ``max_gap`` rows.

    A longer hole raises ``SeriesUploadError``: filling it with a straight line would invent data.
    """
    missing = frame["value"].isna().to_numpy()
    if not missing.any():
        return frame
    present = np.flatnonzero(~missing)
    first, last = int(present[0]), int(present[-1])
    if first > 0 or last < len(frame) - 1:
        notes.append(f"Trimmed {first + len(frame) - 1 - last:,} rows without a value at the start or end.")
        frame = frame.iloc[first : last + 1].reset_index(drop=True)
        missing = missing[first : last + 1]
    if not missing.any():
        return frame
    run_starts, run_lengths = _runs_of_true(missing)
    longest = int(np.argmax(run_lengths))
    if run_lengths[longest] > max_gap:
        raise SeriesUploadError(
            f"The series has a hole of {int(run_lengths[longest]):,} missing values starting at "
            f"{frame['time'].iloc[run_starts[longest]]}; at most {max_gap} in a row are filled in. "
            "Please upload a stretch without long holes."
        )
    frame = frame.copy()
    frame["value"] = frame["value"].interpolate(method="linear", limit_area="inside")
    notes.append(f"Interpolated {int(missing.sum()):,} missing values in {len(run_starts):,} short holes.")
    return frame


def _runs_of_true(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the start index and length of each run of True values in a boolean array."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    changes = np.diff(padded)
    starts = np.flatnonzero(changes == 1)
    ends = np.flatnonzero(changes == -1)
    return starts, ends - starts


# --------------------------------------------------------------------------------------------------
# Splitting in time, windowing and normalising
# --------------------------------------------------------------------------------------------------


def split_by_time(n: int, train_fraction: float = 0.7, validation_fraction: float = 0.15) -> tuple[slice, slice, slice]:
    """Split ``range(n)`` into training, validation and test slices, in time order, without shuffling.

    A forecaster is judged on the future: shuffling would let it learn from hours that come after the
    hours it is tested on.
    """
    if not (0 < train_fraction < 1 and 0 <= validation_fraction < 1 and train_fraction + validation_fraction < 1):
        raise ValueError("Fractions must be positive and leave room for a test part (train + validation < 1).")
    train_stop = int(round(n * train_fraction))
    validation_stop = int(round(n * (train_fraction + validation_fraction)))
    return slice(0, train_stop), slice(train_stop, validation_stop), slice(validation_stop, n)


def window_count(history: int, horizon: int, start: int, stop: int) -> int:
    """Number of windows whose inputs and target all lie in ``[start, stop)``."""
    return max(0, stop - start - history - horizon + 1)


def window_target_indices(history: int, horizon: int, start: int, stop: int) -> np.ndarray:
    """Index of the target of each window of ``make_windows`` (for plotting predictions against time)."""
    count = window_count(history, horizon, start, stop)
    return np.arange(count) + start + history - 1 + horizon


def make_windows(
    values: np.ndarray, history: int, horizon: int, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``values[start:stop]`` into inputs of ``history`` steps and the value ``horizon`` steps after each.

    Window ``k`` reads indices ``start + k`` to ``start + k + history - 1`` and its target is index
    ``start + k + history - 1 + horizon``. Every index of every window, inputs and target, lies in
    ``[start, stop)``: calling this once per part of ``split_by_time`` guarantees that no window
    straddles two parts, so no test value is ever an input or a target while training.

    Returns ``x`` of shape ``(N, history, 1)`` and ``y`` of shape ``(N,)``, both float32 (the shape
    Keras recurrent layers expect: batch, time steps, features). The windows are copies, so they can
    be handed to Keras safely.
    """
    if history < 1 or horizon < 1:
        raise ValueError("history and horizon must both be at least 1.")
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if not 0 <= start <= stop <= len(values):
        raise ValueError(f"Need 0 <= start <= stop <= {len(values)}, got start={start}, stop={stop}.")
    count = window_count(history, horizon, start, stop)
    if count == 0:
        return np.empty((0, history, 1), dtype=np.float32), np.empty((0,), dtype=np.float32)
    part = values[start:stop]
    # sliding_window_view gives a read-only view without copying; we keep the first `count` windows
    # (the later ones have no target inside the part) and copy them into one contiguous array.
    inputs = np.lib.stride_tricks.sliding_window_view(part, history)[:count]
    targets = part[history - 1 + horizon : history - 1 + horizon + count]
    return np.ascontiguousarray(inputs[:, :, np.newaxis]), targets.copy()


@dataclass(frozen=True)
class Normalizer:
    """Standardise values with the mean and standard deviation of the training part only.

    Statistics taken over the whole series would leak the level of the test months into training.
    """

    mean: float
    std: float

    @classmethod
    def fit(cls, training_values) -> "Normalizer":
        """Fit on the training values; a constant series gets std 1 so that transform stays finite."""
        training_values = np.asarray(training_values, dtype=np.float64)
        std = float(training_values.std())
        return cls(mean=float(training_values.mean()), std=std if std > 0 else 1.0)

    def transform(self, values) -> np.ndarray:
        """Return ``(values - mean) / std`` as float32."""
        return ((np.asarray(values, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, normalised_values) -> np.ndarray:
        """Return ``normalised_values * std + mean`` in the original units, as float64."""
        return np.asarray(normalised_values, dtype=np.float64) * self.std + self.mean


@dataclass
class ForecastingData:
    """Everything a forecasting run needs: normalised windows of the three parts and how to undo it."""

    history: int
    horizon: int
    normalizer: Normalizer
    x_train: np.ndarray
    y_train: np.ndarray
    x_validation: np.ndarray
    y_validation: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    train_slice: slice
    validation_slice: slice
    test_slice: slice
    validation_target_indices: np.ndarray = field(repr=False)
    test_target_indices: np.ndarray = field(repr=False)


def prepare_forecasting_data(
    values,
    history: int,
    horizon: int,
    train_fraction: float = 0.7,
    validation_fraction: float = 0.15,
) -> ForecastingData:
    """Split ``values`` in time, fit the normaliser on the training part and window each part separately."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    train_slice, validation_slice, test_slice = split_by_time(len(values), train_fraction, validation_fraction)
    normalizer = Normalizer.fit(values[train_slice])
    normalised = normalizer.transform(values)
    parts = {}
    for name, part in (("train", train_slice), ("validation", validation_slice), ("test", test_slice)):
        x, y = make_windows(normalised, history, horizon, part.start, part.stop)
        if len(y) == 0:
            raise ValueError(
                f"The {name} part ({part.stop - part.start} steps) is too short for a history of {history} "
                f"and a horizon of {horizon}: shorten them or use a longer series."
            )
        parts[name] = (x, y)
    return ForecastingData(
        history=history,
        horizon=horizon,
        normalizer=normalizer,
        x_train=parts["train"][0],
        y_train=parts["train"][1],
        x_validation=parts["validation"][0],
        y_validation=parts["validation"][1],
        x_test=parts["test"][0],
        y_test=parts["test"][1],
        train_slice=train_slice,
        validation_slice=validation_slice,
        test_slice=test_slice,
        validation_target_indices=window_target_indices(history, horizon, validation_slice.start, validation_slice.stop),
        test_target_indices=window_target_indices(history, horizon, test_slice.start, test_slice.stop),
    )


# --------------------------------------------------------------------------------------------------
# Baselines: persistence and the closed-form autoregressive model
# --------------------------------------------------------------------------------------------------


def naive_persistence_forecast(x_windows: np.ndarray) -> np.ndarray:
    """Predict that the target equals the last observed value of its window ("nothing changes").

    It needs no training and is hard to beat at short horizons, so every model is compared with it.
    """
    return np.asarray(x_windows, dtype=np.float32)[:, -1, 0].copy()


def seasonal_lag(horizon: int, period: int = HOURS_PER_DAY) -> int:
    """Steps between the target and the latest same-phase value that precedes the window's end.

    For ``horizon <= period`` this is one period ("same hour yesterday"); for a longer horizon it is
    the smallest whole number of periods that reaches back before the last observed step.
    """
    return int(math.ceil(horizon / period)) * period


def seasonal_persistence_available(history: int, horizon: int, period: int = HOURS_PER_DAY) -> bool:
    """Whether a window of ``history`` steps contains the value ``seasonal_lag`` steps before the target."""
    return seasonal_lag(horizon, period) - horizon <= history - 1


def seasonal_persistence_forecast(x_windows: np.ndarray, horizon: int, period: int = HOURS_PER_DAY) -> np.ndarray:
    """Predict that the target equals the value one period before it ("same hour yesterday").

    The target sits ``horizon`` steps after the window's last value, so the value ``lag`` steps before
    the target is at position ``history - 1 - (lag - horizon)`` of the window. We only read the
    window, never the series, so the baseline sees exactly what the models see; if the window is too
    short to contain that value (``history < lag - horizon + 1``) we raise rather than peek outside.
    """
    x_windows = np.asarray(x_windows, dtype=np.float32)
    history = x_windows.shape[1]
    lag = seasonal_lag(horizon, period)
    if not seasonal_persistence_available(history, horizon, period):
        raise ValueError(
            f"A history of {history} steps does not reach the value {lag} steps before a target "
            f"{horizon} steps ahead: it needs at least {lag - horizon + 1} steps."
        )
    return x_windows[:, history - 1 - (lag - horizon), 0].copy()


def persistence_forecast(
    x_windows: np.ndarray,
    horizon: int,
    kind: Literal["last_value", "same_hour_yesterday"] = "last_value",
    period: int = HOURS_PER_DAY,
) -> np.ndarray:
    """Dispatch to the naive (``"last_value"``) or seasonal (``"same_hour_yesterday"``) persistence baseline."""
    if kind == "last_value":
        return naive_persistence_forecast(x_windows)
    if kind == "same_hour_yesterday":
        return seasonal_persistence_forecast(x_windows, horizon, period)
    raise ValueError(f"Unknown persistence kind {kind!r}; use 'last_value' or 'same_hour_yesterday'.")


@dataclass(frozen=True)
class AutoregressiveModel:
    """A linear autoregressive model: the prediction is a weighted sum of the window plus a bias.

    This is the notes' classical Markov model: the future depends on the last ``history`` values only,
    through one weight per lag, with no memory beyond the window.
    """

    weights: np.ndarray  # One weight per window position, oldest first, as in the windows.
    bias: float

    @property
    def history(self) -> int:
        return int(self.weights.shape[0])

    @property
    def parameter_count(self) -> int:
        """One weight per step of the window plus the bias, as a Keras Dense(1) layer would count."""
        return self.history + 1

    def predict(self, x_windows: np.ndarray) -> np.ndarray:
        """Predict the target of each window; returns shape ``(N,)`` float32."""
        flat = np.asarray(x_windows, dtype=np.float64).reshape(len(x_windows), -1)
        if flat.shape[1] != self.history:
            raise ValueError(f"The model reads windows of {self.history} steps, got {flat.shape[1]}.")
        return (flat @ self.weights + self.bias).astype(np.float32)


def fit_autoregressive(x_train: np.ndarray, y_train: np.ndarray, ridge: float = 1e-3) -> AutoregressiveModel:
    """Fit a linear autoregressive model by regularised least squares, in closed form.

    Solves ``(XᵀX + ridge·I) w = Xᵀy`` for the window weights and the bias, in float64. The small
    ridge keeps the system solvable when neighbouring hours are almost collinear (a long window of a
    smooth series); the bias is not penalised, so a series that is not centred is fitted too.
    """
    flat = np.asarray(x_train, dtype=np.float64).reshape(len(x_train), -1)
    targets = np.asarray(y_train, dtype=np.float64).reshape(-1)
    if len(flat) != len(targets) or len(flat) == 0:
        raise ValueError("Need as many targets as windows, and at least one window.")
    design = np.hstack([flat, np.ones((len(flat), 1))])
    penalty = np.full(design.shape[1], float(ridge))
    penalty[-1] = 0.0
    gram = design.T @ design + np.diag(penalty)
    solution = np.linalg.lstsq(gram, design.T @ targets, rcond=None)[0]
    return AutoregressiveModel(weights=solution[:-1], bias=float(solution[-1]))


# --------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------


def mean_absolute_error(y_true, y_pred) -> float:
    """Mean absolute difference, in the units of the inputs."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    return float(np.mean(np.abs(y_true - y_pred)))


def mean_absolute_error_celsius(y_true_normalised, y_pred_normalised, normalizer: Normalizer) -> float:
    """Mean absolute error of normalised targets and predictions, back in the series' units (°C for Seattle).

    Undoing the standardisation multiplies every error by the training std, which is what makes an
    error readable as "degrees". For an uploaded series the result is in the user's units.
    """
    return mean_absolute_error(
        normalizer.inverse_transform(y_true_normalised), normalizer.inverse_transform(y_pred_normalised)
    )


# --------------------------------------------------------------------------------------------------
# Keras builders
# --------------------------------------------------------------------------------------------------
# Every builder returns a model compiled with Adam, mean squared error as the loss and mean absolute
# error as a metric, so that the live-training engine can fit any of them the same way. Inputs are
# windows of shape (history, 1) and the output is one normalised value, so that the same windows feed
# every model. Weights are seeded through the initializers, never with a global seed, because the
# Streamlit process is shared by every user and a global seed would reset everybody's randomness.


def _seeded_initializers(seed: int, layer_index: int):
    """Fresh kernel, recurrent and output initializers for one layer, each with its own derived seed.

    Keras 3 returns the same values every time a seeded initializer instance is called, so every
    layer gets new instances with distinct seeds, or all layers would start from identical weights.
    """
    import keras

    base = int(seed) * 1009 + layer_index * 17
    return (
        keras.initializers.GlorotUniform(seed=base + 1),
        keras.initializers.Orthogonal(seed=base + 2),
    )


def _compile(model: "keras.Model", learning_rate: float) -> "keras.Model":
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="mean_squared_error",
        metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
    )
    return model


def _output_layer(seed: int, layer_index: int):
    """The final Dense(1) that turns features into one normalised forecast."""
    import keras

    kernel, _ = _seeded_initializers(seed, layer_index)
    return keras.layers.Dense(1, kernel_initializer=kernel, name="forecast")


def build_window_mlp(
    history: int, hidden_units: int | Sequence[int] = 32, seed: int = 0, learning_rate: float = 1e-3
) -> "keras.Model":
    """A feed-forward net on the flattened window: one weight per (time step, unit), nothing shared in time.

    ``hidden_units`` is the width of one hidden ReLU layer, or a sequence of widths for several.
    """
    import keras

    widths = [hidden_units] if isinstance(hidden_units, int) else list(hidden_units)
    inputs = keras.Input(shape=(history, 1), name="window")
    features = keras.layers.Flatten(name="flatten")(inputs)
    for index, width in enumerate(widths):
        kernel, _ = _seeded_initializers(seed, index)
        features = keras.layers.Dense(int(width), activation="relu", kernel_initializer=kernel, name=f"hidden_{index + 1}")(
            features
        )
    outputs = _output_layer(seed, len(widths))(features)
    return _compile(keras.Model(inputs, outputs, name="window_mlp"), learning_rate)


def _recurrent_layer(cell: str, units: int, return_sequences: bool, seed: int, layer_index: int, go_backwards: bool, name: str):
    """One SimpleRNN, LSTM or GRU layer with seeded input and recurrent weights."""
    import keras

    layer_class = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}[cell]
    kernel, recurrent = _seeded_initializers(seed, layer_index)
    return layer_class(
        units,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        kernel_initializer=kernel,
        recurrent_initializer=recurrent,
        name=name,
    )


def build_recurrent_forecaster(
    cell: RecurrentCellName,
    history: int,
    units: int = 32,
    stacked_layers: int = 1,
    bidirectional: bool = False,
    seed: int = 0,
    learning_rate: float = 1e-3,
) -> "keras.Model":
    """A recurrent net that reads the window step by step with the same weights at every step.

    ``stacked_layers`` (1 to 3) recurrent layers are stacked; all but the last return their whole
    sequence so that the next layer reads one vector per step. The last layer's final state feeds a
    Dense(1). ``bidirectional`` also reads the window backwards and concatenates both final states:
    this does not look into the future, since the whole window is already in the past of the target.
    """
    import keras

    if cell not in RECURRENT_CELL_NAMES:
        raise ValueError(f"Unknown cell {cell!r}; use one of {', '.join(RECURRENT_CELL_NAMES)}.")
    if not 1 <= stacked_layers <= 3:
        raise ValueError("stacked_layers must be 1, 2 or 3.")
    inputs = keras.Input(shape=(history, 1), name="window")
    features = inputs
    layer_index = 0
    for depth in range(stacked_layers):
        return_sequences = depth < stacked_layers - 1
        forward = _recurrent_layer(cell, units, return_sequences, seed, layer_index, False, f"{cell.lower()}_{depth + 1}")
        layer_index += 1
        if bidirectional:
            # The backward layer is built explicitly so that it gets its own seeds; letting
            # Bidirectional clone the forward layer would copy its seeded initializers and start both
            # directions from identical weights.
            backward = _recurrent_layer(
                cell, units, return_sequences, seed, layer_index, True, f"{cell.lower()}_{depth + 1}_backward"
            )
            layer_index += 1
            features = keras.layers.Bidirectional(forward, backward_layer=backward, name=f"bidirectional_{depth + 1}")(
                features
            )
        else:
            features = forward(features)
    outputs = _output_layer(seed, layer_index)(features)
    name = f"{'bidirectional_' if bidirectional else ''}{cell.lower()}_forecaster"
    return _compile(keras.Model(inputs, outputs, name=name), learning_rate)


def build_linear_autoregressive_keras(history: int, seed: int = 0, learning_rate: float = 1e-2) -> "keras.Model":
    """The autoregressive model as a Keras Dense(1) on the window, trained by gradient descent.

    It has the same ``history + 1`` parameters as ``fit_autoregressive``; comparing the two shows how
    close training gets to the closed-form optimum.
    """
    import keras

    inputs = keras.Input(shape=(history, 1), name="window")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    outputs = _output_layer(seed, 0)(flat)
    return _compile(keras.Model(inputs, outputs, name="linear_autoregressive"), learning_rate)
