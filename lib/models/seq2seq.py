"""The encoder-decoder translator of the Translator page, and the decoding loop that later pages reuse.

The notes' seq2seq: an encoder RNN reads the English sentence; its final state starts a decoder RNN
that writes French one word at a time, each output word fed back as the next input, until it
writes </s>. This module holds:

- `build_seq2seq`: the teacher-forcing model (inputs: English ids and <s> + French ids; output: a
  softmax over the French vocabulary at every position), GRU or LSTM, stacked, seeded;
- `compile_seq2seq`: wraps it for `model.fit` (and so for `lib.engine.training.train_live`) with a loss and
  a token accuracy that ignore <pad>, and with optional scheduled sampling (the two-pass parallel
  variant: a first pass on the gold words, then a second, trained pass where each decoder input is
  the model's own first-pass guess with probability p);
- `Seq2SeqTranslator`: an encoder model and a one-step decoder model that share the training
  model's layers (and so its weights, as training goes on), behind the small protocol that every
  decoding function here uses: `encode(source_ids) -> state` and
  `step(previous_ids, state) -> (probabilities, state, extras)`. The attention and transformer
  pages plug their own models in by implementing these two methods (their `extras` can carry the
  attention weights of the step, which `greedy_decode` keeps in its trace);
- greedy decoding (traced step by step, and batched for evaluation), beam search, the text box's
  input handling, the train/test mismatch measured (teacher-forced against greedy token accuracy),
  a Keras callback writing the held-out BLEU into the epoch logs, and save/load.

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np
import pandas as pd

from lib.data.bleu import corpus_bleu, exact_match_rate
from lib.data.corpus import END_ID, PAD_ID, START_ID, UNKNOWN, EncodedPairs, Vocabulary, encode_pairs, tokenize
from lib.engine.params import LayerCount, count_dense_params, count_recurrent_params

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

CELLS = ("GRU", "LSTM")
DEFAULT_SETTINGS = {"cell": "GRU", "units": 256, "embedding_size": 64, "layers": 1, "context_every_step": True, "seed": 0}
# Adam's peak step size and the batch size of both the page's training from scratch and the shipped
# model's (scripts/train_translator.py); chosen with benchmarks/translator.py.
DEFAULT_LEARNING_RATE = 0.006
DEFAULT_BATCH_SIZE = 64
TRANSLATOR_DIRECTORY = Path(__file__).parents[2] / "data" / "translator"
# The text box translates at most this many English words; longer input is cut with a warning.
MAX_INPUT_WORDS = 40


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

    counts.append(named("English embedding", count_dense_params(source_vocabulary_size, embedding_size, use_bias=False)))
    for layer in range(layers):
        input_size = embedding_size if layer == 0 else units
        counts.append(named(f"encoder {cell} {layer + 1}", count_recurrent_params(cell, input_size, units)))
    counts.append(named("French embedding", count_dense_params(target_vocabulary_size, embedding_size, use_bias=False)))
    for layer in range(layers):
        input_size = embedding_size + context_size if layer == 0 else units
        reads = " (reads word + context)" if layer == 0 and context_every_step else ""
        counts.append(named(f"decoder {cell} {layer + 1}{reads}", count_recurrent_params(cell, input_size, units)))
    reads = " (reads state + context)" if context_every_step else ""
    counts.append(named(f"softmax over French words{reads}",
                        count_dense_params(units + context_size, target_vocabulary_size)))
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
) -> "keras.Model":
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

    _keras_classes()  # Registers the reversal and repeat layers.
    source = keras.Input(shape=(None,), dtype="int32", name="english_ids")
    target_in = keras.Input(shape=(None,), dtype="int32", name="french_ids_in")
    # Reversing a row padded at the end puts the padding first, where the mask skips it.
    read = keras.saving.get_registered_object("rnn_playground>ReverseTokens")(name="reverse_english")(source) \
        if reverse_source else source
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


def model_settings(model: "keras.Model") -> dict[str, Any]:
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
    from keras import ops

    import keras

    mask = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
    losses = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    return ops.sum(losses * mask) / ops.maximum(ops.sum(mask), 1.0)


@functools.cache
def _keras_classes():
    """Keras subclasses, defined once per process and only when a page first needs them."""
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
            return ops.broadcast_to(ops.expand_dims(vector, 1),
                                    (ops.shape(sequence)[0], ops.shape(sequence)[1], ops.shape(vector)[-1]))

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

    return TokenAccuracy, Seq2SeqTrainer


def compile_seq2seq(
    model: "keras.Model",
    learning_rate: float = DEFAULT_LEARNING_RATE,
    sampling_probability: float = 0.0,
    seed: int = 0,
    adversarial_weight: float | None = None,
) -> "keras.Model":
    """A compiled trainer around `model` for `model.fit` / `train_live`; its logs hold "loss" and
    "token_accuracy" (and "val_" ones with validation data). The weights are `model`'s own.

    With `adversarial_weight` (a number, not None) it trains by professor forcing instead
    (`_professor_forcing_class`), and its logs also hold "discriminator_accuracy" and "fooling_loss".
    """
    import keras

    token_accuracy_class, trainer_class = _keras_classes()
    if adversarial_weight is not None:
        trainer = _professor_forcing_class()(model, adversarial_weight=adversarial_weight, seed=seed,
                                             name=f"{model.name}_professor_trainer")
    else:
        trainer = trainer_class(model, sampling_probability=sampling_probability, seed=seed,
                                name=f"{model.name}_trainer")
    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0),
        loss=masked_crossentropy,
        metrics=[token_accuracy_class()],
    )
    return trainer


# --------------------------------------------------------------------------------------------------
# Professor forcing (Lamb et al., 2016)
# --------------------------------------------------------------------------------------------------

# The discriminator's size and step size: small beside the seq2seq (GRU 256), so that it costs
# little of the press; Lamb et al. do not prescribe these for a model of this size.
DISCRIMINATOR_UNITS = 64
DISCRIMINATOR_LEARNING_RATE = 0.001
DEFAULT_ADVERSARIAL_WEIGHT = 1.0


def build_discriminator(state_size: int, units: int = DISCRIMINATOR_UNITS, seed: int = 0) -> "keras.Model":
    """Lamb et al.'s discriminator: a bidirectional GRU reads a decoder's hidden-state sequence
    (batch, time, state_size), an MLP on its two final states gives one logit per sequence,
    positive for "teacher-forced", negative for "free-running". Padded positions arrive as zeros
    in both kinds of sequence, so they tell the two apart by nothing."""
    import keras

    states = keras.Input(shape=(None, state_size), name="decoder_states")
    read = keras.layers.Bidirectional(
        keras.layers.GRU(units, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 300),
                         recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 301)),
        name="reads_both_ways",
    )(states)
    hidden = keras.layers.Dense(units, activation="relu",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 302), name="mlp")(read)
    logit = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 303),
                               name="teacher_forced_logit")(hidden)
    return keras.Model(states, logit, name="discriminator")


@functools.cache
def _professor_forcing_class():
    """The professor-forcing trainer, defined once per process and only when a page first needs it."""
    import keras
    import tensorflow as tf
    from keras import ops

    _, trainer_class = _keras_classes()

    @keras.saving.register_keras_serializable(package="rnn_playground")
    class ProfessorForcingTrainer(trainer_class):
        """What `model.fit` trains for professor forcing: the seq2seq and a discriminator, each with
        its own optimizer, in one training step.

        Each batch runs the decoder twice from the same encoder state: teacher-forced (the gold
        words in) and free-running (its own previous word in, as long as the batch's French side).
        The free run feeds back the argmax, not a sample as Lamb et al. do: the mismatch this page
        measures is greedy decoding's, so the free runs the discriminator sees are the ones the
        greedy accuracy is measured on (and the step is deterministic). The discriminator learns,
        by binary cross-entropy, to call the last decoder layer's hidden states of the teacher-forced
        run "teacher-forced" and those of the free run "free"; the seq2seq learns the usual
        next-word cross-entropy on the teacher-forced run plus `adversarial_weight` times the
        cross-entropy of the discriminator calling its free run "teacher-forced". Of the paper's two
        generator terms this keeps the one that pulls the free run towards the teacher-forced one,
        not the one that pulls the teacher-forced run towards the free one. Each loss's gradient is
        taken with respect to its own side's weights only, so the discriminator's update never
        changes the seq2seq and the seq2seq's update never changes the discriminator.

        The logs hold "loss" (the next-word cross-entropy, as for teacher forcing, so the curves
        compare), "token_accuracy" (teacher-forced), "discriminator_accuracy" (its share of the
        batch's 2 × sentences told right) and "fooling_loss" (the adversarial term). Validation is
        teacher-forced, as for the other trainers.
        """

        def __init__(self, seq2seq, adversarial_weight: float = DEFAULT_ADVERSARIAL_WEIGHT,
                     discriminator_units: int = DISCRIMINATOR_UNITS, seed: int = 0, **kwargs):
            super().__init__(seq2seq, sampling_probability=0.0, seed=seed, **kwargs)
            self.adversarial_weight = float(adversarial_weight)
            settings = model_settings(seq2seq)
            self.decoder_layers = settings["layers"]
            self.last_decoder = f"decoder_{self.decoder_layers}"
            # The last decoder layer's hidden state is its output (its first state for an LSTM).
            self.states_per_layer = 2 if settings["cell"] == "LSTM" else 1
            self.last_hidden_index = (settings["layers"] - 1) * self.states_per_layer
            self.with_context = settings["context_every_step"]
            # The teacher-forced run with the last decoder layer's outputs: `.output` is a layer's
            # output in the graph it was first called in, the training model's.
            self.forced_model = keras.Model(
                seq2seq.inputs, [seq2seq.output, seq2seq.get_layer(self.last_decoder).output[0]])
            self.encoder_model, _ = decoding_models(seq2seq)
            self.discriminator = build_discriminator(settings["units"], discriminator_units, seed)
            self.discriminator_optimizer = keras.optimizers.Adam(DISCRIMINATOR_LEARNING_RATE, clipnorm=5.0)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
            self.discriminator_accuracy = keras.metrics.Mean(name="discriminator_accuracy")
            self.fooling_loss = keras.metrics.Mean(name="fooling_loss")

        def decoder_step(self, previous, states, context):
            """One decoder step on word ids (batch,): the training model's own layers, each
            recurrent layer through its cell, which spares a recurrent loop of one step inside the
            free run's loop (a first version through the step model cost 7 times teacher forcing
            per epoch, against about 2 for this one; data/README.md). Returns the next-word
            probabilities and the new states, laid out as the step model's."""
            y = self.seq2seq.get_layer("french_embedding")(previous)
            if self.with_context:
                y = self.seq2seq.get_layer("word_and_context")([y, context])
            new_states = []
            for layer in range(self.decoder_layers):
                own = states[layer * self.states_per_layer : (layer + 1) * self.states_per_layer]
                y, layer_states = self.seq2seq.get_layer(f"decoder_{layer + 1}").cell(y, own, training=True)
                new_states.extend(layer_states if isinstance(layer_states, (list, tuple)) else [layer_states])
            if self.with_context:
                y = self.seq2seq.get_layer("state_and_context")([y, context])
            return self.seq2seq.get_layer("next_word")(y), new_states

        def free_run(self, source, length):
            """The decoder on its own outputs for `length` steps: (its last layer's hidden states
            (batch, length, units), the word ids it fed back (batch, length)). A symbolic loop over
            the steps, inside the training step's graph, differentiable through the states."""
            encoded = self.encoder_model(source, training=True)
            encoded = list(encoded) if isinstance(encoded, (list, tuple)) else [encoded]
            context = encoded[-1] if self.with_context else None
            states = encoded[:-1] if self.with_context else encoded
            batch = ops.shape(source)[0]
            previous = tf.fill(tf.reshape(batch, [1]), tf.constant(START_ID, tf.int32))
            hidden = tf.TensorArray(tf.float32, size=length)
            chosen = tf.TensorArray(tf.int32, size=length)

            def step(position, previous, states, hidden, chosen):
                probabilities, new_states = self.decoder_step(previous, states, context)
                word = tf.cast(tf.argmax(probabilities, axis=-1), tf.int32)
                hidden = hidden.write(position, new_states[self.last_hidden_index])
                chosen = chosen.write(position, word)
                return position + 1, word, new_states, hidden, chosen

            _, _, _, hidden, chosen = tf.while_loop(
                lambda position, *_: position < length, step, (tf.constant(0), previous, list(states), hidden, chosen))
            return tf.transpose(hidden.stack(), [1, 0, 2]), tf.transpose(chosen.stack())

        def train_step(self, data):
            (source, target_in), target = data[:2]
            seq2seq_weights = self.seq2seq.trainable_variables
            discriminator_weights = self.discriminator.trainable_variables
            with tf.GradientTape(persistent=True) as tape:
                probabilities, forced_states = self.forced_model([source, target_in], training=True)
                free_states, _ = self.free_run(source, ops.shape(target)[1])
                real = ops.cast(ops.not_equal(target, PAD_ID), "float32")[:, :, None]
                # One discriminator call on both runs stacked along the batch: half the small
                # recurrent steps of two calls, which is what a step of this size costs on a CPU.
                logits = self.discriminator(ops.concatenate([forced_states * real, free_states * real]), training=True)
                forced_logits, free_logits = logits[: ops.shape(source)[0]], logits[ops.shape(source)[0]:]
                next_word_loss = masked_crossentropy(target, probabilities)
                fooling = ops.mean(ops.binary_crossentropy(ops.ones_like(free_logits), free_logits, from_logits=True))
                seq2seq_loss = next_word_loss + self.adversarial_weight * fooling
                discriminator_loss = 0.5 * (
                    ops.mean(ops.binary_crossentropy(ops.ones_like(forced_logits), forced_logits, from_logits=True))
                    + ops.mean(ops.binary_crossentropy(ops.zeros_like(free_logits), free_logits, from_logits=True)))
            self.optimizer.apply_gradients(zip(tape.gradient(seq2seq_loss, seq2seq_weights), seq2seq_weights))
            self.discriminator_optimizer.apply_gradients(
                zip(tape.gradient(discriminator_loss, discriminator_weights), discriminator_weights))
            del tape
            told_right = ops.concatenate([ops.cast(forced_logits > 0, "float32"), ops.cast(free_logits <= 0, "float32")])
            sentences = ops.shape(source)[0]
            # Weighted by the batch's sentences, like Keras's own loss mean, so the engine can turn
            # the running epoch means back into per-batch values.
            self._loss_tracker.update_state(next_word_loss, sample_weight=sentences)
            self.discriminator_accuracy.update_state(ops.mean(told_right), sample_weight=sentences)
            self.fooling_loss.update_state(fooling, sample_weight=sentences)
            return self.compute_metrics((source, target_in), target, probabilities)

    return ProfessorForcingTrainer


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
    return _bucketed_dataset_class()(encoded, bucketed_batches(encoded, batch_size, bucket_words, seed), bucket_words,
                                     seed + 1)


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
            longest = max(int((self.encoded.encoder_input[rows] != PAD_ID).sum(axis=1).max()),
                          int((self.encoded.decoder_target[rows] != PAD_ID).sum(axis=1).max()))
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
# The decoding protocol, and the seq2seq model behind it
# --------------------------------------------------------------------------------------------------


class StepTranslator(Protocol):
    """What every decoding function needs from a model; the attention pages implement it too.

    `state` is a list of arrays whose first axis is the batch (beam search reorders them by that
    axis). `extras` is a dict of per-batch arrays (attention weights, say), or empty.
    """

    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary

    def encode(self, source_ids: np.ndarray) -> list[np.ndarray]: ...

    def step(self, previous_ids: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray], dict]: ...


