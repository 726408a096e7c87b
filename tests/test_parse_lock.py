"""Python 3.11 fails `ast.parse` in one thread when another thread parses at the same time; the app
serializes parsing (lib/engine/parse_lock.py). A CI run lost three AppTest sessions to it: each
compiles its page, and the first session's page failed to compile with "AST constructor recursion
depth mismatch". The interleaving that breaks it is made here on purpose, with a garbage-collection
callback that pauses the first parse halfway and lets a second one start."""

from __future__ import annotations

import ast
import gc
import sys
import threading
from pathlib import Path

import pytest

from lib.engine.parse_lock import serialize_python_parsing

PAGE = Path(__file__).resolve().parents[1] / "app_pages" / "transformer.py"


def parse_twice_interleaved(parse) -> dict[str, str]:
    """Parse a page in two threads, the first paused halfway through building its tree while the
    second starts; returns what each thread got ("ok" or the error)."""
    source = PAGE.read_text()
    first_paused, second_paused, first_done = threading.Event(), threading.Event(), threading.Event()
    paused: set[str] = set()

    def pause_once_inside_the_parse(phase, info):
        # A collection starts on an allocation inside the parse (threshold 1), in the parsing thread.
        name = threading.current_thread().name
        if phase != "start" or name in paused:
            return
        if name == "first parse":
            paused.add(name)
            first_paused.set()
            second_paused.wait(2)  # Under the lock the second parse cannot start: go on alone.
        elif name == "second parse":
            paused.add(name)
            second_paused.set()
            first_done.wait(2)

    results: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            parse(source, str(PAGE))
            results[name] = "ok"
        except SystemError as error:
            results[name] = str(error)
        finally:
            if name == "first parse":
                first_done.set()

    thresholds = gc.get_threshold()
    gc.callbacks.append(pause_once_inside_the_parse)
    gc.set_threshold(1)
    try:
        first = threading.Thread(target=run, args=("first parse",), name="first parse")
        first.start()
        assert first_paused.wait(10), "the first parse never started a garbage collection"
        second = threading.Thread(target=run, args=("second parse",), name="second parse")
        second.start()
        first.join(30)
        second.join(30)
    finally:
        gc.callbacks.remove(pause_once_inside_the_parse)
        gc.set_threshold(*thresholds)
    return results


def test_two_threads_parsing_at_once_both_get_their_tree_once_parsing_is_serialized():
    serialize_python_parsing()
    assert parse_twice_interleaved(ast.parse) == {"first parse": "ok", "second parse": "ok"}


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the per-interpreter counter is a CPython 3.11 bug")
def test_the_same_interleaving_without_the_lock_fails_on_this_python():
    """The control: without the lock the scenario above does break this interpreter, so the test above
    checks the lock, not luck."""
    serialize_python_parsing()
    unlocked_parse = ast.parse.__wrapped__
    results = parse_twice_interleaved(unlocked_parse)
    assert "AST constructor recursion depth mismatch" in results["first parse"]


def test_serializing_twice_keeps_one_lock():
    """streamlit_app.py serializes on every rerun of every session: the wrapper must not wrap itself."""
    serialize_python_parsing()
    once = ast.parse
    serialize_python_parsing()
    assert ast.parse is once and ast.parse.__wrapped__.__module__ == "ast"
