"""ConvNets' settings: the stack of section 1 (one row of settings per conv layer), the unit whose receptive
field section 2 draws, and the canvas and epochs of the pair trained in section 3."""

from lib.app.settings import SEED, NumberInput, PageSettings, Radio, Selectbox, SelectSlider, Slider
from lib.models.convnets import (
    DEFAULT_CANVAS_SIDE,
    DEFAULT_SPEC,
    MAX_CONV_LAYERS,
    MIN_CONV_LAYERS,
    POOL_SIZE,
    ConvLayerSpec,
)
from lib.models.shifted_digits import CANVAS_CHOICES, DEFAULT_CONVNET_EPOCHS

HEADS = {"global_average": "Global average pooling", "flatten": "Flatten"}
FILTER_CHOICES = [1, 2, 4, 8, 16, 32, 64]
KERNEL_CHOICES = [1, 2, 3, 4, 5, 7]
STRIDE_CHOICES = [1, 2, 3]
DILATION_CHOICES = [1, 2, 3, 4]
PADDING_CHOICES = ["same", "valid"]
POOL_CHOICES = {"none": None, "2×2 max": POOL_SIZE}
MAX_IMAGE_SIDE = 64


def default_layer(index: int) -> ConvLayerSpec:
    return DEFAULT_SPEC.layers[index] if index < len(DEFAULT_SPEC.layers) else ConvLayerSpec(filters=32)


def layer_settings(index: int):
    """The row of conv layer `index`: its keys end in the index, so a link sets each layer on its own."""
    default = default_layer(index)
    return [
        Selectbox(
            key=f"filters_{index}",
            label="Filters",
            options=FILTER_CHOICES,
            index=FILTER_CHOICES.index(default.filters),
        ),
        Selectbox(
            key=f"kernel_{index}",
            label="Kernel k×k",
            options=KERNEL_CHOICES,
            index=KERNEL_CHOICES.index(default.kernel_size),
            format_func=lambda k: f"{k}×{k}",
        ),
        Selectbox(key=f"stride_{index}", label="Stride", options=STRIDE_CHOICES, index=default.stride - 1),
        Selectbox(key=f"dilation_{index}", label="Dilation", options=DILATION_CHOICES, index=default.dilation - 1),
        Selectbox(
            key=f"padding_{index}",
            label="Padding",
            options=PADDING_CHOICES,
            index=PADDING_CHOICES.index(default.padding),
        ),
        Selectbox(
            key=f"pool_{index}",
            label="Pooling after",
            options=list(POOL_CHOICES),
            index=list(POOL_CHOICES.values()).index(default.pool),
        ),
    ]


def unit_settings(name: str, label: str):
    """A position among a layer's `side` output units: the key carries the side, so a new stack starts centred."""
    return [
        Slider(key=f"{name}_{side}", label=label, min_value=0, max_value=side - 1, value=side // 2)
        for side in range(2, MAX_IMAGE_SIDE + 1)
    ]


SETTINGS = PageSettings(
    "convnets",
    [
        Slider(
            key="conv_layers",
            label="Conv layers",
            min_value=MIN_CONV_LAYERS,
            max_value=MAX_CONV_LAYERS,
            value=len(DEFAULT_SPEC.layers),
        ),
        Slider(
            key="image_side",
            label="Image side (pixels)",
            min_value=8,
            max_value=MAX_IMAGE_SIDE,
            value=DEFAULT_CANVAS_SIDE,
        ),
        NumberInput(key="image_channels", label="Channels", min_value=1, max_value=4, value=1),
        Radio(
            key="head",
            label="Head",
            options=list(HEADS),
            format_func=HEADS.get,
            horizontal=True,
            help="Global average pooling keeps one number per filter; Flatten keeps every position.",
        ),
        *(setting for index in range(MAX_CONV_LAYERS) for setting in layer_settings(index)),
        # The field's layer: the key carries the number of layers, so a new stack starts at its last layer.
        *(
            Slider(key=f"field_layer_{count}", label="A unit of conv layer", min_value=1, max_value=count, value=count)
            for count in range(2, MAX_CONV_LAYERS + 1)
        ),
        *unit_settings("unit_row", "Unit row"),
        *unit_settings("unit_col", "Unit column"),
        SelectSlider(key="canvas", label="Canvas side (pixels)", options=CANVAS_CHOICES, value=DEFAULT_CANVAS_SIDE),
        Slider(key="epochs", label="Epochs", min_value=1, max_value=40, value=DEFAULT_CONVNET_EPOCHS),
        SEED,
    ],
)