def decoding_models(model: "keras.Model") -> tuple["keras.Model", "keras.Model"]:
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


class Seq2SeqTranslator:
    """A trained (or training) seq2seq model ready to decode, one step at a time, without rebuilding.

    The encoder model and the one-step decoder model are new graphs over the training model's
    layers, so they always use its current weights: the held-out BLEU callback decodes with the
    weights of the epoch that just ended. With a context at every step, the context is the last
    item of the decoding state: `encode` returns it, and `step` passes it on unchanged.
    """

    def __init__(self, model: "keras.Model", source_vocabulary: Vocabulary, target_vocabulary: Vocabulary):
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

    def teacher_forced_probabilities(self, encoded: EncodedPairs, batch_size: int = 256) -> np.ndarray:
        """The training model's next-word probabilities on gold decoder inputs: (sentences, positions, words)."""
        parts = []
        for start in range(0, len(encoded), batch_size):
            parts.append(np.asarray(self._teacher_forced(
                encoded.encoder_input[start : start + batch_size], encoded.decoder_input[start : start + batch_size])))
        return np.concatenate(parts, axis=0)


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


@dataclass
class DecodeStep:
    """One step of greedy decoding: the candidates for the next word and the one fed back."""

    position: int
    top_words: list[tuple[str, float]]  # the top-k next words with their probabilities, best first
    chosen: str
    chosen_probability: float
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. the attention weights of this step


