"""Cold first paint and first answer of the workbench in real headless Chromium; prints a table.

A cold start is a fresh `streamlit run` process (nothing loaded: no model, no index, no dry-run
sample open). Chromium is launched before the server, so its own start-up is not counted.

    .venv/bin/python benchmarks/firstpaint.py [--runs 3] [--tenant harbor] [--request "Gold rewards members"]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(port: int) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _healthy(url: str, deadline: float) -> None:
    while time.perf_counter() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("the server did not answer its health check")


def one_run(browser, tenant: str, request: str) -> dict[str, float]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = _server(port)
    try:
        _healthy(url, t0 + 120)
        health = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/?tenant={tenant}")
        box = page.locator("textarea").first
        box.wait_for(timeout=120_000)
        paint = time.perf_counter() - t0
        t1 = time.perf_counter()
        box.fill(request)
        box.press("Enter")
        page.locator(".st-key-draft_summary").get_by_text("customer", exact=False).first.wait_for(timeout=120_000)
        answer = time.perf_counter() - t1
        page.close()
        return {"health": health, "paint": paint, "answer": answer, "answer_from_start": time.perf_counter() - t0}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tenant", default="harbor")
    ap.add_argument("--request", default="Gold rewards members who are email reachable")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for i in range(args.runs):
            rows.append(one_run(browser, args.tenant, args.request))
            r = rows[-1]
            print(f"run {i + 1}: health {r['health']:.2f} s, first paint {r['paint']:.2f} s, "
                  f"first answer {r['answer']:.2f} s after submit", file=sys.stderr)
        browser.close()
    load = os.getloadavg()[0]
    print(f"\nCold start of `streamlit run app.py` ({args.runs} runs, tenant {args.tenant}, {os.cpu_count()} cores, "
          f"load average {load:.1f} at the end)\n")
    print(f"| measure | median s | min s | max s |\n|---|---:|---:|---:|")
    for key, label in [("health", "server answers /_stcore/health"), ("paint", "first paint (chat box visible) from process start"),
                       ("answer", "first answer on the cold server, from submit"),
                       ("answer_from_start", "first answer, from process start")]:
        xs = [r[key] for r in rows]
        print(f"| {label} | {statistics.median(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} |")


if __name__ == "__main__":
    main()
