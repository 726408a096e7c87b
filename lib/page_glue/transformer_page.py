"""The Transformer page's glue: the shared pretrained Transformer, its heads and layers as attention
maps, heads silenced at inference, training from scratch with one head's map as the live view, and
the cost of attention against recurrence as sentences grow.

Everything shared by the three translators comes from `lib.page_glue.translator_page` (corpus, uploads,
vocabularies, decoding, BLEU, the family comparison) and the attention maps' frames and live view
from `lib.page_glue.attention_page`; this module adds only what is the Transformer's own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from lib.app.shipped_evaluations import load_evaluation
from lib.data.bleu import corpus_bleu
from lib.data.corpus import START, START_ID, Corpus, Vocabulary, encode_pairs, tokenize
from lib.engine.charts import attention_grid, attention_heatmap, line_chart, matrix_heatmap, show, specification
from lib.engine.training import TrainingRun
from lib.models.decoding import greedy_decode, greedy_decode_batch
from lib.models.seq2seq import load_metrics
from lib.models.transformer import (
    DEFAULT_LEARNING_RATE,
    DEFAULT_SETTINGS,
    TRANSFORMER_DIRECTORY,
    MODEL_FILE as TRANSFORMER_MODEL_FILE,
    TransformerTranslator,
    build_transformer,
    encoder_without_positions,
    head_walkthrough,
    load_transformer_translator,
    sinusoidal_encoding,
    transformer_layer_counts,
    with_heads_silenced,
)
from lib.page_glue.attention_page import PRETRAINED as PRETRAINED_ATTENTION
from lib.page_glue.attention_page import attention_frame, fixed_sentence, pretrained_attention_evaluation, pretrained_attention_figures
from lib.page_glue.translator_page import (
    SHIPPED_SEQ2SEQ,
    ShippedModel,
    default_corpus,
    evaluation_results,
    layer_counts_frame,
    remembered,
    traced,
)

PAGE_KEY = "transformer"
PRETRAINED = "pretrained Transformer (shipped)"
COMPARED_PAGES = ["translator", "attention", "transformer"]
# "Train from scratch" defaults: half the pairs of the earlier default; a Transformer press also pays
# a fixed cost (tracing its graphs, decoding without a key-value cache), so fewer pairs save less
# here than on the other pages, and 6,000 pairs left it at about half the BLEU (docs/press-cost.md).
SCRATCH_DEFAULT_TRAIN = 12_000
SCRATCH_DEFAULT_EPOCHS = 2
# The live head map's snapshots per epoch (each is drawn for every session watching).
SNAPSHOTS_PER_EPOCH = 6
# Held-out sentences on which a silenced head's cost is measured: enough for a stable BLEU, few
# enough that a room trying heads one after another waits about a second for each.
KNOCKOUT_SENTENCES = 100
KIND_NAMES = {"self_attention": "self-attention", "cross_attention": "cross-attention (decoder → encoder)"}


@dataclass(frozen=True)
class TransformerSettings:
    """What the page's "Train from scratch" controls set."""

    layers: int = DEFAULT_SETTINGS["layers"]
    heads: int = DEFAULT_SETTINGS["heads"]
    model_size: int = DEFAULT_SETTINGS["model_size"]
    feed_forward_size: int = DEFAULT_SETTINGS["feed_forward_size"]
    dropout: float = DEFAULT_SETTINGS["dropout"]
    positions: str = DEFAULT_SETTINGS["positions"]
    causal_mask: bool = True
    epochs: int = SCRATCH_DEFAULT_EPOCHS
    train_sentences: int = SCRATCH_DEFAULT_TRAIN
    longest_training_sentence: int | None = None
    sampling_probability: float = 0.0
    learning_rate: float = DEFAULT_LEARNING_RATE
    # Which head the live view follows (kept with the run, so its replay draws the right words).
    watched_layer: str = "decoder_2_cross_attention"
    watched_head: int = 0
    seed: int = 0

    def build(self, vocabularies: tuple[Vocabulary, Vocabulary]):
        return build_transformer(len(vocabularies[0]), len(vocabularies[1]), self.layers, self.heads, self.model_size,
                                 self.feed_forward_size, self.dropout, self.positions, self.causal_mask, seed=self.seed)

    @property
    def label(self) -> str:
        longest = f" · ≤{self.longest_training_sentence} words" if self.longest_training_sentence else ""
        mask = "" if self.causal_mask else " · NO causal mask"
        seed = f" · seed {self.seed}" if self.seed else ""
        return (f"Transformer {self.layers}×{self.heads} heads · d {self.model_size} · ff {self.feed_forward_size} · "
                f"{self.positions} positions{mask} · {self.train_sentences:,} pairs{longest} · {self.epochs} epochs{seed}")


