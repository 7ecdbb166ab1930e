"""`segwork warehouse check`: does the live schema hold every bound table and column, typed right?"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.engines.base import Engine
from core.engines.binding import LOGICAL_COLUMNS
from core.errors import WorkbenchError
from core.tenant import Tenant

Status = Literal["ok", "missing table", "missing column", "wrong type"]
# What a facet kind needs of its column, as type families (see family()).
KIND_FAMILIES = {"boolean": {"boolean"}, "numeric": {"integer", "number"}, "date": {"date", "timestamp"},
                 "categorical": {"text"}, "propensity": {"text"}}
KEY_FAMILIES = {"customer_id": {"integer", "text"}, "purchase_date": {"date", "timestamp"}, "level": {"text"},
                "value": {"text"}, "pct": {"integer", "number"}, "event": {"text"}, "event_date": {"date", "timestamp"}}
DDL = {"integer": "BIGINT", "number": "DOUBLE PRECISION", "text": "TEXT", "date": "DATE", "timestamp": "TIMESTAMP",
       "boolean": "BOOLEAN", "text[]": "TEXT[]"}


class CheckRow(BaseModel):
    table: str
    column: str = ""
    binding: str  # what needs it: a facet name, or "key column"
    status: Status
    found: str = ""
    expected: str = ""
    fix: str = ""


class CheckReport(BaseModel):
    engine: str
    connected: bool
    connection: str = ""
    rows: list[CheckRow] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.connected and all(r.status == "ok" for r in self.rows)

    @property
    def problems(self) -> list[CheckRow]:
        return [r for r in self.rows if r.status != "ok"]


def family(native: str) -> str:
    """A native column type of DuckDB, PostgreSQL or Spark as a family: integer, number, text, ..."""
    t = native.strip().lower()
    if t.endswith("[]") or t.startswith("array<") or t.startswith("_"):
        inner = t[:-2] if t.endswith("[]") else t[6:-1] if t.startswith("array<") else t[1:]
        return family(inner) + "[]"
    t = t.split("(")[0].strip()
    if t in ("bigint", "integer", "int", "smallint", "tinyint", "hugeint", "ubigint", "uinteger", "usmallint",
             "utinyint", "int2", "int4", "int8", "long", "short", "byte"):
        return "integer"
    if t in ("decimal", "numeric", "double", "double precision", "float", "real", "float4", "float8"):
        return "number"
    if t in ("varchar", "text", "string", "character varying", "char", "character", "bpchar"):
        return "text"
    if t.startswith("timestamp"):
        return "timestamp"
    if t in ("bool", "boolean"):
        return "boolean"
    return t


def check(tenant: Tenant, engine: Engine) -> list[CheckRow]:
    """One row per bound table, key column and facet column."""
    needs = _needs(tenant)
    rows: list[CheckRow] = []
    for logical, columns in needs.items():
        name = engine.binding.table(logical)
        found = engine.native_columns(name)
        if found is None:
            rows.append(CheckRow(table=name, binding=f"{logical} table", status="missing table",
                                 fix=f"create or load table {name}, or map engine.tables.{logical}.name in tenant.yaml "
                                     f"to the table that holds {logical}"))
            continue
        lower = {c.lower(): (c, t) for c, t in found.items()}
        bound = {engine.binding.column(logical, c).lower() if w == "key column" else c.lower() for c, (w, _) in columns.items()}
        spare = [c for key, (c, _) in lower.items() if key not in bound]
        for column, (what, families) in columns.items():
            rows.append(_column_row(tenant, engine, logical, name, column, what, families, lower, spare))
    return rows


def _column_row(tenant: Tenant, engine: Engine, logical: str, table: str, column: str, what: str,
                families: set[str], found: dict[str, tuple[str, str]], spare: list[str]) -> CheckRow:
    physical = engine.binding.column(logical, column) if what == "key column" else column
    expected = " or ".join(sorted(families))
    if physical.lower() not in found:
        where = (f"engine.tables.{logical}.columns.{column} in tenant.yaml" if what == "key column"
                 else f"bindings.{what}.column in tenant.yaml")
        return CheckRow(table=table, column=physical, binding=what, status="missing column", expected=expected,
                        fix=f"add column {physical} ({DDL.get(sorted(families)[0], expected)}) to {table}, "
                            f"or set {where} to the column that holds it"
                            + (f"; closest unbound columns: {', '.join(_closest(physical, spare))}" if spare else ""))
    native = found[physical.lower()][1]
    fam = family(native)
    if fam in families:
        return CheckRow(table=table, column=physical, binding=what, status="ok", found=native, expected=expected)
    return CheckRow(table=table, column=physical, binding=what, status="wrong type", found=native, expected=expected,
                    fix=f"{table}.{physical} is {native}; it needs {expected}: cast it in a view "
                        f"(CAST({physical} AS {DDL.get(sorted(families)[0], expected)})) and bind the view")


def _closest(name: str, candidates: list[str], k: int = 3) -> list[str]:
    from rapidfuzz import fuzz, process

    return [c for c, _, _ in process.extract(name, candidates, scorer=fuzz.WRatio, limit=k)]


def _needs(tenant: Tenant) -> dict[str, dict[str, tuple[str, set[str]]]]:
    """{logical table: {column: (who needs it, accepted type families)}}."""
    needs: dict[str, dict[str, tuple[str, set[str]]]] = {
        t: {c: ("key column", KEY_FAMILIES[c]) for c in cols} for t, cols in LOGICAL_COLUMNS.items()}
    used = {b.source for b in tenant.config.bindings.values()}
    for table, source in (("purchases", "purchase"), ("propensity", "propensity"), ("events", "event")):
        if source not in used:
            needs.pop(table)
    for name, b in tenant.config.bindings.items():
        facet = tenant.catalog.get(name)
        if facet is None or b.column is None or b.source not in ("customer", "purchase"):
            continue
        families = set(KIND_FAMILIES.get(facet.kind, {"text"}))
        if b.multi:
            families = {f + "[]" for f in families}
        table = "customers" if b.source == "customer" else "purchases"
        needs[table].setdefault(b.column, (name, families))
    return needs


def check_warehouse(tenant: Tenant, engine_type: str | None = None) -> CheckReport:
    """Connect to the tenant's engine and check every binding; a failed connection is reported, not raised."""
    from core.engines import open_engine

    kind = engine_type or tenant.config.engine.type
    try:
        engine = open_engine(tenant, engine_type)
    except WorkbenchError as exc:
        return CheckReport(engine=kind, connected=False, connection=str(exc))
    try:
        return CheckReport(engine=kind, connected=True, connection=engine.describe(), rows=check(tenant, engine))
    finally:
        if kind != "spark":  # the Spark session is the process's; keep it for later calls
            engine.close()


def render(report: CheckReport) -> str:
    lines = [f"engine: {report.engine} — " + (f"connected: {report.connection}" if report.connected
                                               else f"NOT connected: {report.connection}")]
    for r in report.rows:
        where = f"{r.table}.{r.column}" if r.column else r.table
        line = f"  {r.status:<15} {where:<45} {r.binding}"
        if r.status != "ok":
            line += f"\n  {'':<15} fix: {r.fix}"
        lines.append(line)
    ok = sum(r.status == "ok" for r in report.rows)
    lines.append(f"{ok} ok, {len(report.problems)} problem(s)")
    return "\n".join(lines)
