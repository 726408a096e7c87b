"""Vanishing gradients' settings: the MLP of section 1, the recurrent network of section 2 and its truncation,
and the cells trained on the long-memory task (whose default is the sweep's clearest contrast)."""

from lib.app.settings import (
    SEED,
    Drawn,
    Multiselect,
    PageSettings,
    Radio,
    Selectbox,
    SelectSlider,
    Slider,
    Toggle,
)
from lib.models.long_memory import CLIP_NORM, SETUPS, SWEEP_LAGS

CELLS = ["SimpleRNN", "LSTM", "GRU"]

SETTINGS = PageSettings(
    "vanishing_gradients",
    [
        Slider(key="mlp_depth", label="Depth (layers)", min_value=2, max_value=30, value=10),
        Selectbox(key="mlp_activation", label="Activation", options=["tanh", "sigmoid", "relu"]),
        Slider(
            key="mlp_init_scale",
            label="Initialisation scale",
            min_value=0.25,
            max_value=2.0,
            value=1.0,
            step=0.05,
            help="Multiplies the Glorot-uniform initial weights of every layer.",
        ),
        Slider(key="bptt_length", label="Sequence length T", min_value=10, max_value=200, value=100, step=10),
        Slider(
            key="bptt_recurrent_scale",
            label="Recurrent weights' scale",
            min_value=0.5,
            max_value=1.5,
            value=1.0,
            step=0.05,
            help="Multiplies the orthogonal recurrent matrix: below 1 vanishes, above 1 explodes.",
        ),
        SelectSlider(
            key="bptt_clipping", label="Gradient clipping (global norm)", options=["off", 0.1, 1.0, 10.0], value="off"
        ),
        Multiselect(key="bptt_cells", label="Cells", options=CELLS, default=CELLS),
        Slider(
            key="bptt_truncation",
            label="Truncated BPTT: keep the last k steps",
            min_value=1,
            max_value=Drawn("the sequence length T"),
            value=Drawn("20 steps, or T when shorter"),
        ),
        Radio(
            key="memory_setup",
            label="Setup",
            options=list(SETUPS),
            index=Drawn("the setup where the sweep showed the notes' contrast most clearly"),
            format_func=lambda name: SETUPS[name].title,
        ),
        Multiselect(key="memory_cells", label="Cells to train", options=CELLS, default=["SimpleRNN", "LSTM"]),
        SelectSlider(
            key="memory_lag",
            label="Lag",
            options=SWEEP_LAGS,
            value=Drawn("the lag where the sweep showed the notes' contrast most clearly"),
        ),
        Toggle(
            key="memory_clipping",
            label="Clip the SimpleRNN",
            help=f"Caps the global norm of the SimpleRNN's gradient at {CLIP_NORM:g} before each update.",
        ),
        SEED,
    ],
)
