"""New segment or edit of the current draft? A heuristic router; a model-backed one can replace it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from core.segment import Segment

_EDIT_START = re.compile(
    r"^\s*(also|and also|plus|add|include|exclude|excluding|remove|drop|delete|without|make it|make that|change|"
    r"switch|swap|replace|instead|only|just|narrow|broaden|widen|restrict|limit|but|undo|use|set|increase|decrease|"
    r"raise|lower|keep|no longer|not|minus|except|what about|how about|now)\b", re.I)
_EDIT_WORDS = re.compile(r"\b(the draft|this segment|that segment|the segment|second cohort|another cohort|"
                         r"the brand|the tier|the window|the date|it to|them to)\b", re.I)


@dataclass(frozen=True)
class RouteDecision:
    mode: str  # "new" | "edit"
    reason: str


class Router(Protocol):
    def route(self, request: str, draft: Segment | None) -> RouteDecision: ...


class HeuristicRouter:
    """Edit when a draft exists and the message is an instruction about it."""

    def route(self, request: str, draft: Segment | None) -> RouteDecision:
        if draft is None or not draft.all_conditions():
            return RouteDecision("new", "no draft yet")
        if _EDIT_START.search(request):
            return RouteDecision("edit", f"starts with an edit word ({_EDIT_START.search(request).group(1)!r})")
        if _EDIT_WORDS.search(request):
            return RouteDecision("edit", f"refers to the draft ({_EDIT_WORDS.search(request).group(1)!r})")
        return RouteDecision("new", "describes a whole audience")


def route(request: str, draft: Segment | None) -> RouteDecision:
    return HeuristicRouter().route(request, draft)
