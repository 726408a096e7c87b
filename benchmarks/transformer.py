"""Transformer page: rerun latency, the live press against plain `fit`, held-out BLEU of the three
shipped translators (overall and on long sentences), and the Transformer's training time per epoch
against an attention GRU of the same size.

What it measures (each beside a baseline measured in the same run; nothing is asserted)
    reruns      The whole app (`streamlit_app.py`) under AppTest, switched to app_pages/transformer.py
                and warmed up (every value below seen once; `benchmarks.attention.measure_page_reruns`):
                `AppTest.run()` after moving section 1's "Head" slider (through its 4 heads), and
                after changing the "Heads to silence at inference" pills among 4 sets of heads, each
                already silenced once (so `silenced_pretrained` and `shipped_knockout_bleu` return
                their cached copy and BLEU), 20 reruns each; median and worst. The first, uncached
                silencing of each set (a copy of the model with those rows of W_O zeroed, its BLEU
                on KNOCKOUT_SENTENCES held-out pairs, its greedy translation) is reported apart.
                Every rerun recomputes section 1's walkthrough, every head's map of section 2, the
                permutation check of section 3 and redraws every chart.
                Baseline: the Home page's rerun (no widgets), before the page and again after it.
    BLEU        The shipped Transformer (data/transformer), attention GRU (data/attention) and
                seq2seq without attention (data/translator), greedy, on the 500 held-out pairs of
                `make_corpus(48000, 500, seed=0)` (`benchmarks.attention.long_sentence_bleu`):
                corpus BLEU overall and on the pairs whose English has 21 to 30 words.
    per epoch   One epoch of plain `fit` (no callbacks, no validation) of the page's default
                Transformer (`TransformerSettings()`: 2 layers, 4 heads, d 128, ff 256, sinusoidal
                positions) and of an attention GRU (`lib.models.attention.build_attention_seq2seq`, dot
                score, embedding 64) whose units are chosen so that both have about the same number
                of parameters (both counts printed), on the same length-bucketed batches of the
                page's 24,000 training pairs (a fresh `bucketed_dataset(seed=0)` for each, so the
                batches are identical), each with its own cosine schedule. Reported: the epoch
                (from fit's start, so with the first batch's tracing) and the epoch without its
                first batch, scaled to all batches (the steady pace), and CPU seconds. --repeats
                pairs, alternating which model goes first. Run before the presses, so that both
                sides of the press comparison find TensorFlow's training code warm.
    press       The page's "Train from scratch" with its defaults, through what the button runs:
                `lib.page_glue.translator_family.train_from_scratch` with `TransformerSettings()` (24,000 pairs,
                2 epochs, batches of 64 bucketed by length, Adam at lib.models.transformer.DEFAULT_LEARNING_RATE
                decaying along a cosine), the held-out BLEU every epoch, and the live map of
                `head_view(corpus, settings.watched_layer, settings.watched_head)` (the last decoder
                layer's cross-attention, head 1) snapshotted SNAPSHOTS_PER_EPOCH times per epoch; in
                a real Streamlit script context (`AppTest.from_function`, through
                `benchmarks.attention.engine_press`), so every redraw builds and serialises its
                Altair charts.
                Baseline: `model.fit` of the same model (same seed) on the same bucketed batches,
                same schedule and held-out validation data, no callbacks
                (`benchmarks.attention.plain_press`).
                Reported as in benchmarks/attention.py: fit with the engine / plain fit, the whole
                press (encoding, building, the translator's graphs, training, the held-out
                measurement after it) / plain (encoding, building, fit), the time in each addition,
                the press's phases, and the ratio of the process's CPU seconds (all threads), which
                other jobs move less than wall time. Target: press / plain ≤ 1.10.
                --repeats pairs, engine and plain alternating which goes first.

The machine is shared and its speed swings, so read the ratios (both sides of each measured in the
same run), not the seconds alone. The load average is printed at the start and at the end.

Run from the repository root:  python benchmarks/transformer.py [--repeats N]
    (about 7 minutes with N = 1 on 2 cores shared with other jobs; each further repeat adds about 5 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The app's background warm-up (lib/page_glue/warm_up.py) would load models behind the measurements.
os.environ.setdefault("RNN_PLAYGROUND_WARM_UP", "0")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from benchmarks.attention import (  # noqa: E402
    LONG_WORDS,
    RERUNS,
    TARGET_PRESS_RATIO,
    engine_press,
    epoch_clock,
    long_sentence_bleu,
    measure_page_reruns,
    move,
    plain_press,
    press_pairs,
    report_presses,
)
from benchmarks.rerun_latency import summary, timed_run, widget  # noqa: E402

PAGE = "app_pages/transformer.py"
PAGE_TITLE = "Transformer"
MODULE = "benchmarks.transformer"
HEAD_LABEL = "Head"
SILENCE_LABEL = "Heads to silence at inference"
# The sets of heads silenced in turn, by the pills' labels (app_pages/transformer.py); the last is a
# whole layer's heads.
SILENCED_SETS = (
    ("decoder 2 cross · head 1",),
    ("decoder 2 cross · head 1", "decoder 2 cross · head 2"),
    ("encoder 1 self · head 3",),
    ("decoder 1 cross · head 1", "decoder 1 cross · head 2", "decoder 1 cross · head 3", "decoder 1 cross · head 4"),
)
SHIPPED = ("transformer", "attention", "seq2seq")
DATA = {"transformer": "data/transformer", "attention": "data/attention", "seq2seq": "data/translator"}


# --- 1. Rerun latency -------------------------------------------------------------------------------


def transformer_moves(app) -> dict:
    heads = list(range(1, int(widget(app.slider, HEAD_LABEL).max) + 1))
    for _ in heads:  # warm-up: every head once
        move(app, "slider", HEAD_LABEL, heads)
    head = [move(app, "slider", HEAD_LABEL, heads) for _ in range(RERUNS)]

    options = widget(app.pills, SILENCE_LABEL).options
    sets = [[option for option in options if option in chosen] for chosen in SILENCED_SETS]
    if any(len(found) != len(chosen) for found, chosen in zip(sets, SILENCED_SETS)):
        raise LookupError(f"silenced sets {SILENCED_SETS} not all among the pills' options {options}")
    uncached = []
    for chosen in sets:  # each set silenced for the first time: a copy made, its BLEU measured
        widget(app.pills, SILENCE_LABEL).set_value(chosen)
        uncached.append(timed_run(app))
    silence = [move(app, "pills", SILENCE_LABEL, sets) for _ in range(RERUNS)]
    metrics = {element.label: element.value for element in app.metric}
    return {"head": head, "heads": len(heads), "uncached": uncached, "silence": silence, "metrics": metrics}


# --- 2. The press -----------------------------------------------------------------------------------


def run_press(job: str, area) -> dict:
    """transformer: the Transformer page's default press, with its live map of one head;
    transformer_plain: `fit` of the same model on the same batches, no callbacks."""
    import lib.page_glue.translator_family as page
    from lib.page_glue import transformer_page

    corpus = page.default_corpus()
    settings = transformer_page.TransformerSettings()
    if job == "transformer_plain":
        return plain_press(settings, corpus)
    _, _, _, _, snapshot, draw_snapshot = transformer_page.head_view(
        corpus, settings.watched_layer, settings.watched_head
    )
    return engine_press(
        transformer_page.PAGE_KEY,
        settings,
        corpus,
        area,
        view=(snapshot, draw_snapshot),
        snapshots_per_epoch=transformer_page.SNAPSHOTS_PER_EPOCH,
    )


# --- 4. Training time per epoch against an attention GRU of the same size ---------------------------


def matching_units(parameters: int, vocabularies, embedding_size: int) -> int:
    """The (even) GRU units whose attention model's parameter count is nearest `parameters`."""
    from lib.models.attention import attention_layer_counts

    def count(units: int) -> int:
        return sum(
            c.total
            for c in attention_layer_counts(len(vocabularies[0]), len(vocabularies[1]), "dot", units, embedding_size)
        )

    return min(range(32, 1025, 2), key=lambda units: abs(count(units) - parameters))


