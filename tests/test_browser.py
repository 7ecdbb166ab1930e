"""End to end in a real browser: Debian's headless Chromium driven by playwright against `streamlit run`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, northstar, harbor):
    port = _free_port()
    env = {**os.environ, "SEGWORK_DATA_DIR": str(settings.data_dir), "SEGWORK_INDEX_DIR": str(settings.index_dir),
           "SEGWORK_STORE": str(settings.store_path), "HF_HUB_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + proc.stdout.read().decode()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        pg = browser.new_page(viewport={"width": 1500, "height": 1000})
        yield pg
        browser.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_marketer_builds_answers_and_saves_a_segment(server, page):
    t0 = time.perf_counter()
    page.goto(server)
    page.get_by_placeholder("e.g. Plus members").wait_for(timeout=90_000)
    first_load = time.perf_counter() - t0
    (ARTIFACTS).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "first_load_seconds.txt").write_text(f"{first_load:.2f}\n")
    _shot(page, "01-start")

    box = page.get_by_placeholder("e.g. Plus members")
    box.fill("Our best customers")
    box.press("Enter")
    page.get_by_text("What should", exact=False).first.wait_for(timeout=90_000)
    _shot(page, "02-clarification")
    page.get_by_role("button", name="default").first.click()
    page.get_by_text("Audience:", exact=False).first.wait_for(timeout=90_000)
    page.get_by_text("Household Value Tier is Best", exact=False).first.wait_for(timeout=30_000)
    _shot(page, "03-segment")

    page.get_by_role("tab", name="Dry-run").click()
    page.get_by_text("Exact count on the full table", exact=False).wait_for(timeout=30_000)
    page.get_by_role("tab", name="Segment draft").click()
    page.get_by_label("Name").fill("Best households")
    page.get_by_role("button", name="Save segment").click()
    page.get_by_text("Saved 'Best households' as version 1", exact=False).wait_for(timeout=30_000)
    _shot(page, "04-saved")

    box.fill("also text reachable")
    box.press("Enter")
    page.get_by_text("Text Allowed", exact=False).first.wait_for(timeout=90_000)
    page.get_by_role("tab", name="Segment draft").click()
    page.get_by_role("button", name="Save segment").click()
    page.get_by_text("as version 2", exact=False).wait_for(timeout=30_000)

    t1 = time.perf_counter()
    page.goto(server + "/Segments")
    page.get_by_text("Segment library", exact=False).first.wait_for(timeout=60_000)
    warm = time.perf_counter() - t1
    (ARTIFACTS / "warm_page_seconds.txt").write_text(f"{warm:.2f}\n")
    page.get_by_text("Version history").wait_for(timeout=30_000)
    page.get_by_text("+ cohort 1: Text Allowed", exact=False).first.wait_for(timeout=30_000)
    page.get_by_text("SQL", exact=True).last.click()
    page.get_by_text("household_value_tier", exact=False).first.wait_for(timeout=30_000)
    _shot(page, "05-library")
    assert first_load < 60
