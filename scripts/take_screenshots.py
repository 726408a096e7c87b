"""Take the README's screenshots of the real app in headless Chromium:
`python scripts/take_screenshots.py` (both), or name them: `python scripts/take_screenshots.py home`.

Starts the app like the browser tests do (`streamlit run streamlit_app.py` on a free loopback port,
Debian's Chromium at /usr/bin/chromium through Playwright) and writes PNGs into docs/:
- home.png: the whole home page, every card of the course map (the window is made as tall as the page);
- parameter-sharing.png: the parameter-sharing page after its demo has trained once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser_support import ARTIFACTS, ROOT, chromium, served_app, wait_until_idle  # noqa: E402

DOCS = ROOT / "docs"
WIDTH = 1400


def whole_page_height(page) -> int:
    """The height the window needs to show the page's main column to its end (Streamlit scrolls that
    column inside the window, so Playwright's full-page screenshot would stop at the window's edge)."""
    return page.evaluate(
        """() => {
            const block = document.querySelector('[data-testid=stMainBlockContainer]');
            return Math.ceil(block.getBoundingClientRect().top + block.scrollHeight);
        }"""
    )


def home(page, url: str) -> Path:
    page.set_viewport_size({"width": WIDTH, "height": 900})
    page.goto(url)
    wait_until_idle(page)
    page.get_by_role("heading", name="Course map").wait_for()
    page.set_viewport_size({"width": WIDTH, "height": whole_page_height(page)})
    wait_until_idle(page)
    path = DOCS / "home.png"
    page.screenshot(path=str(path))
    return path


def parameter_sharing(page, url: str) -> Path:
    page.set_viewport_size({"width": WIDTH, "height": 3000})
    page.goto(f"{url}/parameter_sharing")
    wait_until_idle(page)
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector("[data-testid=stProgress]", timeout=30_000)
    wait_until_idle(page, timeout_ms=120_000)
    path = DOCS / "parameter-sharing.png"
    page.screenshot(path=str(path))
    return path


SHOTS = {"home": home, "parameter-sharing": parameter_sharing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shots", nargs="*", metavar="SHOT", help=f"any of {', '.join(SHOTS)} (default: all)")
    shots = parser.parse_args().shots or list(SHOTS)
    if unknown := set(shots) - set(SHOTS):
        parser.error(f"no such screenshot: {', '.join(sorted(unknown))}")
    DOCS.mkdir(exist_ok=True)
    with served_app(ARTIFACTS / "screenshot-server.log") as (url, _server), chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        for name in shots:
            print(f"wrote {SHOTS[name](page, url).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