def epoch_fit(kind: str, train, vocabularies, units: int) -> dict:
    """One epoch of plain `fit` of the default Transformer or of the attention GRU on fresh bucketed batches."""
    import keras

    from lib.models.attention import build_attention_seq2seq
    from lib.models.seq2seq import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_LEARNING_RATE,
        bucketed_dataset,
        compile_seq2seq,
        cosine_learning_rate,
    )
    from lib.page_glue import attention_page, transformer_page

    if kind == "transformer":
        settings = transformer_page.TransformerSettings()
        model, peak = settings.build(vocabularies), settings.learning_rate
    else:
        model = build_attention_seq2seq(
            len(vocabularies[0]),
            len(vocabularies[1]),
            "dot",
            units,
            attention_page.AttentionSettings().embedding_size,
            seed=0,
        )
        peak = DEFAULT_LEARNING_RATE
    batches = bucketed_dataset(train, DEFAULT_BATCH_SIZE, seed=0)
    trainer = compile_seq2seq(model, cosine_learning_rate(len(batches), peak))
    history, clock = [], {}

    class FirstBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                clock["first_batch"] = time.perf_counter() - clock["started"]

    cpu_started = time.process_time()
    fitted = trainer.fit(
        batches, epochs=1, shuffle=False, verbose=0, callbacks=[epoch_clock(history, clock=clock), FirstBatch()]
    )
    cpu = time.process_time() - cpu_started
    epoch = history[0][1]
    steady = (epoch - clock["first_batch"]) * len(batches) / (len(batches) - 1)
    return {
        "epoch": epoch,
        "first_batch": clock["first_batch"],
        "steady": steady,
        "cpu": cpu,
        "batches": len(batches),
        "parameters": int(model.count_params()),
        "loss": float(fitted.history["loss"][-1]),
        "token_accuracy": float(fitted.history["token_accuracy"][-1]),
    }


