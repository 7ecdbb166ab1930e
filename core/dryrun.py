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
from sqlglot import exp, select

from core.errors import SegmentError, WorkbenchError
from core.segment import Segment
from core.sqlbuild import CUSTOMER, Step, funnel_steps, segment_predicate
from core.tenant import Tenant
from core.warehouse import check_schema

Verdict = Literal["ok", "too_narrow", "too_broad", "empty"]
FACT_TABLES = ("purchases", "propensity", "events")
_ALL = -1  # grouping-set marker of the row that carries the funnel totals


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


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
        self._con = _open_read_only(self.sample_path, tenant.id)
        try:
            check_schema(self._con, tenant)  # a binding to a missing column fails here, by name, not in every count
        except WorkbenchError:
            self._con.close()
            raise
        self._full: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        self.as_of = dt.date.fromisoformat(meta["as_of"])
        self.population = int(meta["population"])
        self.sample_size = self._con.execute("SELECT count(*) FROM customers").fetchone()[0]

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # a cursor per call: Streamlit reruns run in threads
            cur = self._con.cursor()
        return cur.execute("USE wh")  # a cursor starts in the in-memory default database

    def run(self, segment: Segment) -> DryRunResult:
        """Matched count, estimate with 95% CI, funnel and breakdowns on the sample."""
        started = time.perf_counter()
        steps = [s for i, co in enumerate(segment.cohorts, 1) if co.conditions
                 for s in funnel_steps(co, self.tenant, self.as_of, number=i)]
        if not steps:
            raise SegmentError("The segment has no conditions; add at least one.")
        query, singles, multis = self._count_query(steps)
        cur = self._cursor()
        rows = cur.execute(query).fetchall()
        totals = next(r for r in rows if r[0] == _ALL)
        counts, matched = totals[1 + len(singles):-1], int(totals[-1])
        scale = self.population / self.sample_size if self.sample_size else 0.0
        cohorts = sorted({s.cohort for s in steps})
        labels = [s.label for s in steps] + ([f"any of cohorts {', '.join(map(str, cohorts))}"] if len(cohorts) > 1 else [])
        numbers = [s.cohort for s in steps] + ([0] if len(cohorts) > 1 else [])
        funnel = [FunnelStep(cohort=c, label=label, remaining=int(n), estimate=round(n * scale))
                  for c, label, n in zip(numbers, labels, counts)]
        breakdowns: dict[str, list[BreakdownRow]] = {}
        if matched:
            for g, name in enumerate(singles):
                found = sorted(((r[1 + g], r[-1]) for r in rows if r[0] == g and r[-1]), key=lambda vn: (-vn[1], str(vn[0])))
                breakdowns[name] = [BreakdownRow(value=_label(v), count=int(n), share=n / matched) for v, n in found]
            where = segment_predicate(segment, self.tenant, self.as_of)
            for name in multis:
                breakdowns[name] = self._unnested_breakdown(cur, name, where, matched)
        lo, hi = wilson(matched, self.sample_size)
        share = matched / self.sample_size if self.sample_size else 0.0
        result = DryRunResult(
            sample_size=self.sample_size, sample_matched=matched, population=self.population,
            estimate=round(share * self.population), ci_low=math.floor(lo * self.population),
            ci_high=math.ceil(hi * self.population), share=share, verdict=self._verdict(matched, share),
            funnel=funnel, breakdowns={k: breakdowns[k] for k in self.cfg.breakdowns if k in breakdowns},
            sample_percent=self.cfg.sample_percent)
        result.ms = (time.perf_counter() - started) * 1000
        return result

    def _count_query(self, steps: list[Step]) -> tuple[str, list[str], list[str]]:
        """One scan of the sample: every distinct condition term is evaluated once as a flag column.

        Funnel steps and the cohorts' OR are counted from the flags; the breakdowns of the matched
        customers come from grouping sets of the same scan (the empty set carries the funnel).
        """
        flags: dict[str, int] = {}
        projections: list[exp.Expression] = []

        def flag(term: exp.Expression) -> exp.Expression:
            key = term.sql("duckdb")
            if key not in flags:
                flags[key] = len(flags)
                projections.append(exp.alias_(term.copy(), f"t{flags[key]}"))
            return exp.column(f"t{flags[key]}")

        step_preds = [exp.and_(*[flag(t) for t in s.terms]) for s in steps]
        last = {s.cohort: p for s, p in zip(steps, step_preds)}  # each cohort's final step
        hit = exp.or_(*[exp.paren(p) for p in last.values()]) if len(last) > 1 else next(iter(last.values()))
        if len(last) > 1:
            step_preds.append(hit.copy())
        singles, multis = [], []
        for name in self.cfg.breakdowns:
            b = self.tenant.binding(name)
            if b.source == "customer":
                (multis if b.multi else singles).append(name)
        dims = [exp.alias_(exp.column(self.tenant.binding(n).column, table=CUSTOMER), f"d{i}") for i, n in enumerate(singles)]
        inner = select(*dims, *projections).from_(exp.Table(this=exp.to_identifier("customers"),
                                                             alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER))))
        dim_cols = [exp.column(f"d{i}") for i in range(len(singles))]
        # GROUPING(d0..dn) is all ones for the empty set; for set (d_g) only bit g is clear.
        width = len(dim_cols)
        which = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.Grouping(expressions=[c.copy() for c in dim_cols]),
                                                 expression=exp.Literal.number((2 ** width - 1) ^ (1 << (width - 1 - g)))),
                                     true=exp.Literal.number(g)) for g in range(width)],
                         default=exp.Literal.number(_ALL)) if dim_cols else exp.Literal.number(_ALL)
        counts = [exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=p)) for p in step_preds]
        counts.append(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=hit.copy())))
        outer = select(which, *dim_cols, *counts).from_(inner.subquery("f"))
        sets = [exp.Tuple(expressions=[])] + [exp.Tuple(expressions=[c.copy()]) for c in dim_cols]
        outer = outer.group_by(exp.GroupingSets(expressions=sets)) if dim_cols else outer
        return outer.sql("duckdb"), singles, multis

    def _unnested_breakdown(self, cur: duckdb.DuckDBPyConnection, name: str, where: exp.Expression,
                            matched: int) -> list[BreakdownRow]:
        """Breakdown over a list column: a customer counts once under each of its values."""
        col = exp.column(self.tenant.binding(name).column, table=CUSTOMER)
        q = (select(exp.alias_(exp.Explode(this=col), "v"), exp.alias_(exp.Count(this=exp.Star()), "n"))
             .from_(exp.Table(this=exp.to_identifier("customers"), alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER))))
             .where(where).group_by("v").order_by("n DESC", "v"))
        return [BreakdownRow(value=_label(v), count=int(n), share=n / matched) for v, n in cur.execute(q.sql("duckdb")).fetchall()]

    def _verdict(self, matched: int, share: float) -> Verdict:
        th = self.tenant.config.thresholds
        if matched == 0:
            return "empty"
        if share < th.too_narrow_share:
            return "too_narrow"
        if share > th.too_broad_share:
            return "too_broad"
        return "ok"

    def overlap(self, segment: Segment, other: Segment) -> tuple[int, float]:
        """Sampled customers in both segments, and their share of `segment`'s customers."""
        a = segment_predicate(segment, self.tenant, self.as_of).sql("duckdb")
        b = segment_predicate(other, self.tenant, self.as_of).sql("duckdb")
        both, mine = self._cursor().execute(
            f"SELECT count(*) FILTER (WHERE ({a}) AND ({b})), count(*) FILTER (WHERE {a}) FROM customers AS c").fetchone()
        return int(both), (both / mine if mine else 0.0)

    def _full_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._full is None:
                self._full = _open_read_only(self.tenant.warehouse_path, self.tenant.id)
            cur = self._full.cursor()
        return cur.execute("USE wh")

    def exact_count(self, segment: Segment) -> int:
        """Count on the full customer table (read-only)."""
        cur = self._full_cursor()
        where = segment_predicate(segment, self.tenant, self.as_of)
        return int(cur.execute(f"SELECT count(*) FROM customers AS c WHERE {where.sql('duckdb')}").fetchone()[0])

    def customer_ids(self, segment: Segment, batch: int = 50_000):
        """Stream matching customer ids from the full table in batches (for CSV export)."""
        cur = self._full_cursor()
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
    """Identifies one version of the warehouse file (a regenerated file gets a new stamp)."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


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


def _open_read_only(path: Path, tenant_id: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file as it is *now*.

    ATTACH into a private in-memory database rather than `duckdb.connect(path)`: connect() hands
    back the process-wide cached instance of that path, which still shows the old file after
    the warehouse or sample was regenerated and replaced.
    """
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {exp.Literal.string(str(path)).sql('duckdb')} AS wh (READ_ONLY)")
        con.execute("USE wh")
        return con
    except duckdb.IOException as exc:  # another process is writing it (e.g. data generate)
        con.close()
        raise WarehouseMissing(f"The warehouse {path} cannot be opened read-only ({str(exc).splitlines()[0]}). "
                               f"Wait for `segwork data generate --tenant {tenant_id}` to finish, then retry.") from None


