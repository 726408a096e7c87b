"""The series the Recurrence page forecasts besides Mackey-Glass: Seattle's temperatures, or an uploaded CSV.

- Seattle's hourly temperatures and daily maxima, shipped in ``data/`` (see data/README.md), in
  degrees Celsius. The hourly file holds NOAA's hourly climate *normals* (30-year averages for each
  hour of the year, stamped 2010), not one year's observations: the curve is smooth, so linear
  models and persistence are very strong on it, and an uploaded real series is the harder test;
- the validator of a series that a user uploads as CSV (`parse_uploaded_series`): it finds the time
  and value columns, puts the readings on a regular grid and fills only short gaps, and answers a
  file it cannot use with a sentence for the user (`SeriesUploadError`).

What is done with a series (splits, windows, baselines, models) is in `lib.models.timeseries`. No
Keras and no Streamlit here.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from lib.data.text_files import decode_text_upload

DATA_DIRECTORY = Path(__file__).parents[2] / "data"
SEATTLE_TEMPERATURES_FILE = DATA_DIRECTORY / "seattle-temps.csv"
SEATTLE_WEATHER_FILE = DATA_DIRECTORY / "seattle-weather.csv"

# Runs of at most this many missing values are filled by linear interpolation; a longer hole is
# reported to the user, because inventing hours of data would make the models look better or worse
# than they are.
MAX_INTERPOLATED_GAP = 6


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
    text = decode_text_upload(
        raw_bytes,
        max_bytes=max_bytes,
        error_type=SeriesUploadError,
        kind="a CSV file",
        needs="a column of dates and a column of numbers",
        fewer="a shorter series",
    )
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
        raise SeriesUploadError(
            f"Column '{value_column}' has the same value in every row: there is nothing to forecast."
        )
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
    raise SeriesUploadError("No column of numbers was found: the file needs a column of values next to the dates.")


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
