"""The suite's own habits: test files share helpers through conftest.py and support modules, never by
importing each other; a test whose system part (Chromium, HAProxy, a Docker engine) is missing is
skipped on a laptop with the line that installs the part, listed in the run's summary, and fails
under CI (`CI=true`), so that CI runs every test."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.browser_support import ROOT
from tests.system_parts import CHROMIUM_PART, DOCKER_PART, HAPROXY_PART, REDIS_PART

TESTS = ROOT / "tests"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "tests." * (node.level > 0) + (node.module or "")
            modules.add(base)
            modules.update(f"{base}.{alias.name}".replace("..", ".") for alias in node.names)
    return modules


def test_no_test_file_imports_another_test_file_or_the_conftest():
    offenders = {
        path.name: sorted(
            module
            for module in imported_modules(path)
            if module.startswith(("tests.test_", "tests.conftest")) or module.split(".")[0].startswith("test_")
        )
        for path in sorted(TESTS.glob("*.py"))
    }
    offenders = {name: modules for name, modules in offenders.items() if modules}
    assert offenders == {}, "share helpers through conftest.py (fixtures) or a tests/*_support.py module"


def test_the_import_check_sees_an_import_of_a_test_file(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text("from tests.test_pages import open_page\nfrom . import conftest\nimport tests.page_support\n")
    assert {"tests.test_pages", "tests.conftest", "tests.page_support"} <= imported_modules(sample)


# A test file run in a pytest of its own: each test needs a part that is missing (Chromium and HAProxy at
# a path that does not exist, Docker not on a PATH with nothing on it, a server whose probe fails), but
# one that needs Python itself, which is present.
PARTS_TESTS = """
    import dataclasses
    import sys

    import pytest

    from tests.system_parts import CHROMIUM_PART, DOCKER_PART, HAPROXY_PART, Part, require

    MISSING = {missing!r}


    @pytest.fixture(scope="module")
    def browser():
        require(dataclasses.replace(CHROMIUM_PART, program=MISSING))


    def test_first_page(browser):
        pass


    def test_second_page(browser):
        pass


    def test_replicas():
        require(dataclasses.replace(HAPROXY_PART, program=MISSING))


    def test_compose():
        require(DOCKER_PART)


    def test_a_server_that_does_not_answer():
        require(Part("a silent server", "apt-get install -y silence", sys.executable, (("-c", "raise SystemExit(1)"),)))


    def test_python():
        require(Part("Python", "apt-get install -y python3", sys.executable, (("-c", "pass"),)))
"""


def run_parts_tests(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_parts.py").write_text(textwrap.dedent(PARTS_TESTS.format(missing=str(tmp_path / "absent"))))
    empty_path = tmp_path / "bin"
    empty_path.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.update(PATH=str(empty_path), PYTHONPATH=str(ROOT))
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.system_parts", "-p", "no:cacheprovider", "test_parts.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_part_skips_its_tests_and_the_summary_says_how_to_install_it(tmp_path):
    run = run_parts_tests(tmp_path, ci=None)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout[run.stdout.index("not run on this machine") :]
    assert "   2 not run, needs Chromium: apt-get install -y chromium\n" in summary
    assert "   1 not run, needs HAProxy: apt-get install -y haproxy\n" in summary
    assert "   1 not run, needs a Docker engine with Compose v2: bash .ci/docker-engine\n" in summary
    assert "   1 not run, needs a silent server: apt-get install -y silence\n" in summary
    assert run.stdout.strip().splitlines()[-1].strip("= ").startswith("1 passed, 5 skipped")


def test_under_ci_a_missing_part_fails_its_tests(tmp_path):
    run = run_parts_tests(tmp_path, ci="true")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "not run on this machine" not in run.stdout
    assert "needs Chromium: apt-get install -y chromium (CI=true" in run.stdout
    # The fixture's failure is an error in each of its two tests; the others fail in their own bodies.
    assert run.stdout.strip().splitlines()[-1].strip("= ").startswith("3 failed, 1 passed, 2 errors")


def test_the_readme_gives_the_same_install_line_as_the_skip():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [
        part.name
        for part in (CHROMIUM_PART, HAPROXY_PART, DOCKER_PART, REDIS_PART)
        if f"`{part.install}`" not in readme
    ] == []
