"""The encoder-decoder translator of the Translator page: its model, its training, and saving it.

The notes' seq2seq: an encoder RNN reads the English sentence; its final state starts a decoder RNN
that writes French one word at a time, each output word fed back as the next input, until it
writes </s>. This module holds:

- `build_seq2seq`: the teacher-forcing model (inputs: English ids and <s> + French ids; output: a
  softmax over the French vocabulary at every position), GRU or LSTM, stacked, seeded;
- `compile_seq2seq`: wraps it for `model.fit` (and so for `lib.engine.training.train_live`) with a loss and
  a token accuracy that ignore <pad>, and with optional scheduled sampling (the two-pass parallel
  variant: a first pass on the gold words, then a second, trained pass where each decoder input is
  the model's own first-pass guess with probability p); professor forcing
  (`lib.models.professor_forcing`) builds on this trainer, and this module never imports it;
- the training recipe the three translators share: the cosine learning rate and length-bucketed batches;
- `Seq2SeqTranslator`: an encoder model and a one-step decoder model that share the training
  model's layers (and so its weights, as training goes on), behind the small protocol that every
  decoding function of `lib.models.decoding` uses: `encode(source_ids) -> state` and
  `step(previous_ids, state) -> (probabilities, state, extras)`. The attention and transformer
  pages plug their own models in by implementing these two methods;
- save/load, from the family's base (`lib.models.translator_base.Translator`), as every translator has.

Decoding (greedy and beam), the text box's input handling and the held-out measurements live in
`lib.models.decoding`, and work on any translator that follows the protocol.

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from lib.data.corpus import PAD_ID, EncodedPairs, Vocabulary
from lib.engine.graph_lock import builds_graph
from lib.engine.params import LayerCount, count_dense_params, count_recurrent_params
from lib.models.translator_base import DATA_DIRECTORY, Translator

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

CELLS = ("GRU", "LSTM")
DEFAULT_SETTINGS = {
    "cell": "GRU",
    "units": 256,
    "embedding_size": 64,
    "layers": 1,
    "context_every_step": True,
    "seed": 0,
}
# Adam's peak step size and the batch size of both the page's training from scratch and the shipped
# model's (scripts/train_translator.py); chosen with benchmarks/translator.py.
DEFAULT_LEARNING_RATE = 0.006
DEFAULT_BATCH_SIZE = 64
TRANSLATOR_DIRECTORY = DATA_DIRECTORY / "translator"
MODEL_FILE = "seq2seq.keras"


# --------------------------------------------------------------------------------------------------
# Parameter counts (from the shared counter)
# --------------------------------------------------------------------------------------------------


def seq2seq_layer_counts(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    cell: str = "GRU",
    units: int = 128,
    embedding_size: int = 64,
    layers: int = 1,
    context_every_step: bool = True,
) -> list[LayerCount]:
    """Per-layer parameter counts of `build_seq2seq`'s model, in the order data flows through it.

    An embedding is a dense layer without bias applied to a one-hot word (a table lookup computes
    the same product), so the shared dense counter counts it. With `context_every_step`, the first
    decoder layer reads the word and the context (embedding_size + units inputs) and the softmax
    reads the decoder's state and the context (2 × units inputs).
    """
    context_size = units if context_every_step else 0
    counts: list[LayerCount] = []

    def named(name: str, count: LayerCount) -> LayerCount:
        return LayerCount(name, count.weights, count.biases, count.formula)

    counts.append(
        named("English embedding", count_dense_params(source_vocabulary_size, embedding_size, use_bias=False))
    )
    for layer in range(layers):
        input_size = embedding_size if layer == 0 else units
        counts.append(named(f"encoder {cell} {layer + 1}", count_recurrent_params(cell, input_size, units)))
    counts.append(named("French embedding", count_dense_params(target_vocabulary_size, embedding_size, use_bias=False)))
    for layer in range(layers):
        input_size = embedding_size + context_size if layer == 0 else units
        reads = " (reads word + context)" if layer == 0 and context_every_step else ""
        counts.append(named(f"decoder {cell} {layer + 1}{reads}", count_recurrent_params(cell, input_size, units)))
    reads = " (reads state + context)" if context_every_step else ""
    counts.append(
        named(f"softmax over French words{reads}", count_dense_params(units + context_size, target_vocabulary_size))
    )
    return counts


# --------------------------------------------------------------------------------------------------
# The teacher-forcing model
# --------------------------------------------------------------------------------------------------


def _recurrent_layer(cell: str, units: int, name: str, seed: int):
    import keras

    if cell not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}; expected one of {CELLS}.")
    layer_class = keras.layers.GRU if cell == "GRU" else keras.layers.LSTM
    return layer_class(
        units,
        return_sequences=True,
        return_state=True,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
        name=name,
    )


@builds_graph
def build_seq2seq(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    cell: str = "GRU",
    units: int = 128,
    embedding_size: int = 64,
    layers: int = 1,
    context_every_step: bool = True,
    seed: int = 0,
    reverse_source: bool = True,
) -> keras.Model:
    """The teacher-forcing encoder-decoder: [English ids, <s> + French ids] → next-word probabilities.

    With `reverse_source` the encoder reads the English words last to first (Sutskever et al.,
    2014): the first English words, which the first French words translate, are then the last ones
    read, right before the decoder starts, and the model learns markedly faster. The reversal is a
    layer of the model, so callers always pass English in reading order.

    The encoder's embedding masks <pad>, so each encoder layer's final state is its state after the
    sentence's last real word, not after the padding. Decoder layer i starts from encoder layer i's
    final state.

    With `context_every_step` (Cho et al., 2014) the last encoder layer's final output, the
    *context*, is also handed to every decoder step, beside the previous French word, and to the
    softmax, beside the decoder's state. Without it the decoder must carry the whole sentence in
    its own state, which each step overwrites a little; with it, the summary is read afresh at every
    word. On 24,000 pairs and 2 cores the GRU 256 with it reached 90.1 % held-out token accuracy
    after 4 epochs (43 s), the one without it 89.6 % after 8 (76 s) (data/README.md). Either way one fixed-size vector is the only road from the English
    sentence to the French one: the bottleneck that the attention page removes, by letting each
    decoder step compute its own context from all the encoder's states.
    """
    import keras

    seq2seq_keras_classes()  # Registers the reversal and repeat layers.
    source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
    target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
    # Reversing a row padded at the end puts the padding first, where the mask skips it.
    read = (
        keras.saving.get_registered_object("rnn_playground>ReverseTokens")(name="reverse_english")(source)
        if reverse_source
        else source
    )
    x = keras.layers.Embedding(
        source_vocabulary_size,
        embedding_size,
        mask_zero=True,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
        name="english_embedding",
    )(read)
    encoder_states = []
    for layer in range(layers):
        x, *states = _recurrent_layer(cell, units, f"encoder_{layer + 1}", seed + 10 * (layer + 1))(x)
        encoder_states.append(states)
    # The decoder needs no mask: positions after </s> are padding that the loss and metrics ignore.
    y = keras.layers.Embedding(
        target_vocabulary_size,
        embedding_size,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed + 1),
        name="french_embedding",
    )(target_in)
    if context_every_step:
        context = encoder_states[-1][0]  # The last encoder layer's output after the last real word.
        y = _with_context(y, context, "word_and_context")
    for layer in range(layers):
        y, *_ = _recurrent_layer(cell, units, f"decoder_{layer + 1}", seed + 100 + 10 * (layer + 1))(
            y, initial_state=encoder_states[layer]
        )
    if context_every_step:
        y = _with_context(y, context, "state_and_context")
    probabilities = keras.layers.Dense(
        target_vocabulary_size,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2),
        name="next_word",
    )(y)
    return keras.Model([source, target_in], probabilities, name=f"seq2seq_{cell.lower()}")


def _with_context(sequence, context, name: str):
    """Each time step of `sequence` followed by the same `context` vector: (batch, time, features + units)."""
    import keras

    repeat = keras.saving.get_registered_object("rnn_playground>RepeatAlongTime")
    return keras.layers.Concatenate(name=name)([sequence, repeat(name=f"{name}_repeat")([context, sequence])])


def model_settings(model: keras.Model) -> dict[str, Any]:
    """Cell, units, embedding size and layers of a model made by `build_seq2seq` (read off its layers)."""
    encoders = [layer for layer in model.layers if layer.name.startswith("encoder_")]
    names = {layer.name for layer in model.layers}
    return {
        "cell": type(encoders[0]).__name__,
        "units": int(encoders[0].units),
        "embedding_size": int(model.get_layer("english_embedding").output_dim),
        "layers": len(encoders),
        "context_every_step": "word_and_context" in names,
        "reverse_source": "reverse_english" in names,
    }


# --------------------------------------------------------------------------------------------------
# Loss, token accuracy and scheduled sampling
# --------------------------------------------------------------------------------------------------


def masked_crossentropy(y_true, y_pred):
    """Mean cross-entropy over the real words of the batch; <pad> positions count for nothing."""
    import keras
    from keras import ops

    mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
    losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)


class Seq2SeqClasses(NamedTuple):
    """The seq2seq's Keras classes that are not layers of the model: its metric and its trainer."""

    token_accuracy: type
    trainer: type


