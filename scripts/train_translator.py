"""Train the default model of the Translator page or of the Attention page, and ship it in data/.

    python scripts/train_translator.py            # the shipped seq2seq: seed 0, 48,000 pairs, 10 epochs
    python scripts/train_translator.py --model attention   # the shipped attention model, data/attention/
    python scripts/train_translator.py --model transformer # the shipped Transformer, data/transformer/
    python scripts/train_translator.py --epochs 1 --output /tmp/translator   # a quick check

Both models share everything but the model: the corpus, the vocabularies, the held-out sentences,
the recipe and the measurements, so their figures compare on the same sentences. The recipe is the
page's "Train from scratch" at its default settings, run for more epochs:
length-bucketed batches (lib.models.seq2seq.bucketed_dataset) and Adam's step size decaying along a cosine
over the planned epochs (lib.models.seq2seq.cosine_learning_rate). The corpus, the initial weights and the
batches all follow from --seed, so the same command on the same versions gives the same model (up
to the floating-point order of a multi-core CPU). The script writes the model (native .keras), both vocabularies, and metrics.json: the held-out
figures, the training time, and when the held-out token accuracy first reached 90 %.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from lib.data.bleu import bleu_by_source_length  # noqa: E402
from lib.data.corpus import Vocabulary, encode_pairs  # noqa: E402
from lib.data.grammar import make_corpus  # noqa: E402
from lib.models import attention, decoding, seq2seq, transformer  # noqa: E402

DEFAULT_TRAIN_SENTENCES = 48000
DEFAULT_TEST_SENTENCES = 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--train", type=int, default=DEFAULT_TRAIN_SENTENCES)
    parser.add_argument("--test", type=int, default=DEFAULT_TEST_SENTENCES)
    parser.add_argument("--model", choices=("seq2seq", "attention", "transformer"), default="seq2seq")
    parser.add_argument(
        "--output", type=Path, default=None, help="default: data/translator/ for seq2seq, data/attention/ for attention"
    )
    arguments = parser.parse_args()
    output = (
        arguments.output
        or {
            "seq2seq": seq2seq.TRANSLATOR_DIRECTORY,
            "attention": attention.ATTENTION_DIRECTORY,
            "transformer": transformer.TRANSFORMER_DIRECTORY,
        }[arguments.model]
    )

    import keras
    import tensorflow as tf

    corpus = make_corpus(arguments.train, arguments.test, seed=arguments.seed)
    source_vocabulary = Vocabulary.from_sentences(english for english, _ in corpus.train)
    target_vocabulary = Vocabulary.from_sentences(french for _, french in corpus.train)
    train = encode_pairs(corpus.train, source_vocabulary, target_vocabulary)
    test = encode_pairs(
        corpus.test, source_vocabulary, target_vocabulary, max_target_length=train.decoder_target.shape[1] - 1
    )
    if arguments.model == "seq2seq":
        settings = {**seq2seq.DEFAULT_SETTINGS, "seed": arguments.seed}
        model = seq2seq.build_seq2seq(len(source_vocabulary), len(target_vocabulary), **settings)
        translator_class, save, load = seq2seq.Seq2SeqTranslator, seq2seq.save_translator, seq2seq.load_translator
    elif arguments.model == "attention":
        settings = {**attention.DEFAULT_SETTINGS, "seed": arguments.seed}
        model = attention.build_attention_seq2seq(len(source_vocabulary), len(target_vocabulary), **settings)
        translator_class = attention.AttentionTranslator
        save, load = attention.save_attention_translator, attention.load_attention_translator
    else:
        settings = {**transformer.DEFAULT_SETTINGS, "seed": arguments.seed}
        model = transformer.build_transformer(len(source_vocabulary), len(target_vocabulary), **settings)
        translator_class = transformer.TransformerTranslator
        save, load = transformer.save_transformer_translator, transformer.load_transformer_translator
    # The Transformer learns with a smaller step than the recurrent models (lib/models/transformer.py says why).
    peak_learning_rate = (
        transformer.DEFAULT_LEARNING_RATE if arguments.model == "transformer" else seq2seq.DEFAULT_LEARNING_RATE
    )
    batches = seq2seq.bucketed_dataset(train, seq2seq.DEFAULT_BATCH_SIZE, seed=arguments.seed)
    trainer = seq2seq.compile_seq2seq(
        model, seq2seq.cosine_learning_rate(arguments.epochs * len(batches), peak_learning_rate), seed=arguments.seed
    )
    print(
        f"{len(corpus.train)} training and {len(corpus.test)} held-out pairs; vocabularies "
        f"{len(source_vocabulary)} English and {len(target_vocabulary)} French; {model.count_params():,} parameters"
    )

    history: list[dict] = []

    class Record(keras.callbacks.Callback):
        """One row per epoch: the seconds since training began and the epoch's figures."""

        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {
                "epoch": epoch + 1,
                "seconds": round(time.perf_counter() - self.started, 1),
                **{key: round(float(value), 4) for key, value in (logs or {}).items()},
            }
            history.append(row)
            print(row, flush=True)

    started = time.perf_counter()
    trainer.fit(
        batches,
        validation_data=(test.inputs, test.decoder_target),
        epochs=arguments.epochs,
        shuffle=False,
        verbose=0,
        callbacks=[Record()],
    )  # The dataset deals its own seeded batches.
    training_seconds = time.perf_counter() - started
    seconds_to_90 = next((row["seconds"] for row in history if row["val_token_accuracy"] >= 0.9), None)

    translator = translator_class(model, source_vocabulary, target_vocabulary)
    evaluation = decoding.evaluate_translator(
        translator, corpus.test, max_target_length=test.decoder_target.shape[1] - 1
    )
    by_length = bleu_by_source_length(
        evaluation.sources, evaluation.hypotheses, evaluation.references, model=arguments.model
    )
    save(translator, output)

    started = time.perf_counter()
    loaded = load(output)
    load_seconds = time.perf_counter() - started
    sentence = "the small cat does not see the green houses"
    ids = loaded.source_vocabulary.encode(sentence)
    started = time.perf_counter()
    first = decoding.greedy_decode(loaded, ids)
    first_translation_seconds = time.perf_counter() - started
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        decoding.greedy_decode(loaded, ids)
        timings.append(time.perf_counter() - started)

    metrics = {
        "command": "python scripts/train_translator.py"
        + "".join(
            f" --{name} {value}"
            for name, value in vars(arguments).items()
            if name != "output" and value != parser.get_default(name)
        ),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.system()}; shared with other jobs",
        "versions": {"python": platform.python_version(), "keras": keras.__version__, "tensorflow": tf.__version__},
        "settings": settings,
        "learning_rate": peak_learning_rate,
        "learning_rate_schedule": "cosine decay to 5 % over the planned batches",
        "batch_size": seq2seq.DEFAULT_BATCH_SIZE,
        "batches": "length-bucketed (lib.models.seq2seq.bucketed_dataset)",
        "epochs": arguments.epochs,
        "train_sentences": len(corpus.train),
        "test_sentences": len(corpus.test),
        "english_vocabulary": len(source_vocabulary),
        "french_vocabulary": len(target_vocabulary),
        "parameters": int(model.count_params()),
        "training_seconds": round(training_seconds, 1),
        "seconds_to_90_percent_token_accuracy": seconds_to_90,
        "held_out": {key: round(value, 4) for key, value in evaluation.as_dict().items()},
        "bleu_by_source_length": by_length.round(4).to_dict(orient="records"),
        "load_seconds_after_tensorflow_import": round(load_seconds, 3),
        "first_translation_seconds": round(first_translation_seconds, 3),
        "translation_seconds_median": round(float(np.median(timings)), 4),
        "example": {"english": sentence, "french": first.text},
        "history": history,
    }
    if arguments.model == "attention" and getattr(corpus, "test_alignments", None) is not None:
        weights, _ = loaded.teacher_forced(test)
        metrics["held_out"]["alignment_accuracy"] = round(
            attention.alignment_accuracy(weights, test, corpus.test_alignments), 4
        )
    (output / "metrics.json").write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({key: value for key, value in metrics.items() if key != "history"}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
