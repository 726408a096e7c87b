"""Measure what the Recurrence page's Train button shows, for chosen series and (T, h), and print the tables.

The figures the page and data/README.md quote about which model wins come from this script: it
runs the page's own code (`lib.page_glue.recurrence.train_forecasters` with the page's default
`ForecasterSettings`: 32 units, one layer, 5 epochs, learning rate 3e-3, batch 64, seed 0) inside a
Streamlit script context (AppTest), then prints the page's comparison table and verdict.

Run from the repository root, for example:

    nice python scripts/recurrence_measurement.py --series mackey_glass --shapes 48:12 48:17
    nice python scripts/recurrence_measurement.py --series hourly --shapes 48:24
    nice python scripts/recurrence_measurement.py --series mackey_glass --noise 0.02 --shapes 48:12

With ``--record``, the first shape's errors replace that series' rows of
``data/recurrence_default_presses.csv``, the file the page writes its "what the default presses
measured" sentences from; record each shipped series at its page default.

A press on the default settings takes 10-30 s on two shared cores.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402


def press_script(series_key: str, noise: float, history: int, horizon: int, epochs: int) -> None:
    """One press of the page's Train button with its default models and settings, then its table."""
    import dataclasses

    import streamlit as st

    from lib.page_glue.recurrence import (
        NEURAL_KINDS,
        SOURCES,
        ForecasterSettings,
        baseline_results,
        comparison_table,
        forecasting_data,
        load_source,
        train_forecasters,
        verdict,
    )

    source = SOURCES[series_key]
    series = load_source(series_key, noise)
    unit = series.attrs.get("units", "units")
    data = forecasting_data(series["value"].to_numpy(), history, horizon)
    settings = dataclasses.replace(ForecasterSettings(), epochs=epochs)
    runs = train_forecasters(
        "measure", series_key, list(NEURAL_KINDS), data, settings, unit, source.step, st.container()
    )
    table = comparison_table(data, baseline_results(data, source.period), runs, unit)
    st.session_state["table"] = table
    st.session_state["verdict"] = verdict(table, unit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="mackey_glass")
    parser.add_argument("--noise", type=float, default=0.0, help="observation noise (series that offer it)")
    parser.add_argument("--shapes", nargs="+", default=["48:12"], help="history:horizon pairs")
    parser.add_argument("--epochs", type=int, default=None, help="default: the page's default")
    parser.add_argument("--record", action="store_true", help="write the first shape's errors to the page's file")
    arguments = parser.parse_args()

    from lib.page_glue.recurrence import ForecasterSettings

    epochs = arguments.epochs or ForecasterSettings().epochs
    for shape in arguments.shapes:
        history, horizon = (int(part) for part in shape.split(":"))
        app = AppTest.from_function(
            press_script,
            kwargs={
                "series_key": arguments.series,
                "noise": arguments.noise,
                "history": history,
                "horizon": horizon,
                "epochs": epochs,
            },
            default_timeout=1800,
        ).run()
        if app.exception:
            raise RuntimeError(app.exception[0].value)
        table = app.session_state["table"]
        print(f"\n=== {arguments.series}, noise {arguments.noise:g}, T = {history}, h = {horizon}, {epochs} epochs ===")
        columns = [
            column for column in table.columns if column.startswith(("Model", "Test MAE", "Parameters", "Training"))
        ]
        print(table[columns].to_string(index=False, float_format=lambda value: f"{value:.4f}"))
        print(app.session_state["verdict"])
        if arguments.record and shape == arguments.shapes[0]:
            record(table, arguments.series, arguments.noise, history, horizon, epochs)


def record(table, series_key: str, noise: float, history: int, horizon: int, epochs: int) -> None:
    """Replace the series' rows of the page's measurement file with this press's test errors."""
    import pandas as pd

    from lib.page_glue.recurrence import DEFAULT_PRESSES_FILE

    error_column = next(column for column in table.columns if column.startswith("Test MAE") and "°F" not in column)
    rows = pd.DataFrame(
        {
            "date": datetime.date.today().isoformat(),
            "series": series_key,
            "noise": noise,
            "history": history,
            "horizon": horizon,
            "epochs": epochs,
            # A trained network's row is named "LSTM · 32 units · …": keep its kind only.
            "model": table["Model"].str.split(" · ").str[0],
            "test_mae": table[error_column].round(5),
            "unit": "°C" if "°C" in error_column else "units",
        }
    )
    if DEFAULT_PRESSES_FILE.exists():
        kept = pd.read_csv(DEFAULT_PRESSES_FILE)
        rows = pd.concat([kept[kept["series"] != series_key], rows], ignore_index=True)
    rows.to_csv(DEFAULT_PRESSES_FILE, index=False)
    print(f"recorded in {DEFAULT_PRESSES_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
