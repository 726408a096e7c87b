"""What every translator of the family offers, written once: the seq2seq (`lib.models.seq2seq`), the
attention model (`lib.models.attention`) and the Transformer (`lib.models.transformer`) each subclass
`Translator` and add only their own graphs.

A translator wraps a teacher-forcing Keras model ([English ids, <s> + French ids] → next-word
probabilities) and both vocabularies. It offers:

- the decoding protocol of `lib.models.decoding` (`encode` and `step`, each subclass's own);
- `teacher_forced_probabilities`: the model's next-word probabilities on gold decoder inputs, in
  batches, through the compiled `_teacher_forced` graph the subclass makes;
- saving and loading: a native .keras file (`MODEL_FILE`) and both vocabularies in one folder, loaded
  in Keras's safe mode once the subclass has registered its custom layers (`register_layers`).

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from lib.data.corpus import EncodedPairs, Vocabulary
from lib.engine.graph_lock import builds_graph

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

SOURCE_VOCABULARY_FILE = "english_vocabulary.json"
TARGET_VOCABULARY_FILE = "french_vocabulary.json"
METRICS_FILE = "metrics.json"
DATA_DIRECTORY = Path(__file__).parents[2] / "data"


class Translator:
    """The base of every translator of the family (see the module's docstring).

    A subclass sets `MODEL_FILE` and `DIRECTORY` (where its shipped model lives), builds its graphs in
    `__init__` (among them `_teacher_forced`, a compiled [source, target_in] → probabilities), and
    implements `encode` and `step`.
    """

    MODEL_FILE: ClassVar[str]
    DIRECTORY: ClassVar[Path]

    model: keras.Model
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]:
        raise NotImplementedError

    def teacher_forced_probabilities(self, encoded: EncodedPairs, batch_size: int = 256) -> np.ndarray:
        """The training model's next-word probabilities on gold decoder inputs: (sentences, positions, words)."""
        parts = []
        for start in range(0, len(encoded), batch_size):
            parts.append(
                np.asarray(
                    self._teacher_forced(
                        encoded.encoder_input[start : start + batch_size],
                        encoded.decoder_input[start : start + batch_size],
                    )
                )
            )
        return np.concatenate(parts, axis=0)

    # --- Saving and loading ------------------------------------------------------------------------

    @classmethod
    def register_layers(cls) -> None:
        """Register the model's custom Keras layers, so that safe mode can read a file that names them."""

    def save(self, directory: str | Path) -> None:
        """Write the teacher-forcing model (native .keras, without optimizer state) and both vocabularies."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(directory / self.MODEL_FILE, include_optimizer=False)
        (directory / SOURCE_VOCABULARY_FILE).write_text(self.source_vocabulary.to_json() + "\n", encoding="utf-8")
        (directory / TARGET_VOCABULARY_FILE).write_text(self.target_vocabulary.to_json() + "\n", encoding="utf-8")

    @classmethod
    @builds_graph
    def load(cls, directory: str | Path | None = None):
        """Load a translator saved by `save` (the shipped one by default), ready to decode."""
        import keras

        cls.register_layers()
        directory = Path(directory if directory is not None else cls.DIRECTORY)
        model = keras.saving.load_model(directory / cls.MODEL_FILE, compile=False)
        return cls(model, *read_vocabularies(directory))


def read_vocabularies(directory: str | Path) -> tuple[Vocabulary, Vocabulary]:
    """The English and French vocabularies saved beside a model."""
    directory = Path(directory)
    return (
        Vocabulary.from_json((directory / SOURCE_VOCABULARY_FILE).read_text(encoding="utf-8")),
        Vocabulary.from_json((directory / TARGET_VOCABULARY_FILE).read_text(encoding="utf-8")),
    )


def load_metrics(directory: str | Path) -> dict[str, Any]:
    """The figures measured when a shipped model was trained (its metrics.json), for a page to show."""
    return json.loads((Path(directory) / METRICS_FILE).read_text(encoding="utf-8"))
