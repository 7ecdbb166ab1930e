"""The dry-run's repeatable sample file (DuckDB): drawn once per warehouse version, opened read-only.

The file holds a simple random sample of customers — max(sample_percent of them, min_sample_rows),
capped at the population — and *their* purchases, propensity rows and events. A population of at
most min_sample_rows is not copied: the file then holds only its meta, and the dry-run reads the
warehouse itself (every count exact).
"""
from __future__ import annotations

import fcntl
import math
import os
from pathlib import Path

import duckdb
from sqlglot import exp, select

from core.errors import WorkbenchError
from core.tenant import Tenant

FACT_TABLES = ("purchases", "propensity", "events")


class WarehouseMissing(WorkbenchError):
    pass


def sample_path_for(tenant: Tenant) -> Path:
    cfg = tenant.config.dryrun
    pct = f"{cfg.sample_percent:g}".replace(".", "_")
    from core.engines.sample import binding_tag, bound_elsewhere

    where = f"{binding_tag(tenant)}." if bound_elsewhere(tenant) else ""  # one file per binding of other tables
    return tenant.warehouse_path.with_name(f"{tenant.id}.{where}sample-{pct}pct-min{cfg.min_sample_rows}-{cfg.seed}.duckdb")


def sample_size_for(population: int, sample_percent: float, min_sample_rows: int) -> int:
    """max(sample_percent of the population, min_sample_rows), capped at the population."""
    return min(population, max(math.ceil(population * sample_percent / 100), min_sample_rows))


def source_stamp(path: Path) -> str:
    """Identifies one version of the warehouse file (a regenerated file gets a new stamp).

    The DuckDB version is part of it: the sample is drawn by DuckDB's hash, which may change with it.
    """
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:duckdb-{duckdb.__version__}"


def ensure_sample(tenant: Tenant) -> Path:
    """Materialise the repeatable sample once per warehouse version (under a file lock)."""
    from core.engines.sample import bound_elsewhere, ensure_engine_sample

    if bound_elsewhere(tenant):  # drawn on the tenant's engine (PostgreSQL, Spark, files)
        return ensure_engine_sample(tenant)
    wh = tenant.warehouse_path
    if not wh.exists():
        raise WarehouseMissing(f"No sample warehouse for tenant {tenant.id!r} at {wh}. "
                               f"Run `segwork data generate --tenant {tenant.id}` (or `make data`).")
    target = sample_path_for(tenant)
    stamp = source_stamp(wh)
    if _sample_stamp(target) == stamp:
        return target
    lock_path = target.with_name(target.name + ".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _sample_stamp(target) != stamp:
            _build_sample(tenant, wh, target, stamp)
    return target


def open_read_only(path: Path, tenant_id: str) -> duckdb.DuckDBPyConnection:
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


def read_meta(path: Path, tenant_id: str) -> dict[str, str]:
    con = open_read_only(path, tenant_id)
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()


def _sample_stamp(path: Path) -> str | None:
    if not path.exists():
        return None
    try:
        return read_meta(path, "").get("source_stamp")
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
