"""Where a tenant's customers live: the `engine:` section of tenant.yaml (validated here).

  engine:
    type: postgres                  # duckdb (default) | postgres | spark
    connection_env: HARBOR_PG_URL   # the environment variable holding the connection, never the secret
    path: lake/harbor               # duckdb / spark: a folder of Parquet or CSV files (relative: tenant folder)
    as_of: 2026-11-25               # reference date of relative windows (default: the warehouse's own)
    tables:                         # the tenant's own table and column names; defaults are the logical ones
      customers: {name: crm.shoppers, columns: {customer_id: shopper_id}}

Facet columns are named in the facet bindings; the table map names the tables and their key columns.
This module imports no engine library: core/tenant.py validates the section at load time.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

EngineType = Literal["duckdb", "postgres", "spark"]
# The key columns each logical table must have (facet columns come from the facet bindings).
LOGICAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_id",),
    "purchases": ("customer_id", "purchase_date"),
    "propensity": ("customer_id", "level", "value", "pct"),
    "events": ("customer_id", "event", "event_date"),
}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


class TableBinding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not IDENTIFIER.match(v):
            raise ValueError(f"{v!r} is not a table name; write table, schema.table or catalog.schema.table")
        return v

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, str]) -> dict[str, str]:
        for logical, physical in v.items():
            if not IDENTIFIER.match(physical) or "." in physical:
                raise ValueError(f"column {logical!r} -> {physical!r} is not a column name")
        return v


class EngineBinding(BaseModel):
    """The `engine:` section of tenant.yaml."""
    model_config = ConfigDict(extra="forbid")
    type: EngineType = "duckdb"
    connection_env: str | None = None
    path: str | None = None
    as_of: dt.date | None = None
    tables: dict[str, TableBinding] = Field(default_factory=dict)

    @field_validator("connection_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.match(v):
            raise ValueError("name an environment variable (e.g. HARBOR_PG_URL) that holds the connection; "
                             "never write the connection string or a password in tenant.yaml")
        return v

    @model_validator(mode="after")
    def _tables(self) -> "EngineBinding":
        for table, tb in self.tables.items():
            if table not in LOGICAL_COLUMNS:
                raise ValueError(f"tables.{table}: unknown table; map one of {', '.join(LOGICAL_COLUMNS)}")
            extra = set(tb.columns) - set(LOGICAL_COLUMNS[table])
            if extra:
                raise ValueError(f"tables.{table}.columns: {sorted(extra)} are not key columns of {table}; "
                                 f"map {', '.join(LOGICAL_COLUMNS[table])} (facet columns live in the facet bindings)")
        if self.type == "postgres" and not self.connection_env:
            raise ValueError("type postgres needs connection_env: the environment variable holding the "
                             "connection URL (postgresql://user@host:port/db)")
        return self

    def table(self, logical: str) -> str:
        """The tenant's name for a logical table."""
        tb = self.tables.get(logical)
        return tb.name if tb and tb.name else logical

    def column(self, logical_table: str, column: str) -> str:
        """The tenant's name for a column of a logical table (facet columns pass through)."""
        tb = self.tables.get(logical_table)
        return tb.columns.get(column, column) if tb else column

    def table_map(self) -> dict[str, tuple[str, dict[str, str]]]:
        """{logical table: (physical name, {logical column: physical column})} for the SQL builder."""
        return {t: (self.table(t), dict(self.tables[t].columns) if t in self.tables else {}) for t in LOGICAL_COLUMNS}

    @property
    def is_default(self) -> bool:
        return all(self.table(t) == t and not (self.tables.get(t) and self.tables[t].columns) for t in LOGICAL_COLUMNS)