@dataclass
class DecodeTrace:
    token_ids: list[int]  # the output, without </s>
    words: list[str]
    text: str
    stopped_at_end: bool  # False when the length cap ended decoding before </s>
    steps: list[DecodeStep]

    @property
    def log_probability(self) -> float:
        return float(sum(math.log(max(step.chosen_probability, 1e-12)) for step in self.steps))

    def steps_frame(self) -> pd.DataFrame:
        """One row per step and candidate, for a table or chart: step, rank, word, probability, fed_back."""
        rows = [
            {"step": step.position, "rank": rank + 1, "word": word, "probability": probability,
             "fed_back": word == step.chosen}
            for step in self.steps
            for rank, (word, probability) in enumerate(step.top_words)
        ]
        return pd.DataFrame(rows, columns=["step", "rank", "word", "probability", "fed_back"])


def default_max_length(source_length: int) -> int:
    """The length cap of decoding: French runs a little longer than English (ne … pas, parce que)."""
    return int(2 * source_length + 5)


def greedy_decode(
    translator: StepTranslator, source_ids: Sequence[int], max_length: int | None = None, top_k: int = 5
) -> DecodeTrace:
    """Decode one sentence greedily, feeding each most probable word back, until </s> or `max_length` words.

    Every step records the top-k candidates and their probabilities, so a page can replay it.
    """
    source_ids = [int(i) for i in source_ids]
    max_length = max_length or default_max_length(len(source_ids))
    vocabulary = translator.target_vocabulary
    state = translator.encode(np.asarray([source_ids or [PAD_ID]], dtype=np.int32))
    previous = START_ID
    output: list[int] = []
    steps: list[DecodeStep] = []
    stopped = False
    for position in range(max_length + 1):  # + 1: room for </s> after max_length words
        probabilities, state, extras = translator.step(np.asarray([previous]), state)
        row = probabilities[0]
        best = np.argsort(-row, kind="stable")[:top_k]
        chosen = int(best[0])
        steps.append(DecodeStep(
            position=position + 1,
            top_words=[(vocabulary.words[i], float(row[i])) for i in best],
            chosen=vocabulary.words[chosen],
            chosen_probability=float(row[chosen]),
            extras={key: np.asarray(value)[0] for key, value in extras.items()},
        ))
        if chosen == END_ID:
            stopped = True
            break
        if position == max_length:
            break
        output.append(chosen)
        previous = chosen
    words = vocabulary.tokens(output)
    return DecodeTrace(output, words, vocabulary.decode(output), stopped, steps)


