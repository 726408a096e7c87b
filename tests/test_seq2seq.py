"""Unit tests for lib/models/seq2seq.py, lib/models/decoding.py and lib/models/professor_forcing.py:
parameter counts, the decoding loop (on a scripted model and on a real one), weights shared between
the training and the step-by-step models, scheduled sampling, professor forcing, the held-out BLEU
callback, the text box's input handling, and save/load."""

from __future__ import annotations

import numpy as np
import pytest

from lib.data.corpus import END_ID, START_ID, UNKNOWN_ID, Vocabulary, encode_pairs
from lib.data.grammar import make_corpus
from lib.models import decoding, professor_forcing, seq2seq
from lib.models.translator_base import load_metrics

# --------------------------------------------------------------------------------------------------
# The decoding loop, on a scripted model that implements the protocol without Keras
# --------------------------------------------------------------------------------------------------

TARGET = Vocabulary(["<pad>", "<s>", "</s>", "<unk>", "le", "chat", "dort", "la"])


class ScriptedTranslator:
    """Next-word probabilities that depend only on the previous word, from a table."""

    source_vocabulary = Vocabulary(["<pad>", "<s>", "</s>", "<unk>", "the", "cat", "sleeps"])
    target_vocabulary = TARGET

    def __init__(self, table: dict[int, dict[int, float]], default_end: bool = True):
        self.table = table
        self.calls = 0

    def encode(self, source_ids):
        return [np.zeros((len(np.atleast_2d(source_ids)), 2), dtype=np.float32)]

    def step(self, previous_ids, state):
        self.calls += 1
        rows = []
        for previous in np.asarray(previous_ids).reshape(-1):
            row = np.full(len(TARGET), 1e-6)
            for word, probability in self.table.get(int(previous), {END_ID: 1.0}).items():
                row[word] = probability
            rows.append(row / row.sum())
        return np.asarray(rows), [s + 1 for s in state], {"attention": np.ones((len(rows), 3)) / 3}


LE, CHAT, DORT, LA = (TARGET.index[w] for w in ("le", "chat", "dort", "la"))
SENTENCE_TABLE = {START_ID: {LE: 0.7, LA: 0.2}, LE: {CHAT: 0.9}, CHAT: {DORT: 0.8}, DORT: {END_ID: 0.95}}


def test_greedy_decoding_stops_at_end_and_traces_each_step():
    translator = ScriptedTranslator(SENTENCE_TABLE)
    trace = decoding.greedy_decode(translator, [4, 5, 6], max_length=20)
    assert trace.text == "le chat dort" and trace.stopped_at_end
    assert len(trace.steps) == 4 and translator.calls == 4  # three words, then </s>, then nothing more
    first = trace.steps[0]
    assert first.chosen == "le" and [w for w, _ in first.top_words[:2]] == ["le", "la"]
    assert len(first.top_words) == 5
    probabilities = [p for _, p in first.top_words]
    assert probabilities == sorted(probabilities, reverse=True)
    assert trace.steps[-1].chosen == "</s>"
    assert trace.steps[0].extras["attention"].shape == (3,)
    frame = trace.steps_frame()
    assert len(frame) == 20 and frame["fed_back"].sum() == 4


def test_greedy_decoding_respects_the_length_cap():
    looping = {START_ID: {LE: 0.9}, LE: {LE: 0.9}}
    trace = decoding.greedy_decode(ScriptedTranslator(looping), [4], max_length=6)
    assert trace.token_ids == [LE] * 6 and not trace.stopped_at_end


def test_batch_greedy_decoding_equals_one_by_one():
    translator = ScriptedTranslator(SENTENCE_TABLE)
    outputs = decoding.greedy_decode_batch(translator, np.ones((5, 3), dtype=np.int32), max_length=10, batch_size=2)
    assert outputs == [[LE, CHAT, DORT]] * 5


def test_beam_search_finds_what_greedy_misses():
    # Greedy takes "le" (0.6) then a flat distribution; "la" (0.4) leads to a sure ending.
    table = {
        START_ID: {LE: 0.6, LA: 0.4},
        LE: {CHAT: 0.3, DORT: 0.3, END_ID: 0.3},
        CHAT: {END_ID: 1.0},
        DORT: {END_ID: 1.0},
        LA: {CHAT: 0.95},
    }
    translator = ScriptedTranslator(table)
    greedy = decoding.greedy_decode(translator, [4], max_length=10)
    beam = decoding.beam_search(translator, [4], width=3, max_length=10)
    assert greedy.words[0] == "le"
    assert beam.text == "la chat"
    assert beam.log_probability > greedy.log_probability
    assert list(beam.candidates["score"]) == sorted(beam.candidates["score"], reverse=True)
    assert decoding.beam_search(translator, [4], width=1, max_length=10).text == greedy.text


