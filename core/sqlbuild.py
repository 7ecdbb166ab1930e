"""Segment -> SQL through sqlglot expression trees; every value is a literal made by the builder.

Each facet compiles from its binding (core/tenant.py), never by name. Conditions on the catalog's
`scope: purchase` facets in one cohort describe the same purchase: they share one EXISTS.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp, select

from core.catalog import Facet, match_key
from core.errors import SegmentError
from core.segment import MEMBER_OPS, Cohort, Condition, Segment
from core.tenant import Binding, Tenant

DIALECTS = ("duckdb", "snowflake", "bigquery", "spark", "postgres")
CUSTOMER = "c"


@dataclass(frozen=True)
class Step:
    """One funnel step: the cohort's conditions up to this one, as a predicate on customers `c`."""
    cohort: int
    label: str
    predicate: exp.Expression
    terms: tuple[exp.Expression, ...] = ()  # the conjuncts of `predicate` (shared by later steps)


TableMap = dict[str, tuple[str, dict[str, str]]]  # logical table -> (tenant's name, {column: tenant's column})
ALIASES = {CUSTOMER: "customers", "p": "purchases", "s": "propensity", "e": "events"}


def compile_segment(segment: Segment, tenant: Tenant, dialect: str = "duckdb",
                    as_of: dt.date | None = None, count: bool = False,
                    tables: TableMap | None = None) -> str:
    """The SELECT of the segment's customer ids (or their count) in a SQL dialect.

    Relative windows use one reference date: `as_of`, else the tenant's warehouse date (the one
    the dry-run and exact counts use), never CURRENT_DATE. `tables` renames the logical tables and
    key columns; by default to the tenant's own names from tenant.yaml's `engine.tables`
    (core/engines/binding.py), so the SQL runs where the tenant's customers are; `{}` keeps them.
    """
    if dialect not in DIALECTS:
        raise SegmentError(f"Unknown SQL dialect {dialect!r}; use one of {', '.join(DIALECTS)}.")
    as_of = _reference(tenant, as_of)
    projection = exp.Count(this=exp.Star()).as_("customers") if count else exp.column("customer_id", table=CUSTOMER)
    query = (select(projection).from_(exp.Table(this=exp.to_identifier("customers"), alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER))))
             .where(segment_predicate(segment, tenant, as_of)))
    tables = tenant.config.engine.table_map() if tables is None else tables
    return for_dialect(query, dialect, tables).sql(dialect=dialect, pretty=True)


def for_dialect(tree: exp.Expression, dialect: str, tables: TableMap | None = None) -> exp.Expression:
    """Rewrite a compiled tree for an engine: its array overlap, its best negation, the tenant's names."""
    if dialect in ("spark", "bigquery"):
        tree = tree.transform(_spark_overlap if dialect == "spark" else _unnest_overlap)
    if dialect != "duckdb":
        tree = tree.transform(_not_exists)
    if dialect not in ("duckdb", "postgres"):  # a hint the others do not parse
        for cte in tree.find_all(exp.CTE):
            cte.set("materialized", None)
    if tables:
        tree = rename(tree, tables)
    return tree


def rename(tree: exp.Expression, tables: TableMap) -> exp.Expression:
    """Logical table and key-column names -> the tenant's (columns resolved through their alias)."""
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name in tables and not node.args.get("db"):
            physical = exp.to_table(tables[node.name][0])
            if node.alias:
                physical.set("alias", node.args["alias"].copy())
            return physical
        if isinstance(node, exp.Column) and node.table in ALIASES:
            columns = tables.get(ALIASES[node.table], ("", {}))[1]
            if node.name in columns:
                return exp.column(columns[node.name], table=node.table)
        return node
    return tree.transform(swap)


