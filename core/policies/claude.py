"""ClaudePolicy: the Messages API with tool use over the same tools as the offline policy.

Every `tool_use` block of a reply is handed to the loop in order and answered with its own
`tool_result`; a reply without a tool call is a counted retry or a question to the marketer.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from core.policies.base import (Action, Clarify, ClarifyOption, Finish, LLMUsage, Observation, Retry, ToolCall,
                                TurnContext)
from core.policies.dates import resolve_dates
from core.pricing import usage_of
from core.prompts import render
from core.segment import Segment
from core.tenant import Tenant

MAX_TOOL_RESULT_CHARS = 20_000


class ClaudePolicy:
    """One conversation per turn; the static system prompt and tool list are cached."""

    name = "claude"

    def __init__(self, tenant: Tenant, client: Any, model: str | None = None) -> None:
        self.tenant = tenant
        self.client = client
        self.model = model or tenant.config.llm.mapping
        self.messages: list[dict] = []
        self._usage: LLMUsage | None = None
        self._queue: list[Any] = []      # tool_use blocks of the last reply not yet handed to the loop
        self._outbox: list[dict] = []    # blocks for the next user message: one tool_result per tool_use, notes
        self._thought = ""
        self._clarify_id = ""            # the clarify tool_use waiting for the marketer's answer
        self._events: list[dict] = []    # stage calls (dates) for the trace

    # ---- Policy ------------------------------------------------------------------------------
    def start(self, turn: TurnContext) -> None:
        self.turn = turn
        self.messages, self._queue, self._outbox, self._events = [], [], [], []
        self._clarify_id = ""

    def next_action(self, observations: list[Observation]) -> Action:
        self._outbox += [_tool_result(o) for o in observations if o.call_id]
        self._usage = None
        if not self._queue:
            text_only = self._ask_model()
            if text_only is not None:
                return text_only
        use, thought = self._queue.pop(0), self._thought
        self._thought = ""  # the reply's text goes with its first action only
        return self._action(use, thought)

    def answer(self, answer: str) -> None:
        said = answer.strip() or "(no answer: choose the most likely reading and continue)"
        if self._clarify_id:
            self._outbox.append({"type": "tool_result", "tool_use_id": self._clarify_id,
                                 "content": f"The marketer answered: {said}"})
        else:
            self._outbox.append({"type": "text", "text": f"The marketer answered: {said}"})
        self._clarify_id = ""

    def last_usage(self) -> LLMUsage | None:
        return self._usage

    def drain_events(self) -> list[dict]:
        out, self._events = self._events, []
        return out

    # ---- one model call --------------------------------------------------------------------------
    def _ask_model(self) -> Action | None:
        """Send what is owed (results, notes) and read the reply; an action only for a text-only reply."""
        if not self.messages:
            self.messages = [{"role": "user", "content": [{"type": "text", "text": self._context(self.turn)}]}]
        elif self._outbox:
            self.messages.append({"role": "user", "content": self._outbox})
        self._outbox, self._clarify_id = [], ""
        resp = self.client.messages.create(model=self.model, max_tokens=self.tenant.config.llm.max_tokens,
                                           system=self._system(), tools=self._tools(), messages=self.messages)
        self._usage = usage_of(resp, self.model, "mapping")
        content = list(getattr(resp, "content", None) or [])
        self.messages.append({"role": "assistant", "content": [_block(b) for b in content] or
                              [{"type": "text", "text": "(empty reply)"}]})
        self._queue = [b for b in content if getattr(b, "type", "") == "tool_use"]
        self._thought = " ".join(getattr(b, "text", "") for b in content if getattr(b, "type", "") == "text").strip()
        if self._queue:
            return None
        return self._text_only(self._thought, getattr(resp, "stop_reason", ""))

    def _text_only(self, text: str, stop_reason: str) -> Action:
        """A reply without a tool call: a question for the marketer, or a visible, counted retry."""
        self._thought = ""
        if text.rstrip().endswith("?") and stop_reason != "max_tokens":
            return Clarify(question=text.strip()[:500], options=[], thought="The model asked in plain text.")
        why = "your reply was cut off at max_tokens" if stop_reason == "max_tokens" else "your reply had no tool call"
        self._outbox.append({"type": "text", "text": render("retry", why=why)})
        return Retry(reason=f"Model reply not usable ({why.replace('your', 'the')}); asked it to call a tool or finish", thought=text[:300])

    def _action(self, use: Any, thought: str) -> Action:
        """A tool_use block as an action; invalid finish/clarify arguments go back to the model as errors."""
        args = use.input if isinstance(use.input, dict) else {}
        try:
            if use.name == "finish":
                return Finish(segment=_segment_arg(args), summary=str(args.get("summary", ""))[:500],
                              thought=thought, call_id=use.id)
            if use.name == "clarify":
                q = _clarify_arg(args, thought, use.id)
                self._clarify_id = use.id
                return q
        except Exception as exc:  # noqa: BLE001 - anything the model sent: tell it what to fix
            msg = f"{use.name}: {exc}"
            self._outbox.append({"type": "tool_result", "tool_use_id": use.id, "content": msg, "is_error": True})
            return Retry(reason=msg, tool=use.name, thought=thought)
        return ToolCall(use.name, args, thought=thought, call_id=use.id)

    # ---- prompts ---------------------------------------------------------------------------------
    def _system(self) -> list[dict]:
        cat = self.tenant.catalog
        rules = [f"- {p.when} requires {p.require}" + (" at the same tier" if p.same_tier else "") + f": {p.why}"
                 for p in cat.rules.pairings]
        rules += [f"- never together: {', '.join(m.facets)} ({m.why})" for m in cat.rules.mutually_exclusive]
        rules += [f"- {ch} reachable = " + " AND ".join(f"{c.facet} {c.op}" for c in conds)
                  for ch, conds in cat.rules.reachability.items()]
        text = render("system", display_name=cat.display_name, description=cat.description.strip(),
                      today=self.turn.today.isoformat(), fiscal_year_start_month=cat.fiscal_year_start_month,
                      default_tier=cat.rules.default_tier, seasons=json.dumps(cat.seasons),
                      rules="\n".join(rules), hints="\n".join(f"- {h}" for h in cat.vocabulary_hints))
        return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]

    def _tools(self) -> list[dict]:
        from core.tools import tool_schemas

        tools = tool_schemas()
        tools[-1] = {**tools[-1], "cache_control": {"type": "ephemeral"}}
        return tools

    def _context(self, turn: TurnContext) -> str:
        from core.fewshot import few_shot_examples

        facets, examples = "(retrieval unavailable)", "(none)"
        try:
            from core.retrieval import get_index

            idx = get_index(self.tenant)
            facets = "\n".join(f"- {h.facet} ({h.kind}, {h.group}, {h.score:.3f})" for h in idx.search_facets(turn.request, k=12))
            shots = few_shot_examples(idx, turn.request, k=3, exclude=turn.exclude_examples)
            examples = "\n".join(f"- {s.query} -> {json.dumps(s.segment.spec())}" for s in shots) or "(none)"
        except Exception as exc:  # noqa: BLE001 - the model can still search with the tool
            facets = f"(retrieval unavailable: {exc})"
        dates, event = resolve_dates(self.client, self.tenant, turn)
        if event:
            self._events.append(event)
        draft = f"Current draft to edit: {json.dumps(turn.draft.spec())}" if turn.draft is not None else ""
        return render("context", request=turn.request, draft=draft, facets=facets, examples=examples,
                      dates="\n".join(dates) or "(none)")


def _segment_arg(args: dict) -> Segment:
    seg = args.get("segment")
    if seg is None:
        raise ValueError('missing "segment": pass a list of conditions or {"cohorts": [[...], ...]}')
    if isinstance(seg, str):
        try:
            seg = json.loads(seg)
        except json.JSONDecodeError:
            raise ValueError('"segment" must be JSON: a list of conditions or {"cohorts": [[...], ...]}') from None
    return Segment.from_spec(seg)


def _clarify_arg(args: dict, thought: str, call_id: str) -> Clarify:
    question = str(args.get("question") or "").strip()
    options = args.get("options")
    if not question:
        raise ValueError('missing "question": ask one question in plain words')
    if not isinstance(options, list) or not 2 <= len(options) <= 4:
        raise ValueError('"options" must be a list of 2 to 4 short answers')
    default = args.get("default", 0)
    if not isinstance(default, int) or isinstance(default, bool) or not 0 <= default < len(options):
        raise ValueError(f'"default" must be an option index from 0 to {len(options) - 1}')
    opts = [ClarifyOption(label=str(o)[:200], value=str(o)[:200]) for o in options]
    return Clarify(question=question[:500], options=opts, default=default, thought=thought, call_id=call_id)


def _tool_result(o: Observation) -> dict:
    content = o.error if not o.ok else (o.result.model_dump_json() if hasattr(o.result, "model_dump_json") else str(o.result))
    block = {"type": "tool_result", "tool_use_id": o.call_id, "content": content[:MAX_TOOL_RESULT_CHARS]}
    if not o.ok:
        block["is_error"] = True
    return block


def _block(b: Any) -> dict:
    if getattr(b, "type", "") == "tool_use":
        return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
    return {"type": "text", "text": getattr(b, "text", "") or "(empty)"}


def _api_failure(exc: Exception) -> str:
    """What went wrong with the API and what to do about it, for the trace."""
    status = getattr(exc, "status_code", None)
    hint = ("check ANTHROPIC_API_KEY" if status in (401, 403) else
            "rate limited: try again shortly" if status == 429 else
            "the request was rejected: check llm models and max_tokens in tenant.yaml" if status in (400, 404, 413, 422) else
            "raise llm.timeout_s in tenant.yaml if this repeats" if "Timeout" in type(exc).__name__ else
            "the API sent a reply that is not JSON: check ANTHROPIC_BASE_URL" if isinstance(exc, json.JSONDecodeError) else
            "the API is unavailable: try again later")
    return f"Claude API failed ({type(exc).__name__}{f' {status}' if status else ''}: {hint}); continuing with the offline policy"


class FallbackPolicy:
    """Claude first; on an API failure the rest of the turn runs offline, and the trace says so."""

    def __init__(self, primary: ClaudePolicy, make_fallback: Callable[[], Any]) -> None:
        self.primary = primary
        self.make_fallback = make_fallback
        self.active: Any = primary
        self.name = primary.name
        self._events: list[dict] = []

    def start(self, turn: TurnContext) -> None:
        self.turn = turn
        self.active = self.primary
        self.primary.start(turn)

    def next_action(self, observations: list[Observation]) -> Action:
        if self.active is self.primary:
            try:
                return self.primary.next_action(observations)
            except Exception as exc:  # noqa: BLE001 - an API failure: continue offline
                import anthropic

                if not isinstance(exc, (anthropic.APIError, TimeoutError, json.JSONDecodeError)):  # not an API fault
                    raise
                self._events += self.primary.drain_events()
                self._events.append({"kind": "policy", "status": "fallback", "observation": _api_failure(exc)})
                self.active = self.make_fallback()
                self.name = f"{self.primary.name}→{self.active.name}"
                self.active.start(self.turn)
                return self.active.next_action([])
        return self.active.next_action(observations)

    def answer(self, answer: str) -> None:
        self.active.answer(answer)

    def last_usage(self) -> LLMUsage | None:
        return self.active.last_usage() if self.active is self.primary else None

    def drain_events(self) -> list[dict]:
        out = self._events + (self.primary.drain_events() if self.active is self.primary else [])
        self._events = []
        return out
