"""Shadow dry-run: a repeatable customer sample, materialised once, counted read-only.

The sample file holds a simple random sample of customers (at least `min_sample_rows` of them) *and
their* purchases, propensity rows and events, so a dry-run never scans the full fact tables. When the
sample is too thin to trust (few matched rows, or a wide interval) the same dry-run also counts the
full warehouse exactly; a population no larger than `min_sample_rows` is counted whole.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field
from sqlglot import exp, select

from core.errors import SegmentError, WorkbenchError
from core.interval import scaled_interval, too_unsure, wilson  # noqa: F401 - wilson is part of this module's API
from core.segment import Cohort, Condition, Segment
from core.sqlbuild import CUSTOMER, condition_predicate, funnel_steps, segment_predicate
from core.tenant import Tenant

Verdict = Literal["ok", "too_narrow", "too_broad", "empty"]
Basis = Literal["sample", "exact", "whole_table"]
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


class ChannelReach(BaseModel):
    """Customers of the audience reachable on one channel of the catalog's `rules.reachability`."""
    channel: str
    count: int
    share: float  # of the audience


class Relaxation(BaseModel):
    """The audience after dropping one condition (estimated on the sample scan)."""
    cohort: int
    condition: str
    estimate: int
    sample_matched: int


class Narrowing(BaseModel):
    """A condition that would bring a too-broad audience back within the tenant's bounds."""
    condition: str
    estimate: int


class DryRunResult(BaseModel):
    sample_size: int
    sample_matched: int
    population: int
    estimate: int  # the figure to show: the exact count when `exact`, else the sample estimate
    ci_low: int
    ci_high: int
    share: float  # estimate / population
    verdict: Verdict
    exact: bool = False
    basis: Basis = "sample"
    exact_reason: str = ""  # why the exact count was run (thin sample), or that the table was counted whole
    sample_estimate: int = 0
    sample_ci_low: int = 0
    sample_ci_high: int = 0
    verdict_reason: str = ""
    reach: list[ChannelReach] = Field(default_factory=list)
    biggest_cut: str = ""  # the funnel step that kept the smallest share of what reached it
    relaxations: list[Relaxation] = Field(default_factory=list)
    narrow_by: Narrowing | None = None
    funnel: list[FunnelStep] = Field(default_factory=list)
    breakdowns: dict[str, list[BreakdownRow]] = Field(default_factory=dict)
    sample_percent: float = 1.0
    ms: float = 0.0
    exact_ms: float = 0.0

    def size_text(self) -> str:
        """The audience as shown: `34 (exact)` or `~1,240 (95% CI 1,100–1,390)`."""
        if self.exact:
            return f"{self.estimate:,} customers (exact{', whole table' if self.basis == 'whole_table' else ''})"
        return f"~{self.estimate:,} customers (95% CI {self.ci_low:,}–{self.ci_high:,})"

    def reach_text(self) -> str:
        mark = "" if self.exact else "~"
        return ", ".join(f"{r.channel} {mark}{r.count:,}" for r in self.reach)

    def summary(self) -> str:
        sampled = ("whole table counted" if self.basis == "whole_table"
                   else f"{self.sample_matched:,} of {self.sample_size:,} sampled")
        out = f"{self.size_text()}; {sampled}; {self.share:.2%} of all — {self.verdict}"
        if self.verdict_reason:
            out += f": {self.verdict_reason}"
        return out


class Overlap(BaseModel):
    """Customers a draft shares with another segment, counted well enough to warn on."""
    shared: int
    share: float  # of the draft's customers
    exact: bool
    sample_matched: int  # the draft's matched sample rows


class WarehouseMissing(WorkbenchError):
    pass


def _rule_condition(rc: Any) -> Condition:
    return Condition(facet=rc.facet, op=rc.op, values=rc.values)


