"""The ReAct loop: the policy reasons and acts, tools observe, every step becomes a trace record."""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.errors import WorkbenchError
from core.gates import check_stage
from core.policies.base import (Clarify, Finish, Gate, LLMUsage, Observation, Policy, Retry, SplitCohorts,
                                ToolCall, TurnContext)
from core.router import HeuristicRouter, Router
from core.segment import Segment, canonicalize
from core.tenant import Tenant
from core.tools import ToolContext, run_tool
from core.trace import Trace, TraceStep

PolicyFactory = Callable[[], Policy]
MAX_GATE_RETRIES = 2   # a failing final check is sent back this many times, then the turn needs attention
MAX_TOOL_ERRORS = 6    # failed tool calls and unusable model replies per turn, then a clean failure
MAX_REQUEST_CHARS = 2000
NOTHING_READ = ("No audience conditions could be read from the request; say who to target, e.g. a tier, "
                "a purchase, a place or a time window ('Gold members in Texas who bought shoes this month').")


@dataclass
class TurnResult:
    request: str
    mode: str
    status: str = "running"          # running | done | needs_attention | needs_input | clarify | failed
    segment: Segment | None = None
    summary: str = ""
    pending: Clarify | None = None   # the question waiting for an answer
    state: "TurnState | None" = field(default=None, repr=False, compare=False)  # the paused turn; the caller keeps it
    asked: list[tuple[Clarify, str]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)  # defaults chosen without asking ("assumed 'x' = X")
    issues: list[str] = field(default_factory=list)       # why the segment is not done (needs_attention)
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
    """A paused turn: enough to resume it with the marketer's answer. It lives in the caller's session."""
    policy: Policy
    ctx: ToolContext
    turn: TurnContext
    result: TurnResult
    observations: list[Observation] = field(default_factory=list)
    step: int = 0
    gate_failures: int = 0
    tool_errors: int = 0
    last_finish: tuple[Segment, list[str]] | None = None  # the last finish that failed the final check
    started: float = field(default_factory=time.perf_counter)


def request_problem(request: str) -> str:
    """Why a request cannot be read at all (empty, only punctuation, too long); '' when it can."""
    if not re.search(r"[^\W_]", request or ""):
        return ("Describe the audience in words, e.g. 'Gold members who shopped in the last 30 days'; "
                "the request has no words to read.")
    if len(request) > MAX_REQUEST_CHARS:
        return f"Shorten the request to at most {MAX_REQUEST_CHARS:,} characters (it has {len(request):,})."
    return ""