# --------------------------------------------------------------------------------------------------
# The text box
# --------------------------------------------------------------------------------------------------

ENGLISH = Vocabulary(["<pad>", "<s>", "</s>", "<unk>", "the", "cat", "sleeps"])


@pytest.mark.parametrize("text", ["", "   ", None, "!!!", "🙂 the cat", "the\tcat\nsleeps", "x" * 10_000])
def test_prepare_source_never_raises(text):
    prepared = decoding.prepare_source(text, ENGLISH)
    assert isinstance(prepared, decoding.PreparedSource)


def test_prepare_source_prompts_reports_and_cuts():
    empty = decoding.prepare_source("  ", ENGLISH)
    assert not empty.usable and "Type an English sentence" in empty.message
    unknown = decoding.prepare_source("The zebra sleeps", ENGLISH)
    assert unknown.ids == [4, UNKNOWN_ID, 6] and unknown.unknown_words == ["zebra"] and "zebra" in unknown.message
    long = decoding.prepare_source("the cat " * 30, ENGLISH, max_words=10)
    assert long.truncated and len(long.ids) == 10 and "first 10" in long.message
    assert decoding.prepare_source("the cat sleeps", ENGLISH).message is None


# --------------------------------------------------------------------------------------------------
# A real Keras model
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_setup():
    built = make_corpus(600, 60, seed=4, max_words=12)
    english = Vocabulary.from_sentences(e for e, _ in built.train)
    french = Vocabulary.from_sentences(f for _, f in built.train)
    train = encode_pairs(built.train, english, french)
    test = encode_pairs(built.test, english, french, max_target_length=train.decoder_target.shape[1] - 1)
    return built, english, french, train, test


@pytest.mark.parametrize(
    ("cell", "layers", "context"), [("GRU", 1, True), ("GRU", 1, False), ("LSTM", 2, True), ("LSTM", 2, False)]
)
def test_parameter_counts_match_keras(cell, layers, context):
    from lib.engine.params import total_params

    model = seq2seq.build_seq2seq(
        50, 70, cell=cell, units=16, embedding_size=8, layers=layers, context_every_step=context, seed=1
    )
    counts = seq2seq.seq2seq_layer_counts(
        50, 70, cell=cell, units=16, embedding_size=8, layers=layers, context_every_step=context
    )
    assert total_params(counts) == model.count_params()
    assert len(counts) == 3 + 2 * layers
    assert seq2seq.model_settings(model)["context_every_step"] is context


def test_context_every_step_reaches_every_decoder_step(small_setup):
    """With the context at every step, the English sentence reaches each decoder step directly, not
    only through the decoder's starting state: the same decoder state with another sentence's context
    gives other next-word probabilities. Without it, the decoding state is the decoder's state alone."""
    _, english, french, train, _ = small_setup
    with_context = seq2seq.Seq2SeqTranslator(
        seq2seq.build_seq2seq(len(english), len(french), units=8, embedding_size=4, seed=3), english, french
    )
    without = seq2seq.Seq2SeqTranslator(
        seq2seq.build_seq2seq(len(english), len(french), units=8, embedding_size=4, context_every_step=False, seed=3),
        english,
        french,
    )
    assert with_context.model.get_layer("word_and_context").output.shape[-1] == 4 + 8
    assert with_context.model.get_layer("next_word").kernel.shape == (16, len(french))
    assert without.model.get_layer("next_word").kernel.shape == (8, len(french))
    first, second = train.encoder_input[:1], train.encoder_input[1:2]
    decoder_state, context = with_context.encode(first)
    _, other_context = with_context.encode(second)
    start = np.asarray([START_ID])
    own, _, _ = with_context.step(start, [decoder_state, context])
    swapped, carried, _ = with_context.step(start, [decoder_state, other_context])
    assert np.abs(own - swapped).max() > 1e-6
    np.testing.assert_array_equal(carried[-1], other_context)  # The context rides along unchanged.
    assert len(without.encode(first)) == 1


def test_build_is_seeded():
    first = seq2seq.build_seq2seq(30, 40, units=8, embedding_size=4, seed=3)
    second = seq2seq.build_seq2seq(30, 40, units=8, embedding_size=4, seed=3)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("cell", "context"), [("GRU", True), ("LSTM", True), ("GRU", False), ("LSTM", False)])
