"""The system parts some tests need beyond the Python packages (Debian's Chromium, HAProxy, Redis, a Docker engine),
and what a test does when one is missing: on a laptop it is skipped with the one line that installs
the part, and the run's summary lists what was not run; under CI (`CI=true`) it fails, so that CI
runs every test. Also a pytest plugin (registered by tests/conftest.py) that writes that summary.

A fixture that needs a part calls `require(PART)` before it starts anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, HAPROXY
from tests.redis_support import REDIS_SERVER

# Every skip reason this module writes starts so; the summary collects them by it.
NEEDS = "needs "


@dataclass(frozen=True)
class Part:
    """A program the tests run: `name` as a reader knows it, the command line that installs it, the
    program (an absolute path, or a name looked up on PATH), and commands (its arguments) that must
    succeed for it to count as present, such as a server answering."""

    name: str
    install: str
    program: str
    probes: tuple[tuple[str, ...], ...] = field(default=())

    def missing(self) -> bool:
        found = Path(self.program) if os.path.isabs(self.program) else shutil.which(self.program)
        if found is None or not os.access(found, os.X_OK):
            return True
        for probe in self.probes:
            try:
                answered = subprocess.run([str(found), *probe], capture_output=True, timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                return True
            if answered.returncode != 0:
                return True
        return False

    def reason(self) -> str:
        return f"{NEEDS}{self.name}: {self.install}"


CHROMIUM_PART = Part("Chromium", "apt-get install -y chromium", CHROMIUM)
HAPROXY_PART = Part("HAProxy", "apt-get install -y haproxy", HAPROXY)
# The room store's tests (tests/test_room_store.py) run against a real Redis server.
REDIS_PART = Part("Redis", "apt-get install -y redis-server", REDIS_SERVER, (("--version",),))
# .ci/docker-engine installs Debian's docker.io, the Compose v2 plugin and debootstrap, and starts the engine.
DOCKER_PART = Part(
    "a Docker engine with Compose v2", "bash .ci/docker-engine", "docker", (("info",), ("compose", "version"))
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require(part: Part) -> None:
    """Return if `part` is present; otherwise skip the test asking for it, or under CI fail it."""
    if not part.missing():
        return
    if under_ci():
        pytest.fail(f"{part.reason()} (CI=true: CI runs every test, so a missing part fails it)", pytrace=False)
    pytest.skip(part.reason())


# --- The plugin: what was not run, and what installs it -----------------------------------------------

_not_run: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        message = report.longrepr[2].removeprefix("Skipped: ")
        if message.startswith(NEEDS):
            _not_run[message] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    if not _not_run:
        return
    terminalreporter.section("not run on this machine: a system part is missing")
    for reason, count in sorted(_not_run.items()):
        terminalreporter.write_line(f"{count:4d} not run, {reason}")
    terminalreporter.write_line("(CI=true fails them instead, so CI runs every test.)")
