"""TensorFlow's thread pools when several trainings share the process: the default against sized pools.

What it measures
    TensorFlow sizes its intra-op pool (threads that split one op, a matmul say) and its inter-op
    pool (threads that run independent ops side by side) to the host's core count, once per process.
    With k trainings at once on c CPUs, each training's ops then compete for k × c threads. This
    script trains one page's default press by plain `model.fit` two ways in each configuration:

    * --press recurrence (the default): every neural model the Recurrence page trains by default,
      on its default series, history and horizon, with `ForecasterSettings()`, one after another as
      the page does; small models, about one core busy alone.
    * --press attention: the Attention page's default model (GRU 256 with dot-product attention, its
      24,000 training pairs in length buckets), for one epoch (the page trains two); a press that
      keeps about 1.5 cores busy alone, so two at once ask for more than 2 cores.

    Each configuration then trains the press:

    * alone  one press in the process (sizing must not make a lone training much slower);
    * pair   two presses at once, in two threads (what two sessions pressing Train together do).

    A configuration is a value of TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS, which TensorFlow
    reads when its runtime starts and keeps for the life of the process; so every configuration runs
    in a fresh subprocess, after one untimed warm-up (a small model, or 2,000 pairs for one epoch). Configurations
    alternate order from one repetition to the next. "default" leaves both unset (on this 2-core
    machine TensorFlow then takes 2 and 2); "16,16" is what TensorFlow picks by itself on a 16-core
    host where a container is limited to 2 CPUs (a CPU quota does not change TensorFlow's count).

    Printed: per configuration, the median wall seconds of a press alone and of the pair, trainings
    per minute for the pair (2 / pair wall), the process's CPU seconds (all threads) alone and for
    the pair, trainings per CPU-minute (2 / pair CPU), and the ratio of each against the default
    measured in the same run; and the load average before and after.

    In a container whose CPU quota is the limit, the CPU seconds decide the throughput: the quota
    hands out CPU time, not threads. On a host shared with other jobs, wall time also moves with
    how many threads compete for the cores (more threads take a bigger share from the other jobs),
    so there the CPU seconds are the fairer comparison too.

The machine is shared and noisy: read the medians and ratios, not one repetition.

Run from the repository root:  python benchmarks/threads.py [--press attention] [--repeats 3]
    [--configs default 1,1 1,2 16,16]
    (about 40 s per configuration and repetition on 2 cores; about 100 s with --press attention)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

DEFAULT_CONFIGS = ["default", "1,1", "1,2", "16,16"]


def default_press_parts():
    """The Recurrence page's default press, as (data, [(kind, build)]), from the page's own defaults:
    the first series of the page's radio, its default history and horizon, every neural kind (the
    multiselect's default) and `ForecasterSettings()`."""
    from lib.page_glue.recurrence import (
        NEURAL_KINDS,
        SOURCES,
        ForecasterSettings,
        build_forecaster,
        forecasting_data,
        load_source,
    )

    source_key = next(iter(SOURCES))
    source = SOURCES[source_key]
    series = load_source(source_key)
    data = forecasting_data(series["value"].to_numpy(), source.default_history, source.default_horizon)
    settings = ForecasterSettings()
    unit = series.attrs.get("units", "units")
    scale = float(data.normalizer.std)
    builders = [
        (kind, lambda kind=kind: build_forecaster(kind, data.history, settings, scale, unit)) for kind in NEURAL_KINDS
    ]
    return data, settings, builders


def recurrence_press():
    """The Recurrence page's default press by plain fit: every model in turn. Returns (warm_up, press)."""
    data, settings, builders = default_press_parts()
    from lib.page_glue.recurrence import BATCH_SIZE

    def warm_up():
        builders[0][1]().fit(data.x_train[:256], data.y_train[:256], epochs=1, batch_size=BATCH_SIZE, verbose=0)

    def press():
        for _, build in builders:
            build().fit(
                data.x_train,
                data.y_train,
                validation_data=(data.x_validation, data.y_validation),
                epochs=settings.epochs,
                batch_size=BATCH_SIZE,
                verbose=0,
            )

    return warm_up, press


def attention_press(epochs: int = 1):
    """The Attention page's default model (GRU 256, dot scores, 24,000 pairs in length buckets) by plain
    fit, for `epochs` (the page trains 2; one keeps a configuration near a minute). Returns (warm_up, press)."""
    from lib.data.corpus import encode_pairs
    from lib.models.seq2seq import DEFAULT_BATCH_SIZE, bucketed_dataset, compile_seq2seq, cosine_learning_rate
    from lib.page_glue.attention_page import AttentionSettings
    from lib.page_glue.translator_family import GRAMMAR_KEY, corpus_vocabularies, default_corpus

    corpus = default_corpus()
    vocabularies = corpus_vocabularies(GRAMMAR_KEY, corpus)
    settings = AttentionSettings()
    train = encode_pairs(corpus.train[: settings.train_sentences], *vocabularies)

    def fit(pairs, epochs):
        batches = bucketed_dataset(pairs, DEFAULT_BATCH_SIZE, seed=0)
        trainer = compile_seq2seq(settings.build(vocabularies), cosine_learning_rate(epochs * len(batches)))
        trainer.fit(batches, epochs=epochs, verbose=0)

    warm_train = encode_pairs(corpus.train[:2000], *vocabularies)
    return (lambda: fit(warm_train, 1)), (lambda: fit(train, epochs))


