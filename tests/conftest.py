"""Shared fixtures: a real app served to headless Chromium (once per session, and a one-slot server per
module), a fresh press registry per test, and a small corpus for the translator tests. Helpers that are
not fixtures live in support modules (tests/page_support.py, browser_support.py, ...)."""

from __future__ import annotations

import os
import sys

import pytest

from lib.engine.parse_lock import serialize_python_parsing
from lib.page_glue.warm_up import WARM_UP_VARIABLE
from tests.browser_support import ARTIFACTS, chromium, served_app

# Skips a test whose system part is missing (fails it under CI) and lists what was not run. Imported
# here first, as a plugin, so that pytest loads it before any test module imports it.
pytest_plugins = ["tests.system_parts"]

# AppTest runs the app inside this process: a background warm-up there would import TensorFlow
# behind the tests that check a page does without it, and load models no test asked for. The
# servers of the browser tests run the app as shipped, warm-up included (see app_url).
os.environ[WARM_UP_VARIABLE] = "0"

# Every AppTest run compiles its page, so AppTest sessions run in threads parse at once; the app
# serializes parsing from its entry point (lib/engine/parse_lock.py), which an AppTest of one page
# does not run. A CI run failed with the SystemError that module describes.
serialize_python_parsing()


@pytest.fixture(autouse=True)
def fresh_press_registry():
    """Each test starts as a fresh server would, with no shared press running or cached in this process
    (AppTest sessions of one test may still share; see tests/test_shared_presses.py)."""
    yield
    training = sys.modules.get("lib.engine.training")
    if training is not None:
        training.press_registry.clear()


@pytest.fixture(scope="session")
def app_url():
    with served_app(ARTIFACTS / "streamlit-server.log", {WARM_UP_VARIABLE: "1"}) as (url, _server):
        yield url


@pytest.fixture(scope="module")
def one_slot_app_url():
    """A second server that lets only one training run at a time, to see a session queue."""
    with served_app(ARTIFACTS / "one-slot-server.log", extra_env={"PLAYGROUND_MAX_TRAININGS": "1"}) as (url, _):
        yield url


@pytest.fixture(scope="session")
def browser():
    from tests.system_parts import CHROMIUM_PART, require

    require(CHROMIUM_PART)
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real Redis server (Debian's redis-server, tests/redis_support.py) for the whole session."""
    from tests.redis_support import running_redis
    from tests.system_parts import REDIS_PART, require

    require(REDIS_PART)
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis server, emptied for this test: its URL."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def small_corpus():
    """A grammar corpus of 300 training and 100 held-out pairs, with its English and French vocabularies."""
    from lib.data.corpus import Vocabulary
    from lib.data.grammar import make_corpus

    built = make_corpus(300, 100, seed=3)
    english = Vocabulary.from_sentences(e for e, _ in built.train)
    french = Vocabulary.from_sentences(f for _, f in built.train)
    return built, english, french