@functools.cache
def seq2seq_keras_classes() -> Seq2SeqClasses:
    """Keras subclasses, defined once per process and only when a page first needs them (the layers
    are registered for safe-mode loading on the way)."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class ReverseTokens(keras.layers.Layer):
        """Reverse each row of token ids along time (the padding at the end comes first)."""

        def call(self, ids):
            return ops.flip(ids, axis=1)

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class RepeatAlongTime(keras.layers.Layer):
        """[vector (batch, units), sequence (batch, time, …)] → the vector at every time step of the sequence."""

        def call(self, inputs):
            vector, sequence = inputs
            return ops.broadcast_to(
                ops.expand_dims(vector, 1), (ops.shape(sequence)[0], ops.shape(sequence)[1], ops.shape(vector)[-1])
            )

        def compute_output_shape(self, input_shapes):
            vector_shape, sequence_shape = input_shapes
            return (vector_shape[0], sequence_shape[1], vector_shape[-1])

    class TokenAccuracy(keras.metrics.Metric):
        """Share of real target words predicted right (argmax), over all batches of the epoch; <pad> ignored."""

        def __init__(self, name="token_accuracy", **kwargs):
            super().__init__(name=name, **kwargs)
            self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = ops.cast(y_true, "int32")
            mask = ops.not_equal(y_true, PAD_ID)
            hits = ops.logical_and(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), y_true), mask)
            self.correct.assign_add(ops.sum(ops.cast(hits, "float32")))
            self.total.assign_add(ops.sum(ops.cast(mask, "float32")))

        def result(self):
            return self.correct / ops.maximum(self.total, 1.0)

        def reset_state(self):
            self.correct.assign(0.0)
            self.total.assign(0.0)

    class Seq2SeqTrainer(keras.Model):
        """What `model.fit` trains: the teacher-forcing model, with scheduled sampling when p > 0.

        With p > 0, each training batch takes two passes (the parallel variant of scheduled
        sampling): a first pass on the gold decoder inputs, without gradient, gives the model's own
        guess at every position; each decoder input after <s> is then replaced by the guess for it
        with probability p, and the second pass, on these mixed inputs, is the one trained. At
        evaluation (validation data, `training=False`) the model is teacher-forced, as usual.
        """

        def __init__(self, seq2seq, sampling_probability: float = 0.0, seed: int = 0, **kwargs):
            super().__init__(**kwargs)
            self.seq2seq = seq2seq
            self.sampling_probability = float(sampling_probability)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs, training=False):
            source, target_in = inputs
            if training and self.sampling_probability > 0:
                target_in = self.mix_in_own_guesses(source, target_in)
            return self.seq2seq([source, target_in], training=training)

        def mix_in_own_guesses(self, source, target_in):
            first_pass = ops.stop_gradient(self.seq2seq([source, target_in], training=False))
            guesses = ops.cast(ops.argmax(first_pass, axis=-1), target_in.dtype)
            # The guess at position t is for the word at t + 1: shift right, keeping <s> first.
            shifted = ops.concatenate([target_in[:, :1], guesses[:, :-1]], axis=1)
            coin = keras.random.uniform(ops.shape(target_in), seed=self.seed_generator)
            positions = ops.arange(ops.shape(target_in)[1])[None, :]
            replace = ops.logical_and(coin < self.sampling_probability, positions > 0)
            replace = ops.logical_and(replace, ops.not_equal(target_in, PAD_ID))
            return ops.where(replace, shifted, target_in)

    return Seq2SeqClasses(TokenAccuracy, Seq2SeqTrainer)


def compile_seq2seq(
    model: keras.Model,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    sampling_probability: float = 0.0,
    seed: int = 0,
) -> keras.Model:
    """A compiled trainer around `model` for `model.fit` / `train_live`; its logs hold "loss" and
    "token_accuracy" (and "val_" ones with validation data). The weights are `model`'s own.

    Professor forcing builds its own trainer on this one (`lib.models.professor_forcing.compile_professor_forcing`).
    """
    trainer = seq2seq_keras_classes().trainer(
        model, sampling_probability=sampling_probability, seed=seed, name=f"{model.name}_trainer"
    )
    return compile_trainer(trainer, learning_rate)


def compile_trainer(trainer: keras.Model, learning_rate: float = DEFAULT_LEARNING_RATE) -> keras.Model:
    """Compile a trainer of the family with Adam (clipped), the masked loss and the token accuracy."""
    import keras

    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=masked_crossentropy,
        metrics=[seq2seq_keras_classes().token_accuracy()],
    )
    return trainer


def cosine_learning_rate(total_steps: int, peak: float = DEFAULT_LEARNING_RATE):
    """Adam's step size: `peak`, brought down along a cosine to 5 % of it by the last planned batch.

    Large steps early, small ones at the end, where they settle the weights. In
    benchmarks/translator.py, before the context at every step was the default (GRU 256, state only,
    8 epochs of 24,000 pairs), the held-out token accuracy after 8 epochs went from 88.4 % with a
    constant 0.004 to 89.9 % with the cosine.
    """
    import keras

    return keras.optimizers.schedules.CosineDecay(peak, decay_steps=max(1, total_steps), alpha=0.05)


# --------------------------------------------------------------------------------------------------
# Length-bucketed batches
# --------------------------------------------------------------------------------------------------

# Sentences are grouped by their length rounded up to a multiple of this many words. With 1, a batch
# holds sentences of one length, so only the shorter side of a pair is padded. Many lengths cost no
# retracing: Keras declares a dimension on which a PyDataset's batches differ as unknown (see
# `_shape_revealing_order`). On the default corpus, 1 instead of 5 cut the padded work by a sixth
# and an epoch from 24 s to 21 s (data/README.md, translator/).
BUCKET_WORDS = 1


def bucketed_batches(
    encoded: EncodedPairs, batch_size: int = DEFAULT_BATCH_SIZE, bucket_words: int = BUCKET_WORDS, seed: int = 0
) -> list[np.ndarray]:
    """Row indices of each batch: sentences grouped by length, shuffled once (seeded), then cut.

    A sentence's bucket is its longer side (English, or French with </s>) rounded up to a multiple
    of `bucket_words`; each batch holds sentences of one bucket only, and the batches are put in
    one seeded random order, kept for every epoch.
    """
    generator = np.random.default_rng(seed)
    source_lengths = (encoded.encoder_input != PAD_ID).sum(axis=1)
    target_lengths = (encoded.decoder_target != PAD_ID).sum(axis=1)
    buckets = -(-np.maximum(source_lengths, target_lengths) // bucket_words)
    batches: list[np.ndarray] = []
    batch_buckets: list[int] = []
    for bucket in np.unique(buckets):
        rows = generator.permutation(np.flatnonzero(buckets == bucket))
        for start in range(0, len(rows), batch_size):
            batches.append(rows[start : start + batch_size])
            batch_buckets.append(int(bucket))
    order = list(generator.permutation(len(batches)))
    return [batches[index] for index in _shape_revealing_order(order, batch_buckets, [len(b) for b in batches])]


def _shape_revealing_order(order: list[int], buckets: list[int], sizes: list[int]) -> list[int]:
    """Put first two batches that differ in length and in size, wherever the batches differ at all.

    Keras reads the shapes of a PyDataset's first two batches and declares them for every batch: a
    dimension on which those two agree is fixed, and a later batch that differs there is refused.
    """
    lengths_vary, sizes_vary = len(set(buckets)) > 1, len(set(sizes)) > 1
    if not (lengths_vary or sizes_vary):
        return order

    def differ(a: int, b: int) -> bool:
        return (not lengths_vary or buckets[a] != buckets[b]) and (not sizes_vary or sizes[a] != sizes[b])

    for first in order:
        second = next((b for b in order if differ(first, b)), None)
        if second is not None:
            rest = [index for index in order if index not in (first, second)]
            return [first, second, *rest]
    return order


def bucketed_dataset(
    encoded: EncodedPairs, batch_size: int = DEFAULT_BATCH_SIZE, bucket_words: int = BUCKET_WORDS, seed: int = 0
):
    """A `keras.utils.PyDataset` of teacher-forcing batches, each padded only to its bucket's length.

    It has the `batch_sizes` attribute that `lib.engine.training.train_live` reads, and its batches stay
    in the same order every epoch (shuffled once, seeded, when it is made); between epochs, the
    sentences of each bucket are dealt afresh into that bucket's batches (sizes unchanged). On the default corpus
    most sentences are short, so a batch is about a third as long as one padded to the longest sentence.
    """
    return _bucketed_dataset_class()(
        encoded, bucketed_batches(encoded, batch_size, bucket_words, seed), bucket_words, seed + 1
    )


@functools.cache
def _bucketed_dataset_class():
    import keras

    class BucketedPairs(keras.utils.PyDataset):
        def __init__(self, encoded: EncodedPairs, batches: list[np.ndarray], bucket_words: int, seed: int):
            super().__init__()
            self.encoded = encoded
            self.batches = batches
            self.batch_sizes = [len(rows) for rows in batches]
            self.bucket_words = bucket_words
            self.generator = np.random.default_rng(seed)

        def __len__(self) -> int:
            return len(self.batches)

        def on_epoch_end(self):
            """Deal each bucket's sentences afresh into that bucket's batches (seeded): every batch
            keeps its size, length and place in the order, so the engine's `batch_sizes` still hold,
            but no two epochs see the same batches."""
            lengths = [self._length(rows) for rows in self.batches]
            for length in set(lengths):
                places = [index for index, value in enumerate(lengths) if value == length]
                rows = self.generator.permutation(np.concatenate([self.batches[index] for index in places]))
                start = 0
                for index in places:
                    size = len(self.batches[index])
                    self.batches[index] = rows[start : start + size]
                    start += size

        def _length(self, rows: np.ndarray) -> int:
            longest = max(
                int((self.encoded.encoder_input[rows] != PAD_ID).sum(axis=1).max()),
                int((self.encoded.decoder_target[rows] != PAD_ID).sum(axis=1).max()),
            )
            return -(-longest // self.bucket_words) * self.bucket_words

        def __getitem__(self, index: int):
            rows = self.batches[index]
            source = self.encoded.encoder_input[rows]
            target_in = self.encoded.decoder_input[rows]
            target = self.encoded.decoder_target[rows]
            length = self._length(rows)
            return (_fit(source, length), _fit(target_in, length)), _fit(target, length)

    return BucketedPairs


def _fit(array: np.ndarray, length: int) -> np.ndarray:
    """Cut or pad (with <pad> = 0) the columns of a padded array to `length`."""
    if array.shape[1] >= length:
        return np.ascontiguousarray(array[:, :length])
    return np.pad(array, ((0, 0), (0, length - array.shape[1])))


# --------------------------------------------------------------------------------------------------
# The seq2seq model behind the decoding protocol (lib.models.decoding.StepTranslator)
# --------------------------------------------------------------------------------------------------


@builds_graph
def decoding_models(model: keras.Model) -> tuple[keras.Model, keras.Model]:
    """The encoder model and the one-step decoder model of a `build_seq2seq` model, over its own layers.

    Both are new graphs over the training model's layers, so they always use its current weights.
    The encoder model maps English ids to every decoder layer's starting state, followed by the
    context when the model reads one at every step. The step model maps [previous word ids (batch,
    1), the states…, the context] to [next-word probabilities, the new states…]; a GRU layer's new
    state is its output, an LSTM layer's first state (h) is. The translator decodes with them, and
    the professor-forcing trainer runs the decoder on its own outputs with them.
    """
    import keras

    settings = model_settings(model)
    cell, units, layers = settings["cell"], settings["units"], settings["layers"]
    with_context = settings["context_every_step"]
    states_per_layer = 2 if cell == "LSTM" else 1

    source = keras.Input(shape=(None,), dtype="int32")
    read = model.get_layer("reverse_english")(source) if settings["reverse_source"] else source
    x = model.get_layer("english_embedding")(read)
    encoder_states = []
    for layer in range(layers):
        x, *states = model.get_layer(f"encoder_{layer + 1}")(x)
        encoder_states.extend(states)
    # The context is the last layer's output after the last word: its first state (h for an LSTM).
    context_outputs = [encoder_states[(layers - 1) * states_per_layer]] if with_context else []
    encoder_model = keras.Model(source, [*encoder_states, *context_outputs])

    def reuse_with_context(name: str, sequence, context):
        """The training model's own concatenation (and its repeat layer) applied to a one-step sequence."""
        repeated = model.get_layer(f"{name}_repeat")([context, sequence])
        return model.get_layer(name)([sequence, repeated])

    previous = keras.Input(shape=(1,), dtype="int32")
    state_inputs = [keras.Input(shape=(units,)) for _ in range(layers * states_per_layer)]
    context = keras.Input(shape=(units,))
    y = model.get_layer("french_embedding")(previous)
    if with_context:
        y = reuse_with_context("word_and_context", y, context)
    new_states = []
    for layer in range(layers):
        initial = state_inputs[layer * states_per_layer : (layer + 1) * states_per_layer]
        y, *states = model.get_layer(f"decoder_{layer + 1}")(y, initial_state=initial)
        new_states.extend(states)
    if with_context:
        y = reuse_with_context("state_and_context", y, context)
    probabilities = model.get_layer("next_word")(y[:, 0, :])
    step_inputs = [previous, *state_inputs, *([context] if with_context else [])]
    return encoder_model, keras.Model(step_inputs, [probabilities, *new_states])


