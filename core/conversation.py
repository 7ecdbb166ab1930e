"""What a chat message means in context: a new audience, an edit of the draft, or an answer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from rapidfuzz import fuzz, process

from core.router import RouteDecision, route
from core.segment import Segment

Intent = Literal["new", "edit", "ask", "answer"]

# Words with which people announce a fresh audience; they settle "new or edit?" without asking.
_FRESH_START = re.compile(
    r"^\s*(?:ok(?:ay)?[,.]?\s+|now\s+)?(?:(?:a|another|one more)\s+)?(?:new\s+(?:segment|audience|one|list)|"
    r"start\s+(?:over|again|afresh|fresh)|from\s+scratch|forget\s+(?:that|this|it)|different\s+(?:segment|audience)|"
    r"next\s+(?:segment|audience))\b", re.I)
_OPTION_MATCH = 85  # rapidfuzz score above which a typed answer is taken as that option


@dataclass(frozen=True)
class Intention:
    intent: Intent
    reason: str
    answer: str = ""  # for "answer": the option value the text matched, or the text itself


def classify(text: str, draft: Segment | None, pending_options: Sequence[tuple[str, str]] | None = None,
             router: Callable[[str, Segment | None], RouteDecision] = route) -> Intention:
    """Decide how to treat a message.

    While a question is pending, the message answers it unless it announces a fresh audience.
    Over an open draft, the router decides when it is clear (an edit instruction, or words that
    announce a new audience); a message that reads as a whole new audience gets "ask".
    """
    text = text.strip()
    fresh = bool(_FRESH_START.search(text))
    if pending_options is not None:
        if fresh:
            return Intention("new", "announces a new audience while a question was pending")
        return Intention("answer", "typed while a question was pending", _match_option(text, pending_options))
    if draft is None or not draft.all_conditions():
        return Intention("new", "no draft yet")
    if fresh:
        return Intention("new", "announces a new audience")
    decision = router(text, draft)
    if decision.mode == "edit":
        return Intention("edit", decision.reason)
    return Intention("ask", decision.reason)


def _match_option(text: str, options: Sequence[tuple[str, str]]) -> str:
    """The value of the option the text names (label or value, typos allowed), else the text."""
    choices = {}
    for label, value in options:
        choices[label.lower()] = value or label
        if value:
            choices[value.lower()] = value
    if not choices:
        return text
    hit = process.extractOne(text.lower(), list(choices), scorer=fuzz.WRatio)
    return choices[hit[0]] if hit and hit[1] >= _OPTION_MATCH else text
