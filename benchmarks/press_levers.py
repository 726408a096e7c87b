"""Where a translator page's default press spends its CPU seconds, and what each lever saves.

For the default model of each translator page (Translator's GRU seq2seq, Attention's, the
Transformer), in this process, CPU seconds (`time.process_time`) of:

* training on a fixed slice of the default corpus's pairs, one epoch after a first epoch that
  traces the graphs, per 1,000 pairs, at batch sizes 64 (the default), 128 and 256, and with Keras's
  `steps_per_execution` and XLA (`jit_compile=True`) at the default batch size (`--levers`);
* the epoch-end held-out measures: the live BLEU callback (greedy decoding of 200 held-out
  sentences, lib.models.decoding.held_out_bleu_callback), Keras's validation pass on the 500
  held-out pairs, and the final measurement of the run on them (`evaluation_results`).

Untrained models decode to the length cap (they rarely write </s>), so the decoding figures are an
upper bound of a trained model's.

Also: the machine's matmul rate (float32, 2048×2048, numpy and TensorFlow), for the FLOP floor.

Run from the repository root:  python benchmarks/press_levers.py [--pages translator attention transformer]
    [--pairs 1536] [--levers batch steps xla]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cpu(function, *arguments, **keywords):
    started = time.process_time()
    value = function(*arguments, **keywords)
    return time.process_time() - started, value


def matmul_rate(size: int = 2048, repeats: int = 5) -> dict:
    import numpy as np
    import tensorflow as tf

    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    flops = 2 * size**3 * repeats
    a @ b
    seconds, wall_started = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        a @ b
    numpy_cpu, numpy_wall = time.process_time() - seconds, time.perf_counter() - wall_started
    ta, tb = tf.constant(a), tf.constant(b)
    tf.matmul(ta, tb).numpy()
    seconds, wall_started = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        tf.matmul(ta, tb).numpy()
    tf_cpu, tf_wall = time.process_time() - seconds, time.perf_counter() - wall_started
    return {
        "numpy_gflops_per_cpu_s": flops / numpy_cpu / 1e9,
        "numpy_gflops_per_wall_s": flops / numpy_wall / 1e9,
        "tf_gflops_per_cpu_s": flops / tf_cpu / 1e9,
        "tf_gflops_per_wall_s": flops / tf_wall / 1e9,
    }


def page_parts(page: str):
    """(settings, corpus) of the page's default press."""
    from lib.page_glue.translator_family import default_corpus
    from lib.page_glue.translator_page import ScratchSettings

    corpus = default_corpus()
    if page == "translator":
        return ScratchSettings(), corpus
    if page == "attention":
        from lib.page_glue.attention_page import AttentionSettings

        return AttentionSettings(), corpus
    from lib.page_glue.transformer_page import TransformerSettings

    return TransformerSettings(), corpus


def trainer_for(settings, vocabularies, steps_per_execution: int = 1, jit_compile=False):
    from lib.models.seq2seq import compile_seq2seq

    model = settings.build(vocabularies)
    trainer = compile_seq2seq(model, getattr(settings, "learning_rate", 0.006))
    # Keras reads both when it first builds the train function, so setting them after compile holds.
    trainer.steps_per_execution = steps_per_execution
    trainer.jit_compile = jit_compile
    return model, trainer


def train_cost(settings, corpus, vocabularies, pairs: int, batch_size: int = 64, **compile_options) -> float:
    """CPU seconds per 1,000 pairs of one epoch, after a first epoch on the same pairs (tracing)."""
    from lib.data.corpus import encode_pairs
    from lib.models.seq2seq import bucketed_dataset

    encoded = encode_pairs(corpus.train[:pairs], *vocabularies)
    _, trainer = trainer_for(settings, vocabularies, **compile_options)
    batches = bucketed_dataset(encoded, batch_size)
    trainer.fit(batches, epochs=1, verbose=0)
    seconds, _ = cpu(trainer.fit, batches, epochs=1, verbose=0)
    return 1000 * seconds / pairs


def measures_cost(settings, corpus, vocabularies) -> dict:
    from lib.data.corpus import encode_pairs
    from lib.models.decoding import held_out_bleu_callback
    from lib.page_glue.translator_family import evaluation_results, translator_for

    model, trainer = trainer_for(settings, vocabularies)
    translator = translator_for(model, vocabularies)
    test = encode_pairs(corpus.test, *vocabularies)
    callback = held_out_bleu_callback(translator, corpus.test)
    callback.on_epoch_end(0, {})  # traces the decoding graphs
    figures = {"live_bleu_200": cpu(callback.on_epoch_end, 0, {})[0]}
    trainer.evaluate(test.inputs, test.decoder_target, verbose=0)
    figures["validation_500"] = cpu(trainer.evaluate, test.inputs, test.decoder_target, verbose=0)[0]
    figures["final_measurement_500"] = cpu(evaluation_results, translator, corpus.test, "m")[0]
    return figures


