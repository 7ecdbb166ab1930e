"""Stress check for the warm-up racing Streamlit's parse of the page scripts (slow; not part of `make test`).

Python 3.11.0-3.11.7 keep the AST constructor's recursion counter in one per-interpreter struct
(CPython gh-106905, fixed in 3.11.8): two threads inside `ast.parse` at once — the GIL can change
hands when a garbage collection inside one of them runs Python code — fail one of them with
"SystemError: AST constructor recursion depth mismatch". Streamlit parses a script with `ast.parse`
(its "magic") the first time it runs it; AppTest parses it on every run. Importing the agent's
modules builds pydantic models, and pydantic reads builtin signatures with `ast.parse`.

    .venv/bin/python benchmarks/ast_race.py app [--processes 40] [--runs 6] [--fresh-index]
        Fresh processes, each running app.py through AppTest `--runs` times in a row from a cold
        start, as the AppTests do, while the app's warm-up thread loads; counts processes in which a
        run or the warm-up failed with the SystemError. With --fresh-index each process gets an empty
        index folder, so the warm-up builds the index (and imports torch), as in the test suite, and
        AppTest keeps running app.py until the warm-up is over.
    .venv/bin/python benchmarks/ast_race.py parse [--seconds 20]
        The interpreter's bug alone (standard library only, so any Python can run it): one thread
        parses app.py in a loop while another reads builtin signatures as pydantic does; a gc callback
        gives the GIL a chance to change hands inside `ast.parse`. Counts the SystemErrors.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISMATCH = "AST constructor recursion depth mismatch"


def _child(runs: int, until_warm: bool) -> None:
    """One cold process: AppTest runs app.py `runs` times (and on while the warm-up runs, with `until_warm`),
    then waits for the warm-up; prints what failed."""
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    from pages.common import warmup

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    failures: list[str] = []
    done = 0
    while done < runs or (until_warm and done < 500 and any(t.is_alive() for t in warmup._THREADS.values())):
        done += 1
        try:
            at.run()
        except Exception as exc:  # AppTest raises when the script cannot even be compiled
            failures.append(f"run raised {type(exc).__name__}: {exc}")
            continue
        failures += [f"run: {e.message}" for e in at.exception]
    for thread in list(warmup._THREADS.values()):
        thread.join(120)
    failures += [f"warm-up: {state}" for state in warmup._STATE.values() if state != "ready"]
    print(json.dumps(failures))


def app_mode(processes: int, runs: int, fresh_index: bool) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    raced = other = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        env["SEGWORK_STORE"] = str(Path(tmp) / "workbench.sqlite")  # the real library stays untouched
        for i in range(processes):
            if fresh_index:
                env["SEGWORK_INDEX_DIR"] = str(Path(tmp) / f"index{i}")
            out = subprocess.run([sys.executable, __file__, "child", "--runs", str(runs)] + ["--until-warm"] * fresh_index, cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=600)
            lines = out.stdout.strip().splitlines()
            failures = json.loads(lines[-1]) if out.returncode == 0 and lines else [f"exit {out.returncode}: {out.stderr[-300:]}"]
            hit = any(MISMATCH in f for f in failures)
            raced += hit
            other += bool(failures) and not hit
            if failures:
                print(f"process {i + 1}: {failures[0][:160]}", file=sys.stderr)
    took = time.perf_counter() - t0
    print(f"{raced} of {processes} cold processes hit '{MISMATCH}' ({raced / processes:.0%}); "
          f"{other} failed otherwise; {runs} AppTest runs each{', index built in each' if fresh_index else ''}; {took:.0f} s; Python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.1f} at the end")


def parse_mode(seconds: float) -> None:
    source = (ROOT / "app.py").read_text()
    stop = time.perf_counter() + seconds
    errors = {"script": 0, "signature": 0}
    rounds = {"script": 0, "signature": 0}
    gc.callbacks.append(lambda phase, info: None)  # Python code inside a collection: a point where the GIL can move

    def signatures() -> None:
        import ast

        while time.perf_counter() < stop:
            rounds["signature"] += 1
            try:
                ast.parse("def foo(iterable=()): pass")  # what inspect.signature(list) parses for pydantic
            except SystemError:
                errors["signature"] += 1

    other = threading.Thread(target=signatures)
    sys.setswitchinterval(1e-5)
    other.start()
    import ast

    while time.perf_counter() < stop:
        rounds["script"] += 1
        try:
            ast.parse(source, "app.py", "exec")  # what Streamlit's script cache does before compiling
        except SystemError:
            errors["script"] += 1
    other.join()
    print(f"Python {sys.version.split()[0]}: {errors['script']} of {rounds['script']} parses of app.py and "
          f"{errors['signature']} of {rounds['signature']} signature parses failed with '{MISMATCH}' in {seconds:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("app")
    a.add_argument("--processes", type=int, default=40)
    a.add_argument("--runs", type=int, default=6)
    a.add_argument("--fresh-index", action="store_true")
    c = sub.add_parser("child")
    c.add_argument("--runs", type=int, default=6)
    c.add_argument("--until-warm", action="store_true")
    p = sub.add_parser("parse")
    p.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    if args.mode == "app":
        app_mode(args.processes, args.runs, args.fresh_index)
    elif args.mode == "child":
        _child(args.runs, args.until_warm)
    else:
        parse_mode(args.seconds)


if __name__ == "__main__":
    main()