def _not_exists(node: exp.Expression) -> exp.Expression:
    """`NOT COALESCE(c.customer_id IN (SELECT ...), FALSE)` -> a correlated NOT EXISTS.

    PostgreSQL at its default work_mem plans the IN form as a per-row SubPlan (> 120 s for a large
    negation over 200k customers, 3 s as NOT EXISTS); Spark turns NOT EXISTS into a left anti join.
    """
    if not (isinstance(node, exp.Not) and isinstance(node.this, exp.Coalesce)
            and isinstance(node.this.this, exp.In) and node.this.this.args.get("query") is not None):
        return node
    sub = node.this.this.args["query"].this
    source = sub.args["from_"].this
    return exp.not_(_exists(source.name, source.alias, sub.args["where"].this.copy()))


def _spark_overlap(node: exp.Expression) -> exp.Expression:
    """Spark has no `&&` on arrays (sqlglot still writes it): use its arrays_overlap function."""
    if not isinstance(node, exp.ArrayOverlaps):
        return node
    return exp.Anonymous(this="ARRAYS_OVERLAP", expressions=[node.this.copy(), node.expression.copy()])


def _unnest_overlap(node: exp.Expression) -> exp.Expression:
    """BigQuery has no array overlap operator: EXISTS over the unnested list column."""
    if not isinstance(node, exp.ArrayOverlaps):
        return node
    values = node.expression.expressions
    unnest = exp.Unnest(expressions=[node.this.copy()], alias=exp.TableAlias(columns=[exp.to_identifier("v")]))
    sub = select(exp.Literal.number(1)).from_(unnest).where(exp.In(this=exp.column("v"), expressions=values))
    return exp.Exists(this=sub)


def segment_predicate(segment: Segment, tenant: Tenant, as_of: dt.date | None = None) -> exp.Expression:
    """WHERE predicate over customers `c`: cohorts OR-ed, conditions AND-ed."""
    cohorts = [c for c in segment.cohorts if c.conditions]
    if not cohorts:
        raise SegmentError("The segment has no conditions; add at least one.")
    as_of = _reference(tenant, as_of)
    preds = [cohort_predicate(co, tenant, as_of) for co in cohorts]
    return preds[0] if len(preds) == 1 else exp.or_(*[exp.paren(p, copy=False) for p in preds])


def cohort_predicate(cohort: Cohort, tenant: Tenant, as_of: dt.date | None = None) -> exp.Expression:
    return funnel_steps(cohort, tenant, as_of)[-1].predicate


def funnel_steps(cohort: Cohort, tenant: Tenant, as_of: dt.date | None = None, number: int = 1) -> list[Step]:
    """Cumulative predicates after each condition, in order (purchase conditions share one EXISTS)."""
    steps: list[Step] = []
    singles: list[exp.Expression] = []
    together: list[exp.Expression] = []
    for cond in cohort.conditions:
        # a saved segment's rule has no facet binding: it stands alone, like a customer condition
        facet, binding = _resolve(cond, tenant) if cond.op not in MEMBER_OPS else (None, None)
        if binding is not None and binding.source == "purchase" and facet.scope == "purchase" and cond.op != "not_in":
            together.append(_purchase_filter(cond, facet, binding, as_of))
        else:
            singles.append(condition_predicate(cond, tenant, as_of))
        parts = list(singles)
        if together:
            parts.append(_exists("purchases", "p", exp.and_(*together)))
        steps.append(Step(cohort=number, label=cond.render(), predicate=exp.and_(*parts) if len(parts) > 1 else parts[0],
                          terms=tuple(parts)))
    return steps


def condition_predicate(cond: Condition, tenant: Tenant, as_of: dt.date | None = None) -> exp.Expression:
    """A single condition as a predicate on customers `c`."""
    if cond.op in MEMBER_OPS:
        return _member(cond, tenant, as_of)
    facet, b = _resolve(cond, tenant)
    if b.source == "customer":
        return _customer(cond, facet, b, as_of)
    if b.source == "purchase":
        inner = _purchase_filter(cond, facet, b, as_of, negate_values=False)
        return _none_of("purchases", "p", inner) if cond.op == "not_in" else _exists("purchases", "p", inner)
    if b.source == "propensity":
        return _propensity(cond, facet, b, tenant)
    return _event(cond, facet, b, as_of)


