"""`segwork` command line: data, validate, sql, dryrun, index, eval, ask, trace."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.errors import WorkbenchError

DIALECTS = ["duckdb", "snowflake", "bigquery", "spark", "postgres"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="segwork",
        description="Segment Workbench: build, check, compile and dry-run audience segments.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="sample warehouse commands").add_subparsers(dest="data_cmd", required=True)
    gen = data.add_parser("generate", help="write the tenant's synthetic customer warehouse (DuckDB)")
    _tenant_arg(gen)
    gen.add_argument("--customers", type=int, default=None, help="number of customers (default: tenant.yaml)")
    gen.add_argument("--seed", type=int, default=None, help="random seed (default: tenant.yaml)")
    gen.add_argument("--out", type=Path, default=None, help="output .duckdb path (default: sample_data/<tenant>.duckdb)")
    gen.add_argument("--if-missing", action="store_true", help="do nothing when the file already exists")

    val = sub.add_parser("validate", help="check a segment JSON file against the tenant catalog and rules")
    _tenant_arg(val)
    val.add_argument("segment", type=Path, help="segment JSON file (list of conditions or {\"cohorts\": ...})")
    val.add_argument("--json", action="store_true", help="print the report as JSON")

    sql = sub.add_parser("sql", help="compile a segment to SQL")
    _tenant_arg(sql)
    sql.add_argument("segment", type=Path)
    sql.add_argument("--dialect", choices=DIALECTS, default="duckdb")
    sql.add_argument("--as-of", type=_date, default=None,
                     help="reference date of relative windows, YYYY-MM-DD (default: the warehouse's as-of date)")

    dry = sub.add_parser("dryrun", help="estimate a segment's audience on the sample (or count it exactly)")
    _tenant_arg(dry)
    dry.add_argument("segment", type=Path)
    dry.add_argument("--full", action="store_true", help="also count exactly on the full customer table")
    dry.add_argument("--json", action="store_true", help="print the result as JSON")

    wh = sub.add_parser("warehouse", help="the tenant's engine: check its tables, load the sample into a server")
    wh_sub = wh.add_subparsers(dest="warehouse_cmd", required=True)
    chk = wh_sub.add_parser("check", help="every bound table and column: ok / missing table / missing column / wrong type")
    _tenant_arg(chk)
    chk.add_argument("--engine", choices=["duckdb", "postgres", "spark"], default=None, help="default: tenant.yaml engine.type")
    chk.add_argument("--json", action="store_true")
    load = wh_sub.add_parser("load", help="copy the generated sample warehouse into PostgreSQL or a Spark lake")
    _tenant_arg(load)
    load.add_argument("--engine", choices=["postgres", "spark"], required=True)
    load.add_argument("--connection-env", default=None,
                      help="environment variable with the PostgreSQL URL (default: tenant.yaml engine.connection_env)")
    load.add_argument("--out", type=Path, default=None, help="spark: folder for the Parquet files")

    idx = sub.add_parser("index", help="build the tenant's retrieval index (no-op when unchanged)")
    _tenant_arg(idx)
    idx.add_argument("--force", action="store_true", help="rebuild even when the fingerprint is unchanged")

    ev = sub.add_parser("eval", help="score the agent on a ground-truth CSV (facet/value F1, clarifications)")
    _tenant_arg(ev)
    ev.add_argument("--ground-truth", type=Path, default=None, help="CSV in the ground-truth format (default: the tenant's)")
    ev.add_argument("--policy", choices=["offline", "claude"], default="offline")
    ev.add_argument("--today", default="2026-11-25", help="reference date for relative dates (YYYY-MM-DD)")
    ev.add_argument("--json", action="store_true", help="print exactly one JSON object with the metrics")
    ev.add_argument("--out", type=Path, default=None, help="per-row results file (default: runs/eval-<tenant>-<time>.jsonl)")

    ask = sub.add_parser("ask", help="one agent turn: trace, segment, SQL and dry-run")
    _tenant_arg(ask)
    ask.add_argument("request", help="the audience in plain words")
    ask.add_argument("--policy", choices=["offline", "claude"], default=None, help="default: claude when ANTHROPIC_API_KEY is set")
    ask.add_argument("--today", default=None, help="reference date (default: today)")
    ask.add_argument("--json", action="store_true")

    tr = sub.add_parser("trace", help="print a kept turn trace (by id) or a saved segment version's trace")
    _tenant_arg(tr)
    tr.add_argument("id", nargs="?", type=int, help="the trace id shown after a turn and on the Clarifications page")
    tr.add_argument("--segment", default=None, help="a saved segment's name (instead of an id)")
    tr.add_argument("--version", type=int, default=None, help="its version (default: the latest)")
    tr.add_argument("--json", action="store_true")
    return p


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def _tenant_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tenant", required=True, help="tenant id (a folder under tenants/)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    from core.tenant import load_tenant

    tenant = load_tenant(args.tenant)
    if args.command == "data":
        from core.warehouse import generate_cli
        return generate_cli(tenant, args)
    if args.command == "index":
        from core.retrieval import index_cli
        return index_cli(tenant, args)
    if args.command == "eval":
        from core.eval import eval_cli
        return eval_cli(tenant, args)
    if args.command == "ask":
        from core.ask import ask_cli
        return ask_cli(tenant, args)
    if args.command == "trace":
        from core.ask import trace_cli
        return trace_cli(tenant, args)
    if args.command == "warehouse":
        from core.engines.cli import warehouse_cli
        return warehouse_cli(tenant, args)
    segment = _read_segment(args.segment)
    if args.command == "validate":
        from core.rules import validate_cli
        return validate_cli(tenant, segment, args)
    if args.command == "sql":
        from core.sqlbuild import compile_segment
        print(compile_segment(segment, tenant, dialect=args.dialect, as_of=args.as_of,
                              tables=tenant.config.engine.table_map()))
        return 0
    if args.command == "dryrun":
        from core.dryrun import dryrun_cli
        return dryrun_cli(tenant, segment, args)
    raise AssertionError(args.command)


def _read_segment(path: Path):
    from core.segment import Segment
    from core.errors import SegmentError

    if not path.is_file():
        raise SegmentError(f"Segment file {path} not found; pass the path of a JSON file with a list of conditions.")
    seg = Segment.from_json(path.read_text(encoding="utf-8"))
    return seg


if __name__ == "__main__":
    sys.exit(main())

