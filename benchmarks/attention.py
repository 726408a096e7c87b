"""Attention page: rerun latency, the live press against plain `fit`, BLEU on long sentences, and
how soon a press reaches the Translator default's accuracy.

What it measures (each beside a baseline measured in the same run; nothing is asserted)
    reruns      The whole app (`streamlit_app.py`) under AppTest, switched to app_pages/attention.py
                and warmed up (every value below seen once): `AppTest.run()` after moving the
                "Decoder step" slider (through all its steps) and after moving the "Scale on the
                scores (temperature⁻¹)" select_slider (through its 7 values), 20 reruns each; median
                and worst. Each rerun translates the sentence again (greedy and beam 4), recomputes
                the formula on the model's q and zᵢ and the intervention, and redraws every chart.
                Baseline: the Home page's rerun (no widgets), before the page and again after it.
                Target: under 0.2 s (the Translator's for its step slider).
    press       The page's "Train from scratch" with its defaults, through what the button runs:
                `lib.page_glue.translator_family.train_from_scratch` with `AttentionSettings()` (dot score, GRU
                256, embedding 64, 24,000 pairs, 2 epochs, batches of 64 bucketed by length, Adam
                0.006 decaying along a cosine), the held-out alignment accuracy
                (`alignment_callbacks`), and the live heatmap of `fixed_sentence_view` snapshotted
                SNAPSHOTS_PER_EPOCH times per epoch; in a real Streamlit script context
                (`AppTest.from_function`, as benchmarks/translator.py does), so every redraw builds
                and serialises its Altair charts.
                Baseline: `model.fit` of the same model (same seed) on the same bucketed batches,
                same schedule and the same held-out validation data, with no callbacks at all.
                Reported: fit with the engine / plain fit (the training itself: chart, heatmap,
                per-epoch BLEU and alignment accuracy), and the whole press (encoding, building,
                training, the held-out measurement after it) / plain (encoding, building, fit).
                Also the time spent in each addition (BLEU, alignment accuracy, snapshots, heatmap
                and chart redraws), from thin timers around them, where the engine press's time went
                (before fit's first batch, training, after on_train_end), and, for information, the
                ratio of the process's CPU seconds (all threads), which other jobs on the machine move
                less than wall time. Target: press / plain ≤ 1.10.
                --repeats pairs, engine and plain alternating which goes first.
    long BLEU   The shipped attention model (data/attention) against the shipped seq2seq without
                attention (data/translator), greedy, on the same 500 held-out pairs of
                `make_corpus(48000, 500, seed=0)` (`lib.models.decoding.evaluate_translator`): corpus BLEU
                (`lib.data.bleu.corpus_bleu`) on the pairs whose English has 21 to 30 words, and overall.
                Target (the issue): attention at least 20 BLEU higher on the long sentences.
    to reach    The Translator page's default press (`ScratchSettings()`: GRU 256, 48,000 pairs, 3
                epochs) through the same `train_from_scratch`, measured here: its final held-out
                teacher-forced token accuracy (val_token_accuracy, the figure both pages chart) is
                the level, and its training time the baseline. Then the time the Attention page's
                default press (the "press" runs above) takes to reach that level, at the end of an
                epoch. For finer resolution, one more attention press (run first, it also warms up
                TensorFlow's training code for the pairs above) measures the same accuracy at each
                of its heatmap snapshots (1/SNAPSHOTS_PER_EPOCH of an epoch apart), the time those
                measurements take taken off its clock. Seconds count from the start of `fit`.

The machine is shared and its speed swings, so read the ratios (both sides of each measured in the
same run), not the seconds alone. The load average is printed at the start and at the end.

Run from the repository root:  python benchmarks/attention.py [--repeats N]
    (about 7 minutes with N = 1 on 2 cores shared with other jobs; each further repeat adds about 2 minutes)
"""

from __future__ import annotations

import argparse
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

from streamlit.testing.v1 import AppTest  # noqa: E402

from benchmarks.rerun_latency import HOME, on_page, summary, timed_run, widget  # noqa: E402

