"""The same segment gives the same customers on DuckDB, PostgreSQL and Spark (and DuckDB over files).

About 220 segments per run: both tenants' ground truth plus generated ones covering every op x
source x cohort shape and values with quotes and backslashes. Spark answers all of a tenant's
segments in a few batched queries of (count, sum of ids, sum of squared ids mod a prime);
PostgreSQL and DuckDB stream the full id lists, which are compared as sets.
"""
from __future__ import annotations

import pytest
from sqlglot import exp

from core.engines.base import Engine
from core.segment import Segment
from core.sqlbuild import CUSTOMER
from tests.engines.segments import all_segments

BATCH = 60  # segments per UNION ALL query


def fingerprints(engine: Engine, segments: list[Segment], as_of) -> dict[int, tuple[int, int, int]]:
    """{segment index: (count, sum of ids, sum of id^2 mod p)}, many segments per query."""
    cid = exp.column("customer_id", table=CUSTOMER)
    out: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(segments), BATCH):
        parts = []
        for k, seg in enumerate(segments[start:start + BATCH], start):
            parts.append(engine.customers().select(
                exp.alias_(exp.Literal.number(k), "k"), exp.Count(this=exp.Star()),
                exp.func("COALESCE", exp.Sum(this=cid.copy()), exp.Literal.number(0)),
                exp.func("COALESCE", exp.Sum(this=exp.Mod(this=exp.Mul(this=cid.copy(), expression=cid.copy()),
                                                           expression=exp.Literal.number(1_000_003))),
                         exp.Literal.number(0)))
                .where(engine.where(seg, as_of)))
        union = parts[0]
        for p in parts[1:]:
            union = exp.union(union, p, distinct=False)
        for k, n, s, s2 in engine.fetch(engine.sql(union)):
            out[int(k)] = (int(n), int(s), int(s2))
    return out


@pytest.mark.parametrize("tenant_id", ["harbor", "northstar"])
def test_every_engine_returns_the_same_customers(engines, bound, tenant_id):
    by = engines[tenant_id]
    duck = by["duckdb"]
    as_of = duck.as_of()
    named = [(n, s) for n, s in all_segments(bound[tenant_id]["duckdb"], as_of) if s.all_conditions()]
    assert len(named) >= 90
    segments = [s for _, s in named]
    expected = {k: sorted(i for batch in duck.ids(s, as_of=as_of) for i in batch) for k, s in enumerate(segments)}
    assert sum(1 for ids in expected.values() if ids) >= 0.8 * len(segments), "most segments must match someone"
    for k, s in enumerate(segments):  # full id sets on PostgreSQL (renamed tables) and DuckDB over Parquet
        for name in ("postgres", "duckdb-files"):
            got = [i for batch in by[name].ids(s, batch=5_000, as_of=as_of) for i in batch]
            assert got == expected[k], f"{name} differs on {named[k][0]}: {s.render()}"
    want = {k: (len(ids), sum(ids), sum(i * i % 1_000_003 for i in ids)) for k, ids in expected.items()}
    got = fingerprints(by["spark"], segments, as_of)
    bad = [named[k][0] + ": " + segments[k].render() for k in want if got.get(k) != want[k]]
    assert not bad, f"spark: {len(bad)} segments differ, e.g. {bad[:3]}"


def test_at_least_150_segments_are_compared(bound, engines):
    total = sum(len([1 for _, s in all_segments(by["duckdb"], engines[tid]["duckdb"].as_of()) if s.all_conditions()])
                for tid, by in bound.items())
    assert total >= 150
