"""Load the expensive objects (embedding model, facet index, agent) in the background, once per process.

The page paints at once and shows the warm-up state; a turn asked for before it ends waits for it.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import streamlit as st

_LOCK = threading.Lock()
_THREADS: dict[str, threading.Thread] = {}
_STATE: dict[str, str] = {}  # tenant id -> "warming" | "ready" | an error message
_SECONDS: dict[str, float] = {}


def start(key: str, tasks: list[Callable[[], object]]) -> None:
    """Run `tasks` in one background thread for `key`, unless already started."""
    with _LOCK:
        if key in _THREADS:
            return
        _STATE[key] = "warming"
        thread = threading.Thread(target=_run, args=(key, tasks), name=f"warmup-{key}", daemon=True)
        _THREADS[key] = thread
    thread.start()


def _run(key: str, tasks: list[Callable[[], object]]) -> None:
    t0 = time.perf_counter()
    try:
        for task in tasks:
            task()
        _STATE[key] = "ready"
    except Exception as exc:  # shown on the page; the turn that waits raises it again
        _STATE[key] = f"{type(exc).__name__}: {exc}"
    _SECONDS[key] = time.perf_counter() - t0


def ready(key: str) -> bool:
    return _STATE.get(key) == "ready"


def wait(key: str, timeout: float = 300) -> None:
    thread = _THREADS.get(key)
    if thread is not None:
        thread.join(timeout)


def status(key: str) -> None:
    """A small line while warming up; it refreshes itself and reruns the page once ready."""
    if ready(key):
        return

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        state = _STATE.get(key, "warming")
        if state == "ready":
            st.rerun(scope="app")
        elif state == "warming":
            st.caption(":material/hourglass_top: Warming up: loading the language model and the facet index. You can start typing.")
        else:
            st.error(f"Could not load the facet index: {state}")

    _poll()
