"""What the cache of finished presses holds in memory, measured (lib/engine/shared_presses.py).

What it does
    In one process, under AppTest (the page as served, its engine and its registry), one session of a
    translator page presses Train from scratch with --presses different seeds, one after another, each a
    small press (--pairs training pairs, one epoch) so that the run is quick: what the cache keeps of a
    finished press (the trained translator, its traced decoding graphs, its results and curves) does not
    depend on how long it trained. After each press, and after the session's own copies are cleared (so
    only the cache holds the runs), it reads the process's resident memory (RSS, from /proc) and the
    registry's own estimate (4 bytes a weight). The baseline is the same process before the first press
    (TensorFlow imported, the page open, one untimed press trained and cleared, the cache emptied), so
    the growth per cached press is what the cache costs, on this machine, in the same run.

Printed: one line per press (RSS, growth over the baseline, the registry's count and estimate), then
the growth per cached press against the estimate, and RESULT lines. Nothing is asserted.

Run from the repository root:  python benchmarks/shared_presses.py [--page attention] [--presses 14]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RNN_PLAYGROUND_WARM_UP", "0")

PAGES = {"translator": "translator", "attention": "attention", "transformer": "transformer"}


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def press(app, seed: int) -> None:
    app.number_input(key="seed").set_value(seed).run()
    next(button for button in app.button if button.label == "Train from scratch").click().run()
    if app.exception:
        raise RuntimeError(app.exception[0].value)


def clear_own_runs(app) -> None:
    next(button for button in app.button if button.label == "Clear runs").click().run()
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--page", choices=list(PAGES), default="attention")
    parser.add_argument("--presses", type=int, default=14, help="more than the cache's count cap, to see it evict")
    parser.add_argument("--pairs", type=int, default=3000)
    arguments = parser.parse_args()

    from streamlit.testing.v1 import AppTest

    from lib.engine.shared_presses import MAX_CACHED_BYTES, MAX_CACHED_PRESSES
    from lib.engine.training import press_registry

    app = AppTest.from_file(str(ROOT / "app_pages" / f"{PAGES[arguments.page]}.py"), default_timeout=1800)
    app.query_params.update({"training_pairs": str(arguments.pairs), "epochs": "1"})
    app.run()
    press(app, 9999)  # traces the training and decoding steps once, untimed
    clear_own_runs(app)
    press_registry.clear()
    gc.collect()
    baseline = rss_mb()
    print(
        f"baseline (page open, one press trained and dropped, cache empty): {baseline:.0f} MB RSS; "
        f"caps: {MAX_CACHED_PRESSES} presses, {MAX_CACHED_BYTES / 2**20:.0f} MB of weights",
        flush=True,
    )
    growth = []
    for number in range(arguments.presses):
        press(app, number + 1)
        clear_own_runs(app)
        stats = press_registry().stats()
        now = rss_mb()
        growth.append(now - baseline)
        print(
            f"press {number + 1}: RSS {now:.0f} MB (+{now - baseline:.0f}); cache holds {stats['cached']} presses, "
            f"estimated {stats['cached_bytes'] / 2**20:.1f} MB of weights",
            flush=True,
        )
    stats = press_registry().stats()
    full = min(arguments.presses, MAX_CACHED_PRESSES)
    per_press = growth[full - 1] / full if full else float("nan")
    estimate = stats["cached_bytes"] / max(stats["cached"], 1) / 2**20
    print(
        f"\n{arguments.page}: {per_press:.1f} MB of RSS per cached press when the cache filled ({full} presses), "
        f"against {estimate:.1f} MB of weights estimated per press ({per_press / estimate:.1f} x the estimate); "
        f"after {arguments.presses} presses the cache holds {stats['cached']} and RSS is +{growth[-1]:.0f} MB"
    )
    print(f"RESULT shared_presses_{arguments.page}_rss_per_cached_press_mb={per_press:.1f}")
    print(f"RESULT shared_presses_{arguments.page}_estimate_per_press_mb={estimate:.1f}")
    print(f"RESULT shared_presses_{arguments.page}_rss_growth_full_mb={growth[-1]:.0f}")


if __name__ == "__main__":
    main()