def parameter_table(settings: TransformerSettings, vocabularies: tuple[Vocabulary, Vocabulary]) -> pd.DataFrame:
    counts = transformer_layer_counts(len(vocabularies[0]), len(vocabularies[1]), settings.layers, settings.heads,
                                      settings.model_size, settings.feed_forward_size, settings.positions)
    return layer_counts_frame(counts)


# --- The pretrained Transformer -----------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading TensorFlow and the pretrained Transformer…")
def pretrained_transformer() -> TransformerTranslator:
    """The shipped Transformer, shared read-only by every session, its graphs traced once here."""
    return traced(load_transformer_translator())


@st.cache_data(show_spinner=False)
def pretrained_transformer_figures() -> dict:
    return load_metrics(TRANSFORMER_DIRECTORY)


@st.cache_data(show_spinner="Measuring the pretrained Transformer on the held-out sentences…")
def pretrained_transformer_evaluation() -> dict:
    """The shipped Transformer's held-out figures: shipped beside the model (lib/app/shipped_evaluations.py),
    measured here only if that file is stale."""
    return (load_evaluation(TRANSFORMER_DIRECTORY, TRANSFORMER_MODEL_FILE, default_corpus())
            or measure_pretrained_transformer_evaluation())


def measure_pretrained_transformer_evaluation() -> dict:
    return evaluation_results(pretrained_transformer(), default_corpus().test, PRETRAINED)


SHIPPED = [
    SHIPPED_SEQ2SEQ,
    ShippedModel(PRETRAINED_ATTENTION, pretrained_attention_figures, pretrained_attention_evaluation),
    ShippedModel(PRETRAINED, pretrained_transformer_figures, pretrained_transformer_evaluation),
]


# --- Heads and layers ---------------------------------------------------------------------------------


def decoder_input(translator: TransformerTranslator, source_ids: list[int]) -> tuple[list[int], list[str]]:
    """<s> and the model's own greedy translation: the decoder's input whose attention the page shows."""
    trace = greedy_decode(translator, source_ids)
    return [START_ID, *trace.token_ids], [START, *trace.words]


def head_frames(translator: TransformerTranslator, source_ids: list[int], english: list[str]) -> dict[str, pd.DataFrame]:
    """Every attention layer's heads for one sentence, by kind ("encoder self-attention", …): long
    frames of `attention_frame` with the layer and head, for `lib.engine.charts.attention_grid`."""
    target_in, french = decoder_input(translator, source_ids)
    maps = translator.attention_maps(source_ids, target_in)
    frames: dict[str, list[pd.DataFrame]] = {}
    for name, weights in maps.items():
        stack, number, kind = name.split("_", 2)
        queries = english if stack == "encoder" else french
        keys = french if kind == "self_attention" and stack == "decoder" else english
        title = f"{stack} {KIND_NAMES[kind]}"
        for head, head_weights in enumerate(weights):
            frame = attention_frame(head_weights, keys, queries).assign(layer=f"layer {number}", head=f"head {head + 1}")
            frames.setdefault(title, []).append(frame)
    return {title: pd.concat(parts, ignore_index=True) for title, parts in frames.items()}


def map_titles(stack_and_kind: str) -> tuple[str, str]:
    """Axis titles of a map: (keys, queries)."""
    if stack_and_kind.startswith("encoder"):
        return "English (keys)", "English (queries)"
    if "self" in stack_and_kind:
        return "French so far (keys)", "French (queries)"
    return "English (keys: the encoder's output)", "French (queries)"


def head_frames_of(translator: TransformerTranslator, source_ids: list[int], english: list[str]) -> dict[str, pd.DataFrame]:
    """`head_frames`, remembered per sentence on the translator."""
    return remembered(translator, "head_frames", tuple(source_ids), lambda: head_frames(translator, source_ids, english))