class _Scan:
    """Builds one scan of a customers table: each distinct term is a flag column, every count a FILTER."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.projections: list[exp.Expression] = []
        self.counts: list[exp.Expression] = []

    def flag(self, term: exp.Expression) -> exp.Expression:
        key = term.sql("duckdb")
        if key not in self.keys:
            self.keys[key] = len(self.keys)
            self.projections.append(exp.alias_(term.copy(), f"t{self.keys[key]}"))
        return exp.column(f"t{self.keys[key]}")

    def all_of(self, terms: Any) -> exp.Expression:
        flags = [self.flag(t) for t in terms]
        return exp.and_(*flags) if flags else exp.true()

    def count(self, where: exp.Expression) -> int:
        """Adds a `count(*) FILTER (WHERE ...)`; returns its position among the counts."""
        self.counts.append(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=where.copy())))
        return len(self.counts) - 1


def _any(preds: list[exp.Expression]) -> exp.Expression:
    return exp.or_(*[exp.paren(p.copy()) for p in preds]) if len(preds) > 1 else preds[0].copy()


def _customers_table() -> exp.Table:
    return exp.Table(this=exp.to_identifier("customers"), alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER)))


class DryRunner:
    """Counts segments on the tenant's sample; one per tenant and warehouse (see get_dryrunner)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.cfg = tenant.config.dryrun
        self.sample_path = ensure_sample(tenant)
        meta = _read_meta(self.sample_path, tenant.id)
        self.whole_table = meta.get("whole_table") == "1"
        # Whole table: the warehouse itself is the "sample", and every count is exact.
        self._con = _open_read_only(tenant.warehouse_path if self.whole_table else self.sample_path, tenant.id)
        self._full: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self.as_of = dt.date.fromisoformat(meta["as_of"])
        self.population = int(meta["population"])
        self.sample_size = self._con.execute("SELECT count(*) FROM customers").fetchone()[0]
        self.channels = {ch: [_rule_condition(rc) for rc in conds]
                         for ch, conds in tenant.catalog.rules.reachability.items()}

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # a cursor per call: Streamlit reruns run in threads
            cur = self._con.cursor()
        return cur.execute("USE wh")  # a cursor starts in the in-memory default database

    @property
    def scale(self) -> float:
        return self.population / self.sample_size if self.sample_size else 0.0

    def run(self, segment: Segment) -> DryRunResult:
        """Size (estimate with 95% CI, or exact when the sample is thin), funnel, reach, verdict, breakdowns."""
        started = time.perf_counter()
        plan = self._plan(segment)
        cur = self._cursor()
        rows = cur.execute(plan.sql).fetchall()
        totals = next(r for r in rows if r[0] == _ALL)
        counts = totals[1 + len(plan.singles):]
        matched = int(counts[plan.hit])
        estimate, low, high = scaled_interval(matched, self.sample_size, self.population)
        result = DryRunResult(
            sample_size=self.sample_size, sample_matched=matched, population=self.population,
            estimate=estimate, ci_low=low, ci_high=high, share=0.0, verdict="ok",
            sample_estimate=estimate, sample_ci_low=low, sample_ci_high=high,
            funnel=[FunnelStep(cohort=c, label=label, remaining=int(counts[i]), estimate=round(counts[i] * self.scale))
                    for c, label, i in plan.funnel],
            relaxations=[Relaxation(cohort=c, condition=label, estimate=round(counts[i] * self.scale),
                                    sample_matched=int(counts[i])) for c, label, i in plan.relaxed],
            sample_percent=self.cfg.sample_percent)
        reach = {ch: int(counts[i]) for ch, i in plan.reach.items()}
        if self.whole_table:
            result.exact, result.basis = True, "whole_table"
            result.exact_reason = f"the whole table was counted ({self.population:,} customers, at most min_sample_rows)"
        else:
            reason = "no sampled customer matches" if matched == 0 else too_unsure(
                matched, estimate, low, high, self.cfg.exact_below, self.cfg.max_relative_error)
            if reason:
                t0 = time.perf_counter()
                full = self._exact_scan(segment)
                result.exact_ms = (time.perf_counter() - t0) * 1000
                result.exact, result.basis, result.exact_reason = True, "exact", reason
                result.estimate = result.ci_low = result.ci_high = int(full[plan.hit])
                for step, (_, _, i) in zip(result.funnel, plan.funnel):
                    step.estimate = int(full[i])
                for relax, (_, _, i) in zip(result.relaxations, plan.relaxed):
                    relax.estimate = int(full[i])
                reach = {ch: int(full[i]) for ch, i in plan.reach.items()}
            else:
                reach = {ch: round(n * self.scale) for ch, n in reach.items()}
        if result.exact and result.basis == "whole_table":
            result.ci_low = result.ci_high = result.estimate
        size = result.estimate
        result.share = size / self.population if self.population else 0.0
        result.reach = [ChannelReach(channel=ch, count=n, share=n / size if size else 0.0) for ch, n in reach.items()]
        if matched:
            result.breakdowns = self._breakdowns(cur, rows, plan, segment, matched)
        result.biggest_cut = _biggest_cut(result.funnel, self.population)
        self._judge(result)
        result.ms = (time.perf_counter() - started) * 1000
        return result

    # ---- the one scan ----------------------------------------------------------------------

    def _plan(self, segment: Segment, breakdowns: bool = True) -> "_Plan":
        """One scan of the sample: funnel steps, the cohorts' OR, each all-but-one relaxation and
        the reach of each channel are counts of flag columns; breakdowns are grouping sets."""
        cohorts = [(i, co) for i, co in enumerate(segment.cohorts, 1) if co.conditions]
        if not cohorts:
            raise SegmentError("The segment has no conditions; add at least one.")
        scan = _Scan()
        funnel: list[tuple[int, str, int]] = []
        finals: dict[int, exp.Expression] = {}
        for number, co in cohorts:
            for step in funnel_steps(co, self.tenant, self.as_of, number=number):
                finals[number] = scan.all_of(step.terms)
                funnel.append((number, step.label, scan.count(finals[number])))
        hit = _any(list(finals.values()))
        if len(finals) > 1:
            funnel.append((0, f"any of cohorts {', '.join(map(str, finals))}", scan.count(hit)))
        hit_at = scan.count(hit)
        relaxed = []
        for number, co in cohorts:
            for j, cond in enumerate(co.conditions):
                rest = Cohort(conditions=[c for k, c in enumerate(co.conditions) if k != j])
                mine = scan.all_of(funnel_steps(rest, self.tenant, self.as_of, number=number)[-1].terms) \
                    if rest.conditions else exp.true()
                others = [p for n, p in finals.items() if n != number]
                relaxed.append((number, cond.render(), scan.count(_any(others + [mine]))))
        reach = {ch: scan.count(exp.and_(hit.copy(), scan.all_of(condition_predicate(c, self.tenant, self.as_of) for c in conds)))
                 for ch, conds in self.channels.items()}
        singles, multis = [], []
        for name in self.cfg.breakdowns if breakdowns else []:
            b = self.tenant.binding(name)
            if b.source == "customer":
                (multis if b.multi else singles).append(name)
        sql = _grouped_scan_sql(scan, [self.tenant.binding(n).column for n in singles])
        return _Plan(sql=sql, singles=singles, multis=multis, funnel=funnel, hit=hit_at, relaxed=relaxed,
                     reach=reach)

    def _breakdowns(self, cur: duckdb.DuckDBPyConnection, rows: list[tuple], plan: "_Plan", segment: Segment,
                    matched: int) -> dict[str, list[BreakdownRow]]:
        out: dict[str, list[BreakdownRow]] = {}
        width = 1 + len(plan.singles)
        for g, name in enumerate(plan.singles):
            found = sorted(((r[1 + g], r[width + plan.hit]) for r in rows if r[0] == g and r[width + plan.hit]),
                           key=lambda vn: (-vn[1], str(vn[0])))
            out[name] = [BreakdownRow(value=_label(v), count=int(n), share=n / matched) for v, n in found]
        if plan.multis:
            where = segment_predicate(segment, self.tenant, self.as_of)
            for name in plan.multis:
                out[name] = self._unnested_breakdown(cur, name, where, matched)
        return {k: out[k] for k in self.cfg.breakdowns if k in out}

    def _unnested_breakdown(self, cur: duckdb.DuckDBPyConnection, name: str, where: exp.Expression,
                            matched: int) -> list[BreakdownRow]:
        """Breakdown over a list column: a customer counts once under each of its values."""
        col = exp.column(self.tenant.binding(name).column, table=CUSTOMER)
        q = (select(exp.alias_(exp.Explode(this=col), "v"), exp.alias_(exp.Count(this=exp.Star()), "n"))
             .from_(_customers_table()).where(where).group_by("v").order_by("n DESC", "v"))
        return [BreakdownRow(value=_label(v), count=int(n), share=n / matched) for v, n in cur.execute(q.sql("duckdb")).fetchall()]

    # ---- the verdict -----------------------------------------------------------------------

    def _judge(self, r: DryRunResult) -> None:
        """Verdict from the tenant's thresholds and minimum audience, with what to change."""
        th, floor = self.tenant.config.thresholds, self.tenant.config.policies.min_audience
        approx = "" if r.exact else "~"
        if r.exact and r.estimate == 0:
            r.verdict, r.verdict_reason = "empty", "no customer matches (exact count)"
        elif r.estimate < floor or r.share < th.too_narrow_share:
            r.verdict = "too_narrow"
            why = (f"under the minimum audience of {floor:,}" if r.estimate < floor
                   else f"under {th.too_narrow_share:.2%} of all customers")
            parts = [why]
            if r.biggest_cut:
                parts.append(f"'{r.biggest_cut}' cut the most")
            parts += [f"without '{x.condition}': {approx}{x.estimate:,}" for x in r.relaxations]
            r.verdict_reason = "; ".join(parts)
        elif r.share > th.too_broad_share:
            r.verdict = "too_broad"
            r.narrow_by = self._narrowing(r)
            r.verdict_reason = f"over {th.too_broad_share:.0%} of all customers"
            if r.narrow_by:
                r.verdict_reason += f"; adding '{r.narrow_by.condition}' narrows it most: {approx}{r.narrow_by.estimate:,}"
        else:
            r.verdict, r.verdict_reason = "ok", ""

    def _narrowing(self, r: DryRunResult) -> Narrowing | None:
        """The added condition (a breakdown value, or a channel's reachability) that narrows the audience
        most while keeping it within the tenant's bounds."""
        th, floor = self.tenant.config.thresholds, self.tenant.config.policies.min_audience
        candidates = [Narrowing(condition=f"reachable by {x.channel}", estimate=x.count) for x in r.reach]
        for name, rows in r.breakdowns.items():
            if self.tenant.binding(name).multi:
                continue
            candidates += [Narrowing(condition=f"{name} is {b.value}", estimate=round(b.share * r.estimate))
                           for b in rows if b.value != "(none)"]
        fits = [c for c in candidates if c.estimate >= floor and
                th.too_narrow_share <= c.estimate / self.population <= th.too_broad_share]
        return min(fits, key=lambda c: (c.estimate, c.condition)) if fits else None

    # ---- the full table --------------------------------------------------------------------

    def _full_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._full is None:
                self._full = _open_read_only(self.tenant.warehouse_path, self.tenant.id)
            cur = self._full.cursor()
        return cur.execute("USE wh")

    def _exact_scan(self, segment: Segment) -> tuple[int, ...]:
        """The dry-run's counts (funnel, audience, relaxations, reach) exactly, in one scan of the full table."""
        plan = self._plan(segment, breakdowns=False)
        return tuple(self._full_cursor().execute(plan.sql).fetchone()[1:])

    def exact_count(self, segment: Segment) -> int:
        """Count on the full customer table (read-only)."""
        where = segment_predicate(segment, self.tenant, self.as_of)
        q = select(exp.Count(this=exp.Star())).from_(_customers_table()).where(where)
        return int(self._full_cursor().execute(q.sql("duckdb")).fetchone()[0])

    def overlap_detail(self, segment: Segment, other: Segment) -> Overlap:
        """Customers of `segment` also in `other`: on the sample when at least `exact_below` sampled
        customers match `segment`, else counted exactly (never a share of a handful of rows)."""
        a = segment_predicate(segment, self.tenant, self.as_of)
        b = segment_predicate(other, self.tenant, self.as_of)
        both, mine = _both_and_mine(self._cursor(), a, b)
        if self.whole_table:
            return Overlap(shared=both, share=both / mine if mine else 0.0, exact=True, sample_matched=mine)
        if mine >= max(self.cfg.exact_below, 1):
            return Overlap(shared=round(both * self.scale), share=both / mine, exact=False, sample_matched=mine)
        all_both, all_mine = _both_and_mine(self._full_cursor(), a, b)
        return Overlap(shared=all_both, share=all_both / all_mine if all_mine else 0.0, exact=True, sample_matched=mine)

    def overlap(self, segment: Segment, other: Segment) -> tuple[int, float]:
        """(customers in both, their share of `segment`'s customers); see overlap_detail."""
        d = self.overlap_detail(segment, other)
        return d.shared, d.share

    def customer_ids(self, segment: Segment, batch: int = 50_000):
        """Stream matching customer ids from the full table in batches (for CSV export)."""
        cur = self._full_cursor()
        where = segment_predicate(segment, self.tenant, self.as_of)
        total = self.exact_count(segment)
        q = select(exp.column("customer_id", table=CUSTOMER)).from_(_customers_table()).where(where).order_by("1")
        res = cur.execute(q.sql("duckdb"))
        done = 0
        while rows := res.fetchmany(batch):
            done += len(rows)
            yield [r[0] for r in rows], done, total

    def close(self) -> None:
        self._con.close()
        if self._full is not None:
            self._full.close()


