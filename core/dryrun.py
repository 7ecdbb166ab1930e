"""Shadow dry-run: counts a segment on the repeatable customer sample (core/sample.py), read-only.

The sample file holds a simple random sample of customers (at least `min_sample_rows` of them) *and
their* purchases, propensity rows and events, so a dry-run never scans the full fact tables. When the
sample is too thin to trust (few matched rows, or a wide interval) the same dry-run also counts the
full warehouse exactly; a population no larger than `min_sample_rows` is counted whole.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field
from sqlglot import exp, select

from core.errors import SegmentError, WorkbenchError
from core.interval import scaled_interval, too_unsure, wilson  # noqa: F401 - wilson is part of this module's API
from core.sample import (WarehouseMissing, ensure_sample, open_read_only, read_meta, sample_path_for,  # noqa: F401
                         sample_size_for, source_stamp)
from core.engines.sample import bound_elsewhere, tenant_engine
from core.segment import Cohort, Condition, Segment
from core.sqlbuild import CUSTOMER, condition_predicate, funnel_steps, segment_predicate
from core.tenant import Tenant
from core.warehouse import check_schema

Verdict = Literal["ok", "too_narrow", "too_broad", "empty"]
Basis = Literal["sample", "exact", "whole_table"]
_ALL = -1  # grouping-set marker of the row that carries the funnel totals


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


class FunnelStep(BaseModel):
    cohort: int
    label: str
    remaining: int  # matched sample rows
    estimate: int  # customers: scaled from the sample, or counted when `exact`
    exact: bool = False


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
    """The audience after dropping one condition (from the same scan; counted exactly when thin)."""
    cohort: int
    condition: str
    estimate: int
    sample_matched: int
    exact: bool = False
    ci_high: int = 0  # upper end of the sample's 95% interval

    def figure(self, exact_below: int) -> str:
        """`1,240` (exact), `~1,240`, or `under ~560` when too few sample rows to show a point estimate."""
        if self.exact:
            return f"{self.estimate:,}"
        if self.sample_matched < exact_below:
            return f"under ~{self.ci_high:,}"
        return f"~{self.estimate:,}"


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


def _rule_condition(rc: Any) -> Condition:
    return Condition(facet=rc.facet, op=rc.op, values=rc.values)


class _Scan:
    """Builds one scan of a customers table: each distinct term is a flag column, every count a FILTER."""

    def __init__(self) -> None:
        self.keys: dict[exp.Expression, int] = {}  # sqlglot expressions hash and compare by structure
        self.projections: list[exp.Expression] = []
        self.counts: list[exp.Expression] = []

    def flag(self, term: exp.Expression) -> exp.Expression:
        n = self.keys.get(term)
        if n is None:
            n = self.keys[term] = len(self.keys)
            # No copy: the builder hands out fresh trees, and a tree that is generated only needs its nodes.
            self.projections.append(exp.alias_(term, f"t{n}", copy=False))
        return exp.column(f"t{n}")

    def has(self, term: exp.Expression) -> bool:
        return term in self.keys

    def count_any(self, cohorts: list[tuple[exp.Expression, ...]]) -> int:
        """Counts rows passing all terms of any of the cohorts (an empty cohort: every row)."""
        return self.count(_any([self.all_of(terms) for terms in cohorts]))

    def all_of(self, terms: Any) -> exp.Expression:
        flags = [self.flag(t) for t in terms]
        return exp.and_(*flags, copy=False) if flags else exp.true()

    def count(self, where: exp.Expression) -> int:
        """Adds a `count(*) FILTER (WHERE ...)`; returns its position among the counts."""
        self.counts.append(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=where.copy())))
        return len(self.counts) - 1

    def sql(self, dim_columns: list[str], hit: int) -> str:
        return _grouped_scan(self, dim_columns, hit).sql("duckdb")


def _any(preds: list[exp.Expression]) -> exp.Expression:
    return exp.or_(*[exp.paren(p.copy()) for p in preds]) if len(preds) > 1 else preds[0].copy()


def _customers_table() -> exp.Table:
    return exp.Table(this=exp.to_identifier("customers"), alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER)))


class DryRunner:
    """Counts segments on the tenant's sample; one per tenant and warehouse (see get_dryrunner)."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.cfg = tenant.config.dryrun
        # Full-table counts run on the tenant's engine; None: the generated DuckDB file.
        self.engine = tenant_engine(tenant)
        self.sample_path = ensure_sample(tenant)
        meta = read_meta(self.sample_path, tenant.id)
        self.whole_table = meta.get("whole_table") == "1"
        # Whole table: the warehouse itself is the "sample" (an engine's sample file then holds it all).
        whole_file = self.whole_table and self.engine is None
        self._con = open_read_only(tenant.warehouse_path if whole_file else self.sample_path, tenant.id)
        try:
            check_schema(self._con, tenant)  # a binding to a missing column fails here, by name, not in every count
        except WorkbenchError:
            self._con.close()
            raise
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
        counts = next(r for r in rows if r[0] == _ALL)[1 + len(plan.singles):]
        result = self._from_sample(plan, counts)
        if self.whole_table:
            result.exact, result.basis = True, "whole_table"
            result.exact_reason = f"the whole table was counted ({self.population:,} customers, at most min_sample_rows)"
            for step in result.funnel:
                step.exact = True
        else:
            m = result.sample_matched
            reason = "no sampled customer matches" if m == 0 else too_unsure(
                m, result.estimate, result.ci_low, result.ci_high, self.cfg.exact_below, self.cfg.max_relative_error)
            if reason:
                self._count_exactly(plan, result, reason, segment)
        if self._narrow(result.estimate):
            self._relax(plan, counts, result, cur)
        size = result.estimate
        result.share = size / self.population if self.population else 0.0
        for r in result.reach:
            r.share = r.count / size if size else 0.0
        if result.sample_matched:
            result.breakdowns = self._breakdowns(cur, rows, plan, segment, result.sample_matched)
        result.biggest_cut = _biggest_cut(result.funnel, self.population)
        self._judge(result)
        result.ms = (time.perf_counter() - started) * 1000
        return result

    def _from_sample(self, plan: "_Plan", counts: tuple) -> DryRunResult:
        """The result as the sample sees it: every count scaled to the population."""
        matched = int(counts[plan.hit])
        estimate, low, high = scaled_interval(matched, self.sample_size, self.population)
        return DryRunResult(
            sample_size=self.sample_size, sample_matched=matched, population=self.population,
            estimate=estimate, ci_low=low, ci_high=high, share=0.0, verdict="ok",
            sample_estimate=estimate, sample_ci_low=low, sample_ci_high=high,
            funnel=[FunnelStep(cohort=it.cohort, label=it.label, remaining=int(counts[it.pos]),
                               estimate=round(counts[it.pos] * self.scale)) for it in plan.funnel],
            reach=[ChannelReach(channel=ch, count=round(counts[i] * self.scale), share=0.0) for ch, i in plan.reach.items()],
            sample_percent=self.cfg.sample_percent)

    def _count_exactly(self, plan: "_Plan", result: DryRunResult, reason: str, segment: Segment) -> None:
        """Count the audience and its reach on the full table (one filtered count)."""
        t0 = time.perf_counter()
        size, reach = self._exact_size(segment)
        result.exact, result.basis, result.exact_reason = True, "exact", reason
        result.estimate = result.ci_low = result.ci_high = size
        for r in result.reach:
            r.count = reach[r.channel]
        hit = plan.scan.counts[plan.hit]
        for step, item in zip(result.funnel, plan.funnel):
            if plan.scan.counts[item.pos] == hit:  # the same predicate as the audience (a cohort's last step)
                step.estimate, step.exact = size, True
        result.exact_ms = (time.perf_counter() - t0) * 1000

    def _relax(self, plan: "_Plan", counts: tuple, result: DryRunResult, cur: duckdb.DuckDBPyConnection) -> None:
        """The audience without each condition in turn (too narrow only), estimated on the sample: most
        from the main scan, the rest in one more scan of the sample.

        Not counted on the full table even when the size was: without the segment's WHERE every EXISTS
        probes all customers, and each relaxation that drops one of several purchase conditions is a
        pass over a full fact table of its own. At 10M customers ("Plus, Texas, Scoop, Online, last 90
        days"; load 3-4) the exact size and reach took 0.62 s, the three relaxations whose terms the
        funnel already computes 2.1 s in one scan, all five 3.9 s. A relaxation too thin to estimate shows
        the top of its interval ("under ~N").
        """
        sample = {id(it): int(counts[it.pos]) for it in plan.relaxed if it.pos is not None}
        pending = [it for it in plan.relaxed if it.pos is None]
        if pending:
            sample.update(zip(map(id, pending), self._count_items(cur, pending)))
        result.relaxations = [Relaxation(cohort=it.cohort, condition=it.label, estimate=round(sample[id(it)] * self.scale),
                                         sample_matched=sample[id(it)], exact=self.whole_table,
                                         ci_high=scaled_interval(sample[id(it)], self.sample_size, self.population)[2])
                              for it in plan.relaxed]

    def _narrow(self, size: int) -> bool:
        th, floor = self.tenant.config.thresholds, self.tenant.config.policies.min_audience
        return size < floor or size < th.too_narrow_share * self.population

    def _exact_size(self, segment: Segment) -> tuple[int, dict[str, int]]:
        """Exact audience and its reach per channel: one filtered count of the full table."""
        where = segment_predicate(segment, self.tenant, self.as_of)
        reach = [exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(
            this=exp.and_(*[condition_predicate(c, self.tenant, self.as_of) for c in conds], copy=False)))
            for conds in self.channels.values()]
        q = select(exp.Count(this=exp.Star()), *reach, copy=False).from_(_customers_table(), copy=False).where(where, copy=False)
        row = self._full_rows(q)[0]
        return int(row[0]), {ch: int(n) for ch, n in zip(self.channels, row[1:])}

    # ---- the one scan ----------------------------------------------------------------------

    def _plan(self, segment: Segment) -> "_Plan":
        """One scan of the sample: funnel steps, the cohorts' OR, the reach of each channel and every
        all-but-one relaxation that needs no further join are counts of flag columns; breakdowns are
        grouping sets over the matched rows. A relaxation that needs a join of its own (dropping one
        of several purchase conditions that share an EXISTS) is left for `_count_items`."""
        cohorts = [(i, co) for i, co in enumerate(segment.cohorts, 1) if co.conditions]
        if not cohorts:
            raise SegmentError("The segment has no conditions; add at least one.")
        scan = _Scan()
        funnel: list[_Item] = []
        finals: dict[int, tuple[exp.Expression, ...]] = {}
        for number, co in cohorts:
            for step in funnel_steps(co, self.tenant, self.as_of, number=number):
                finals[number] = step.terms
                funnel.append(_Item(number, step.label, [step.terms]))
        if len(finals) > 1:
            funnel.append(_Item(0, f"any of cohorts {', '.join(map(str, finals))}", list(finals.values())))
        for item in funnel:
            item.pos = scan.count_any(item.cohorts)
        hit_at = scan.count_any(list(finals.values()))
        hit = scan.counts[hit_at].expression.this
        reach = {ch: scan.count(exp.and_(hit.copy(), scan.all_of(condition_predicate(c, self.tenant, self.as_of) for c in conds)))
                 for ch, conds in self.channels.items()}
        relaxed: list[_Item] = []
        for number, co in cohorts:
            for j, cond in enumerate(co.conditions):
                rest = Cohort(conditions=[c for k, c in enumerate(co.conditions) if k != j])
                mine = funnel_steps(rest, self.tenant, self.as_of, number=number)[-1].terms if rest.conditions else ()
                item = _Item(number, cond.render(), [t for n, t in finals.items() if n != number] + [mine])
                if all(scan.has(t) for t in mine):
                    item.pos = scan.count_any(item.cohorts)
                relaxed.append(item)
        singles, multis = [], []
        for name in self.cfg.breakdowns:
            b = self.tenant.binding(name)
            if b.source == "customer":
                (multis if b.multi else singles).append(name)
        sql = scan.sql([self.tenant.binding(n).column for n in singles], hit_at)
        return _Plan(sql=sql, scan=scan, singles=singles, multis=multis, funnel=funnel, hit=hit_at, relaxed=relaxed,
                     reach=reach)

    def _count_items(self, cur: duckdb.DuckDBPyConnection | None, items: list["_Item"]) -> list[int]:
        """Count funnel steps or relaxations in one scan of their own (of the sample; cur None: the full table)."""
        scan = _Scan()
        for item in items:
            scan.count_any(item.cohorts)
        row = cur.execute(scan.sql([], 0)).fetchone() if cur is not None else self._full_rows(_grouped_scan(scan, [], 0))[0]
        return [int(n) for n in row[1:]]

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
        approx = "" if r.basis == "whole_table" else "~"  # a suggestion is scaled from the sample
        if r.exact and r.estimate == 0 or r.estimate < floor or r.share < th.too_narrow_share:
            empty = r.exact and r.estimate == 0
            r.verdict = "empty" if empty else "too_narrow"
            parts = ["no customer matches (exact count)" if empty else
                     f"under the minimum audience of {floor:,}" if r.estimate < floor
                     else f"under {th.too_narrow_share:.2%} of all customers"]
            if r.biggest_cut:
                parts.append(f"'{r.biggest_cut}' cut the most")
            parts += [f"without '{x.condition}': {x.figure(self.cfg.exact_below)}" for x in r.relaxations]
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

    def _full_rows(self, query: exp.Expression) -> list[tuple]:
        """A query over the full tables: on the tenant's engine, or the generated DuckDB file."""
        if self.engine is not None:
            return self.engine.fetch(self.engine.sql(query))
        return self._full_cursor().execute(query.sql("duckdb")).fetchall()

    def _sample_rows(self, query: exp.Expression) -> list[tuple]:
        return self._cursor().execute(query.sql("duckdb")).fetchall()

    def _full_cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._full is None:
                self._full = open_read_only(self.tenant.warehouse_path, self.tenant.id)
            cur = self._full.cursor()
        return cur.execute("USE wh")

    def exact_count(self, segment: Segment) -> int:
        """Count on the full customer table (read-only)."""
        where = segment_predicate(segment, self.tenant, self.as_of)
        q = select(exp.Count(this=exp.Star())).from_(_customers_table()).where(where)
        return int(self._full_rows(q)[0][0])

    def overlap_detail(self, segment: Segment, other: Segment) -> Overlap:
        """Customers of `segment` also in `other`: on the sample when at least `exact_below` sampled
        customers match `segment`, else counted exactly (never a share of a handful of rows)."""
        a = segment_predicate(segment, self.tenant, self.as_of)
        b = segment_predicate(other, self.tenant, self.as_of)
        both, mine = _both_and_mine(self._sample_rows, a, b)
        if self.whole_table:
            return Overlap(shared=both, share=both / mine if mine else 0.0, exact=True, sample_matched=mine)
        if mine >= max(self.cfg.exact_below, 1):
            return Overlap(shared=round(both * self.scale), share=both / mine, exact=False, sample_matched=mine)
        all_both, all_mine = _both_and_mine(self._full_rows, a, b)
        return Overlap(shared=all_both, share=all_both / all_mine if all_mine else 0.0, exact=True, sample_matched=mine)

    def quantiles(self, facet: str, shares: list[float]) -> list[float]:
        """Values of a customer-level numeric facet at the given shares of the sample (0.5 = median)."""
        b = self.tenant.binding(facet)
        if b.source != "customer" or not b.column:
            return []
        col = exp.column(b.column, table=CUSTOMER)
        q = select(exp.func("quantile_cont", col, exp.array(*[exp.Literal.number(x) for x in shares]))).from_(
            _customers_table())
        row = self._cursor().execute(q.sql("duckdb")).fetchone()
        return [float(v) for v in (row[0] or []) if v is not None]

    def overlap(self, segment: Segment, other: Segment) -> tuple[int, float]:
        """(customers in both, their share of `segment`'s customers); see overlap_detail."""
        d = self.overlap_detail(segment, other)
        return d.shared, d.share

    def customer_ids(self, segment: Segment, batch: int = 50_000):
        """Stream matching customer ids from the full table in batches (for CSV export)."""
        total = self.exact_count(segment)
        if self.engine is not None:
            done = 0
            for ids in self.engine.ids(segment, batch=batch, as_of=self.as_of):
                done += len(ids)
                yield ids, done, total
            return
        cur = self._full_cursor()
        where = segment_predicate(segment, self.tenant, self.as_of)
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
class _Item:
    """A funnel step or a relaxation: customers passing all terms of any of `cohorts`."""
    cohort: int
    label: str
    cohorts: list[tuple[exp.Expression, ...]]
    pos: int | None = None  # its count in the plan's scan (None: not counted there)


