"""A tiny Transformer for tests (tests/test_transformer.py, tests/test_page_transformer.py): two layers
of two heads at d = 16, built over the vocabularies of the `small_corpus` fixture (tests/conftest.py)."""

from __future__ import annotations

from lib.models import transformer

TINY = {"layers": 2, "heads": 2, "model_size": 16, "feed_forward_size": 32, "dropout": 0.1}


def tiny_translator(small_corpus, **settings) -> transformer.TransformerTranslator:
    """An untrained tiny Transformer (seed 1); `settings` override TINY's or the builder's defaults."""
    _, english, french = small_corpus
    model = transformer.build_transformer(len(english), len(french), **{**TINY, "seed": 1, **settings})
    return transformer.TransformerTranslator(model, english, french)
