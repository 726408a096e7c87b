"""Cold start: the first open of each page on a fresh server, without the background warm-up and with it.

What it measures
    For each page below, a fresh `streamlit run` server (the benchmark's own, on a loopback port)
    and a fresh headless Chromium (Debian's, as the browser tests use): the seconds from `goto` of
    the page's address until Streamlit reports the script idle with the page's title on screen.

    before  RNN_PLAYGROUND_WARM_UP=0: the page's first visitor imports TensorFlow and fills the
            page's caches (the corpus, the pretrained model and its traced graphs; the held-out
            figures now ship in data/<model>/evaluation.json, so both columns read them from disk).
    after   The warm-up on (lib/page_glue/warm_up.py): the home page is opened first (that view starts the
            warm-up, as the instructor's would), the benchmark waits until the server prints that
            the warm-up finished, then opens the page. Also printed: how long the warm-up took, and
            the home page's own first open with the warm-up starting behind it against the home
            page's first open without it (the home page must not wait for the warm-up).

    Baseline, in the same run: the home page's first open on a fresh server without the warm-up.
    Ratios: each page's first open ÷ that baseline, before and after.

Run from the repository root:  python benchmarks/cold_start.py [--pages translator,attention]
    (about 1 minute per page on 2 cores shared with other jobs)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from benchmarks.memory import rss_mb  # noqa: E402
from lib.page_glue.warm_up import WARM_UP_VARIABLE  # noqa: E402
from tests.browser_support import chromium, served_app, wait_until_idle  # noqa: E402

PAGES = {
    "parameter_sharing": "Parameter sharing",
    "recurrence": "Recurrence",
    "translator": "Translator",
    "attention": "Attention",
    "transformer": "Transformer",
}
LOGS = ROOT / "test-artifacts" / "cold-start"
FINISHED = re.compile(r"RNN Playground warm-up finished in ([0-9.]+) s")


def first_open(browser, url: str, title: str) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    wait_until_idle(page, timeout_ms=300_000)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=300_000)
    seconds = time.perf_counter() - started
    if page.locator("[data-testid=stException]").count():
        raise RuntimeError(f"{url} showed an exception")
    context.close()
    return seconds


def wait_for_warm_up(log_path: Path, timeout_seconds: float = 600) -> float:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        match = FINISHED.search(log_path.read_text(errors="replace"))
        if match:
            return float(match.group(1))
        time.sleep(0.5)
    raise RuntimeError(f"the warm-up did not finish; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", default=",".join(PAGES))
    pages = parser.parse_args().pages.split(",")
    print(f"load average at start: {os.getloadavg()}")
    with chromium() as browser:
        with served_app(LOGS / "home-cold.log", {WARM_UP_VARIABLE: "0"}) as (url, _):
            home_cold = first_open(browser, url, "RNN Playground")
        print(f"baseline: home page, first open, no warm-up: {home_cold:.2f} s")
        rows = []
        for page_key in pages:
            title = PAGES[page_key]
            with served_app(LOGS / f"{page_key}-before.log", {WARM_UP_VARIABLE: "0"}) as (url, _):
                before = first_open(browser, f"{url}/{page_key}", title)
            log_path = LOGS / f"{page_key}-after.log"
            with served_app(log_path, {WARM_UP_VARIABLE: "1"}) as (url, server):
                home_warming = first_open(browser, url, "RNN Playground")
                warm_up_seconds = wait_for_warm_up(log_path)
                warm_memory = rss_mb(server.pid)
                after = first_open(browser, f"{url}/{page_key}", title)
            rows.append((page_key, before, after, home_warming, warm_up_seconds))
            print(
                f"{page_key:18s} first open before {before:6.2f} s ({before / home_cold:5.1f}× home), "
                f"after warm-up {after:6.2f} s ({after / home_cold:5.1f}× home); "
                f"home while the warm-up starts {home_warming:.2f} s ({home_warming / home_cold:.2f}× home cold); "
                f"warm-up took {warm_up_seconds:.1f} s; server memory once warm {warm_memory:.0f} MB",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()}")
    print("\n| Page | First open, no warm-up | After the warm-up | Ratio after/before |")
    print("| --- | --- | --- | --- |")
    for page_key, before, after, _, _ in rows:
        print(f"| {PAGES[page_key]} | {before:.1f} s | {after:.1f} s | {after / before:.2f} |")


if __name__ == "__main__":
    main()
