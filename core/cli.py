"""`segwork` command line: data, validate, sql, dryrun, index, eval, ask, trace."""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
from pathlib import Path
from typing import Callable

from core.errors import SegmentError, WorkbenchError
from core.tenant import MAX_CUSTOMERS

DIALECTS = ["duckdb", "snowflake", "bigquery", "spark", "postgres"]
MAX_SEED = 2**31 - 1
MAX_REQUEST = 2_000


def _bounded_int(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number in [lo, hi] ('1e10', '-5', '0' refused with the range)."""
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give {what} as {lo:,}-{hi:,}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value:,} is out of range; {what} must be {lo:,}-{hi:,}")
        return value
    return parse


def _iso_date(text: str) -> str:
    """An argparse type: a real calendar date written YYYY-MM-DD (returned as that text)."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-25") from None
    if not 1900 <= day.year <= 2200:
        raise argparse.ArgumentTypeError(f"{text} is outside the years 1900-2200")
    return day.isoformat()


def _out_file(text: str) -> Path:
    """An argparse type: a file path to write (not a folder; its folder must exist or be creatable)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; give a file name inside it")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"{parent} is a file, so {path} cannot be created")
    if parent is not None and not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"{parent} is not writable")
    return path


def _request(text: str) -> str:
    if len(text) > MAX_REQUEST:
        raise argparse.ArgumentTypeError(f"the request is {len(text):,} characters; describe the audience in at most {MAX_REQUEST:,}")
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="segwork",
        description="Segment Workbench: build, check, compile and dry-run audience segments.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="sample warehouse commands").add_subparsers(dest="data_cmd", required=True)
    gen = data.add_parser("generate", help="write the tenant's synthetic customer warehouse (DuckDB)")
    _tenant_arg(gen)
    gen.add_argument("--customers", type=_bounded_int(1, MAX_CUSTOMERS, "--customers"), default=None,
                     help=f"number of customers, 1-{MAX_CUSTOMERS:,} (default: tenant.yaml)")
    gen.add_argument("--seed", type=_bounded_int(0, MAX_SEED, "--seed"), default=None, help="random seed (default: tenant.yaml)")
    gen.add_argument("--out", type=_out_file, default=None, help="output .duckdb path (default: sample_data/<tenant>.duckdb)")
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
    ev.add_argument("--today", type=_iso_date, default="2026-11-25", help="reference date for relative dates (YYYY-MM-DD)")
    ev.add_argument("--json", action="store_true", help="print exactly one JSON object with the metrics")
    ev.add_argument("--out", type=_out_file, default=None, help="per-row results file (default: runs/eval-<tenant>-<time>.jsonl)")

    ask = sub.add_parser("ask", help="one agent turn: trace, segment, SQL and dry-run")
    _tenant_arg(ask)
    ask.add_argument("request", type=_request, help="the audience in plain words")
    ask.add_argument("--policy", choices=["offline", "claude"], default=None, help="default: claude when ANTHROPIC_API_KEY is set")
    ask.add_argument("--today", type=_iso_date, default=None, help="reference date (default: today)")
    ask.add_argument("--json", action="store_true")

    tr = sub.add_parser("trace", help="print a kept turn trace (by id) or a saved segment version's trace")
    _tenant_arg(tr)
    tr.add_argument("id", nargs="?", type=_bounded_int(1, 2**62, "the trace id"), help="the trace id shown after a turn and on the Clarifications page")
    tr.add_argument("--segment", default=None, help="a saved segment's name (instead of an id)")
    tr.add_argument("--version", type=_bounded_int(1, 2**62, "--version"), default=None, help="its version (default: the latest)")
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
    """Run one command; bad input exits 2 with `error: ...` saying what to fix, never a traceback."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage and the problem (or --help)
        return int(exc.code or 0)
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
    except Exception as exc:  # noqa: BLE001 - a defect: one line, not a traceback; SEGWORK_DEBUG shows it
        if os.environ.get("SEGWORK_DEBUG"):
            raise
        print(f"error: internal failure in `segwork {args.command}` ({type(exc).__name__}: {exc}). "
              "This is a defect; rerun with SEGWORK_DEBUG=1 to see where.", file=sys.stderr)
        return 70


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
    segment = _read_segment(args.segment, tenant.catalog)
    if args.command == "validate":
        from core.rules import validate_cli
        return validate_cli(tenant, segment, args)
    if args.command == "sql":
        from core.rules import validate
        from core.sqlbuild import compile_segment
        errors = validate(segment, tenant).errors
        if errors:
            raise SegmentError(f"{args.segment} is not a valid {tenant.id} segment, so it is not compiled: "
                               + "; ".join(i.message + (f" (fix: {i.fix})" if i.fix else "") for i in errors))
        print(compile_segment(segment, tenant, dialect=args.dialect, as_of=args.as_of))
        return 0
    if args.command == "dryrun":
        from core.dryrun import dryrun_cli
        return dryrun_cli(tenant, segment, args)
    raise AssertionError(args.command)


def _read_segment(path: Path, catalog):
    """The segment in a JSON file, its names resolved to the catalog's spelling."""
    from core.segment import Segment
    from core.textfile import read_text

    if not path.exists() and not path.is_symlink():
        raise SegmentError(f"Segment file {path} not found; pass the path of a JSON file with a list of conditions.")
    return Segment.from_json(read_text(path, "segment file", max_bytes=1_000_000), catalog)


def run() -> None:
    """The `segwork` program: `main`, then exit without the interpreter's closing garbage collections.

    Those walk every object the command loaded (catalog, index, model, reader) several times: about
    0.5 s of CPU after a `segwork ask` has printed. Freezing first leaves the memory to the OS.
    """
    code = main()
    sys.stdout.flush()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()