class Agent:
    """Runs turns for one tenant with policies from `policy_factory` (a fresh policy per turn).

    The agent holds no per-turn state, so one cached agent can serve many sessions: a paused turn
    travels in `TurnResult.state` and comes back through `resume`.
    """

    def __init__(self, tenant: Tenant, policy_factory: PolicyFactory, max_steps: int = 16,
                 router: Router | None = None, workers: int = 4, max_tool_errors: int = MAX_TOOL_ERRORS) -> None:
        self.tenant = tenant
        self.policy_factory = policy_factory
        self.max_steps = max_steps
        self.router = router or HeuristicRouter()
        self.workers = workers
        self.max_tool_errors = max_tool_errors

    # ---- entry points ------------------------------------------------------------------------
    def iter_turn(self, request: str, draft: Segment | None = None, today: dt.date | None = None,
                  mode: str | None = None, exclude_examples: frozenset[str] = frozenset()
                  ) -> Iterator[TraceStep | TurnResult]:
        """Yield each trace step as it happens, then the TurnResult."""
        today = today or dt.date.today()
        problem = request_problem(request)
        if problem:
            yield from self._refuse(request, mode or "new", problem)
            return
        decision = None
        if mode is None:
            decision = self.router.route(request, draft)
            mode = "new" if decision.mode == "answer" else decision.mode  # no question is pending here
        policy = self.policy_factory()
        turn = TurnContext(request=request, tenant_id=self.tenant.id, today=today,
                           draft=draft if mode == "edit" else None, mode=mode, exclude_examples=frozenset(exclude_examples))
        ctx = ToolContext(tenant=self.tenant, today=today, holdout=frozenset(exclude_examples))
        result = TurnResult(request=request, mode=mode,
                            trace=Trace(request=request, tenant_id=self.tenant.id, policy=policy.name))
        state = TurnState(policy=policy, ctx=ctx, turn=turn, result=result)
        if decision is not None:
            yield result.trace.add(kind="route", thought=decision.reason, observation=f"mode: {mode}", status="info",
                                   **_usage_fields(decision.usage))
        policy.start(turn)
        yield from self._loop(state)

    def run_turn(self, request: str, draft: Segment | None = None, today: dt.date | None = None,
                 mode: str | None = None, exclude_examples: frozenset[str] = frozenset()) -> TurnResult:
        return _last(self.iter_turn(request, draft, today, mode, exclude_examples))

    def iter_message(self, message: str, draft: Segment | None = None, paused: "TurnState | None" = None,
                     today: dt.date | None = None) -> Iterator[TraceStep | TurnResult]:
        """A chat message: the router decides whether it answers the pending question, edits or starts anew."""
        pending = paused.result.pending if paused is not None else None
        if pending is None or request_problem(message):
            yield from self.iter_turn(message, draft=draft, today=today)
            return
        decision = self.router.route(message, draft, pending)
        if decision.mode == "answer":
            paused.result.trace.add(kind="route", thought=decision.reason, observation="mode: answer", status="info",
                                    **_usage_fields(decision.usage))
            yield from self.iter_resume(paused, message)
            return
        yield from self.iter_turn(message, draft=draft, today=today, mode=decision.mode)

    def iter_resume(self, state: TurnState, answer: str) -> Iterator[TraceStep | TurnResult]:
        """Continue a paused turn with the marketer's answer to its question."""
        pending = state.result.pending
        if pending is None:  # answered already (a double click, a stale session): nothing to resume
            yield state.result
            return
        state.result.asked.append((pending, answer))
        state.result.pending, state.result.state = None, None
        state.turn.answers.append(answer)
        yield state.result.trace.add(kind="clarify", tool="answer", observation=f"answer: {answer}", status="info")
        state.policy.answer(answer)
        yield from self._loop(state)

    def resume(self, state: TurnState, answer: str) -> TurnResult:
        return _last(self.iter_resume(state, answer))

    # ---- the loop ------------------------------------------------------------------------------
    def _loop(self, state: TurnState) -> Iterator[TraceStep | TurnResult]:
        handlers = {ToolCall: self._tool, Retry: self._retry, Gate: self._gate, SplitCohorts: self._split,
                    Clarify: self._ask, Finish: self._finish}
        while state.step < self.max_steps:
            state.step += 1
            t0 = time.perf_counter()
            try:
                action = state.policy.next_action(state.observations)
            except Exception as exc:  # noqa: BLE001 - a policy crash ends the turn with a message
                yield from self._events(state)
                return (yield from self._policy_failed(state, exc))
            yield from self._events(state)
            state.observations = []
            if (yield from handlers[type(action)](state, action, {**self._usage(state.policy), "t0": t0})):
                return  # the handler ended or paused the turn
            if state.tool_errors > self.max_tool_errors:
                return (yield from self._end(state, "failed", error=f"Stopped after {state.tool_errors} failed tool calls "
                                                                     f"or unusable replies; the last: {state.result.trace.steps[-1].observation}"))
        yield state.result.trace.add(kind="policy", status="error", observation=f"stopped after {self.max_steps} steps")
        if state.last_finish is not None:
            return (yield from self._attention(state))
        yield from self._end(state, "failed", error=f"No segment after {self.max_steps} steps; rephrase the request "
                                                    "more concretely (who, what, when).")

    # ---- one handler per action: each yields trace steps and returns True when the turn is over --
    def _tool(self, state: TurnState, action: ToolCall, meta: dict) -> Iterator[Any]:
        obs = _run(state.ctx, action)
        if obs.ok and action.name == "check_customer_count":
            state.result.dryrun = obs.result
        state.observations = [obs]
        state.tool_errors += 0 if obs.ok else 1
        yield _add(state, meta, kind="tool", thought=action.thought, tool=action.name, args=_brief(action.args),
                   observation=obs.summary(), status="ok" if obs.ok else "error")
        return False

    def _retry(self, state: TurnState, action: Retry, meta: dict) -> Iterator[Any]:
        state.tool_errors += 1
        yield _add(state, meta, kind="policy", tool=action.tool or "retry", thought=action.thought, status="error",
                   observation=f"{action.reason} (retry {state.tool_errors} of {self.max_tool_errors})")
        return False

    def _gate(self, state: TurnState, action: Gate, meta: dict) -> Iterator[Any]:
        problems = check_stage(action.stage, action.payload, self.tenant)
        state.gate_failures += 1 if problems else 0
        state.observations = [Observation(f"gate:{action.stage}", {}, ok=not problems, result="passed",
                                          error="; ".join(problems))]
        yield _add(state, meta, kind="gate", tool=action.stage, thought=action.thought,
                   observation="; ".join(problems) or "passed", status="gate_failed" if problems else "ok")
        if problems and state.gate_failures > MAX_GATE_RETRIES:
            yield from self._end(state, "failed", error=f"{action.stage} gate failed: {problems[0]}")
            return True
        return False

    def _split(self, state: TurnState, action: SplitCohorts, meta: dict) -> Iterator[Any]:
        yield from self._cohorts(state, action)
        return True

    def _ask(self, state: TurnState, action: Clarify, meta: dict) -> Iterator[Any]:
        """Pause: the result carries the paused turn for the caller's session to resume."""
        res = state.result
        res.pending, res.status, res.state = action, "clarify", state
        res.retrieved = list(state.ctx.retrieved)
        yield _add(state, meta, kind="clarify", thought=action.thought, tool="clarify", status="clarify",
                   args={"question": action.question, "options": [o.label for o in action.options]},
                   observation="waiting for the marketer")
        res.ms = (time.perf_counter() - state.started) * 1000
        yield res
        return True

    def _finish(self, state: TurnState, action: Finish, meta: dict) -> Iterator[Any]:
        """Done only when the final check passes; otherwise the policy is told why, then 'needs attention'."""
        problems = check_stage("final", action.segment, self.tenant)
        if not problems:
            segment = canonicalize(action.segment, self.tenant.catalog)  # saved and shown as the catalog spells it
            state.result.coverage = action.coverage or _coverage_of(state.result.request, segment, self.tenant)
            yield _add(state, meta, kind="finish", thought=action.thought, tool="finish",
                       observation=segment.render(), status="finish")
            yield from self._end(state, "done", segment=segment, summary=action.summary)
            return True
        state.gate_failures += 1
        state.last_finish = (action.segment, problems)
        yield _add(state, meta, kind="gate", tool="final", thought=action.thought, observation="; ".join(problems),
                   status="gate_failed")
        if state.gate_failures > MAX_GATE_RETRIES:
            yield from self._attention(state)
            return True
        state.observations = [Observation("finish", {}, ok=False, call_id=action.call_id, error="The segment fails "
                                          "the final check: " + "; ".join(problems) + ". Fix these and finish again.")]
        return False

    def _refuse(self, request: str, mode: str, problem: str) -> Iterator[TraceStep | TurnResult]:
        """A request nobody can read: a prompt for the marketer, never a segment."""
        res = TurnResult(request=request, mode=mode, status="needs_input", error=problem,
                         trace=Trace(request=request, tenant_id=self.tenant.id, policy="-"))
        yield res.trace.add(kind="policy", status="error", observation=problem)
        yield res

    def _policy_failed(self, state: TurnState, exc: Exception) -> Iterator[TraceStep | TurnResult]:
        why = str(exc) or type(exc).__name__
        if isinstance(exc, StopIteration):
            why = "the policy stopped without a segment"
        yield state.result.trace.add(kind="policy", status="error", observation=f"policy failed: {why}")
        if state.last_finish is not None:  # it gave up after a failed final check: show what is wrong
            return (yield from self._attention(state))
        if isinstance(exc, WorkbenchError):  # the policy's own fixable message about the request
            return (yield from self._end(state, "needs_input", error=why))
        yield from self._end(state, "failed", error=f"The turn stopped: {why}. Try again or rephrase the request.")

    def _attention(self, state: TurnState) -> Iterator[TurnResult]:
        """The final check kept failing: keep the segment for review, list the issues, never 'done'."""
        segment, problems = state.last_finish
        state.result.issues = list(problems)
        if not segment.all_conditions():  # nothing was read: "(everyone)" is never an answer
            return (yield from self._end(state, "needs_input", error=NOTHING_READ))
        yield from self._end(state, "needs_attention", segment=segment,
                             error="The segment needs attention before use: " + "; ".join(problems))

    def _end(self, state: TurnState, status: str, segment: Segment | None = None, summary: str = "",
             error: str = "") -> Iterator[TurnResult]:
        res = state.result
        res.status, res.segment, res.summary, res.error = status, segment, summary, error
        res.pending, res.state = None, None
        if status == "done" and segment is not None and segment.all_conditions():
            try:
                res.dryrun = state.ctx.dryrunner.run(segment)
            except Exception as exc:  # noqa: BLE001 - a missing warehouse must not lose the segment
                res.error = res.error or f"dry-run unavailable: {exc}"
        res.retrieved = list(state.ctx.retrieved)
        res.ms = (time.perf_counter() - state.started) * 1000
        yield res

    def _cohorts(self, state: TurnState, split: SplitCohorts) -> Iterator[TraceStep | TurnResult]:
        """Build each cohort in its own worker concurrently, then merge and validate once."""
        from core.cohorts import build_cohorts, cohort_coverage
        from core.rules import autofix

        trace = state.result.trace
        yield trace.add(kind="worker", thought=split.thought, tool="split_cohorts",
                        args={"cohorts": split.cohorts, "shared": split.shared},
                        observation=f"{len(split.cohorts)} cohorts in parallel", status="info")
        merged, worker_results = build_cohorts(self, state, split)
        for n, wres in enumerate(worker_results, 1):
            for s in wres.trace.steps:
                yield trace.add(**{**s.model_dump(exclude={"n"}), "cohort": n})
            state.ctx.retrieved.extend(r for r in wres.retrieved if r.facet not in {x.facet for x in state.ctx.retrieved})
            for note in wres.assumptions:  # a worker cannot ask: its defaults are assumptions, not answers
                state.result.assumptions.append(note)
                yield trace.add(kind="assume", tool="assume", observation=note, status="info", cohort=n)
        merged, notes = autofix(merged, self.tenant)
        problems = check_stage("final", merged, self.tenant)
        yield trace.add(kind="gate", tool="final", observation="passed" if not problems else "; ".join(problems),
                        status="ok" if not problems else "gate_failed", thought="; ".join(notes))
        if problems:
            state.last_finish = (merged, problems)
            return (yield from self._attention(state))
        summary = " OR ".join(w.summary for w in worker_results if w.summary)
        state.result.coverage = cohort_coverage(state.result.request, worker_results)
        yield from self._end(state, "done", segment=merged, summary=summary)

    @staticmethod
    def _events(state: TurnState) -> Iterator[TraceStep]:
        """Steps the policy took on its own (a fallback, a stage model call) go into the trace too."""
        drain = getattr(state.policy, "drain_events", None)
        for ev in (drain() if drain else []):
            ev = {"kind": "policy", "status": "fallback", "observation": ev} if isinstance(ev, str) else ev
            yield state.result.trace.add(**ev)

    @staticmethod
    def _usage(policy: Policy) -> dict:
        return _usage_fields(policy.last_usage() if hasattr(policy, "last_usage") else None)