def greedy_decode_batch(
    translator: StepTranslator, source_array: np.ndarray, max_length: int, batch_size: int = 512
) -> list[list[int]]:
    """Greedy outputs (ids without </s>) of many sentences at once: one decoder step per position for
    the whole batch, stopping when every sentence has written </s> or `max_length` words."""
    results: list[list[int]] = []
    source_array = np.asarray(source_array, dtype=np.int32)
    for start in range(0, len(source_array), batch_size):
        chunk = source_array[start : start + batch_size]
        state = translator.encode(chunk)
        previous = np.full(len(chunk), START_ID, dtype=np.int32)
        outputs = np.zeros((len(chunk), max_length), dtype=np.int32)
        finished = np.zeros(len(chunk), dtype=bool)
        for position in range(max_length):
            probabilities, state, _ = translator.step(previous, state)
            chosen = probabilities.argmax(axis=-1).astype(np.int32)
            finished |= chosen == END_ID
            outputs[:, position] = np.where(finished, PAD_ID, chosen)
            if finished.all():
                break
            previous = chosen
        results.extend([int(i) for i in row if i != PAD_ID] for row in outputs)
    return results


@dataclass
class BeamResult:
    token_ids: list[int]
    words: list[str]
    text: str
    score: float  # log-probability divided by length ** length_penalty
    log_probability: float
    candidates: pd.DataFrame  # the finished hypotheses, best first: text, words, log_probability, score


