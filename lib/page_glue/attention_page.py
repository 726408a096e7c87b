"""The Attention page's own glue: its training from scratch with the attention map as the engine's
second live view, and what it shows of attention.

What the three translator pages share (the corpus and uploads, the shipped models, among them the
attention model `SHIPPED_ATTENTION`, decoding, training from scratch, BLEU and the family comparison)
is in `lib.page_glue.translator_family`. This module adds:

- `AttentionSettings`, whose `build` makes the attention model for `translator_family.train_from_scratch`;
- the attention map of one fixed held-out sentence, as a snapshot for the live view and as a
  long-form frame for the heatmap, with the grammar's gold alignment outlined;
- the held-out alignment accuracy, written into the epoch logs for the chart;
- the intervention (one decoding step made to attend where the user says) and the comparison
  tables of section 4, which read the Translator page's runs of this session too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from lib.data.corpus import END, Corpus, EncodedPairs, Vocabulary, encode_pairs, tokenize
from lib.engine.charts import attention_heatmap, show
from lib.engine.training import TrainingRun
from lib.models.attention import (
    DEFAULT_SETTINGS,
    AttentionOverride,
    AttentionTranslator,
    alignment_accuracy,
    attention_layer_counts,
    attention_numpy,
    build_attention_seq2seq,
    influence_profiles,
    occlusion_influence,
)
from lib.models.decoding import greedy_decode
from lib.page_glue.translator_family import (
    GRAMMAR_KEY,
    HELD_OUT_PAIRS,
    LONG_HELD_OUT,
    LONG_WORDS,
    SHIPPED_ATTENTION,
    SHIPPED_SEQ2SEQ,
    SHORT_WORDS,
    default_corpus,
    family_runs,
    layer_counts_frame,
    length_range_frame,
    remembered,
)

PAGE_KEY = "attention"
TRANSLATOR_PAGE_KEY = "translator"
# "Train from scratch" defaults: two epochs over 6,000 pairs are enough for the alignment to form
# (about 93 % alignment accuracy) and for long sentences to hold together, at well under half the
# CPU seconds of 24,000 pairs; 3,000 pairs are not (about 50 %, BLEU near 0). See docs/press-cost.md.
SCRATCH_DEFAULT_TRAIN = 6_000
SCRATCH_DEFAULT_EPOCHS = 2
# The model trained from scratch by default: the shipped model's sizes. Named here, where the settings
# table reads them, so that `cost_per_press.py --set` can try another size; GRU 128 cost a third less and
# no longer aligned (89 %, long sentences BLEU 35, docs/press-cost.md).
SCRATCH_DEFAULT_UNITS = DEFAULT_SETTINGS["units"]
SCRATCH_DEFAULT_EMBEDDING = DEFAULT_SETTINGS["embedding_size"]
# The live heatmap is snapshotted this many times per epoch, so a slider can replay it afterwards;
# every snapshot is drawn for each session watching, so more cost more CPU seconds per press.
SNAPSHOTS_PER_EPOCH = 6
PRETRAINED = SHIPPED_ATTENTION.label
PRETRAINED_TRANSLATOR = SHIPPED_SEQ2SEQ.label


@dataclass(frozen=True)
class AttentionSettings:
    """What the page's "Train from scratch" controls set."""

    score: str = DEFAULT_SETTINGS["score"]
    units: int = DEFAULT_SETTINGS["units"]
    embedding_size: int = DEFAULT_SETTINGS["embedding_size"]
    epochs: int = SCRATCH_DEFAULT_EPOCHS
    train_sentences: int = SCRATCH_DEFAULT_TRAIN
    sampling_probability: float = 0.0
    seed: int = 0

    def build(self, vocabularies: tuple[Vocabulary, Vocabulary]):
        return build_attention_seq2seq(
            len(vocabularies[0]), len(vocabularies[1]), self.score, self.units, self.embedding_size, seed=self.seed
        )

    @property
    def label(self) -> str:
        seed = f" · seed {self.seed}" if self.seed else ""
        return (
            f"attention ({self.score}) · GRU {self.units} · emb {self.embedding_size} · "
            f"{self.train_sentences:,} pairs · {self.epochs} epochs{seed}"
        )


