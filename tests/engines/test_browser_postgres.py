"""A tenant bound to PostgreSQL under its own table and column names, used from a real browser.

The app is served with a tenants root of two tenants: one on the generated DuckDB file, one whose
tenant.yaml says `engine: postgres`, names the environment variable holding the connection and maps
every table to a schema-qualified name with a renamed key column. PostgreSQL holds *fewer* customers
than the DuckDB file (every fifth one deleted there only), and the server's data dir has no DuckDB
file for the bound tenant: a figure or an export taken from DuckDB cannot pass for PostgreSQL's.

In Chromium: pick the tenant on the Tenant page (engine postgres, connected, schema ok), draft a
segment from a plain request in the workbench chat, check the dry-run figure against a count run on
PostgreSQL directly, save it, and download its CSV of customer ids from the library.
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.dryrun import get_dryrunner
from core.engines import reference_date
from core.sqlbuild import compile_segment
from core.store import Store
from tests.browser_kit import CHROMIUM, TURN, chromium, choose, say, settle, streamlit_app
from tests.engines.conftest import PG_ENV, bound_tenant, renamed_tables
from tests.engines.pg_server import pg_bindir

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)"),
              pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL server binaries are not installed (.ci/run installs them)")]

# 10% sample of ~16k customers: a thin segment (< exact_below matched sample rows) is counted exactly on the engine.
SAMPLED = {"sample_percent": 10.0, "min_sample_rows": 1_000, "exact_below": 100}
REQUEST = "Gold rewards members likely to buy organic produce"
NAME = "Gold organic (postgres)"
DELETE_EVERY = 5  # PostgreSQL keeps 4 customers in 5 of the DuckDB file's


def _pg(sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(os.environ[PG_ENV], autocommit=True) as con:
        cur = con.execute(sql)
        return cur.fetchall() if cur.description else []


@pytest.fixture(scope="module")
def app_setup(bound, northstar, settings, tmp_path_factory):
    """The bound tenant, its customers table on PostgreSQL, and the environment of the app server."""
    harbor = bound["harbor"]["duckdb"]
    loaded = bound["harbor"]["postgres"].config.engine  # where the session fixture loaded the tables
    schema = f"{harbor.id}_loyalty"
    members = f"{schema}.members"
    # A customers table of this tenant only (the loaded ones are shared with the other engine tests).
    _pg(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; "
        f"CREATE TABLE {members} AS SELECT * FROM {loaded.table('customers')}; "
        f"ALTER TABLE {members} RENAME COLUMN {loaded.column('customers', 'customer_id')} TO member_no; "
        f"DELETE FROM {members} WHERE member_no % {DELETE_EVERY} = 0")
    env_var = f"{harbor.id.upper()}_PG_URL"
    root = tmp_path_factory.mktemp("browser-pg-tenants")
    tables = {**renamed_tables(harbor.id), "customers": {"name": members, "columns": {"customer_id": "member_no"}}}
    tenant = bound_tenant(harbor, root, {"type": "postgres", "connection_env": env_var, "tables": tables}, dryrun=SAMPLED)
    shutil.copytree(northstar.root, root / northstar.id)  # a second tenant, on its DuckDB file, to pick from
    data = tmp_path_factory.mktemp("browser-pg-data")
    (data / northstar.warehouse_path.name).symlink_to(northstar.warehouse_path)  # none for the bound tenant
    store_path = tmp_path_factory.mktemp("browser-pg-store") / "workbench.sqlite"
    env = {**os.environ, "SEGWORK_TENANTS_DIR": str(root), "SEGWORK_DATA_DIR": str(data),
           "SEGWORK_INDEX_DIR": str(settings.index_dir), "SEGWORK_STORE": str(store_path),
           "SEGWORK_RUNS_DIR": str(data / "runs"), "HF_HUB_OFFLINE": "1", env_var: os.environ[PG_ENV]}
    env.pop(PG_ENV)  # only the variable tenant.yaml names
    env.pop("ANTHROPIC_API_KEY", None)
    yield {"tenant": tenant, "loaded": bound["harbor"]["postgres"], "members": members, "store": store_path, "env": env}
    _pg(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="module")
def page(app_setup):
    with streamlit_app(app_setup["env"]) as url, chromium() as browser:
        p = browser.new_page(viewport={"width": 1440, "height": 1000})
        p.goto(f"{url}/Tenant?tenant=northstar")
        yield p
        p.close()


def _nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    settle(page)


def test_bound_tenant_drafts_dry_runs_and_exports_on_postgres(app_setup, page, harbor):
    tenant, members = app_setup["tenant"], app_setup["members"]
    population = _pg(f"SELECT count(*) FROM {members}")[0][0]
    assert population < get_dryrunner(harbor).population  # the engines hold different customers

    # Tenant page: opened on the other tenant, then the bound one picked in the sidebar.
    main = page.locator('[data-testid="stMainBlockContainer"]')
    expect(main).to_contain_text("Engine duckdb", timeout=60_000)
    choose(page, "Tenant", tenant.display_name)
    expect(main).to_contain_text(f"Tenant — {tenant.display_name}", timeout=30_000)
    expect(main).to_contain_text("Engine postgres", timeout=30_000)
    expect(main).to_contain_text(f"customers → {members}")
    expect(main).to_contain_text(f"${tenant.config.engine.connection_env}")
    expect(main).to_contain_text(re.compile(r"Connected \(postgres .*all \d+ bound tables and columns are present and typed right"),
                                 timeout=60_000)

    # Workbench: the tenant stays chosen; a plain request becomes a sized draft.
    _nav(page, "Workbench")
    expect(main).to_contain_text(f"Describe an audience — {tenant.display_name}", timeout=30_000)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(
        "Sizes estimated on a sample of", timeout=TURN)  # the runner is warm once this shows
    say(page, REQUEST)
    # The answer in the chat is drawn last, by the run after the turn: then nothing stale is left.
    expect(page.locator('[data-testid="stChatMessage"]').last).to_contain_text("Audience:", timeout=TURN)
    settle(page)
    summary = page.locator(".st-key-draft_summary")
    expect(summary).to_contain_text(re.compile(r"customers? \((exact|estimate)\)"))
    expect(page.locator(".st-key-draft_conditions")).to_contain_text("Rewards Level is Gold")
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert f"of {population:,} customers" in sidebar, sidebar  # the sample was drawn on PostgreSQL
    shown = re.search(r"~?([\d,]+) customers? \((exact|estimate)\)", summary.inner_text())
    assert shown.group(2) == "exact", f"a thin segment is counted exactly on the engine: {summary.inner_text()}"
    figure = int(shown.group(1).replace(",", ""))
    page.get_by_role("tab", name="Dry-run").click()
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Audience (exact)")
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text(f"{figure:,}")

    # Save it, then read the segment the workbench built and count it on PostgreSQL directly.
    page.get_by_role("tab", name="Segment draft").click()
    page.get_by_label("Name", exact=True).fill(NAME)
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_text(f"Saved '{NAME}' as version 1")).to_be_visible(timeout=30_000)
    library = Store(app_setup["store"])
    segment = library.versions(library.segment_id(tenant.id, NAME))[-1].segment
    sql = compile_segment(segment, tenant, dialect="postgres", as_of=reference_date(app_setup["loaded"]))
    assert members in sql and "member_no" in sql
    pg_ids = [r[0] for r in _pg(sql)]
    assert figure == len(pg_ids) > 0
    duck = get_dryrunner(harbor).exact_count(segment)
    assert duck != figure, "the same segment on the DuckDB file must count other customers"

    # Library: the CSV of customer ids, downloaded from the page.
    _nav(page, "Segments")
    expect(page.locator('[data-testid="stMainBlockContainer"]')).to_contain_text(NAME, timeout=60_000)
    page.get_by_role("button", name="Prepare CSV of customer ids").click()
    download_button = page.get_by_role("button", name="Download CSV")
    download_button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as dl:
        download_button.click()
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text())))
    assert rows[0] == ["customer_id"]
    ids = [int(r[0]) for r in rows[1:]]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(pg_ids)
    assert not any(i % DELETE_EVERY == 0 for i in ids)  # none of the customers deleted on PostgreSQL only
