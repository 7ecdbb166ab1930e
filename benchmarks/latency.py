"""Latency of the offline agent: warm `segwork eval` turns and a cold `segwork ask`; prints one table.

Warm turns: each tenant's dev ground truth and probe set run through `core.eval.run_eval` (what
`segwork eval` does, offline policy) after the model, index and dry-run sample are loaded. Reported:
p50 / p95 / max turn time, CPU time per turn (all threads of the process: cohort workers, the
in-process Milvus Lite server, DuckDB), and embedding-model calls per request - `Embedder.encode` is wrapped here
(counting calls, not phrases) and read after each row through run_eval's progress callback.

Cold ask: a fresh `segwork ask --policy offline` process per run, from start to exit, with the index
already built (`make index` first, untimed); its CPU time (user + sys) too, which is what the wall
time comes to when the machine's cores are not shared.

    .venv/bin/python benchmarks/latency.py [--runs 3] [--tenants northstar harbor] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TARGETS = {"turn_p50_ms": 150, "turn_p95_ms": 400, "calls_per_request": 1, "cold_ask_s": 3.0}
ASK = {"northstar": "Lapsed customers who used to buy NS Essentials and can be texted",
       "harbor": "Gold rewards members who are email reachable"}
TODAY = "2026-11-25"


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0.0


class CallCounter:
    """Counts calls of `Embedder.encode` (every model call goes through it) while installed."""

    def __init__(self) -> None:
        from core.embeddings import Embedder

        self.cls, self.original, self.calls = Embedder, Embedder.encode, 0

    def __enter__(self) -> "CallCounter":
        original = self.original

        def counted(embedder, texts, *args, **kwargs):
            self.calls += 1
            return original(embedder, texts, *args, **kwargs)

        self.cls.encode = counted
        return self

    def __exit__(self, *exc) -> None:
        self.cls.encode = self.original


def warm_turns(tenant_id: str) -> list[dict]:
    """One result per ground-truth set of the tenant: turn times and model calls per request."""
    from core.config import Settings
    from core.dryrun import get_dryrunner
    from core.eval import ground_truth_files, read_tags, run_eval
    from core.retrieval import get_index
    from core.tenant import load_ground_truth, load_tenant
    import datetime as dt

    tenant = load_tenant(tenant_id, Settings.load())
    get_index(tenant).search_facets("warm up", k=5)  # model and index loaded before timing, as run_eval does
    get_dryrunner(tenant)
    out = []
    for label, path in ground_truth_files(tenant).items():
        rows = load_ground_truth(path)
        per_row: list[int] = []
        cpu_ms: list[float] = []
        with CallCounter() as counter:
            seen = [0, time.process_time()]

            def progress(i: int, n: int, rid: str) -> None:
                per_row.append(counter.calls - seen[0])
                cpu_ms.append((time.process_time() - seen[1]) * 1000)  # every thread of this process
                seen[0], seen[1] = counter.calls, time.process_time()

            run = run_eval(tenant, rows, "offline", dt.date.fromisoformat(TODAY), progress=progress, tags=read_tags(path))
        ms = [r.ms for r in run.rows]
        out.append({"tenant": tenant_id, "set": label.split(" ")[0], "file": str(path.relative_to(ROOT)), "rows": len(ms),
                    "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(_pct(ms, 0.95), 1),
                    "max_ms": round(max(ms), 1), "calls_p50": statistics.median(per_row), "calls_max": max(per_row),
                    "calls_total": sum(per_row), "errors": sum(1 for r in run.rows if r.error),
                    "cpu_p50_ms": round(statistics.median(cpu_ms), 1), "cpu_p95_ms": round(_pct(cpu_ms, 0.95), 1)})
    return out


def cold_ask(tenant_id: str, request: str, runs: int) -> dict:
    """Wall time of fresh `segwork ask` processes (start to exit); the first, untimed, builds a stale index."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    cmd = [str(ROOT / ".venv" / "bin" / "segwork"), "ask", "--tenant", tenant_id, "--policy", "offline",
           "--today", TODAY, request]
    subprocess.run(["make", "-s", "index"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):  # 1: the turn ended without a segment, still a full turn
            raise SystemExit(f"segwork ask failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return {"tenant": tenant_id, "request": request, "runs": runs, "median_s": round(statistics.median(times), 2),
            "max_s": round(max(times), 2), "all_s": [round(t, 2) for t in times], "cpu_median_s": round(statistics.median(cpu), 2)}


def _mark(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def table(turns: list[dict], asks: list[dict], load: tuple[float, float]) -> str:
    t = TARGETS
    lines = [f"Offline agent latency ({os.cpu_count()} cores; load average {load[0]:.1f} at the start, {load[1]:.1f} at the end; "
             f"turns warm, ask cold)", "",
             "| measure | tenant / set | rows or runs | measured | target | |", "|---|---|---:|---:|---:|---|"]
    for r in turns:
        name = f"{r['tenant']} {r['set']}"
        lines += [f"| warm turn p50 / p95 / max ms | {name} | {r['rows']} | {r['p50_ms']:.0f} / {r['p95_ms']:.0f} / {r['max_ms']:.0f} "
                  f"| ≤ {t['turn_p50_ms']} / ≤ {t['turn_p95_ms']} | "
                  f"{_mark(r['p50_ms'] <= t['turn_p50_ms'] and r['p95_ms'] <= t['turn_p95_ms'])} |",
                  f"| warm turn CPU p50 / p95 ms | {name} | {r['rows']} | {r['cpu_p50_ms']:.0f} / {r['cpu_p95_ms']:.0f} | - | info |",
                  f"| model calls per request p50 / max | {name} | {r['rows']} | {r['calls_p50']:g} / {r['calls_max']} "
                  f"| ≤ {t['calls_per_request']} | {_mark(r['calls_max'] <= t['calls_per_request'])} |"]
    for a in asks:
        lines.append(f"| cold `segwork ask` median / max s | {a['tenant']} | {a['runs']} | {a['median_s']:.2f} / {a['max_s']:.2f} "
                     f"| ≤ {t['cold_ask_s']:.0f} | {_mark(a['max_s'] <= t['cold_ask_s'])} |")
        lines.append(f"| cold `segwork ask` CPU (user + sys) median s | {a['tenant']} | {a['runs']} | {a['cpu_median_s']:.2f} "
                     f"| - | info |")
    files = sorted({r["file"] for r in turns})
    if files:
        lines.append(f"\nGround truth: {', '.join(files)} (a tenant's ground_truth.csv is its spec dev set).")
    if asks:
        pyc = "off (PYTHONDONTWRITEBYTECODE is set: project modules compile on every start)" \
            if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
        lines.append(f"{'' if files else chr(10)}Cold ask: {', '.join(repr(a['request']) for a in asks)}; runs {'; '.join(str(a['all_s']) for a in asks)} s; "
                     f"bytecode cache {pyc}.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tenants", nargs="*", default=list(ASK))
    ap.add_argument("--runs", type=int, default=3, help="cold `segwork ask` processes per tenant")
    ap.add_argument("--skip-ask", action="store_true", help="only the warm turns")
    ap.add_argument("--skip-turns", action="store_true", help="only the cold ask")
    ap.add_argument("--json", action="store_true", help="the figures as one JSON object")
    args = ap.parse_args()
    os.environ.pop("ANTHROPIC_API_KEY", None)
    start = os.getloadavg()[0]
    # The cold asks run first, while this process has loaded nothing that competes for the two cores.
    asks = [] if args.skip_ask else [cold_ask(t, ASK.get(t, "customers who can be emailed"), args.runs) for t in args.tenants]
    turns = [] if args.skip_turns else [r for t in args.tenants for r in warm_turns(t)]
    load = (start, os.getloadavg()[0])
    if args.json:
        print(json.dumps({"load_start": load[0], "load_end": load[1], "cores": os.cpu_count(), "turns": turns, "asks": asks}))
    else:
        print(table(turns, asks, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
