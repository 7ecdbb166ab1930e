"""Shared pieces of the bad-input cases: the CLI run in process, a time bound per case, tenant copies."""
from __future__ import annotations

import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASE_SECONDS = 20  # generous on a shared 2-core machine; a hang fails the case instead of the run


@pytest.fixture
def bounded():
    """Fail a case that runs longer than CASE_SECONDS (a hang), instead of blocking the suite."""
    def expire(signum, frame):
        raise TimeoutError(f"case took longer than {CASE_SECONDS} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(capsys, *argv: str) -> Outcome:
    """`segwork ARGV` in process: exit code and output."""
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return Outcome(code, cap.out, cap.err)


def assert_refused(result: Outcome, code: int, message: str) -> None:
    """The expected exit code, a message matching `message`, and no traceback or internal failure."""
    assert "Traceback" not in result.text, result.text
    assert result.code != 70, f"internal failure instead of a clear message: {result.text}"
    assert result.code == code, f"exit {result.code}, expected {code}: {result.text}"
    assert re.search(message, result.text, re.I | re.S), f"{message!r} not in: {result.text}"


def copy_tenant(tmp_path: Path, source: str = "northstar", as_id: str | None = None) -> Path:
    """A private copy of a tenant folder (catalog, tenant.yaml, ground truth) under tmp_path/tenants."""
    dest = tmp_path / "tenants" / (as_id or source)
    shutil.copytree(ROOT / "tenants" / source, dest)
    if as_id and as_id != source:
        cat = dest / "catalog.yaml"
        cat.write_text(cat.read_text().replace(f"tenant_id: {source}", f"tenant_id: {as_id}", 1))
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace text that must be present (so a case cannot silently test nothing)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
