"""Unit tests for lib/models/attention.py: exact zeros on <pad>, masks that do not depend on how much padding
a batch carries, the notes' formula by hand, the step-by-step decoder against the teacher-forced
model, the attention intervention, alignment accuracy, parameter counts, and save/load (including
the shipped model's alignment on the page's example sentence)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lib.data.corpus import END_ID, PAD_ID, START_ID, EncodedPairs, encode_pairs
from lib.data.grammar import Clause, NounPhrase, render_aligned
from lib.models import attention, decoding

UNITS, EMBEDDING = 16, 8


def sharpened(model, seed: int = 5, spread: float = 0.5):
    """Add seeded noise to every weight: a fresh model's attention is nearly uniform, which would let a
    wrong row pass for a right one; after this its rows are peaked, and its weights are nobody's seed."""
    generator = np.random.default_rng(seed)
    model.set_weights([w + generator.normal(0, spread, w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def translators(small_corpus):
    _, english, french = small_corpus
    return {
        score: attention.AttentionTranslator(
            sharpened(
                attention.build_attention_seq2seq(
                    len(english), len(french), score=score, units=UNITS, embedding_size=EMBEDDING, seed=1
                )
            ),
            english,
            french,
        )
        for score in attention.SCORES
    }


@pytest.fixture(scope="module")
def uneven_batch(small_corpus):
    """Eight held-out pairs of different lengths, padded with 0 to the longest of them."""
    built, english, french = small_corpus
    encoded = encode_pairs(built.test[:8], english, french)
    lengths = (encoded.encoder_input != PAD_ID).sum(axis=1)
    assert len(set(lengths.tolist())) >= 3 and (lengths < encoded.encoder_input.shape[1]).sum() >= 4
    return encoded


# --------------------------------------------------------------------------------------------------
# Attention lives on the real English words only
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", attention.SCORES)
def test_teacher_forced_weights_sum_to_one_over_words_and_are_exactly_zero_on_pad(translators, uneven_batch, score):
    weights, probabilities = translators[score].teacher_forced(uneven_batch)
    real = uneven_batch.encoder_input != PAD_ID  # (sentences, English positions)
    assert weights.shape == (*uneven_batch.decoder_input.shape, uneven_batch.encoder_input.shape[1])
    on_words = (weights * real[:, None, :]).sum(axis=-1)
    np.testing.assert_allclose(on_words, 1.0, atol=1e-5)
    on_pad = np.broadcast_to(~real[:, None, :], weights.shape)
    assert (weights[on_pad] == 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("score", attention.SCORES)
def test_decoding_steps_put_exactly_zero_attention_on_pad(translators, uneven_batch, score):
    translator = translators[score]
    real = uneven_batch.encoder_input != PAD_ID
    state = translator.encode(uneven_batch.encoder_input)
    np.testing.assert_array_equal(state[2], real.astype(np.float32))
    previous = np.full(len(uneven_batch), START_ID)
    for _ in range(4):
        probabilities, state, extras = translator.step(previous, state)
        row = extras["attention"]
        assert row.shape == uneven_batch.encoder_input.shape
        assert (row[~real] == 0).all()
        np.testing.assert_allclose(row.sum(axis=-1), 1.0, atol=1e-5)
        previous = probabilities.argmax(axis=-1)


@pytest.mark.parametrize("score", attention.SCORES)
def test_extra_padding_columns_change_nothing_on_the_real_words(translators, uneven_batch, score):
    """Masks are explicit: if the encoder or the attention read <pad>, more of it would move the numbers."""
    translator = translators[score]
    words = uneven_batch.encoder_input.shape[1]
    wider = EncodedPairs(
        np.pad(uneven_batch.encoder_input, ((0, 0), (0, 6))), uneven_batch.decoder_input, uneven_batch.decoder_target
    )
    weights, probabilities = translator.teacher_forced(uneven_batch)
    wider_weights, wider_probabilities = translator.teacher_forced(wider)
    np.testing.assert_allclose(wider_probabilities, probabilities, atol=1e-5)
    np.testing.assert_allclose(wider_weights[..., :words], weights, atol=1e-5)
    assert (wider_weights[..., words:] == 0).all()

    start, bank, _ = translator.encode(uneven_batch.encoder_input)
    wider_start, wider_bank, wider_mask = translator.encode(wider.encoder_input)
    np.testing.assert_allclose(wider_start, start, atol=1e-5)
    real = uneven_batch.encoder_input != PAD_ID
    np.testing.assert_allclose(wider_bank[:, :words][real], bank[real], atol=1e-5)
    assert (wider_mask[:, words:] == 0).all()


# --------------------------------------------------------------------------------------------------
# The notes' formula, on the page's default hand example
# --------------------------------------------------------------------------------------------------

BANK = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.5, 0.5]])
QUERY = np.array([2.0, 1.0])


def test_attention_numpy_on_the_hand_example():
    scores, weights, summary = attention.attention_numpy(QUERY, BANK)
    np.testing.assert_allclose(scores, [2.0, 1.0, -2.0, 1.5])
    exponentials = [math.exp(2.0), math.exp(1.0), math.exp(-2.0), math.exp(1.5)]
    by_hand = [e / sum(exponentials) for e in exponentials]
    np.testing.assert_allclose(weights, by_hand, rtol=1e-12)
    z = [sum(a * bank_row[k] for a, bank_row in zip(by_hand, BANK)) for k in range(2)]
    np.testing.assert_allclose(summary, z, rtol=1e-12)
    assert weights.argmax() == 0


def test_attention_numpy_scale_flattens_or_sharpens():
    _, flat, _ = attention.attention_numpy(QUERY, BANK, scale=0.01)
    assert flat.max() - flat.min() < 0.01
    _, sharp, summary = attention.attention_numpy(QUERY, BANK, scale=100.0)
    assert sharp[0] > 0.999
    np.testing.assert_allclose(summary, BANK[0], atol=1e-3)
    scores, _, _ = attention.attention_numpy(QUERY, BANK, scale=100.0)
    np.testing.assert_allclose(scores, [200.0, 100.0, -200.0, 150.0])


def test_attention_numpy_mask_gives_exactly_zero_weight():
    _, weights, summary = attention.attention_numpy(QUERY, BANK, mask=[False, True, True, True])
    assert weights[0] == 0.0
    exponentials = [math.exp(1.0), math.exp(-2.0), math.exp(1.5)]
    np.testing.assert_allclose(weights[1:], [e / sum(exponentials) for e in exponentials], rtol=1e-12)
    np.testing.assert_allclose(summary, weights[1:] @ BANK[1:], rtol=1e-12)
    # Every vector unticked: no weight anywhere, and no NaN for the page to print.
    _, none, empty_summary = attention.attention_numpy(QUERY, BANK, mask=[False] * 4)
    assert (none == 0).all() and (empty_summary == 0).all()


@pytest.mark.parametrize("score", attention.SCORES)
def test_the_formula_with_the_models_own_score_gives_its_alpha_at_every_decoding_step(translators, small_corpus, score):
    """Section 1 of the page recomputes α in NumPy from q, the zᵢ and the attention layer's weights; it
    must be the row the model's own layer gives, step by step, whatever the score."""
    translator = translators[score]
    parameters = translator.score_parameters()
    assert set(parameters) == {"dot": set(), "general": {"W"}, "additive": {"W1", "W2", "v"}}[score]
    largest_dot_gap = 0.0
    for english, _ in small_corpus[0].test[:3]:
        ids = translator.source_vocabulary.encode(english)
        trace = decoding.greedy_decode(translator, ids, max_length=8)
        previous = [START_ID]
        for step in trace.steps:
            query, bank = translator.query_and_bank(ids, previous)
            _, weights, summary = attention.attention_numpy(query, bank, score=score, parameters=parameters)
            own = step.extras["attention"][: len(ids)]
            np.testing.assert_allclose(weights, own, atol=1e-5)
            np.testing.assert_allclose(summary, own @ bank, atol=1e-4)
            _, dot_weights, _ = attention.attention_numpy(query, bank)
            largest_dot_gap = max(largest_dot_gap, float(np.abs(dot_weights - own).max()))
            previous.append(translator.target_vocabulary.index[step.chosen])
    # The plain q·zᵢ is the model's α only for the dot score: for the others it would draw other bars.
    assert largest_dot_gap < 1e-5 if score == "dot" else largest_dot_gap > 0.05


def test_score_numpy_by_hand():
    q, bank = np.array([1.0, 2.0]), np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([[0.0, 1.0], [1.0, 0.0]])  # A Dense kernel: zᵢ @ W swaps zᵢ's two numbers.
    np.testing.assert_allclose(attention.score_numpy(q, bank), [1.0, 2.0])
    np.testing.assert_allclose(attention.score_numpy(q, bank, "general", {"W": w}), [2.0, 1.0])
    additive = attention.score_numpy(q, bank, "additive", {"W1": np.eye(2), "W2": w, "v": np.array([[1.0], [-1.0]])})
    np.testing.assert_allclose(additive, [math.tanh(1.0) - math.tanh(3.0), math.tanh(2.0) - math.tanh(2.0)])


# --------------------------------------------------------------------------------------------------
# The step-by-step decoder is the teacher-forced model
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", attention.SCORES)
def test_feeding_gold_words_step_by_step_equals_teacher_forcing(translators, uneven_batch, score):
    translator = translators[score]
    weights, probabilities = translator.teacher_forced(uneven_batch)
    real_targets = uneven_batch.decoder_target != PAD_ID
    # Each step's row and probabilities differ from the step before's by far more than the tolerance:
    # a row or a distribution taken one step early or late would not pass for this one.
    for values in (weights, probabilities):
        assert np.abs(np.diff(values, axis=1)).max(axis=-1)[real_targets[:, 1:]].min() > 50 * 1e-4
    # The whole padded batch at once...
    state = translator.encode(uneven_batch.encoder_input)
    for position in range(uneven_batch.decoder_input.shape[1]):
        step_probabilities, state, extras = translator.step(uneven_batch.decoder_input[:, position], state)
        rows = real_targets[:, position]
        np.testing.assert_allclose(step_probabilities[rows], probabilities[rows, position], atol=1e-4)
        np.testing.assert_allclose(extras["attention"][rows], weights[rows, position], atol=1e-4)
    # ...and a few sentences alone, without any padding.
    for sentence in (0, 3, 5):
        words = int((uneven_batch.encoder_input[sentence] != PAD_ID).sum())
        steps = int(real_targets[sentence].sum())
        state = translator.encode(uneven_batch.encoder_input[sentence, :words])
        for position in range(steps):
            step_probabilities, state, extras = translator.step(
                uneven_batch.decoder_input[sentence, position : position + 1], state
            )
            np.testing.assert_allclose(step_probabilities[0], probabilities[sentence, position], atol=1e-4)
            np.testing.assert_allclose(extras["attention"][0], weights[sentence, position, :words], atol=1e-4)


# --------------------------------------------------------------------------------------------------
# The intervention
# --------------------------------------------------------------------------------------------------


def test_override_uses_the_given_row_at_its_step_and_the_models_own_elsewhere(translators, small_corpus):
    translator = translators["dot"]
    _, english, _ = small_corpus
    ids = english.encode(small_corpus[0].test[1][0])
    at_step = 2
    own = decoding.greedy_decode(translator, ids, max_length=8)
    own_row = own.steps[at_step - 1].extras["attention"]
    chosen = int(np.argsort(own_row)[0])  # The word the model attends to least at that step.
    one_hot = np.zeros(len(ids), dtype=np.float32)
    one_hot[chosen] = 1.0
    override = attention.AttentionOverride(translator, at_step=at_step, weights=one_hot)
    changed = decoding.greedy_decode(override, ids, max_length=8)

    np.testing.assert_array_equal(changed.steps[at_step - 1].extras["attention"], one_hot)
    assert changed.steps[at_step - 1].top_words != own.steps[at_step - 1].top_words
    for before in range(at_step - 1):  # Same words in, same steps out.
        np.testing.assert_array_equal(changed.steps[before].extras["attention"], own.steps[before].extras["attention"])
    # After the chosen step, each row is the model's own given the words the override wrote.
    state = translator.encode(np.asarray([ids]))
    fed = [START_ID, *(translator.target_vocabulary.index[step.chosen] for step in changed.steps[:-1])]
    for number, (previous, step) in enumerate(zip(fed, changed.steps), start=1):
        probabilities, state, extras = translator.step(np.asarray([previous]), state)
        if number != at_step:
            np.testing.assert_allclose(step.extras["attention"], extras["attention"][0], atol=1e-6)
            assert step.chosen_probability == pytest.approx(float(probabilities[0].max()), abs=1e-6)
    # A second decode with the same override starts counting again from the first word.
    again = decoding.greedy_decode(override, ids, max_length=8)
    np.testing.assert_array_equal(again.steps[at_step - 1].extras["attention"], one_hot)
    assert again.text == changed.text


def test_step_with_attention_renormalises_over_words_and_reproduces_step(translators, uneven_batch):
    translator = translators["additive"]
    real = uneven_batch.encoder_input != PAD_ID
    state = translator.encode(uneven_batch.encoder_input)
    previous = np.full(len(uneven_batch), START_ID)
    probabilities, own_state, extras = translator.step(previous, state)
    given, given_state, used = translator.step_with_attention(previous, state, extras["attention"])
    np.testing.assert_allclose(given, probabilities, atol=1e-6)
    np.testing.assert_allclose(given_state[0], own_state[0], atol=1e-6)
    np.testing.assert_allclose(used["attention"], extras["attention"], atol=1e-6)
    # A row with weight everywhere, <pad> included: only the real words keep it, shared equally.
    _, _, spread = translator.step_with_attention(previous, state, np.ones(uneven_batch.encoder_input.shape[1]))
    assert (spread["attention"][~real] == 0).all()
    np.testing.assert_allclose(spread["attention"], real / real.sum(axis=1, keepdims=True), atol=1e-6)


# --------------------------------------------------------------------------------------------------
# Alignment accuracy
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aligned_test_set(small_corpus):
    built, english, french = small_corpus
    encoded = encode_pairs(built.test, english, french)
    return encoded, built.test_alignments


def test_gold_weights_score_perfectly_and_shifted_ones_do_not(aligned_test_set):
    encoded, alignments = aligned_test_set
    assert len(alignments) == len(encoded) == 100
    gold = attention.gold_weights(encoded, alignments)
    assert attention.alignment_accuracy(gold, encoded, alignments) == 1.0
    # Each aligned French word looks at the English word beside its own instead.
    shifted = np.zeros_like(gold)
    for sentence, alignment in enumerate(alignments):
        words = int((encoded.encoder_input[sentence] != PAD_ID).sum())
        for position, english_index in enumerate(alignment):
            if english_index >= 0:
                shifted[sentence, position, english_index + 1 if english_index + 1 < words else english_index - 1] = 1.0
    assert attention.alignment_accuracy(shifted, encoded, alignments) == 0.0


def test_words_aligned_to_none_are_not_counted():
    # One sentence, three English words, three French words then </s>: "des" (the middle one) has no
    # English word; the first is looked at right, the third wrong.
    encoded = EncodedPairs(
        encoder_input=np.array([[5, 6, 7, 0]], dtype=np.int32),
        decoder_input=np.array([[START_ID, 8, 9, 10, 0]], dtype=np.int32),
        decoder_target=np.array([[8, 9, 10, END_ID, 0]], dtype=np.int32),
    )
    weights = np.zeros((1, 5, 4), dtype=np.float32)
    weights[0, 0, 0] = 1.0  # right
    weights[0, 1, 1] = 1.0  # a -1 word: whatever it looks at, it does not count
    weights[0, 2, 1] = 1.0  # wrong (gold is 2)
    assert attention.alignment_accuracy(weights, encoded, [(0, -1, 2)]) == 0.5
    weights[0, 1] = [0.0, 0.0, 1.0, 0.0]
    assert attention.alignment_accuracy(weights, encoded, [(0, -1, 2)]) == 0.5
    gold = attention.gold_weights(encoded, [(0, -1, 2)])
    np.testing.assert_allclose(gold[0, 1], [1 / 3, 1 / 3, 1 / 3, 0.0])  # uniform over the three words
    assert math.isnan(attention.alignment_accuracy(weights, encoded, [(-1, -1, -1)]))


# --------------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", attention.SCORES)
@pytest.mark.parametrize(("units", "embedding_size"), [(16, 8), (32, 12)])
def test_parameter_counts_match_keras(score, units, embedding_size):
    from lib.engine.params import total_params

    model = attention.build_attention_seq2seq(50, 70, score=score, units=units, embedding_size=embedding_size, seed=2)
    counts = attention.attention_layer_counts(50, 70, score=score, units=units, embedding_size=embedding_size)
    assert total_params(counts) == model.count_params()
    assert attention.attention_settings(model) == {"score": score, "units": units, "embedding_size": embedding_size}


@pytest.mark.parametrize("score", attention.SCORES)
def test_build_is_seeded_for_every_score(score):
    """The same settings and seed give the same model (the general and additive scores' W, W₁, W₂
    and v included), so two presses of Train with one setting draw the same curve."""
    first, second, other = (
        attention.build_attention_seq2seq(30, 40, score=score, units=8, embedding_size=4, seed=seed)
        for seed in (3, 3, 4)
    )
    for variable, a, b, c in zip(first.weights, first.get_weights(), second.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b, err_msg=variable.path)
        assert not np.array_equal(a, c) or not a.any(), variable.path  # biases start at 0 whatever the seed


# --------------------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", attention.SCORES)
def test_save_and_load_give_the_same_translation_and_attention(translators, small_corpus, tmp_path, score):
    translator = translators[score]
    attention.save_attention_translator(translator, tmp_path)
    loaded = attention.load_attention_translator(tmp_path)  # Keras's safe mode: the default
    assert loaded.settings == translator.settings
    assert loaded.target_vocabulary.words == translator.target_vocabulary.words
    assert attention.is_attention_model(loaded.model)
    for english, _ in small_corpus[0].test[:3]:
        ids = translator.source_vocabulary.encode(english)
        before, after = (
            decoding.greedy_decode(translator, ids, max_length=10),
            decoding.greedy_decode(loaded, ids, max_length=10),
        )
        assert after.token_ids == before.token_ids
        for old, new in zip(before.steps, after.steps):
            np.testing.assert_allclose(new.extras["attention"], old.extras["attention"], atol=1e-6)


# The page's example sentence, and the grammar's alignment of it written out by hand:
#   English: the(0) small(1) cat(2) does(3) not(4) see(5) the(6) green(7) houses(8)
#   le→the petit→small chat→cat ne→not voit→see pas→not les→the maisons→houses vertes→green
EXAMPLE_ENGLISH = "the small cat does not see the green houses"
EXAMPLE_FRENCH = "le petit chat ne voit pas les maisons vertes"
EXAMPLE_ALIGNMENT = (0, 1, 2, 4, 5, 4, 6, 8, 7)


def test_the_hand_written_alignment_is_the_grammars():
    tree = Clause(
        subject=NounPhrase("cat", adjectives=("small",)),
        verb="see",
        negated=True,
        object=NounPhrase("house", plural=True, adjectives=("green",)),
    )
    assert render_aligned(tree) == (EXAMPLE_ENGLISH, EXAMPLE_FRENCH, EXAMPLE_ALIGNMENT)


def test_shipped_model_translates_and_aligns_the_example():
    if not (attention.ATTENTION_DIRECTORY / attention.MODEL_FILE).exists():
        pytest.skip("the pretrained attention model has not been generated (scripts/train_translator.py)")
    translator = attention.load_attention_translator()
    assert translator.settings == {"score": "dot", "units": 256, "embedding_size": 64}
    ids = translator.source_vocabulary.encode(EXAMPLE_ENGLISH)
    trace = decoding.greedy_decode(translator, ids)
    assert trace.stopped_at_end and trace.text == EXAMPLE_FRENCH
    looked_at = [int(step.extras["attention"].argmax()) for step in trace.steps[: len(EXAMPLE_ALIGNMENT)]]
    hits = sum(seen == gold for seen, gold in zip(looked_at, EXAMPLE_ALIGNMENT))
    # Measured: 7 of 9. The model looks at "does" for ne, and at the next word "the" for pas.
    assert hits >= 7, list(zip(EXAMPLE_FRENCH.split(), looked_at))


def test_the_shipped_alignment_reading_is_written_from_its_measured_misses():
    from lib.page_glue.attention_page import shipped_alignment_reading

    measured = {
        "alignment_accuracy": 0.9126,
        "alignment_missed": 441,
        "alignment_misses": {"pas": 215, "ne": 141, "n'": 74, "sont": 5},
    }
    reading = shipped_alignment_reading(measured)
    assert "91%" in reading and "430 of its 441 misses are pas, ne, n'" in reading and '"not"' in reading
    other = shipped_alignment_reading(
        {"alignment_accuracy": 0.5, "alignment_missed": 10, "alignment_misses": {"sont": 6, "est": 3, "le": 1, "la": 0}}
    )
    assert "50%" in other and "10 of its 10 misses are sont, est, le" in other and "not" not in other
    assert shipped_alignment_reading({}) == ""


def test_alignment_counts_name_the_missed_words():
    from lib.data.corpus import EncodedPairs
    from lib.models.attention import alignment_counts

    # One sentence, three French words (ids 5, 6, 7) aligned to English 0, 1, 1; the model looks at 0, 1, 0.
    weights = np.array([[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]], dtype=np.float32)
    encoded = EncodedPairs(
        encoder_input=np.array([[3, 4]]), decoder_input=np.array([[1, 5, 6]]), decoder_target=np.array([[5, 6, 7]])
    )
    assert alignment_counts(weights, encoded, [[0, 1, 1]]) == (2, 3, {7: 1})