def grid_specifications(translator: TransformerTranslator, source_ids: list[int],
                        english: list[str]) -> dict[str, dict]:
    """The head grids' chart specifications, remembered per sentence: redrawn at every rerun, built once."""
    return remembered(translator, "grids", tuple(source_ids), lambda: {
        title: specification(attention_grid(frame, cell=9))
        for title, frame in head_frames_of(translator, source_ids, english).items()})


def walkthrough(translator: TransformerTranslator, source_ids: list[int], layer_name: str, head: int) -> dict:
    """One head's computation (`lib.models.transformer.head_walkthrough`) and the specifications of its
    matrices (Q, K, V, then scores → scaled → masked → softmax), remembered per sentence and head."""
    def compute() -> dict:
        walk = head_walkthrough(translator, source_ids, layer_name, head)
        queries, keys = walk["query_words"], walk["key_words"]
        key_labels = [f"{i + 1} {word}" for i, word in enumerate(keys)]
        charts = {name: specification(matrix_heatmap(walk[name], queries if name == "Q" else keys,
                                                     title=f"{name} ({len(queries if name == 'Q' else keys)} × "
                                                           f"{walk['key_dim']})", cell=9))
                  for name in ("Q", "K", "V")}
        for name, title, diverging in (("scores", "Q·Kᵀ", True), ("scaled_scores", f"÷ √{walk['key_dim']}", True),
                                       ("masked_scores", "masked (grey: −∞)", True),
                                       ("weights", "softmax, row by row", False)):
            charts[name] = specification(matrix_heatmap(walk[name], queries, title=title, cell=14, diverging=diverging,
                                                        columns=key_labels))
        charts["output"] = specification(matrix_heatmap(walk["output"], queries, cell=9,
                                                        title=f"output = weights · V ({len(queries)} × {walk['key_dim']})"))
        return {**walk, "charts": charts,
                "largest_difference": float(np.abs(walk["weights"] - walk["keras_weights"]).max())}

    return remembered(translator, "walkthroughs", (tuple(source_ids), layer_name, head), compute)


@st.cache_data(show_spinner=False)
def position_specifications(model_size: int, positions: int = 50) -> tuple[dict, dict]:
    """The sinusoidal encoding as a heatmap (position × the first 64 dimensions) and a few of its curves."""
    encoding = sinusoidal_encoding(positions, model_size)
    heatmap = matrix_heatmap(encoding[:, :64], [f"position {p}" for p in range(positions)],
                             title="Sinusoidal encoding: position × dimension (first 64)", cell=7, numbered=False)
    curves = pd.DataFrame([{"position": p, "value": encoding[p, d], "dimension": f"dimension {d}"}
                           for d in (0, 1, 10, 11, 40, 41) for p in range(positions)])
    return specification(heatmap), specification(line_chart(curves, "position", "value", "dimension",
                                                            x_title="Position", y_title="Value"))


def permutation_check(translator: TransformerTranslator, source_ids: list[int]) -> dict:
    """Shuffle the sentence (seeded by its length) and compare the encoder's outputs, with and
    without its position encoding, against the original outputs permuted the same way."""
    def compute() -> dict:
        order = np.random.default_rng(len(source_ids)).permutation(len(source_ids))
        shuffled = [source_ids[i] for i in order]
        plain = remembered(translator, "encoder_without_positions", None, lambda: encoder_without_positions(translator))
        original_rows = np.asarray(plain(np.asarray([source_ids], dtype=np.int32), training=False))[0]
        shuffled_rows = np.asarray(plain(np.asarray([shuffled], dtype=np.int32), training=False))[0]
        with_positions = translator.encode(np.asarray([source_ids], dtype=np.int32))[0][0]
        with_positions_shuffled = translator.encode(np.asarray([shuffled], dtype=np.int32))[0][0]
        return {"order": order,
                "without": float(np.abs(shuffled_rows - original_rows[order]).max()),
                "with": float(np.abs(with_positions_shuffled - with_positions[order]).max())}

    return remembered(translator, "permutations", tuple(source_ids), compute)


# --- Silencing heads ------------------------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner="Copying the model with those heads silenced…")
def silenced_pretrained(silenced: tuple[tuple[str, int], ...]) -> TransformerTranslator:
    """The shipped Transformer with these heads silenced, one copy per set, shared by every session."""
    return with_heads_silenced(pretrained_transformer(), set(silenced))