PAGE = "app_pages/attention.py"
PAGE_TITLE = "Attention"
HOME_TITLE = "RNN Playground"
STEP_LABEL = "Decoder step"
SCALE_LABEL = "Scale on the scores (temperature⁻¹)"
SCALES = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]  # The select_slider's options (app_pages/attention.py).
RERUNS = 20
TARGET_RERUN_SECONDS = 0.2
TARGET_PRESS_RATIO = 1.10
TARGET_LONG_BLEU_GAP = 20.0
LONG_WORDS = (21, 30)


# --- 1. Rerun latency -------------------------------------------------------------------------------


def measure_page_reruns(page: str, page_title: str, exercise) -> dict:
    """The whole app under AppTest: the Home page's reruns (the baseline), then `page`'s first run
    and whatever `exercise(app)` measures on it (a dict of figures), then Home's reruns again."""
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    timed_run(app)
    on_page(app, HOME_TITLE)
    for _ in range(3):  # warm-up
        timed_run(app)
    home = [timed_run(app) for _ in range(RERUNS)]
    on_page(app, HOME_TITLE)

    app.switch_page(page)
    first = timed_run(app)  # loads the shipped models, measures them on the held-out pairs
    on_page(app, page_title)
    figures = exercise(app)
    on_page(app, page_title)

    app.switch_page(HOME)
    timed_run(app)
    on_page(app, HOME_TITLE)
    home_after = [timed_run(app) for _ in range(RERUNS)]
    return {"home": home, "home_after": home_after, "first": first, **figures}


def next_value(values: list, current):
    return values[(values.index(current) + 1) % len(values)]


def move(app: AppTest, collection_name: str, label: str, values: list) -> float:
    """Set the widget labelled `label` to the value after its current one in `values`; time the rerun."""
    control = widget(getattr(app, collection_name), label)
    control.set_value(next_value(values, control.value))
    return timed_run(app)


def attention_moves(app: AppTest) -> dict:
    steps = list(range(1, int(widget(app.slider, STEP_LABEL).max) + 1))
    for _ in steps:  # warm-up: every value once
        move(app, "slider", STEP_LABEL, steps)
    for _ in SCALES:
        move(app, "select_slider", SCALE_LABEL, SCALES)
    step = [move(app, "slider", STEP_LABEL, steps) for _ in range(RERUNS)]
    scale = [move(app, "select_slider", SCALE_LABEL, SCALES) for _ in range(RERUNS)]
    return {"step": step, "scale": scale, "decoder_steps": len(steps)}


def measure_reruns() -> dict:
    return measure_page_reruns(PAGE, PAGE_TITLE, attention_moves)


# --- 3. BLEU on long sentences --------------------------------------------------------------------


def long_sentence_bleu(loaders: dict | None = None) -> dict:
    """Greedy held-out BLEU, overall and on 21-30-word English, of each shipped model: `loaders` maps
    a name to the function loading it (default: the attention model and the seq2seq)."""
    from lib.data.bleu import corpus_bleu
    from lib.data.grammar import make_corpus
    from lib.models.attention import load_attention_translator
    from lib.models.decoding import evaluate_translator
    from lib.models.seq2seq import load_translator

    corpus = make_corpus(48_000, 500, seed=0)
    loaders = loaders or {"attention": load_attention_translator, "seq2seq": load_translator}
    figures = {}
    for name, load in loaders.items():
        translator = load()
        evaluation = evaluate_translator(translator, corpus.test)
        long = [
            index
            for index, source in enumerate(evaluation.sources)
            if LONG_WORDS[0] <= len(source.split()) <= LONG_WORDS[1]
        ]
        figures[name] = {
            "overall": evaluation.bleu,
            "long": corpus_bleu([evaluation.hypotheses[i] for i in long], [evaluation.references[i] for i in long]),
            "long_exact": statistics.mean(
                evaluation.hypotheses[i].split() == evaluation.references[i].split() for i in long
            ),
            "sentences": len(long),
            "seconds": evaluation.seconds,
        }
    return figures


