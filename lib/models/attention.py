"""The attention translator of the Attention page: the notes' q·z softmax inside a seq2seq.

The notes' attention: given a query q and a bank of vectors z_i, compute the scores q·z_i, turn
them into weights α_i with a softmax, and return the summary z = Σ α_i z_i. In the seq2seq here
(Luong et al., 2015, "global attention"):

- the encoder is a bidirectional GRU over the English words, so each z_i has read the whole sentence
  around word i (Bahdanau et al., 2014); the bank is the sequence of its states;
- the decoder is a GRU over the French words (teacher-forced in training), started from the
  encoder's two final states; its state at step t is the query q_t;
- `ContentAttention` scores q_t against every z_i, normalises with a softmax over the real English
  words (exactly 0 on <pad>), and returns the summary and the weights;
- the word at step t is chosen from q_t and its summary together (a tanh layer, then the softmax
  over French words), and that word is fed back as the next step's input.

So one fixed-size vector is no longer the only road from English to French: every step computes its
own summary from all the encoder's states. The module also holds the step-by-step translator behind
the decoding protocol of `lib.models.decoding` (its `extras` carry each step's attention row, and a step can
be made to use a row the user chose instead), the teacher-forced attention maps, the alignment
accuracy against the grammar's gold alignments, and the parameter counts from the shared counter.

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lib.data.corpus import PAD_ID, EncodedPairs, Vocabulary, encode_pairs
from lib.engine.graph_lock import builds_graph
from lib.engine.params import LayerCount, count_dense_params, count_recurrent_params
from lib.models.translator_base import DATA_DIRECTORY, Translator

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

# The three scoring functions a participant can train with. "dot" is the notes' q·z_i, and the
# shipped model's, so that the page's hand-computed step is the model's own computation.
SCORES = ("dot", "general", "additive")
SCORE_NAMES = {
    "dot": 'dot product q·zᵢ (the notes; Luong\'s "dot")',
    "general": "general q·W·zᵢ (Luong et al., 2015)",
    "additive": "additive v·tanh(W₁q + W₂zᵢ) (Bahdanau et al., 2014)",
}
DEFAULT_SETTINGS = {"score": "dot", "units": 256, "embedding_size": 64, "seed": 0}
ATTENTION_DIRECTORY = DATA_DIRECTORY / "attention"
MODEL_FILE = "attention.keras"
# A score this low is exp() = 0 in float32: the softmax gives <pad> no weight at all.
_MASKED_SCORE = -1e9


# --------------------------------------------------------------------------------------------------
# The attention layer, and the notes' formula in NumPy
# --------------------------------------------------------------------------------------------------


SCORE_FORMULAS = {"dot": "q·zᵢ", "general": "q·W·zᵢ", "additive": "v·tanh(W₁q + W₂zᵢ)"}


def score_numpy(
    query: np.ndarray, bank: np.ndarray, score: str = "dot", parameters: dict[str, np.ndarray] | None = None
) -> np.ndarray:
    """The score of q against every zᵢ, in NumPy, as `ContentAttention` computes it: (n,).

    "dot" is q·zᵢ; "general" is q·W·zᵢ with `parameters["W"]`; "additive" is v·tanh(W₁q + W₂zᵢ) with
    `parameters["W1"]`, `["W2"]` and `["v"]`. These are Keras Dense kernels, which map a row vector x to
    x @ kernel: so "general" computes q·(zᵢ @ W), and "additive" tanh(q @ W1 + zᵢ @ W2) @ v.
    """
    query, bank = np.asarray(query, dtype=np.float64), np.asarray(bank, dtype=np.float64)
    if score == "dot":
        return bank @ query
    weight = {name: np.asarray(value, dtype=np.float64) for name, value in (parameters or {}).items()}
    if score == "general":
        return (bank @ weight["W"]) @ query
    if score == "additive":
        return np.tanh(query @ weight["W1"] + bank @ weight["W2"]) @ weight["v"].reshape(-1)
    raise ValueError(f"Unknown score {score!r}; expected one of {SCORES}.")


def attention_numpy(
    query: np.ndarray,
    bank: np.ndarray,
    scale: float = 1.0,
    mask: np.ndarray | None = None,
    values: np.ndarray | None = None,
    score: str = "dot",
    parameters: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notes' formula for one query: scores q·zᵢ (times `scale`), α = softmax(scores), z = Σ αᵢ zᵢ.

    `query` is (d,), `bank` (n, d); returns (scores, weights, summary). Masked-out vectors get
    weight 0 (all of them masked: every weight 0, as the model's layer gives). The page runs the
    same three lines on a hand-made example and on the model's vectors; with `score` and
    `parameters` (see `score_numpy`, and `AttentionTranslator.score_parameters`) the scores are
    the model's own general or additive ones instead of the notes' dot product.
    With `values` (n, …), the bank holds keys and the summary mixes the values instead: the
    Transformer page's key-value memory.
    """
    bank = np.asarray(bank, dtype=np.float64)
    scores = score_numpy(query, bank, score, parameters) * scale
    keep = np.ones(len(bank), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    exponentials = np.zeros(len(bank))
    if keep.any():
        exponentials[keep] = np.exp(scores[keep] - scores[keep].max())  # Shifted: no overflow.
    weights = exponentials / max(exponentials.sum(), 1e-300)
    return scores, weights, weights @ (bank if values is None else np.asarray(values, dtype=np.float64))


@functools.cache
def _keras_classes():
    """Keras layers of the attention model, defined and registered once per process, when first needed."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class SourceMask(keras.layers.Layer):
        """English ids → 1.0 on real words and 0.0 on <pad>: the mask handed to attention explicitly.

        Keras masks ride along with tensors and some layers drop them, so attention never relies on
        a propagated mask: this float mask is an input of its own.
        """

        def call(self, ids):
            return ops.cast(ops.not_equal(ids, PAD_ID), "float32")

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class ContentAttention(keras.layers.Layer):
        """[queries (batch, T, d), bank (batch, S, d), mask (batch, S)] → [summaries (batch, T, d), weights (batch, T, S)].

        Scores: "dot" is qᵀzᵢ, with no parameter (what `keras.layers.Attention` computes too);
        "general" is qᵀWzᵢ with a learned d×d matrix W (a Dense without bias on the bank);
        "additive" is vᵀtanh(W₁q + W₂zᵢ) with learned W₁, W₂ and v (`keras.layers.AdditiveAttention`
        has only v, no W₁ or W₂: it assumes the caller projected q and z). Keras's built-in layers
        also lack the weights-only output this page draws, so the three are written here. Scores
        on <pad> are set to -1e9 before the softmax, and the weights are multiplied by the mask
        after it, so attention on <pad> is exactly 0 (and a row with every word masked is all 0, as
        Keras's own masked softmax gives, not uniform). `seed` seeds the initial W, W₁, W₂ and v, so
        that a model built with a seed is the same model every time, whatever its score.
        """

        def __init__(self, score: str = "dot", seed: int | None = None, **kwargs):
            super().__init__(**kwargs)
            if score not in SCORES:
                raise ValueError(f"Unknown score {score!r}; expected one of {SCORES}.")
            self.score = score
            self.seed = seed

        def _initializer(self, offset: int):
            return "glorot_uniform" if self.seed is None else keras.initializers.GlorotUniform(seed=self.seed + offset)

        def build(self, input_shapes):
            query_shape, bank_shape, _ = input_shapes
            units = int(bank_shape[-1])
            if self.score == "general":
                self.bank_projection = keras.layers.Dense(
                    units, use_bias=False, name="W", kernel_initializer=self._initializer(0)
                )
                self.bank_projection.build(bank_shape)
            elif self.score == "additive":
                self.query_projection = keras.layers.Dense(
                    units, use_bias=False, name="W1", kernel_initializer=self._initializer(1)
                )
                self.query_projection.build(query_shape)
                self.bank_projection = keras.layers.Dense(
                    units, use_bias=False, name="W2", kernel_initializer=self._initializer(2)
                )
                self.bank_projection.build(bank_shape)
                self.vector = keras.layers.Dense(1, use_bias=False, name="v", kernel_initializer=self._initializer(3))
                self.vector.build((*bank_shape[:-1], units))

        def scores(self, queries, bank):
            if self.score == "dot":
                return ops.matmul(queries, ops.transpose(bank, (0, 2, 1)))
            if self.score == "general":
                return ops.matmul(queries, ops.transpose(self.bank_projection(bank), (0, 2, 1)))
            # Additive: (batch, T, 1, d) + (batch, 1, S, d), then v: (batch, T, S).
            hidden = ops.tanh(
                ops.expand_dims(self.query_projection(queries), 2) + ops.expand_dims(self.bank_projection(bank), 1)
            )
            return ops.squeeze(self.vector(hidden), -1)

        def call(self, inputs, mask=None):
            # `mask` is the Keras mask the bank carries from the embedding: ignored, since the
            # explicit float mask (the third input) is the one that counts.
            queries, bank, mask = inputs
            keep = ops.expand_dims(mask, 1)  # (batch, 1, S)
            scores = ops.where(keep > 0, self.scores(queries, bank), _MASKED_SCORE)
            weights = ops.softmax(scores, axis=-1) * keep
            weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-9)
            return ops.matmul(weights, bank), weights

        def compute_output_shape(self, input_shapes):
            query_shape, bank_shape, _ = input_shapes
            return (*query_shape[:-1], bank_shape[-1]), (*query_shape[:-1], bank_shape[1])

        def compute_mask(self, inputs, mask=None):
            return None  # The outputs are per French position, where no English mask applies.

        def get_config(self):
            return {**super().get_config(), "score": self.score, "seed": self.seed}

    return SourceMask, ContentAttention


# --------------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------------


def attention_layer_counts(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    score: str = "dot",
    units: int = 256,
    embedding_size: int = 64,
) -> list[LayerCount]:
    """Per-layer parameter counts of `build_attention_seq2seq`'s model, from the shared counter."""
    half = units // 2

    def named(name: str, count: LayerCount) -> LayerCount:
        return LayerCount(name, count.weights, count.biases, count.formula)

    def doubled(name: str, count: LayerCount) -> LayerCount:
        return LayerCount(name, 2 * count.weights, 2 * count.biases, f"2 directions × ({count.formula})")

    counts = [
        named("English embedding", count_dense_params(source_vocabulary_size, embedding_size, use_bias=False)),
        doubled(f"encoder: bidirectional GRU {half}+{half}", count_recurrent_params("GRU", embedding_size, half)),
        named("French embedding", count_dense_params(target_vocabulary_size, embedding_size, use_bias=False)),
        named(f"decoder GRU {units} (its state is the query q)", count_recurrent_params("GRU", embedding_size, units)),
    ]
    if score == "general":
        counts.append(named("attention W (general)", count_dense_params(units, units, use_bias=False)))
    elif score == "additive":
        counts.append(named("attention W₁ (additive)", count_dense_params(units, units, use_bias=False)))
        counts.append(named("attention W₂ (additive)", count_dense_params(units, units, use_bias=False)))
        counts.append(named("attention v (additive)", count_dense_params(units, 1, use_bias=False)))
    else:
        counts.append(LayerCount("attention q·zᵢ (dot)", 0, 0, "no parameters"))
    counts.append(named("tanh layer on [q; z]", count_dense_params(2 * units, units)))
    counts.append(named("softmax over French words", count_dense_params(units, target_vocabulary_size)))
    return counts


@builds_graph
def build_attention_seq2seq(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    score: str = "dot",
    units: int = 256,
    embedding_size: int = 64,
    seed: int = 0,
) -> keras.Model:
    """The teacher-forcing attention model: [English ids, <s> + French ids] → next-word probabilities.

    Its layers are named so that `AttentionTranslator` can reuse them one step at a time, and so
    that the attention weights can be read off the layer named "attention".
    """
    import keras

    source_mask_class, attention_class = _keras_classes()
    if units % 2:
        raise ValueError("units must be even: the bidirectional encoder gives each direction half.")
    source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
    target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
    mask = source_mask_class(name="english_mask")(source)
    x = keras.layers.Embedding(
        source_vocabulary_size,
        embedding_size,
        mask_zero=True,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
        name="english_embedding",
    )(source)
    bank, forward_state, backward_state = keras.layers.Bidirectional(
        keras.layers.GRU(
            units // 2,
            return_sequences=True,
            return_state=True,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 10),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 11),
        ),
        name="encoder",
    )(x)
    start_state = keras.layers.Concatenate(name="encoder_final_states")([forward_state, backward_state])
    y = keras.layers.Embedding(
        target_vocabulary_size,
        embedding_size,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed + 1),
        name="french_embedding",
    )(target_in)
    queries, _ = keras.layers.GRU(
        units,
        return_sequences=True,
        return_state=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 20),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 21),
        name="decoder",
    )(y, initial_state=start_state)
    summaries, _weights = attention_class(score, seed=seed + 40, name="attention")([queries, bank, mask])
    probabilities = _output_layers(keras, target_vocabulary_size, units, seed, queries, summaries)
    return keras.Model([source, target_in], probabilities, name=f"attention_seq2seq_{score}")


