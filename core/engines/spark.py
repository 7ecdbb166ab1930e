"""Spark through pyspark: `local[*]` by default, or the cluster / Spark Connect `sc://` URL held by
the environment variable tenant.yaml names. Tables are the catalog's, or views over the files of
`engine.path` (Parquet or CSV)."""
from __future__ import annotations

import os
import threading
from typing import Iterator

from sqlglot import exp

from core.engines.base import SAMPLE_BUCKETS, Engine, EngineError
from core.engines.binding import LOGICAL_COLUMNS, EngineBinding
from core.engines.duck import data_folder, table_files
from core.tenant import Tenant

_SESSION_LOCK = threading.Lock()


def spark_session(master: str = "local[*]"):
    """The process's Spark session (one JVM per process; started on first use, ~5-15 s)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError("pyspark is not installed; `pip install -e .` installs it (see pyproject.toml).") from None
    with _SESSION_LOCK:
        if master.startswith("sc://"):
            return SparkSession.builder.remote(master).getOrCreate()
        session = (SparkSession.builder.master(master).appName("segwork")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.shuffle.partitions", str(max(2, (os.cpu_count() or 2) * 2)))
                .config("spark.driver.memory", os.environ.get("SEGWORK_SPARK_DRIVER_MEMORY", "2g"))
                .config("spark.sql.session.timeZone", "UTC")
                .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        return session


class SparkEngine(Engine):
    type = "spark"
    dialect = "spark"

    def __init__(self, tenant: Tenant, binding: EngineBinding) -> None:
        super().__init__(tenant, binding)
        self.master = os.environ.get(binding.connection_env, "") if binding.connection_env else ""
        if binding.connection_env and not self.master:
            raise EngineError(f"The environment variable {binding.connection_env} (engine.connection_env) is not set; "
                              f"export {binding.connection_env}=local[*] | spark://host:7077 | sc://host:15002")
        self.master = self.master or "local[*]"
        self.spark = spark_session(self.master)
        if binding.path:
            self._views()

    def _views(self) -> None:
        """Temp views named as the binding's tables over the files of engine.path."""
        folder = data_folder(self.tenant, self.binding)
        if not folder.is_dir():
            raise EngineError(f"engine.path {folder} is not a folder; point it at a folder of Parquet or CSV files.")
        for logical in (*LOGICAL_COLUMNS, "meta"):
            name = self.binding.table(logical)
            found = table_files(folder, name.split(".")[-1])
            if found is None:
                continue
            path = found[1].replace("*.parquet", "").replace("*.csv", "")
            reader = self.spark.read
            df = reader.parquet(path) if found[0] == "read_parquet" else reader.csv(path, header=True, inferSchema=True)
            df.createOrReplaceTempView(self._view(name))

    def fetch(self, sql: str) -> list[tuple]:
        try:
            return [tuple(r) for r in self.spark.sql(sql).collect()]
        except Exception as exc:  # noqa: BLE001 - pyspark raises several unrelated classes
            raise EngineError(f"Spark: {str(exc).strip().splitlines()[0]}") from None

    def fetch_df(self, sql: str):
        import pandas as pd

        df = self.spark.sql(sql)
        return pd.DataFrame.from_records([tuple(r) for r in df.collect()], columns=df.columns)

    def stream(self, sql: str, batch: int = 50_000) -> Iterator[list[tuple]]:
        rows: list[tuple] = []
        for r in self.spark.sql(sql).toLocalIterator():
            rows.append(tuple(r))
            if len(rows) >= batch:
                yield rows
                rows = []
        if rows:
            yield rows

    def _view(self, table: str) -> str:
        """Temp views are shared by the session: one name per tenant and table."""
        return f"{self.tenant.id}__{table.split('.')[-1]}"

    def meta_table(self) -> str:
        return self._view("meta") if self.binding.path else super().meta_table()

    def native_columns(self, table: str) -> dict[str, str] | None:
        name = self._view(table) if self.binding.path else table
        try:
            fields = self.spark.table(name).schema.fields
        except Exception:  # noqa: BLE001 - AnalysisException: no such table or view
            return None
        return {f.name: f.dataType.simpleString() for f in fields}

    def _hash_bucket(self, column: exp.Expression, seed: int) -> exp.Expression:
        h = exp.Anonymous(this="xxhash64", expressions=[exp.cast(column, "STRING"), exp.Literal.number(seed)])
        return exp.Anonymous(this="pmod", expressions=[h, exp.Literal.number(SAMPLE_BUCKETS)])

    def sql(self, tree: exp.Expression) -> str:
        if self.binding.path:  # the tenant's temp views
            self.tables = {t: (self._view(name), cols) for t, (name, cols) in self.binding.table_map().items()}
        return super().sql(tree)

    def describe(self) -> str:
        return f"spark {self.spark.version} ({self.master})"