def _sample_stamp(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        con = _open_read_only(path, "")
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'source_stamp'").fetchone()
        finally:
            con.close()
        return row[0] if row else None
    except (duckdb.Error, WorkbenchError):
        return None


def _build_sample(tenant: Tenant, wh: Path, target: Path, stamp: str) -> None:
    cfg = tenant.config.dryrun
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        try:
            con.execute(f"ATTACH {exp.Literal.string(str(wh)).sql('duckdb')} AS wh (READ_ONLY)")
        except duckdb.IOException as exc:
            raise WarehouseMissing(f"The warehouse {wh} cannot be opened read-only ({str(exc).splitlines()[0]}). "
                                   f"Wait for `segwork data generate --tenant {tenant.id}` to finish, then retry.") from None
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
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
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
    """`segwork dryrun`: a readable report, or JSON (`--json`); `--full` adds the exact count."""
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
    print(render_report(segment, result, exact))
    return 0


def render_report(segment: Segment, result: DryRunResult, exact: int | None = None) -> str:
    """Plain-text report: estimate, funnel table and breakdowns."""
    lines = [f"Segment:  {segment.render()}",
             f"Estimate: {result.summary()}  [{result.ms:.0f} ms on a {result.sample_percent:g}% sample]"]
    if exact is not None:
        lines.append(f"Exact:    {exact:,} customers (full table)")
    width = max([len(s.label) for s in result.funnel] + [len("step")])
    lines += ["", f"  cohort  {'step':<{width}}  {'sampled':>9}  {'estimate':>12}"]
    for s in result.funnel:
        lines.append(f"  {s.cohort or 'any':>6}  {s.label:<{width}}  {s.remaining:>9,}  {s.estimate:>12,}")
    if result.breakdowns:
        lines.append("")
    for name, rows in result.breakdowns.items():
        lines.append(f"  By {name}: " + ", ".join(f"{r.value} {r.share:.0%}" for r in rows[:6])
                     + (f", … ({len(rows) - 6} more)" if len(rows) > 6 else ""))
    return "\n".join(lines)
