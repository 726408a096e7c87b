"""TensorFlow's thread pools when several trainings share the process: the default against sized pools.

What it measures
    TensorFlow sizes its intra-op pool (threads that split one op, a matmul say) and its inter-op
    pool (threads that run independent ops side by side) to the host's core count, once per process.
    With k trainings at once on c CPUs, each training's ops then compete for k × c threads. This
    script trains the Recurrence page's default press (every neural model the page trains by
    default, on its default series, history and horizon, with `ForecasterSettings()`, by plain
    `model.fit`, one model after another as the page does) two ways in each configuration:

    * alone  one press in the process (sizing must not make a lone training much slower);
    * pair   two presses at once, in two threads (what two sessions pressing Train together do).

    A configuration is a value of TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS, which TensorFlow
    reads when its runtime starts and keeps for the life of the process; so every configuration runs
    in a fresh subprocess, after one untimed warm-up press of a single small model. Configurations
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

Run from the repository root:  python benchmarks/threads.py [--repeats 3] [--configs default 1,1 1,2 16,16]
    (about 40 s per configuration and repetition on 2 cores)
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
    from lib.page_glue.recurrence import NEURAL_KINDS, SOURCES, ForecasterSettings, build_forecaster, forecasting_data, load_source

    source_key = next(iter(SOURCES))
    source = SOURCES[source_key]
    series = load_source(source_key)
    data = forecasting_data(series["value"].to_numpy(), source.default_history, source.default_horizon)
    settings = ForecasterSettings()
    unit = series.attrs.get("units", "units")
    scale = float(data.normalizer.std)
    builders = [(kind, lambda kind=kind: build_forecaster(kind, data.history, settings, scale, unit))
                for kind in NEURAL_KINDS]
    return data, settings, builders


def press(data, settings, builders) -> float:
    """One default press by plain fit: every model in turn; returns its wall seconds."""
    from lib.page_glue.recurrence import BATCH_SIZE

    started = time.perf_counter()
    for _, build in builders:
        build().fit(data.x_train, data.y_train, validation_data=(data.x_validation, data.y_validation),
                    epochs=settings.epochs, batch_size=BATCH_SIZE, verbose=0)
    return time.perf_counter() - started


def child() -> None:
    """One configuration in this fresh process: warm-up, a press alone, then two presses at once."""
    data, settings, builders = default_press_parts()
    from lib.page_glue.recurrence import BATCH_SIZE

    # Warm-up: starts TensorFlow's runtime (and its pools) and Keras's training code, untimed.
    builders[0][1]().fit(data.x_train[:256], data.y_train[:256], epochs=1, batch_size=BATCH_SIZE, verbose=0)

    cpu_started = time.process_time()
    alone = press(data, settings, builders)
    alone_cpu = time.process_time() - cpu_started

    walls: list[float] = []
    threads = [threading.Thread(target=lambda: walls.append(press(data, settings, builders))) for _ in range(2)]
    cpu_started, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pair = time.perf_counter() - started
    pair_cpu = time.process_time() - cpu_started
    print("RESULT_JSON " + json.dumps({"alone": alone, "alone_cpu": alone_cpu, "pair": pair, "pair_cpu": pair_cpu,
                                       "pair_each": sorted(walls), "threads": len(os.listdir("/proc/self/task"))}))


def run_configuration(config: str) -> dict:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("TF_NUM_INTRAOP_THREADS", None)
    environment.pop("TF_NUM_INTEROP_THREADS", None)
    if config != "default":
        intra, inter = config.split(",")
        environment.update(TF_NUM_INTRAOP_THREADS=intra, TF_NUM_INTEROP_THREADS=inter)
    completed = subprocess.run([sys.executable, __file__, "--child"], env=environment, capture_output=True,
                               text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT_JSON ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"configuration {config} failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT_JSON "))


def main() -> None:
    parser = argparse.ArgumentParser(description="TensorFlow thread pools with two trainings at once (see the docstring).")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                        help='"default", or "INTRA,INTER" thread counts')
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child()
        return
    configs = arguments.configs
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"on {os.cpu_count()} CPUs", flush=True)
    results: dict[str, list[dict]] = {config: [] for config in configs}
    for repeat in range(arguments.repeats):
        shift = repeat % len(configs)
        for config in configs[shift:] + configs[:shift]:
            result = run_configuration(config)
            results[config].append(result)
            print(f"repeat {repeat + 1}: {config:8} alone {result['alone']:6.1f} s (CPU {result['alone_cpu']:5.1f} s)  "
                  f"pair {result['pair']:6.1f} s (CPU {result['pair_cpu']:5.1f} s; each {result['pair_each'][0]:.1f} "
                  f"and {result['pair_each'][1]:.1f} s)  load {os.getloadavg()[0]:.2f}", flush=True)
    load_after = os.getloadavg()

    def median(config: str, key: str) -> float:
        return statistics.median(result[key] for result in results[config])

    baseline = configs[0]
    print()
    print(f"Recurrence page's default press by plain fit; medians of {arguments.repeats}; ratios against '{baseline}'")
    print(f"{'intra,inter':12} {'alone s':>8} {'x':>6} {'pair s':>8} {'x':>6} {'trainings/min':>13} {'x':>6} "
          f"{'CPU alone s':>11} {'x':>6} {'CPU pair s':>10} {'x':>6} {'per CPU-min':>11}")
    for config in configs:
        alone, pair = median(config, "alone"), median(config, "pair")
        alone_cpu, pair_cpu = median(config, "alone_cpu"), median(config, "pair_cpu")
        per_minute = 2 * 60 / pair
        print(f"{config:12} {alone:>8.1f} {alone / median(baseline, 'alone'):>6.2f} {pair:>8.1f} "
              f"{pair / median(baseline, 'pair'):>6.2f} {per_minute:>13.2f} "
              f"{per_minute / (2 * 60 / median(baseline, 'pair')):>6.2f} {alone_cpu:>11.1f} "
              f"{alone_cpu / median(baseline, 'alone_cpu'):>6.2f} {pair_cpu:>10.1f} "
              f"{pair_cpu / median(baseline, 'pair_cpu'):>6.2f} {2 * 60 / pair_cpu:>11.2f}")
    print("(per CPU-min: trainings of the pair per CPU-minute, the throughput of a container whose CPU quota is")
    print(" the limit; wall times on a shared host also depend on how many threads compete with other jobs)")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    for config in configs:
        name = "default" if config == "default" else config.replace(",", "_")
        print(f"RESULT threads_{name}_alone_s={median(config, 'alone'):.1f} pair_s={median(config, 'pair'):.1f} "
              f"alone_over_default={median(config, 'alone') / median(baseline, 'alone'):.2f} "
              f"pair_over_default={median(config, 'pair') / median(baseline, 'pair'):.2f}")
    print(f"RESULT load_average before={load_before[0]:.2f} after={load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
