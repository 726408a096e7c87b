"""Print the README's table of presets (lib/app/presets.py), one row per preset, links relative to the app."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.app.course import COURSE_PAGES  # noqa: E402
from lib.app.presets import PRESETS  # noqa: E402


def preset_table() -> str:
    titles = {course_page.url_path: course_page.title for course_page in COURSE_PAGES}
    rows = ["| Page | Preset | Link (after the app's address) | What it shows |", "| --- | --- | --- | --- |"]
    for page_key, presets in PRESETS.items():
        rows += [
            f"| {titles[page_key]} | {preset.name} | `/{page_key}?{preset.query()}` | {preset.shows} |"
            for preset in presets
        ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(preset_table())