@dataclass
class _Plan:
    sql: str
    scan: _Scan
    singles: list[str]
    multis: list[str]
    funnel: list[_Item]
    hit: int
    relaxed: list[_Item]
    reach: dict[str, int]


def _grouped_scan(scan: _Scan, dim_columns: list[str], hit: int) -> exp.Expression:
    """One scan of customers into flag columns (a materialised CTE), then two cheap passes over it:
    every count of the scan, and the matched rows (count `hit`) grouped by each breakdown column.

    Rows: (-1, NULL.., counts...) carries the counts; (g, .., d_g, .., NULL.., n at `hit`, NULL..)
    is one value of breakdown g (GROUPING(d0..dn) has only bit g clear for the set (d_g)).
    """
    # copy=False throughout: every node below is fresh or only generated, and deep copies of large
    # EXISTS trees cost more than the scan of a small sample.
    dims = [exp.alias_(exp.column(c, table=CUSTOMER), f"d{i}") for i, c in enumerate(dim_columns)]
    flags = select(*dims, *scan.projections, copy=False).from_(_customers_table(), copy=False)
    dim_cols = [exp.column(f"d{i}") for i in range(len(dims))]
    nulls = [exp.Null() for _ in dim_cols]
    totals = select(exp.Literal.number(_ALL), *nulls, *scan.counts, copy=False).from_("f", copy=False)
    if dim_cols:
        width = len(dim_cols)
        which = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.Grouping(expressions=[c.copy() for c in dim_cols]),
                                                 expression=exp.Literal.number((2 ** width - 1) ^ (1 << (width - 1 - g)))),
                                     true=exp.Literal.number(g)) for g in range(width)], default=exp.Literal.number(_ALL))
        counts = [exp.Count(this=exp.Star()) if i == hit else exp.Null() for i in range(len(scan.counts))]
        groups = (select(which, *[c.copy() for c in dim_cols], *counts, copy=False).from_("f", copy=False)
                  .where(scan.counts[hit].expression.this.copy(), copy=False)
                  .group_by(exp.GroupingSets(expressions=[exp.Tuple(expressions=[c.copy()]) for c in dim_cols]), copy=False))
        query: exp.Expression = exp.union(totals, groups, distinct=False, copy=False)
    else:
        query = totals
    return query.with_("f", as_=flags, materialized=True, copy=False)


