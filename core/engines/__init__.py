"""Engines the tenant's segments run on, behind one interface (core/engines/base.py).

`get_engine(tenant)` opens the engine named by tenant.yaml's `engine:` section once per process;
`reference_date(tenant)` is the one as-of date that compiled SQL and counts share.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.engines.base import Engine
    from core.tenant import Tenant

_ENGINES: dict[tuple, "Engine"] = {}
_LOCK = threading.Lock()


def open_engine(tenant: "Tenant", engine_type: str | None = None) -> "Engine":
    """A new engine for the tenant (the caller closes it); `engine_type` overrides tenant.yaml."""
    binding = tenant.config.engine
    if engine_type and engine_type != binding.type:
        binding = binding.model_copy(update={"type": engine_type})
    if binding.type == "postgres":
        from core.engines.postgres import PostgresEngine
        return PostgresEngine(tenant, binding)
    if binding.type == "spark":
        from core.engines.spark import SparkEngine
        return SparkEngine(tenant, binding)
    from core.engines.duck import DuckDBEngine
    return DuckDBEngine(tenant, binding)


def get_engine(tenant: "Tenant") -> "Engine":
    """The tenant's engine, opened once per binding and warehouse file version in this process."""
    key = _key(tenant)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = open_engine(tenant)
        return engine


def reference_date(tenant: "Tenant") -> dt.date:
    """The as-of date of relative windows: tenant.yaml's engine.as_of, else the warehouse's own."""
    binding = tenant.config.engine
    if binding.as_of:
        return binding.as_of
    if binding.type == "duckdb" and not binding.path:
        from core.engines.duck import file_as_of
        return file_as_of(tenant.warehouse_path) or dt.date.today()
    return get_engine(tenant).as_of()


def close_engines() -> None:
    with _LOCK:
        for engine in _ENGINES.values():
            engine.close()
        _ENGINES.clear()


def _key(tenant: "Tenant") -> tuple:
    binding = tenant.config.engine
    stamp = ""
    if binding.type == "duckdb" and not binding.path and tenant.warehouse_path.exists():
        st = tenant.warehouse_path.stat()
        stamp = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    return (tenant.id, str(tenant.warehouse_path), binding.model_dump_json(), stamp)
