"""The Translator's settings: the sentence and its decoding, and the encoder-decoder trained from scratch."""

from lib.app.settings import (
    SEED,
    Drawn,
    PageSettings,
    SegmentedControl,
    Selectbox,
    SelectSlider,
    Slider,
    TextInput,
    Toggle,
)
from lib.models.professor_forcing import DEFAULT_ADVERSARIAL_WEIGHT
from lib.models.seq2seq import CELLS
from lib.page_glue.settings.translator_family import (
    EMBEDDING,
    EXAMPLE_SENTENCE,
    MAX_SENTENCE_CHARACTERS,
    TRAINING_PAIRS,
    UNITS,
)
from lib.page_glue.translator_page import (
    ADVERSARIAL_WEIGHTS,
    SCRATCH_DEFAULT_EPOCHS,
    SUGGESTED_SAMPLING,
    TEACHER_FORCING,
    TRAINING_CHOICES,
)

SETTINGS = PageSettings(
    "translator",
    [
        TextInput(
            key="sentence", label="An English sentence", value=EXAMPLE_SENTENCE, max_chars=MAX_SENTENCE_CHARACTERS
        ),
        Slider(key="beam", label="Beam width", min_value=1, max_value=10, value=4, help="1 is greedy decoding."),
        Slider(key="step", label="Step", min_value=1, max_value=Drawn("the greedy translation's steps"), value=1),
        Selectbox(key="cell", label="Cell", options=CELLS),
        UNITS,
        EMBEDDING,
        Slider(key="layers", label="Layers", min_value=1, max_value=3, value=1),
        TRAINING_PAIRS,
        Slider(key="epochs", label="Epochs", min_value=1, max_value=30, value=SCRATCH_DEFAULT_EPOCHS),
        SegmentedControl(
            key="training",
            label="Training",
            options=TRAINING_CHOICES,
            default=TEACHER_FORCING,
            required=True,
            help="Teacher forcing alone, or one of the notes' two remedies for its train/test mismatch.",
        ),
        Slider(
            key="sampling",
            label="Scheduled sampling p",
            min_value=0.0,
            max_value=0.5,
            value=SUGGESTED_SAMPLING,
            step=0.05,
            help="Probability of feeding the model its own guess instead of the gold word in training.",
        ),
        SelectSlider(
            key="adversarial_weight",
            label="Professor forcing weight",
            options=ADVERSARIAL_WEIGHTS,
            value=DEFAULT_ADVERSARIAL_WEIGHT,
            help="How much fooling the discriminator counts beside predicting the next word.",
        ),
        Toggle(
            key="context_every_step",
            label="Context at every decoder step",
            value=True,
            help="On: the encoder's final state starts the decoder and is also read at every step and by the softmax "
            "(Cho et al., 2014). Off: it only starts the decoder, which must carry the sentence in its own state.",
        ),
        SEED,
    ],
)
