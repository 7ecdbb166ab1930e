"""Does the dry-run's 95% interval hold? Random valid segments, exact count vs the sample interval.

Run: `python benchmarks/coverage.py [--segments 400] [--seed 11] [--tenant ID ...]` on the tenants'
warehouses (`make data`: 200k customers). Segments are drawn from each catalog and its bindings
(1-4 conditions, every op and source, about a fifth with two cohorts); numeric bounds are quantiles
of the bound column. Prints, per tenant and audience-size band: segments, how many the dry-run also
counted exactly (thin sample), coverage of the sample's 95% interval, and the median relative error
of the sample estimate and of the figure the workbench shows.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.catalog import Facet  # noqa: E402
from core.config import Settings  # noqa: E402
from core.dryrun import DryRunner, get_dryrunner  # noqa: E402
from core.errors import WorkbenchError  # noqa: E402
from core.segment import Cohort, Condition, Segment, validate_segment_strict  # noqa: E402
from core.tenant import Tenant, list_tenants, load_tenant  # noqa: E402

BANDS = [(0, 0, "0"), (1, 99, "1-99"), (100, 999, "100-999"), (1_000, 9_999, "1k-10k"),
         (10_000, 99_999, "10k-100k"), (100_000, None, "100k+")]


class SegmentMaker:
    """Random valid conditions from a catalog and its bindings (no facet or value named here)."""

    def __init__(self, tenant: Tenant, runner: DryRunner, rng: random.Random) -> None:
        self.tenant, self.runner, self.rng = tenant, runner, rng
        self.by_source: dict[str, list[Facet]] = {}
        for f in tenant.catalog.active_facets:
            b = tenant.config.bindings.get(f.name)
            if b is not None:
                self.by_source.setdefault(b.source, []).append(f)
        self._quantiles: dict[str, list[float]] = {}

    def segment(self) -> Segment:
        cohorts = 2 if self.rng.random() < 0.2 else 1
        sizes = [self.rng.randint(1, 3 if cohorts > 1 else 4) for _ in range(cohorts)]
        return Segment(cohorts=[Cohort(conditions=self._conditions(n)) for n in sizes])

    def _conditions(self, n: int) -> list[Condition]:
        out, used = [], set()
        while len(out) < n:
            source = self.rng.choice(sorted(self.by_source))  # every source equally often
            facet = self.rng.choice(self.by_source[source])
            if facet.name in used:
                continue
            used.add(facet.name)
            out.append(self._condition(facet))
        return out

    def _condition(self, f: Facet) -> Condition:
        op = self.rng.choice(f.ops)
        if op in ("in", "not_in"):
            values = self.rng.sample(f.value_list, k=min(len(f.value_list), self.rng.randint(1, 3)))
            tier = self.rng.choice(f.tiers) if f.kind == "propensity" else None
            return Condition(facet=f.name, op=op, values=values, tier=tier)
        if op in ("is_true", "is_false"):
            return Condition(facet=f.name, op=op)
        if f.kind == "numeric":
            lo, hi = sorted(self.rng.sample(self._numeric_quantiles(f), 2))
            keep = self.rng.choice(["both", "min", "max"])
            return Condition(facet=f.name, op="between", min=lo if keep != "max" else None, max=hi if keep != "min" else None)
        as_of = self.runner.as_of
        days = self.rng.choice([7, 14, 30, 60, 90, 180, 365, 730])
        if op == "within_last_days":
            return Condition(facet=f.name, op=op, days=days)
        start = (as_of - dt.timedelta(days=days)).isoformat()
        if op == "on_or_after":
            return Condition(facet=f.name, op=op, date=start)
        end = (as_of - dt.timedelta(days=self.rng.randint(0, days))).isoformat()
        return Condition(facet=f.name, op=op, min=start, max=end)

    def _numeric_quantiles(self, f: Facet) -> list[float]:
        if f.name not in self._quantiles:
            col = self.tenant.binding(f.name).column
            qs = [i / 10 for i in range(1, 10)]
            row = self.runner._cursor().execute(f"SELECT quantile_disc({col}, {qs}) FROM customers").fetchone()[0]
            rng = f.numeric_range
            vals = sorted({min(max(float(v), rng.min), rng.max) for v in row if v is not None}) if rng else []
            self._quantiles[f.name] = vals if len(vals) >= 2 else [rng.min, rng.max]
        return self._quantiles[f.name]


def _band(n: int) -> str:
    return next(label for lo, hi, label in BANDS if n >= lo and (hi is None or n <= hi))


def measure(tenant: Tenant, count: int, seed: int) -> tuple[list[dict], Counter, DryRunner]:
    runner = get_dryrunner(tenant)
    maker = SegmentMaker(tenant, runner, random.Random(seed))
    rows, seen, tries = [], Counter(), 0
    while len(rows) < count and tries < count * 20:
        tries += 1
        seg = maker.segment()
        try:
            validate_segment_strict(seg, tenant.catalog)
            c0 = time.process_time()
            res = runner.run(seg)
            cpu = (time.process_time() - c0) * 1000
        except WorkbenchError:
            continue
        exact = runner.exact_count(seg)
        for c in seg.all_conditions():
            seen[("op", c.op)] += 1
            seen[("source", tenant.binding(c.facet).source)] += 1
        seen[("cohorts", len([co for co in seg.cohorts if co.conditions]))] += 1
        rows.append({"exact": exact, "estimate": res.sample_estimate, "lo": res.sample_ci_low, "hi": res.sample_ci_high,
                     "shown": res.estimate, "auto_exact": res.exact, "ms": res.ms, "cpu": cpu})
    return rows, seen, runner


def _rel(a: int, b: int) -> float:
    return abs(a - b) / b


def report(tenant: Tenant, rows: list[dict], runner: DryRunner) -> float:
    print(f"\n{tenant.id}: {len(rows)} segments; population {runner.population:,}, sample {runner.sample_size:,}"
          f"{' (whole table)' if runner.whole_table else ''}")
    print("| audience (exact) | segments | auto-exact | interval covers exact | median rel. error, sample estimate "
          "| median rel. error, shown figure |")
    print("| --- | --- | --- | --- | --- | --- |")
    for _, _, label in BANDS + [(None, None, "all")]:
        sel = [r for r in rows if label == "all" or _band(r["exact"]) == label]
        if not sel:
            continue
        covered = sum(r["lo"] <= r["exact"] <= r["hi"] for r in sel)
        nonzero = [r for r in sel if r["exact"]]
        est_err = f"{statistics.median(_rel(r['estimate'], r['exact']) for r in nonzero):.1%}" if nonzero else "–"
        shown_err = f"{statistics.median(_rel(r['shown'], r['exact']) for r in nonzero):.1%}" if nonzero else "–"
        auto = sum(r["auto_exact"] for r in sel)
        print(f"| {label} | {len(sel)} | {auto} | {covered / len(sel):.1%} ({covered}/{len(sel)}) | {est_err} | {shown_err} |")
    zero_shown = sum(1 for r in rows if r["exact"] and r["shown"] == 0)
    print(f"non-empty audiences shown as 0: {zero_shown}; dry-run (auto-exact included) p50 {statistics.median(r['ms'] for r in rows):.0f} ms "
          f"wall / {statistics.median(r['cpu'] for r in rows):.0f} ms CPU, max {max(r['ms'] for r in rows):.0f} ms wall "
          f"/ {max(r['cpu'] for r in rows):.0f} ms CPU; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return sum(r["lo"] <= r["exact"] <= r["hi"] for r in rows) / len(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=400)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--tenant", action="append", help="tenant id (default: every tenant)")
    args = ap.parse_args()
    settings = Settings.load()
    worst = 1.0
    for tid in args.tenant or list_tenants(settings):
        tenant = load_tenant(tid, settings)
        t0 = time.perf_counter()
        rows, seen, runner = measure(tenant, args.segments, args.seed)
        cov = report(tenant, rows, runner)
        worst = min(worst, cov)
        print("drawn: " + ", ".join(f"{k}={v}" for (_, k), v in sorted(seen.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))))
        print(f"coverage {cov:.1%} at nominal 95% ({time.perf_counter() - t0:.0f} s)")
    print(f"\nlowest coverage over tenants: {worst:.1%} (goal >= 93%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
