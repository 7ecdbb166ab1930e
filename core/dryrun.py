"""Shadow dry-run: a repeatable customer sample, materialised once, counted read-only.

The sample file holds the sampled customers *and their* purchases, propensity rows and events, so
a dry-run never scans the full fact tables; the exact count runs on the full warehouse on request.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field
from sqlglot import exp

from core.errors import WorkbenchError
from core.segment import Segment
from core.sqlbuild import funnel_steps, segment_predicate
from core.tenant import Tenant

Verdict = Literal["ok", "too_narrow", "too_broad", "empty"]
FACT_TABLES = ("purchases", "propensity", "events")


class FunnelStep(BaseModel):
    cohort: int
    label: str
    remaining: int
    estimate: int


class BreakdownRow(BaseModel):
    value: str
    count: int
    share: float


class DryRunResult(BaseModel):
    sample_size: int
    sample_matched: int
    population: int
    estimate: int
    ci_low: int
    ci_high: int
    share: float
    verdict: Verdict
    funnel: list[FunnelStep] = Field(default_factory=list)
    breakdowns: dict[str, list[BreakdownRow]] = Field(default_factory=dict)
    sample_percent: float = 1.0
    ms: float = 0.0

    def summary(self) -> str:
        return (f"~{self.estimate:,} customers (95% CI {self.ci_low:,}–{self.ci_high:,}; "
                f"{self.sample_matched:,} of {self.sample_size:,} sampled; {self.share:.2%} of all) — {self.verdict}")


class WarehouseMissing(WorkbenchError):
    pass


def wilson(matched: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a sample proportion."""
    if n == 0:
        return (0.0, 0.0)
    p = matched / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


class DryRunner:
    """Counts segments on the tenant's sample; one per tenant and warehouse (see get_dryrunner)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.cfg = tenant.config.dryrun
        self.sample_path = ensure_sample(tenant)
        self._con = duckdb.connect(str(self.sample_path), read_only=True)
        self._full: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        self.as_of = dt.date.fromisoformat(meta["as_of"])
        self.population = int(meta["population"])
        self.sample_size = self._con.execute("SELECT count(*) FROM customers").fetchone()[0]

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # a cursor per call: Streamlit reruns run in threads
            return self._con.cursor()

    def run(self, segment: Segment) -> DryRunResult:
        """Matched count, estimate with 95% CI, funnel and breakdowns on the sample."""
        started = time.perf_counter()
        where = segment_predicate(segment, self.tenant, self.as_of)
        steps = [s for i, co in enumerate(segment.cohorts, 1) if co.conditions
                 for s in funnel_steps(co, self.tenant, self.as_of, number=i)]
        cols = [exp.Count(this=exp.Star()).sql("duckdb") + f" FILTER (WHERE {s.predicate.sql('duckdb')})" for s in steps]
        cols.append(f"count(*) FILTER (WHERE {where.sql('duckdb')})")
        cur = self._cursor()
        counts = cur.execute(f"SELECT {', '.join(cols)} FROM customers AS c").fetchone()
        matched = int(counts[-1])
        scale = self.population / self.sample_size if self.sample_size else 0.0
        funnel = [FunnelStep(cohort=s.cohort, label=s.label, remaining=int(n), estimate=round(n * scale))
                  for s, n in zip(steps, counts[:-1])]
        lo, hi = wilson(matched, self.sample_size)
        share = matched / self.sample_size if self.sample_size else 0.0
        result = DryRunResult(
            sample_size=self.sample_size, sample_matched=matched, population=self.population,
            estimate=round(share * self.population), ci_low=math.floor(lo * self.population),
            ci_high=math.ceil(hi * self.population), share=share, verdict=self._verdict(matched, share),
            funnel=funnel, breakdowns=self._breakdowns(cur, where, matched),
            sample_percent=self.cfg.sample_percent)
        result.ms = (time.perf_counter() - started) * 1000
        return result

    def _verdict(self, matched: int, share: float) -> Verdict:
        th = self.tenant.config.thresholds
        if matched == 0:
            return "empty"
        if share < th.too_narrow_share:
            return "too_narrow"
        if share > th.too_broad_share:
            return "too_broad"
        return "ok"

    def _breakdowns(self, cur: duckdb.DuckDBPyConnection, where: exp.Expression, matched: int) -> dict[str, list[BreakdownRow]]:
        out: dict[str, list[BreakdownRow]] = {}
        if matched == 0:
            return out
        for name in self.cfg.breakdowns:
            b = self.tenant.binding(name)
            if b.source != "customer":
                continue
            col = f"unnest(c.{b.column})" if b.multi else f"c.{b.column}"
            rows = cur.execute(f"SELECT {col} AS v, count(*) AS n FROM customers AS c WHERE {where.sql('duckdb')} "
                               f"GROUP BY v ORDER BY n DESC").fetchall()
            out[name] = [BreakdownRow(value=str(v), count=int(n), share=n / matched) for v, n in rows]
        return out

    def overlap(self, segment: Segment, other: Segment) -> tuple[int, float]:
        """Sampled customers in both segments, and their share of `segment`'s customers."""
        a = segment_predicate(segment, self.tenant, self.as_of).sql("duckdb")
        b = segment_predicate(other, self.tenant, self.as_of).sql("duckdb")
        both, mine = self._cursor().execute(
            f"SELECT count(*) FILTER (WHERE ({a}) AND ({b})), count(*) FILTER (WHERE {a}) FROM customers AS c").fetchone()
        return int(both), (both / mine if mine else 0.0)

    def exact_count(self, segment: Segment) -> int:
        """Count on the full customer table (read-only)."""
        with self._lock:
            if self._full is None:
                self._full = duckdb.connect(str(self.tenant.warehouse_path), read_only=True)
            cur = self._full.cursor()
        where = segment_predicate(segment, self.tenant, self.as_of)
        return int(cur.execute(f"SELECT count(*) FROM customers AS c WHERE {where.sql('duckdb')}").fetchone()[0])

    def customer_ids(self, segment: Segment, batch: int = 50_000):
        """Stream matching customer ids from the full table in batches (for CSV export)."""
        with self._lock:
            if self._full is None:
                self._full = duckdb.connect(str(self.tenant.warehouse_path), read_only=True)
            cur = self._full.cursor()
        where = segment_predicate(segment, self.tenant, self.as_of)
        total = self.exact_count(segment)
        res = cur.execute(f"SELECT c.customer_id FROM customers AS c WHERE {where.sql('duckdb')} ORDER BY 1")
        done = 0
        while rows := res.fetchmany(batch):
            done += len(rows)
            yield [r[0] for r in rows], done, total

    def close(self) -> None:
        self._con.close()
        if self._full is not None:
            self._full.close()


