"""What a chat message means in context: a new audience, an edit of the draft, or an answer."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Sequence

from rapidfuzz import fuzz, process

from core.policies.base import Clarify
from core.router import HeuristicRouter, Router
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


def classify(text: str, draft: Segment | None, pending: Clarify | None = None, router: Router | None = None) -> Intention:
    """Decide how to treat a message, with the agent's router.

    While a question is pending, the message answers it unless it announces a fresh audience (or a
    model-backed router says it is a new request). Over an open draft, the router decides when it
    is clear (an edit instruction; a model's verdict; words that announce a new audience); a message
    that only reads as a whole new audience gets "ask".
    """
    text = text.strip()
    router = router or HeuristicRouter()
    fresh = bool(_FRESH_START.search(text))
    decision = router.route(text, draft, pending)
    by_model = decision.usage is not None
    if pending is not None:
        if fresh or (by_model and decision.mode == "new"):
            return Intention("new", decision.reason if by_model else "announces a new audience")
        options = [(o.label, o.value or o.label) for o in pending.options]
        return Intention("answer", decision.reason if decision.mode == "answer" else "typed while a question was pending",
                         _match_option(text, options))
    if draft is None or not draft.all_conditions():
        return Intention("new", "no draft yet")
    if fresh:
        return Intention("new", "announces a new audience")
    if decision.mode == "edit" or by_model:
        return Intention("edit" if decision.mode != "new" else "new", decision.reason)
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
    hit = process.extractOne(text.lower(), list(choices), scorer=fuzz.token_set_ratio)
    return choices[hit[0]] if hit and hit[1] >= _OPTION_MATCH else text
