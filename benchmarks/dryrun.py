"""Dry-run benchmark: 10M customers / ~50M purchases; sample dry-run, exact count and a hand-written query.

Run: `python benchmarks/dryrun.py [--customers N] [--reuse]` (part of `make bench`). Prints a table.
The dry-run column includes the automatic exact count of thin audiences (the narrow segments below
trigger it); `auto` says whether it ran. `--customers 200000` measures the default warehouse size.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from core.config import Settings  # noqa: E402
from core.dryrun import DryRunner  # noqa: E402
from core.segment import Segment  # noqa: E402
from core.sqlbuild import compile_segment  # noqa: E402
from core.tenant import load_tenant  # noqa: E402
from core.warehouse import generate  # noqa: E402

SEGMENTS = {
    "profile-only": ([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
                      {"facet": "Email Opt In", "op": "is_true"}, {"facet": "State", "op": "in", "values": ["Texas", "Florida"]}],
                     "SELECT count(*) FROM customers WHERE membership_tier = 'Plus' AND email_opt_in AND state IN ('Texas', 'Florida')"),
    "purchase window + brand": ([{"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]},
                                 {"facet": "Purchase Channel", "op": "in", "values": ["Online"]},
                                 {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90}],
                                "SELECT count(*) FROM customers c WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id "
                                "AND p.brand = 'Scoop' AND p.channel = 'Online' AND p.purchase_date >= DATE '{as_of}' - 90)"),
    "propensity tier": ([{"facet": "Propensity Brand", "op": "in", "values": ["Free Assembly"], "tier": "TOP 10"},
                         {"facet": "Email Opt In", "op": "is_true"}],
                        "SELECT count(*) FROM customers c WHERE email_opt_in AND customer_id IN (SELECT customer_id FROM propensity "
                        "WHERE level = 'brand' AND value = 'Free Assembly' AND pct <= 10)"),
    "multi-cohort": ({"cohorts": [[{"facet": "Purchased Brand", "op": "in", "values": ["Free Assembly"]},
                                   {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90}],
                                  [{"facet": "Age Band", "op": "in", "values": ["65+"]}, {"facet": "Homeowner", "op": "is_true"}]]},
                     "SELECT count(*) FROM customers c WHERE (age_band = '65+' AND homeowner) OR EXISTS (SELECT 1 FROM purchases p "
                     "WHERE p.customer_id = c.customer_id AND p.brand = 'Free Assembly' AND p.purchase_date >= DATE '{as_of}' - 90)"),
    "narrow: profile + purchase": ([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
                                    {"facet": "State", "op": "in", "values": ["Texas"]},
                                    {"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]},
                                    {"facet": "Purchase Channel", "op": "in", "values": ["Online"]},
                                    {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90}],
                                   "SELECT count(*) FROM customers c WHERE membership_tier = 'Plus' AND state = 'Texas' AND EXISTS "
                                   "(SELECT 1 FROM purchases p WHERE p.customer_id = c.customer_id AND p.brand = 'Scoop' "
                                   "AND p.channel = 'Online' AND p.purchase_date >= DATE '{as_of}' - 90)"),
    "narrow: propensity + profile": ([{"facet": "Propensity Brand", "op": "in", "values": ["Free Assembly"], "tier": "TOP 5"},
                                      {"facet": "Membership Tier", "op": "in", "values": ["Plus"]},
                                      {"facet": "Region", "op": "in", "values": ["Pacific"]},
                                      {"facet": "SMS Opt In", "op": "is_true"}],
                                     "SELECT count(*) FROM customers c WHERE membership_tier = 'Plus' AND region = 'Pacific' AND sms_opt_in "
                                     "AND customer_id IN (SELECT customer_id FROM propensity WHERE level = 'brand' "
                                     "AND value = 'Free Assembly' AND pct <= 5)"),
    "negation": ([{"facet": "Purchased Super Department", "op": "not_in", "values": ["Electronics"]},
                  {"facet": "Customer Status", "op": "not_in", "values": ["Lapsed", "Churned"]}],
                 "SELECT count(*) FROM customers c WHERE customer_status NOT IN ('Lapsed', 'Churned') AND customer_id NOT IN "
                 "(SELECT customer_id FROM purchases WHERE super_department = 'Electronics')"),
}


def _timed(fn, runs: int = 5) -> tuple[float, float, object, float]:
    """(median wall ms, max wall ms, last result, median process CPU ms) of `runs` calls.

    CPU time (all DuckDB threads) is reported too: on a shared machine wall time mostly measures
    the other jobs.
    """
    out, times, cpu = None, [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(times), max(times), out, statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--customers", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path, default=Path(os.environ.get("SEGWORK_BENCH_DIR", "/tmp/segwork-bench")))
    ap.add_argument("--reuse", action="store_true", help="reuse a warehouse generated by an earlier run")
    args = ap.parse_args()
    tenant = load_tenant("northstar", Settings.load().with_overrides(data_dir=args.dir))
    gen_s, peak_gb = None, None
    if not (args.reuse and tenant.warehouse_path.exists()):
        t0 = time.perf_counter()
        report = generate(tenant, customers=args.customers, propensity_levels=["brand"], propensity_max_pct=10, events=False,
                          progress=lambda m, f: print(f"  generating: {m}", file=sys.stderr, flush=True))
        gen_s = time.perf_counter() - t0
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        print(f"generated {report.rows['customers']:,} customers, {report.rows['purchases']:,} purchases, "
              f"{report.rows['propensity']:,} propensity rows in {gen_s:.1f} s (peak RSS {peak_gb:.2f} GB)")
    t0 = time.perf_counter()
    runner = DryRunner(tenant)
    print(f"sample: {runner.sample_size:,} of {runner.population:,} customers"
          f"{' (whole table)' if runner.whole_table else ''}, ready in {time.perf_counter() - t0:.1f} s")
    con = duckdb.connect(str(tenant.warehouse_path), read_only=True)
    as_of = runner.as_of.isoformat()
    print(f"\n| segment | dry-run p50 ms | dry-run max ms | dry-run CPU ms | auto-exact | exact ms | exact CPU ms | hand ms "
          f"| exact / hand | shown | exact count | hand count |\n|{' --- |' * 12}")
    p50s, maxes, exacts = [], [], []
    for name, (spec, hand) in SEGMENTS.items():
        seg = Segment.from_spec(spec)
        dry_ms, dry_max, res, dry_cpu = _timed(lambda: runner.run(seg))
        exact_ms, _, exact, exact_cpu = _timed(lambda: runner.exact_count(seg))
        hand_ms, _, hand_n, _ = _timed(lambda: con.execute(hand.format(as_of=as_of)).fetchone()[0])
        p50s.append(dry_ms)
        maxes.append(dry_max)
        exacts.append(exact_ms)
        shown = f"{res.estimate:,}" if res.exact else f"~{res.estimate:,}"
        print(f"| {name} | {dry_ms:.1f} | {dry_max:.1f} | {dry_cpu:.1f} | {'yes' if res.exact else 'no'} | {exact_ms:.1f} "
              f"| {exact_cpu:.1f} | {hand_ms:.1f} | {exact_ms / hand_ms:.2f} | {shown} | {exact:,} | {hand_n:,} |")
    print(f"\ndry-run (auto-exact included): p50 over segments {statistics.median(p50s):.1f} ms, slowest run {max(maxes):.1f} ms; "
          f"exact count: slowest median {max(exacts):.1f} ms")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; compiled SQL of the last segment:\n"
          f"{compile_segment(seg, tenant)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
