"""What every browser test needs: one `streamlit run` of the app on a free port, Debian's headless
Chromium driven by playwright, and waits and pickers that fit Streamlit's reruns."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
TURN = 120_000  # ms; the first turn on a cold server waits for the model and index
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_app(env: dict[str, str]) -> Iterator[str]:
    """The app served on 127.0.0.1 with `env` (where tenants, data, index and store live); yields its URL."""
    port = free_port()
    # A file, not a pipe: nobody reads the server's output while it runs, and a full pipe would block it.
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            raise RuntimeError("streamlit did not answer its health check in 60 s: " + server_log(log.name))
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited: " + server_log(log.name))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()
        Path(log.name).unlink(missing_ok=True)


def server_log(path: str) -> str:
    return Path(path).read_text(errors="replace")[-2000:]


@contextmanager
def chromium():
    """A headless Chromium (Debian's build, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def settle(page) -> None:
    """Wait until Streamlit has finished the current run (no stale elements left)."""
    page.wait_for_timeout(150)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TURN)
    page.wait_for_timeout(150)


def say(page, text: str) -> None:
    """Type a message in the chat box and send it."""
    box = page.locator("textarea").first
    box.fill(text)
    box.press("Enter")


def choose(page, label: str, option: str, multi: bool = False) -> None:
    """Pick `option` in a selectbox or multiselect by typing into its search box."""
    try:
        widget = page.locator('[data-testid="stSelectbox"], [data-testid="stMultiSelect"]')
        widget.filter(has=page.get_by_text(label, exact=True)).first.locator("input").click()
        page.keyboard.type(option)
        page.get_by_role("option", name=re.compile(re.escape(option))).first.wait_for(timeout=10_000)
        page.keyboard.press("Enter")
        if multi:  # a multiselect stays open for more values
            page.keyboard.press("Escape")
        settle(page)
    except Exception:
        page.screenshot(path=str(ROOT / "tests" / "artifacts-choose.png"), full_page=True)
        raise