class Seq2SeqTranslator(Translator):
    """A trained (or training) seq2seq model ready to decode, one step at a time, without rebuilding.

    The encoder model and the one-step decoder model are new graphs over the training model's
    layers, so they always use its current weights: the held-out BLEU callback decodes with the
    weights of the epoch that just ended. With a context at every step, the context is the last
    item of the decoding state: `encode` returns it, and `step` passes it on unchanged.
    """

    MODEL_FILE = MODEL_FILE
    DIRECTORY = TRANSLATOR_DIRECTORY

    @classmethod
    def register_layers(cls) -> None:
        seq2seq_keras_classes()  # Registers the reversal and repeat layers.

    @builds_graph
    def __init__(self, model: keras.Model, source_vocabulary: Vocabulary, target_vocabulary: Vocabulary):
        import tensorflow as tf

        self.model = getattr(model, "seq2seq", model)  # A trainer holds the seq2seq model.
        self.source_vocabulary = source_vocabulary
        self.target_vocabulary = target_vocabulary
        self.settings = model_settings(self.model)
        self.with_context = self.settings["context_every_step"]
        self.encoder_model, self.step_model = decoding_models(self.model)
        units = self.settings["units"]
        step_inputs = self.step_model.inputs

        # Compiled graphs: an eager Keras call costs milliseconds, a traced one a fraction of that,
        # which is what lets one sentence translate in well under 0.1 s.
        state_spec = [tf.TensorSpec((None, units), tf.float32) for _ in step_inputs[1:]]
        self._encode = tf.function(
            lambda ids: self.encoder_model(ids, training=False),
            input_signature=[tf.TensorSpec((None, None), tf.int32)],
        )
        self._step = tf.function(
            lambda ids, *states: self.step_model([ids, *states], training=False),
            input_signature=[tf.TensorSpec((None, 1), tf.int32), *state_spec],
        )
        # Traced once for any batch and lengths: the occlusion measure of the attention page calls
        # it once per English position.
        self._teacher_forced = tf.function(
            lambda source, target: self.model([source, target], training=False),
            input_signature=[tf.TensorSpec((None, None), tf.int32)] * 2,
        )

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]:
        source_ids = np.asarray(source_ids, dtype=np.int32)
        if source_ids.ndim == 1:
            source_ids = source_ids[None, :]
        states = self._encode(source_ids)
        states = states if isinstance(states, (list, tuple)) else [states]
        return [np.asarray(state) for state in states]

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]:
        previous = np.asarray(previous_ids, dtype=np.int32).reshape(-1, 1)
        probabilities, *new_state = self._step(previous, *state)
        # The context never changes while decoding: it rides along as the state's last item.
        carried = [state[-1]] if self.with_context else []
        return np.asarray(probabilities), [np.asarray(s) for s in new_state] + carried, {}


# --------------------------------------------------------------------------------------------------
# Saving and loading (`lib.models.translator_base.Translator`: the model file and both vocabularies)
# --------------------------------------------------------------------------------------------------

save_translator = Seq2SeqTranslator.save
load_translator = Seq2SeqTranslator.load
