"""The README and the docs point at what exists: every Markdown link reaches a file of the repository (and a
heading there, when it names one), every path the README names in backticks exists, the README points
nowhere outside the repository, and it stays short enough to read (the measurements live in docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser_support import ROOT

README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "data" / "README.md", ROOT / "deploy" / "README.md"]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCED = re.compile(r"(?ms)^```.*?^```")
# A path in backticks: words, dots, dashes, slashes and globs, with a slash or a file extension.
PATH = re.compile(r"`([\w.*-]+(?:/[\w.*-]*)+|[\w-]+\.(?:py|md|txt|toml|yaml|cfg|csv|json|png))`")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCED.sub("", path.read_text(encoding="utf-8"))
    return {slug(heading) for heading in re.findall(r"(?m)^#+ (.+)$", text)}


def links(path: Path) -> list[str]:
    return LINK.findall(FENCED.sub("", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_link_reaches_a_file_and_heading_of_the_repository(document):
    broken = []
    for target in links(document):
        if re.match(r"[a-z]+:", target):
            continue  # an address on the web: the README has none (below)
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists() or ROOT not in (linked, *linked.parents):
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert broken == []


def test_every_path_the_readme_names_exists():
    text = FENCED.sub("", README.read_text(encoding="utf-8"))
    named = set(PATH.findall(text))
    assert {"deploy/haproxy.cfg", "lib/app/presets.py", "streamlit_app.py"} <= named  # the pattern finds them
    missing = sorted(name for name in named if not any(ROOT.glob(name.rstrip("/"))))
    assert missing == []


def test_the_readme_points_nowhere_outside_the_repository():
    text = README.read_text(encoding="utf-8")
    assert [target for target in links(README) if re.match(r"[a-z]+:", target) or ".." in target] == []
    assert "../" not in text


def test_the_readme_fits_on_a_few_screens():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 220