@dataclass
class _Plan:
    sql: str
    singles: list[str]
    multis: list[str]
    funnel: list[tuple[int, str, int]]  # (cohort, label, count position)
    hit: int
    relaxed: list[tuple[int, str, int]]
    reach: dict[str, int]


def _grouped_scan_sql(scan: _Scan, dim_columns: list[str]) -> str:
    """SELECT which-set, dims, counts FROM (flags of customers) GROUP BY GROUPING SETS ((), (d0), (d1), ...).

    GROUPING(d0..dn) is all ones for the empty set; for set (d_g) only bit g is clear.
    """
    dims = [exp.alias_(exp.column(c, table=CUSTOMER), f"d{i}") for i, c in enumerate(dim_columns)]
    inner = select(*dims, *scan.projections).from_(_customers_table())
    dim_cols = [exp.column(f"d{i}") for i in range(len(dims))]
    width = len(dim_cols)
    which = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.Grouping(expressions=[c.copy() for c in dim_cols]),
                                             expression=exp.Literal.number((2 ** width - 1) ^ (1 << (width - 1 - g)))),
                                 true=exp.Literal.number(g)) for g in range(width)],
                     default=exp.Literal.number(_ALL)) if dim_cols else exp.Literal.number(_ALL)
    outer = select(which, *dim_cols, *[c.copy() for c in scan.counts]).from_(inner.subquery("f"))
    if dim_cols:
        sets = [exp.Tuple(expressions=[])] + [exp.Tuple(expressions=[c.copy()]) for c in dim_cols]
        outer = outer.group_by(exp.GroupingSets(expressions=sets))
    return outer.sql("duckdb")