def measure_epochs(repeats: int) -> dict:
    import lib.page_glue.translator_family as page
    from lib.data.corpus import encode_pairs
    from lib.page_glue import attention_page, transformer_page

    corpus = page.default_corpus()
    vocabularies = page.corpus_vocabularies(page.GRAMMAR_KEY, corpus)
    settings = transformer_page.TransformerSettings()
    train = encode_pairs(corpus.train[: settings.train_sentences], *vocabularies)
    counted = int(transformer_page.parameter_table(settings, vocabularies)["Parameters"].iloc[-1])
    units = matching_units(counted, vocabularies, attention_page.AttentionSettings().embedding_size)
    results: dict[str, list] = {"transformer": [], "gru": []}
    for repeat in range(repeats):
        for kind in ("transformer", "gru") if repeat % 2 == 0 else ("gru", "transformer"):
            result = epoch_fit(kind, train, vocabularies, units)
            results[kind].append(result)
            print(
                f"repeat {repeat + 1}: {kind:11} one epoch ({result['batches']} batches) {result['epoch']:6.1f} s "
                f"(first batch {result['first_batch']:.1f} s; steady pace {result['steady']:.1f} s per epoch), "
                f"CPU {result['cpu']:6.1f} s; training loss {result['loss']:.3f}, token accuracy "
                f"{result['token_accuracy']:.4f}",
                flush=True,
            )
    return {"units": units, "counted": counted, **results}


# --- Report -----------------------------------------------------------------------------------------


def shipped_figures() -> dict:
    return {name: json.loads((ROOT / DATA[name] / "metrics.json").read_text()) for name in SHIPPED}


