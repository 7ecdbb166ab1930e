"""`segwork warehouse check|load`."""
from __future__ import annotations

import json
import os
from typing import Any

from core.engines.base import EngineError
from core.tenant import Tenant


def warehouse_cli(tenant: Tenant, args: Any) -> int:
    if args.warehouse_cmd == "check":
        from core.engines.check import check_warehouse, render

        report = check_warehouse(tenant, args.engine)
        if args.json:
            print(json.dumps(report.model_dump() | {"ok": report.ok}, indent=2))
        else:
            print(render(report))
        return 0 if report.ok else 1
    return _load(tenant, args)


def _load(tenant: Tenant, args: Any) -> int:
    from core.engines.load import load_files, load_postgres

    binding = tenant.config.engine
    if not tenant.warehouse_path.exists():
        raise EngineError(f"No sample warehouse for tenant {tenant.id!r} at {tenant.warehouse_path}. "
                          f"Run `segwork data generate --tenant {tenant.id}` first.")
    if args.engine == "postgres":
        env = args.connection_env or (binding.connection_env if binding.type == "postgres" else None)
        if not env:
            raise EngineError("Name the environment variable holding the PostgreSQL URL: --connection-env VAR "
                              "(or engine.connection_env in tenant.yaml).")
        if not os.environ.get(env):
            raise EngineError(f"The environment variable {env} is not set; export {env}=postgresql://user@host:5432/db")
        print(f"Loading {tenant.warehouse_path} into PostgreSQL ({env}) ...", flush=True)
        report = load_postgres(tenant, binding, os.environ[env])
        print(report.summary())
        if binding.type != "postgres":
            print(f"To count there, set in tenants/{tenant.id}/tenant.yaml:  engine: {{type: postgres, connection_env: {env}}}")
        return 0
    print(f"Writing {tenant.warehouse_path} as Parquet files ...", flush=True)
    report = load_files(tenant, binding, args.out)
    print(report.summary())
    if binding.type != "spark" or args.out:
        print(f"To count on Spark, set in tenants/{tenant.id}/tenant.yaml:  {report.binding_hint}")
    return 0
