"""The ReAct loop: the policy reasons and acts, tools observe, every step becomes a trace record."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.gates import check_stage
from core.policies.base import (Action, Clarify, Finish, Gate, Observation, Policy, SplitCohorts, ToolCall,
                                TurnContext)
from core.router import HeuristicRouter, Router
from core.segment import Segment
from core.tenant import Tenant
from core.tools import ToolContext, run_tool
from core.trace import Trace, TraceStep

PolicyFactory = Callable[[], Policy]
MAX_GATE_RETRIES = 2


@dataclass
class TurnResult:
    request: str
    mode: str
    status: str = "running"          # running | done | clarify | failed
    segment: Segment | None = None
    summary: str = ""
    pending: Clarify | None = None   # the question waiting for an answer
    asked: list[tuple[Clarify, str]] = field(default_factory=list)
    trace: Trace = field(default_factory=Trace)
    dryrun: Any = None
    retrieved: list[Any] = field(default_factory=list)
    coverage: Any = None             # core.reader.account.Coverage: each word of the request and what it became
    ms: float = 0.0
    error: str = ""

    @property
    def steps(self) -> int:
        return len(self.trace.steps)


@dataclass
class TurnState:
    """A paused turn: enough to resume it with the marketer's answer."""
    policy: Policy
    ctx: ToolContext
    turn: TurnContext
    result: TurnResult
    observations: list[Observation] = field(default_factory=list)
    step: int = 0
    gate_failures: int = 0
    started: float = field(default_factory=time.perf_counter)


