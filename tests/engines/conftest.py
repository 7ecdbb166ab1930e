"""Real engines for the session: a private PostgreSQL server and one local Spark session.

Both demo tenants (the 20k-customer fixture warehouses) are loaded through `segwork warehouse
load`: into PostgreSQL under *other* table and column names than the defaults (a tenant's own
tables), and into Parquet files that Spark (and DuckDB over files) read.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.engines import open_engine
from core.tenant import Tenant, load_tenant
from tests.engines.pg_server import start_server

SEGWORK = str(Path(sys.executable).parent / "segwork")
PG_ENV = "SEGWORK_TEST_PG_URL"


def renamed_tables(tenant_id: str) -> dict:
    """A tenant's own names: schema-qualified tables, renamed key columns."""
    crm, sales, ml = f"{tenant_id}_crm", f"{tenant_id}_sales", f"{tenant_id}_ml"
    return {
        "customers": {"name": f"{crm}.shoppers", "columns": {"customer_id": "shopper_id"}},
        "purchases": {"name": f"{sales}.basket_lines", "columns": {"customer_id": "shopper_id", "purchase_date": "sold_on"}},
        "propensity": {"name": f"{ml}.scores", "columns": {"customer_id": "shopper_id", "pct": "percentile", "value": "item"}},
        "events": {"name": f"{crm}.touches", "columns": {"customer_id": "shopper_id", "event": "kind", "event_date": "happened_on"}},
    }


def bound_tenant(base: Tenant, root: Path, engine: dict, **sections: dict) -> Tenant:
    """A copy of the tenant folder whose tenant.yaml binds it to another engine (and other settings)."""
    folder = root / base.id
    if not folder.exists():
        shutil.copytree(base.root, folder)
    raw = yaml.safe_load((folder / "tenant.yaml").read_text())
    raw["engine"] = engine
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    (folder / "tenant.yaml").write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return load_tenant(base.id, base.settings.with_overrides(tenants_dir=root))


def segwork(tenant: Tenant, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "SEGWORK_DATA_DIR": str(tenant.settings.data_dir),
           "SEGWORK_TENANTS_DIR": str(tenant.settings.tenants_dir), "HF_HUB_OFFLINE": "1"}
    p = subprocess.run([SEGWORK, *args, "--tenant", tenant.id], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == expect, p.stdout + p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture(scope="session")
def pg_url():
    server = start_server()
    os.environ[PG_ENV] = server.url
    yield server.url
    os.environ.pop(PG_ENV, None)
    server.stop()


@pytest.fixture(scope="session")
def bound(harbor, northstar, pg_url, tmp_path_factory):
    """{tenant id: {engine name: Tenant bound to it}} with the data loaded by the CLI."""
    out: dict[str, dict[str, Tenant]] = {}
    for base in (harbor, northstar):
        pg = bound_tenant(base, tmp_path_factory.mktemp("pg-tenants"),
                          {"type": "postgres", "connection_env": PG_ENV, "tables": renamed_tables(base.id)})
        segwork(pg, "warehouse", "load", "--engine", "postgres")
        lake = base.settings.data_dir / f"{base.id}.lake"
        spark = bound_tenant(base, tmp_path_factory.mktemp("spark-tenants"), {"type": "spark", "path": str(lake)})
        segwork(spark, "warehouse", "load", "--engine", "spark")
        files = bound_tenant(base, tmp_path_factory.mktemp("file-tenants"), {"type": "duckdb", "path": str(lake)})
        out[base.id] = {"duckdb": base, "postgres": pg, "spark": spark, "duckdb-files": files}
    return out


@pytest.fixture(scope="session")
def engines(bound):
    """{tenant id: {engine name: Engine}}; one Spark session serves both tenants."""
    opened = {tid: {name: open_engine(t) for name, t in by.items()} for tid, by in bound.items()}
    yield opened
    for by in opened.values():
        for name, engine in by.items():
            if name != "spark":
                engine.close()
