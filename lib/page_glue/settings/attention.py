"""The Attention page's settings: the sentence, the step and scale of the notes' formula, the intervention,
and the attention model trained from scratch."""

from dataclasses import replace

from lib.app.settings import SEED, Drawn, PageSettings, Selectbox, SelectSlider, Slider
from lib.models.attention import SCORE_NAMES, SCORES
from lib.page_glue.attention_page import SCRATCH_DEFAULT_EMBEDDING, SCRATCH_DEFAULT_EPOCHS, SCRATCH_DEFAULT_UNITS
from lib.page_glue.settings.translator_family import (
    EMBEDDING,
    OWN_SENTENCE_TEXT,
    SENTENCE_CHOICE,
    TRAINING_PAIRS,
    UNITS,
)

SETTINGS = PageSettings(
    "attention",
    [
        SENTENCE_CHOICE,
        OWN_SENTENCE_TEXT,
        SelectSlider(
            key="scale",
            label="Scale on the scores (temperature⁻¹)",
            options=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
            value=1.0,
            help="1 is what the model computes. Small: a flat softmax; large: one-hot.",
        ),
        Slider(
            key="step",
            label="Decoder step",
            min_value=1,
            max_value=Drawn("the greedy translation's steps"),
            value=Drawn("step 3, or the last when there are fewer"),
            help="q is the decoder's state at this step of the greedy translation below.",
        ),
        Slider(
            key="intervene_step",
            label="At step",
            min_value=1,
            max_value=Drawn("the greedy translation's steps"),
            value=Drawn("step 2, or the last when there are fewer"),
        ),
        Selectbox(
            key="attend_to",
            label="Attend only to",
            options=Drawn("the sentence's words, and uniform over the sentence"),
            index=Drawn("the sentence's last word"),
        ),
        Selectbox(
            key="score", label="Score", options=SCORES, format_func=lambda name: SCORE_NAMES[name].split(" (")[0]
        ),
        replace(UNITS, value=SCRATCH_DEFAULT_UNITS),
        replace(EMBEDDING, value=SCRATCH_DEFAULT_EMBEDDING),
        TRAINING_PAIRS,
        Slider(key="epochs", label="Epochs", min_value=1, max_value=20, value=SCRATCH_DEFAULT_EPOCHS),
        SEED,
    ],
)
