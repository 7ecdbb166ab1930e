"""The one small interface every engine offers: count, ids as a stream, repeatable sample, schema.

An engine runs SQL compiled by core/sqlbuild.py over the tenant's tables: `sql()` turns a
logical sqlglot tree into the engine's dialect with the tenant's table and column names.
"""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Iterator

from sqlglot import exp, select

from core.engines.binding import EngineBinding
from core.errors import WorkbenchError
from core.segment import Segment
from core.sqlbuild import CUSTOMER, for_dialect, segment_predicate
from core.tenant import Tenant

SAMPLE_BUCKETS = 1_000_000  # a hashed-id sample keeps ids whose hash falls below percent x buckets


class EngineError(WorkbenchError):
    """The engine cannot be reached or its tables do not fit the binding; the message says the fix."""


class Engine(ABC):
    """Runs the tenant's segments on one engine (thread-safe; one per tenant, see get_engine)."""

    type: str = ""
    dialect: str = ""

    def __init__(self, tenant: Tenant, binding: EngineBinding) -> None:
        self.tenant = tenant
        self.binding = binding
        self.tables = binding.table_map()

    # ---- what each engine implements ---------------------------------------------------------
    @abstractmethod
    def fetch(self, sql: str) -> list[tuple]:
        """All rows of a query in this engine's dialect."""

    @abstractmethod
    def fetch_df(self, sql: str):
        """A query's rows as a pandas DataFrame with its column names (to copy a sample locally)."""

    @abstractmethod
    def stream(self, sql: str, batch: int = 50_000) -> Iterator[list[tuple]]:
        """Rows of a query in batches, without holding them all."""

    @abstractmethod
    def native_columns(self, table: str) -> dict[str, str] | None:
        """{column: native type} of a table by the tenant's name; None when there is no such table."""

    @abstractmethod
    def _hash_bucket(self, column: exp.Expression, seed: int) -> exp.Expression:
        """A stable integer in [0, SAMPLE_BUCKETS) per id and seed, in this engine's functions."""

    def close(self) -> None:
        """Release connections (the engine is unusable afterwards)."""

    def describe(self) -> str:
        """Where this engine reads from, without secrets."""
        return self.type

    # ---- shared behaviour --------------------------------------------------------------------
    def sql(self, tree: exp.Expression) -> str:
        """A logical tree in this engine's dialect, over the tenant's own table and column names."""
        return for_dialect(tree.copy(), self.dialect, self.tables).sql(dialect=self.dialect)

    def as_of(self) -> dt.date:
        """The reference date: tenant.yaml's engine.as_of, else the warehouse's meta table, else today."""
        if self.binding.as_of:
            return self.binding.as_of
        try:
            rows = self.fetch(f"SELECT value FROM {self.meta_table()} WHERE key = 'as_of'")
        except Exception:  # noqa: BLE001 - a tenant's own warehouse need not carry a meta table
            rows = []
        return dt.date.fromisoformat(str(rows[0][0])) if rows else dt.date.today()

    def meta_table(self) -> str:
        """Where a loaded sample keeps its as-of date (key/value rows)."""
        return self.binding.table("meta")

    def customers(self) -> exp.Select:
        return select().from_(exp.Table(this=exp.to_identifier("customers"),
                                        alias=exp.TableAlias(this=exp.to_identifier(CUSTOMER))))

    def where(self, segment: Segment, as_of: dt.date | None = None) -> exp.Expression:
        return segment_predicate(segment, self.tenant, as_of or self.as_of())

    def count(self, segment: Segment, as_of: dt.date | None = None) -> int:
        """Exact number of customers in the segment."""
        q = self.customers().select(exp.Count(this=exp.Star())).where(self.where(segment, as_of))
        return int(self.fetch(self.sql(q))[0][0])

    def ids(self, segment: Segment, batch: int = 50_000, as_of: dt.date | None = None) -> Iterator[list]:
        """The segment's customer ids, ascending, in batches."""
        q = (self.customers().select(exp.column("customer_id", table=CUSTOMER))
             .where(self.where(segment, as_of)).order_by(exp.column("customer_id", table=CUSTOMER)))
        for rows in self.stream(self.sql(q), batch):
            yield [r[0] for r in rows]

    def sample_predicate(self, percent: float, seed: int) -> exp.Expression:
        """Customers in the repeatable sample: the same ids on every run (a hashed-id sample)."""
        if not 0 < percent <= 100:
            raise EngineError(f"Sample percent {percent} must be in (0, 100].")
        bucket = self._hash_bucket(exp.column("customer_id", table=CUSTOMER), int(seed))
        return exp.LT(this=bucket, expression=exp.Literal.number(round(percent * SAMPLE_BUCKETS / 100)))

    def sample_count(self, segment: Segment, percent: float, seed: int,
                     as_of: dt.date | None = None) -> tuple[int, int]:
        """(matched, sample size) on the repeatable sample, in one scan."""
        hit = self.where(segment, as_of)
        q = (self.customers().select(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=hit)),
                                     exp.Count(this=exp.Star()))
             .where(self.sample_predicate(percent, seed)))
        matched, size = self.fetch(self.sql(q))[0]
        return int(matched), int(size)

    def sample_tables(self, percent: float, seed: int) -> dict:
        """The repeatable sample's customers and their fact rows under the logical names
        ({logical table: DataFrame}), for a local DuckDB sample file."""
        from core.sqlbuild import ALIASES

        out = {}
        for alias, logical in ALIASES.items():
            bucket = self._hash_bucket(exp.column("customer_id", table=alias), int(seed))
            q = (select(exp.Star()).from_(exp.Table(this=exp.to_identifier(logical), alias=exp.TableAlias(this=exp.to_identifier(alias))))
                 .where(exp.LT(this=bucket, expression=exp.Literal.number(round(percent * SAMPLE_BUCKETS / 100)))))
            physical = {v.lower(): k for k, v in self.tables[logical][1].items()}  # the tenant's key names -> logical
            df = self.fetch_df(self.sql(q))
            out[logical] = df.rename(columns={c: physical[c.lower()] for c in df.columns if c.lower() in physical})
        return out

    def population(self) -> int:
        return int(self.fetch(self.sql(self.customers().select(exp.Count(this=exp.Star()))))[0][0])