def _usage_fields(u: LLMUsage | None) -> dict:
    """Trace fields for one model call (model, tokens, cost, stage); empty for offline steps."""
    if u is None:
        return {}
    return {"model": u.model, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
            "cost_usd": u.cost_usd, "stage": u.stage}


def _run(ctx: ToolContext, action: ToolCall) -> Observation:
    """Run a tool; whatever it raises becomes an error observation the policy can act on."""
    args = action.args if isinstance(action.args, dict) else {}
    try:
        return run_tool(ctx, action.name, args, action.call_id)
    except Exception as exc:  # noqa: BLE001 - a tool error is an error result, never a crash of the loop
        return Observation(action.name, args, ok=False, call_id=action.call_id,
                           error=f"{action.name} failed ({type(exc).__name__}: {str(exc)[:200]}). "
                                 f"{_expected(action.name, args)} Fix the arguments and call it again.")


def _expected(name: str, args: dict) -> str:
    """The arguments given against the ones the tool's schema expects, so the fix is plain."""
    from core.tools import TOOLS

    props = TOOLS[name].input_schema.get("properties", {}) if name in TOOLS else {}
    want = ", ".join(f"{k}: {v.get('type')}" for k, v in props.items())
    got = ", ".join(f"{k}={str(v)[:160]}" for k, v in args.items())
    return f"Expected {want or 'no arguments'}; got {got or 'none'}."


