"""Parameter sharing's settings: the image and MLP of section 1, and the digits MLP trained in section 4."""

from lib.app.settings import SEED, NumberInput, PageSettings, Selectbox, SelectSlider, Slider
from lib.data.digits import max_train_count
from lib.page_glue.sharing import IMAGE_PRESETS

MAX_HIDDEN_LAYERS = 4
DEFAULT_IMAGE = IMAGE_PRESETS[0]

SETTINGS = PageSettings(
    "parameter_sharing",
    [
        Selectbox(key="preset", label="Start from", options=[preset.label for preset in IMAGE_PRESETS]),
        NumberInput(key="image_height", label="Height", min_value=1, max_value=10_000, value=DEFAULT_IMAGE.height),
        NumberInput(key="image_width", label="Width", min_value=1, max_value=10_000, value=DEFAULT_IMAGE.width),
        NumberInput(key="image_channels", label="Channels", min_value=1, max_value=4, value=DEFAULT_IMAGE.channels),
        Slider(key="hidden_layers", label="Hidden layers", min_value=1, max_value=MAX_HIDDEN_LAYERS, value=1),
        *(
            NumberInput(
                key=f"hidden_{i}",
                label=f"Units in hidden layer {i + 1}",
                min_value=1,
                max_value=10_000,
                value=100,
                step=10,
            )
            for i in range(MAX_HIDDEN_LAYERS)
        ),
        NumberInput(key="outputs", label="Outputs (classes)", min_value=1, max_value=1_000, value=10),
        NumberInput(
            key="examples",
            label="Training examples you have",
            min_value=1,
            max_value=1_000_000_000,
            value=10_000,
            step=1_000,
        ),
        SelectSlider(
            key="training_examples",
            label="Training examples",
            options=[20, 50, 100, 200, 500, 1000, max_train_count()],
            value=100,
        ),
        SelectSlider(key="hidden_units", label="Hidden units", options=[8, 32, 128, 512, 1024], value=512),
        Slider(key="epochs", label="Epochs", min_value=5, max_value=150, value=20, step=5),
        SEED,
    ],
)