def _output_layers(keras, target_vocabulary_size: int, units: int, seed: int, queries, summaries):
    """Luong's attentional layer: tanh(W[q; z]), then the softmax over French words."""
    joined = keras.layers.Concatenate(name="query_and_summary")([queries, summaries])
    attentional = keras.layers.Dense(
        units,
        activation="tanh",
        name="attentional",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 30),
    )(joined)
    return keras.layers.Dense(
        target_vocabulary_size,
        activation="softmax",
        name="next_word",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
    )(attentional)


def attention_settings(model: keras.Model) -> dict[str, Any]:
    """Score, units and embedding size of a model made by `build_attention_seq2seq`."""
    return {
        "score": model.get_layer("attention").score,
        "units": int(model.get_layer("decoder").units),
        "embedding_size": int(model.get_layer("english_embedding").output_dim),
    }


def is_attention_model(model) -> bool:
    model = getattr(model, "seq2seq", model)
    return any(layer.name == "attention" for layer in getattr(model, "layers", []))


# --------------------------------------------------------------------------------------------------
# The translator behind the decoding protocol
# --------------------------------------------------------------------------------------------------


class AttentionTranslator(Translator):
    """An attention model ready to decode one step at a time, sharing the training model's layers.

    Its decoding state is [decoder state (batch, units), encoder states (batch, S, units), mask
    (batch, S)]: the bank and the mask ride along unchanged, and beam search reorders all three by
    their first axis. Each step's `extras["attention"]` is its attention row (batch, S).
    `step_with_attention` takes the attention row from the caller instead: the page's intervention.
    """

    MODEL_FILE = MODEL_FILE
    DIRECTORY = ATTENTION_DIRECTORY

    @classmethod
    def register_layers(cls) -> None:
        _keras_classes()  # Registers the mask and attention layers.

    @builds_graph
    def __init__(self, model: keras.Model, source_vocabulary: Vocabulary, target_vocabulary: Vocabulary):
        import keras
        import tensorflow as tf

        self.model = getattr(model, "seq2seq", model)  # A trainer holds the seq2seq model.
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.settings = attention_settings(self.model)
        units = self.settings["units"]
        get = self.model.get_layer

        source = keras.Input(shape=(None,), dtype="int32")
        bank, forward_state, backward_state = get("encoder")(get("english_embedding")(source))
        start_state = get("encoder_final_states")([forward_state, backward_state])
        self.encoder_model = keras.Model(source, [start_state, bank, get("english_mask")(source)])

        previous = keras.Input(shape=(1,), dtype="int32")
        state = keras.Input(shape=(units,))
        query, new_state = get("decoder")(get("french_embedding")(previous), initial_state=state)
        self.query_model = keras.Model([previous, state], [query, new_state])

        queries = keras.Input(shape=(None, units))
        summaries = keras.Input(shape=(None, units))
        joined = get("query_and_summary")([queries, summaries])
        self.output_model = keras.Model([queries, summaries], get("next_word")(get("attentional")(joined)))
        self.attention_layer = get("attention")
        teacher_forced_weights = self.model.get_layer("attention").output[1]
        self.weights_model = keras.Model(self.model.inputs, [teacher_forced_weights, self.model.output])

        bank_spec = tf.TensorSpec((None, None, units), tf.float32)
        mask_spec = tf.TensorSpec((None, None), tf.float32)
        self._encode = tf.function(
            lambda ids: self.encoder_model(ids, training=False), input_signature=[tf.TensorSpec((None, None), tf.int32)]
        )
        self._step = tf.function(
            self._traced_step,
            input_signature=[
                tf.TensorSpec((None, 1), tf.int32),
                tf.TensorSpec((None, units), tf.float32),
                bank_spec,
                mask_spec,
            ],
        )
        self._step_given = tf.function(
            self._traced_step_given,
            input_signature=[
                tf.TensorSpec((None, 1), tf.int32),
                tf.TensorSpec((None, units), tf.float32),
                bank_spec,
                mask_spec,
                tf.TensorSpec((None, None), tf.float32),
            ],
        )
        self._query = tf.function(
            lambda previous, state: self.query_model([previous, state], training=False),
            input_signature=[tf.TensorSpec((None, 1), tf.int32), tf.TensorSpec((None, units), tf.float32)],
        )
        self._weights = tf.function(
            lambda source, target: self.weights_model([source, target], training=False),
            input_signature=[tf.TensorSpec((None, None), tf.int32)] * 2,
        )

    def _traced_step(self, previous, state, bank, mask):
        query, new_state = self.query_model([previous, state], training=False)
        summary, weights = self.attention_layer([query, bank, mask])
        return self.output_model([query, summary], training=False)[:, 0, :], new_state, weights[:, 0, :]

    def _traced_step_given(self, previous, state, bank, mask, weights):
        from keras import ops

        query, new_state = self.query_model([previous, state], training=False)
        weights = weights * mask
        weights = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-9)
        summary = ops.matmul(ops.expand_dims(weights, 1), bank)
        return self.output_model([query, summary], training=False)[:, 0, :], new_state, weights

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]:
        source_ids = np.asarray(source_ids, dtype=np.int32)
        if source_ids.ndim == 1:
            source_ids = source_ids[None, :]
        return [np.asarray(part) for part in self._encode(source_ids)]

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]:
        decoder_state, bank, mask = state
        previous = np.asarray(previous_ids, dtype=np.int32).reshape(-1, 1)
        probabilities, new_state, weights = self._step(previous, decoder_state, bank, mask)
        return np.asarray(probabilities), [np.asarray(new_state), bank, mask], {"attention": np.asarray(weights)}

    def step_with_attention(
        self, previous_ids: np.ndarray, state: list[np.ndarray], weights: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray], dict]:
        """One step whose summary is built from the given attention row instead of the model's own."""
        decoder_state, bank, mask = state
        previous = np.asarray(previous_ids, dtype=np.int32).reshape(-1, 1)
        weights = np.broadcast_to(np.asarray(weights, dtype=np.float32), mask.shape)
        probabilities, new_state, used = self._step_given(previous, decoder_state, bank, mask, weights)
        return np.asarray(probabilities), [np.asarray(new_state), bank, mask], {"attention": np.asarray(used)}

    def query_and_bank(self, source_ids: Sequence[int], previous_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The query q of the step after `previous_ids` (<s> first) and the bank zᵢ of the sentence:
        (units,) and (words, units), the real vectors section 1 of the page computes with."""
        state = self.encode(np.asarray([list(source_ids)], dtype=np.int32))
        decoder_state = state[0]
        query = None
        for word in previous_ids:
            query, decoder_state = self._query(np.asarray([[word]], dtype=np.int32), decoder_state)
        return np.asarray(query)[0, 0], state[1][0]

    def score_parameters(self) -> dict[str, np.ndarray]:
        """The attention layer's learned weights, for `score_numpy`: none for "dot", W for "general",
        W1, W2 and v for "additive" (Keras Dense kernels, as NumPy arrays)."""
        layer = self.attention_layer
        if layer.score == "general":
            return {"W": np.asarray(layer.bank_projection.kernel)}
        if layer.score == "additive":
            return {
                "W1": np.asarray(layer.query_projection.kernel),
                "W2": np.asarray(layer.bank_projection.kernel),
                "v": np.asarray(layer.vector.kernel),
            }
        return {}

    def teacher_forced_probabilities(self, encoded: EncodedPairs, batch_size: int = 256) -> np.ndarray:
        """Next-word probabilities on gold decoder inputs: (sentences, positions, words)."""
        return self.teacher_forced(encoded, batch_size)[1]

    def teacher_forced(self, encoded: EncodedPairs, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Attention weights (sentences, French positions, English positions) and next-word
        probabilities of the model reading the gold French words."""
        weights, probabilities = [], []
        for start in range(0, len(encoded), batch_size):
            part = self._weights(
                encoded.encoder_input[start : start + batch_size], encoded.decoder_input[start : start + batch_size]
            )
            weights.append(np.asarray(part[0]))
            probabilities.append(np.asarray(part[1]))
        return np.concatenate(weights), np.concatenate(probabilities)


class AttentionOverride:
    """A translator that decodes as `translator` does, except that at decoding step `at_step` (1 is
    the first word) it uses the attention row `weights` instead of its own: `greedy_decode` on it
    shows what the next words become. Every other step is the model's own."""

    def __init__(self, translator: AttentionTranslator, at_step: int, weights: np.ndarray):
        self.translator = translator
        self.source_vocabulary = translator.source_vocabulary
        self.target_vocabulary = translator.target_vocabulary
        self.at_step = at_step
        self.weights = np.asarray(weights, dtype=np.float32)
        self.steps_taken = 0

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]:
        self.steps_taken = 0
        return self.translator.encode(source_ids)

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]:
        self.steps_taken += 1
        if self.steps_taken == self.at_step:
            return self.translator.step_with_attention(previous_ids, state, self.weights)
        return self.translator.step(previous_ids, state)