def _add(state: TurnState, meta: dict, **step: Any) -> TraceStep:
    """A trace step with the step's timing and model usage."""
    usage = {k: v for k, v in meta.items() if k != "t0"}
    return state.result.trace.add(**step, ms=_ms(meta["t0"]), **usage)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _brief(args: dict) -> dict:
    """Arguments as the trace shows them (segments rendered short)."""
    out = {}
    for k, v in (args if isinstance(args, dict) else {"args": args}).items():
        text = str(v)
        out[str(k)] = v if len(text) <= 400 else text[:397] + "…"
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
    while result.status == "clarify" and result.state is not None and rounds < max_rounds:
        rounds += 1
        q = result.pending
        opt = q.options[q.default] if q.options and 0 <= q.default < len(q.options) else None
        result = agent.resume(result.state, (opt.value or opt.label) if opt else "")
    return result


def assume_defaults(agent: Agent, result: TurnResult, max_rounds: int = 3) -> TurnResult:
    """Like answer_default, but the choices are recorded as assumptions, not as questions answered."""
    result = answer_default(agent, result, max_rounds)
    for q, a in result.asked:
        words = q.phrase or q.question
        result.assumptions.append(f"assumed '{words}' = {a}" if a else f"assumed the default for: {words}")
    result.asked = []
    return result


def make_agent(tenant: Tenant, policy: str | None = None, client: Any = None) -> Agent:
    """The agent with the active policy and router (model-backed when an API key is set)."""
    from core.policies import active_policy_name, make_policy_factory
    from core.router import make_router

    name = policy or active_policy_name(tenant.settings)
    if name == "claude" and client is None:
        from core.llm import make_client
        client = make_client(tenant.settings, tenant)
    return Agent(tenant, make_policy_factory(tenant, name, client=client), router=make_router(tenant, name, client))


def _coverage_of(request: str | None, segment: Segment, tenant: Tenant):
    """The map of a segment the policy built without the reader (the model's reading): where its conditions'
    words, tiers and numbers are in the request, and which words none of them used."""
    from core.reader.account import segment_coverage
    from core.reader.common import STOP

    if not request:
        return None
    return segment_coverage(request, segment.all_conditions(), tenant.catalog, STOP)
