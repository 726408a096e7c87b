"""Take the README's screenshots of the real app in headless Chromium: `python scripts/take_screenshots.py`.

Starts the app like the browser tests do, opens the home page and the parameter-sharing page,
trains the demo once, and writes PNGs into docs/.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser_support import ROOT, chromium, served_app, wait_until_idle  # noqa: E402

DOCS = ROOT / "docs"


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with served_app(ROOT / "test-artifacts" / "screenshot-server.log") as (url, _server), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        wait_until_idle(page)
        page.screenshot(path=str(DOCS / "home.png"))
        page.set_viewport_size({"width": 1400, "height": 3000})
        page.goto(f"{url}/parameter_sharing")
        wait_until_idle(page)
        page.get_by_role("button", name="Train").click()
        page.wait_for_selector("[data-testid=stProgress]", timeout=30_000)
        wait_until_idle(page, timeout_ms=120_000)
        page.screenshot(path=str(DOCS / "parameter-sharing.png"))
    print(f"wrote {DOCS / 'home.png'} and {DOCS / 'parameter-sharing.png'}")


if __name__ == "__main__":
    main()