def layer_counts(page: str, settings, vocabularies):
    sizes = (len(vocabularies[0]), len(vocabularies[1]))
    if page == "translator":
        from lib.models.seq2seq import seq2seq_layer_counts

        return seq2seq_layer_counts(
            *sizes, settings.cell, settings.units, settings.embedding_size, settings.layers, settings.context_every_step
        )
    if page == "attention":
        from lib.models.attention import attention_layer_counts

        return attention_layer_counts(*sizes, settings.score, settings.units, settings.embedding_size)
    from lib.models.transformer import transformer_layer_counts

    return transformer_layer_counts(
        *sizes, settings.layers, settings.heads, settings.model_size, settings.feed_forward_size, settings.positions
    )


def press_flops(page: str, settings, corpus, vocabularies, pairs: int, epochs: int) -> dict:
    """Training FLOPs of a press: 3 × the forward pass's multiply-adds (× 2) over the tokens of the
    padded batches actually trained, every weight matrix applied once per token of its side (the
    encoder's to English tokens, the decoder's and the softmax's to French ones; a cross-attention's
    key and value projections to English ones), plus the attention products (scores and the weighted
    sum: 4 × length × width per query and layer). Embedding lookups and element-wise work are left out."""

    from lib.data.corpus import encode_pairs
    from lib.models.seq2seq import DEFAULT_BATCH_SIZE, bucketed_batches

    encoded = encode_pairs(corpus.train[:pairs], *vocabularies)
    batches = bucketed_batches(encoded, DEFAULT_BATCH_SIZE)
    source_lengths = (encoded.encoder_input != 0).sum(axis=1)
    target_lengths = (encoded.decoder_target != 0).sum(axis=1)
    padded_tokens = sum(
        len(rows) * int(max(source_lengths[rows].max(), target_lengths[rows].max())) for rows in batches
    )
    # Per padded position of a batch of length L: source-side and target-side weights, and L-long attention products.
    source_weights = target_weights = 0
    for count in layer_counts(page, settings, vocabularies):
        name = count.name
        if "embedding" in name or "positions" in name or "layer norm" in name:
            continue
        if "cross-attention" in name:  # Q and output projections on French tokens, K and V on English ones.
            source_weights += count.weights // 2
            target_weights += count.weights // 2
        elif name.startswith("encoder"):
            source_weights += count.weights
        else:
            target_weights += count.weights
    dense = 2 * padded_tokens * (source_weights + target_weights)
    squared = sum(len(rows) * int(max(source_lengths[rows].max(), target_lengths[rows].max())) ** 2 for rows in batches)
    if page == "attention":
        products = 4 * squared * settings.units
    elif page == "transformer":  # encoder self, decoder self and cross-attention in every layer
        products = 4 * squared * settings.model_size * 3 * settings.layers
    else:
        products = 0
    forward = dense + products
    return {
        "padded_tokens_per_side": padded_tokens,
        "real_tokens": int(source_lengths.sum() + target_lengths.sum()),
        "forward_gflop_per_epoch": forward / 1e9,
        "training_gflop": 3 * forward * epochs / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", nargs="*", default=["translator", "attention", "transformer"])
    parser.add_argument("--pairs", type=int, default=1536)
    parser.add_argument("--levers", nargs="*", default=["batch", "steps", "xla"])
    parser.add_argument("--no-measures", action="store_true")
    parser.add_argument("--flops", nargs="*", metavar="PAIRSxEPOCHS", help="only the FLOPs of presses, e.g. 48000x3")
    arguments = parser.parse_args()
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies

    if arguments.flops is not None:
        for page in arguments.pages:
            settings, corpus = page_parts(page)
            vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
            for press in arguments.flops or [f"{settings.train_sentences}x{settings.epochs}"]:
                pairs, epochs = map(int, press.split("x"))
                print(f"{page} {pairs}x{epochs}: {press_flops(page, settings, corpus, vocabularies, pairs, epochs)}")
        return
    print(f"matmul: {matmul_rate()}", flush=True)
    for page in arguments.pages:
        settings, corpus = page_parts(page)
        vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
        if not arguments.no_measures:
            print(
                f"{page} epoch-end and final measures (CPU s): {measures_cost(settings, corpus, vocabularies)}",
                flush=True,
            )
        if "batch" in arguments.levers:
            for batch_size in (64, 128, 256):
                cost = train_cost(settings, corpus, vocabularies, arguments.pairs, batch_size)
                print(f"{page} batch {batch_size}: {cost:.2f} CPU s per 1,000 pairs", flush=True)
        if "steps" in arguments.levers:
            cost = train_cost(settings, corpus, vocabularies, arguments.pairs, steps_per_execution=8)
            print(f"{page} steps_per_execution 8: {cost:.2f} CPU s per 1,000 pairs", flush=True)
        if "xla" in arguments.levers:
            try:
                cost = train_cost(settings, corpus, vocabularies, arguments.pairs, jit_compile=True)
                print(f"{page} jit_compile: {cost:.2f} CPU s per 1,000 pairs", flush=True)
            except Exception as error:  # noqa: BLE001  (reported, not hidden)
                print(f"{page} jit_compile failed: {type(error).__name__}: {str(error)[:300]}", flush=True)


if __name__ == "__main__":
    main()