# --- 2 and 4. Presses, in a real Streamlit script context -----------------------------------------


def press_script(job: str, module: str = "benchmarks.attention") -> None:
    """The AppTest script: one job of `module`'s `run_press`, its figures left in session state."""
    import importlib

    import streamlit as st

    st.session_state["result"] = importlib.import_module(module).run_press(job, st.container())


def measure_press(job: str, module: str = "benchmarks.attention") -> dict:
    app = AppTest.from_function(press_script, kwargs={"job": job, "module": module}, default_timeout=1800).run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)
    return app.session_state["result"]


class Costs:
    """Seconds spent in each wrapped function, and how many calls."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def timed(self, name: str, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
                self.calls[name] = self.calls.get(name, 0) + 1

        return wrapper

    def timed_epoch_ends(self, name: str, callbacks: list) -> list:
        for callback in callbacks:
            callback.on_epoch_end = self.timed(name, callback.on_epoch_end)
        return callbacks

    def as_dict(self) -> dict:
        return {name: (self.calls[name], seconds) for name, seconds in self.seconds.items()}


def epoch_clock(history: list, excluded: list[float] | None = None, clock: dict | None = None):
    """A callback writing (epoch, seconds since fit began, held-out token accuracy) at each epoch's
    end; `excluded[0]` seconds (a probe's own time) are taken off the clock. It runs before the
    engine's recorder (a metric callback), and leaves the time fit began in `clock["started"]`."""
    import keras

    clock = {} if clock is None else clock

    class EpochClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            clock["started"] = time.perf_counter()

        def on_train_end(self, logs=None):
            clock["ended"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - clock["started"] - (excluded[0] if excluded else 0.0)
            history.append((epoch + 1, seconds, float((logs or {}).get("val_token_accuracy", float("nan")))))

    return EpochClock()


def plain_press(settings, corpus) -> dict:
    """The baseline of a press: `model.fit` of `settings.build` (same seed) on the bucketed batches
    `train_from_scratch` makes, its cosine schedule and peak, the same held-out validation data, and
    no callbacks at all; encoding and building on its clock too, as in the press."""
    import lib.page_glue.translator_family as page
    from lib.data.corpus import encode_pairs, tokenize
    from lib.models.seq2seq import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_LEARNING_RATE,
        bucketed_dataset,
        compile_seq2seq,
        cosine_learning_rate,
    )

    started, cpu_started = time.perf_counter(), time.process_time()
    vocabularies = page.corpus_vocabularies(page.GRAMMAR_KEY, corpus)
    train_pairs = corpus.train
    longest = getattr(settings, "longest_training_sentence", None)  # As train_from_scratch does.
    if longest:
        train_pairs = [pair for pair in train_pairs if len(tokenize(pair[0])) <= longest]
    train = encode_pairs(train_pairs[: settings.train_sentences], *vocabularies)
    test = encode_pairs(corpus.test, *vocabularies)
    model = settings.build(vocabularies)
    batches = bucketed_dataset(train, DEFAULT_BATCH_SIZE, seed=0)
    peak = getattr(settings, "learning_rate", DEFAULT_LEARNING_RATE)
    trainer = compile_seq2seq(
        model,
        cosine_learning_rate(settings.epochs * len(batches), peak),
        sampling_probability=settings.sampling_probability,
    )
    fit_started = time.perf_counter()
    fitted = trainer.fit(
        batches, validation_data=(test.inputs, test.decoder_target), epochs=settings.epochs, shuffle=False, verbose=0
    )
    finished = time.perf_counter()
    return {
        "press": finished - started,
        "fit": finished - fit_started,
        "cpu": time.process_time() - cpu_started,
        "accuracy": [float(value) for value in fitted.history["val_token_accuracy"]],
    }


def engine_press(
    page_key: str,
    settings,
    corpus,
    area,
    view=None,
    snapshots_per_epoch: int | None = None,
    extra_metrics: tuple[str, ...] = (),
    timed_callbacks: dict | None = None,
    probe: bool = False,
) -> dict:
    """A page's "Train from scratch": `lib.page_glue.translator_family.train_from_scratch` with `settings`, the
    engine's chart and the held-out BLEU, and the page's additions, each behind a thin timer:
    `view` = (snapshot, draw_snapshot), the live view's functions, snapshotted `snapshots_per_epoch`
    times per epoch; `timed_callbacks` = {name: factory(translator) -> callbacks}, the page's own
    epoch-end measures (written into `extra_metrics`). With `probe`, the held-out token accuracy is
    also measured at each snapshot, off the clock."""
    import lib.engine.training as training
    import lib.page_glue.translator_family as page
    from lib.data.corpus import encode_pairs

    history: list = []
    costs = Costs()
    original_bleu, original_draw_runs = page.held_out_bleu_callback, training.draw_runs
    page.held_out_bleu_callback = lambda *a, **k: costs.timed_epoch_ends("held-out BLEU", [original_bleu(*a, **k)])[0]
    training.draw_runs = costs.timed("chart redraws", original_draw_runs)
    probe_seconds, probes, clock = [0.0], [], {}
    live_view = {}
    try:
        if view is not None:
            snapshot, draw_snapshot = view
            snapshot = costs.timed("snapshots", snapshot)
            if probe:
                from lib.models.decoding import teacher_forced_accuracy

                encoded = {}
                page_snapshot = snapshot

                def snapshot(translator):  # noqa: F811 (the page's snapshot, then the probe, off the clock)
                    taken = page_snapshot(translator)
                    probe_started = time.perf_counter()
                    on_clock = probe_started - clock["started"] - probe_seconds[0]
                    if not encoded:
                        encoded["test"] = encode_pairs(
                            corpus.test, translator.source_vocabulary, translator.target_vocabulary
                        )
                    probes.append((on_clock, teacher_forced_accuracy(translator, encoded["test"])))
                    probe_seconds[0] += time.perf_counter() - probe_started
                    return taken

            live_view = {
                "snapshot": snapshot,
                "draw_snapshot": costs.timed("heatmap redraws", draw_snapshot),
                "snapshots_per_epoch": snapshots_per_epoch,
            }

        def metric_callbacks(translator) -> list:
            own = [
                callback
                for name, factory in (timed_callbacks or {}).items()
                for callback in costs.timed_epoch_ends(name, factory(translator))
            ]
            return [*own, epoch_clock(history, probe_seconds, clock)]

        started, cpu_started = time.perf_counter(), time.process_time()
        run = page.train_from_scratch(
            page_key,
            page.GRAMMAR_KEY,
            corpus,
            settings,
            area,
            extra_metrics=extra_metrics,
            metric_callbacks=metric_callbacks,
            **live_view,
        )
        press, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        page.held_out_bleu_callback, training.draw_runs = original_bleu, original_draw_runs
    return {
        "press": press - probe_seconds[0],
        "fit": run.seconds - probe_seconds[0],
        "cpu": cpu,
        "history": history,
        # Where the press's time went: before fit's first batch, in training, after its last epoch.
        "phases": (
            clock["started"] - started,
            clock["ended"] - clock["started"] - probe_seconds[0],
            started + press - clock["ended"],
        ),
        "costs": costs.as_dict(),
        "snapshots": len(run.snapshots),
        "batches_per_epoch": run.batches_per_epoch,
        "teacher_forced_accuracy": run.results["teacher_forced_accuracy"],
        "bleu": run.results["bleu"],
        "alignment_accuracy": run.final("alignment_accuracy"),
        "probe_seconds": probe_seconds[0],
        # The probe's points: (epochs, seconds on the clock, accuracy); snapshots are kept in order.
        "probes": [(taken["epoch"], seconds, accuracy) for taken, (seconds, accuracy) in zip(run.snapshots, probes)],
    }


def run_press(job: str, area) -> dict:
    """translator: the Translator page's default press; attention: the Attention page's default
    press; attention_probe: the same, measuring the held-out token accuracy at each snapshot;
    attention_plain: `fit` of the same model on the same batches, no callbacks."""
    import lib.page_glue.translator_family as page
    from lib.page_glue import attention_page, translator_page

    corpus = page.default_corpus()
    if job == "attention_plain":
        return plain_press(attention_page.AttentionSettings(), corpus)
    if job == "translator":
        return engine_press("translator", translator_page.ScratchSettings(), corpus, area)
    settings = attention_page.AttentionSettings()
    _, _, _, snapshot, draw_snapshot = attention_page.fixed_sentence_view(corpus)
    extra = ("alignment_accuracy",) if corpus.test_alignments is not None else ()
    return engine_press(
        attention_page.PAGE_KEY,
        settings,
        corpus,
        area,
        view=(snapshot, draw_snapshot),
        snapshots_per_epoch=attention_page.SNAPSHOTS_PER_EPOCH,
        extra_metrics=extra,
        timed_callbacks={"alignment accuracy": attention_page.alignment_callbacks(corpus)},
        probe=job == "attention_probe",
    )


# --- Report -----------------------------------------------------------------------------------------


def press_pairs(
    repeats: int, engine_job: str, plain_job: str, module: str = "benchmarks.attention"
) -> tuple[list, list]:
    """`repeats` pairs of presses of `module`'s `run_press`, through the engine and plain, alternating
    which goes first; each printed as it ends. Returns (engine results, plain results)."""
    engine, plain = [], []
    for repeat in range(repeats):
        for job in (engine_job, plain_job) if repeat % 2 == 0 else (plain_job, engine_job):
            result = measure_press(job, module)
            (engine if job == engine_job else plain).append(result)
            print(
                f"repeat {repeat + 1}: {job:15} press {result['press']:6.1f} s, fit {result['fit']:6.1f} s, "
                f"CPU {result['cpu']:6.1f} s"
                + (
                    f"; per epoch: {_rounded(result['history'])}"
                    if job == engine_job
                    else f"; held-out token accuracy per epoch: {[round(a, 4) for a in result['accuracy']]}"
                ),
                flush=True,
            )
    return engine, plain


def report_presses(engine: list, plain: list) -> dict:
    """Print the presses through the engine against plain fit (medians, the last engine press's
    costs and phases, the CPU ratio); return the medians and the CPU ratio."""
    engine_fit = statistics.median(r["fit"] for r in engine)
    plain_fit = statistics.median(r["fit"] for r in plain)
    engine_press = statistics.median(r["press"] for r in engine)
    plain_press = statistics.median(r["press"] for r in plain)
    cpu_ratio = statistics.median(r["cpu"] for r in engine) / statistics.median(r["cpu"] for r in plain)
    print()
    print(
        f"press through the engine (median of {len(engine)}): whole press {engine_press:.1f} s, its fit "
        f"{engine_fit:.1f} s ({engine[-1]['snapshots']} heatmap snapshots, {engine[-1]['batches_per_epoch']} "
        f"batches per epoch); plain: {plain_press:.1f} s, its fit {plain_fit:.1f} s"
    )
    for name, (calls, seconds) in sorted(engine[-1]["costs"].items()):
        print(
            f"    last engine press, {name}: {calls} calls, {seconds:.2f} s ({seconds / engine[-1]['fit']:.1%} of its fit)"
        )
    before, training_seconds, after = engine[-1]["phases"]
    print(
        f"    last engine press: {before:.1f} s before fit's first batch, {training_seconds:.1f} s from it to "
        f"on_train_end, {after:.1f} s after (of which {engine[-1]['fit'] - training_seconds:.1f} s still inside "
        "`fit`'s clock, with set-up: the rest is the final draw and the held-out measurement)"
    )
    print(f"    CPU seconds of the process (all threads), press against plain: {cpu_ratio:.2f}")
    return {
        "engine_fit": engine_fit,
        "plain_fit": plain_fit,
        "engine_press": engine_press,
        "plain_press": plain_press,
        "cpu_ratio": cpu_ratio,
    }


def first_reaching(history: list, level: float):
    return next(((epoch, seconds) for epoch, seconds, accuracy in history if accuracy >= level), None)


def main() -> None:
    parser = argparse.ArgumentParser(description="Attention page benchmark (see the module docstring).")
    parser.add_argument("--repeats", type=int, default=1, help="pairs of presses (engine and plain fit)")
    arguments = parser.parse_args()
    began = time.perf_counter()
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", flush=True)

    reruns = measure_reruns()
    home = statistics.median(reruns["home"])
    print(f"{'rerun':50} {'median ms':>9} {'min ms':>8} {'max ms':>8} {'n':>4}")
    print(f"{'Home (baseline)':50} {summary(reruns['home'])}")
    print(f"{'Home again, after the Attention page':50} {summary(reruns['home_after'])}")
    print(f"{'Attention: Decoder step (1..' + str(reruns['decoder_steps']) + ')':50} {summary(reruns['step'])}")
    print(f"{'Attention: Scale on the scores (7 values)':50} {summary(reruns['scale'])}")
    print(
        f"first run of the Attention page (loads and measures the shipped models): {reruns['first']:.1f} s", flush=True
    )

    bleu = long_sentence_bleu()
    gap = bleu["attention"]["long"] - bleu["seq2seq"]["long"]
    print(
        f"held-out BLEU, {LONG_WORDS[0]}-{LONG_WORDS[1]} English words ({bleu['attention']['sentences']} pairs): "
        f"attention {bleu['attention']['long']:.1f}, seq2seq {bleu['seq2seq']['long']:.1f} (gap {gap:+.1f}; "
        f"exact matches {bleu['attention']['long_exact']:.0%} and {bleu['seq2seq']['long_exact']:.0%}); overall "
        f"(500 pairs): attention {bleu['attention']['overall']:.1f}, seq2seq {bleu['seq2seq']['overall']:.1f}",
        flush=True,
    )

    translator = measure_press("translator")
    print(
        f"translator default press: {translator['press']:.1f} s (fit {translator['fit']:.1f} s); per epoch "
        f"(epoch, s, held-out token accuracy): {_rounded(translator['history'])}",
        flush=True,
    )
    probe = measure_press("attention_probe")
    print(
        f"attention press with the probe: fit {probe['fit']:.1f} s once its {probe['probe_seconds']:.1f} s of "
        f"probing is taken off; per epoch: {_rounded(probe['history'])}",
        flush=True,
    )
    engine, plain = press_pairs(arguments.repeats, "attention", "attention_plain")

    # --- 2. The press against plain fit
    medians = report_presses(engine, plain)
    engine_fit, plain_fit, engine_press, plain_press, cpu_ratio = (
        medians[key] for key in ("engine_fit", "plain_fit", "engine_press", "plain_press", "cpu_ratio")
    )

    # --- 4. Time to the Translator's accuracy
    level = translator["history"][-1][2]
    translator_seconds = translator["history"][-1][1]
    reached = [first_reaching(r["history"], level) for r in engine]
    probe_reached = next((point for point in probe["probes"] if point[2] >= level), None)
    print(
        f"Translator default press: held-out token accuracy {level:.4f} at the end of its fit "
        f"({translator_seconds:.1f} s; measured after it: {translator['teacher_forced_accuracy']:.4f})"
    )
    for index, point in enumerate(reached):
        print(
            f"    attention press {index + 1}: "
            + (f"reached at the end of epoch {point[0]} after {point[1]:.1f} s" if point else "not reached")
        )
    if probe_reached:
        print(
            f"    probe: first at {probe_reached[2]:.4f} at epoch {probe_reached[0]:.2f} after about "
            f"{probe_reached[1]:.1f} s (probe points, epoch/s/accuracy: {[(round(p, 2), round(s, 1), round(a, 4)) for p, s, a in probe['probes']]})"
        )

    load_end = os.getloadavg()
    print()
    print("RESULT summary")
    print(
        f"RESULT attention_step_rerun_median_ms={statistics.median(reruns['step']) * 1e3:.0f} "
        f"worst={max(reruns['step']) * 1e3:.0f} over_home={statistics.median(reruns['step']) / home:.2f} "
        f"(target < {TARGET_RERUN_SECONDS * 1e3:.0f} ms -> "
        f"{'met' if statistics.median(reruns['step']) < TARGET_RERUN_SECONDS else 'NOT met'})"
    )
    print(
        f"RESULT attention_scale_rerun_median_ms={statistics.median(reruns['scale']) * 1e3:.0f} "
        f"worst={max(reruns['scale']) * 1e3:.0f} over_home={statistics.median(reruns['scale']) / home:.2f} "
        f"(target < {TARGET_RERUN_SECONDS * 1e3:.0f} ms -> "
        f"{'met' if statistics.median(reruns['scale']) < TARGET_RERUN_SECONDS else 'NOT met'})"
    )
    print(
        f"RESULT home_rerun_median_ms={home * 1e3:.0f} (after the page: "
        f"{statistics.median(reruns['home_after']) * 1e3:.0f})"
    )
    print(f"RESULT attention_first_page_run_s={reruns['first']:.1f}")
    print(
        f"RESULT attention_press_over_plain={engine_press / plain_press:.2f} "
        f"(whole press {engine_press:.1f} s / plain encode+build+fit {plain_press:.1f} s; target <= "
        f"{TARGET_PRESS_RATIO:.2f} -> {'met' if engine_press / plain_press <= TARGET_PRESS_RATIO else 'NOT met'})"
    )
    print(f"RESULT attention_press_cpu_over_plain_cpu={cpu_ratio:.2f} (for information: less moved by other jobs)")
    print(
        f"RESULT attention_engine_fit_over_plain_fit={engine_fit / plain_fit:.2f} "
        f"({engine_fit:.1f} s / {plain_fit:.1f} s; target <= {TARGET_PRESS_RATIO:.2f} -> "
        f"{'met' if engine_fit / plain_fit <= TARGET_PRESS_RATIO else 'NOT met'})"
    )
    print(
        f"RESULT long_sentence_bleu attention={bleu['attention']['long']:.1f} seq2seq={bleu['seq2seq']['long']:.1f} "
        f"gap={gap:+.1f} (n={bleu['attention']['sentences']}; target gap >= {TARGET_LONG_BLEU_GAP:.0f} -> "
        f"{'met' if gap >= TARGET_LONG_BLEU_GAP else 'NOT met'})"
    )
    print(f"RESULT overall_bleu attention={bleu['attention']['overall']:.1f} seq2seq={bleu['seq2seq']['overall']:.1f}")
    print(
        f"RESULT translator_default_press_s={translator['press']:.1f} fit={translator_seconds:.1f} "
        f"final_val_token_accuracy={level:.4f}"
    )
    for index, point in enumerate(reached):
        print(
            f"RESULT attention_press{index + 1}_to_translator_accuracy_s="
            + (
                f"{point[1]:.1f} (end of epoch {point[0]}; over the Translator's fit: {point[1] / translator_seconds:.2f}; "
                f"over its whole press: {point[1] / translator['press']:.2f})"
                if point
                else "not_reached"
            )
        )
    if probe_reached:
        print(
            f"RESULT attention_probe_to_translator_accuracy_s={probe_reached[1]:.1f} (epoch {probe_reached[0]:.2f}; "
            f"over the Translator's fit: {probe_reached[1] / translator_seconds:.2f})"
        )
    print(
        f"RESULT attention_press_final_val_token_accuracy={engine[-1]['history'][-1][2]:.4f} "
        f"bleu={engine[-1]['bleu']:.1f} alignment_accuracy={engine[-1]['alignment_accuracy'] or float('nan'):.4f}"
    )
    print(f"RESULT load_average start={load_start[0]:.2f} end={load_end[0]:.2f} (1 min)")
    print(f"RESULT attention_benchmark_runtime_s={time.perf_counter() - began:.0f}")


def _rounded(history: list) -> list:
    return [(epoch, round(seconds, 1), round(accuracy, 4)) for epoch, seconds, accuracy in history]


if __name__ == "__main__":
    main()