def _both_and_mine(rows: Any, a: exp.Expression, b: exp.Expression) -> tuple[int, int]:
    both = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.and_(exp.paren(a.copy()), exp.paren(b.copy()))))
    mine = exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=a.copy()))
    row = rows(select(both, mine).from_(_customers_table()))[0]
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


_RUNNERS: dict[tuple[str, ...], DryRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def get_dryrunner(tenant: Tenant) -> DryRunner:
    """One DryRunner per tenant, warehouse version and dry-run settings in this process."""
    wh = tenant.warehouse_path
    if bound_elsewhere(tenant):
        key: tuple[str, ...] = (tenant.id, tenant.config.engine.model_dump_json(),
                                tenant.config.model_dump_json(include={"dryrun", "thresholds", "policies"}))
        with _RUNNERS_LOCK:
            if key not in _RUNNERS:
                _RUNNERS[key] = DryRunner(tenant)
            return _RUNNERS[key]
    if not wh.exists():
        raise WarehouseMissing(f"No sample warehouse for tenant {tenant.id!r} at {wh}. "
                               f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
    settings = tenant.config.model_dump_json(include={"dryrun", "thresholds", "policies"})
    key = (tenant.id, str(wh), source_stamp(wh), settings)
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
    lines += ["", f"  cohort  {'step':<{width}}  {'sampled':>9}  {'customers':>12}"]
    for s in result.funnel:
        figure = f"{'' if s.exact else '~'}{s.estimate:,}"
        lines.append(f"  {s.cohort or 'any':>6}  {s.label:<{width}}  {s.remaining:>9,}  {figure:>12}")
    if result.breakdowns:
        lines.append("")
    for name, rows in result.breakdowns.items():
        lines.append(f"  By {name}: " + ", ".join(f"{r.value} {r.share:.0%}" for r in rows[:6])
                     + (f", … ({len(rows) - 6} more)" if len(rows) > 6 else ""))
    return "\n".join(lines)
