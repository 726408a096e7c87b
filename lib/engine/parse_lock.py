"""One process-wide lock around `ast.parse`: CPython 3.11 cannot build Python syntax trees in two
threads at once.

`ast.parse` turns the parser's tree into Python objects with a recursion counter that CPython 3.11
keeps per interpreter, not per call (Python-ast.c, `ast2obj_*`; python/cpython#106905). Building
those objects allocates, an allocation can start a garbage collection, and a collection can run a
finalizer, which lets another thread take the interpreter. If that thread is in `ast.parse` too, the
first one finishes with the other's depth in the counter and fails with "SystemError: AST
constructor recursion depth mismatch". In this app several threads parse: Streamlit compiles each
page for its first run (under its own lock, but only against other compiles), TensorFlow's
autograph parses the functions it converts, and Python 3.11's traceback formatting parses the lines
it underlines. One CI run failed this way, with three AppTest sessions starting their pages at once
(each AppTest compiles its page), and tests/test_parse_lock.py reproduces it deterministically.

`serialize_python_parsing` replaces `ast.parse` with a version that holds one re-entrant lock (a
finalizer run inside a parse may parse again on the same thread). Every caller above looks `ast.parse`
up when it calls, so they all take the lock. Parsing a page takes milliseconds, so nobody waits long.
"""

from __future__ import annotations

import ast
import functools
import threading

PARSE_LOCK = threading.RLock()


def serialize_python_parsing() -> None:
    """Make every later `ast.parse` in this process hold PARSE_LOCK; safe to call on every rerun."""
    if getattr(ast.parse, "holds_parse_lock", False):
        return
    unlocked_parse = ast.parse

    @functools.wraps(unlocked_parse)
    def parse(*args, **kwargs):
        with PARSE_LOCK:
            return unlocked_parse(*args, **kwargs)

    parse.holds_parse_lock = True
    ast.parse = parse
