"""Unit tests for lib/data/bleu.py: known values computed by hand, and agreement with sacrebleu.

sacrebleu is used only here, as the reference implementation (`pip install sacrebleu`); the app
computes BLEU with lib/data/bleu.py and does not need it. sacrebleu is in requirements-dev.txt, so these tests always run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lib.data.bleu import bleu_by_source_length, bleu_over_lengths, bootstrap_interval, corpus_bleu, exact_match_rate
from lib.data.corpus import Corpus
from lib.data.grammar import LONG_HELD_OUT_SEED, generate_pairs, long_held_out_pairs


def test_identical_outputs_score_100_and_disjoint_ones_0():
    references = ["le petit chat dort", "je n'ai pas de chat"]
    assert corpus_bleu(references, references) == pytest.approx(100.0)
    assert corpus_bleu(["a b c d", "e f g h"], references) == 0.0
    assert corpus_bleu([], []) == 0.0


def test_a_value_computed_by_hand():
    # Precisions 5/6, 3/5, 1/4 and, with no 4-gram matching, the "exp" smoothing's 1 / (2 × 3).
    expected = 100 * math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(1 / 6)) / 4)
    assert corpus_bleu(["the cat sat on the mat"], ["the cat is on the mat"]) == pytest.approx(expected)
    assert expected == pytest.approx(37.99, abs=0.01)


def test_brevity_penalty_by_hand():
    # All n-grams match, but the output has 4 words for a reference of 6: BP = exp(1 - 6/4).
    assert corpus_bleu(["the cat is on"], ["the cat is on the mat"]) == pytest.approx(100 * math.exp(1 - 6 / 4))


def test_counts_are_clipped_by_the_reference():
    # "the the the the": one "the" in the reference, so 1/4 unigram precision, and no bigram matches.
    value = corpus_bleu(["the the the the"], ["the cat sleeps here"])
    expected = 100 * math.exp(
        (math.log(1 / 4) + math.log(1 / (2 * 3)) + math.log(1 / (4 * 2)) + math.log(1 / (8 * 1))) / 4
    )
    assert value == pytest.approx(expected)


def test_exact_match_rate():
    assert exact_match_rate(["a b", "c d", "e"], ["a b", "c  d", "f"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        exact_match_rate(["a"], [])


def test_bleu_by_source_length_groups_sentences():
    sources = ["a b c", "a b c d e f g", "a " * 12, "a " * 27]
    references = ["le chat dort bien", "x y z w", "un deux trois quatre", "p q r s"]
    hypotheses = ["le chat dort bien", "x y z v", "un deux trois quatre", "t u v w"]
    frame = bleu_by_source_length(sources, hypotheses, references, model="seq2seq")
    assert frame["lengths"].tolist() == ["1-5", "6-10", "11-15", "26-30"]
    assert frame["sentences"].sum() == 4
    assert frame.loc[0, "bleu"] == pytest.approx(100.0) and frame.loc[0, "exact_match"] == 1.0
    assert frame.loc[3, "bleu"] == 0.0
    assert (frame["model"] == "seq2seq").all()


def _noisy(pairs, seed: int, drop: float = 0.15) -> list[str]:
    """French references with about `drop` of their words left out: imperfect translations."""
    random = np.random.default_rng(seed)
    return [" ".join(word for word in french.split() if random.random() > drop) for _, french in pairs]


def test_bleu_over_a_length_range_is_corpus_bleu_pooled_over_its_sentences():
    pairs = generate_pairs(300, seed=5)
    sources, references = [english for english, _ in pairs], [french for _, french in pairs]
    hypotheses = _noisy(pairs, seed=1)
    chosen = [i for i, source in enumerate(sources) if 11 <= len(source.split()) <= 20]
    pooled = bleu_over_lengths(sources, hypotheses, references, 11, 20)
    assert pooled["sentences"] == len(chosen) > 20
    assert pooled["bleu"] == pytest.approx(
        corpus_bleu([hypotheses[i] for i in chosen], [references[i] for i in chosen])
    )
    # Not the sentence-weighted mean of the groups' BLEU (the definition the pages used before).
    groups = bleu_by_source_length(sources, hypotheses, references, bins=(11, 16, 21))
    groups = groups[groups["max_words"] <= 20]
    weighted = float(np.average(groups["bleu"], weights=groups["sentences"]))
    assert pooled["bleu"] != pytest.approx(weighted, abs=1e-9)
    assert bleu_over_lengths(sources, hypotheses, references, 31, 40)["sentences"] == 0


def test_the_bootstrap_interval_holds_the_estimate_and_narrows_with_more_sentences():
    pairs = generate_pairs(800, seed=6)
    references, hypotheses = [french for _, french in pairs], _noisy(pairs, seed=2, drop=0.3)
    widths = []
    for count in (40, 800):
        estimate = corpus_bleu(hypotheses[:count], references[:count])
        low, high = bootstrap_interval(hypotheses[:count], references[:count], seed=0)
        assert low < estimate < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2
    # Seeded: the same interval every time.
    assert bootstrap_interval(hypotheses[:40], references[:40], seed=0) == bootstrap_interval(
        hypotheses[:40], references[:40], seed=0
    )


def test_long_held_out_sentences_are_long_distinct_and_never_in_the_corpus():
    # A corpus holding the first long sentences the draw would give: they must be skipped.
    first = long_held_out_pairs(Corpus(train=[], test=[], seed=0), count=30)
    corpus = Corpus(train=first[:20], test=first[20:25], seed=0)
    pairs = long_held_out_pairs(corpus, count=50, seed=LONG_HELD_OUT_SEED)
    english = [sentence for sentence, _ in pairs]
    assert len(set(english)) == 50
    assert all(21 <= len(sentence.split()) <= 30 for sentence in english)
    assert not set(english) & {sentence for sentence, _ in first[:25]}
    assert set(english) >= {sentence for sentence, _ in first[25:]}


import sacrebleu  # noqa: E402  (a test requirement, in requirements-dev.txt: the reference implementation)


def _sacrebleu(hypotheses, references):
    return sacrebleu.corpus_bleu(hypotheses, [references], tokenize="none").score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sacrebleu_on_noisy_translations(seed):
    generator = np.random.default_rng(seed)
    references = [french for _, french in generate_pairs(300, seed=seed)]
    vocabulary = sorted({word for sentence in references for word in sentence.split()})
    hypotheses = []
    for reference in references:
        words = reference.split()
        # Drop, replace and insert words at random, as an imperfect model would.
        words = [w for w in words if generator.random() > 0.1]
        words = [vocabulary[generator.integers(len(vocabulary))] if generator.random() < 0.15 else w for w in words]
        if generator.random() < 0.3:
            words.insert(int(generator.integers(len(words) + 1)), vocabulary[generator.integers(len(vocabulary))])
        hypotheses.append(" ".join(words))
    assert corpus_bleu(hypotheses, references) == pytest.approx(_sacrebleu(hypotheses, references), abs=1e-9)


@pytest.mark.parametrize(
    ("hypotheses", "references"),
    [
        (["the cat sat on the mat"], ["the cat is on the mat"]),
        (["the cat is on"], ["the cat is on the mat"]),
        (["the the the the"], ["the cat sleeps here"]),
        (["a b", "c"], ["a b c", "c d"]),
        (["a b c d e f"], ["a b c"]),
    ],
)
def test_agrees_with_sacrebleu_on_small_cases(hypotheses, references):
    assert corpus_bleu(hypotheses, references) == pytest.approx(_sacrebleu(hypotheses, references), abs=1e-9)
