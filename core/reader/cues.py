"""The words around a match that change how it reads: a negation before it, a setting switched off, the
intent cue (bought / likely / browsed) that says which kind of facet a value names, a modal or phrasal verb
that only looks like a value."""
from __future__ import annotations

import re

from core.catalog import Catalog, Facet
from core.reader.common import BROWSE_CUES, EXCLUDING_CLAUSE, NEGATION, PROPENSITY_CUES, PURCHASE_CUES, _overlap
from core.segment import Condition

MODALS = frozenset("may might can could would should must will".split())  # English modal verbs


_STOPS = re.compile(r"[.?!](?=\s)|\s[-–](?=\s)")  # a sentence's end, or a dash between clauses


def negated(low: str, pos: int) -> bool:
    """A negation governs the word at `pos` (within its clause, reaching back over an 'or' list)."""
    clause_start = max(low.rfind(",", 0, pos), low.rfind(";", 0, pos), *(m.end() - 1 for m in _STOPS.finditer(low, 0, pos)))
    if EXCLUDING_CLAUSE.match(low[clause_start + 1:pos]):
        return True
    window = low[max(clause_start + 1, pos - 40): pos]
    if re.search(r"\bor\s+$", window):  # 'minus anyone whose … is <value> or [<value>]': the list's negation
        window = low[max(clause_start + 1, pos - 80): pos]
    window = re.split(r"\b(and|or)\b(?! (?:churned|lapsed))", window)[-1] if " and " in window and "excluding" not in window else window
    return bool(NEGATION.search(window))


def negate(c: Condition) -> Condition:
    """The condition's opposite."""
    flip = {"in": "not_in", "not_in": "in", "is_true": "is_false", "is_false": "is_true"}
    return c.model_copy(update={"op": flip.get(c.op, c.op)})


def switched_off(low: str, start: int, end: int) -> bool:
    """'turned auto renew off', 'switched off app notifications', 'opted out of texts': a setting that is off."""
    after, before = low[end:end + 25], low[max(0, start - 30):start]
    return bool(re.match(r"\s*(?:(?:turned|switched|set|is|are)\s+)?off\b", after)
                or re.search(r"\b(?:turned|switched|shut|set) off\s+(?:their|the|his|her)?\s*$", before)
                or re.search(r"\b(?:disabled|opted out of|unsubscribed from)\s+(?:their|the|his|her)?\s*$", before))


def intent(before: str, clause: str) -> str:
    """Which kind of facet a value names here: propensity, purchase, browse or plain."""
    near = before[-45:]
    cues = [(m.end(), "browse") for m in BROWSE_CUES.finditer(near)]
    cues += [(m.end(), "propensity") for m in PROPENSITY_CUES.finditer(near)]
    cues += [(m.end(), "purchase") for m in PURCHASE_CUES.finditer(near)
             if not re.search(r"(likely|likelihood|propensity|chance|might|may|could|would)\s+(?:to\s*)?$", near[:m.start()])]
    if cues:
        return max(cues)[1]
    if PROPENSITY_CUES.search(clause) or re.search(r"\btop \d+", before):
        return "propensity"
    if BROWSE_CUES.search(clause):
        return "browse"
    if PURCHASE_CUES.search(clause):
        return "purchase"
    return "plain"


def facet_fit(f: Facet, intent: str, clause: str, cat: Catalog) -> float:
    """How well a facet fits the intent cue and the clause's words (higher fits better)."""
    score = 0.0
    group = f.group.lower()
    if f.deprecated:
        score -= 10
    if intent == "propensity":
        score += 5 if f.kind == "propensity" else 0
    elif intent == "purchase":
        score += 5 if (f.kind == "categorical" and (f.scope == "purchase" or "bought" in " ".join(f.synonyms) or "history" in group or "basket" in group)) else 0
        score -= 2 if f.kind == "propensity" else 0
    elif intent == "browse":
        score += 5 if "browse" in (f.name + " ".join(f.synonyms)).lower() else 0
    else:
        score -= 1 if f.kind == "propensity" else 0
        score -= 0.5 if f.scope == "purchase" else 0
        score -= 1 if "brows" in f.name.lower() else 0
    score += 0.8 * _overlap(clause, " ".join([f.name, *f.synonyms]))
    return score


def modal(phrase: str, low: str, end: int) -> bool:
    """A modal verb before a verb ('who may be interested', 'may want to try') is the verb, not a value of the
    same spelling (a month)."""
    return phrase in MODALS and bool(re.match(r"\s+(?:not\s+)?(be|buy|try|want|like|need|have|shop|purchase|prefer|"
                                            r"respond|enjoy|consider|switch|order|use|visit|return|lapse|churn)\b",
                                            low[end:]))


def phrasal_verb(phrase: str, low: str, end: int) -> bool:
    """A value named like a verb and its particle ('stock up') used as that verb: followed by 'on' or 'for'."""
    return bool(re.search(r"\s(up|in|out|off|down|back)$", phrase) and re.match(r"\s+(on|for)\b", low[end:]))