def beam_search(
    translator: StepTranslator,
    source_ids: Sequence[int],
    width: int = 4,
    max_length: int | None = None,
    length_penalty: float = 1.0,
) -> BeamResult:
    """Keep the `width` most probable partial translations at each step; return the best finished one.

    A hypothesis finishes when it writes </s>. Finished hypotheses are ranked by log-probability
    divided by (words + 1) ** `length_penalty` (1: the mean log-probability per word, including
    </s>), since a plain sum would always prefer stopping early. Width 1 is greedy decoding.
    """
    source_ids = [int(i) for i in source_ids]
    max_length = max_length or default_max_length(len(source_ids))
    vocabulary = translator.target_vocabulary
    state = translator.encode(np.asarray([source_ids or [PAD_ID]], dtype=np.int32))
    beams: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for position in range(max_length + 1):
        previous = np.asarray([tokens[-1] if tokens else START_ID for tokens, _ in beams], dtype=np.int32)
        probabilities, state, _ = translator.step(previous, state)
        log_probabilities = np.log(np.maximum(probabilities, 1e-12))
        totals = np.asarray([score for _, score in beams])[:, None] + log_probabilities
        if position == max_length:  # The cap: only </s> may follow.
            for row, (tokens, _) in enumerate(beams):
                finished.append((tokens, float(totals[row, END_ID])))
            break
        order = np.argsort(-totals, axis=None, kind="stable")
        next_beams: list[tuple[list[int], float]] = []
        parents: list[int] = []
        for flat in order:
            row, word = divmod(int(flat), totals.shape[1])
            if word == END_ID:
                finished.append((beams[row][0], float(totals[row, word])))
            elif word not in (PAD_ID, START_ID):
                next_beams.append((beams[row][0] + [word], float(totals[row, word])))
                parents.append(row)
            if len(next_beams) == width:
                break
        # Stop once `width` hypotheses have finished: the open ones are already less probable.
        if len(finished) >= width or not next_beams:
            break
        beams = next_beams
        state = [s[parents] for s in state]
    ranked = sorted(finished, key=lambda item: -_normalised(item[0], item[1], length_penalty))
    candidates = pd.DataFrame(
        [{"text": vocabulary.decode(tokens), "words": len(tokens), "log_probability": score,
          "score": _normalised(tokens, score, length_penalty)} for tokens, score in ranked[: max(width, 1)]],
        columns=["text", "words", "log_probability", "score"],
    )
    best_tokens, best_score = ranked[0]
    return BeamResult(best_tokens, vocabulary.tokens(best_tokens), vocabulary.decode(best_tokens),
                      _normalised(best_tokens, best_score, length_penalty), best_score, candidates)


