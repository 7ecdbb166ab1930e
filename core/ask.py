"""`segwork ask`: one agent turn from the command line."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core.tenant import Tenant


def ask_cli(tenant: Tenant, args: Any) -> int:
    from core.agent import Agent, answer_default
    from core.policies import make_policy_factory
    from core.sqlbuild import compile_segment

    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    agent = Agent(tenant, make_policy_factory(tenant, args.policy))
    first = agent.run_turn(args.request, today=today, mode="new")
    result = answer_default(agent, first)
    seg = result.segment
    sql = compile_segment(seg, tenant) if seg and seg.all_conditions() else ""
    if args.json:
        print(json.dumps({"status": result.status, "segment": seg.spec() if seg else None, "summary": result.summary,
                          "questions": [{"question": q.question, "options": [o.label for o in q.options], "answer": a}
                                        for q, a in result.asked],
                          "trace": [s.model_dump() for s in result.trace.steps], "sql": sql,
                          "dryrun": result.dryrun.model_dump() if result.dryrun else None}, indent=2, default=str))
        return 0 if result.status == "done" else 1
    print(f"Request: {args.request}\n\nTrace:")
    for s in result.trace.steps:
        label = s.tool or s.kind
        print(f"  {s.n:>2}. [{s.status}] {label} {s.observation[:140]}")
    for q, a in result.asked:
        print(f"\nAsked: {q.question}\n  options: {[o.label for o in q.options]}\n  answered with the default: {a}")
    if seg is None:
        print(f"\nNo segment: {result.error}")
        return 1
    print(f"\nSegment: {seg.render()}\n\n{json.dumps(seg.spec(), indent=2)}\n\nSQL:\n{sql}")
    if result.dryrun:
        print(f"\nDry-run: {result.dryrun.summary()}")
    return 0
