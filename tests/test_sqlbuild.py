"""SQL compiler: purchase conditions share one EXISTS, literals are safe, dialects transpile."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlglot

from core.dryrun import get_dryrunner, wilson
from core.engines import reference_date
from core.errors import SegmentError
from core.segment import Segment
from core.sqlbuild import DIALECTS, compile_segment

BOUGHT = [{"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]},
          {"facet": "Purchase Channel", "op": "in", "values": ["Online"]},
          {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90}]


def _count(tenant, segment: Segment) -> int:
    con = duckdb.connect(str(tenant.warehouse_path), read_only=True)
    sql = compile_segment(segment, tenant, count=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_purchase_conditions_describe_one_purchase(northstar):
    seg = Segment.from_spec(BOUGHT)
    sql = compile_segment(seg, northstar)
    assert sql.count("FROM purchases") == 1
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    same_purchase = con.execute("""
        SELECT count(DISTINCT customer_id) FROM purchases
        WHERE brand = 'Scoop' AND channel = 'Online' AND purchase_date >= current_date - 90""").fetchone()[0]
    any_purchases = con.execute("""
        SELECT count(*) FROM customers c
        WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND brand = 'Scoop')
          AND EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND channel = 'Online')
          AND EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND purchase_date >= current_date - 90)
    """).fetchone()[0]
    con.close()
    assert _count(northstar, seg) == same_purchase
    assert same_purchase < any_purchases


def test_hostile_values_are_literals(northstar):
    hostile = "x'); DROP TABLE customers; --"
    seg = Segment.from_spec([{"facet": "State", "op": "in", "values": [hostile, "Texas"]}])
    sql = compile_segment(seg, northstar)
    assert "'x''); DROP TABLE customers; --'" in sql
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    texas = con.execute("SELECT count(*) FROM customers WHERE state = 'Texas'").fetchone()[0]
    con.close()
    assert _count(northstar, seg) == texas > 0
    assert _count(northstar, Segment.from_spec([{"facet": "State", "op": "in", "values": ["O'Brien"]}])) == 0


def test_negation_propensity_and_boolean_counts(northstar):
    con = duckdb.connect(str(northstar.warehouse_path), read_only=True)
    total = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    plus = con.execute("SELECT count(*) FROM customers WHERE membership_tier = 'Plus'").fetchone()[0]
    top10 = con.execute("SELECT count(DISTINCT customer_id) FROM propensity WHERE level='brand' AND value='Scoop' AND pct <= 10").fetchone()[0]
    never = con.execute("SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id=c.customer_id AND super_department='Electronics')").fetchone()[0]
    con.close()
    assert _count(northstar, Segment.from_spec([{"facet": "Membership Tier", "op": "not_in", "values": ["Plus"]}])) == total - plus
    assert _count(northstar, Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 10"}])) == top10
    assert _count(northstar, Segment.from_spec([{"facet": "Purchased Super Department", "op": "not_in", "values": ["Electronics"]}])) == never
    t = _count(northstar, Segment.from_spec([{"facet": "Email Opt In", "op": "is_true"}]))
    f = _count(northstar, Segment.from_spec([{"facet": "Email Opt In", "op": "is_false"}]))
    assert t + f == total and 0.55 < t / total < 0.72


def test_default_tier_and_windowed_purchase_facet(harbor):
    seg = Segment.from_spec([{"facet": "Likelihood To Buy Aisle", "op": "in", "values": ["Produce"]},
                             {"facet": "Aisles Shopped 13 Weeks", "op": "in", "values": ["Seafood"]}])
    sql = compile_segment(seg, harbor)
    assert "s.pct <= 25" in sql  # harbor default tier TOP 25
    window = (reference_date(harbor) - dt.timedelta(days=91)).isoformat()
    assert f"p.purchase_date >= CAST('{window}' AS DATE)" in sql  # the warehouse's date, not CURRENT_DATE
    assert "CURRENT_DATE" not in sql.upper()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_dialect_parses_back(northstar, dialect):
    seg = Segment.from_spec({"cohorts": [BOUGHT, [{"facet": "Lifestyle Affinity", "op": "in", "values": ["Gaming"]},
                                                  {"facet": "Spend 12M", "op": "between", "min": 100, "max": 900}]]})
    sql = compile_segment(seg, northstar, dialect=dialect)
    assert sqlglot.parse_one(sql, read=dialect) is not None
    assert "Scoop" in sql and " OR " in sql


def test_unknown_dialect_is_a_clear_error(northstar):
    with pytest.raises(SegmentError, match="Unknown SQL dialect"):
        compile_segment(Segment.from_spec(BOUGHT), northstar, dialect="oracle9")


def test_dryrun_estimate_brackets_the_exact_count(northstar):
    runner = get_dryrunner(northstar)
    seg = Segment.from_spec([{"facet": "Email Opt In", "op": "is_true"},
                             {"facet": "Membership Tier", "op": "in", "values": ["Basic", "Plus"]}])
    res = runner.run(seg)
    exact = runner.exact_count(seg)
    # 20,000 customers <= min_sample_rows: the whole table is counted (sampling: tests/test_dryrun.py)
    assert res.population == res.sample_size == 20_000 and res.basis == "whole_table"
    assert res.ci_low == exact == res.ci_high
    assert [s.remaining for s in res.funnel][-1] == res.sample_matched
    assert res.funnel[0].remaining >= res.funnel[1].remaining
    assert set(res.breakdowns) == {"Region", "Membership Tier", "Age Band"}
    assert {r.value for r in res.breakdowns["Membership Tier"]} <= {"Basic", "Plus"}
    assert res.verdict == "ok"


def test_dryrun_verdicts(northstar):
    runner = get_dryrunner(northstar)
    broad = runner.run(Segment.from_spec([{"facet": "Vehicle Owner", "op": "is_true"}]))
    assert broad.verdict == "too_broad"
    empty = runner.run(Segment.from_spec([{"facet": "State", "op": "in", "values": ["Nowhere"]}]))
    assert empty.verdict == "empty" and empty.estimate == 0


def test_wilson_interval():
    lo, hi = wilson(50, 100)
    assert 0.40 < lo < 0.41 and 0.59 < hi < 0.60
    assert wilson(0, 0) == (0.0, 0.0)
