"""The Transformer page's settings: the sentence, the key-value lookup, the head walked through and the
maps enlarged, the heads silenced, and the Transformer trained from scratch with the map watched live."""

from lib.app.settings import SEED, Drawn, NumberInput, PageSettings, Pills, Selectbox, SelectSlider, Slider, Toggle
from lib.models.transformer import POSITION_NAMES, POSITIONS, TransformerConfig, attention_layer_names
from lib.page_glue.settings.translator_family import OWN_SENTENCE_TEXT, SENTENCE_CHOICE, TRAINING_PAIRS
from lib.page_glue.transformer_page import (
    SCRATCH_DEFAULT_EPOCHS,
    SCRATCH_DEFAULT_FEED_FORWARD,
    SCRATCH_DEFAULT_LAYERS,
    SCRATCH_DEFAULT_MODEL_SIZE,
)

MAX_LAYERS = 4
# The model's defaults are the config's (lib/models/transformer.py), written there once.
DEFAULT = TransformerConfig()


def layer_name(name: str) -> str:
    return name.replace("_", " ")


SETTINGS = PageSettings(
    "transformer",
    [
        SENTENCE_CHOICE,
        OWN_SENTENCE_TEXT,
        NumberInput(key="query_x", label="Query x", min_value=-10.0, max_value=10.0, value=1.0, step=0.1),
        NumberInput(key="query_y", label="Query y", min_value=-10.0, max_value=10.0, value=0.4, step=0.1),
        SelectSlider(
            key="lookup_scale",
            label="Scale on the scores",
            options=[0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
            value=1.0,
            help="Large: the softmax becomes one-hot, and the memory a hard lookup.",
        ),
        Selectbox(
            key="walk_layer",
            label="Attention layer",
            options=Drawn("the attention layers of the model on show"),
            format_func=layer_name,
        ),
        Slider(key="walk_head", label="Head", min_value=1, max_value=Drawn("the heads of the model on show"), value=1),
        Selectbox(key="grid_kind", label="Enlarge", options=Drawn("the kinds of attention maps")),
        Selectbox(key="grid_layer", label="Layer", options=Drawn("the layers of the maps")),
        Selectbox(key="grid_head", label="Head", options=Drawn("the heads of the maps")),
        Pills(
            key="silenced_heads",
            label="Heads to silence at inference",
            options=Drawn("every head of every attention layer of the model on show"),
            selection_mode="multi",
        ),
        Slider(key="layers", label="Layers", min_value=1, max_value=MAX_LAYERS, value=SCRATCH_DEFAULT_LAYERS),
        SelectSlider(key="heads", label="Heads", options=[1, 2, 4, 8], value=DEFAULT.heads),
        SelectSlider(key="width", label="Model width d", options=[64, 128, 256], value=SCRATCH_DEFAULT_MODEL_SIZE),
        SelectSlider(
            key="feed_forward",
            label="Feed-forward width",
            options=[128, 256, 512, 1024],
            value=SCRATCH_DEFAULT_FEED_FORWARD,
        ),
        Slider(key="dropout", label="Dropout", min_value=0.0, max_value=0.3, value=DEFAULT.dropout, step=0.05),
        Selectbox(
            key="positions",
            label="Positions",
            options=POSITIONS,
            index=POSITIONS.index(DEFAULT.positions),
            format_func=lambda name: POSITION_NAMES[name].split(" (")[0],
        ),
        TRAINING_PAIRS,
        Slider(key="epochs", label="Epochs", min_value=1, max_value=20, value=SCRATCH_DEFAULT_EPOCHS),
        SelectSlider(
            key="longest",
            label="Longest training sentence",
            options=["any", 10, 15, 20],
            value="any",
            help="Train on short sentences only, to see how each kind of positions copes with "
            "held-out sentences longer than any it was trained on.",
        ),
        Toggle(
            key="causal_mask",
            label="Causal mask",
            value=DEFAULT.causal_mask,
            help="Off: each French position may also read the words after it, in training.",
        ),
        Selectbox(
            key="live_map",
            label="Live map of",
            options=Drawn("the attention layers of the model to train", within=attention_layer_names(MAX_LAYERS)),
            index=Drawn("the last decoder layer's cross-attention"),
            format_func=layer_name,
        ),
        Slider(
            key="live_head", label="Its head", min_value=1, max_value=Drawn("the heads of the model to train"), value=1
        ),
        SEED,
    ],
)