# --------------------------------------------------------------------------------------------------
# Measuring the alignment
# --------------------------------------------------------------------------------------------------


def alignment_accuracy(weights: np.ndarray, encoded: EncodedPairs, alignments: Sequence[Sequence[int]]) -> float:
    """Share of aligned French words whose largest attention weight falls on their gold English word.

    `weights` are teacher-forced attention maps (sentences, French positions, English positions) of
    the sentences in `encoded`; decoder position t predicts French word t, so its row is the one
    that chose that word. `alignments[s][t]` is the English index of French word t, or -1 (no
    single English word: such words are not counted). Words beyond an array's length are skipped.
    """
    hits, total, _ = alignment_counts(weights, encoded, alignments)
    return hits / total if total else float("nan")


def alignment_counts(
    weights: np.ndarray, encoded: EncodedPairs, alignments: Sequence[Sequence[int]]
) -> tuple[int, int, dict[int, int]]:
    """`alignment_accuracy`'s counts: hits, aligned words, and the misses by French word id."""
    hits = total = 0
    misses: dict[int, int] = {}
    for sentence, alignment in enumerate(alignments):
        for position, english_index in enumerate(alignment):
            if english_index < 0 or position >= weights.shape[1] or english_index >= weights.shape[2]:
                continue
            word = int(encoded.decoder_target[sentence, position])
            if word == PAD_ID:
                continue
            total += 1
            if np.argmax(weights[sentence, position]) == english_index:
                hits += 1
            else:
                misses[word] = misses.get(word, 0) + 1
    return hits, total, misses


