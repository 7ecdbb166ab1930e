"""Shadow dry-run: the repeatable sample file, funnel, breakdowns, CI, verdicts and the exact count."""
from __future__ import annotations

import dataclasses
import math
import datetime as dt
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from core.dryrun import (DryRunner, WarehouseMissing, ensure_sample, get_dryrunner, render_report,
                         sample_path_for, wilson)
from core.segment import Segment
from core.sqlbuild import compile_segment
from core.tenant import Tenant

MULTI = {"cohorts": [[{"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]},
                      {"facet": "Purchase Channel", "op": "in", "values": ["Online"]},
                      {"facet": "Email Opt In", "op": "is_true"}],
                     [{"facet": "Age Band", "op": "in", "values": ["65+"]},
                      {"facet": "Homeowner", "op": "is_true"}]]}


def _with(tenant: Tenant, data_dir: Path | None = None, **dryrun) -> Tenant:
    """The same tenant with other dry-run settings and/or another data dir."""
    config = tenant.config.model_copy(update={"dryrun": tenant.config.dryrun.model_copy(update=dryrun)})
    settings = tenant.settings.with_overrides(data_dir=data_dir) if data_dir else tenant.settings
    return dataclasses.replace(tenant, config=config, settings=settings)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchone()[0])


@pytest.fixture(scope="module")
def sample_con(northstar):
    con = duckdb.connect(str(ensure_sample(northstar)), read_only=True)
    yield con
    con.close()


# ---- the sample file -------------------------------------------------------------------------

def test_sample_holds_sampled_customers_and_only_their_facts(northstar, sample_con):
    path = ensure_sample(northstar)
    assert path == sample_path_for(northstar) and path.name == "northstar.sample-1pct-42.duckdb"
    assert path.parent == northstar.warehouse_path.parent
    sc = sample_con
    n = _one(sc, "SELECT count(*) FROM customers")
    assert 120 < n < 290  # ~1% of 20,000
    sc.execute(f"ATTACH '{northstar.warehouse_path}' AS wh (READ_ONLY)")
    try:
        for table in ("purchases", "propensity", "events"):
            mine = _one(sc, f"SELECT count(*) FROM {table}")
            theirs = _one(sc, f"SELECT count(*) FROM wh.{table} t WHERE t.customer_id IN (SELECT customer_id FROM customers)")
            strays = _one(sc, f"SELECT count(*) FROM {table} t WHERE t.customer_id NOT IN (SELECT customer_id FROM customers)")
            assert mine == theirs > 0 and strays == 0, table
    finally:
        sc.execute("DETACH wh")


def test_sample_is_built_once_and_is_repeatable(northstar, tmp_path):
    path = ensure_sample(northstar)
    before = path.stat().st_mtime_ns
    assert ensure_sample(northstar) == path and path.stat().st_mtime_ns == before
    # The same warehouse under another directory draws the very same customers (fixed seed).
    copy = _with(northstar, data_dir=tmp_path)
    shutil.copy(northstar.warehouse_path, copy.warehouse_path)
    ids = [duckdb.connect(str(ensure_sample(t)), read_only=True).execute(
        "SELECT list(customer_id ORDER BY customer_id) FROM customers").fetchone()[0] for t in (northstar, copy)]
    assert ids[0] == ids[1] and len(ids[0]) > 100
    # Another seed draws other customers.
    other = _with(copy, seed=7)
    assert sample_path_for(other).name == "northstar.sample-1pct-7.duckdb"
    ids7 = duckdb.connect(str(ensure_sample(other)), read_only=True).execute(
        "SELECT list(customer_id ORDER BY customer_id) FROM customers").fetchone()[0]
    assert ids7 != ids[0]


def test_sample_is_rebuilt_when_the_warehouse_changes(northstar, tmp_path):
    t = _with(northstar, data_dir=tmp_path, sample_percent=10)
    shutil.copy(northstar.warehouse_path, t.warehouse_path)
    first = get_dryrunner(t)
    assert first.population == 20_000 and 1_700 < first.sample_size < 2_300
    assert get_dryrunner(t) is first  # cached per tenant and warehouse version
    con = duckdb.connect(str(t.warehouse_path))
    con.execute("DELETE FROM customers WHERE customer_id % 4 = 0")
    con.close()
    second = get_dryrunner(t)
    assert second is not first
    assert second.population == 15_000 and second.sample_size < first.sample_size
    seg = Segment.from_spec([{"facet": "Email Opt In", "op": "is_true"}])
    wh = duckdb.connect(str(t.warehouse_path), read_only=True)
    assert second.exact_count(seg) == _one(wh, "SELECT count(*) FROM customers WHERE email_opt_in")
    wh.close()


def test_missing_warehouse_says_how_to_make_it(northstar, tmp_path):
    t = _with(northstar, data_dir=tmp_path / "empty")
    with pytest.raises(WarehouseMissing, match="segwork data generate --tenant northstar"):
        get_dryrunner(t)


