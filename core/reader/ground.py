"""Ground the words no other part of the reader used: each leftover phrase is compared by meaning with the
catalog's own words for its facets and values (names, synonyms, descriptions, value aliases).

'children living with them', 'email keeps bouncing', 'served in the armed forces' name a facet that no
synonym spells. Two pure steps: `leftover_phrases` cuts candidate phrases out of the unused stretches of
a request, and `choose` turns each phrase's nearest catalog texts into readings — one when it is clearly
nearest, several (to ask about) when they are close, none when nothing is near enough.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.catalog import Facet

LEFTOVER_MIN = 0.65     # cosine a leftover phrase must reach with a facet's or value's own words to be read as it
LEFTOVER_SURE = 0.78    # ...and this to be read without asking (paraphrase-near); between the two it is asked about
LEFTOVER_MARGIN = 0.04  # readings closer than this to the best are offered as a question
VALUE_FLOOR = 0.52      # a phrase near a categorical facet's words takes its nearest value only when this near
MAX_WORDS = 5           # longest phrase compared
MAX_PHRASES = 24        # phrases compared per request (one model call embeds them all)

_TOKEN = re.compile(r"[a-z][a-z']*")
_PUNCT = re.compile(r"[,;:.()!?/]")
BREAKS = frozenset("""and or but yet who whose that which with while plus also nor although though even because so
if when where whom than then either""".split())
# Prepositions join a phrase ('back after a year away') but never start or end one ('through an email').
PREPOSITIONS = frozenset("""through across over under about around after before during since until within without
between near along per via""".split())
_NEGATION = re.compile(r"\b(not|no|never|non|without|no longer|don't|doesn't|isn't|aren't|haven't|hasn't|can't|won't)\b")


@dataclass(frozen=True)
class Candidate:
    """One reading of a leftover phrase: a flag (value None) or a value, how near it is, and what it matched."""
    facet: Facet
    value: str | None
    score: float
    matched: str


@dataclass(frozen=True)
class Grounded:
    """A leftover phrase and its readings, best first."""
    start: int
    end: int
    phrase: str
    readings: tuple[Candidate, ...]

    @property
    def sure(self) -> bool:
        """One reading, near enough to take without asking."""
        return len(self.readings) == 1 and self.readings[0].score >= LEFTOVER_SURE


def leftover_phrases(low: str, used: list[tuple[int, int]], edge_ok, limit: int = MAX_PHRASES) -> list[tuple[int, int]]:
    """Phrases of up to MAX_WORDS words inside the stretches no part read, cut at punctuation and joining words;
    a phrase starts and ends on a word `edge_ok` accepts (not a function word)."""
    runs: list[list[re.Match]] = [[]]
    prev_end = 0
    for m in _TOKEN.finditer(low):
        blocked = m.group(0) in BREAKS or any(a < m.end() and m.start() < b for a, b in used)
        if blocked or _PUNCT.search(low[prev_end:m.start()]):
            runs.append([])
        if not blocked:
            runs[-1].append(m)
        prev_end = m.end()
    out: list[tuple[int, int]] = []
    ok = lambda w: w not in PREPOSITIONS and edge_ok(w)  # noqa: E731
    for run in runs:
        for i, first in enumerate(run):
            if not ok(first.group(0)):
                continue
            for last in run[i:i + MAX_WORDS]:
                if ok(last.group(0)):
                    out.append((first.start(), last.end()))
    # Longer phrases first: they carry the context a single word lacks, and the cap keeps them.
    return sorted(dict.fromkeys(out), key=lambda s: (-(s[1] - s[0]), s[0]))[:limit]


def choose(phrase: str, hits: list, facets: dict[str, Facet]) -> tuple[Candidate, ...]:
    """The readings of one phrase from its nearest catalog texts (`hits`: facet, value '' for the facet's own
    words, score, matched text): the best and any within LEFTOVER_MARGIN of it; none below LEFTOVER_MIN."""
    best: dict[tuple[str, str | None], Candidate] = {}
    value_hits = [h for h in hits if h.value]
    for h in hits:
        f = facets.get(h.facet)
        if f is None:
            continue
        if f.kind == "boolean":
            cand = Candidate(f, None, h.score, h.matched_synonym or f.name)
        elif h.value:
            cand = Candidate(f, h.value, h.score, h.matched_synonym or h.value)
        else:  # near the facet's own words: its nearest value, when the phrase is near one at all
            v = next((o for o in value_hits if o.facet == h.facet), None)
            if v is None or v.score < VALUE_FLOOR:
                continue
            cand = Candidate(f, v.value, max(h.score, v.score), h.matched_synonym or f.name)
        key = (f.name, cand.value)
        if key not in best or cand.score > best[key].score:
            best[key] = cand
    ranked = sorted(best.values(), key=lambda c: -c.score)
    if not ranked or ranked[0].score < LEFTOVER_MIN:
        return ()
    return tuple(c for c in ranked if ranked[0].score - c.score < LEFTOVER_MARGIN)


def negates(phrase: str, before_negated: bool, matched: str) -> bool:
    """Whether the reading is the flag's 'false' side: a negated phrase read through a plain catalog word, or a
    plain phrase read through a negated one ('email keeps bouncing' ~ 'email not bounced')."""
    said = before_negated or bool(_NEGATION.search(phrase))
    return said != bool(_NEGATION.search(matched.lower()))


def pick(grounded: list[Grounded]) -> list[Grounded]:
    """Non-overlapping phrases, nearest first: a phrase and the words inside it are one reading."""
    out: list[Grounded] = []
    for g in sorted(grounded, key=lambda g: (-g.readings[0].score, -(g.end - g.start))):
        if not any(o.start < g.end and g.start < o.end for o in out):
            out.append(g)
    return sorted(out, key=lambda g: g.start)
