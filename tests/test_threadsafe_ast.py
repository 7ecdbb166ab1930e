"""A page script parsed while another thread parses (the warm-up's imports do) must not fail.

On CPython 3.11.0-3.11.7 two threads inside `ast.parse` can corrupt each other's recursion counter
(CPython gh-106905) and one fails with "SystemError: AST constructor recursion depth mismatch". The
GIL only changes hands inside `ast.parse` when a garbage collection there runs Python code (a
finalizer or a gc callback); a no-op gc callback and a short switch interval make that happen on
nearly every parse, so without the lock in pages/common/threadsafe_ast.py this test fails on such an
interpreter, every time, within a few parses. On other interpreters it passes with or without it.
"""
from __future__ import annotations

import ast
import gc
import sys
import threading
from pathlib import Path

import pages.common  # noqa: F401 - what app.py and every page import first; it serialises ast.parse
from pages.common import threadsafe_ast

APP = Path(__file__).resolve().parent.parent / "app.py"


def _no_op(phase: str, info: dict) -> None:
    """Python code run inside every collection: a point where the GIL can pass to the other thread."""


def test_a_page_parses_while_another_thread_parses_signatures():
    source = APP.read_text()
    failures: list[SystemError] = []
    done = threading.Event()

    def signatures() -> None:  # what pydantic does while the warm-up imports the agent's modules
        while not done.is_set():
            try:
                ast.parse("def foo(iterable=()): pass")  # inspect.signature(list)
            except SystemError as exc:
                failures.append(exc)

    interval = sys.getswitchinterval()
    gc.callbacks.append(_no_op)
    sys.setswitchinterval(1e-5)
    other = threading.Thread(target=signatures, name="parse-signatures")
    other.start()
    try:
        for _ in range(30):  # what Streamlit does before it runs a page script it has not run yet
            try:
                ast.parse(source, str(APP), "exec")
            except SystemError as exc:
                failures.append(exc)
    finally:
        done.set()
        other.join()
        gc.callbacks.remove(_no_op)
        sys.setswitchinterval(interval)
    assert not failures, f"{len(failures)} parses failed, the first with: {failures[0]}"


def test_the_lock_is_on_exactly_where_the_interpreter_needs_it():
    assert threadsafe_ast.install() is threadsafe_ast.AFFECTED
    assert (ast.parse is threadsafe_ast._serialised_parse) is threadsafe_ast.AFFECTED
    assert ast.parse("x = 1").body[0].targets[0].id == "x"  # still the real parse, keywords included
    assert ast.parse("x: int", mode="exec", type_comments=True).body[0].annotation.id == "int"
