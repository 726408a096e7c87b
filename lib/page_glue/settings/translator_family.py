"""Settings the three translator pages share: the sentence, the training pairs and the model's sizes.

The sentence choice, the own sentence of the attention pages and the training pairs are drawn by the
family's blocks in lib/page_glue/translator_family.py (with `Setting.draw`, from these declarations),
and each page's table lists them, so that a preset naming them is checked.
"""

from lib.app.settings import Drawn, Selectbox, SelectSlider, TextInput

MAX_SENTENCE_CHARACTERS = 400
# The sentence every translator page opens with: a held-out sentence of the grammar, nine words.
EXAMPLE_SENTENCE = "the small cat does not see the green houses"

SENTENCE_CHOICE = Selectbox(
    key="sentence_choice",
    label="English sentence",
    options=Drawn("the example, held-out sentences of the corpus, and one's own"),
    help="The example, held-out sentences, or your own.",
)
OWN_SENTENCE_TEXT = TextInput(
    key="sentence", label="Your sentence", value=EXAMPLE_SENTENCE, max_chars=MAX_SENTENCE_CHARACTERS
)
TRAINING_PAIRS = SelectSlider(
    key="training_pairs",
    label="Training pairs",
    options=Drawn("the usual sizes below the corpus's, and the whole corpus"),
    value=Drawn("the page's default, or the whole corpus when it is smaller"),
)
UNITS = SelectSlider(key="units", label="Units", options=[64, 128, 256, 512], value=256)
EMBEDDING = SelectSlider(key="embedding", label="Embedding", options=[16, 32, 64, 128], value=64)
