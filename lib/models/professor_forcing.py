"""Professor forcing (Lamb et al., 2016): the Translator page's third way to train the seq2seq.

Teacher forcing trains the decoder on gold inputs only, and greedy decoding then feeds it its own;
professor forcing adds a discriminator that learns to tell the decoder's hidden states of the
two runs apart, and trains the seq2seq to make its free run indistinguishable from the
teacher-forced one. `compile_professor_forcing` builds this trainer; it extends the seq2seq's own
trainer and reuses its decoding models (this module imports `lib.models.seq2seq`, never the reverse).

Keras and TensorFlow are imported inside functions, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from lib.data.corpus import PAD_ID, START_ID
from lib.engine.graph_lock import GRAPH_LOCK, builds_graph
from lib.models.seq2seq import (
    DEFAULT_LEARNING_RATE,
    compile_trainer,
    decoding_models,
    masked_crossentropy,
    model_settings,
    seq2seq_keras_classes,
)

if TYPE_CHECKING:  # Only type checkers import Keras here; at run time the functions import it.
    import keras

# The discriminator's size and step size: small beside the seq2seq (GRU 256), so that it costs
# little of the press; Lamb et al. do not prescribe these for a model of this size.
DISCRIMINATOR_UNITS = 64
DISCRIMINATOR_LEARNING_RATE = 0.001
DEFAULT_ADVERSARIAL_WEIGHT = 1.0


@builds_graph
def build_discriminator(state_size: int, units: int = DISCRIMINATOR_UNITS, seed: int = 0) -> keras.Model:
    """Lamb et al.'s discriminator: a bidirectional GRU reads a decoder's hidden-state sequence
    (batch, time, state_size), an MLP on its two final states gives one logit per sequence,
    positive for "teacher-forced", negative for "free-running". Padded positions arrive as zeros
    in both kinds of sequence, so they tell the two apart by nothing."""
    import keras

    states = keras.Input(shape=(None, state_size), name="decoder_states")
    read = keras.layers.Bidirectional(
        keras.layers.GRU(
            units,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 300),
            recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 301),
        ),
        name="reads_both_ways",
    )(states)
    hidden = keras.layers.Dense(
        units, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 302), name="mlp"
    )(read)
    logit = keras.layers.Dense(
        1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 303), name="teacher_forced_logit"
    )(hidden)
    return keras.Model(states, logit, name="discriminator")


@functools.cache
def professor_forcing_class():
    """The professor-forcing trainer, defined once per process and only when a page first needs it."""
    import keras
    import tensorflow as tf
    from keras import ops

    trainer_class = seq2seq_keras_classes().trainer

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

        def __init__(
            self,
            seq2seq,
            adversarial_weight: float = DEFAULT_ADVERSARIAL_WEIGHT,
            discriminator_units: int = DISCRIMINATOR_UNITS,
            seed: int = 0,
            **kwargs,
        ):
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
            with GRAPH_LOCK:  # Here, not as a decorator: Keras inspects a model's __init__ for its config.
                self.forced_model = keras.Model(
                    seq2seq.inputs, [seq2seq.output, seq2seq.get_layer(self.last_decoder).output[0]]
                )
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
                lambda position, *_: position < length, step, (tf.constant(0), previous, list(states), hidden, chosen)
            )
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
                forced_logits, free_logits = logits[: ops.shape(source)[0]], logits[ops.shape(source)[0] :]
                next_word_loss = masked_crossentropy(target, probabilities)
                fooling = ops.mean(ops.binary_crossentropy(ops.ones_like(free_logits), free_logits, from_logits=True))
                seq2seq_loss = next_word_loss + self.adversarial_weight * fooling
                discriminator_loss = 0.5 * (
                    ops.mean(ops.binary_crossentropy(ops.ones_like(forced_logits), forced_logits, from_logits=True))
                    + ops.mean(ops.binary_crossentropy(ops.zeros_like(free_logits), free_logits, from_logits=True))
                )
            self.optimizer.apply_gradients(zip(tape.gradient(seq2seq_loss, seq2seq_weights), seq2seq_weights))
            self.discriminator_optimizer.apply_gradients(
                zip(tape.gradient(discriminator_loss, discriminator_weights), discriminator_weights)
            )
            del tape
            told_right = ops.concatenate(
                [ops.cast(forced_logits > 0, "float32"), ops.cast(free_logits <= 0, "float32")]
            )
            sentences = ops.shape(source)[0]
            # Weighted by the batch's sentences, like Keras's own loss mean, so the engine can turn
            # the running epoch means back into per-batch values.
            self._loss_tracker.update_state(next_word_loss, sample_weight=sentences)
            self.discriminator_accuracy.update_state(ops.mean(told_right), sample_weight=sentences)
            self.fooling_loss.update_state(fooling, sample_weight=sentences)
            return self.compute_metrics((source, target_in), target, probabilities)

    return ProfessorForcingTrainer


def compile_professor_forcing(
    model: keras.Model,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    adversarial_weight: float = DEFAULT_ADVERSARIAL_WEIGHT,
    seed: int = 0,
) -> keras.Model:
    """`lib.models.seq2seq.compile_seq2seq`'s counterpart for professor forcing: a compiled trainer
    around `model` whose logs also hold "discriminator_accuracy" and "fooling_loss"."""
    trainer = professor_forcing_class()(
        model, adversarial_weight=adversarial_weight, seed=seed, name=f"{model.name}_professor_trainer"
    )
    return compile_trainer(trainer, learning_rate)