def main() -> None:
    parser = argparse.ArgumentParser(description="Transformer page benchmark (see the module docstring).")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of presses and of epochs (alternating order)")
    arguments = parser.parse_args()
    began = time.perf_counter()
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", flush=True)

    # --- 1. Reruns
    reruns = measure_page_reruns(PAGE, PAGE_TITLE, transformer_moves)
    home = statistics.median(reruns["home"])
    cached = reruns["uncached"][1:]
    print(f"{'rerun':50} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'n':>4}")
    print(f"{'Home (baseline)':50} {summary(reruns['home'])}")
    print(f"{'Home again, after the Transformer page':50} {summary(reruns['home_after'])}")
    print(f"{'Transformer: Head (1..' + str(reruns['heads']) + ')':50} {summary(reruns['head'])}")
    print(f"{'Transformer: heads silenced, set seen before':50} {summary(reruns['silence'])}")
    print(f"{'Transformer: heads silenced, each set first time':50} {summary(reruns['uncached'])}")
    print(
        f"first run of the Transformer page (loads and measures the shipped models): {reruns['first']:.1f} s; "
        f"first silencing of all: {reruns['uncached'][0]:.2f} s, then the next sets' first: "
        f"{', '.join(f'{s:.2f}' for s in cached)} s; metrics on screen at the end: {reruns['metrics']}",
        flush=True,
    )

    # --- 3. BLEU
    from lib.models.attention import load_attention_translator
    from lib.models.seq2seq import load_translator
    from lib.models.transformer import load_transformer_translator

    bleu = long_sentence_bleu(
        {"transformer": load_transformer_translator, "attention": load_attention_translator, "seq2seq": load_translator}
    )
    figures = shipped_figures()
    for name in SHIPPED:
        print(
            f"held-out BLEU, {name:11}: overall {bleu[name]['overall']:5.1f} (metrics.json "
            f"{figures[name]['held_out']['bleu']:.1f}); {LONG_WORDS[0]}-{LONG_WORDS[1]} English words "
            f"({bleu[name]['sentences']} pairs) {bleu[name]['long']:5.1f}, exact matches {bleu[name]['long_exact']:.0%}; "
            f"evaluation took {bleu[name]['seconds']:.1f} s",
            flush=True,
        )

    # --- 4. Per epoch (before the presses: it also warms TensorFlow's training code for both sides)
    epochs = measure_epochs(arguments.repeats)
    transformer_parameters = epochs["transformer"][-1]["parameters"]
    gru_parameters = epochs["gru"][-1]["parameters"]
    epoch_ratio = statistics.median(r["epoch"] for r in epochs["transformer"]) / statistics.median(
        r["epoch"] for r in epochs["gru"]
    )
    steady_ratio = statistics.median(r["steady"] for r in epochs["transformer"]) / statistics.median(
        r["steady"] for r in epochs["gru"]
    )
    epoch_cpu_ratio = statistics.median(r["cpu"] for r in epochs["transformer"]) / statistics.median(
        r["cpu"] for r in epochs["gru"]
    )
    shipped_per_epoch = {name: figures[name]["training_seconds"] / figures[name]["epochs"] for name in SHIPPED}
    print(
        f"parameters: Transformer {transformer_parameters:,} (the page's table: {epochs['counted']:,}), attention "
        f"GRU {epochs['units']} units {gru_parameters:,} ({gru_parameters / transformer_parameters - 1:+.1%}); "
        f"for reference, metrics.json seconds per epoch of 48,000 pairs (other runs, with validation): "
        f"Transformer {shipped_per_epoch['transformer']:.1f}, attention GRU 256 {shipped_per_epoch['attention']:.1f} "
        f"(ratio {shipped_per_epoch['transformer'] / shipped_per_epoch['attention']:.2f})",
        flush=True,
    )

    # --- 2. Presses
    engine, plain = press_pairs(arguments.repeats, "transformer", "transformer_plain", MODULE)
    medians = report_presses(engine, plain)
    print(
        f"    last engine press: held-out BLEU {engine[-1]['bleu']:.1f}, teacher-forced token accuracy "
        f"{engine[-1]['teacher_forced_accuracy']:.4f}; plain's final held-out token accuracy "
        f"{plain[-1]['accuracy'][-1]:.4f}"
    )

    load_end = os.getloadavg()
    press_ratio = medians["engine_press"] / medians["plain_press"]
    fit_ratio = medians["engine_fit"] / medians["plain_fit"]
    print()
    print("RESULT summary")
    for name, key in (("head", "head"), ("silence_cached", "silence")):
        print(
            f"RESULT transformer_{name}_rerun_median_ms={statistics.median(reruns[key]) * 1e3:.0f} "
            f"worst={max(reruns[key]) * 1e3:.0f} over_home={statistics.median(reruns[key]) / home:.2f}"
        )
    print(
        f"RESULT transformer_silence_first_uncached_ms={reruns['uncached'][0] * 1e3:.0f} "
        f"over_home={reruns['uncached'][0] / home:.2f} (the other sets' first: median "
        f"{statistics.median(cached) * 1e3:.0f} ms)"
    )
    print(
        f"RESULT home_rerun_median_ms={home * 1e3:.0f} (after the page: "
        f"{statistics.median(reruns['home_after']) * 1e3:.0f})"
    )
    print(f"RESULT transformer_first_page_run_s={reruns['first']:.1f}")
    print(
        f"RESULT transformer_press_over_plain={press_ratio:.2f} (whole press {medians['engine_press']:.1f} s / plain "
        f"encode+build+fit {medians['plain_press']:.1f} s; target <= {TARGET_PRESS_RATIO:.2f} -> "
        f"{'met' if press_ratio <= TARGET_PRESS_RATIO else 'NOT met'})"
    )
    print(
        f"RESULT transformer_engine_fit_over_plain_fit={fit_ratio:.2f} ({medians['engine_fit']:.1f} s / "
        f"{medians['plain_fit']:.1f} s; target <= {TARGET_PRESS_RATIO:.2f} -> "
        f"{'met' if fit_ratio <= TARGET_PRESS_RATIO else 'NOT met'})"
    )
    print(
        f"RESULT transformer_press_cpu_over_plain_cpu={medians['cpu_ratio']:.2f} (for information: less moved by "
        "other jobs)"
    )
    print("RESULT overall_bleu " + " ".join(f"{name}={bleu[name]['overall']:.1f}" for name in SHIPPED))
    print(
        f"RESULT long_sentence_bleu ({LONG_WORDS[0]}-{LONG_WORDS[1]} words, n={bleu['transformer']['sentences']}) "
        + " ".join(f"{name}={bleu[name]['long']:.1f}" for name in SHIPPED)
    )
    print(
        f"RESULT epoch_transformer_over_attention_gru={epoch_ratio:.2f} (medians "
        f"{statistics.median(r['epoch'] for r in epochs['transformer']):.1f} s / "
        f"{statistics.median(r['epoch'] for r in epochs['gru']):.1f} s, {epochs['transformer'][-1]['batches']} "
        f"batches; steady pace {steady_ratio:.2f}; CPU {epoch_cpu_ratio:.2f}; parameters {transformer_parameters:,} "
        f"and {gru_parameters:,} (GRU {epochs['units']} units))"
    )
    print(f"RESULT load_average start={load_start[0]:.2f} end={load_end[0]:.2f} (1 min)")
    print(f"RESULT transformer_benchmark_runtime_s={time.perf_counter() - began:.0f}")


if __name__ == "__main__":
    main()
