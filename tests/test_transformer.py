"""Unit tests for lib/models/transformer.py: the sinusoid by hand, one head's attention against NumPy, the
permutation property with and without positions, the causal mask, no attention on <pad>, parameter
counts, step-by-step decoding against teacher forcing, a short training run, head knockout on a
copy of the model, and save/load in safe mode."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from lib.data.corpus import PAD_ID, START_ID, Vocabulary, encode_pairs
from lib.data.grammar import make_corpus
from lib.engine.params import total_params
from lib.models import decoding, seq2seq, transformer
from tests.transformer_support import tiny_translator


@pytest.fixture(scope="module")
def translator(small_corpus):
    return tiny_translator(small_corpus)


@pytest.fixture(scope="module")
def uneven_batch(small_corpus):
    """Eight held-out pairs of different lengths, padded with 0 to the longest of them."""
    built, english, french = small_corpus
    encoded = encode_pairs(built.test[:8], english, french)
    lengths = (encoded.encoder_input != PAD_ID).sum(axis=1)
    assert len(set(lengths.tolist())) >= 3 and (lengths < encoded.encoder_input.shape[1]).sum() >= 4
    return encoded


# --------------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------------


def test_sinusoidal_encoding_by_hand():
    encoding = transformer.sinusoidal_encoding(50, 8)
    assert encoding.shape == (50, 8)
    np.testing.assert_allclose(encoding[0], [0, 1, 0, 1, 0, 1, 0, 1], atol=1e-7)
    assert encoding[1, 0] == pytest.approx(math.sin(1.0), abs=1e-6)
    assert encoding[1, 1] == pytest.approx(math.cos(1.0), abs=1e-6)
    # PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(the same angle); here d = 8.
    assert encoding[3, 4] == pytest.approx(math.sin(3 / 10000 ** (4 / 8)), abs=1e-6)
    assert encoding[7, 5] == pytest.approx(math.cos(7 / 10000 ** (4 / 8)), abs=1e-6)
    assert encoding[42, 6] == pytest.approx(math.sin(42 / 10000 ** (6 / 8)), abs=1e-6)
    assert transformer.sinusoidal_encoding(3, 7).shape == (3, 7)  # An odd size keeps its last sine.


def test_sinusoidal_layer_uses_the_same_formula_at_any_length(translator):
    layer = translator.model.get_layer("english_positions")
    for length in (5, 200):  # 200: longer than any sentence the model has seen.
        added = np.asarray(layer(np.zeros((2, length, 16), dtype=np.float32)))
        np.testing.assert_allclose(added[1], transformer.sinusoidal_encoding(length, 16), atol=1e-4)


def test_permutation_property_without_positions_only(small_corpus):
    source = np.asarray([5, 9, 14, 22, 31, 8], dtype=np.int32)
    order = np.random.default_rng(0).permutation(len(source))
    without = tiny_translator(small_corpus, positions="none")
    outputs, shuffled = (transformer.encoder_outputs(without, ids) for ids in (source, source[order]))
    np.testing.assert_allclose(shuffled, outputs[order], atol=1e-5)
    with_positions = tiny_translator(small_corpus, positions="sinusoidal")
    outputs, shuffled = (transformer.encoder_outputs(with_positions, ids) for ids in (source, source[order]))
    assert not np.allclose(shuffled, outputs[order], atol=1e-3)


# --------------------------------------------------------------------------------------------------
# One head by hand, against NumPy
# --------------------------------------------------------------------------------------------------


def reference_attention(x_queries, x_keys, w_q, b_q, w_k, b_k, w_v, b_v, mask):
    """Scaled dot-product attention, softmax(QKᵀ/√d_k) V, for one head, written out independently."""
    q, k, v = x_queries @ w_q + b_q, x_keys @ w_k + b_k, x_keys @ w_v + b_v
    scores = q @ k.T / np.sqrt(q.shape[1])
    scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return weights, weights @ v


@pytest.mark.parametrize(
    "layer_name, head",
    [
        ("encoder_1_self_attention", 0),
        ("encoder_2_self_attention", 1),
        ("decoder_1_self_attention", 1),
        ("decoder_2_cross_attention", 0),
    ],
)
def test_walkthrough_is_scaled_dot_product_attention(translator, layer_name, head):
    source, target_in = [5, 9, 14, 22, 31], [START_ID, 7, 12, 4]
    walk = transformer.head_walkthrough(translator, source, layer_name, head, target_in=target_in)
    weights, output = reference_attention(
        walk["X"],
        walk["X_keys"],
        walk["W_Q"],
        walk["b_Q"],
        walk["W_K"],
        walk["b_K"],
        walk["W_V"],
        walk["b_V"],
        walk["mask"],
    )
    np.testing.assert_allclose(walk["weights"], weights, atol=1e-10)
    np.testing.assert_allclose(walk["output"], output, atol=1e-10)
    np.testing.assert_allclose(walk["weights"], walk["keras_weights"], atol=1e-5)
    np.testing.assert_allclose(walk["scaled_scores"], walk["scores"] / math.sqrt(8))
    queries = len(source) if layer_name.startswith("encoder") else len(target_in)
    keys = len(target_in) if "decoder" in layer_name and "self" in layer_name else len(source)
    assert (
        walk["X"].shape == (queries, 16) and walk["W_Q"].shape == (16, 8) and walk["weights"].shape == (queries, keys)
    )
    assert len(walk["query_words"]) == queries and len(walk["key_words"]) == keys
    if layer_name == "decoder_1_self_attention":  # The causal mask, by hand: key j allowed iff j ≤ i.
        np.testing.assert_array_equal(walk["mask"], np.tril(np.ones((keys, keys), dtype=bool)))


def test_walkthrough_of_a_decoder_layer_reads_the_models_own_translation(translator):
    walk = transformer.head_walkthrough(translator, [5, 9, 14], "decoder_1_cross_attention", head=1)
    translation = decoding.greedy_decode(translator, [5, 9, 14]).token_ids
    assert walk["X"].shape == (1 + len(translation), 16) and walk["X_keys"].shape == (3, 16)
    np.testing.assert_allclose(walk["weights"], walk["keras_weights"], atol=1e-5)
    import keras

    scores = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    allowed = np.array([[True, False, True], [False, False, False]])  # The second row fully masked.
    by_keras = np.asarray(keras.layers.Softmax()(scores.astype("float32"), mask=allowed))
    np.testing.assert_allclose(transformer.softmax_rows(np.where(allowed, scores, -np.inf)), by_keras, atol=1e-6)
    assert (by_keras[1] == 0).all()  # As Keras: a fully masked row is all 0 (not uniform), and no NaN.


def test_a_fully_masked_row_attends_to_nothing_as_in_keras(translator):
    # An English sentence of <pad> only: every cross-attention row has all its keys masked. Keras 3.15
    # then gives weights of zero (not a uniform row), and the walkthrough's softmax does the same.
    walk = transformer.head_walkthrough(
        translator, [PAD_ID, PAD_ID, PAD_ID], "decoder_1_cross_attention", head=0, target_in=[START_ID, 7]
    )
    assert not walk["mask"].any()
    np.testing.assert_array_equal(walk["keras_weights"], 0.0)
    np.testing.assert_array_equal(walk["weights"], 0.0)
    assert np.all(np.isfinite(walk["output"]))
    partly = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    np.testing.assert_allclose(transformer.softmax_rows(partly), [[1 / (1 + np.e), 0, np.e / (1 + np.e)], [0, 0, 0]])


# --------------------------------------------------------------------------------------------------
# Masks: causal, and nothing on <pad>
# --------------------------------------------------------------------------------------------------


def test_causal_mask(small_corpus, translator, uneven_batch):
    real_words = int((uneven_batch.decoder_input[0] != PAD_ID).sum())
    maps = translator.attention_maps(uneven_batch.encoder_input[0], uneven_batch.decoder_input[0, :real_words])
    for name in ("decoder_1_self_attention", "decoder_2_self_attention"):
        above = np.triu(np.ones(maps[name].shape[1:], dtype=bool), k=1)
        assert np.all(maps[name][:, above] == 0.0) and np.all(maps[name][:, ~above] > 0.0)

    source, target_in = uneven_batch.encoder_input[:1], uneven_batch.decoder_input[:1].copy()
    changed = target_in.copy()
    changed[0, 3] = (changed[0, 3] + 5) % len(small_corpus[2]) or 4  # A different word at position 3.
    before, after = (np.asarray(translator.model([source, ids], training=False)) for ids in (target_in, changed))
    np.testing.assert_allclose(after[0, :3], before[0, :3], atol=1e-6)
    assert not np.allclose(after[0, 3:], before[0, 3:], atol=1e-4)

    peeking = tiny_translator(small_corpus, causal_mask=False)
    assert not peeking.settings["causal_mask"] and translator.settings["causal_mask"]
    before, after = (np.asarray(peeking.model([source, ids], training=False)) for ids in (target_in, changed))
    assert not np.allclose(after[0, :3], before[0, :3], atol=1e-4)  # Earlier positions read the later word.


def test_no_attention_on_padding(translator, uneven_batch):
    source, target_in = uneven_batch.encoder_input, uneven_batch.decoder_input
    maps = {name: np.asarray(weights) for name, weights in translator.attention_model([source, target_in]).items()}
    source_pad = (source == PAD_ID)[:, None, None, :]  # (batch, heads, queries, keys)
    target_pad = (target_in == PAD_ID)[:, None, None, :]
    assert source_pad.any() and target_pad.any()
    for name, weights in maps.items():
        pad = target_pad if name.startswith("decoder") and "self" in name else source_pad
        assert np.all(np.where(np.broadcast_to(pad, weights.shape), weights, 0.0) == 0.0), name
        assert np.all(np.isfinite(weights)), name
    # So a sentence's probabilities do not depend on how much padding its batch carries.
    alone = np.asarray(
        translator.model([source[:1, : (source[0] != 0).sum()], target_in[:1, : (target_in[0] != 0).sum()]])
    )
    padded = translator.teacher_forced_probabilities(uneven_batch)[0, : alone.shape[1]]
    np.testing.assert_allclose(padded, alone[0], atol=1e-5)


def test_a_source_of_padding_only_gives_no_nan(translator):
    state = translator.encode(np.asarray([[PAD_ID, PAD_ID]]))
    probabilities, _, extras = translator.step(np.asarray([START_ID]), state)
    assert np.all(np.isfinite(state[0])) and np.all(np.isfinite(probabilities))
    assert np.all(np.isfinite(extras["attention"]))


# --------------------------------------------------------------------------------------------------
# Parameter counts
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"layers": 1, "heads": 1, "model_size": 8, "feed_forward_size": 16, "positions": "none"},
        {"layers": 2, "heads": 2, "model_size": 16, "feed_forward_size": 24, "positions": "sinusoidal"},
        {"layers": 3, "heads": 4, "model_size": 32, "feed_forward_size": 64, "positions": "learned"},
        {
            "layers": 2,
            "heads": 8,
            "model_size": 64,
            "feed_forward_size": 128,
            "positions": "learned",
            "max_positions": 40,
        },
    ],
)
def test_counts_equal_keras(settings):
    model = transformer.build_transformer(37, 53, **settings)
    counts = transformer.transformer_layer_counts(37, 53, **settings)
    assert total_params(counts) == model.count_params()
    assert transformer.transformer_settings(model) == {
        "dropout": 0.1,
        "causal_mask": True,
        "max_positions": settings.get("max_positions", 128),
        **{key: value for key, value in settings.items() if key != "max_positions"},
    }


def test_default_settings_count():
    settings = {
        key: transformer.DEFAULT_SETTINGS[key]
        for key in ("layers", "heads", "model_size", "feed_forward_size", "positions")
    }
    assert total_params(transformer.transformer_layer_counts(171, 271, **settings)) == 754_575


# --------------------------------------------------------------------------------------------------
# Decoding one step at a time
# --------------------------------------------------------------------------------------------------


def test_step_by_step_equals_teacher_forcing(translator, uneven_batch):
    expected = translator.teacher_forced_probabilities(uneven_batch)
    state = translator.encode(uneven_batch.encoder_input)
    real = uneven_batch.decoder_target != PAD_ID
    for position in range(uneven_batch.decoder_input.shape[1]):
        probabilities, state, extras = translator.step(uneven_batch.decoder_input[:, position], state)
        np.testing.assert_allclose(probabilities[real[:, position]], expected[real[:, position], position], atol=1e-4)
        assert extras["attention"].shape == uneven_batch.encoder_input.shape
    assert state[2].shape == uneven_batch.decoder_input.shape
    # The step's attention row is the last decoder layer's cross-attention averaged over its heads.
    maps = translator.attention_maps(uneven_batch.encoder_input[0], uneven_batch.decoder_input[0])
    np.testing.assert_allclose(extras["attention"][0], maps["decoder_2_cross_attention"][:, -1].mean(axis=0), atol=1e-5)
    # Neither step nor encoding retraces for a new batch size or length.
    decoding.greedy_decode(translator, [5, 9, 14])
    decoding.beam_search(translator, [5, 9, 14, 22, 31, 8, 6], width=3)
    assert translator._incremental_step.experimental_get_tracing_count() == 1
    assert translator._encode.experimental_get_tracing_count() == 1


def test_incremental_decoding_writes_the_same_words_as_rerunning_the_whole_prefix():
    """The key-value cache is only a shortcut: the shipped Transformer, trained, decodes 300 held-out
    sentences (greedy, in a batch) and one by beam search to the very same words, with the same attention
    rows, whether each step reads its cache or reruns the decoder over the whole prefix."""
    from lib.page_glue.translator_family import default_corpus

    translator = transformer.TransformerTranslator.load()
    assert translator.incremental
    test = default_corpus().test[:300]
    encoded = encode_pairs(test, translator.source_vocabulary, translator.target_vocabulary)
    length = encoded.decoder_target.shape[1]
    sentence = translator.source_vocabulary.encode(test[7][0])
    cached = decoding.greedy_decode_batch(translator, encoded.encoder_input, max_length=length)
    cached_trace = decoding.greedy_decode(translator, sentence)
    cached_beam = decoding.beam_search(translator, sentence, width=4)
    assert len(translator.encode(encoded.encoder_input[:2])) == 3 + translator.settings["layers"]
    translator.incremental = False
    assert len(translator.encode(encoded.encoder_input[:2])) == 3
    rerun = decoding.greedy_decode_batch(translator, encoded.encoder_input, max_length=length)
    rerun_trace = decoding.greedy_decode(translator, sentence)
    rerun_beam = decoding.beam_search(translator, sentence, width=4)
    assert cached == rerun and sum(map(len, cached)) > 1500
    assert cached_trace.token_ids == rerun_trace.token_ids and len(cached_trace.steps) > 3
    for cached_step, rerun_step in zip(cached_trace.steps, rerun_trace.steps):
        np.testing.assert_allclose(cached_step.extras["attention"], rerun_step.extras["attention"], atol=1e-5)
    assert cached_beam.token_ids == rerun_beam.token_ids
    assert cached_beam.log_probability == pytest.approx(rerun_beam.log_probability, abs=1e-4)


def test_without_the_causal_mask_each_step_reruns_the_whole_prefix(small_corpus):
    """Without the causal mask the earlier positions change as the prefix grows: no cache then."""
    translator = tiny_translator(small_corpus, causal_mask=False)
    assert not translator.incremental
    state = translator.encode(np.asarray([[5, 9, 14]], dtype=np.int32))
    assert len(state) == 3
    probabilities, state, _ = translator.step(np.asarray([START_ID]), state)
    assert probabilities.shape == (1, len(translator.target_vocabulary)) and state[2].shape == (1, 1)


def test_training_lowers_the_loss_and_decoding_runs():
    built = make_corpus(2000, 100)
    english = Vocabulary.from_sentences(e for e, _ in built.train)
    french = Vocabulary.from_sentences(f for _, f in built.train)
    encoded = encode_pairs(built.train, english, french)
    model = transformer.build_transformer(
        len(english),
        len(french),
        layers=1,
        heads=2,
        model_size=32,
        feed_forward_size=64,
        positions="learned",
        max_positions=64,
    )
    table = np.asarray(model.get_layer("french_positions").table).copy()
    trainer = seq2seq.compile_seq2seq(model, learning_rate=transformer.DEFAULT_LEARNING_RATE)
    batches = seq2seq.bucketed_dataset(encoded, batch_size=64)
    before = trainer.evaluate(batches, verbose=0, return_dict=True)["loss"]
    trainer.fit(batches, epochs=1, verbose=0)
    after = trainer.evaluate(batches, verbose=0, return_dict=True)["loss"]
    assert after < before - 0.5  # 5.68 → 4.55 when written.
    # Rows of the learned table past the longest training sentence never got a gradient.
    longest = int((encoded.decoder_input != PAD_ID).sum(axis=1).max())
    trained = np.asarray(model.get_layer("french_positions").table)
    assert not np.allclose(trained[:longest], table[:longest])
    np.testing.assert_array_equal(trained[longest:], table[longest:])

    translator = transformer.TransformerTranslator(trainer, english, french)
    source = english.encode(built.test[0][0])
    trace = decoding.greedy_decode(translator, source)
    assert trace.steps and trace.steps[0].extras["attention"].shape == (len(source),)
    assert isinstance(decoding.beam_search(translator, source, width=3).text, str)
    assert len(decoding.greedy_decode_batch(translator, encoded.encoder_input[:16], max_length=10)) == 16


# --------------------------------------------------------------------------------------------------
# Head knockout, and save/load
# --------------------------------------------------------------------------------------------------


def test_head_knockout_changes_only_the_copy(translator, uneven_batch):
    original_weights = [w.copy() for w in translator.model.get_weights()]
    original = translator.teacher_forced_probabilities(uneven_batch)
    started = time.perf_counter()
    silenced = transformer.with_heads_silenced(
        translator, {("encoder_1_self_attention", 0), ("decoder_2_cross_attention", 1)}
    )
    assert time.perf_counter() - started < 5.0  # About half a second on 2 shared cores.
    assert silenced.model is not translator.model
    kernel = np.asarray(silenced.model.get_layer("decoder_2_cross_attention").output_dense.kernel)
    assert np.all(kernel[1] == 0.0) and np.any(kernel[0] != 0.0)
    assert not np.allclose(silenced.teacher_forced_probabilities(uneven_batch), original, atol=1e-4)
    np.testing.assert_array_equal(translator.teacher_forced_probabilities(uneven_batch), original)
    for before, after in zip(original_weights, translator.model.get_weights()):
        np.testing.assert_array_equal(before, after)
    with pytest.raises(ValueError):
        transformer.with_heads_silenced(translator, {("encoder_1_self_attention", 2)})


def test_save_and_load_in_safe_mode(translator, uneven_batch, tmp_path):
    transformer.save_transformer_translator(translator, tmp_path)
    assert (tmp_path / transformer.MODEL_FILE).exists()
    loaded = transformer.load_transformer_translator(tmp_path)
    assert loaded.settings == translator.settings
    np.testing.assert_allclose(
        loaded.teacher_forced_probabilities(uneven_batch),
        translator.teacher_forced_probabilities(uneven_batch),
        atol=1e-6,
    )
    import keras

    model = keras.saving.load_model(tmp_path / transformer.MODEL_FILE, compile=False, safe_mode=True)
    assert model.get_layer("french_self_attention_mask").causal


# --------------------------------------------------------------------------------------------------
# Cost against length
# --------------------------------------------------------------------------------------------------


def test_encoder_flops_by_hand():
    # L = 10, d = 4, d_ff = 8, 2 heads, 1 layer: projections 4·2·10·4·4 = 1,280; feed-forward 2·2·10·4·8 =
    # 1,280; attention 2·2·10·10·4 + 5·2·10·10 = 1,600 + 1,000 = 2,600.
    flops = transformer.encoder_flops(10, 4, 8, 2, layers=1)
    assert (flops["projections"], flops["feed-forward"], flops["attention"]) == (1280, 1280, 2600)
    assert flops["attention share"] == pytest.approx(2600 / 5160)
    assert transformer.encoder_flops(10, 4, 8, 2, layers=3)["attention"] == 3 * 2600
    shares = [transformer.encoder_flops(length, 128, 256, 4)["attention share"] for length in (16, 128, 512, 2048)]
    assert shares == sorted(shares) and shares[0] < 0.05 and shares[-1] > 0.75


def test_the_encoder_alone_has_the_settings_it_is_given():
    encoder = transformer.transformer_encoder(
        50, model_size=16, heads=2, layers=1, feed_forward_size=24, positions="none"
    )
    output = np.asarray(encoder(np.asarray([[5, 9, 14]], dtype=np.int32)))
    assert output.shape == (1, 3, 16)
    assert {layer.name for layer in encoder.layers} >= {"encoder_1_self_attention", "encoder_output_norm"}
    assert "encoder_2_self_attention" not in {layer.name for layer in encoder.layers}
