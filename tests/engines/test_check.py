"""`segwork warehouse check` on live schemas, the Tenant page's warehouse section, repeatable samples."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.engines import open_engine
from core.engines.check import check_warehouse
from core.segment import Segment
from core.tenant import load_tenant
from tests.engines.conftest import PG_ENV, bound_tenant, segwork

ROOT = Path(__file__).resolve().parents[2]


def _pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(os.environ[PG_ENV], autocommit=True) as con:
        con.execute(sql)


def test_check_passes_on_the_loaded_tables_of_every_engine(bound):
    for tenant in bound["harbor"].values():
        report = check_warehouse(tenant)
        assert report.connected and report.ok, (tenant.config.engine.type, [r.model_dump() for r in report.problems])
        assert len(report.rows) > 40


def test_check_flags_a_renamed_column_a_wrong_type_and_a_missing_table(bound, tmp_path):
    pg = bound["harbor"]["postgres"]
    crm = pg.config.engine.table("customers").split(".")[0]
    _pg(f"DROP SCHEMA IF EXISTS broken CASCADE; CREATE SCHEMA broken; "
        f"CREATE TABLE broken.shoppers AS SELECT * FROM {crm}.shoppers; "
        f"ALTER TABLE broken.shoppers RENAME COLUMN rewards_level TO reward_tier; "
        f"ALTER TABLE broken.shoppers ALTER COLUMN email_allowed TYPE text")
    tables = {**pg.config.engine.model_dump()["tables"], "customers": {"name": "broken.shoppers", "columns": {"customer_id": "shopper_id"}},
              "events": {"name": "broken.touches"}}
    broken = bound_tenant(pg, tmp_path, {"type": "postgres", "connection_env": PG_ENV, "tables": tables})
    out = segwork(broken, "warehouse", "check", "--json", expect=1).stdout
    report = json.loads(out)
    problems = {(r["table"], r["column"]): r for r in report["rows"] if r["status"] != "ok"}
    renamed = problems[("broken.shoppers", "rewards_level")]
    assert renamed["status"] == "missing column" and "bindings.Rewards Level.column" in renamed["fix"]
    assert "reward_tier" in renamed["fix"]  # the columns that are there, to pick from
    typed = problems[("broken.shoppers", "email_allowed")]
    assert typed["status"] == "wrong type" and typed["found"] == "text" and "boolean" in typed["expected"]
    assert problems[("broken.touches", "")]["status"] == "missing table"
    assert len(problems) == 3
    text = segwork(broken, "warehouse", "check", expect=1).stdout
    assert "missing column" in text and "fix:" in text and "3 problem(s)" in text


def test_check_reports_an_unset_connection_variable(bound, tmp_path):
    lost = bound_tenant(bound["harbor"]["postgres"], tmp_path, {"type": "postgres", "connection_env": "SEGWORK_NOWHERE_URL"})
    report = check_warehouse(lost)
    assert not report.connected and "SEGWORK_NOWHERE_URL" in report.connection and "export" in report.connection


def test_a_secret_in_tenant_yaml_is_refused(bound, tmp_path):
    from core.errors import TenantError

    with pytest.raises(TenantError, match="never write the connection string"):
        bound_tenant(bound["harbor"]["postgres"], tmp_path,
                     {"type": "postgres", "connection_env": "postgresql://admin:hunter2@db:5432/crm"})


def test_samples_are_repeatable_and_sized_on_every_engine(engines):
    seg = Segment.from_spec([{"facet": "Email Allowed", "op": "is_true"}])
    for name, engine in engines["harbor"].items():
        first = engine.sample_count(seg, 10, 42)
        assert engine.sample_count(seg, 10, 42) == first, name
        matched, size = first
        assert 1_700 < size < 2_300 and 0.5 < matched / size < 0.75, (name, first)  # 10% of 20k; ~62% allowed
        other = engine.sample_count(seg, 10, 7)
        assert other != first, name  # another seed, other customers


def test_tenant_page_shows_engine_connection_and_problems(bound, tmp_path, monkeypatch):
    pg = bound["harbor"]["postgres"]
    monkeypatch.setenv("SEGWORK_TENANTS_DIR", str(pg.settings.tenants_dir))
    monkeypatch.setenv("SEGWORK_DATA_DIR", str(pg.settings.data_dir))
    at = AppTest.from_file(str(ROOT / "pages" / "5_Tenant.py"), default_timeout=300).run()
    assert not at.exception
    assert any("Engine **postgres**" in c.value for c in at.caption)
    assert any("Connected (postgres" in s.value and "typed right" in s.value for s in at.success)
    _pg("ALTER TABLE harbor_crm.shoppers RENAME COLUMN age_range TO age_band")
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "5_Tenant.py"), default_timeout=300).run()
        assert any("1 problem" in w.value for w in at.warning)
        assert at.dataframe[-1].value["column"].tolist() == ["age_range"]
    finally:
        _pg("ALTER TABLE harbor_crm.shoppers RENAME COLUMN age_band TO age_range")