def test_dry_run_never_writes(northstar):
    runner = get_dryrunner(northstar)
    stamp = northstar.warehouse_path.stat().st_mtime_ns
    runner.run(Segment.from_spec(MULTI))
    runner.exact_count(Segment.from_spec(MULTI))
    with pytest.raises(duckdb.Error, match="read-only"):
        runner._cursor().execute("DELETE FROM customers")
    assert northstar.warehouse_path.stat().st_mtime_ns == stamp


# ---- counts, funnel, breakdowns ----------------------------------------------------------------

def test_funnel_counts_each_cohort_in_order_then_their_or(northstar, sample_con):
    res = get_dryrunner(northstar).run(Segment.from_spec(MULTI))
    sc = sample_con
    one_purchase = "EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.brand = 'Scoop'{})"
    online = " AND p.channel = 'Online'"
    c1 = f"{one_purchase.format(online)} AND email_opt_in"
    c2 = "age_band = '65+' AND homeowner"
    expected = [
        (1, _one(sc, f"SELECT count(*) FROM customers c WHERE {one_purchase.format('')}")),
        (1, _one(sc, f"SELECT count(*) FROM customers c WHERE {one_purchase.format(online)}")),
        (1, _one(sc, f"SELECT count(*) FROM customers c WHERE {c1}")),
        (2, _one(sc, "SELECT count(*) FROM customers c WHERE age_band = '65+'")),
        (2, _one(sc, f"SELECT count(*) FROM customers c WHERE {c2}")),
        (0, _one(sc, f"SELECT count(*) FROM customers c WHERE ({c1}) OR ({c2})")),
    ]
    assert [(s.cohort, s.remaining) for s in res.funnel] == expected
    assert expected[0][1] > expected[1][1] > 0 and expected[3][1] > expected[4][1] > 0
    assert res.sample_matched == expected[-1][1]
    assert res.funnel[-1].label == "any of cohorts 1, 2"
    assert res.funnel[3].label == "Age Band is 65+"
    scale = res.population / res.sample_size
    assert [s.estimate for s in res.funnel] == [round(n * scale) for _, n in expected]


def test_single_cohort_funnel_has_no_or_step(northstar):
    res = get_dryrunner(northstar).run(Segment.from_spec(MULTI["cohorts"][1]))
    assert [s.cohort for s in res.funnel] == [1, 1]
    assert res.funnel[-1].remaining == res.sample_matched


def test_breakdowns_match_a_group_by_of_the_matched_sample(northstar, sample_con):
    res = get_dryrunner(northstar).run(Segment.from_spec(MULTI))
    assert list(res.breakdowns) == ["Region", "Membership Tier", "Age Band"]  # tenant.yaml order
    where = ("(EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.brand = 'Scoop' "
             "AND p.channel = 'Online') AND email_opt_in) OR (age_band = '65+' AND homeowner)")
    for name, column in [("Region", "region"), ("Membership Tier", "membership_tier"), ("Age Band", "age_band")]:
        hand = dict(sample_con.execute(f"SELECT {column}, count(*) FROM customers c WHERE {where} GROUP BY 1").fetchall())
        rows = res.breakdowns[name]
        assert {r.value: r.count for r in rows} == {str(k): v for k, v in hand.items()}
        assert sum(r.count for r in rows) == res.sample_matched
        assert [r.count for r in rows] == sorted((r.count for r in rows), reverse=True)
        assert abs(sum(r.share for r in rows) - 1) < 1e-9


def test_list_column_breakdown_counts_each_value(northstar, sample_con):
    t = _with(northstar, breakdowns=["Lifestyle Affinity", "Region"])
    runner = DryRunner(t)
    try:
        res = runner.run(Segment.from_spec([{"facet": "Homeowner", "op": "is_true"}]))
    finally:
        runner.close()
    assert list(res.breakdowns) == ["Lifestyle Affinity", "Region"]
    hand = dict(sample_con.execute("SELECT v, count(*) FROM (SELECT unnest(lifestyle_affinity) AS v FROM customers "
                                   "WHERE homeowner) GROUP BY v").fetchall())
    assert {r.value: r.count for r in res.breakdowns["Lifestyle Affinity"]} == hand and len(hand) > 3
    assert sum(r.count for r in res.breakdowns["Region"]) == res.sample_matched


def test_estimate_and_interval_bracket_the_exact_count(northstar):
    runner = get_dryrunner(northstar)
    for spec in (MULTI, [{"facet": "Email Opt In", "op": "is_true"},
                         {"facet": "Membership Tier", "op": "in", "values": ["Basic", "Plus"]}],
                 [{"facet": "Purchased Super Department", "op": "not_in", "values": ["Electronics"]}]):
        seg = Segment.from_spec(spec)
        res = runner.run(seg)
        exact = runner.exact_count(seg)
        lo, hi = wilson(res.sample_matched, res.sample_size)
        assert res.share == res.sample_matched / res.sample_size
        assert res.estimate == round(res.share * res.population)
        assert res.ci_low <= res.estimate <= res.ci_high
        assert (res.ci_low, res.ci_high) == (math.floor(lo * res.population), math.ceil(hi * res.population))
        assert res.ci_low <= exact <= res.ci_high, (spec, exact, res.summary())
        with duckdb.connect(str(northstar.warehouse_path), read_only=True) as con:
            assert exact == _one(con, compile_segment(seg, northstar, as_of=runner.as_of, count=True))