# ---- per source ----------------------------------------------------------------------------

def _customer(cond: Condition, facet: Facet, b: Binding, as_of: dt.date | None) -> exp.Expression:
    col = exp.column(b.column, table=CUSTOMER)
    if cond.op in ("in", "not_in"):
        vals = _strings(cond, facet)
        hit = (exp.ArrayOverlaps(this=col, expression=exp.Array(expressions=vals)) if b.multi
               else exp.In(this=col, expressions=vals))
        hit = exp.func("COALESCE", hit, exp.false())
        return exp.not_(hit) if cond.op == "not_in" else hit
    if cond.op == "is_true":
        return exp.func("COALESCE", col, exp.false())
    if cond.op == "is_false":
        return exp.not_(exp.func("COALESCE", col, exp.false()))
    return _range(cond, col, facet, as_of)


def _purchase_filter(cond: Condition, facet: Facet, b: Binding, as_of: dt.date | None,
                     negate_values: bool = False) -> exp.Expression:
    col = exp.column(b.column, table="p")
    parts: list[exp.Expression] = []
    if cond.op in ("in", "not_in"):
        parts.append(exp.In(this=col, expressions=_strings(cond, facet)))
    else:  # dates and numbers of the purchase row
        parts.append(_range(cond, col, facet, as_of))
    if b.window_days:
        parts.append(exp.GTE(this=exp.column("purchase_date", table="p"), expression=_days_ago(b.window_days, as_of)))
    return exp.and_(*parts) if len(parts) > 1 else parts[0]


def _propensity(cond: Condition, facet: Facet, b: Binding, tenant: Tenant) -> exp.Expression:
    tier = cond.tier or tenant.catalog.rules.default_tier
    size = _tier_size(tier)
    inner = exp.and_(
        exp.EQ(this=exp.column("level", table="s"), expression=exp.Literal.string(b.level)),
        exp.In(this=exp.column("value", table="s"), expressions=_strings(cond, facet)),
        exp.LTE(this=exp.column("pct", table="s"), expression=exp.Literal.number(size)))
    return _none_of("propensity", "s", inner) if cond.op == "not_in" else _exists("propensity", "s", inner)


def _event(cond: Condition, facet: Facet, b: Binding, as_of: dt.date | None) -> exp.Expression:
    if cond.op not in ("within_last_days", "on_or_after", "between"):
        raise SegmentError(f"{facet.name}: op {cond.op!r} does not apply to an event date; "
                           "use within_last_days, on_or_after or between.")
    inner = exp.and_(
        exp.EQ(this=exp.column("event", table="e"), expression=exp.Literal.string(b.event)),
        _range(cond, exp.column("event_date", table="e"), facet, as_of))
    return _exists("events", "e", inner)


def _range(cond: Condition, col: exp.Expression, facet: Facet, as_of: dt.date | None) -> exp.Expression:
    if cond.op == "within_last_days":
        return exp.GTE(this=col, expression=_days_ago(int(cond.days or 0), as_of))
    if cond.op == "on_or_after":
        return exp.GTE(this=col, expression=_date(cond.date))
    if cond.op != "between":
        raise SegmentError(f"{facet.name}: op {cond.op!r} does not apply to a {facet.kind} facet.")
    bound = _date if facet.kind == "date" else _number
    parts = []
    if cond.min is not None:
        parts.append(exp.GTE(this=col, expression=bound(cond.min)))
    if cond.max is not None:
        parts.append(exp.LTE(this=col, expression=bound(cond.max)))
    if not parts:
        raise SegmentError(f"{facet.name}: between needs min or max.")
    return exp.and_(*parts) if len(parts) > 1 else parts[0]


def _member(cond: Condition, tenant: Tenant, as_of: dt.date | None) -> exp.Expression:
    """Member (or not) of a saved segment: that segment's own predicate, resolved beforehand."""
    if cond.resolved is None:
        raise SegmentError(f"Saved segment '{cond.facet}' is not resolved; call resolve_members() before compiling.")
    inner = exp.paren(segment_predicate(cond.resolved, tenant, as_of), copy=False)
    return exp.not_(inner) if cond.op == "not_in_segment" else inner