def silenced_translator(translator: TransformerTranslator, silenced: tuple[tuple[str, int], ...],
                        is_shipped: bool) -> TransformerTranslator:
    if not silenced:
        return translator
    if is_shipped:
        return silenced_pretrained(silenced)
    return remembered(translator, "silenced", silenced, lambda: with_heads_silenced(translator, set(silenced)))


def silenced_bleu(translator: TransformerTranslator, silenced: tuple[tuple[str, int], ...], is_shipped: bool,
                  corpus: Corpus) -> float:
    """`knockout_bleu` with these heads silenced: shared by every session for the shipped model,
    remembered on a session's own model."""
    if is_shipped:
        return shipped_knockout_bleu(silenced)
    return remembered(translator, "knockout_bleu", silenced,
                      lambda: knockout_bleu(silenced_translator(translator, silenced, False), corpus))


def knockout_bleu(translator: TransformerTranslator, corpus: Corpus) -> float:
    """Greedy BLEU on the first `KNOCKOUT_SENTENCES` held-out pairs (a fixed subset, so that every
    choice of heads is measured on the same sentences)."""
    pairs = corpus.test[:KNOCKOUT_SENTENCES]
    encoded = encode_pairs(pairs, translator.source_vocabulary, translator.target_vocabulary)
    outputs = greedy_decode_batch(translator, encoded.encoder_input, max_length=encoded.decoder_target.shape[1])
    hypotheses = [translator.target_vocabulary.decode(tokens) for tokens in outputs]
    references = [translator.target_vocabulary.decode(translator.target_vocabulary.encode(french)) for _, french in pairs]
    return corpus_bleu(hypotheses, references)


@st.cache_data(max_entries=64, show_spinner="Measuring BLEU with those heads silenced…")
def shipped_knockout_bleu(silenced: tuple[tuple[str, int], ...]) -> float:
    return knockout_bleu(silenced_translator(pretrained_transformer(), silenced, True), default_corpus())


# --- Training: one head's map of a held-out pair, live ------------------------------------------------------


def head_view(corpus: Corpus, layer_name: str, head: int):
    """The pair the live view follows, and the engine's `snapshot(translator)` and
    `draw_snapshot(placeholder, snapshot, run)` for head `head` of attention layer `layer_name`."""
    english, french = corpus.test[fixed_sentence(corpus)]
    english_words, french_words = tokenize(english), tokenize(french)
    queries = english_words if layer_name.startswith("encoder") else [START, *french_words]
    keys = [START, *french_words] if layer_name.startswith("decoder") and "self" in layer_name else english_words
    x_title, y_title = map_titles(layer_name.replace("_", " "))

    def snapshot(translator: TransformerTranslator) -> np.ndarray:
        source = translator.source_vocabulary.encode(english_words)
        target_in = [START_ID, *translator.target_vocabulary.encode(french_words)]
        weights = translator.attention_maps(source, target_in)[layer_name]
        return weights[min(head, len(weights) - 1)].astype(np.float16)

    def draw_snapshot(placeholder, taken: dict, run: TrainingRun) -> None:
        frame = attention_frame(np.asarray(taken["value"], dtype=np.float32), keys, queries)
        show(placeholder, attention_heatmap(frame, title=f"{layer_name.replace('_', ' ')}, head {head + 1}: "
                                                   f"epoch {taken['epoch']:.2f}", cell=20, x_title=x_title,
                                                   y_title=y_title), width="content")

    return english, french, keys, queries, snapshot, draw_snapshot


def mask_pair(runs: list[TrainingRun]) -> tuple[TrainingRun, TrainingRun] | None:
    """This session's newest runs with and without the causal mask, if it has both."""
    kept = [run for run in runs if run.model is not None]  # Older runs keep their figures, not their model.
    with_mask = [run for run in kept if run.results.get("causal_mask", True)]
    without = [run for run in kept if not run.results.get("causal_mask", True)]
    return (with_mask[-1], without[-1]) if with_mask and without else None


