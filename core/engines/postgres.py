"""PostgreSQL through psycopg 3; the connection URL comes from the environment variable tenant.yaml names."""
from __future__ import annotations

import os
import threading
from typing import Iterator

from sqlglot import exp

from core.engines.base import SAMPLE_BUCKETS, Engine, EngineError
from core.engines.binding import EngineBinding
from core.tenant import Tenant


def connection_url(binding: EngineBinding, what: str = "postgresql://user@host:5432/db") -> str:
    """The connection from the environment variable the binding names (the file never holds it)."""
    if not binding.connection_env:
        raise EngineError(f"engine.connection_env is not set in tenant.yaml; name the environment variable "
                          f"that holds the connection ({what}).")
    url = os.environ.get(binding.connection_env, "")
    if not url:
        raise EngineError(f"The environment variable {binding.connection_env} (engine.connection_env) is not set; "
                          f"export {binding.connection_env}={what}")
    return url


def connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise EngineError(f"Cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}. "
                          "Check the server is running and the URL in the connection variable.") from None


class PostgresEngine(Engine):
    type = "postgres"
    dialect = "postgres"

    def __init__(self, tenant: Tenant, binding: EngineBinding) -> None:
        super().__init__(tenant, binding)
        self._url = connection_url(binding)
        self._con = connect(self._url)
        self._lock = threading.Lock()

    def fetch(self, sql: str) -> list[tuple]:
        import psycopg

        with self._lock:
            try:
                return self._con.execute(sql).fetchall()
            except psycopg.Error as exc:
                raise EngineError(f"PostgreSQL: {str(exc).strip().splitlines()[0]}") from None

    def fetch_df(self, sql: str):
        import pandas as pd

        with self._lock:
            cur = self._con.execute(sql)
            return pd.DataFrame.from_records(cur.fetchall(), columns=[d.name for d in cur.description])

    def stream(self, sql: str, batch: int = 50_000) -> Iterator[list[tuple]]:
        con = connect(self._url)  # its own connection: a server-side cursor lives in a transaction
        try:
            with con.transaction(), con.cursor(name="segwork_ids") as cur:
                cur.itersize = batch
                cur.execute(sql)
                while rows := cur.fetchmany(batch):
                    yield rows
        finally:
            con.close()

    def native_columns(self, table: str) -> dict[str, str] | None:
        parts = table.split(".")
        schema = parts[-2] if len(parts) > 1 else None
        rows = self.fetch_params(
            "SELECT column_name, CASE WHEN data_type = 'ARRAY' THEN udt_name ELSE data_type END "
            "FROM information_schema.columns WHERE table_name = %s AND table_schema = "
            + ("%s" if schema else "ANY (current_schemas(false))") + " ORDER BY ordinal_position",
            [parts[-1], schema] if schema else [parts[-1]])
        return {c: t for c, t in rows} or None

    def fetch_params(self, sql: str, params: list) -> list[tuple]:
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def _hash_bucket(self, column: exp.Expression, seed: int) -> exp.Expression:
        h = exp.Anonymous(this="hashtextextended", expressions=[exp.cast(column, "TEXT"), exp.Literal.number(seed)])
        buckets = exp.Literal.number(SAMPLE_BUCKETS)  # % keeps the sign: shift into [0, buckets)
        return exp.Mod(this=exp.paren(exp.Add(this=exp.Mod(this=h, expression=buckets), expression=buckets.copy())),
                       expression=buckets.copy())

    def describe(self) -> str:
        info = self._con.info
        return f"postgres ({info.user}@{info.host}:{info.port}/{info.dbname}, server {info.server_version})"

    def close(self) -> None:
        self._con.close()