def alignment_results(translator: AttentionTranslator, pairs, alignments, misses_named: int = 6) -> dict[str, Any]:
    """The teacher-forced alignment accuracy of a translator on pairs with gold alignments, for its
    evaluation: "alignment_accuracy", "alignment_words" (French words counted), "alignment_misses" (the
    `misses_named` French words it misaligns most, with their counts) and "alignment_missed" (all misses)."""
    encoded = encode_pairs(list(pairs), translator.source_vocabulary, translator.target_vocabulary)
    weights, _ = translator.teacher_forced(encoded)
    hits, total, misses = alignment_counts(weights, encoded, alignments)
    return {
        "alignment_accuracy": hits / total,
        "alignment_words": total,
        "alignment_misses": {
            translator.target_vocabulary.words[word]: count
            for word, count in sorted(misses.items(), key=lambda item: -item[1])[:misses_named]
        },
        "alignment_missed": sum(misses.values()),
    }


def gold_weights(encoded: EncodedPairs, alignments: Sequence[Sequence[int]]) -> np.ndarray:
    """Attention maps that put all weight on each French word's gold English word (uniform over the
    sentence's words where it has none): what a perfectly aligned model would show."""
    sentences, positions = encoded.decoder_target.shape
    words = encoded.encoder_input.shape[1]
    maps = np.zeros((sentences, positions, words), dtype=np.float32)
    for sentence, alignment in enumerate(alignments):
        length = max(int((encoded.encoder_input[sentence] != PAD_ID).sum()), 1)
        maps[sentence, :, :length] = 1.0 / length
        for position, english_index in enumerate(alignment[:positions]):
            if 0 <= english_index < words:
                maps[sentence, position] = 0.0
                maps[sentence, position, english_index] = 1.0
    return maps


