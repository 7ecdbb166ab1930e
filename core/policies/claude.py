"""ClaudePolicy: the Messages API with tool use over the same tools as the offline policy."""
from __future__ import annotations

import json
from typing import Any, Callable

from core.policies.base import (Action, Clarify, ClarifyOption, Finish, LLMUsage, Observation, ToolCall,
                                TurnContext)
from core.pricing import cost_usd
from core.prompts import render
from core.segment import Segment
from core.tenant import Tenant


class ClaudePolicy:
    """One conversation per turn; the static system prompt and tool list are cached."""

    name = "claude"

    def __init__(self, tenant: Tenant, client: Any, model: str | None = None) -> None:
        self.tenant = tenant
        self.client = client
        self.model = model or tenant.config.llm.mapping
        self.messages: list[dict] = []
        self._usage: LLMUsage | None = None
        self._pending_ids: list[str] = []
        self._clarify_id = ""

    # ---- Policy ------------------------------------------------------------------------------
    def start(self, turn: TurnContext) -> None:
        self.turn = turn
        self.messages = [{"role": "user", "content": [{"type": "text", "text": self._context(turn)}]}]
        self._pending_ids = []

    def next_action(self, observations: list[Observation]) -> Action:
        if observations:
            self.messages.append({"role": "user", "content": [_tool_result(o) for o in observations]})
        elif self._pending_ids:  # a gate or answer without a tool result still needs one per tool_use
            self.messages.append({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": i, "content": "ok"} for i in self._pending_ids]})
        self._pending_ids = []
        resp = self.client.messages.create(model=self.model, max_tokens=self.tenant.config.llm.max_tokens,
                                           system=self._system(), tools=self._tools(), messages=self.messages)
        self._record_usage(resp)
        self.messages.append({"role": "assistant", "content": [_block(b) for b in resp.content]})
        uses = [b for b in resp.content if getattr(b, "type", "") == "tool_use"]
        thought = " ".join(getattr(b, "text", "") for b in resp.content if getattr(b, "type", "") == "text").strip()
        if not uses:
            self.messages.append({"role": "user", "content": [{"type": "text", "text": "Call a tool: continue, or finish with the segment."}]})
            return ToolCall("search_facets", {"query": self.turn.request, "k": 8}, thought=thought or "(no tool call)")
        use = uses[0]
        self._pending_ids = [u.id for u in uses[1:]]
        return self._action(use, thought)

    def answer(self, answer: str) -> None:
        self.messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": self._clarify_id, "content": f"The marketer answered: {answer}"}]})

    def last_usage(self) -> LLMUsage | None:
        return self._usage

    # ---- helpers -------------------------------------------------------------------------------
    def _action(self, use: Any, thought: str) -> Action:
        args = dict(use.input or {})
        if use.name == "finish":
            seg = args.get("segment")
            if isinstance(seg, str):
                seg = json.loads(seg)
            return Finish(segment=Segment.from_spec(seg), summary=args.get("summary", ""), thought=thought, call_id=use.id)
        if use.name == "clarify":
            self._clarify_id = use.id
            opts = [ClarifyOption(label=str(o), value=str(o)) for o in args.get("options", [])][:4]
            return Clarify(question=args.get("question", ""), options=opts, default=int(args.get("default", 0) or 0),
                           thought=thought, call_id=use.id)
        return ToolCall(use.name, args, thought=thought, call_id=use.id)

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
        facets, examples = "(retrieval unavailable)", "(none)"
        try:
            from core.retrieval import get_index

            idx = get_index(self.tenant)
            facets = "\n".join(f"- {h.facet} ({h.kind}, {h.group}, {h.score:.3f})" for h in idx.search_facets(turn.request, k=12))
            examples = "\n".join(f"- {s.query} -> {json.dumps(s.segment.spec())}" for s in idx.similar_segments(turn.request, k=3, exclude=turn.notes.get("holdout", ())))
        except Exception as exc:  # noqa: BLE001 - the model can still search with the tool
            facets = f"(retrieval unavailable: {exc})"
        draft = f"Current draft to edit: {json.dumps(turn.draft.spec())}" if turn.draft is not None else ""
        return render("context", request=turn.request, draft=draft, facets=facets, examples=examples)

    def _record_usage(self, resp: Any) -> None:
        u = getattr(resp, "usage", None)
        if u is None:
            self._usage = None
            return
        cw = getattr(u, "cache_creation_input_tokens", 0) or 0
        cr = getattr(u, "cache_read_input_tokens", 0) or 0
        self._usage = LLMUsage(model=self.model, input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                               cache_read_tokens=cr, cache_write_tokens=cw,
                               cost_usd=cost_usd(self.model, u.input_tokens, u.output_tokens, cw, cr))


def _tool_result(o: Observation) -> dict:
    content = o.error if not o.ok else (o.result.model_dump_json() if hasattr(o.result, "model_dump_json") else str(o.result))
    block = {"type": "tool_result", "tool_use_id": o.call_id or "none", "content": content[:20000]}
    if not o.ok:
        block["is_error"] = True
    return block


def _block(b: Any) -> dict:
    if getattr(b, "type", "") == "tool_use":
        return {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
    return {"type": "text", "text": getattr(b, "text", "")}


class FallbackPolicy:
    """Claude first; on an API failure the rest of the turn runs offline, and the trace says so."""

    def __init__(self, primary: ClaudePolicy, make_fallback: Callable[[], Any]) -> None:
        self.primary = primary
        self.make_fallback = make_fallback
        self.active: Any = primary
        self.name = primary.name
        self._events: list[str] = []

    def start(self, turn: TurnContext) -> None:
        self.turn = turn
        self.active = self.primary
        self.primary.start(turn)

    def next_action(self, observations: list[Observation]) -> Action:
        if self.active is self.primary:
            try:
                return self.primary.next_action(observations)
            except Exception as exc:  # noqa: BLE001 - any API failure: continue offline
                import anthropic

                if not isinstance(exc, (anthropic.APIError, anthropic.APIConnectionError, TimeoutError)):
                    raise
                status = getattr(exc, "status_code", "")
                self._events.append(f"Claude API failed ({type(exc).__name__} {status}); continuing with the offline policy")
                self.active = self.make_fallback()
                self.name = f"{self.primary.name}→{self.active.name}"
                self.active.start(self.turn)
                return self.active.next_action([])
        return self.active.next_action(observations)

    def answer(self, answer: str) -> None:
        self.active.answer(answer)

    def last_usage(self) -> LLMUsage | None:
        return self.active.last_usage() if self.active is self.primary else None

    def drain_events(self) -> list[str]:
        out, self._events = self._events, []
        return out
