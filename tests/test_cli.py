"""The segwork console script: real subprocesses, clear one-paragraph errors, never a traceback."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.engines import reference_date

SEGWORK = str(Path(sys.executable).parent / "segwork")


def _run(settings, *args, expect=0):
    env = {**os.environ, "SEGWORK_DATA_DIR": str(settings.data_dir), "SEGWORK_INDEX_DIR": str(settings.index_dir),
           "SEGWORK_RUNS_DIR": str(settings.runs_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    p = subprocess.run([SEGWORK, *args], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == expect, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    return p


@pytest.fixture
def seg_file(tmp_path):
    path = tmp_path / "seg.json"
    path.write_text(json.dumps([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
                                {"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]},
                                {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 365}]))
    return path


def test_sql_dryrun_and_validate(settings, northstar, seg_file):
    sql = _run(settings, "sql", str(seg_file), "--tenant", "northstar", "--dialect", "snowflake").stdout
    as_of = reference_date(northstar)  # the warehouse's date: the exported SQL counts what the dry-run shows
    assert f"CAST('{as_of - dt.timedelta(days=365)}' AS DATE)" in sql and "'Scoop'" in sql
    pinned = _run(settings, "sql", str(seg_file), "--tenant", "northstar", "--as-of", "2025-06-30").stdout
    assert "CAST('2024-06-30' AS DATE)" in pinned and "CURRENT_DATE" not in (sql + pinned).upper()
    out = json.loads(_run(settings, "dryrun", str(seg_file), "--tenant", "northstar", "--full", "--json").stdout)
    assert out["ci_low"] <= out["exact_count"] <= out["ci_high"] and out["population"] == 20_000
    assert "Valid for Northstar Mart" in _run(settings, "validate", str(seg_file), "--tenant", "northstar").stdout


@pytest.mark.parametrize("args,message", [
    (["sql", "missing.json", "--tenant", "northstar"], "not found"),
    (["sql", "BAD", "--tenant", "northstar"], "not valid JSON"),
    (["sql", "SEG", "--tenant", "nowhere"], "unknown tenant 'nowhere'"),
    (["dryrun", "UNKNOWN", "--tenant", "northstar"], "Did you mean: Propensity Brand"),
])
def test_bad_input_is_one_clear_paragraph(settings, northstar, seg_file, tmp_path, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps([{"facet": "Propensity Brnd", "op": "in", "values": ["Scoop"]}]))
    args = [{"BAD": str(bad), "SEG": str(seg_file), "UNKNOWN": str(unknown)}.get(a, a) for a in args]
    err = _run(settings, *args, expect=2).stderr
    assert message in err and err.startswith("error:")


def test_ask_and_eval_json(settings, harbor, tmp_path):
    out = json.loads(_run(settings, "ask", "Keto or gluten-free households in Greater Boston", "--tenant", "harbor",
                          "--today", "2026-11-25", "--json").stdout)
    assert out["status"] == "done" and "Market Area" in out["sql"] or "market_area" in out["sql"]
    gt = tmp_path / "gt.csv"
    gt.write_text('id,query,expected,needs_clarification,notes\n'
                  'x1,Gold members who are text reachable,"[{""facet"": ""Rewards Level"", ""op"": ""in"", ""values"": [""Gold""]}, '
                  '{""facet"": ""Text Allowed"", ""op"": ""is_true""}]",false,\n')
    line = _run(settings, "eval", "--tenant", "harbor", "--ground-truth", str(gt), "--json").stdout.strip().splitlines()[-1]
    m = json.loads(line)
    assert set(m) == {"ground_truth", "facet_f1", "value_f1", "exact_rows", "clarification_precision", "clarification_recall",
                      "clarification_rate", "latency_ms_p50", "latency_ms_p95", "rows", "per_tag"}
    assert m["facet_f1"] == 1.0 and m["rows"] == 1
