"""Tenant folders are data; the generator builds every bound column from them."""
from __future__ import annotations

import shutil

import duckdb
import pytest

from core.errors import TenantError
from core.segment import check_segment
from core.tenant import list_tenants, load_tenant
from core.warehouse import generate

KIND_TYPES = {"boolean": {"BOOLEAN"}, "numeric": {"DOUBLE", "INTEGER", "BIGINT", "DECIMAL"},
              "date": {"DATE"}, "categorical": {"VARCHAR", "VARCHAR[]"}}


@pytest.mark.parametrize("tenant_id", ["northstar", "harbor"])
def test_ground_truth_is_valid_and_every_facet_is_bound(settings, tenant_id):
    tenant = load_tenant(tenant_id, settings)
    assert tenant.ground_truth, "ground truth rows expected"
    for row in tenant.ground_truth:
        assert check_segment(row.expected, tenant.catalog) == [], row.id
    for facet in tenant.catalog.facets:
        assert facet.name in tenant.config.bindings


@pytest.mark.parametrize("fixture", ["northstar", "harbor"])
def test_every_customer_binding_has_a_typed_column(request, fixture):
    tenant = request.getfixturevalue(fixture)
    con = duckdb.connect(str(tenant.warehouse_path), read_only=True)
    cols = {r[0]: r[1] for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'customers'").fetchall()}
    for name, b in tenant.config.bindings.items():
        facet = tenant.catalog.get(name)
        if b.source == "customer":
            assert b.column in cols, name
            dtype = cols[b.column].split("(")[0]
            assert dtype in KIND_TYPES[facet.kind if facet.kind != "propensity" else "categorical"], (name, dtype)
            if facet.kind == "categorical":
                got = con.execute(f"SELECT DISTINCT unnest({b.column}) FROM customers" if b.multi
                                  else f"SELECT DISTINCT {b.column} FROM customers").fetchall()
                assert {g[0] for g in got if g[0] is not None} <= set(facet.value_list), name
    con.close()


def test_propensity_tiers_hold_their_share(northstar):
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    n = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    rows = con.execute("""SELECT level, value, count(*) FILTER (WHERE pct <= 10), count(*) FILTER (WHERE pct <= 50)
                          FROM propensity GROUP BY ALL""").fetchall()
    assert len(rows) > 200
    for level, value, top10, top50 in rows:
        assert 0.07 < top10 / n < 0.16, (level, value, top10 / n)
        assert 0.42 < top50 / n < 0.66, (level, value, top50 / n)
    con.close()


def test_brands_follow_their_divisions_and_buyers_rank_higher(northstar):
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    brand_divs = northstar.catalog.hierarchy_map("brand_divisions")
    pairs = con.execute("SELECT DISTINCT brand, division FROM purchases WHERE brand IS NOT NULL").fetchall()
    assert pairs
    for brand, division in pairs:
        assert division in brand_divs[brand], (brand, division)
    buyers, others = con.execute("""
        WITH b AS (SELECT DISTINCT customer_id FROM purchases WHERE brand = 'Scoop')
        SELECT avg(CASE WHEN b.customer_id IS NOT NULL THEN (p.customer_id IS NOT NULL)::INT END),
               avg(CASE WHEN b.customer_id IS NULL THEN (p.customer_id IS NOT NULL)::INT END)
        FROM customers c LEFT JOIN b USING (customer_id)
        LEFT JOIN (SELECT customer_id FROM propensity WHERE level = 'brand' AND value = 'Scoop' AND pct <= 10) p
          ON p.customer_id = c.customer_id""").fetchone()
    assert buyers > others * 1.2
    con.close()


def test_generation_is_deterministic_for_a_seed(settings, tmp_path):
    tenant = load_tenant("harbor", settings)
    a = generate(tenant, customers=3000, seed=5, out=tmp_path / "a.duckdb", as_of=__import__("datetime").date(2026, 1, 1))
    b = generate(tenant, customers=3000, seed=5, out=tmp_path / "b.duckdb", as_of=__import__("datetime").date(2026, 1, 1))
    assert a.rows == b.rows and a.rows["customers"] == 3000
    q = "SELECT sum(hash(columns(*))::HUGEINT) FROM customers"
    ha = duckdb.connect(str(a.path), read_only=True).execute(q).fetchone()
    hb = duckdb.connect(str(b.path), read_only=True).execute(q).fetchone()
    assert ha == hb


def test_consent_rates_are_plausible(harbor):
    con = duckdb.connect(str(harbor.warehouse_path), read_only=True)
    email, gold = con.execute(
        "SELECT avg(email_allowed::INT), avg((rewards_level = 'Gold')::INT) FROM customers").fetchone()
    assert 0.55 < email < 0.7 and 0.1 < gold < 0.2
    con.close()


def test_a_copied_tenant_folder_works_without_code_change(settings, tmp_path):
    tenants = tmp_path / "tenants"
    shutil.copytree(settings.tenants_dir / "harbor", tenants / "seaside")
    catalog = tenants / "seaside" / "catalog.yaml"  # the catalog names its tenant: it must match the folder
    catalog.write_text(catalog.read_text().replace("tenant_id: harbor", "tenant_id: seaside", 1))
    s2 = settings.with_overrides(tenants_dir=tenants, data_dir=tmp_path / "data")
    assert list_tenants(s2) == ["seaside"]
    tenant = load_tenant("seaside", s2)
    report = generate(tenant, customers=2000, seed=1)
    assert report.path == tmp_path / "data" / "seaside.duckdb"
    assert report.rows["customers"] == 2000 and report.rows["purchases"] > 0


def test_missing_binding_names_file_and_facet(settings, tmp_path):
    tenants = tmp_path / "tenants"
    shutil.copytree(settings.tenants_dir / "harbor", tenants / "harbor")
    path = tenants / "harbor" / "tenant.yaml"
    text = path.read_text()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("Buys Local:")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TenantError) as exc:
        load_tenant("harbor", settings.with_overrides(tenants_dir=tenants))
    assert "tenant.yaml" in str(exc.value) and "Buys Local" in str(exc.value)


def test_unknown_tenant_lists_known_ones(settings):
    with pytest.raises(TenantError, match="known tenants: harbor, northstar"):
        load_tenant("nowhere", settings)


@pytest.mark.parametrize("fixture", ["northstar", "harbor"])
def test_purchases_are_written_clustered_by_top_level_then_date(request, fixture):
    """The physical order lets row-group min/max skip other departments and old dates at 10M."""
    tenant = request.getfixturevalue(fixture)
    top = tenant.config.warehouse.products["levels"][0]["column"]
    con = duckdb.connect(str(tenant.warehouse_path), read_only=True)
    n, out_of_order = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE prev_top IS NOT NULL AND ({top}, purchase_date) < (prev_top, prev_date))
        FROM (SELECT {top}, purchase_date, lag({top}) OVER (ORDER BY rowid) AS prev_top,
                     lag(purchase_date) OVER (ORDER BY rowid) AS prev_date FROM purchases)""").fetchone()
    con.close()
    assert n > 1000 and out_of_order == 0
