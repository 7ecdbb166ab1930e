"""`segwork warehouse load`: copy the generated sample warehouse into PostgreSQL or a Spark lake.

Tables and key columns get the tenant's names from the binding, so a demo runs on a real engine
exactly as it would over the tenant's own tables.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlglot import exp

from core.engines.base import EngineError
from core.engines.binding import LOGICAL_COLUMNS, EngineBinding
from core.engines.duck import attach_read_only, data_folder
from core.tenant import Tenant

TABLES = (*LOGICAL_COLUMNS, "meta")
PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "DOUBLE": "double precision",
            "FLOAT": "real", "VARCHAR": "text", "DATE": "date", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp"}


@dataclass
class LoadReport:
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    binding_hint: str = ""

    def summary(self) -> str:
        counts = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        return f"{self.target}: {counts} in {self.seconds:.1f} s"


def _ident(name: str, dialect: str) -> str:
    return exp.to_identifier(name).sql(dialect)


def _source_columns(con, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {_ident(table, 'duckdb')}").fetchall()]


def _pg_type(duck_type: str) -> str:
    if duck_type.endswith("[]"):
        return _pg_type(duck_type[:-2]) + "[]"
    if duck_type.startswith("DECIMAL"):
        return duck_type.replace("DECIMAL", "numeric")
    if duck_type not in PG_TYPES:
        raise EngineError(f"No PostgreSQL type for DuckDB column type {duck_type}.")
    return PG_TYPES[duck_type]


def _pg_array_text(column: str) -> str:
    """A DuckDB list as PostgreSQL's array literal text {"a","b"} (quotes and backslashes escaped)."""
    c = _ident(column, "duckdb")
    quoted = "list_transform({c}, lambda x: '\"' || replace(replace(x, '\\', '\\\\'), '\"', '\\\"') || '\"')".format(c=c)
    return f"CASE WHEN {c} IS NULL THEN NULL ELSE '{{' || array_to_string({quoted}, ',') || '}}' END"


def load_postgres(tenant: Tenant, binding: EngineBinding, url: str, index: bool = True) -> LoadReport:
    """Replace the binding's tables on the server with the generated warehouse's rows (COPY, CSV)."""
    from core.engines.postgres import connect

    started = time.perf_counter()
    src = attach_read_only(tenant.warehouse_path)
    pg = connect(url)
    report = LoadReport(target=f"postgres {pg.info.host}:{pg.info.port}/{pg.info.dbname}")
    try:
        with tempfile.TemporaryDirectory(prefix="segwork-load-") as tmp:
            for logical in TABLES:
                report.rows[logical] = _copy_table(src, pg, binding, logical, Path(tmp) / f"{logical}.csv")
            if index:
                for logical in ("purchases", "propensity", "events"):
                    key = _ident(binding.column(logical, "customer_id"), "postgres")
                    pg.execute(f"CREATE INDEX ON {exp.to_table(binding.table(logical)).sql('postgres')} ({key})")
            pg.execute("ANALYZE")
    finally:
        src.close()
        pg.close()
    report.seconds = time.perf_counter() - started
    return report


def _copy_table(src, pg, binding: EngineBinding, logical: str, csv_path: Path) -> int:
    name = exp.to_table(binding.table(logical)).sql("postgres")
    cols = _source_columns(src, logical)
    if "." in binding.table(logical):
        pg.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(binding.table(logical).split('.')[-2], 'postgres')}")
    pg.execute(f"DROP TABLE IF EXISTS {name}")
    ddl = ", ".join(f"{_ident(binding.column(logical, c), 'postgres')} {_pg_type(t)}" for c, t in cols)
    pg.execute(f"CREATE TABLE {name} ({ddl})")
    select = ", ".join(_pg_array_text(c) if t.endswith("[]") else _ident(c, "duckdb") for c, t in cols)
    src.execute(f"COPY (SELECT {select} FROM {_ident(logical, 'duckdb')}) TO "
                f"{exp.Literal.string(str(csv_path)).sql('duckdb')} (FORMAT csv, HEADER false)")
    with pg.cursor() as cur, cur.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy, csv_path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            copy.write(chunk)
    return int(src.execute(f"SELECT count(*) FROM {_ident(logical, 'duckdb')}").fetchone()[0])


def load_files(tenant: Tenant, binding: EngineBinding, folder: Path | None = None) -> LoadReport:
    """Write the generated warehouse as one Parquet file per table (for Spark, or DuckDB over files)."""
    started = time.perf_counter()
    target = folder or (data_folder(tenant, binding) if binding.path else tenant.settings.data_dir / f"{tenant.id}.lake")
    target.mkdir(parents=True, exist_ok=True)
    src = attach_read_only(tenant.warehouse_path)
    report = LoadReport(target=f"parquet files in {target}")
    try:
        for logical in TABLES:
            cols = _source_columns(src, logical)
            select = ", ".join(f"{_ident(c, 'duckdb')} AS {_ident(binding.column(logical, c), 'duckdb')}" for c, _ in cols)
            out = target / f"{binding.table(logical).split('.')[-1]}.parquet"
            tmp = out.with_name(out.name + f".tmp{os.getpid()}")
            src.execute(f"COPY (SELECT {select} FROM {_ident(logical, 'duckdb')}) TO "
                        f"{exp.Literal.string(str(tmp)).sql('duckdb')} (FORMAT parquet)")
            os.replace(tmp, out)
            report.rows[logical] = int(src.execute(f"SELECT count(*) FROM {_ident(logical, 'duckdb')}").fetchone()[0])
    finally:
        src.close()
    report.seconds = time.perf_counter() - started
    report.binding_hint = f"engine: {{type: spark, path: {target}}}"
    return report