def test_step_model_shares_the_training_weights(small_setup, cell, context):
    _, english, french, train, _ = small_setup
    model = seq2seq.build_seq2seq(
        len(english), len(french), cell=cell, units=16, embedding_size=8, layers=2, context_every_step=context, seed=0
    )
    trainer = seq2seq.compile_seq2seq(model)
    trainer.fit(train.inputs, train.decoder_target, epochs=1, batch_size=64, verbose=0)
    translator = seq2seq.Seq2SeqTranslator(trainer, english, french)
    # Feeding the gold words one step at a time gives the teacher-forced model's probabilities.
    row = 3
    teacher = translator.teacher_forced_probabilities(encode_pairs([small_setup[0].train[row]], english, french))[0]
    state = translator.encode(train.encoder_input[row : row + 1])
    for position in range(4):
        probabilities, state, _ = translator.step(train.decoder_input[row : row + 1, position], state)
        np.testing.assert_allclose(probabilities[0], teacher[position], atol=1e-5)


def test_masking_ignores_padding():
    import keras

    y_true = np.array([[5, 6, 0, 0]])
    good = keras.ops.one_hot(np.array([[5, 6, 1, 1]]), 8) * 0.9 + 0.1 / 8
    metric = seq2seq.seq2seq_keras_classes().token_accuracy()
    metric.update_state(y_true, good)
    assert float(metric.result()) == 1.0
    padded_loss = float(seq2seq.masked_crossentropy(y_true, good))
    unpadded_loss = float(seq2seq.masked_crossentropy(y_true[:, :2], good[:, :2]))
    assert padded_loss == pytest.approx(unpadded_loss)


def test_training_scheduled_sampling_bleu_callback_and_mismatch(small_setup, tmp_path):
    built, english, french, train, test = small_setup
    model = seq2seq.build_seq2seq(len(english), len(french), units=32, embedding_size=16, seed=0)
    trainer = seq2seq.compile_seq2seq(model, sampling_probability=0.5, seed=0)
    mixed = np.asarray(trainer.mix_in_own_guesses(train.encoder_input[:32], train.decoder_input[:32]))
    gold = train.decoder_input[:32]
    assert (mixed[:, 0] == START_ID).all() and ((mixed == 0) == (gold == 0)).all()
    assert (mixed != gold).any()
    translator = seq2seq.Seq2SeqTranslator(model, english, french)
    callback = decoding.held_out_bleu_callback(translator, built.test, max_sentences=40)
    history = trainer.fit(
        train.inputs,
        train.decoder_target,
        validation_data=(test.inputs, test.decoder_target),
        epochs=2,
        batch_size=64,
        verbose=0,
        callbacks=[callback],
    ).history
    assert {"loss", "token_accuracy", "val_token_accuracy", "val_bleu", "val_greedy_accuracy"} <= set(history)
    assert 0.0 <= history["val_bleu"][-1] <= 100.0
    evaluation = decoding.evaluate_translator(translator, built.test)
    assert 0.0 <= evaluation.greedy_accuracy <= 1.0 and 0.0 <= evaluation.teacher_forced_accuracy <= 1.0
    assert len(evaluation.hypotheses) == len(built.test)

    seq2seq.save_translator(translator, tmp_path)
    loaded = seq2seq.load_translator(tmp_path)
    assert loaded.settings == translator.settings and loaded.target_vocabulary.words == french.words
    ids = english.encode(built.test[0][0])
    assert decoding.greedy_decode(loaded, ids).text == decoding.greedy_decode(translator, ids).text


def test_shipped_translator_translates_at_once():
    if not (seq2seq.TRANSLATOR_DIRECTORY / seq2seq.MODEL_FILE).exists():
        pytest.skip("the pretrained translator has not been generated (scripts/train_translator.py)")
    translator = seq2seq.load_translator()
    trace = decoding.greedy_decode(translator, translator.source_vocabulary.encode("the small cat sleeps"))
    assert trace.stopped_at_end and trace.text == "le petit chat dort"
    metrics = load_metrics(seq2seq.TRANSLATOR_DIRECTORY)
    assert metrics["held_out"]["bleu"] > 50


# --------------------------------------------------------------------------------------------------
# Professor forcing
# --------------------------------------------------------------------------------------------------


def _weights(variables) -> list[np.ndarray]:
    return [np.array(variable.numpy()) for variable in variables]