def parameter_table(settings: AttentionSettings, vocabularies: tuple[Vocabulary, Vocabulary]) -> pd.DataFrame:
    counts = attention_layer_counts(
        len(vocabularies[0]), len(vocabularies[1]), settings.score, settings.units, settings.embedding_size
    )
    return layer_counts_frame(counts)


def shipped_alignment_reading(evaluation: dict) -> str:
    """What the shipped model's alignment accuracy is, and which words it misses, from its measurement."""
    accuracy = evaluation.get("alignment_accuracy")
    if accuracy is None:
        return ""
    text = f"The shipped model scores {accuracy:.0%} on the held-out sentences"
    misses, missed = evaluation.get("alignment_misses"), evaluation.get("alignment_missed")
    if misses and missed:
        negation = {word: count for word, count in misses.items() if word in NEGATION_WORDS}
        named = negation or dict(list(misses.items())[:3])
        text += f": {sum(named.values())} of its {missed} misses are {', '.join(named)}"
        if negation:
            text += (
                ', which it reads from the words around "not" (does, the verb) where the grammar\'s rule puts '
                'them on "not"'
            )
    return text + "."


# The French negation's words, which the grammar aligns to "not" (its one English word).
NEGATION_WORDS = ("ne", "n'", "pas")


# --- Attention maps ---------------------------------------------------------------------------------

# One convention for every attention map (the Transformer page's too): row t is decoder step t, labelled
# by the French word it writes (its output, as in Bahdanau et al.'s figures); the columns are the English words.
ROWS_TITLE, COLUMNS_TITLE = "French word being written", "English words read"
ROWS_CAPTION = (
    "Row: the French word being written; columns: the English words read. Row t is decoder step t, "
    "labelled by the word it outputs (as in Bahdanau et al.'s figures); each row sums to 1."
)


