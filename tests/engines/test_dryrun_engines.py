"""The workbench's dry-run, exact count, overlap and CSV export on a tenant bound to PostgreSQL
(its own table and column names) and to Spark: the same figures as on the generated DuckDB file."""
from __future__ import annotations

import pytest

from core.dryrun import DryRunner
from core.engines import open_engine
from core.segment import Segment
from tests.engines.conftest import PG_ENV, bound_tenant, renamed_tables

SAMPLED = {"sample_percent": 10.0, "min_sample_rows": 1_000}  # 20k customers: a 2k sample, not the whole table
BROAD = [{"facet": "Email Allowed", "op": "is_true"}]
THIN = [{"facet": "Rewards Level", "op": "in", "values": ["Gold"]},
        {"facet": "Aisles Shopped 13 Weeks", "op": "not_in", "values": ["Produce"]},
        {"facet": "Baby In Household", "op": "is_true"}]
OTHER = [{"facet": "Rewards Level", "op": "in", "values": ["Gold", "Silver"]}]


@pytest.fixture(scope="module")
def runners(bound, tmp_path_factory):
    """DryRunners over the generated file, PostgreSQL (renamed tables) and Spark, with the same sample settings."""
    harbor = bound["harbor"]
    out = {}
    for name, engine in (("duckdb", {"type": "duckdb"}),
                         ("postgres", {"type": "postgres", "connection_env": PG_ENV, "tables": renamed_tables("harbor")}),
                         ("spark", harbor["spark"].config.engine.model_dump(exclude_none=True))):
        t = bound_tenant(harbor[name], tmp_path_factory.mktemp(f"dry-{name}"), engine, dryrun=SAMPLED)
        out[name] = DryRunner(t)
    yield out
    for r in out.values():
        r.close()


def test_engine_runners_draw_a_repeatable_sample_and_know_the_population(runners):
    for name, r in runners.items():
        assert r.population == 20_000 and not r.whole_table, name
        assert 1_700 < r.sample_size < 2_400, (name, r.sample_size)
        assert r.as_of == runners["duckdb"].as_of, name
    assert runners["postgres"].engine.type == "postgres" and runners["spark"].engine.type == "spark"
    assert runners["duckdb"].engine is None  # the generated file: the workbench's own path


@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_dryrun_exact_overlap_and_export_match_duckdb(runners, engine):
    duck, other = runners["duckdb"], runners[engine]
    broad, thin, gold = (Segment.from_spec(x) for x in (BROAD, THIN, OTHER))
    truth = [duck.exact_count(s) for s in (broad, thin, gold)]
    assert [other.exact_count(s) for s in (broad, thin, gold)] == truth
    res = other.run(thin)  # thin in the sample: counted exactly on the engine, labelled exact
    assert res.exact and res.basis == "exact" and res.estimate == truth[1] > 0
    wide = other.run(broad)
    assert not wide.exact and wide.sample_matched > 500 and wide.ci_low <= truth[0] <= wide.ci_high
    mine, theirs = other.overlap_detail(thin, gold), duck.overlap_detail(thin, gold)  # thin: exact on both
    assert mine.exact and theirs.exact and (mine.shared, mine.share) == (theirs.shared, theirs.share)
    ids = [i for batch, _, _ in other.customer_ids(gold, batch=700) for i in batch]
    want = [i for batch, _, _ in duck.customer_ids(gold) for i in batch]
    assert ids == want and len(ids) == truth[2]
