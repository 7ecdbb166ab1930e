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
                         sample_path_for, sample_size_for)
from core.interval import scaled_interval, wilson
from core.segment import Condition, Segment
from core.sqlbuild import compile_segment
from core.tenant import Tenant

# The fixture warehouses hold 20,000 customers, fewer than the default min_sample_rows (50,000), so
# by default they are counted whole; `sampled` draws a real 2,000-customer sample from the same file.
SAMPLED = {"sample_percent": 1, "min_sample_rows": 2_000}

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
def sampled(northstar) -> Tenant:
    return _with(northstar, **SAMPLED)


@pytest.fixture(scope="module")
def sample_con(sampled):
    con = duckdb.connect(str(ensure_sample(sampled)), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def wh_con(northstar):
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    yield con
    con.close()


# ---- the sample file -------------------------------------------------------------------------

def test_sample_holds_sampled_customers_and_only_their_facts(sampled, sample_con):
    path = ensure_sample(sampled)
    assert path == sample_path_for(sampled) and path.name == "northstar.sample-1pct-min2000-42.duckdb"
    assert path.parent == sampled.warehouse_path.parent
    sc = sample_con
    assert _one(sc, "SELECT count(*) FROM customers") == 2_000  # max(1% of 20,000, 2,000)
    sc.execute(f"ATTACH '{sampled.warehouse_path}' AS wh (READ_ONLY)")
    try:
        for table in ("purchases", "propensity", "events"):
            mine = _one(sc, f"SELECT count(*) FROM {table}")
            theirs = _one(sc, f"SELECT count(*) FROM wh.{table} t WHERE t.customer_id IN (SELECT customer_id FROM customers)")
            strays = _one(sc, f"SELECT count(*) FROM {table} t WHERE t.customer_id NOT IN (SELECT customer_id FROM customers)")
            assert mine == theirs > 0 and strays == 0, table
        # A random sample, not a slice: ids spread over the whole range, shares close to the table's.
        lo, hi = sc.execute("SELECT min(customer_id), max(customer_id) FROM customers").fetchone()
        assert lo < 500 and hi > 19_500
        sample_share = _one(sc, "SELECT count(*) FILTER (WHERE email_opt_in) * 10000 // count(*) FROM customers") / 1e4
        table_share = _one(sc, "SELECT count(*) FILTER (WHERE email_opt_in) * 10000 // count(*) FROM wh.customers") / 1e4
        assert abs(sample_share - table_share) < 0.04
    finally:
        sc.execute("DETACH wh")


def test_sample_size_is_the_larger_of_percent_and_minimum_capped_at_the_population():
    assert sample_size_for(10_000_000, 1, 50_000) == 100_000
    assert sample_size_for(200_000, 1, 50_000) == 50_000
    assert sample_size_for(20_000, 30, 2_000) == 6_000
    assert sample_size_for(20_000, 1, 50_000) == 20_000


def test_small_population_is_counted_whole_and_says_so(northstar, wh_con):
    runner = get_dryrunner(northstar)  # 20,000 customers <= min_sample_rows 50,000
    assert runner.whole_table and runner.sample_size == runner.population == 20_000
    res = runner.run(Segment.from_spec([{"facet": "Homeowner", "op": "is_true"}]))
    hand = _one(wh_con, "SELECT count(*) FROM customers WHERE homeowner")
    assert (res.exact, res.basis, res.estimate, res.ci_low, res.ci_high) == (True, "whole_table", hand, hand, hand)
    assert "whole table" in res.exact_reason and "whole table" in res.summary()
    assert res.exact_ms == 0  # nothing counted twice


def test_sample_is_built_once_and_is_repeatable(sampled, tmp_path):
    path = ensure_sample(sampled)
    before = path.stat().st_mtime_ns
    assert ensure_sample(sampled) == path and path.stat().st_mtime_ns == before
    # The same warehouse under another directory draws the very same customers (fixed seed).
    copy = _with(sampled, data_dir=tmp_path)
    shutil.copy(sampled.warehouse_path, copy.warehouse_path)
    ids = [duckdb.connect(str(ensure_sample(t)), read_only=True).execute(
        "SELECT list(customer_id ORDER BY customer_id) FROM customers").fetchone()[0] for t in (sampled, copy)]
    assert ids[0] == ids[1] and len(ids[0]) == 2_000
    # Another seed draws other customers.
    other = _with(copy, seed=7)
    assert sample_path_for(other).name == "northstar.sample-1pct-min2000-7.duckdb"
    ids7 = duckdb.connect(str(ensure_sample(other)), read_only=True).execute(
        "SELECT list(customer_id ORDER BY customer_id) FROM customers").fetchone()[0]
    assert ids7 != ids[0] and 0 < len(set(ids7) & set(ids[0])) < 600  # ~10% of 2,000 by chance


def test_sample_is_rebuilt_when_the_warehouse_changes(northstar, tmp_path):
    t = _with(northstar, data_dir=tmp_path, sample_percent=10, min_sample_rows=1_000)
    shutil.copy(northstar.warehouse_path, t.warehouse_path)
    first = get_dryrunner(t)
    assert (first.population, first.sample_size, first.whole_table) == (20_000, 2_000, False)
    assert get_dryrunner(t) is first  # cached per tenant, warehouse version and settings
    assert get_dryrunner(_with(t, exact_below=7)) is not first
    con = duckdb.connect(str(t.warehouse_path))
    con.execute("DELETE FROM customers WHERE customer_id % 4 = 0")
    con.close()
    second = get_dryrunner(t)
    assert second is not first
    assert (second.population, second.sample_size) == (15_000, 1_500)
    seg = Segment.from_spec([{"facet": "Email Opt In", "op": "is_true"}])
    wh = duckdb.connect(str(t.warehouse_path), read_only=True)
    assert second.exact_count(seg) == _one(wh, "SELECT count(*) FROM customers WHERE email_opt_in")
    wh.close()


@pytest.mark.parametrize("field, value, says", [
    ("sample_percent", 0, "greater than 0"), ("sample_percent", 150, "less than or equal to 100"),
    ("min_sample_rows", 0, "greater than or equal to 1"), ("exact_below", -1, "greater than or equal to 0"),
    ("max_relative_error", 0, "greater than 0"), ("min_sample_rows", "lots", "valid integer")])
def test_bad_dryrun_settings_name_the_file_and_field(settings, tmp_path, field, value, says):
    from core.errors import TenantError
    from core.tenant import load_tenant

    root = tmp_path / "tenants"
    shutil.copytree(settings.tenants_dir / "northstar", root / "northstar")
    path = root / "northstar" / "tenant.yaml"
    text = path.read_text()
    assert f"\n  {field}:" in text  # the shipped tenant.yaml documents every setting
    lines = [f"  {field}: {value}" if line.startswith(f"  {field}:") else line for line in text.splitlines()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(TenantError) as err:
        load_tenant("northstar", settings.with_overrides(tenants_dir=root))
    assert "tenant.yaml" in str(err.value) and f"dryrun.{field}" in str(err.value) and says in str(err.value)


def test_missing_warehouse_says_how_to_make_it(northstar, tmp_path):
    t = _with(northstar, data_dir=tmp_path / "empty")
    with pytest.raises(WarehouseMissing, match="segwork data generate --tenant northstar"):
        get_dryrunner(t)


def test_dry_run_never_writes(sampled):
    runner = get_dryrunner(sampled)
    stamp = sampled.warehouse_path.stat().st_mtime_ns
    runner.run(Segment.from_spec(MULTI))
    runner.exact_count(Segment.from_spec(MULTI))
    with pytest.raises(duckdb.Error, match="read-only"):
        runner._cursor().execute("DELETE FROM customers")
    with pytest.raises(duckdb.Error, match="read-only"):
        runner._full_cursor().execute("DELETE FROM customers")
    assert sampled.warehouse_path.stat().st_mtime_ns == stamp


# ---- counts, funnel, breakdowns ----------------------------------------------------------------

def test_funnel_counts_each_cohort_in_order_then_their_or(sampled, sample_con):
    runner = get_dryrunner(_with(sampled, exact_below=0, max_relative_error=100))  # sample figures only
    res = runner.run(Segment.from_spec(MULTI))
    assert not res.exact
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


def test_single_cohort_funnel_has_no_or_step(sampled):
    res = get_dryrunner(sampled).run(Segment.from_spec(MULTI["cohorts"][1]))
    assert [s.cohort for s in res.funnel] == [1, 1]
    assert res.funnel[-1].remaining == res.sample_matched


def test_breakdowns_match_a_group_by_of_the_matched_sample(sampled, sample_con):
    res = get_dryrunner(sampled).run(Segment.from_spec(MULTI))
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


def test_list_column_breakdown_counts_each_value(sampled, sample_con):
    t = _with(sampled, breakdowns=["Lifestyle Affinity", "Region"])
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


def test_wilson_interval_shrinks_with_the_finite_population_correction():
    plain = wilson(50, 1_000)
    assert plain[0] < 0.05 < plain[1]
    fpc = wilson(50, 1_000, population=2_000)  # half the population sampled: variance about halved
    assert plain[0] < fpc[0] < 0.05 < fpc[1] < plain[1]
    assert abs((fpc[1] - fpc[0]) / (plain[1] - plain[0]) - math.sqrt(1_000 / 1_999)) < 0.02
    assert wilson(50, 1_000, population=1_000) == (0.05, 0.05)  # the whole population: no doubt left
    est, lo, hi = scaled_interval(50, 1_000, 2_000)
    assert (est, lo, hi) == (100, math.floor(fpc[0] * 2_000), math.ceil(fpc[1] * 2_000))


def test_estimate_and_interval_bracket_the_exact_count(sampled, wh_con):
    runner = get_dryrunner(sampled)
    for spec in ([{"facet": "Email Opt In", "op": "is_true"},
                  {"facet": "Membership Tier", "op": "in", "values": ["Basic", "Plus"]}],
                 [{"facet": "Purchased Super Department", "op": "not_in", "values": ["Electronics"]}],
                 [{"facet": "Age Band", "op": "in", "values": ["65+"]}, {"facet": "Homeowner", "op": "is_true"}]):
        seg = Segment.from_spec(spec)
        res = runner.run(seg)
        exact = runner.exact_count(seg)
        assert not res.exact and res.sample_matched >= 100, spec
        assert (res.estimate, res.ci_low, res.ci_high) == scaled_interval(res.sample_matched, res.sample_size, res.population)
        assert res.ci_low <= res.estimate <= res.ci_high
        assert res.share == res.estimate / res.population
        assert res.ci_low <= exact <= res.ci_high, (spec, exact, res.summary())
        assert exact == _one(wh_con, compile_segment(seg, sampled, as_of=runner.as_of, count=True))


# ---- exact when thin ------------------------------------------------------------------------

def _narrow_segments(con: duckdb.DuckDBPyConnection) -> list[tuple[list[dict], int]]:
    """Narrow audiences drawn from the warehouse itself: state x tier x a flag, exact size 1-200."""
    rows = con.execute("""SELECT state, membership_tier, homeowner, count(*) AS n FROM customers
                          WHERE state IS NOT NULL AND membership_tier IS NOT NULL AND homeowner IS NOT NULL
                          GROUP BY ALL HAVING count(*) BETWEEN 1 AND 200 ORDER BY n, state, membership_tier, homeowner""").fetchall()
    picks = rows[:: max(1, len(rows) // 12)][:12] + rows[-2:]
    return [([{"facet": "State", "op": "in", "values": [state]},
              {"facet": "Membership Tier", "op": "in", "values": [tier]},
              {"facet": "Homeowner", "op": "is_true" if owner else "is_false"}], n) for state, tier, owner, n in picks]


def test_narrow_audiences_show_the_exact_count(sampled, wh_con, sample_con):
    from core.rules import validate

    runner = get_dryrunner(sampled)
    cases = _narrow_segments(wh_con)
    assert len(cases) >= 10 and min(n for _, n in cases) <= 5 and max(n for _, n in cases) >= 100
    kinds = set()
    for spec, n in cases:
        seg = Segment.from_spec(spec)
        res = runner.run(seg)
        assert res.sample_matched < 100  # 10% sample of at most 200 customers: always thin
        assert (res.exact, res.basis, res.estimate, res.ci_low, res.ci_high) == (True, "exact", n, n, n), spec
        assert res.verdict == "too_narrow" and res.verdict != "empty"
        assert res.size_text() == f"{n:,} customers (exact)" and "~" not in res.size_text()
        assert res.funnel[-1].estimate == n  # the funnel was counted exactly too
        assert "sampled customers match" in res.exact_reason or "no sampled customer" in res.exact_reason
        issues = validate(seg, sampled, dryrun=res).issues
        assert not any("~0" in i.message for i in issues)
        # Relaxations are sample estimates (hand counts on the sample file), never a bare 0.
        state, tier, owner = spec[0]["values"][0], spec[1]["values"][0], spec[2]["op"] == "is_true"
        hand = {f"State is {state}": f"membership_tier = '{tier}' AND homeowner = {owner}",
                f"Membership Tier is {tier}": f"state = '{state}' AND homeowner = {owner}",
                "Homeowner" if owner else "not Homeowner": f"state = '{state}' AND membership_tier = '{tier}'"}
        for x in res.relaxations:
            assert not x.exact and x.sample_matched == _one(sample_con, f"SELECT count(*) FROM customers WHERE {hand[x.condition]}")
            assert x.estimate == round(x.sample_matched * runner.scale)
            shown = x.figure(100)
            assert shown == (f"under ~{x.ci_high:,}" if x.sample_matched < 100 else f"~{x.estimate:,}") and x.ci_high > 0
            assert f"without '{x.condition}': {shown}" in res.verdict_reason
            kinds.add(x.sample_matched < 100)
    assert kinds == {True, False}


def test_only_an_exact_zero_is_empty(sampled):
    res = get_dryrunner(sampled).run(Segment.from_spec([{"facet": "State", "op": "in", "values": ["Nowhere"]}]))
    assert (res.verdict, res.exact, res.estimate, res.breakdowns) == ("empty", True, 0, {})
    assert res.funnel[0].remaining == 0 and "exact" in res.verdict_reason


def test_a_wide_interval_also_gets_the_exact_count(sampled, wh_con):
    t = _with(sampled, exact_below=5)  # enough rows by count, but ±25% is not met
    seg = Segment.from_spec([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
                             {"facet": "Region", "op": "in", "values": ["Pacific"]}])
    res = get_dryrunner(t).run(seg)
    hand = _one(wh_con, "SELECT count(*) FROM customers WHERE membership_tier = 'Plus' AND region = 'Pacific'")
    half = (res.sample_ci_high - res.sample_ci_low) / 2
    assert 5 <= res.sample_matched and half > 0.25 * res.sample_estimate
    assert res.exact and res.estimate == hand and "wider than ±25%" in res.exact_reason
    wide = get_dryrunner(_with(t, max_relative_error=5.0)).run(seg)
    assert not wide.exact and wide.estimate == res.sample_estimate


# ---- reach per channel ----------------------------------------------------------------------

REACH_SQL = {  # written by hand from the catalogs' rules.reachability
    "northstar": {"email": "email_opt_in AND email_deliverable", "sms": "sms_opt_in", "push": "push_opt_in",
                  "direct_mail": "direct_mail_opt_in"},
    "harbor": {"email": "email_allowed AND NOT email_bounced", "sms": "text_allowed", "push": "app_notifications_allowed",
               "direct_mail": "mail_allowed"},
}


@pytest.mark.parametrize("tenant_id, spec, where", [
    ("northstar", MULTI, "(EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.brand = 'Scoop' "
                         "AND p.channel = 'Online') AND email_opt_in) OR (age_band = '65+' AND homeowner)"),
    ("harbor", [{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}], "rewards_level = 'Gold'")])
def test_reach_per_channel_matches_hand_written_counts(request, tenant_id, spec, where):
    tenant = request.getfixturevalue(tenant_id)
    seg = Segment.from_spec(spec)
    hand_sql = REACH_SQL[tenant_id]
    assert list(hand_sql) == list(tenant.catalog.rules.reachability)
    with duckdb.connect(str(tenant.warehouse_path), read_only=True) as con:
        full = {ch: _one(con, f"SELECT count(*) FROM customers c WHERE ({where}) AND {w}") for ch, w in hand_sql.items()}
    # Whole table (20,000 <= min_sample_rows): exact figures.
    res = get_dryrunner(tenant).run(seg)
    assert {r.channel: r.count for r in res.reach} == full and all(full.values())
    assert all(abs(r.share - r.count / res.estimate) < 1e-12 for r in res.reach)
    # A real sample: reach is the sample count scaled like the size, and exact when the size is.
    t = _with(tenant, **SAMPLED)
    runner = get_dryrunner(t)
    res = runner.run(seg)
    with duckdb.connect(str(ensure_sample(t)), read_only=True) as sc:
        in_sample = {ch: _one(sc, f"SELECT count(*) FROM customers c WHERE ({where}) AND {w}") for ch, w in hand_sql.items()}
    want = full if res.exact else {ch: round(n * runner.scale) for ch, n in in_sample.items()}
    assert {r.channel: r.count for r in res.reach} == want
    forced = get_dryrunner(_with(t, exact_below=10**9)).run(seg)
    assert forced.exact and {r.channel: r.count for r in forced.reach} == full


def test_reach_is_in_the_cli_json_and_saved_versions(settings, northstar, tmp_path):
    from core.store import Store

    seg = Segment.from_spec(MULTI)
    res = get_dryrunner(northstar).run(seg)
    s = Store(tmp_path / "store.sqlite")
    saved = s.save_segment(northstar.id, "reach check", seg, dryrun=res.model_dump())
    version = s.get_version(saved.segment_id)
    back = version.dryrun
    assert [(r["channel"], r["count"]) for r in back["reach"]] == [(r.channel, r.count) for r in res.reach]
    assert version.reach == {r.channel: r.count for r in res.reach} and len(version.reach) == 4
    assert s.save_segment(northstar.id, "no dry-run", seg).reach == {}
    assert back["exact"] is True and back["basis"] == "whole_table"


# ---- verdicts ------------------------------------------------------------------------------

def test_verdicts_follow_the_tenant_thresholds(northstar, wh_con):
    runner = get_dryrunner(northstar)
    broad = runner.run(Segment.from_spec([{"facet": "Vehicle Owner", "op": "is_true"}]))
    assert broad.verdict == "too_broad" and broad.narrow_by is not None
    # The suggestion is a breakdown value or a channel, and brings the audience within bounds.
    th = northstar.config.thresholds
    assert northstar.config.policies.min_audience <= broad.narrow_by.estimate <= th.too_broad_share * broad.population
    assert broad.narrow_by.condition in broad.verdict_reason
    plus = Segment.from_spec([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]}])
    ok = runner.run(plus)
    assert ok.verdict == "ok" and ok.verdict_reason == "" and ok.narrow_by is None
    strict = _with(northstar)
    strict.config.thresholds = northstar.config.thresholds.model_copy(update={"too_narrow_share": ok.share + 0.01})
    narrow = DryRunner(strict)
    try:
        assert narrow.run(plus).verdict == "too_narrow"
    finally:
        narrow.close()
    # The tenant's minimum audience alone makes it too narrow.
    floor = _with(northstar)
    floor.config.policies = northstar.config.policies.model_copy(update={"min_audience": ok.estimate + 1})
    below = DryRunner(floor)
    try:
        res = below.run(plus)
        assert res.verdict == "too_narrow" and f"minimum audience of {ok.estimate + 1:,}" in res.verdict_reason
    finally:
        below.close()


def test_too_narrow_names_the_biggest_cut_and_each_relaxation(northstar, wh_con):
    spec = [{"facet": "State", "op": "in", "values": ["Texas"]}, {"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
            {"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]}, {"facet": "Purchase Channel", "op": "in", "values": ["Online"]}]
    res = get_dryrunner(northstar).run(Segment.from_spec(spec))
    scoop = "EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.brand = 'Scoop'{})"
    online = " AND p.channel = 'Online'"
    hand = {
        "State is Texas": f"membership_tier = 'Plus' AND {scoop.format(online)}",
        "Membership Tier is Plus": f"state = 'Texas' AND {scoop.format(online)}",
        "Purchased Brand is Scoop": "state = 'Texas' AND membership_tier = 'Plus' AND EXISTS (SELECT 1 FROM purchases p "
                                    "WHERE p.customer_id = c.customer_id AND p.channel = 'Online')",
        "Purchase Channel is Online": f"state = 'Texas' AND membership_tier = 'Plus' AND {scoop.format('')}",
    }
    want = {k: _one(wh_con, f"SELECT count(*) FROM customers c WHERE {w}") for k, w in hand.items()}
    assert res.verdict == "too_narrow" and res.estimate < northstar.config.policies.min_audience
    assert {r.condition: r.estimate for r in res.relaxations} == want
    assert all(r.estimate >= res.estimate for r in res.relaxations)
    for k, n in want.items():
        assert f"without '{k}': {n:,}" in res.verdict_reason
    keeps = []
    before = res.population
    for step in res.funnel:
        keeps.append((step.estimate / before, step.label))
        before = step.estimate
    assert res.biggest_cut == min(keeps)[1] and f"'{res.biggest_cut}' cut the most" in res.verdict_reason


# ---- overlap -------------------------------------------------------------------------------

def test_overlap_is_exact_unless_enough_sample_rows_match(sampled, wh_con):
    runner = get_dryrunner(sampled)
    texas = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas"]}])
    plus_tx = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas"]},
                                 {"facet": "Membership Tier", "op": "in", "values": ["Plus"]}])
    thin = runner.overlap_detail(plus_tx, texas)
    n = _one(wh_con, "SELECT count(*) FROM customers WHERE state = 'Texas' AND membership_tier = 'Plus'")
    assert thin.sample_matched < 100 and thin.exact and (thin.shared, thin.share) == (n, 1.0)
    homeowners = Segment.from_spec([{"facet": "Homeowner", "op": "is_true"}])
    broad = runner.overlap_detail(homeowners, texas)
    assert broad.sample_matched >= 100 and not broad.exact
    assert broad.shared == round(runner.run(Segment.from_spec(
        [{"facet": "Homeowner", "op": "is_true"}, {"facet": "State", "op": "in", "values": ["Texas"]}])).sample_matched * runner.scale)
    assert runner.overlap(homeowners, texas) == (broad.shared, broad.share)


# ---- the rest ------------------------------------------------------------------------------

def test_hostile_values_count_and_harm_nothing(sampled, wh_con):
    runner = get_dryrunner(sampled)
    seg = Segment.from_spec([{"facet": "State", "op": "in", "values": ["x'); DELETE FROM customers; --", "Texas"]}])
    res = runner.run(seg)
    texas = _one(wh_con, "SELECT count(*) FROM customers WHERE state = 'Texas'")
    assert runner.exact_count(seg) == texas > 0
    assert _one(wh_con, "SELECT count(*) FROM customers") == 20_000
    assert res.sample_matched == res.funnel[0].remaining > 0


def test_relative_windows_are_pinned_to_the_warehouse_as_of(northstar, tmp_path):
    from core.warehouse import generate

    t = _with(northstar, data_dir=tmp_path, sample_percent=25, min_sample_rows=100)
    generate(t, customers=3_000, seed=5, as_of=dt.date(2025, 6, 30))
    runner = get_dryrunner(t)
    assert runner.as_of == dt.date(2025, 6, 30) and runner.sample_size == 750
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


def test_concurrent_runs_agree(sampled):
    runner = get_dryrunner(sampled)
    seg = Segment.from_spec(MULTI)
    want = runner.run(seg).model_dump(exclude={"ms", "exact_ms"})
    got: list[dict] = []

    def work() -> None:
        for _ in range(5):
            got.append(runner.run(seg).model_dump(exclude={"ms", "exact_ms"}))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(got) == 20 and all(g == want for g in got)


def test_harbor_windowed_purchase_facets_and_default_tier(harbor):
    runner = get_dryrunner(_with(harbor, **SAMPLED))
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
    assert res.ci_low <= hand <= res.ci_high


def test_report_text_labels_estimates_and_exact_counts(sampled, wh_con):
    runner = get_dryrunner(sampled)
    seg = Segment.from_spec(MULTI)
    res = runner.run(seg)
    assert not res.exact
    text = render_report(seg, res, exact=1234)
    assert text.splitlines()[1].startswith(f"Estimate: ~{res.estimate:,} customers (95% CI")
    assert "Exact:    1,234 customers" in text and "Reach:    email ~" in text
    assert "any of cohorts 1, 2" in text and "By Region:" in text
    step = next(line for line in text.splitlines() if line.split()[:2] == ["2", "Homeowner"])
    assert step.split()[-2:] == [f"{res.funnel[4].remaining:,}", f"~{res.funnel[4].estimate:,}"]
    spec, n = _narrow_segments(wh_con)[0]
    narrow = Segment.from_spec(spec)
    text = render_report(narrow, runner.run(narrow))
    assert text.splitlines()[1].startswith(f"Exact:    {n:,} customers (exact)") and "counted on the full table" in text
    assert "Verdict:  too narrow" in text and "without 'State is" in text


def test_segwork_dryrun_shows_narrow_audiences_exact(settings, sampled, wh_con, tmp_path):
    """The console script on a real 2,000-customer sample: text and --json label exact figures."""
    import json
    import os
    import subprocess
    import sys

    root = tmp_path / "tenants"
    shutil.copytree(settings.tenants_dir / "northstar", root / "northstar")
    yaml_path = root / "northstar" / "tenant.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("min_sample_rows: 50000", "min_sample_rows: 2000"))
    env = {**os.environ, "SEGWORK_DATA_DIR": str(settings.data_dir), "SEGWORK_INDEX_DIR": str(settings.index_dir),
           "SEGWORK_TENANTS_DIR": str(root), "HF_HUB_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    spec, n = _narrow_segments(wh_con)[0]
    seg_file = tmp_path / "narrow.json"
    seg_file.write_text(json.dumps(spec))
    segwork = str(Path(sys.executable).parent / "segwork")

    def run(*extra: str) -> str:
        p = subprocess.run([segwork, "dryrun", str(seg_file), "--tenant", "northstar", *extra],
                           capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout

    text = run()
    assert f"Exact:    {n:,} customers (exact)" in text and "2,000-customer sample" in text and "~" not in text.splitlines()[1]
    out = json.loads(run("--json"))
    assert (out["exact"], out["basis"], out["estimate"], out["exact_count"]) == (True, "exact", n, n)
    assert [r["channel"] for r in out["reach"]] == list(sampled.catalog.rules.reachability)
    assert out["verdict"] == "too_narrow" and out["relaxations"]


def test_workbench_panel_shows_a_narrow_audience_exact(settings, northstar, harbor, tmp_path, monkeypatch):
    """The workbench's own placeholder request on a real 2,000-customer sample: the panel shows the exact count."""
    from streamlit.testing.v1 import AppTest

    from core.tenant import load_tenant

    root = tmp_path / "tenants"
    for tid in ("northstar", "harbor"):
        shutil.copytree(settings.tenants_dir / tid, root / tid)
    yaml_path = root / "northstar" / "tenant.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("min_sample_rows: 50000", "min_sample_rows: 2000"))
    for var, value in (("SEGWORK_TENANTS_DIR", root), ("SEGWORK_DATA_DIR", settings.data_dir),
                       ("SEGWORK_INDEX_DIR", settings.index_dir), ("SEGWORK_STORE", tmp_path / "store.sqlite")):
        monkeypatch.setenv(var, str(value))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120).run()
    at.sidebar.selectbox[0].set_value("northstar").run()
    at.chat_input[0].set_value("Plus members in Texas likely to buy a TV, email reachable").run()
    assert not at.exception, at.exception
    draft = at.session_state["wb:northstar"].draft
    tenant = load_tenant("northstar", settings.with_overrides(tenants_dir=root))
    runner = get_dryrunner(tenant)
    exact = runner.exact_count(draft)
    assert not runner.whole_table and 0 < exact <= 200, draft.render()
    size = [m for m in at.metric if m.label in ("Audience (exact)", "Estimated audience")]
    assert [(m.label, m.value) for m in size] == [("Audience (exact)", f"{exact:,}")]
    chat = "\n".join(m.value for m in at.markdown)
    assert f"Audience: **{exact:,} customers (exact)**" in chat and "empty" not in chat.lower()


def test_auto_exact_counts_the_size_and_reach_but_estimates_relaxations(sampled):
    spec = [{"facet": "Membership Tier", "op": "in", "values": ["Plus"]}, {"facet": "State", "op": "in", "values": ["Texas"]},
            {"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]}, {"facet": "Purchase Channel", "op": "in", "values": ["Online"]},
            {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 365}]
    res = get_dryrunner(sampled).run(Segment.from_spec(spec))
    assert res.exact and res.verdict in ("too_narrow", "empty")
    assert [x.condition for x in res.relaxations] == [Condition(**c).render() for c in spec]
    assert not any(x.exact for x in res.relaxations) and all(x.ci_high > 0 for x in res.relaxations)
    assert ": 0;" not in res.verdict_reason + ";" and ": ~0;" not in res.verdict_reason + ";"