def _both_and_mine(cur: duckdb.DuckDBPyConnection, a: exp.Expression, b: exp.Expression) -> tuple[int, int]:
    both = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.and_(exp.paren(a.copy()), exp.paren(b.copy()))))
    mine = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=a.copy()))
    row = cur.execute(select(both, mine).from_(_customers_table()).sql("duckdb")).fetchone()
    return int(row[0]), int(row[1])


def _biggest_cut(funnel: list[FunnelStep], population: int) -> str:
    """The funnel step that kept the smallest share of the customers that reached it."""
    best, best_keep, before = "", 2.0, {}
    for s in funnel:
        if s.cohort == 0:
            continue
        prev = before.get(s.cohort, population)
        keep = s.estimate / prev if prev else 1.0
        if keep < best_keep:
            best, best_keep = s.label, keep
        before[s.cohort] = s.estimate
    return best


# ---- the sample file -------------------------------------------------------------------------

def sample_path_for(tenant: Tenant) -> Path:
    cfg = tenant.config.dryrun
    pct = f"{cfg.sample_percent:g}".replace(".", "_")
    return tenant.warehouse_path.with_name(f"{tenant.id}.sample-{pct}pct-min{cfg.min_sample_rows}-{cfg.seed}.duckdb")


def sample_size_for(population: int, sample_percent: float, min_sample_rows: int) -> int:
    """max(sample_percent of the population, min_sample_rows), capped at the population."""
    return min(population, max(math.ceil(population * sample_percent / 100), min_sample_rows))