def _normalised(tokens: list[int], log_probability: float, length_penalty: float) -> float:
    return log_probability / (len(tokens) + 1) ** length_penalty


# --------------------------------------------------------------------------------------------------
# The text box
# --------------------------------------------------------------------------------------------------


@dataclass
class PreparedSource:
    """A user's English sentence made ready to translate, with what the page should tell the user."""

    ids: list[int]
    words: list[str]
    unknown_words: list[str]
    truncated: bool
    message: str | None  # a prompt or warning for the user, or None

    @property
    def usable(self) -> bool:
        return bool(self.ids)


def prepare_source(text: str | None, vocabulary: Vocabulary, max_words: int = MAX_INPUT_WORDS) -> PreparedSource:
    """Tokenize any text for the translator without raising: empty input gets a prompt, unknown
    words become <unk> and are listed, input longer than `max_words` words is cut with a warning."""
    words = tokenize(text or "")
    if not words:
        return PreparedSource([], [], [], False, "Type an English sentence to translate, for example “the small cat sleeps”.")
    messages = []
    truncated = len(words) > max_words
    if truncated:
        messages.append(f"The sentence has {len(words)} words; only the first {max_words} are translated.")
        words = words[:max_words]
    unknown = list(dict.fromkeys(word for word in words if word not in vocabulary))
    if unknown:
        listed = ", ".join(f"“{word}”" for word in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        messages.append(
            f"{len(unknown)} word(s) are not in the English vocabulary and are read as {UNKNOWN}: {listed}."
        )
    return PreparedSource(vocabulary.encode(words), words, unknown, truncated, " ".join(messages) or None)


# --------------------------------------------------------------------------------------------------
# Measuring: token accuracies (the train/test mismatch) and BLEU
# --------------------------------------------------------------------------------------------------


def teacher_forced_accuracy(translator: Seq2SeqTranslator, encoded: EncodedPairs) -> float:
    """Share of target words (and </s>) predicted right when every decoder input is the gold word."""
    probabilities = translator.teacher_forced_probabilities(encoded)
    mask = encoded.decoder_target != PAD_ID
    hits = (probabilities.argmax(axis=-1) == encoded.decoder_target) & mask
    return float(hits.sum() / max(mask.sum(), 1))


def greedy_accuracy(translator: StepTranslator, encoded: EncodedPairs, outputs: list[list[int]] | None = None) -> float:
    """Share of target words (and </s>) that greedy decoding writes at the same position.

    Same sentences, same positions as `teacher_forced_accuracy`, but each decoder input is the
    model's own previous word: one early mistake shifts or changes the rest, which is the
    train/test mismatch that the notes name.
    """
    target = encoded.decoder_target
    if outputs is None:
        outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=target.shape[1])
    produced = np.zeros_like(target)
    for row, tokens in enumerate(outputs):
        sequence = (tokens + [END_ID])[: target.shape[1]]
        produced[row, : len(sequence)] = sequence
    mask = target != PAD_ID
    return float(((produced == target) & mask).sum() / max(mask.sum(), 1))