class Agent:
    """Runs turns for one tenant with policies from `policy_factory` (a fresh policy per turn)."""

    def __init__(self, tenant: Tenant, policy_factory: PolicyFactory, max_steps: int = 16,
                 router: Router | None = None, workers: int = 4) -> None:
        self.tenant = tenant
        self.policy_factory = policy_factory
        self.max_steps = max_steps
        self.router = router or HeuristicRouter()
        self.workers = workers
        self.last_state: TurnState | None = None

    # ---- entry points ------------------------------------------------------------------------
    def iter_turn(self, request: str, draft: Segment | None = None, today: dt.date | None = None,
                  mode: str | None = None) -> Iterator[TraceStep | TurnResult]:
        """Yield each trace step as it happens, then the TurnResult."""
        today = today or dt.date.today()
        decision = self.router.route(request, draft) if mode is None else None
        mode = mode or decision.mode
        policy = self.policy_factory()
        turn = TurnContext(request=request, tenant_id=self.tenant.id, today=today,
                           draft=draft if mode == "edit" else None, mode=mode)
        ctx = ToolContext(tenant=self.tenant, today=today)
        result = TurnResult(request=request, mode=mode,
                            trace=Trace(request=request, tenant_id=self.tenant.id, policy=policy.name))
        state = TurnState(policy=policy, ctx=ctx, turn=turn, result=result)
        if decision is not None:
            yield result.trace.add(kind="route", thought=decision.reason, observation=f"mode: {mode}", status="info")
        policy.start(turn)
        yield from self._loop(state)

    def run_turn(self, request: str, draft: Segment | None = None, today: dt.date | None = None,
                 mode: str | None = None) -> TurnResult:
        return _last(self.iter_turn(request, draft, today, mode))

    def iter_resume(self, state: TurnState, answer: str) -> Iterator[TraceStep | TurnResult]:
        """Continue a paused turn with the marketer's answer to its question."""
        pending = state.result.pending
        state.result.asked.append((pending, answer))
        state.result.pending = None
        state.turn.answers.append(answer)
        yield state.result.trace.add(kind="clarify", tool="answer", observation=f"answer: {answer}", status="info")
        state.policy.answer(answer)
        yield from self._loop(state)

    def resume(self, state: TurnState, answer: str) -> TurnResult:
        return _last(self.iter_resume(state, answer))

    # ---- the loop ------------------------------------------------------------------------------
    def _loop(self, state: TurnState) -> Iterator[TraceStep | TurnResult]:
        res, trace = state.result, state.result.trace
        while state.step < self.max_steps:
            state.step += 1
            t0 = time.perf_counter()
            try:
                action = state.policy.next_action(state.observations)
            except Exception as exc:  # noqa: BLE001 - a policy crash ends the turn with a message
                yield trace.add(kind="policy", status="error", observation=f"policy failed: {exc}")
                return (yield from self._end(state, "failed", error=str(exc)))
            yield from self._events(state)
            usage = self._usage(state.policy)
            state.observations = []
            if isinstance(action, ToolCall):
                obs = run_tool(state.ctx, action.name, action.args, action.call_id)
                if obs.ok and action.name == "check_customer_count":
                    res.dryrun = obs.result
                state.observations = [obs]
                yield trace.add(kind="tool", thought=action.thought, tool=action.name, args=_brief(action.args),
                                observation=obs.summary(), status="ok" if obs.ok else "error",
                                ms=_ms(t0), **usage)
            elif isinstance(action, Gate):
                problems = check_stage(action.stage, action.payload, self.tenant)
                ok = not problems
                state.gate_failures += 0 if ok else 1
                state.observations = [Observation(f"gate:{action.stage}", {}, ok=ok, result="passed",
                                                  error="; ".join(problems))]
                yield trace.add(kind="gate", tool=action.stage, thought=action.thought,
                                observation="passed" if ok else "; ".join(problems),
                                status="ok" if ok else "gate_failed", ms=_ms(t0), **usage)
                if not ok and state.gate_failures > MAX_GATE_RETRIES:
                    return (yield from self._end(state, "failed", error=f"{action.stage} gate failed: {problems[0]}"))
            elif isinstance(action, SplitCohorts):
                yield from self._cohorts(state, action)
                return
            elif isinstance(action, Clarify):
                res.pending = action
                res.status = "clarify"
                res.retrieved = list(state.ctx.retrieved)
                self.last_state = state
                yield trace.add(kind="clarify", thought=action.thought, tool="clarify",
                                args={"question": action.question, "options": [o.label for o in action.options]},
                                observation="waiting for the marketer", status="clarify", ms=_ms(t0), **usage)
                res.ms = (time.perf_counter() - state.started) * 1000
                yield res
                return
            elif isinstance(action, Finish):
                problems = check_stage("final", action.segment, self.tenant)
                if problems and state.gate_failures < MAX_GATE_RETRIES:
                    state.gate_failures += 1
                    state.observations = [Observation("finish", {}, ok=False, error="; ".join(problems))]
                    yield trace.add(kind="gate", tool="final", observation="; ".join(problems),
                                    status="gate_failed", ms=_ms(t0), **usage)
                    continue
                yield trace.add(kind="finish", thought=action.thought, tool="finish",
                                observation=action.segment.render(), status="finish", ms=_ms(t0), **usage)
                state.result.coverage = action.coverage
                return (yield from self._end(state, "done", segment=action.segment, summary=action.summary))
        yield trace.add(kind="policy", status="error", observation=f"stopped after {self.max_steps} steps")
        yield from self._end(state, "failed", error=f"no segment after {self.max_steps} steps")

    def _end(self, state: TurnState, status: str, segment: Segment | None = None, summary: str = "",
             error: str = "") -> Iterator[TurnResult]:
        res = state.result
        res.status, res.segment, res.summary, res.error = status, segment, summary, error
        if segment is not None and segment.all_conditions():
            try:
                res.dryrun = state.ctx.dryrunner.run(segment)
            except Exception as exc:  # noqa: BLE001 - a missing warehouse must not lose the segment
                res.error = res.error or f"dry-run unavailable: {exc}"
        res.retrieved = list(state.ctx.retrieved)
        res.ms = (time.perf_counter() - state.started) * 1000
        yield res

    def _cohorts(self, state: TurnState, split: SplitCohorts) -> Iterator[TraceStep | TurnResult]:
        """Build each cohort in its own worker concurrently, then merge and validate once."""
        from core.cohorts import build_cohorts

        trace = state.result.trace
        yield trace.add(kind="worker", thought=split.thought, tool="split_cohorts",
                        args={"cohorts": split.cohorts, "shared": split.shared},
                        observation=f"{len(split.cohorts)} cohorts in parallel", status="info")
        merged, worker_results = build_cohorts(self, state, split)
        for n, wres in enumerate(worker_results, 1):
            for s in wres.trace.steps:
                yield trace.add(**{**s.model_dump(exclude={"n"}), "cohort": n})
            state.ctx.retrieved.extend(r for r in wres.retrieved if r.facet not in {x.facet for x in state.ctx.retrieved})
            state.result.asked.extend(wres.asked)
        from core.rules import autofix

        merged, notes = autofix(merged, self.tenant)
        problems = check_stage("final", merged, self.tenant)
        yield trace.add(kind="gate", tool="final", observation="passed" if not problems else "; ".join(problems),
                        status="ok" if not problems else "gate_failed", thought="; ".join(notes))
        summary = " OR ".join(w.summary for w in worker_results if w.summary)
        yield from self._end(state, "done" if merged.all_conditions() else "failed", segment=merged, summary=summary)

    @staticmethod
    def _events(state: TurnState) -> Iterator[TraceStep]:
        drain = getattr(state.policy, "drain_events", None)
        for note in (drain() if drain else []):
            yield state.result.trace.add(kind="policy", status="fallback", observation=note)

    @staticmethod
    def _usage(policy: Policy) -> dict:
        u = policy.last_usage() if hasattr(policy, "last_usage") else None
        if u is None:
            return {}
        return {"model": u.model, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens, "cost_usd": u.cost_usd}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _brief(args: dict) -> dict:
    """Arguments as the trace shows them (segments rendered short)."""
    out = {}
    for k, v in args.items():
        text = str(v)
        out[k] = v if len(text) <= 400 else text[:397] + "…"
    return out


def _last(events: Iterator[Any]) -> TurnResult:
    result = None
    for e in events:
        if isinstance(e, TurnResult):
            result = e
    assert result is not None
    return result


def answer_default(agent: Agent, result: TurnResult, max_rounds: int = 3) -> TurnResult:
    """Answer every question of a turn with its default option (eval, CLI, workers)."""
    rounds = 0
    while result.status == "clarify" and result.pending is not None and rounds < max_rounds:
        rounds += 1
        q = result.pending
        opt = q.options[q.default] if q.options else None
        result = agent.resume(agent.last_state, (opt.value or opt.label) if opt else "")
    return result