def test_verdicts_follow_the_tenant_thresholds(northstar):
    runner = get_dryrunner(northstar)
    assert runner.run(Segment.from_spec([{"facet": "Vehicle Owner", "op": "is_true"}])).verdict == "too_broad"
    empty = runner.run(Segment.from_spec([{"facet": "State", "op": "in", "values": ["Nowhere"]}]))
    assert (empty.verdict, empty.estimate, empty.breakdowns) == ("empty", 0, {})
    assert empty.funnel[0].remaining == 0
    tx = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas"]}])
    share = runner.run(tx).share
    assert runner.run(tx).verdict == "ok"
    strict = _with(northstar)
    strict.config.thresholds = northstar.config.thresholds.model_copy(update={"too_narrow_share": share + 0.01})
    narrow = DryRunner(strict)
    try:
        assert narrow.run(tx).verdict == "too_narrow"
    finally:
        narrow.close()


def test_hostile_values_count_and_harm_nothing(northstar):
    runner = get_dryrunner(northstar)
    seg = Segment.from_spec([{"facet": "State", "op": "in", "values": ["x'); DELETE FROM customers; --", "Texas"]}])
    res = runner.run(seg)
    with duckdb.connect(str(northstar.warehouse_path), read_only=True) as con:
        texas = _one(con, "SELECT count(*) FROM customers WHERE state = 'Texas'")
        assert runner.exact_count(seg) == texas > 0
        assert _one(con, "SELECT count(*) FROM customers") == 20_000
    assert res.sample_matched == res.funnel[0].remaining > 0


def test_relative_windows_are_pinned_to_the_warehouse_as_of(northstar, tmp_path):
    from core.warehouse import generate

    t = _with(northstar, data_dir=tmp_path, sample_percent=25)
    generate(t, customers=3_000, seed=5, as_of=dt.date(2025, 6, 30))
    runner = get_dryrunner(t)
    assert runner.as_of == dt.date(2025, 6, 30)
    seg = Segment.from_spec([{"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 60},
                             {"facet": "Email Clicked Date", "op": "within_last_days", "days": 120}])
    with duckdb.connect(str(t.warehouse_path), read_only=True) as con:
        hand = _one(con, """SELECT count(*) FROM customers c
            WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.purchase_date >= DATE '2025-05-01')
              AND EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.customer_id AND e.event = 'email_click'
                          AND e.event_date >= DATE '2025-03-02')""")
        exported = _one(con, compile_segment(seg, t, count=True))  # the warehouse's date, as the counts
        today_based = _one(con, compile_segment(seg, t, count=True, as_of=dt.date.today()))  # nothing that recent
    assert runner.exact_count(seg) == hand == exported > 30 and today_based == 0
    res = runner.run(seg)
    assert res.sample_matched > 0 and res.ci_low <= hand <= res.ci_high


def test_concurrent_runs_agree(northstar):
    runner = get_dryrunner(northstar)
    seg = Segment.from_spec(MULTI)
    want = runner.run(seg).model_dump(exclude={"ms"})
    got: list[dict] = []

    def work() -> None:
        for _ in range(5):
            got.append(runner.run(seg).model_dump(exclude={"ms"}))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(got) == 20 and all(g == want for g in got)


def test_harbor_windowed_purchase_facets_and_default_tier(harbor):
    runner = get_dryrunner(harbor)
    seg = Segment.from_spec([{"facet": "Aisles Shopped 13 Weeks", "op": "in", "values": ["Seafood"]},
                             {"facet": "Likelihood To Buy Aisle", "op": "not_in", "values": ["Produce"]}])
    window = (runner.as_of - dt.timedelta(days=91)).isoformat()
    with duckdb.connect(str(harbor.warehouse_path), read_only=True) as con:
        hand = _one(con, f"""SELECT count(*) FROM customers c
            WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.aisle = 'Seafood'
                          AND p.purchase_date >= DATE '{window}')
              AND NOT EXISTS (SELECT 1 FROM propensity s WHERE s.customer_id = c.customer_id AND s.level = 'aisle'
                              AND s.value = 'Produce' AND s.pct <= 25)""")
    assert runner.exact_count(seg) == hand > 0
    res = runner.run(seg)
    assert list(res.breakdowns) == ["Market Area", "Rewards Level", "Age Range"]


def test_report_text_lists_the_funnel_and_breakdowns(northstar):
    seg = Segment.from_spec(MULTI)
    res = get_dryrunner(northstar).run(seg)
    text = render_report(seg, res, exact=1234)
    assert f"{res.estimate:,}" in text and "Exact:    1,234 customers" in text
    assert "any of cohorts 1, 2" in text and "By Region:" in text
    step = next(line for line in text.splitlines() if line.split()[:2] == ["2", "Homeowner"])
    assert step.split()[-2:] == [f"{res.funnel[4].remaining:,}", f"{res.funnel[4].estimate:,}"]