@pytest.mark.parametrize(("cell", "layers", "context"), [("GRU", 1, True), ("LSTM", 2, False)])
def test_professor_forcing_free_run_feeds_back_the_greedy_words(small_setup, cell, layers, context):
    """The free run inside training is greedy decoding: the words it feeds back are the ones
    `greedy_decode_batch` writes, up to and including </s>, for a model of each kind. The softmax's
    weights are drawn large so that the untrained model writes varied sentences, not </s> at once."""
    _, english, french, train, _ = small_setup
    model = seq2seq.build_seq2seq(
        len(english),
        len(french),
        cell=cell,
        units=24,
        embedding_size=8,
        layers=layers,
        context_every_step=context,
        seed=2,
    )
    trainer = professor_forcing.compile_professor_forcing(model, adversarial_weight=1.0)
    softmax = model.get_layer("next_word")
    kernel, bias = softmax.get_weights()
    softmax.set_weights([np.random.default_rng(0).normal(0, 3, kernel.shape).astype("float32"), bias])
    translator = seq2seq.Seq2SeqTranslator(model, english, french)
    sources = train.encoder_input[:40]
    length = train.decoder_target.shape[1]
    states, chosen = trainer.free_run(sources, length)
    assert np.asarray(states).shape == (40, length, 24)
    greedy = decoding.greedy_decode_batch(translator, sources, max_length=length)
    for row, written in zip(np.asarray(chosen), greedy):
        expected = (written + [END_ID])[:length]
        assert row[: len(expected)].tolist() == expected
    assert len({tuple(words) for words in greedy}) > 1  # The model writes different sentences, not one.


def test_professor_forcing_updates_each_side_with_its_own_loss_only(small_setup):
    """The discriminator's update leaves the seq2seq as it was, and the seq2seq's leaves the
    discriminator: with the seq2seq's step size at zero only the discriminator moves, and the other
    way round. With both on, both move, and the logs chart the discriminator's accuracy."""
    import keras

    _, english, french, train, _ = small_setup
    batch = seq2seq.bucketed_dataset(train, 64, seed=0)[0]

    def one_step(seq2seq_rate: float, discriminator_rate: float):
        model = seq2seq.build_seq2seq(len(english), len(french), units=16, embedding_size=8, seed=5)
        trainer = professor_forcing.compile_professor_forcing(model, learning_rate=seq2seq_rate, adversarial_weight=1.0)
        trainer.discriminator_optimizer.learning_rate.assign(discriminator_rate)
        before = _weights(model.trainable_variables), _weights(trainer.discriminator.trainable_variables)
        logs = trainer.train_on_batch(*batch, return_dict=True)
        after = _weights(model.trainable_variables), _weights(trainer.discriminator.trainable_variables)
        moved = [any(np.abs(a - b).max() > 0 for a, b in zip(old, new)) for old, new in zip(before, after)]
        return moved, logs

    (seq2seq_moved, discriminator_moved), _ = one_step(0.0, 0.01)
    assert discriminator_moved and not seq2seq_moved
    (seq2seq_moved, discriminator_moved), _ = one_step(0.01, 0.0)
    assert seq2seq_moved and not discriminator_moved
    (seq2seq_moved, discriminator_moved), logs = one_step(0.01, 0.01)
    assert seq2seq_moved and discriminator_moved
    assert {"loss", "token_accuracy", "discriminator_accuracy", "fooling_loss"} <= set(logs)
    assert 0.0 <= logs["discriminator_accuracy"] <= 1.0
    assert isinstance(keras.saving.get_registered_object("rnn_playground>ProfessorForcingTrainer"), type)


def test_the_adversarial_term_reaches_the_decoder_through_its_free_run(small_setup):
    """The fooling loss's gradient reaches the decoder's weights (through the free run's hidden
    states), not only the next-word loss's: with the weight at 0 and at 1 the same step moves the
    decoder differently."""
    _, english, french, train, _ = small_setup
    batch = seq2seq.bucketed_dataset(train, 64, seed=0)[0]
    moved = []
    for weight in (0.0, 1.0):
        model = seq2seq.build_seq2seq(len(english), len(french), units=16, embedding_size=8, seed=5)
        trainer = professor_forcing.compile_professor_forcing(model, learning_rate=0.01, adversarial_weight=weight)
        trainer.train_on_batch(*batch)
        moved.append(model.get_layer("decoder_1").get_weights()[1])
    assert np.abs(moved[0] - moved[1]).max() > 1e-7


def test_a_professor_forced_model_saves_and_loads_without_its_trainer(small_setup, tmp_path):
    """What is saved is the seq2seq alone: it loads without the discriminator or the trainer and
    translates as before."""
    built, english, french, train, _ = small_setup
    model = seq2seq.build_seq2seq(len(english), len(french), units=16, embedding_size=8, seed=1)
    trainer = professor_forcing.compile_professor_forcing(model, adversarial_weight=0.3)
    trainer.fit(seq2seq.bucketed_dataset(train, 64, seed=0), epochs=1, verbose=0, shuffle=False)
    translator = seq2seq.Seq2SeqTranslator(trainer, english, french)
    seq2seq.save_translator(translator, tmp_path)
    loaded = seq2seq.load_translator(tmp_path)
    assert not any("discriminator" in layer.name for layer in loaded.model.layers)
    for english_sentence, _ in built.test[:5]:
        ids = english.encode(english_sentence)
        assert decoding.greedy_decode(loaded, ids).text == decoding.greedy_decode(translator, ids).text
