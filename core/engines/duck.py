"""DuckDB, embedded: the generated sample warehouse file, or a folder of Parquet / CSV files."""
from __future__ import annotations

import datetime as dt
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import duckdb
from sqlglot import exp

from core.engines.base import SAMPLE_BUCKETS, Engine, EngineError
from core.engines.binding import LOGICAL_COLUMNS, EngineBinding
from core.tenant import Tenant


def _quote(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


def attach_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A private in-memory database with the file attached read-only as `wh`.

    duckdb.connect(path) would hand back the process-wide cached instance of that path, which still
    shows the old file after the warehouse was regenerated and replaced.
    """
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {_quote(str(path))} AS wh (READ_ONLY)")
        con.execute("USE wh")
    except duckdb.Error as exc:
        con.close()
        raise EngineError(f"The warehouse {path} cannot be opened read-only ({str(exc).splitlines()[0]}). "
                          "Generate it with `segwork data generate`, or wait for a running generate to finish.") from None
    return con


def file_as_of(path: Path) -> dt.date | None:
    """The as-of date stored in a generated warehouse file (None when there is no file)."""
    if not path.exists():
        return None
    st = path.stat()
    return _file_as_of(str(path), st.st_size, st.st_mtime_ns, st.st_ino)


@lru_cache(maxsize=32)
def _file_as_of(path: str, *_stamp: int) -> dt.date | None:
    con = attach_read_only(Path(path))
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchone()
    except duckdb.Error:
        row = None
    finally:
        con.close()
    return dt.date.fromisoformat(row[0]) if row else None


def data_folder(tenant: Tenant, binding: EngineBinding) -> Path:
    """The binding's folder of files (relative paths are under the data folder)."""
    path = Path(binding.path).expanduser()
    return path if path.is_absolute() else tenant.settings.data_dir / path


def table_files(folder: Path, name: str) -> tuple[str, str] | None:
    """(reader, glob) for a table stored as name.parquet, name/*.parquet, name.csv or name/*.csv."""
    for reader, ext in (("read_parquet", "parquet"), ("read_csv_auto", "csv")):
        if (folder / f"{name}.{ext}").is_file():
            return reader, str(folder / f"{name}.{ext}")
        if (folder / name).is_dir() and any((folder / name).glob(f"*.{ext}")):
            return reader, str(folder / name / f"*.{ext}")
    return None


class DuckDBEngine(Engine):
    type = "duckdb"
    dialect = "duckdb"

    def __init__(self, tenant: Tenant, binding: EngineBinding) -> None:
        super().__init__(tenant, binding)
        self._lock = threading.Lock()
        if binding.path:
            self.source = data_folder(tenant, binding)
            self._con = self._views(self.source)
        else:
            self.source = tenant.warehouse_path
            if not self.source.exists():
                raise EngineError(f"No sample warehouse for tenant {tenant.id!r} at {self.source}. "
                                  f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
            self._con = attach_read_only(self.source)

    def _views(self, folder: Path) -> duckdb.DuckDBPyConnection:
        """An in-memory database with one view per bound table over its files."""
        if not folder.is_dir():
            raise EngineError(f"engine.path {folder} is not a folder; point it at a folder of Parquet or CSV files.")
        con = duckdb.connect()
        for logical in (*LOGICAL_COLUMNS, "meta"):
            name = self.binding.table(logical)
            found = table_files(folder, name.split(".")[-1])
            if found is None:
                continue  # reported by `segwork warehouse check` as a missing table
            if "." in name:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {exp.to_identifier(name.split('.')[-2]).sql('duckdb')}")
            con.execute(f"CREATE VIEW {exp.to_table(name).sql('duckdb')} AS SELECT * FROM {found[0]}({_quote(found[1])})")
        return con

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # a cursor per call: Streamlit reruns run in threads
            cur = self._con.cursor()
        return cur.execute("USE wh") if not self.binding.path else cur

    def fetch(self, sql: str) -> list[tuple]:
        return self._cursor().execute(sql).fetchall()

    def fetch_df(self, sql: str):
        return self._cursor().execute(sql).df()

    def stream(self, sql: str, batch: int = 50_000) -> Iterator[list[tuple]]:
        res = self._cursor().execute(sql)
        while rows := res.fetchmany(batch):
            yield rows

    def native_columns(self, table: str) -> dict[str, str] | None:
        parts = table.split(".")
        q = "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?"
        args = [parts[-1]]
        if len(parts) > 1:
            q += " AND table_schema = ?"
            args.append(parts[-2])
        if not self.binding.path:
            q += " AND table_catalog = 'wh'"
        rows = self._cursor().execute(q, args).fetchall()
        return {c: t for c, t in rows} or None

    def _hash_bucket(self, column: exp.Expression, seed: int) -> exp.Expression:
        h = exp.Anonymous(this="hash", expressions=[column, exp.Literal.number(seed)])
        return exp.Mod(this=h, expression=exp.Literal.number(SAMPLE_BUCKETS))

    def as_of(self):
        if not self.binding.as_of and not self.binding.path:
            return file_as_of(self.source) or dt.date.today()
        return super().as_of()

    def describe(self) -> str:
        return f"duckdb ({'files in ' if self.binding.path else ''}{self.source})"

    def close(self) -> None:
        self._con.close()
