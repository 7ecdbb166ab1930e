"""One `ast.parse` at a time in this process, on the Python versions whose `ast.parse` is not thread-safe.

CPython 3.11.0-3.11.7 keep the AST constructor's recursion counter in one struct per interpreter
(CPython gh-106905, fixed in 3.11.8; 3.12 collects garbage at other points and does not hit it). When
a garbage collection inside one `ast.parse` runs Python code, the GIL can pass to another thread in
`ast.parse`, and one of them fails with "SystemError: AST constructor recursion depth mismatch".
Here two threads parse: Streamlit's script runner parses a page script the first time it runs it
(AppTest: on every run), while the warm-up thread imports modules that parse — pydantic reads the
signatures of builtins (`inspect.signature` → `ast.parse`) when a model with `default_factory=list`
is defined, and torch parses function sources on import when the index is built.
"""
from __future__ import annotations

import ast
import functools
import sys
import threading
from typing import Any

AFFECTED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:3] < (3, 11, 8)

_LOCK = threading.RLock()  # re-entrant: a finalizer that runs inside a parse may parse in the same thread
_original_parse = getattr(ast.parse, "__wrapped__", ast.parse)  # the real one, also when this module is reloaded


@functools.wraps(_original_parse)
def _serialised_parse(*args: Any, **kwargs: Any) -> ast.AST:
    with _LOCK:
        return _original_parse(*args, **kwargs)


def install() -> bool:
    """Serialise `ast.parse` where the interpreter needs it; True when this process's parses are serialised."""
    if AFFECTED:
        # Callers look `ast.parse` up on the module when they call it (Streamlit's script cache, inspect,
        # torch), so replacing the module attribute covers them; `ast.parse` itself calls `compile` from
        # the ast module, so the flags a parse inherits do not change.
        ast.parse = _serialised_parse  # type: ignore[assignment]
    return AFFECTED
