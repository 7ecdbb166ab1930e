"""Account for every word of a request: used by a condition, or explained, or plainly not used."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from core.reader.common import BROWSE_CUES, NEGATION, PROPENSITY_CUES, PURCHASE_CUES, Ambiguity, Span
from core.segment import Condition
from core.text.normalise import Normalised

Kind = Literal["used", "stop", "ignored", "unused"]
Role = Literal["condition", "rule", "cue", "asked"]  # what a used stretch became, for showing the map
_COMPARATORS = r"(?:over|under|above|below|at least|at most|more than|less than|fewer than|up to|within|last|past)"
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
        a, b = normalised.span_to_original(m.start(), m.end())
        if spans and (spans[-1].start, spans[-1].end) == (a, b):
            continue  # the second word of a split reading ('<first><second>' read as '<first> <second>') is the same word typed
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


# A word read by several parts (a clause every cohort shares) shows its most telling outcome.
_RANK = {"condition": 0, "rule": 1, "asked": 2, "cue": 3, "ignored": 4, "stop": 5, "unused": 6}


def _rank(span: CoverageSpan) -> int:
    return _RANK[span.role or "condition"] if span.kind == "used" else _RANK[span.kind]


def combine(request: str, parts: list[Coverage], stop_words: frozenset[str] | set[str],
            joined_by: dict[str, str] | None = None) -> Coverage:
    """One map of `request` from the maps of texts cut out of it (cohorts of an 'or', an edit's body).

    Each part's words are found again in the request in order (a part may repeat an earlier clause,
    like an intent shared by two cohorts); a word no part read is a stop word, a word that did the
    cutting (`joined_by`: word -> what it did, e.g. 'or'), or plainly not used.
    """
    joined_by = joined_by or {}
    words = [(m.start(), m.end()) for m in _TOKEN.finditer(request)]
    best: dict[int, CoverageSpan] = {}
    for part in parts:
        cursor = 0
        for span in part.spans:
            at = _find(words, request, span.text, cursor)
            if at is None:
                continue
            cursor = at + 1
            a, b = words[at]
            placed = span.model_copy(update={"start": a, "end": b, "text": request[a:b]})
            if at not in best or _rank(placed) < _rank(best[at]):
                best[at] = placed
    spans = []
    for i, (a, b) in enumerate(words):
        word = request[a:b]
        if i in best:
            spans.append(best[i])
        elif word.lower() in joined_by:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind="used", became=joined_by[word.lower()], role="rule"))
        elif word.lower().strip("'") in stop_words:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind="stop"))
        else:
            spans.append(CoverageSpan(start=a, end=b, text=word, kind="unused"))
    return Coverage(request=request, spans=spans)


def _find(words: list[tuple[int, int]], request: str, text: str, cursor: int) -> int | None:
    """The index of the word `text` in the request: the first from `cursor` on, else the first anywhere."""
    hits = [i for i, (a, b) in enumerate(words) if request[a:b] == text]
    return next((i for i in hits if i >= cursor), hits[0] if hits else None)


def segment_coverage(request: str, conditions: list, catalog, stop_words: frozenset[str] | set[str]) -> Coverage:
    """A map for conditions built without the reader (a model's own reading): each condition is placed by its
    span when it has one, else where the catalog's words for its facet and values, its tier or its numbers
    appear in the request; what none of them covers is plainly 'unused'."""
    low = request.lower().replace("-", " ").replace("\u2019", "'")  # same length: offsets stay valid
    uses: list[Use] = []
    for c in conditions:
        prov = getattr(c, "provenance", None)
        if prov is not None and prov.start is not None and prov.end is not None:
            uses.append(Use(start=prov.start, end=prov.end, became=c.render()))
            continue
        for a, b, role in _places(low, c, catalog):
            uses.append(Use(start=a, end=b, became=c.render(), role=role))
    return account(Normalised(original=request, text=request), uses, stop_words)


def _places(low: str, c, catalog) -> list[tuple[int, int, Role]]:
    f = catalog.get(c.facet)
    words = [c.facet] + ([*f.synonyms] if f else [])
    for v in c.values or []:
        words += [v, *(f.value_synonyms.get(v, []) if f else [])]
    out: list[tuple[int, int, Role]] = []
    for w in dict.fromkeys(w.lower().replace("-", " ") for w in words if w):
        out += [(m.start(), m.end(), "condition") for m in re.finditer(rf"(?<![\w']){re.escape(w)}(?:e?s)?(?!\w)", low)]
    if c.tier:
        out += [(m.start(), m.end(), "rule") for m in re.finditer(rf"\b{re.escape(c.tier.lower())}\b", low)]
    for n in (c.min, c.max, c.days):
        if isinstance(n, (int, float)):
            shown = f"{n:,.0f}" if float(n).is_integer() else str(n)
            out += [(m.start(), m.end(), "condition")
                    for m in re.finditer(rf"(?:\b{_COMPARATORS}\s+)?\$?(?:{re.escape(shown)}|{re.escape(shown.replace(',', ''))})\b(?:\s+[a-z]+)?", low)]
    return out


_CUES = (("intent cue: purchase", PURCHASE_CUES), ("intent cue: likelihood", PROPENSITY_CUES),
         ("intent cue: browsing", BROWSE_CUES), ("negation", NEGATION))


def uses(low: str, conds: list[Condition], taken: list[Span], asked: list[Ambiguity]) -> list[Use]:
    """What each read stretch of the text became: a condition, a question, a tier or window, an intent cue."""
    out = [Use(start=c.provenance.start, end=c.provenance.end, became=c.render())
           for c in conds if c.provenance and c.provenance.start is not None and c.provenance.end is not None]
    for amb in asked:
        for m in re.finditer(rf"\b{re.escape(amb.phrase.lower())}\b", low):
            out.append(Use(start=m.start(), end=m.end(), became=f"asked: {amb.question}", role="asked"))
    # The first use that covers a word names it: a verb cue inside a date window ('bought in the last 90
    # days') says more than the window, while 'top 10%' is a tier before it is a likelihood cue.
    cues = [(rx is PROPENSITY_CUES, Use(start=m.start(), end=m.end(), became=label, role="cue"))
            for label, rx in _CUES for m in rx.finditer(low)]
    out += [u for likely, u in cues if not likely]
    out += [Use(start=t.start, end=t.end, became="read as a tier, window or rule", role="rule") for t in taken]
    out += [u for likely, u in cues if likely]
    return out
