"""BLEU, exact matches and BLEU by sentence length, for the Translator, Attention and Transformer pages.

`corpus_bleu` computes the standard corpus-level BLEU (Papineni et al., 2002) on a 0-100 scale, the
way sacrebleu does by default: n-gram precisions for n = 1..4 are summed over the whole corpus
(clipped counts over all sentences, then one division per n), combined by a geometric mean, times
a brevity penalty exp(1 - reference length / output length) when the outputs are shorter in
total. Smoothing is sacrebleu's default "exp" (NIST's, Chen & Cherry 2014 method 3): when no n-gram
of some order matches, that precision becomes 1 / (2^k × count) for the k-th such order instead of
zero, so a corpus with no 4-gram match gets a small score rather than exactly 0.

Sentences are compared word by word as they are given (split on spaces): the pages pass the
translator's own tokenization on both sides, so this equals sacrebleu with `tokenize="none"`.
The tests check the figures against sacrebleu; the app does not need sacrebleu at run time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

MAX_ORDER = 4


def _ngrams(words: Sequence[str], order: int) -> Counter:
    return Counter(tuple(words[i : i + order]) for i in range(len(words) - order + 1))


def bleu_statistics(hypothesis: str, reference: str) -> np.ndarray:
    """A sentence's sufficient statistics: output length, reference length, matches per order, n-grams per order."""
    hypothesis_words, reference_words = hypothesis.split(), reference.split()
    matches, totals = [], []
    for order in range(1, MAX_ORDER + 1):
        produced = _ngrams(hypothesis_words, order)
        wanted = _ngrams(reference_words, order)
        matches.append(sum(min(count, wanted[gram]) for gram, count in produced.items()))
        totals.append(max(len(hypothesis_words) - order + 1, 0))
    return np.asarray([len(hypothesis_words), len(reference_words), *matches, *totals], dtype=np.int64)


def bleu_from_statistics(statistics: np.ndarray) -> float:
    """Corpus BLEU (0-100) from summed sentence statistics, with the "exp" smoothing."""
    output_length, reference_length = int(statistics[0]), int(statistics[1])
    matches = statistics[2 : 2 + MAX_ORDER]
    totals = statistics[2 + MAX_ORDER :]
    if output_length == 0 or not matches.any():
        return 0.0
    brevity = 1.0 if output_length >= reference_length else math.exp(1 - reference_length / output_length)
    log_precisions = []
    smoothing = 1.0
    for match, total in zip(matches, totals):
        if total == 0:
            # No n-gram of this order at all (every output shorter than n): BLEU is 0, as in sacrebleu.
            return 0.0
        if match == 0:
            smoothing *= 2
            log_precisions.append(math.log(1.0 / (smoothing * total)))
        else:
            log_precisions.append(math.log(match / total))
    return 100.0 * brevity * math.exp(sum(log_precisions) / MAX_ORDER)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU on a 0-100 scale of space-separated outputs against one reference each."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} outputs but {len(references)} references.")
    if not hypotheses:
        return 0.0
    statistics = sum(bleu_statistics(h, r) for h, r in zip(hypotheses, references))
    return bleu_from_statistics(statistics)


def exact_match_rate(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Share of outputs identical to their reference, word for word (0-1)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} outputs but {len(references)} references.")
    if not hypotheses:
        return 0.0
    return float(np.mean([h.split() == r.split() for h, r in zip(hypotheses, references)]))


DEFAULT_LENGTH_BINS = (1, 6, 11, 16, 21, 26, 31)


def bleu_by_source_length(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[str],
    bins: Sequence[int] = DEFAULT_LENGTH_BINS,
    model: str = "",
) -> pd.DataFrame:
    """Corpus BLEU and exact matches of sentences grouped by the English sentence's length in words.

    `bins` are the lower edges of the groups (a last group takes everything from its edge up).
    Columns: model, lengths ("6-10"), min_words, max_words, sentences, bleu, exact_match. `model`
    labels the rows, so the attention page can concatenate its frame with this one and chart both.
    """
    lengths = np.asarray([len(source.split()) for source in sources])
    rows = []
    edges = list(bins)
    for index, low in enumerate(edges):
        high = edges[index + 1] - 1 if index + 1 < len(edges) else int(max(lengths.max(initial=low), low))
        chosen = np.flatnonzero((lengths >= low) & (lengths <= high))
        if len(chosen) == 0:
            continue
        group_hypotheses = [hypotheses[i] for i in chosen]
        group_references = [references[i] for i in chosen]
        rows.append(
            {
                "model": model,
                "lengths": f"{low}-{high}" if high > low else f"{low}",
                "min_words": low,
                "max_words": high,
                "sentences": len(chosen),
                "bleu": corpus_bleu(group_hypotheses, group_references),
                "exact_match": exact_match_rate(group_hypotheses, group_references),
            }
        )
    return pd.DataFrame(
        rows, columns=["model", "lengths", "min_words", "max_words", "sentences", "bleu", "exact_match"]
    )


# --- BLEU over a range of lengths, with a bootstrap interval ---------------------------------------------
#
# One definition for every "BLEU on sentences of N to M words" the pages and the README quote: corpus
# BLEU pooled over all the sentences whose English has N to M words (their n-gram counts summed, one
# division per order), exactly `corpus_bleu` of those sentences, and not a mean of per-group scores.

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_LEVEL = 0.95


def in_length_range(sources: Sequence[str], min_words: int, max_words: int) -> np.ndarray:
    """Indices of the sentences whose English (space-separated) has `min_words` to `max_words` words."""
    lengths = np.asarray([len(source.split()) for source in sources], dtype=np.int64)
    return np.flatnonzero((lengths >= min_words) & (lengths <= max_words))


def bootstrap_interval(
    hypotheses: Sequence[str],
    references: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of corpus BLEU: the sentences are drawn with replacement, as many
    as there are, `resamples` times (seeded), and corpus BLEU is pooled over each draw."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} outputs but {len(references)} references.")
    if not hypotheses:
        return float("nan"), float("nan")
    statistics = np.stack([bleu_statistics(h, r) for h, r in zip(hypotheses, references)])
    draws = np.random.default_rng(seed).integers(0, len(statistics), size=(resamples, len(statistics)))
    scores = np.asarray([bleu_from_statistics(statistics[draw].sum(axis=0)) for draw in draws])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return float(low), float(high)


def bleu_over_lengths(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[str],
    min_words: int,
    max_words: int,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> dict:
    """Corpus BLEU pooled over the sentences of `min_words` to `max_words` English words, with its
    percentile bootstrap interval: {"sentences", "bleu", "low", "high"} (BLEU nan when none is that long)."""
    chosen = in_length_range(sources, min_words, max_words)
    group_hypotheses = [hypotheses[i] for i in chosen]
    group_references = [references[i] for i in chosen]
    if not len(chosen):
        return {"sentences": 0, "bleu": float("nan"), "low": float("nan"), "high": float("nan")}
    low, high = bootstrap_interval(group_hypotheses, group_references, resamples, level, seed)
    return {
        "sentences": int(len(chosen)),
        "bleu": corpus_bleu(group_hypotheses, group_references),
        "low": low,
        "high": high,
    }
