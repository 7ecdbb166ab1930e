"""The dry-run sample of a tenant bound to another engine than the generated DuckDB file.

The repeatable hashed-id sample is drawn on the tenant's engine and copied, with the sampled
customers' fact rows, into a local DuckDB sample file under the logical names, once per binding,
population and as-of date: every dry-run then stays a millisecond scan, while exact counts,
overlap and export run on the engine (core/dryrun.py).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from core.tenant import Tenant

if TYPE_CHECKING:
    from core.engines.base import Engine


def bound_elsewhere(tenant: Tenant) -> bool:
    """The tenant's customers live on another engine than the generated DuckDB file."""
    b = tenant.config.engine
    return b.type != "duckdb" or bool(b.path)


def binding_tag(tenant: Tenant) -> str:
    """A short name for the binding, part of its sample file's name."""
    b = tenant.config.engine
    return f"{b.type}-{hashlib.sha256(b.model_dump_json().encode()).hexdigest()[:8]}"


def tenant_engine(tenant: Tenant) -> "Engine | None":
    """The tenant's engine; None for the generated DuckDB file (the dry-run reads it directly)."""
    if not bound_elsewhere(tenant):
        return None
    from core.engines import get_engine

    return get_engine(tenant)


def ensure_engine_sample(tenant: Tenant) -> Path:
    from core.sample import _sample_stamp, sample_path_for

    engine = tenant_engine(tenant)
    population, as_of = engine.population(), engine.as_of()
    target = sample_path_for(tenant)
    stamp = f"{tenant.config.engine.model_dump_json()}:{population}:{as_of}"
    if _sample_stamp(target) == stamp:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _sample_stamp(target) != stamp:
            _build(tenant, engine, population, as_of, target, stamp)
    return target


def _build(tenant: Tenant, engine: "Engine", population: int, as_of: dt.date, target: Path, stamp: str) -> None:
    from core.sample import sample_size_for

    cfg = tenant.config.dryrun
    size = sample_size_for(population, cfg.sample_percent, cfg.min_sample_rows)
    whole = population <= cfg.min_sample_rows
    percent = 100.0 if whole or not population else min(100.0, 100.0 * size / population)
    frames = engine.sample_tables(percent, cfg.seed)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for table, df in frames.items():
            con.register("frame", df)
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
            con.unregister("frame")
        drawn = con.execute("SELECT count(*) FROM customers").fetchone()[0]
        meta = {"as_of": as_of.isoformat(), "tenant": tenant.id, "engine": engine.type, "population": str(population),
                "source_stamp": stamp, "sample_percent": str(cfg.sample_percent), "min_sample_rows": str(cfg.min_sample_rows),
                "sample_size": str(drawn), "whole_table": "1" if whole else "0"}
        con.execute("CREATE TABLE meta(key VARCHAR, value VARCHAR)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, target)