# ---- helpers -------------------------------------------------------------------------------

def _reference(tenant: Tenant, as_of: dt.date | None) -> dt.date:
    if as_of is not None:
        return as_of
    from core.engines import reference_date  # reads the warehouse's date once per file version
    return reference_date(tenant)


def _resolve(cond: Condition, tenant: Tenant) -> tuple[Facet, Binding]:
    facet = tenant.catalog.get(cond.facet)
    if facet is None:
        raise SegmentError(f"Unknown facet {cond.facet!r} for tenant {tenant.id}.", tenant.catalog.nearest_facets(cond.facet))
    return facet, tenant.binding(facet.name)


def _strings(cond: Condition, facet: Facet) -> list[exp.Expression]:
    """The condition's values as string literals (quotes, `;` and `--` stay inside the literal)."""
    if not cond.values:
        raise SegmentError(f"{facet.name} {cond.op} needs at least one value.")
    # the catalog's spelling: a value written in another case must still match the stored one
    return [exp.Literal.string(match_key(v, facet.value_list) or str(v)) for v in cond.values]


def _exists(table: str, alias: str, where: exp.Expression) -> exp.Expression:
    link = exp.EQ(this=exp.column("customer_id", table=alias), expression=exp.column("customer_id", table=CUSTOMER))
    sub = (select(exp.Literal.number(1))
           .from_(exp.Table(this=exp.to_identifier(table), alias=exp.TableAlias(this=exp.to_identifier(alias))))
           .where(exp.and_(link, where)))
    return exp.Exists(this=sub)


def _none_of(table: str, alias: str, where: exp.Expression) -> exp.Expression:
    """NOT EXISTS, written as `NOT COALESCE(c.customer_id IN (SELECT ...), FALSE)` (for DuckDB).

    Same rows as the correlated NOT EXISTS (COALESCE absorbs the NULL of NOT IN), but DuckDB plans
    it as one mark join instead of a decorrelated delim join: 0.43 s instead of 1.27 s for
    "no Electronics purchase" over 10M customers x 50M purchases (benchmarks/dryrun.py data).
    benchmarks/negation.py times the alternatives on that data: ANTI JOIN, EXCEPT of id sets, a
    DISTINCT build side, "all minus a semi-join" and id bitmaps all cost as much or more CPU than
    this mark join (which is also what a hand-written NOT IN gets), the correlated NOT EXISTS 3x.
    Other engines get NOT EXISTS (for_dialect).
    """
    sub = (select(exp.column("customer_id", table=alias))
           .from_(exp.Table(this=exp.to_identifier(table), alias=exp.TableAlias(this=exp.to_identifier(alias))))
           .where(where))
    found = exp.In(this=exp.column("customer_id", table=CUSTOMER), query=sub.subquery())
    return exp.not_(exp.func("COALESCE", found, exp.false()))


def _days_ago(days: int, as_of: dt.date | None) -> exp.Expression:
    """A fixed date: the reference date minus `days` (one value for the SQL and the counts)."""
    if as_of is None:
        raise SegmentError("A relative window needs the reference date (as_of); none was given.")
    return _date((as_of - dt.timedelta(days=days)).isoformat())


def _date(value: object) -> exp.Expression:
    try:
        iso = dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise SegmentError(f"{value!r} is not a date; write it as YYYY-MM-DD.") from None
    return exp.cast(exp.Literal.string(iso), exp.DataType.build("DATE"))


def _number(value: object) -> exp.Expression:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise SegmentError(f"{value!r} is not a number.")
    return exp.Literal.number(value)


def _tier_size(tier: str) -> int:
    digits = "".join(ch for ch in tier if ch.isdigit())
    if not digits:
        raise SegmentError(f"Tier {tier!r} has no size; tiers look like 'TOP 10'.")
    return int(digits)
