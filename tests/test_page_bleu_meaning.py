"""Each translator page says, where it shows BLEU, what a score near 100 means on the grammar's pairs
(counted from the corpus and fresh draws, not written in) and what the no-attention model's fall with
length does and does not carry over to real corpora."""

from __future__ import annotations

import pytest

from lib.data.corpus import Corpus, tokenize
from lib.data.grammar import make_corpus
from lib.page_glue.translator_family import (
    DEFAULT_TRAIN_PAIRS,
    HELD_OUT_PAIRS,
    TaskFacts,
    task_facts,
    what_bleu_means,
)
from tests.page_support import open_page

HEADING = "**What BLEU says here.**"


@pytest.fixture(scope="module")
def grammar_counts() -> tuple[int, int]:
    """The grammar corpus's English and French word types, counted here independently of the page."""
    corpus = make_corpus(DEFAULT_TRAIN_PAIRS, HELD_OUT_PAIRS, seed=0)
    pairs = corpus.train + corpus.test
    return (
        len({word for english, _ in pairs for word in tokenize(english)}),
        len({word for _, french in pairs for word in tokenize(french)}),
    )


@pytest.mark.parametrize("path", ["app_pages/translator.py", "app_pages/attention.py", "app_pages/transformer.py"])
def test_each_translator_page_says_what_bleu_means_with_the_counted_word_types(path, grammar_counts):
    app = open_page(path)
    texts = [markdown.value for markdown in app.markdown if markdown.value.startswith(HEADING)]
    assert len(texts) == 1, f"{path} says what BLEU means {len(texts)} times"
    text = texts[0]
    english_types, french_types = grammar_counts
    assert f"{english_types:,} English and {french_types:,} French word types" in text
    assert "one French translation per English sentence" in text and "BLEU near 100 is expected" in text
    assert "RNNenc" in text and "RNNsearch" in text and "WMT'14" in text
    # It comes after the page's first table of BLEU scores, where a reader has met them.
    elements = list(app.main)  # every block and element, in the order the page draws them
    position = next(i for i, element in enumerate(elements) if element.type == "markdown" and element.value == text)
    first_bleu_table = next(
        i for i, element in enumerate(elements) if element.type == "dataframe" and "BLEU" in element.value.columns
    )
    assert first_bleu_table < position


def test_the_grammar_is_measured_deterministic_and_its_draws_are_reported():
    corpus = make_corpus(400, 50, seed=0)
    facts = task_facts("grammar", corpus)
    assert facts.from_grammar and facts.repeated > 50 and facts.ambiguous == 0
    assert f"the {facts.repeated:,} English sentences drawn more than once came out with the same French" in (
        what_bleu_means(facts)
    )


def test_no_claim_of_one_translation_when_sentences_have_two_or_an_upload_is_in_use():
    ambiguous = what_bleu_means(TaskFacts(True, 160, 260, 30, draws=10_000, repeated=200, ambiguous=3))
    assert "3 of the 200 English sentences" in ambiguous and "BLEU near 100 is expected" not in ambiguous
    upload = Corpus(
        train=[("the cat sleeps", "le chat dort"), ("a dog", "un chien")],
        test=[("the dog sleeps", "le chien dort")],
        seed=0,
        source="upload",
    )
    text = what_bleu_means(task_facts("upload:test", upload))
    assert "Your pairs hold 5 English and 5 French word types" in text
    assert "deterministic" not in text and "at most 3 words" in text
