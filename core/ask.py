"""`segwork ask`: one agent turn from the command line; `segwork trace`: print a kept turn trace."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core.tenant import Tenant


def ask_cli(tenant: Tenant, args: Any) -> int:
    from core.agent import answer_default, make_agent
    from core.sqlbuild import compile_segment
    from core.store import Store

    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    agent = make_agent(tenant, args.policy)
    result = answer_default(agent, agent.run_turn(args.request, today=today, mode="new"))
    seg = result.segment if result.status == "done" else None
    sql = compile_segment(seg, tenant) if seg and seg.all_conditions() else ""
    trace_id = Store(tenant.settings.store_path).log_trace(tenant.id, args.request, result.status, result.trace.model_dump())
    if args.json:
        print(json.dumps({"status": result.status, "error": result.error, "issues": result.issues,
                          "segment": result.segment.spec() if result.segment else None, "summary": result.summary,
                          "questions": [{"question": q.question, "options": [o.label for o in q.options], "answer": a}
                                        for q, a in result.asked],
                          "assumptions": result.assumptions, "trace_id": trace_id,
                          "trace": [s.model_dump() for s in result.trace.steps], "sql": sql,
                          "dryrun": result.dryrun.model_dump() if seg and result.dryrun else None}, indent=2, default=str))
        return 0 if result.status == "done" else 1
    print(f"Request: {args.request}\n\nTrace #{trace_id}:")
    for s in result.trace.steps:
        label = s.tool or s.kind
        print(f"  {s.n:>2}. [{s.status}] {label} {s.observation[:140]}")
    for q, a in result.asked:
        print(f"\nAsked: {q.question}\n  options: {[o.label for o in q.options]}\n  answered with the default: {a}")
    for note in result.assumptions:
        print(f"\n{note}")
    if seg is None:
        print(f"\n{result.status.replace('_', ' ')}: {result.error}" + "".join(f"\n  - {i}" for i in result.issues))
        return 1
    print(f"\nSegment: {seg.render()}\n\n{json.dumps(seg.spec(), indent=2)}\n\nSQL:\n{sql}")
    if result.dryrun:
        print(f"\nDry-run: {result.dryrun.summary()}")
    return 0


def trace_cli(tenant: Tenant, args: Any) -> int:
    """Print one kept trace: a turn's (by id) or a saved segment version's (--segment NAME [--version N])."""
    from core.errors import WorkbenchError
    from core.store import Store
    from core.trace import Trace

    store = Store(tenant.settings.store_path)
    if args.segment:
        match = [s for s in store.list_segments(tenant.id, include_archived=True) if s.name == args.segment]
        if not match:
            raise WorkbenchError(f"No saved segment {args.segment!r} for tenant {tenant.id}; `segwork` lists names on the Segments page.")
        v = store.get_version(match[0].id, args.version)
        trace = Trace(request=v.request, tenant_id=tenant.id, policy=f"{v.name} v{v.n}", steps=v.trace or [])
        status = "saved"
    elif args.id is not None:
        row = store.get_trace(args.id, tenant.id)
        trace, status = Trace.model_validate(row["trace"]), row["status"]
    else:
        raise WorkbenchError("Pass a trace id (shown after each turn) or --segment NAME [--version N].")
    if args.json:
        print(json.dumps({"status": status, **trace.model_dump()}, indent=2, default=str))
        return 0
    print("\n".join([*trace.lines(), f"Status: {status}"]))
    return 0