# --------------------------------------------------------------------------------------------------
# Saving and loading (the Translator's pattern: a .keras file and both vocabularies in one folder)
# --------------------------------------------------------------------------------------------------

save_attention_translator = AttentionTranslator.save
load_attention_translator = AttentionTranslator.load


# --------------------------------------------------------------------------------------------------
# Recency against content: where each output word's evidence comes from
# --------------------------------------------------------------------------------------------------


def occlusion_influence(translator, encoded: EncodedPairs) -> np.ndarray:
    """How much each English word influences each French word: (sentences, French positions, English positions).

    For every English position i, the word there is replaced by <unk> and the teacher-forced
    log-probability of each gold French word is measured again; the influence of i on French word t
    is how much that log-probability fell (0 if it rose), as a share of the falls over the
    sentence's words. It works for any translator of the family (it only needs
    `teacher_forced_probabilities`), so the models with and without attention are measured alike.
    """
    from lib.data.corpus import UNKNOWN_ID

    def gold_log_probabilities(source: np.ndarray) -> np.ndarray:
        pairs = EncodedPairs(source, encoded.decoder_input, encoded.decoder_target)
        probabilities = translator.teacher_forced_probabilities(pairs)
        gold = np.take_along_axis(probabilities, encoded.decoder_target[..., None], axis=-1)[..., 0]
        return np.log(np.maximum(gold, 1e-12))

    full = gold_log_probabilities(encoded.encoder_input)
    real = encoded.encoder_input != PAD_ID
    falls = np.zeros((*full.shape, encoded.encoder_input.shape[1]), dtype=np.float32)
    for position in range(encoded.encoder_input.shape[1]):
        if not real[:, position].any():
            break
        occluded = encoded.encoder_input.copy()
        occluded[real[:, position], position] = UNKNOWN_ID
        falls[:, :, position] = np.maximum(full - gold_log_probabilities(occluded), 0.0) * real[:, None, position]
    return falls / np.maximum(falls.sum(axis=-1, keepdims=True), 1e-12)


