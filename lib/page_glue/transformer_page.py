"""The Transformer page's own glue: its heads and layers as attention maps, heads silenced at
inference, positions, training from scratch with one head's map as the live view, the causal mask
read from a session's runs, and the cost of attention against recurrence as sentences grow.

What the three translator pages share (corpus, uploads, the shipped models, among them
`SHIPPED_TRANSFORMER`, decoding, BLEU, the family comparison) is in `lib.page_glue.translator_family`,
and the attention maps' frames come from `lib.page_glue.attention_page`; the experiments themselves
(silencing heads, the shuffle, the timing) are model code, in `lib.models.transformer`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from lib.data.corpus import END, START, START_ID, Corpus, Vocabulary, tokenize
from lib.engine.charts import attention_grid, attention_heatmap, line_chart, matrix_heatmap, show, specification
from lib.engine.training import TrainingRun
from lib.models.decoding import greedy_decode
from lib.models.transformer import (
    COST_PASSES,
    DEFAULT_LEARNING_RATE,
    GRU_COST_NAME,
    TRANSFORMER_COST_NAME,
    TransformerConfig,
    TransformerTranslator,
    build_transformer,
    encoder_flops,
    encoder_timings,
    encoder_without_positions,
    head_walkthrough,
    knockout_bleu,
    permutation_differences,
    sinusoidal_encoding,
    transformer_layer_counts,
    with_heads_silenced,
)
from lib.page_glue.attention_page import attention_frame, fixed_sentence
from lib.page_glue.translator_family import (
    SHIPPED_ATTENTION,
    SHIPPED_SEQ2SEQ,
    SHIPPED_TRANSFORMER,
    default_corpus,
    layer_counts_frame,
    remembered,
)

PAGE_KEY = "transformer"
COMPARED_PAGES = ["translator", "attention", "transformer"]
# "Train from scratch" defaults: half the pairs of the earlier default; a Transformer press also pays
# a fixed cost (tracing its graphs, the held-out decoding: about 19 CPU s since the train step is traced
# once and decoding reads a key-value cache), so fewer pairs save less here than on the other pages, and
# 6,000 pairs left it at about half the BLEU (48.9 against 84.9, docs/press-cost.md).
SCRATCH_DEFAULT_TRAIN = 12_000
SCRATCH_DEFAULT_EPOCHS = 2
# The model trained from scratch by default: the shipped model's shape (the config's defaults). Named here,
# where the settings table reads them, so that `cost_per_press.py --set` can try another size; smaller
# ones were cheaper but did not translate (1 layer: BLEU 80, d 64: BLEU 55, docs/press-cost.md).
SCRATCH_DEFAULT_MODEL_SIZE = TransformerConfig.model_size
SCRATCH_DEFAULT_FEED_FORWARD = TransformerConfig.feed_forward_size
SCRATCH_DEFAULT_LAYERS = TransformerConfig.layers
# The live head map's snapshots per epoch (each is drawn for every session watching).
SNAPSHOTS_PER_EPOCH = 6
# Held-out sentences on which a silenced head's cost is measured: enough for a stable BLEU, few
# enough that a room trying heads one after another waits about a second for each.
KNOCKOUT_SENTENCES = 100
KIND_NAMES = {"self_attention": "self-attention", "cross_attention": "cross-attention (decoder → encoder)"}


@dataclass(frozen=True)
class TransformerSettings(TransformerConfig):
    """What the page's "Train from scratch" controls set: the model's shape (`TransformerConfig`, whose
    defaults are the page's), and how it is trained."""

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
        return build_transformer(len(vocabularies[0]), len(vocabularies[1]), self, seed=self.seed)

    @property
    def label(self) -> str:
        longest = f" · ≤{self.longest_training_sentence} words" if self.longest_training_sentence else ""
        mask = "" if self.causal_mask else " · NO causal mask"
        seed = f" · seed {self.seed}" if self.seed else ""
        return (
            f"Transformer {self.layers}×{self.heads} heads · d {self.model_size} · ff {self.feed_forward_size} · "
            f"{self.positions} positions{mask} · {self.train_sentences:,} pairs{longest} · {self.epochs} epochs{seed}"
        )


def parameter_table(settings: TransformerSettings, vocabularies: tuple[Vocabulary, Vocabulary]) -> pd.DataFrame:
    counts = transformer_layer_counts(len(vocabularies[0]), len(vocabularies[1]), settings)
    return layer_counts_frame(counts)


SHIPPED = [SHIPPED_SEQ2SEQ, SHIPPED_ATTENTION, SHIPPED_TRANSFORMER]
PRETRAINED = SHIPPED_TRANSFORMER.label


# --- Heads and layers ---------------------------------------------------------------------------------


# One convention with the Attention page: a decoder map's row is the step at which the decoder writes a
# French word, labelled by that word (its output there), not by the word it reads at that step.
ROW_CAPTION = (
    "Row: the French word being written at that step (the decoder's output there). It reads <s> and "
    "the words written before it, so each row is one word later than the decoder's input."
)


class DecoderSteps(NamedTuple):
    """The decoder's input ids (<s> first), the word it reads at each step and the word it writes there."""

    target_in: list[int]
    read: list[str]
    written: list[str]


def decoder_steps(translator: TransformerTranslator, source_ids: list[int]) -> DecoderSteps:
    """The decoder's input whose attention the page shows (<s> and the model's own greedy translation),
    the words it reads at each step, and the word it writes at each step (the rows of a decoder map).

    Step t reads input word t and writes word t + 1, the last step writing </s>; if decoding hit its
    length cap before </s>, the last word read has no written word, and that step is left out.
    """
    trace = greedy_decode(translator, source_ids)
    written = [*trace.words, END] if trace.stopped_at_end else list(trace.words)
    return DecoderSteps([START_ID, *trace.token_ids][: len(written)], [START, *trace.words][: len(written)], written)


def head_frames(
    translator: TransformerTranslator, source_ids: list[int], english: list[str]
) -> dict[str, pd.DataFrame]:
    """Every attention layer's heads for one sentence, by kind ("encoder self-attention", …): long
    frames of `attention_frame` with the layer and head, for `lib.engine.charts.attention_grid`."""
    target_in, read, written = decoder_steps(translator, source_ids)
    maps = translator.attention_maps(source_ids, target_in)
    frames: dict[str, list[pd.DataFrame]] = {}
    for name, weights in maps.items():
        stack, number, kind = name.split("_", 2)
        queries = english if stack == "encoder" else written
        keys = read if kind == "self_attention" and stack == "decoder" else english
        title = f"{stack} {KIND_NAMES[kind]}"
        for head, head_weights in enumerate(weights):
            frame = attention_frame(head_weights, keys, queries).assign(
                layer=f"layer {number}", head=f"head {head + 1}"
            )
            frames.setdefault(title, []).append(frame)
    return {title: pd.concat(parts, ignore_index=True) for title, parts in frames.items()}


def map_titles(stack_and_kind: str) -> tuple[str, str]:
    """Axis titles of a map: (keys, queries). A decoder map's rows are the French words being written."""
    if stack_and_kind.startswith("encoder"):
        return "English (keys)", "English (queries)"
    if "self" in stack_and_kind:
        return "French read so far (keys: the decoder's input)", "French word being written (row)"
    return "English (keys: the encoder's output)", "French word being written (row)"


def head_frames_of(
    translator: TransformerTranslator, source_ids: list[int], english: list[str]
) -> dict[str, pd.DataFrame]:
    """`head_frames`, remembered per sentence on the translator."""
    return remembered(
        translator, "head_frames", tuple(source_ids), lambda: head_frames(translator, source_ids, english)
    )


def grid_specifications(
    translator: TransformerTranslator, source_ids: list[int], english: list[str]
) -> dict[str, dict]:
    """The head grids' chart specifications, remembered per sentence: redrawn at every rerun, built once."""
    return remembered(
        translator,
        "grids",
        tuple(source_ids),
        lambda: {
            title: specification(attention_grid(frame, cell=9))
            for title, frame in head_frames_of(translator, source_ids, english).items()
        },
    )


# The walkthrough's matrices: rows of 16 pixels, so that each row's word (12-pixel labels) stands clear
# of the next; the scores' columns 14 pixels wide; three matrices of d_k columns side by side in about
# 160 pixels each (plus their labels), so that Q, K and V fit the page at 1,280 pixels wide.
WALK_ROW_HEIGHT = 16
WALK_COLUMN_WIDTH = 14
WALK_MATRIX_WIDTH = 160
# The page's content width at 1,280 pixels (Streamlit's sidebar open: about 815 pixels), a little less.
CONTENT_WIDTH = 800


def labels_width(labels: list[str]) -> int:
    """About what a matrix's row labels (12-pixel font), their padding and the gap between columns take."""
    return 24 + 7 * max((len(label) for label in labels), default=0)


def charts_per_row(cells_width: int, labels: list[str], count: int) -> int:
    """How many of `count` matrices of `cells_width` pixels of cells to draw side by side: as many as fit
    the page's content width, spread evenly over the rows they need (four that fit three a row: two by two)."""
    fit = max(1, min(count, CONTENT_WIDTH // (cells_width + labels_width(labels))))
    return math.ceil(count / math.ceil(count / fit))


def walkthrough(translator: TransformerTranslator, source_ids: list[int], layer_name: str, head: int) -> dict:
    """One head's computation (`lib.models.transformer.head_walkthrough`) and the specifications of its
    matrices (Q, K, V, then scores → scaled → masked → softmax), remembered per sentence and head."""

    def compute() -> dict:
        encoder = layer_name.startswith("encoder")
        target_in, read, written = (None, [], []) if encoder else decoder_steps(translator, source_ids)
        walk = head_walkthrough(translator, source_ids, layer_name, head, target_in=target_in)
        queries = walk["query_words"] if encoder else written
        keys = read if not encoder and "self" in layer_name else walk["key_words"]
        key_dim = walk["key_dim"]
        key_labels = [f"{i + 1} {word}" for i, word in enumerate(keys)]
        row_labels = [f"{i + 1} {word}" for i, word in enumerate([*queries, *keys])]
        # Rows tall enough for their word; d_k columns as narrow as it takes for three matrices side by side.
        narrow = max(1, min(9, WALK_MATRIX_WIDTH // key_dim))
        charts = {
            name: specification(
                matrix_heatmap(
                    walk[name],
                    queries if name == "Q" else keys,
                    title=f"{name} ({len(queries if name == 'Q' else keys)} × {key_dim})",
                    cell=WALK_ROW_HEIGHT,
                    cell_width=narrow,
                )
            )
            for name in ("Q", "K", "V")
        }
        for name, title, diverging in (
            ("scores", "Q·Kᵀ", True),
            ("scaled_scores", f"÷ √d_k = √{key_dim}", True),
            ("masked_scores", "masked (grey: −∞)", True),
            ("weights", "softmax, row by row", False),
        ):
            charts[name] = specification(
                matrix_heatmap(
                    walk[name],
                    queries,
                    title=title,
                    cell=WALK_ROW_HEIGHT,
                    cell_width=WALK_COLUMN_WIDTH,
                    diverging=diverging,
                    columns=key_labels,
                )
            )
        charts["output"] = specification(
            matrix_heatmap(
                walk["output"],
                queries,
                cell=WALK_ROW_HEIGHT,
                cell_width=narrow,
                title=f"output = weights · V ({len(queries)} × {key_dim})",
            )
        )
        return {
            **walk,
            "query_words": queries,
            "key_words": keys,
            "charts": charts,
            "matrices_per_row": charts_per_row(narrow * key_dim, row_labels, 3),
            "scores_per_row": charts_per_row(WALK_COLUMN_WIDTH * len(keys), row_labels, 4),
            "largest_difference": float(np.abs(walk["weights"] - walk["keras_weights"]).max()),
        }

    return remembered(translator, "walkthroughs", (tuple(source_ids), layer_name, head), compute)


POSITIONS_SHOWN = 50
DIMENSIONS_SHOWN = 64


def _position_charts(encoding: np.ndarray, title: str) -> tuple[dict, dict]:
    """A position table as a heatmap (position × its first dimensions) and a few of its columns as curves."""
    positions = min(POSITIONS_SHOWN, len(encoding))
    heatmap = matrix_heatmap(
        encoding[:positions, :DIMENSIONS_SHOWN],
        [f"position {p}" for p in range(positions)],
        title=title,
        cell=7,
        cell_width=5,
        numbered=False,
    )  # 64 columns in 320 pixels.
    dimensions = [d for d in (0, 1, 10, 11, 40, 41) if d < encoding.shape[1]]
    curves = pd.DataFrame(
        [
            {"position": p, "value": float(encoding[p, d]), "dimension": f"dimension {d}"}
            for d in dimensions
            for p in range(positions)
        ]
    )
    return specification(heatmap), specification(
        line_chart(curves, "position", "value", "dimension", x_title="Position", y_title="Value")
    )


@st.cache_data(show_spinner=False)
def sinusoidal_specifications(model_size: int) -> tuple[dict, dict]:
    return _position_charts(
        sinusoidal_encoding(POSITIONS_SHOWN, model_size),
        f"Sinusoidal encoding: position × dimension (first {DIMENSIONS_SHOWN})",
    )


def position_view(translator: TransformerTranslator) -> dict:
    """The selected model's own position encoding: its kind, the charts of its English table (computed
    for the sinusoid, read from the model's weights for a learned table, none without positions), and
    a sentence saying what it is."""
    settings = translator.settings
    kind, size = settings["positions"], settings["model_size"]
    if kind == "none":
        return {
            "kind": kind,
            "charts": None,
            "text": "This model was trained **without** a position encoding: each word enters the encoder as "
            "its word vector alone, wherever it sits in the sentence.",
        }
    if kind == "sinusoidal":
        return {
            "kind": kind,
            "charts": sinusoidal_specifications(size),
            "text": f"This model adds the sinusoidal encoding to each word vector: d = {size} numbers per "
            "position, sines and cosines of falling frequencies, computed for any length, no parameter.",
        }

    def learned() -> dict:
        import keras

        table = keras.ops.convert_to_numpy(translator.model.get_layer("english_positions").table)
        return {
            "kind": kind,
            "charts": _position_charts(
                table, f"Learned English positions (from its weights): position × dimension (first {DIMENSIONS_SHOWN})"
            ),
            "text": f"This model learned its own position table: {len(table)} rows of d = {size} numbers, one "
            "row added to the word vector at each position. Only positions its training sentences reached "
            "were trained; the rows past them keep their random start.",
        }

    return remembered(translator, "positions", None, learned)


def permutation_check(translator: TransformerTranslator, source_ids: list[int]) -> dict:
    """`lib.models.transformer.permutation_differences` of the sentence, remembered on the translator
    (and the encoder without positions it compares with, built once per model)."""

    def without_positions():
        return remembered(translator, "encoder_without_positions", None, lambda: encoder_without_positions(translator))

    return remembered(
        translator,
        "permutations",
        tuple(source_ids),
        lambda: permutation_differences(translator, source_ids, without_positions),
    )


def permutation_text(words: list[str], check: dict, positions: str) -> str:
    """What the shuffle shows, from its measured differences and the model's position setting."""
    if check["order"] is None:
        return (
            f"*{' '.join(words)}* is too short to shuffle: it takes two different words. Type a longer "
            "sentence to see what a shuffle does to the encoder."
        )
    shuffled = f"Shuffled: *{' '.join(words[i] for i in check['order'])}*. "
    if positions == "none":
        return (
            shuffled + "This model's encoder returns the original sentence's vectors, permuted the same way: "
            f"largest difference {check['model']:.1e}, rounding. Without positions that is exact: a word's "
            "attention weights come from comparing its vector with every word's, and its output is a weighted "
            "sum over all the words, which no order changes; the feed-forward network then treats each "
            "position alike. The encoder sees a bag of words."
        )
    return (
        shuffled + f"The same encoder, weights and all, **without** its {positions} position encoding returns the "
        f"same vectors, permuted: largest difference {check['without']:.1e}. **With** its {positions} positions, "
        f"the shuffled words get other vectors: largest difference {check['model']:.2f}."
    )


# --- Silencing heads ------------------------------------------------------------------------------------


@st.cache_resource(max_entries=16, show_spinner="Copying the model with those heads silenced…")
def silenced_pretrained(silenced: tuple[tuple[str, int], ...]) -> TransformerTranslator:
    """The shipped Transformer with these heads silenced, one copy per set, shared by every session."""
    return with_heads_silenced(SHIPPED_TRANSFORMER.translator(), set(silenced))


def silenced_translator(
    translator: TransformerTranslator, silenced: tuple[tuple[str, int], ...], is_shipped: bool
) -> TransformerTranslator:
    if not silenced:
        return translator
    if is_shipped:
        return silenced_pretrained(silenced)
    return remembered(translator, "silenced", silenced, lambda: with_heads_silenced(translator, set(silenced)))


def silenced_bleu(
    translator: TransformerTranslator, silenced: tuple[tuple[str, int], ...], is_shipped: bool, corpus: Corpus
) -> float:
    """`lib.models.transformer.knockout_bleu` on the first `KNOCKOUT_SENTENCES` held-out pairs (a fixed
    subset, so that every choice of heads is measured on the same sentences) with these heads silenced:
    shared by every session for the shipped model, remembered on a session's own model."""
    if is_shipped:
        return shipped_knockout_bleu(silenced)
    return remembered(
        translator,
        "knockout_bleu",
        silenced,
        lambda: knockout_bleu(silenced_translator(translator, silenced, False), corpus.test[:KNOCKOUT_SENTENCES]),
    )


@st.cache_data(max_entries=64, show_spinner="Measuring BLEU with those heads silenced…")
def shipped_knockout_bleu(silenced: tuple[tuple[str, int], ...]) -> float:
    return knockout_bleu(
        silenced_translator(SHIPPED_TRANSFORMER.translator(), silenced, True),
        default_corpus().test[:KNOCKOUT_SENTENCES],
    )


# --- Training: one head's map of a held-out pair, live ------------------------------------------------------


class HeadView(NamedTuple):
    """The held-out pair a head's live map follows, the words on its axes, and the engine's live view."""

    english: str
    french: str
    keys: list[str]  # the map's columns
    queries: list[str]  # the map's rows
    snapshot: Callable  # snapshot(translator): the head's map now
    draw_snapshot: Callable  # draw_snapshot(placeholder, snapshot, run): its heatmap


def head_view(corpus: Corpus, layer_name: str, head: int) -> HeadView:
    """The pair the live view follows, and the engine's `snapshot(translator)` and
    `draw_snapshot(placeholder, snapshot, run)` for head `head` of attention layer `layer_name`."""
    english, french = corpus.test[fixed_sentence(corpus)]
    english_words, french_words = tokenize(english), tokenize(french)
    # Teacher-forced: the decoder reads <s> and the reference, and writes the reference and </s>.
    queries = english_words if layer_name.startswith("encoder") else [*french_words, END]
    keys = [START, *french_words] if layer_name.startswith("decoder") and "self" in layer_name else english_words
    x_title, y_title = map_titles(layer_name.replace("_", " "))

    def snapshot(translator: TransformerTranslator) -> np.ndarray:
        source = translator.source_vocabulary.encode(english_words)
        target_in = [START_ID, *translator.target_vocabulary.encode(french_words)]
        weights = translator.attention_maps(source, target_in)[layer_name]
        return weights[min(head, len(weights) - 1)].astype(np.float16)

    def draw_snapshot(placeholder, taken: dict, run: TrainingRun) -> None:
        frame = attention_frame(np.asarray(taken["value"], dtype=np.float32), keys, queries)
        show(
            placeholder,
            attention_heatmap(
                frame,
                title=f"{layer_name.replace('_', ' ')}, head {head + 1}: epoch {taken['epoch']:.2f}",
                cell=20,
                x_title=x_title,
                y_title=y_title,
            ),
            width="content",
            save=False,  # redrawn live, several times a second
        )

    return HeadView(english, french, keys, queries, snapshot, draw_snapshot)


# Settings that do not change what a run learns: the live map only watches.
VIEW_SETTINGS = ("watched_layer", "watched_head")
# Gaps smaller than these (BLEU points, token-accuracy points in %) are read as "about the same".
BLEU_GAP = 5.0
ACCURACY_GAP = 5.0
# Below this BLEU a run has not learned to translate, and the reading says so.
UNTRAINED_BLEU = 10.0


def _masked(run: TrainingRun) -> bool:
    return bool(run.settings.get("causal_mask", run.results.get("causal_mask", True)))


def settings_apart(first: TrainingRun, second: TrainingRun) -> list[str]:
    """The training settings two runs differ in, besides the causal mask (the live map's choice aside);
    "length of training" too when one was stopped at another point than the other."""
    names = (set(first.settings) | set(second.settings)) - {"causal_mask", *VIEW_SETTINGS}
    apart = sorted(name for name in names if first.settings.get(name) != second.settings.get(name))
    if first.batches_completed != second.batches_completed:
        apart.append("length of training")
    return apart


def mask_pair(runs: list[TrainingRun], with_models: bool = False) -> tuple[TrainingRun, TrainingRun] | None:
    """The newest pair of this session's runs (with the causal mask, without it) that differ in the mask
    alone, or None. With `with_models`, only runs that still hold their model (older runs keep their
    figures, not their model)."""
    kept = [run for run in runs if run.model is not None] if with_models else list(runs)
    pairs = [(a, b) for a in kept if _masked(a) for b in kept if not _masked(b) and not settings_apart(a, b)]
    if not pairs:
        return None
    order = {id(run): index for index, run in enumerate(kept)}
    return max(pairs, key=lambda pair: sorted((order[id(pair[0])], order[id(pair[1])]), reverse=True))


def mask_view(run: TrainingRun, corpus: Corpus) -> tuple[pd.DataFrame, str]:
    """The first decoder layer's self-attention (head 1, teacher-forced) of the held-out pair the
    live view follows, and the run's own greedy translation of its English sentence. Columns are the
    words the decoder reads (<s> and the reference), rows the words it writes (the reference and </s>)."""
    english, french = corpus.test[fixed_sentence(corpus)]
    translator = run.model
    source = translator.source_vocabulary.encode(english)
    french_words = tokenize(french)
    weights = translator.attention_maps(source, [START_ID, *translator.target_vocabulary.encode(french_words)])
    frame = attention_frame(weights["decoder_1_self_attention"][0], [START, *french_words], [*french_words, END])
    return frame, greedy_decode(translator, source).text


def mask_reading(runs: list[TrainingRun]) -> str:
    """What this session's runs say about the causal mask, from their figures: the newest pair that
    differs in the mask alone, teacher-forced against greedy token accuracy and BLEU, with and without
    it. Empty when the session has not trained both kinds; a note when no pair differs in the mask alone."""
    with_mask = [run for run in runs if _masked(run)]
    without = [run for run in runs if not _masked(run)]
    if not with_mask or not without:
        return ""
    pair = mask_pair(runs)
    if pair is None:
        apart = settings_apart(with_mask[-1], without[-1])
        return (
            "Your runs with and without the causal mask differ in other settings too (the newest two in "
            f"{', '.join(name.replace('_', ' ') for name in apart)}), so they cannot show what the mask alone "
            "does: train again changing only the mask."
        )
    a, b = pair

    def figures(run: TrainingRun) -> str:
        loss = run.final("loss", "train")
        return (
            (f"training loss {loss:.3f}, " if loss is not None else "")
            + f"held-out token accuracy {100 * run.results['teacher_forced_accuracy']:.1f}% teacher-forced and "
            f"{100 * run.results['greedy_accuracy']:.1f}% decoding greedily, BLEU {run.results['bleu']:.1f}"
        )

    gap_with = 100 * (a.results["teacher_forced_accuracy"] - a.results["greedy_accuracy"])
    gap_without = 100 * (b.results["teacher_forced_accuracy"] - b.results["greedy_accuracy"])
    bleu_change = b.results["bleu"] - a.results["bleu"]
    text = f"With the causal mask: {figures(a)}. Without it: {figures(b)}. "
    if gap_without - gap_with >= ACCURACY_GAP:
        text += (
            f"Without the mask, teacher forcing overstates what the model does on its own by {gap_without:.1f} "
            f"points of accuracy ({gap_with:.1f} with it): in training the unmasked decoder could read the very "
            "word it had to predict (it sits one position later in its input); decoding greedily, that word "
            "does not exist yet. "
        )
    else:
        text += (
            f"Teacher-forced and greedy accuracy are {gap_without:.1f} points apart without the mask and "
            f"{gap_with:.1f} with it: the gap the mask should open did not show in these runs. "
        )
    if bleu_change <= -BLEU_GAP:
        text += f"Greedy decoding loses {-bleu_change:.1f} BLEU without the mask."
    elif bleu_change >= BLEU_GAP:
        text += (
            f"Here the run without the mask translates better ({bleu_change:+.1f} BLEU), against what the mask "
            "is for: with so short a training, chance can outweigh it; train both longer to see."
        )
    else:
        text += (
            f"Their BLEU is within {BLEU_GAP:.0f} points ({bleu_change:+.1f} without the mask): on these "
            "sentences the mask made little difference to the translations."
        )
    if max(a.results["bleu"], b.results["bleu"]) < UNTRAINED_BLEU:
        text += (
            f" Neither run translates yet (BLEU under {UNTRAINED_BLEU:.0f}): train both longer for a "
            "comparison that says more."
        )
    return text


# --- Cost against length ----------------------------------------------------------------------------------

COST_LENGTHS = (16, 32, 64, 128, 256, 512, 1024, 2048)
COST_MODEL_SIZE = 128
COST_HEADS = TransformerConfig.heads
COST_LAYERS = TransformerConfig.layers
# The button's measure stops before a length that would take it past this many seconds (about 17 s for
# every length up to 2,048 on 2 idle cores, when written).
COST_BUDGET_SECONDS = 25.0
# The exponent is fitted where attention does at least this share of the encoder's operations.
ATTENTION_DOMINATES = 0.5


def flop_breakdown(
    model_size: int = COST_MODEL_SIZE, lengths=COST_LENGTHS, heads: int = COST_HEADS, layers: int = COST_LAYERS
) -> pd.DataFrame:
    """`lib.models.transformer.encoder_flops` per length (d_ff = 2d): millions of operations by part, and
    attention's share."""
    rows = []
    for length in lengths:
        flops = encoder_flops(length, model_size, 2 * model_size, heads, layers)
        rows.append(
            {
                "Length": int(length),
                "Projections (M)": flops["projections"] / 1e6,
                "Feed-forward (M)": flops["feed-forward"] / 1e6,
                "Attention: scores, softmax, weights·V (M)": flops["attention"] / 1e6,
                "Attention's share": flops["attention share"],
            }
        )
    return pd.DataFrame(rows)


class CostMeasure(NamedTuple):
    """The measured times (columns model, length, milliseconds) and the lengths the budget left out."""

    costs: pd.DataFrame
    left_out: list[int]


def encoder_costs(
    model_size: int = COST_MODEL_SIZE,
    lengths=COST_LENGTHS,
    repeats: int = 3,
    budget_seconds: float | None = COST_BUDGET_SECONDS,
) -> CostMeasure:
    """`lib.models.transformer.encoder_timings` as a frame (one sentence at a time), and the lengths
    that the time budget left out."""
    rows, left_out = encoder_timings(model_size, lengths, repeats=repeats, budget_seconds=budget_seconds)
    return CostMeasure(pd.DataFrame(rows, columns=["model", "length", "milliseconds"]), left_out)


def growth_exponent(rows: pd.DataFrame) -> float:
    """The slope of log(milliseconds) against log(length), fitted by least squares."""
    return float(np.polyfit(np.log(rows["length"]), np.log(rows["milliseconds"]), 1)[0])


def cost_reading(
    costs: pd.DataFrame, left_out: list[int] = (), model_size: int = COST_MODEL_SIZE, heads: int = COST_HEADS
) -> str:
    """The forward passes' growth with length, read from the measure: the Transformer's exponent fitted
    where attention does most of its operations (from the analytic breakdown), the GRU's over the same
    lengths, and what the lengths before that show."""
    forward = costs[costs["model"].str.endswith(COST_PASSES[0])]
    transformer = forward[forward["model"].str.startswith(TRANSFORMER_COST_NAME)].sort_values("length")
    recurrent = forward[forward["model"].str.startswith(GRU_COST_NAME)].sort_values("length")
    share = {
        length: encoder_flops(length, model_size, 2 * model_size, heads)["attention share"]
        for length in transformer["length"]
    }
    crossing = next(
        (
            length
            for length in range(1, 100_000)
            if encoder_flops(length, model_size, 2 * model_size, heads)["attention share"] >= ATTENTION_DOMINATES
        ),
        None,
    )
    dominated = transformer[transformer["length"].map(share) >= ATTENTION_DOMINATES]
    early = transformer[transformer["length"].map(share) < ATTENTION_DOMINATES]
    text = (
        f"By the count above, attention does half of the encoder's operations from about {crossing:,} words "
        f"(d = {model_size}); before that the projections and the feed-forward network, whose work grows "
        "only with the length, do most of it. "
    )
    if len(early) >= 2:
        exponent = growth_exponent(early)
        text += (
            f"From {early['length'].min():,} to {early['length'].max():,} words the Transformer's time grows as "
            f"length^{exponent:.2f}"
            + (
                ": slower than the length, as the fixed cost of each call still weighs on so short an input. "
                if exponent < 0.9
                else ". "
            )
        )
    if len(dominated) >= 2:
        exponent = growth_exponent(dominated)
        lo, hi = dominated["length"].min(), dominated["length"].max()
        text += f"From {lo:,} to {hi:,} words, where attention dominates, it grows as length^{exponent:.2f}: "
        if exponent >= 1.5:
            text += "the square of the length shows. "
        elif exponent >= 1.2:
            text += "faster than the length, on its way to its square (still partly the linear parts). "
        else:
            text += "no faster than the length on this machine: the quadratic part did not show here. "
        gru = recurrent[recurrent["length"].between(lo, hi)]
        if len(gru) >= 2:
            text += f"Over the same lengths the GRU's grows as length^{growth_exponent(gru):.2f}. "
    else:
        text += (
            f"The measure did not reach {crossing:,} words at two lengths or more, so it cannot show the "
            "quadratic part; its growth mostly measures the linear parts. "
        )
    if left_out:
        text += (
            f"Left out to keep the measure under {COST_BUDGET_SECONDS:.0f} s on this machine now: "
            f"{', '.join(f'{length:,}' for length in left_out)} words."
        )
    return text.strip()
