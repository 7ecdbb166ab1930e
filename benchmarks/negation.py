"""Ways to count the benchmark's negation segment exactly on DuckDB, timed side by side.

Run: `python benchmarks/negation.py [--dir /tmp/segwork-bench] [--rounds 7] [--threads N] [--explain]`
on the warehouse benchmarks/dryrun.py generated (10M customers, 50M purchases). Every formulation
must return the compiled query's count; rounds are interleaved so that other jobs on the machine slow
all of them alike. Prints median and best wall ms and median process CPU ms (all DuckDB threads).
`--explain` also prints, for every segment of benchmarks/dryrun.py, the operators of its compiled
exact count that took the most time (EXPLAIN ANALYZE).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlglot import exp, select  # noqa: E402

from benchmarks.dryrun import SEGMENTS  # noqa: E402
from core.config import Settings  # noqa: E402
from core.engines.duck import attach_read_only  # noqa: E402
from core.engines import reference_date  # noqa: E402
from core.segment import Segment  # noqa: E402
from core.sqlbuild import segment_predicate  # noqa: E402
from core.tenant import load_tenant  # noqa: E402

BOUGHT = "p.super_department IN ('Electronics')"
ACTIVE = "NOT COALESCE(c.customer_status IN ('Lapsed', 'Churned'), FALSE)"
FORMS = {  # the same customers: active, and no Electronics purchase (NULL ids in purchases ignored)
    "NOT EXISTS (correlated)": f"SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM purchases p "
                               f"WHERE p.customer_id = c.customer_id AND {BOUGHT}) AND {ACTIVE}",
    "ANTI JOIN": f"SELECT count(*) FROM customers c ANTI JOIN (SELECT p.customer_id FROM purchases p WHERE {BOUGHT}) x "
                 f"ON x.customer_id = c.customer_id WHERE {ACTIVE}",
    "EXCEPT on id sets": f"SELECT count(*) FROM (SELECT c.customer_id FROM customers c WHERE {ACTIVE} "
                         f"EXCEPT SELECT p.customer_id FROM purchases p WHERE {BOUGHT})",
    "NOT IN (SELECT DISTINCT)": f"SELECT count(*) FROM customers c WHERE NOT COALESCE(c.customer_id IN "
                                f"(SELECT DISTINCT p.customer_id FROM purchases p WHERE {BOUGHT}), FALSE) AND {ACTIVE}",
    "all minus semi-join": f"SELECT (SELECT count(*) FROM customers c WHERE {ACTIVE}) - (SELECT count(*) FROM customers c "
                           f"WHERE {ACTIVE} AND c.customer_id IN (SELECT p.customer_id FROM purchases p WHERE {BOUGHT}))",
    "bitmap of ids (bitstring_agg)": f"SELECT count(*) FROM customers c WHERE COALESCE(get_bit((SELECT bitstring_agg("
                                     f"p.customer_id, {{lo}}, {{hi}}) FROM purchases p WHERE {BOUGHT} AND p.customer_id "
                                     f"BETWEEN {{lo}} AND {{hi}}), (c.customer_id - {{lo}})::INTEGER), 0) = 0 AND {ACTIVE}",
    "64-bit words per id block": f"WITH w AS (SELECT p.customer_id >> 6 AS k, bit_or(1::UBIGINT << (p.customer_id & 63)::INTEGER) "
                                 f"AS bits FROM purchases p WHERE {BOUGHT} GROUP BY 1) SELECT count(*) FROM customers c "
                                 f"LEFT JOIN w ON w.k = c.customer_id >> 6 WHERE COALESCE((w.bits >> (c.customer_id & 63)::INTEGER) "
                                 f"& 1, 0) = 0 AND {ACTIVE}",
}


def _count_sql(segment: Segment, tenant, as_of) -> str:
    where = segment_predicate(segment, tenant, as_of)
    table = exp.Table(this=exp.to_identifier("customers"), alias=exp.TableAlias(this=exp.to_identifier("c")))
    return select(exp.Count(this=exp.Star())).from_(table).where(where).sql("duckdb")


def _hot_operators(con, sql: str, top: int = 4) -> str:
    """The `top` operators by time in the query's EXPLAIN ANALYZE profile."""
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        con.execute("PRAGMA enable_profiling='json'")
        con.execute(f"PRAGMA profiling_output='{f.name}'")
        con.execute(sql).fetchall()
        con.execute("PRAGMA disable_profiling")
        tree = json.load(open(f.name))
    ops: list[tuple[float, str]] = []

    def walk(node: dict) -> None:
        extra = node.get("extra_info", {})
        what = extra.get("Join Type") or extra.get("Table") or ""
        ops.append((float(node.get("timing", 0.0)), f"{node.get('name', '?')} {what}".strip()))
        for child in node.get("children", []):
            walk(child)
    for root in tree.get("operator", []):  # DuckDB 2.0's JSON profile: a list of root operators
        walk(root)
    ops.sort(reverse=True)
    return ", ".join(f"{name} {t * 1000:.0f} ms" for t, name in ops[:top])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("SEGWORK_BENCH_DIR", "/tmp/segwork-bench")))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: its default, one per core)")
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    tenant = load_tenant("northstar", Settings.load().with_overrides(data_dir=args.dir))
    if not tenant.warehouse_path.exists():
        print(f"No warehouse at {tenant.warehouse_path}; run benchmarks/dryrun.py first.", file=sys.stderr)
        return 1
    as_of = reference_date(tenant)
    con = attach_read_only(tenant.warehouse_path)
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if args.explain:
        print("| segment | hottest operators of the compiled exact count |\n| --- | --- |")
        for name, (spec, _) in SEGMENTS.items():
            print(f"| {name} | {_hot_operators(con, _count_sql(Segment.from_spec(spec), tenant, as_of))} |")
        print()
    lo, hi = con.execute("SELECT min(customer_id), max(customer_id) FROM customers").fetchone()
    forms = {"compiled (NOT COALESCE(id IN ...))": _count_sql(Segment.from_spec(SEGMENTS["negation"][0]), tenant, as_of),
             "hand-written NOT IN": SEGMENTS["negation"][1]}
    forms.update({k: v.format(lo=lo, hi=hi) for k, v in FORMS.items()})
    want = con.execute(next(iter(forms.values()))).fetchone()[0]
    wall: dict[str, list[float]] = {k: [] for k in forms}
    cpu: dict[str, list[float]] = {k: [] for k in forms}
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, sql in forms.items():
            t0, c0 = time.perf_counter(), time.process_time()
            got = con.execute(sql).fetchone()[0]
            wall[name].append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
            if got != want:
                raise SystemExit(f"{name} counted {got:,}, the compiled query {want:,}")
    print(f"| negation, {want:,} customers | wall p50 ms | best wall ms | CPU p50 ms |\n| --- | --- | --- | --- |")
    for name in forms:
        print(f"| {name} | {statistics.median(wall[name]):.0f} | {min(wall[name]):.0f} | {statistics.median(cpu[name]):.0f} |")
    print(f"\nthreads {con.execute('SELECT current_setting(' + repr('threads') + ')').fetchone()[0]}, "
          f"{args.rounds} interleaved rounds; load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