def mask_view(run: TrainingRun, corpus: Corpus) -> tuple[pd.DataFrame, str]:
    """The first decoder layer's self-attention (head 1, teacher-forced) of the held-out pair the
    live view follows, and the run's own greedy translation of its English sentence."""
    english, french = corpus.test[fixed_sentence(corpus)]
    translator = run.model
    source = translator.source_vocabulary.encode(english)
    target_words = [START, *tokenize(french)]
    weights = translator.attention_maps(source, [START_ID, *translator.target_vocabulary.encode(tokenize(french))])
    frame = attention_frame(weights["decoder_1_self_attention"][0], target_words, target_words)
    return frame, greedy_decode(translator, source).text


def mask_reading(runs: list[TrainingRun]) -> str:
    """The causal mask's lesson from this session's runs: training loss against greedy BLEU, with and without it."""
    with_mask = [run for run in runs if run.results.get("causal_mask", True)]
    without = [run for run in runs if not run.results.get("causal_mask", True)]
    if not with_mask or not without:
        return ""
    a, b = with_mask[-1], without[-1]
    return (f"With the causal mask: training loss {a.final('loss', 'train'):.3f}, held-out greedy BLEU {a.results['bleu']:.1f}. "
            f"Without it: training loss {b.final('loss', 'train'):.3f}, BLEU {b.results['bleu']:.1f}. In training the "
            "unmasked decoder could read the very word it had to predict (it sits one position later in its input), so "
            "its loss says little; at test time that word does not exist yet, and greedy decoding falls apart.")


# --- Cost against length ----------------------------------------------------------------------------------

COST_LENGTHS = (10, 20, 40, 80, 160, 320)


def encoder_costs(model_size: int = 128, lengths: tuple[int, ...] = COST_LENGTHS, repeats: int = 3,
                  vocabulary_size: int = 171) -> pd.DataFrame:
    """Time of one forward pass and of one training step of a Transformer encoder (2 layers, 4 heads)
    and of a GRU encoder of the same width, on 8 random sentences of each length: measured on this
    machine, now, median of `repeats` after a first traced call."""
    import keras
    import tensorflow as tf

    from lib.models.transformer import _encoder

    settings = {**DEFAULT_SETTINGS, "model_size": model_size, "feed_forward_size": 2 * model_size, "dropout": 0.0,
                "max_positions": max(lengths) + 1}
    source = keras.Input(shape=(None,), dtype="int32")
    transformer = keras.Model(source, _encoder(source, vocabulary_size, settings, lambda name, make: make(name), {}))
    gru_input = keras.Input(shape=(None,), dtype="int32")
    recurrent = keras.Model(gru_input, keras.layers.GRU(model_size, return_sequences=True)(
        keras.layers.Embedding(vocabulary_size, model_size)(gru_input)))
    rows = []
    generator = np.random.default_rng(0)
    for name, model in (("Transformer encoder (self-attention)", transformer), ("GRU encoder (recurrence)", recurrent)):
        optimizer = keras.optimizers.SGD(0.0)
        forward = tf.function(lambda ids, model=model: model(ids, training=False),
                              input_signature=[tf.TensorSpec((None, None), tf.int32)])

        def train_step(ids, model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(ids, training=True)))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
            return loss

        step = tf.function(train_step, input_signature=[tf.TensorSpec((None, None), tf.int32)])
        for length in lengths:
            ids = generator.integers(4, vocabulary_size, size=(8, length)).astype(np.int32)
            for what, function in (("forward pass", forward), ("training step", step)):
                function(ids)  # Traced once, not timed.
                timings = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    np.asarray(function(ids))
                    timings.append(time.perf_counter() - started)
                rows.append({"model": f"{name}, {what}", "length": length, "milliseconds": 1000 * float(np.median(timings))})
    return pd.DataFrame(rows)


def cost_reading(costs: pd.DataFrame) -> str:
    """How each model's forward time grows from the shortest to the longest length, as a power of the length."""
    parts = []
    for model, rows in costs[costs["model"].str.endswith("forward pass")].groupby("model", sort=False):
        rows = rows.sort_values("length")
        first, last = rows.iloc[0], rows.iloc[-1]
        growth = np.log(last["milliseconds"] / first["milliseconds"]) / np.log(last["length"] / first["length"])
        parts.append(f"{model.split(',')[0]}: {first['milliseconds']:.1f} ms at {first['length']} words, "
                     f"{last['milliseconds']:.1f} ms at {last['length']} (time ∝ length^{growth:.2f})")
    return "; ".join(parts) + "."