PRESSES = {"recurrence": recurrence_press, "attention": attention_press}


def timed(press) -> float:
    started = time.perf_counter()
    press()
    return time.perf_counter() - started


def child(press_name: str) -> None:
    """One configuration in this fresh process: warm-up, a press alone, then two presses at once."""
    warm_up, one_press = PRESSES[press_name]()

    # Warm-up: starts TensorFlow's runtime (and its pools) and Keras's training code, untimed.
    warm_up()

    cpu_started = time.process_time()
    alone = timed(one_press)
    alone_cpu = time.process_time() - cpu_started

    walls: list[float] = []
    threads = [threading.Thread(target=lambda: walls.append(timed(one_press))) for _ in range(2)]
    cpu_started, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pair = time.perf_counter() - started
    pair_cpu = time.process_time() - cpu_started
    print(
        "RESULT_JSON "
        + json.dumps(
            {
                "alone": alone,
                "alone_cpu": alone_cpu,
                "pair": pair,
                "pair_cpu": pair_cpu,
                "pair_each": sorted(walls),
                "threads": len(os.listdir("/proc/self/task")),
            }
        )
    )


def run_configuration(config: str, press_name: str) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("TF_NUM_INTRAOP_THREADS", None)
    environment.pop("TF_NUM_INTEROP_THREADS", None)
    if config != "default":
        intra, inter = config.split(",")
        environment.update(TF_NUM_INTRAOP_THREADS=intra, TF_NUM_INTEROP_THREADS=inter)
    completed = subprocess.run(
        [sys.executable, __file__, "--child", press_name], env=environment, capture_output=True, text=True, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT_JSON ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"configuration {config} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT_JSON "))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="TensorFlow thread pools with two trainings at once (see the docstring)."
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--configs", nargs="+", default=DEFAULT_CONFIGS, help='"default", or "INTRA,INTER" thread counts'
    )
    parser.add_argument(
        "--press",
        choices=sorted(PRESSES),
        default="recurrence",
        help="whose default press: the Recurrence page's four models, or the Attention page's model",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    configs = arguments.configs
    load_before = os.getloadavg()
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    results: dict[str, list[dict]] = {config: [] for config in configs}
    for repeat in range(arguments.repeats):
        shift = repeat % len(configs)
        for config in configs[shift:] + configs[:shift]:
            result = run_configuration(config, arguments.press)
            results[config].append(result)
            print(
                f"repeat {repeat + 1}: {config:8} alone {result['alone']:6.1f} s (CPU {result['alone_cpu']:5.1f} s)  "
                f"pair {result['pair']:6.1f} s (CPU {result['pair_cpu']:5.1f} s; each {result['pair_each'][0]:.1f} "
                f"and {result['pair_each'][1]:.1f} s)  load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    load_after = os.getloadavg()

    def median(config: str, key: str) -> float:
        return statistics.median(result[key] for result in results[config])

    baseline = configs[0]
    print()
    print(
        f"{arguments.press.capitalize()} page's default press by plain fit; medians of {arguments.repeats}; ratios against '{baseline}'"
    )
    print(
        f"{'intra,inter':12} {'alone s':>8} {'x':>6} {'pair s':>8} {'x':>6} {'trainings/min':>13} {'x':>6} "
        f"{'CPU alone s':>11} {'x':>6} {'CPU pair s':>10} {'x':>6} {'per CPU-min':>11}"
    )
    for config in configs:
        alone, pair = median(config, "alone"), median(config, "pair")
        alone_cpu, pair_cpu = median(config, "alone_cpu"), median(config, "pair_cpu")
        per_minute = 2 * 60 / pair
        print(
            f"{config:12} {alone:>8.1f} {alone / median(baseline, 'alone'):>6.2f} {pair:>8.1f} "
            f"{pair / median(baseline, 'pair'):>6.2f} {per_minute:>13.2f} "
            f"{per_minute / (2 * 60 / median(baseline, 'pair')):>6.2f} {alone_cpu:>11.1f} "
            f"{alone_cpu / median(baseline, 'alone_cpu'):>6.2f} {pair_cpu:>10.1f} "
            f"{pair_cpu / median(baseline, 'pair_cpu'):>6.2f} {2 * 60 / pair_cpu:>11.2f}"
        )
    print("(per CPU-min: trainings of the pair per CPU-minute, the throughput of a container whose CPU quota is")
    print(" the limit; wall times on a shared host also depend on how many threads compete with other jobs)")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    for config in configs:
        name = "default" if config == "default" else config.replace(",", "_")
        print(
            f"RESULT threads_{name}_alone_s={median(config, 'alone'):.1f} pair_s={median(config, 'pair'):.1f} "
            f"alone_over_default={median(config, 'alone') / median(baseline, 'alone'):.2f} "
            f"pair_over_default={median(config, 'pair') / median(baseline, 'pair'):.2f}"
        )
    print(f"RESULT load_average before={load_before[0]:.2f} after={load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