@dataclass
class Evaluation:
    bleu: float
    exact_match: float
    teacher_forced_accuracy: float
    greedy_accuracy: float
    hypotheses: list[str]
    references: list[str]
    sources: list[str]
    seconds: float

    def as_dict(self) -> dict[str, float]:
        return {"bleu": self.bleu, "exact_match": self.exact_match,
                "teacher_forced_accuracy": self.teacher_forced_accuracy, "greedy_accuracy": self.greedy_accuracy}


def evaluate_translator(
    translator: Seq2SeqTranslator, pairs: Sequence[tuple[str, str]], max_target_length: int | None = None
) -> Evaluation:
    """BLEU, exact matches and both token accuracies of greedy decoding on held-out pairs."""
    started = time.perf_counter()
    encoded = encode_pairs(pairs, translator.source_vocabulary, translator.target_vocabulary,
                           max_target_length=max_target_length)
    outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
    hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
    references = [translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs]
    return Evaluation(
        bleu=corpus_bleu(hypotheses, references),
        exact_match=exact_match_rate(hypotheses, references),
        teacher_forced_accuracy=teacher_forced_accuracy(translator, encoded),
        greedy_accuracy=greedy_accuracy(translator, encoded, outputs),
        hypotheses=hypotheses,
        references=references,
        sources=[english for english, _ in pairs],
        seconds=time.perf_counter() - started,
    )