def fixed_sentence(corpus: Corpus) -> int:
    """The held-out pair whose attention the live view draws: for the grammar, the first with a
    negation (ne … pas is two French words for one English word) and 8 to 12 English words; for an
    upload, the first of median length. Its index in `corpus.test`."""
    lengths = [len(tokenize(english)) for english, _ in corpus.test]
    for index, (english, _) in enumerate(corpus.test):
        if " not " in f" {english} " and 8 <= lengths[index] <= 12:
            return index
    median = sorted(lengths)[len(lengths) // 2]
    return lengths.index(median)


def attention_map(translator: AttentionTranslator, english: str, french: str) -> np.ndarray:
    """The teacher-forced attention of one pair: (French words + </s>, English words), rows summing to 1.

    Row t is the decoder step that has read <s> and the gold French words before word t, and writes
    word t (the last row writes </s>): labelled by the word it writes, as every map of the page is."""
    encoded = encode_pairs([(english, french)], translator.source_vocabulary, translator.target_vocabulary)
    weights, _ = translator.teacher_forced(encoded)
    return weights[0, : len(tokenize(french)) + 1, : len(tokenize(english))]


def attention_frame(
    weights: np.ndarray, english_words: list[str], french_words: list[str], alignment: tuple[int, ...] | None = None
) -> pd.DataFrame:
    """The long-form frame of `lib.engine.charts.attention_heatmap`: one row per (French word, English word)."""
    rows = []
    for french_position, french_word in enumerate(french_words[: weights.shape[0]]):
        gold = alignment[french_position] if alignment is not None and french_position < len(alignment) else -1
        for english_position, english_word in enumerate(english_words[: weights.shape[1]]):
            rows.append(
                {
                    "english": f"{english_position + 1} {english_word}",
                    "english_position": english_position,
                    "french": f"{french_position + 1} {french_word}",
                    "french_position": french_position,
                    "weight": float(weights[french_position, english_position]),
                    "gold": english_position == gold,
                }
            )
    return pd.DataFrame(rows, columns=["english", "english_position", "french", "french_position", "weight", "gold"])


def held_out_alignment(corpus: Corpus, english: str, translation: str) -> tuple[int, ...] | None:
    """The gold alignment of a held-out sentence, when the model's translation is its reference word
    for word (otherwise the French words on screen are not the ones the alignment speaks of)."""
    if corpus.test_alignments is None:
        return None
    for (held_english, held_french), alignment in zip(corpus.test, corpus.test_alignments):
        if held_english == english:
            return alignment if tokenize(held_french) == tokenize(translation) else None
    return None


class SentenceView(NamedTuple):
    """The held-out pair the live heatmap follows, its gold alignment, and the engine's live view."""

    english: str
    french: str
    alignment: tuple[int, ...] | None
    snapshot: Callable  # snapshot(translator): the attention map now
    draw_snapshot: Callable  # draw_snapshot(placeholder, snapshot, run): its heatmap


def fixed_sentence_view(corpus: Corpus) -> SentenceView:
    """The pair the live view follows, and the functions the engine calls: `snapshot(translator)`
    (the attention map now) and `draw_snapshot(placeholder, snapshot, run)` (its heatmap)."""
    index = fixed_sentence(corpus)
    english, french = corpus.test[index]
    alignment = corpus.test_alignments[index] if corpus.test_alignments is not None else None
    english_words, french_words = tokenize(english), [*tokenize(french), END]

    def snapshot(translator: AttentionTranslator) -> np.ndarray:
        return attention_map(translator, english, french).astype(np.float16)  # Small: kept per snapshot.

    def draw_snapshot(placeholder, taken: dict, run: TrainingRun) -> None:
        frame = attention_frame(np.asarray(taken["value"], dtype=np.float32), english_words, french_words, alignment)
        show(
            placeholder,
            attention_heatmap(
                frame, title=f"Epoch {taken['epoch']:.2f}", cell=22, x_title=COLUMNS_TITLE, y_title=ROWS_TITLE
            ),
            width="content",
            save=False,  # redrawn live, several times a second
        )

    return SentenceView(english, french, alignment, snapshot, draw_snapshot)


# --- Alignment accuracy ------------------------------------------------------------------------------


def held_out_alignment_accuracy(translator: AttentionTranslator, corpus: Corpus) -> float | None:
    if corpus.test_alignments is None:
        return None
    encoded = encode_pairs(corpus.test, translator.source_vocabulary, translator.target_vocabulary)
    weights, _ = translator.teacher_forced(encoded)
    return alignment_accuracy(weights, encoded, corpus.test_alignments)


def alignment_callbacks(corpus: Corpus):
    """`metric_callbacks` for `train_from_scratch`: at each epoch's end, the held-out alignment
    accuracy in `logs["val_alignment_accuracy"]` (only the grammar knows gold alignments)."""
    if corpus.test_alignments is None:
        return lambda translator: []

    def callbacks(translator: AttentionTranslator) -> list:
        import keras

        encoded: EncodedPairs = encode_pairs(corpus.test, translator.source_vocabulary, translator.target_vocabulary)

        class HeldOutAlignment(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if logs is not None:
                    weights, _ = translator.teacher_forced(encoded)
                    logs["val_alignment_accuracy"] = alignment_accuracy(weights, encoded, corpus.test_alignments)

        return [HeldOutAlignment()]

    return callbacks


# --- Section 1: the formula on the model's vectors ----------------------------------------------------


def formula_on_model(
    translator: AttentionTranslator, source_ids: list[int], previous_ids: list[int], scale: float
) -> dict:
    """The three lines of the notes on the real q and zᵢ of one decoding step, with the model's own
    score (dot, general or additive, from its learned weights), and a 2-D picture of them.

    At scale 1 the weights are the model's own attention row at that step. The picture is a PCA of
    the zᵢ (centred; q and z projected on the same two axes), so distances there are only a shadow
    of the 256-dimensional ones; the bars are the exact numbers.
    """
    score = translator.settings["score"]
    query, bank = translator.query_and_bank(source_ids, previous_ids)
    scores, weights, summary = attention_numpy(
        query, bank, scale, score=score, parameters=translator.score_parameters()
    )
    centre = bank.mean(axis=0)
    _, _, axes = np.linalg.svd(bank - centre, full_matrices=False)
    axes = axes[:2] if len(axes) >= 2 else np.vstack([axes, np.zeros_like(axes)])[:2]
    project = lambda vector: (np.asarray(vector) - centre) @ axes.T  # noqa: E731 (a one-line projection)
    return {
        "score": score,
        "query": query,
        "bank": bank,
        "scores": scores,
        "weights": weights,
        "summary": summary,
        "bank_2d": project(bank),
        "query_2d": project(query),
        "summary_2d": project(summary),
    }


QUERY_KIND, SUMMARY_KIND, BANK_KIND = "q (decoder state)", "z = Σ αᵢ zᵢ", "zᵢ (encoder states)"


def vectors_frame(formula: dict, english_words: list[str]) -> pd.DataFrame:
    """The points of the 2-D picture: every zᵢ labelled with its English word, and q and z, which the
    legend names (their colour) instead of a text label, so no label of theirs lands on a word's."""
    rows = [
        {"x": point[0], "y": point[1], "label": word, "kind": BANK_KIND, "size": float(weight)}
        for word, point, weight in zip(english_words, formula["bank_2d"], formula["weights"])
    ]
    rows.append(
        {"x": formula["query_2d"][0], "y": formula["query_2d"][1], "label": "", "kind": QUERY_KIND, "size": 0.6}
    )
    rows.append(
        {"x": formula["summary_2d"][0], "y": formula["summary_2d"][1], "label": "", "kind": SUMMARY_KIND, "size": 0.6}
    )
    return pd.DataFrame(rows)


# --- Section 2: the intervention ---------------------------------------------------------------------


def intervene(translator: AttentionTranslator, source_ids: list[int], at_step: int, target: int | None):
    """Greedy decoding where step `at_step` attends only to English word `target` (None: uniformly)."""

    def decode():
        weights = np.zeros(len(source_ids), dtype=np.float32)
        if target is None:
            weights[:] = 1.0 / len(source_ids)
        else:
            weights[target] = 1.0
        return greedy_decode(AttentionOverride(translator, at_step, weights), source_ids)

    return remembered(translator, "interventions", (tuple(source_ids), at_step, target), decode)


# --- Section 4: long sentences ----------------------------------------------------------------------

SHIPPED = [SHIPPED_SEQ2SEQ, SHIPPED_ATTENTION]
COMPARED_PAGES = [TRANSLATOR_PAGE_KEY, PAGE_KEY]


def comparison_runs(corpus_id: str, corpus: Corpus) -> list[tuple[str, TrainingRun]]:
    return family_runs(COMPARED_PAGES, corpus_id, corpus)


def long_sentence_ranges(corpus_id: str) -> pd.DataFrame:
    """`length_range_frame` of the two shipped models, on the grammar only (their sentences)."""
    return length_range_frame(SHIPPED) if corpus_id == GRAMMAR_KEY else pd.DataFrame(columns=["model"])


def _range_figure(row: pd.Series) -> str:
    return f"{row['bleu']:.1f} (95 % interval {row['low']:.1f}-{row['high']:.1f})"


def _sentences_used(row: pd.Series) -> str:
    words = f"{row['min_words']}-{row['max_words']} English words"
    if row["sentence_set"] == LONG_HELD_OUT:
        return (
            f"{row['sentences']} long held-out sentences of {words} (drawn from the grammar apart from the "
            f"{HELD_OUT_PAIRS}, none of them in training)"
        )
    return f"the {row['sentences']} sentences of {words} among the {HELD_OUT_PAIRS} held out"


def long_sentence_reading(ranges: pd.DataFrame) -> str:
    """What the shipped models score on short and on long sentences, written from `length_range_frame`'s
    numbers (pooled BLEU, its bootstrap interval, the sentences each figure uses)."""
    if not {PRETRAINED, PRETRAINED_TRANSLATOR} <= set(ranges["model"]):
        return ""

    def row(model: str, words: tuple[int, int]) -> pd.Series:
        return ranges[
            (ranges["model"] == model) & (ranges["min_words"] == words[0]) & (ranges["max_words"] == words[1])
        ].iloc[0]

    plain_long, attention_long = row(PRETRAINED_TRANSLATOR, LONG_WORDS), row(PRETRAINED, LONG_WORDS)
    plain_short, attention_short = row(PRETRAINED_TRANSLATOR, SHORT_WORDS), row(PRETRAINED, SHORT_WORDS)
    if attention_long["low"] > plain_long["high"] or plain_long["low"] > attention_long["high"]:
        apart = "the two intervals do not overlap"
    else:
        apart = "the two intervals overlap, so these sentences cannot tell the models apart"
    same_long = plain_long["sentence_set"] == attention_long["sentence_set"]
    long_sets = (
        _sentences_used(plain_long)
        if same_long
        else f"{_sentences_used(plain_long)} and {_sentences_used(attention_long)}"
    )
    seconds = [r["decoding_seconds"] for r in (plain_long, attention_long) if r["sentence_set"] == LONG_HELD_OUT]
    decoding = (
        f" Decoding the long set took {' and '.join(f'{value:.1f} s' for value in seconds)} (batched greedy "
        "decoding, once, by scripts/evaluate_shipped.py, not by this server); a run of this session is measured on the "
        f"{HELD_OUT_PAIRS} held-out sentences only, so its press does not pay for it."
        if seconds
        else ""
    )
    return (
        f"On {long_sets}, the shipped models score {_range_figure(plain_long)} BLEU without attention and "
        f"{_range_figure(attention_long)} with it: attention is {attention_long['bleu'] - plain_long['bleu']:+.1f} "
        f"BLEU on long sentences, and {apart}. On {_sentences_used(plain_short)}: "
        f"{_range_figure(plain_short)} and {_range_figure(attention_short)}. Each figure is corpus BLEU pooled over "
        "all the sentences of its length range (their n-gram matches summed, as sacreBLEU does), not a mean of the "
        "chart's groups; the interval is the 2.5th to 97.5th percentile of that BLEU over 1,000 bootstrap resamples "
        "of those sentences." + decoding
    )


# --- Section 4: recency against content ---------------------------------------------------------------


def _influence(translator, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    encoded = encode_pairs(corpus.test, translator.source_vocabulary, translator.target_vocabulary)
    shares = occlusion_influence(translator, encoded)
    # The Translator's encoder reads the English backwards; the attention encoder reads both ways,
    # and its forward half reads the last word last.
    backwards = bool(getattr(translator, "settings", {}).get("reverse_source", False))
    return influence_profiles(shares, encoded, corpus.test_alignments, reads_backwards=backwards)


@st.cache_data(show_spinner="Measuring where each French word's evidence comes from (once per server)…")
def shipped_influence() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    corpus = default_corpus()
    return {model.label: _influence(model.translator(), corpus) for model in SHIPPED}


def influence_frames(corpus_id: str, corpus: Corpus) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both profiles of `lib.models.attention.influence_profiles` for the shipped models and this session's
    runs (each run measured once, then kept in its results): by offset from the aligned word, and
    the aligned word's share by how many words the encoder read after it."""
    profiles = dict(shipped_influence()) if corpus_id == GRAMMAR_KEY else {}
    for page, run in comparison_runs(corpus_id, corpus):
        if "influence" not in run.results:
            run.results["influence"] = _influence(run.model, corpus)
        profiles[f"{page}: {run.display_label}"] = run.results["influence"]
    offset_rows, distance_rows = [], []
    for model, (by_offset, by_distance) in profiles.items():
        middle = len(by_offset) // 2
        offset_rows += [
            {"model": model, "offset": index - middle, "share": float(value)}
            for index, value in enumerate(by_offset)
            if np.isfinite(value)
        ]
        distance_rows += [
            {"model": model, "read_after": index, "share": float(value)}
            for index, value in enumerate(by_distance)
            if np.isfinite(value)
        ]
    return pd.DataFrame(offset_rows), pd.DataFrame(distance_rows)


def influence_reading(distance: pd.DataFrame) -> str:
    """What the recency chart shows for the two shipped models, written from its numbers."""

    def mean_share(model: str, low: int, high: int) -> float:
        rows = distance[(distance["model"] == model) & distance["read_after"].between(low, high)]
        return float(rows["share"].mean()) if len(rows) else float("nan")

    if not {PRETRAINED, PRETRAINED_TRANSLATOR} <= set(distance["model"]):
        return ""
    parts = []
    for model in (PRETRAINED_TRANSLATOR, PRETRAINED):
        recent, old = mean_share(model, 0, 4), mean_share(model, 15, 29)
        parts.append(
            f"**{model}**: {recent:.0%} of a French word's evidence is on its English word when the encoder "
            f"read that word in its last 5 steps, {old:.0%} when it read it 15-29 steps before the end"
        )
    return "; ".join(parts) + "."