# ---- the sample file -------------------------------------------------------------------------

def sample_path_for(tenant: Tenant) -> Path:
    cfg = tenant.config.dryrun
    pct = f"{cfg.sample_percent:g}".replace(".", "_")
    return tenant.warehouse_path.with_name(f"{tenant.id}.sample-{pct}pct-{cfg.seed}.duckdb")


def _source_stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{int(st.st_mtime)}"


def ensure_sample(tenant: Tenant) -> Path:
    """Materialise the repeatable sample once per warehouse version (under a file lock)."""
    wh = tenant.warehouse_path
    if not wh.exists():
        raise WarehouseMissing(f"No sample warehouse for tenant {tenant.id!r} at {wh}. "
                               f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
    target = sample_path_for(tenant)
    stamp = _source_stamp(wh)
    if _sample_stamp(target) == stamp:
        return target
    lock_path = target.with_name(target.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _sample_stamp(target) != stamp:
            _build_sample(tenant, wh, target, stamp)
    return target


def _sample_stamp(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'source_stamp'").fetchone()
        finally:
            con.close()
        return row[0] if row else None
    except duckdb.Error:
        return None


def _build_sample(tenant: Tenant, wh: Path, target: Path, stamp: str) -> None:
    cfg = tenant.config.dryrun
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"ATTACH {exp.Literal.string(str(wh)).sql('duckdb')} AS wh (READ_ONLY)")
        pct = float(cfg.sample_percent)
        con.execute(f"CREATE TABLE customers AS SELECT * FROM wh.customers "
                    f"USING SAMPLE {pct}% (bernoulli, {int(cfg.seed)})")
        for table in FACT_TABLES:
            con.execute(f"CREATE TABLE {table} AS SELECT t.* FROM wh.{table} t "
                        f"SEMI JOIN customers c ON c.customer_id = t.customer_id")
        meta = dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
        meta["population"] = str(con.execute("SELECT count(*) FROM wh.customers").fetchone()[0])
        meta["source_stamp"] = stamp
        meta["sample_percent"] = str(pct)
        con.execute("CREATE TABLE meta(key VARCHAR, value VARCHAR)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        con.execute("DETACH wh")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, target)


_RUNNERS: dict[tuple[str, str, str], DryRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def get_dryrunner(tenant: Tenant) -> DryRunner:
    """One DryRunner per tenant and warehouse version in this process."""
    wh = tenant.warehouse_path
    if not wh.exists():
        raise WarehouseMissing(f"No sample warehouse for tenant {tenant.id!r} at {wh}. "
                               f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
    key = (tenant.id, str(wh), _source_stamp(wh))
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            runner = _RUNNERS[key] = DryRunner(tenant)
        return runner


def dryrun_cli(tenant: Tenant, segment: Segment, args: Any) -> int:
    """`segwork dryrun`: a readable report, or JSON."""
    from core.segment import validate_segment_strict

    validate_segment_strict(segment, tenant.catalog)
    runner = get_dryrunner(tenant)
    result = runner.run(segment)
    exact = runner.exact_count(segment) if args.full else None
    if args.json:
        payload = result.model_dump()
        payload["exact_count"] = exact
        print(json.dumps(payload, indent=2))
        return 0
    print(f"Segment: {segment.render()}")
    print(f"Estimate: {result.summary()}  [{result.ms:.0f} ms]")
    if exact is not None:
        print(f"Exact count (full table): {exact:,}")
    print("Funnel:")
    for s in result.funnel:
        print(f"  cohort {s.cohort}: {s.estimate:>12,}  after {s.label}")
    for name, rows in result.breakdowns.items():
        top = ", ".join(f"{r.value} {r.share:.0%}" for r in rows[:5])
        print(f"By {name}: {top}")
    return 0