def _source_stamp(path: Path) -> str:
    """Identifies one version of the warehouse file (a regenerated file gets a new stamp).

    The DuckDB version is part of it: the sample is drawn by DuckDB's hash, which may change with it.
    """
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:duckdb-{duckdb.__version__}"


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


def _read_meta(path: Path, tenant_id: str) -> dict[str, str]:
    con = _open_read_only(path, tenant_id)
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()


def _sample_stamp(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        return _read_meta(path, "").get("source_stamp")
    except (duckdb.Error, WorkbenchError):
        return None


def _draw_sample(con: duckdb.DuckDBPyConnection, size: int, seed: int) -> None:
    """A simple random sample of exactly `size` customers, the same for the same warehouse and seed.

    Customers are ranked by a seeded hash of their id (a pseudo-random permutation that does not
    depend on thread scheduling) and the first `size` kept; the constant string keeps the ranking
    independent of the generator's own `hash(customer_id, salt)` draws.
    """
    rank = exp.func("hash", exp.column("customer_id"), exp.Literal.number(seed), exp.Literal.string("dry-run sample"))
    pick = (select("*").from_("wh.customers").order_by(rank, exp.column("customer_id")).limit(size))
    con.execute(f"CREATE TABLE customers AS SELECT * FROM ({pick.sql('duckdb')}) ORDER BY customer_id")
    for table in FACT_TABLES:
        con.execute(f"CREATE TABLE {table} AS SELECT t.* FROM wh.{table} t "
                    f"SEMI JOIN customers c ON c.customer_id = t.customer_id")


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
        population = con.execute("SELECT count(*) FROM wh.customers").fetchone()[0]
        size = sample_size_for(population, cfg.sample_percent, cfg.min_sample_rows)
        whole = population <= cfg.min_sample_rows
        if not whole:  # the whole table needs no copy: the runner reads the warehouse itself
            _draw_sample(con, size, cfg.seed)
        meta = dict(con.execute("SELECT key, value FROM wh.meta").fetchall())
        meta.update(population=str(population), source_stamp=stamp, sample_percent=str(cfg.sample_percent),
                    min_sample_rows=str(cfg.min_sample_rows), sample_size=str(size), whole_table="1" if whole else "0")
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


_RUNNERS: dict[tuple[str, ...], DryRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def get_dryrunner(tenant: Tenant) -> DryRunner:
    """One DryRunner per tenant, warehouse version and dry-run settings in this process."""
    wh = tenant.warehouse_path
    if not wh.exists():
        raise WarehouseMissing(f"No sample warehouse for tenant {tenant.id!r} at {wh}. "
                               f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
    settings = tenant.config.model_dump_json(include={"dryrun", "thresholds", "policies"})
    key = (tenant.id, str(wh), _source_stamp(wh), settings)
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
    exact = result.estimate if result.exact else (runner.exact_count(segment) if args.full else None)
    if args.json:
        payload = result.model_dump()
        payload["exact_count"] = exact
        print(json.dumps(payload, indent=2))
        return 0
    print(render_report(segment, result, exact))
    return 0


def render_report(segment: Segment, result: DryRunResult, exact: int | None = None) -> str:
    """Plain-text report: size (labelled estimate or exact), reach, verdict, funnel and breakdowns."""
    where = ("the whole table" if result.basis == "whole_table"
             else f"a {result.sample_size:,}-customer sample ({result.sample_matched:,} matched)")
    label = "Exact:   " if result.exact else "Estimate:"
    lines = [f"Segment:  {segment.render()}",
             f"{label} {result.size_text()}  [{result.ms:.0f} ms on {where}]"]
    if result.basis == "exact":
        lines.append(f"          counted on the full table because {result.exact_reason} "
                     f"(sample estimate ~{result.sample_estimate:,}, 95% CI {result.sample_ci_low:,}–{result.sample_ci_high:,})")
    elif exact is not None:
        lines.append(f"Exact:    {exact:,} customers (full table)")
    if result.reach:
        lines.append(f"Reach:    {result.reach_text()}")
    lines.append(f"Verdict:  {result.verdict.replace('_', ' ')}" + (f" — {result.verdict_reason}" if result.verdict_reason else ""))
    width = max([len(s.label) for s in result.funnel] + [len("step")])
    lines += ["", f"  cohort  {'step':<{width}}  {'sampled':>9}  {'exact' if result.exact else 'estimate':>12}"]
    for s in result.funnel:
        lines.append(f"  {s.cohort or 'any':>6}  {s.label:<{width}}  {s.remaining:>9,}  {s.estimate:>12,}")
    if result.breakdowns:
        lines.append("")
    for name, rows in result.breakdowns.items():
        lines.append(f"  By {name}: " + ", ".join(f"{r.value} {r.share:.0%}" for r in rows[:6])
                     + (f", … ({len(rows) - 6} more)" if len(rows) > 6 else ""))
    return "\n".join(lines)
