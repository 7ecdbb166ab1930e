"""New segment, edit of the draft, or an answer to the pending question? The `router` model decides
when an API key is set; the offline heuristic decides otherwise (and whenever the model cannot)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from core.policies.base import Clarify, LLMUsage
from core.segment import Segment

if TYPE_CHECKING:
    from core.tenant import Tenant

MODES = ("new", "edit", "answer")
_EDIT_START = re.compile(
    r"^\s*(also|and also|plus|add|include|exclude|excluding|remove|drop|delete|without|make it|make that|change|"
    r"switch|swap|replace|instead|only|just|narrow|broaden|widen|restrict|limit|but|undo|use|set|increase|decrease|"
    r"raise|lower|keep|no longer|not|minus|except|what about|how about|now)\b", re.I)
_EDIT_WORDS = re.compile(r"\b(the draft|this segment|that segment|the segment|second cohort|another cohort|"
                         r"the brand|the tier|the window|the date|it to|them to)\b", re.I)
SHORT_ANSWER_WORDS = 4  # a reply this short to a pending question reads as its answer


@dataclass(frozen=True)
class RouteDecision:
    mode: str  # "new" | "edit" | "answer"
    reason: str
    usage: LLMUsage | None = None


class Router(Protocol):
    def route(self, request: str, draft: Segment | None, pending: Clarify | None = None) -> RouteDecision: ...


class HeuristicRouter:
    """Answer when it matches the pending question; edit when a draft exists and the message is an instruction."""

    def route(self, request: str, draft: Segment | None, pending: Clarify | None = None) -> RouteDecision:
        if pending is not None:
            said = request.strip().casefold()
            labels = {o.label.casefold() for o in pending.options} | {o.value.casefold() for o in pending.options if o.value}
            if said in labels or (said.isdigit() and int(said) < len(pending.options)):
                return RouteDecision("answer", "names one of the options")
            if len(said.split()) <= SHORT_ANSWER_WORDS and not _EDIT_START.search(request):
                return RouteDecision("answer", "a short reply to the pending question")
        if draft is None or not draft.all_conditions():
            return RouteDecision("new", "no draft yet")
        if m := _EDIT_START.search(request):
            return RouteDecision("edit", f"starts with an edit word ({m.group(1)!r})")
        if m := _EDIT_WORDS.search(request):
            return RouteDecision("edit", f"refers to the draft ({m.group(1)!r})")
        return RouteDecision("new", "describes a whole audience")


class ModelRouter:
    """The tenant's `router` model picks the mode with one forced tool call; the heuristic is its fallback."""

    TOOL = {"name": "route", "description": "Say what the marketer's message does.",
            "input_schema": {"type": "object", "required": ["mode", "reason"], "properties": {
                "mode": {"type": "string", "enum": list(MODES),
                         "description": "new: a whole new audience; edit: a change to the current draft; "
                                        "answer: a reply to the pending question"},
                "reason": {"type": "string", "description": "a few words why"}}}}

    def __init__(self, client: Any, model: str, max_tokens: int = 200) -> None:
        self.client, self.model, self.max_tokens = client, model, max_tokens
        self.fallback = HeuristicRouter()

    def route(self, request: str, draft: Segment | None, pending: Clarify | None = None) -> RouteDecision:
        from core.prompts import render
        from core.pricing import usage_of

        text = render("router", request=request,
                      draft=draft.render() if draft is not None and draft.all_conditions() else "(none)",
                      pending=_pending_text(pending))
        try:
            resp = self.client.messages.create(model=self.model, max_tokens=self.max_tokens, tools=[self.TOOL],
                                               tool_choice={"type": "tool", "name": "route"},
                                               messages=[{"role": "user", "content": text}])
        except Exception as exc:  # noqa: BLE001 - routing must never end a turn: decide offline
            d = self.fallback.route(request, draft, pending)
            return RouteDecision(d.mode, f"router model unavailable ({type(exc).__name__}); heuristic: {d.reason}")
        usage = usage_of(resp, self.model, "router")
        use = next((b for b in resp.content if getattr(b, "type", "") == "tool_use"), None)
        args = dict(use.input or {}) if use is not None and isinstance(use.input, dict) else {}
        mode = args.get("mode")
        allowed = MODES if pending is not None else ("new", "edit")
        if draft is None or not draft.all_conditions():
            allowed = tuple(m for m in allowed if m != "edit")
        if mode not in allowed:
            d = self.fallback.route(request, draft, pending)
            return RouteDecision(d.mode, f"router model said {json.dumps(args)[:80]}; heuristic: {d.reason}", usage)
        return RouteDecision(mode, str(args.get("reason", ""))[:200] or "router model", usage)


def _pending_text(pending: Clarify | None) -> str:
    if pending is None:
        return "(none)"
    return f"{pending.question} Options: " + "; ".join(o.label for o in pending.options)


def make_router(tenant: "Tenant", policy: str, client: Any = None) -> Router:
    """The model router when the Claude policy runs (and a client exists), else the heuristic."""
    if policy == "claude" and client is not None:
        return ModelRouter(client, tenant.config.llm.router)
    return HeuristicRouter()


def route(request: str, draft: Segment | None) -> RouteDecision:
    return HeuristicRouter().route(request, draft)
