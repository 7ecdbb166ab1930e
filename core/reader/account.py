"""Account for every word of a request: used by a condition, or explained, or plainly not used."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from core.text.normalise import Normalised

Kind = Literal["used", "stop", "ignored", "unused"]
Role = Literal["condition", "rule", "cue", "asked"]  # what a used stretch became, for showing the map
_TOKEN = re.compile(r"\$?\d[\d,]*(?:\.\d+)?[kK]?%?\+?|[A-Za-z][A-Za-z']*")


class CoverageSpan(BaseModel):
    """One word of the request (offsets into the request as typed) and what became of it."""
    start: int
    end: int
    text: str
    kind: Kind
    became: str = ""  # the condition or reading it is part of, or why it was ignored
    role: Role | None = None  # for a used word: a condition, a tier/window/rule, an intent cue or a question


class Coverage(BaseModel):
    """The request with each word accounted for; `unused` words were not used and are said so."""
    request: str
    spans: list[CoverageSpan]

    @property
    def unused(self) -> list[str]:
        return [s.text for s in self.spans if s.kind == "unused"]

    @property
    def used_share(self) -> float:
        content = [s for s in self.spans if s.kind != "stop"]
        return sum(s.kind == "used" for s in content) / len(content) if content else 1.0


class Use(BaseModel):
    """A stretch of the text as read (after normalising) and what it became."""
    start: int
    end: int
    became: str
    kind: Literal["used", "ignored"] = "used"
    role: Role = "condition"


def account(normalised: Normalised, uses: list[Use], stop_words: frozenset[str] | set[str]) -> Coverage:
    """Give every word of the request a kind: used (inside a Use), stop, ignored (with why) or unused."""
    spans = []
    for m in _TOKEN.finditer(normalised.text):
        a, b = normalised.to_original(m.start()), normalised.to_original(m.end())
        word = normalised.original[a:b]
        hit = next((u for u in uses if u.start < m.end() and m.start() < u.end), None)
        if hit is not None:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind=hit.kind, became=hit.became,
                                      role=hit.role if hit.kind == "used" else None))
        elif m.group(0).lower().strip("'") in stop_words or m.group(0).lower().endswith("'s") and \
                m.group(0).lower()[:-2] in stop_words:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind="stop"))
        else:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind="unused"))
    return Coverage(request=normalised.original, spans=spans)