def influence_profiles(
    shares: np.ndarray,
    encoded: EncodedPairs,
    alignments: Sequence[Sequence[int]],
    max_offset: int = 6,
    reads_backwards: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Two profiles of `occlusion_influence`'s shares, averaged over the aligned French words:

    - by offset from the gold English word (i − aligned position, from −max_offset to +max_offset):
      content-based importance peaks at 0;
    - the share on the gold word itself, by how many words the encoder read after it (for an
      encoder that reads the sentence backwards, as the Translator's does, the word's position from
      the start; otherwise its distance from the end): if importance fades with recency, a word
      read long ago gets less of it, and the curve falls.
    """
    by_offset = np.zeros(2 * max_offset + 1)
    offset_count = np.zeros(2 * max_offset + 1)
    by_distance = np.zeros(shares.shape[2])
    distance_count = np.zeros(shares.shape[2])
    lengths = (encoded.encoder_input != PAD_ID).sum(axis=1)
    for sentence, alignment in enumerate(alignments):
        length = int(lengths[sentence])
        for position, english_index in enumerate(alignment[: shares.shape[1]]):
            if english_index < 0 or english_index >= length:
                continue
            row = shares[sentence, position, :length]
            for word, share in enumerate(row):
                offset = word - english_index
                if abs(offset) <= max_offset:
                    by_offset[offset + max_offset] += share
                    offset_count[offset + max_offset] += 1
            read_after = english_index if reads_backwards else length - 1 - english_index
            by_distance[read_after] += row[english_index]
            distance_count[read_after] += 1
    with np.errstate(invalid="ignore"):
        return by_offset / offset_count, by_distance / distance_count