def held_out_bleu_callback(
    translator: StepTranslator, pairs: Sequence[tuple[str, str]], max_sentences: int = 200, seed: int = 0
) -> "keras.callbacks.Callback":
    """A Keras callback that, at each epoch's end, greedily decodes held-out sentences and writes
    `logs["val_bleu"]` (0-100) and `logs["val_greedy_accuracy"]` (0-1) for the chart.

    It must run before the live-training engine's recorder so that the recorder finds these values
    in the logs (pass it in `train_live`'s `metric_callbacks`). The translator shares the model's
    layers, so it decodes with the weights of the epoch that just ended. Decoding is batched: 200
    sentences take a fraction of a second.
    """
    import keras

    pairs = list(pairs)
    if len(pairs) > max_sentences:
        chosen = np.random.default_rng(seed).choice(len(pairs), size=max_sentences, replace=False)
        pairs = [pairs[index] for index in sorted(chosen)]
    encoded = encode_pairs(pairs, translator.source_vocabulary, translator.target_vocabulary)
    references = [translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs]

    class HeldOutBleu(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is None:
                return
            outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
            hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
            logs["val_bleu"] = corpus_bleu(hypotheses, references)
            logs["val_greedy_accuracy"] = greedy_accuracy(translator, encoded, outputs)

    return HeldOutBleu()


# --------------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------------

MODEL_FILE = "seq2seq.keras"
SOURCE_VOCABULARY_FILE = "english_vocabulary.json"
TARGET_VOCABULARY_FILE = "french_vocabulary.json"


def save_translator(translator, directory: str | Path, model_file: str = MODEL_FILE) -> None:
    """Write the teacher-forcing model (native .keras, without optimizer state) and both vocabularies."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    translator.model.save(directory / model_file, include_optimizer=False)
    (directory / SOURCE_VOCABULARY_FILE).write_text(translator.source_vocabulary.to_json() + "\n", encoding="utf-8")
    (directory / TARGET_VOCABULARY_FILE).write_text(translator.target_vocabulary.to_json() + "\n", encoding="utf-8")


def load_translator(directory: str | Path = TRANSLATOR_DIRECTORY, model_file: str = MODEL_FILE,
                    translator_class: type | None = None):
    """Load a translator saved by `save_translator` (the shipped one by default), ready to decode.

    Other translators of the same family (the attention page's) pass their file name and class;
    their module must have registered its custom layers before the file is read (safe mode).
    """
    import keras

    _keras_classes()  # Registers the reversal and repeat layers before the file names them.
    directory = Path(directory)
    model = keras.saving.load_model(directory / model_file, compile=False)
    source = Vocabulary.from_json((directory / SOURCE_VOCABULARY_FILE).read_text(encoding="utf-8"))
    target = Vocabulary.from_json((directory / TARGET_VOCABULARY_FILE).read_text(encoding="utf-8"))
    return (translator_class or Seq2SeqTranslator)(model, source, target)


def load_metrics(directory: str | Path = TRANSLATOR_DIRECTORY) -> dict[str, Any]:
    """The figures measured when the shipped model was trained (metrics.json), for the page to show."""
    return json.loads((Path(directory) / "metrics.json").read_text(encoding="utf-8"))
