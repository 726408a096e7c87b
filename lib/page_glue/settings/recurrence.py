"""Recurrence's settings: the series and its task (one history, horizon and noise setting per series, so
each series keeps its own), the models to train, and the stretch of the test part on show."""

from lib.app.settings import SEED, Checkbox, Drawn, Multiselect, PageSettings, Radio, SelectSlider, Slider
from lib.page_glue.recurrence import DEFAULT_EPOCHS, NEURAL_KINDS, SOURCES, UPLOAD_SOURCE

UPLOAD = "upload"
ALL_SOURCES = {**SOURCES, UPLOAD: UPLOAD_SOURCE}


def task_settings(source_key: str):
    source = ALL_SOURCES[source_key]
    noise = [
        Slider(
            key=f"noise_{source_key}",
            label="Observation noise: standard deviation added to every value",
            min_value=0.0,
            max_value=source.max_noise,
            value=0.0,
            step=0.01,
            help="Seeded Gaussian noise, as a measuring instrument would add: the dynamics underneath stay the same.",
        )
    ]
    return [
        *(noise if source.max_noise else []),
        Slider(
            key=f"history_{source_key}",
            label=f"History T: the last T {source.step}s the models read",
            min_value=source.min_history,
            max_value=source.max_history,
            value=source.default_history,
        ),
        Slider(
            key=f"horizon_{source_key}",
            label=f"Horizon h: forecast h {source.step}s ahead",
            min_value=1,
            max_value=source.max_horizon,
            value=source.default_horizon,
        ),
    ]


SETTINGS = PageSettings(
    "recurrence",
    [
        Radio(
            key="series_choice",
            label="Series",
            options=Drawn("the series, and the uploaded one once there is one", within=list(ALL_SOURCES)),
            format_func=lambda key: ALL_SOURCES[key].label,
            horizontal=True,
        ),
        *(setting for source_key in ALL_SOURCES for setting in task_settings(source_key)),
        Multiselect(key="models", label="Neural models to train", options=NEURAL_KINDS, default=list(NEURAL_KINDS)),
        SelectSlider(key="units", label="Units", options=[8, 16, 32, 64, 128], value=32),
        Slider(key="layers", label="Stacked layers", min_value=1, max_value=3, value=1),
        Slider(key="epochs", label="Epochs", min_value=1, max_value=30, value=DEFAULT_EPOCHS),
        Checkbox(
            key="bidirectional",
            label="Bidirectional",
            help="Also read the window backwards (the window is all in the past).",
        ),
        SEED,
        Slider(
            key="week",
            label="Which stretch of the test part to show",
            min_value=1,
            max_value=Drawn("the number of stretches in the test part"),
            value=1,
        ),
    ],
)
