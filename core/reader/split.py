"""Split a multi-audience request into cohort texts plus the clauses every cohort shares."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalog
from core.reader.account import Coverage
from core.reader.common import AUDIENCE_WORDS
from core.reader.extract import channel_words  # the reader's own channel vocabulary

_CUE = re.compile(r"\b(likely to (?:buy|try|shop)|likely|most likely|propensity for|interested in|bought|buyers? of|"
                  r"purchased|shopped)\b", re.I)


_BOUNDARY = re.compile(r"[,;:.!?](?=\s|$)|\s[-–]\s")  # not the comma of '$10,000' or the point of '2.5'
_ANYONE = re.compile(r"(?:anyone|everyone)\b", re.I)
_EDGES = " ,;:.!?-–"


@dataclass
class CohortSplit:
    cohorts: list[str]
    shared: list[str] = field(default_factory=list)


def split_cohorts(text: str, catalog: Catalog) -> CohortSplit | None:
    """Two unrelated audiences joined by 'or' become two cohorts; 'Texas or Florida' stays one."""
    body = re.sub(r"^[^:]{0,60}:\s*", "", text.strip()) if re.match(r"^[^:]{0,60}:", text) else text.strip()
    channels = _channel_or(body, catalog)
    if channels:
        return channels
    shared: list[str] = []
    both = re.search(r"\b(?:either way|for both|in both cases)\s*[.!]?\s*$", body, re.I)
    seps = list(re.finditer(r",|;|\s[-–]\s", body[: both.start()])) if both else []
    if seps:  # '..., or Y - mailable either way': the last clause applies to both audiences
        shared.append(body[seps[-1].end(): both.start()].strip())
        body = body[: seps[-1].start()].strip()
    explicit = re.search(r",\s*or\s+|\bor\s+(?=(?:anyone|everyone)\b)|,?\s*\b(?:plus|as well as|and also)\s+(?=(?:anyone|everyone)\b)",
                         body, re.I)
    if explicit is None and re.match(r"\s*either\b", body, re.I):
        explicit = re.search(r"\s+or\s+", body)
        body = re.sub(r"^\s*either\s+", "", body, flags=re.I)
        explicit = re.search(r"\s+or\s+", body) if explicit else None
    cut = explicit or _paired_or(body, catalog)
    if cut is None:
        verbs = _verb_or(body)
        return CohortSplit(cohorts=verbs, shared=shared) if verbs else None
    left, right = body[: cut.start()].strip(" ,"), body[cut.end():].strip(" ,")
    # 'X or anyone who bought Y in the past year': a clause of its own keeps its words; only a clause after a comma is shared
    right, suffix = (right, "") if explicit and _ANYONE.match(right) else _split_suffix(right, catalog)
    if not suffix and explicit:
        right, suffix = _tail_clause(right)
    if suffix:
        shared.append(suffix)
    prefix = "" if explicit else _shared_prefix(left, catalog)
    if prefix and not _CUE.search(right[: max(0, len(right) // 2)]):
        right = f"{prefix} {right}"
    if not left or not right:
        return None
    return CohortSplit(cohorts=[left, right], shared=shared)


def _channel_or(body: str, catalog: Catalog) -> CohortSplit | None:
    """'reach by text or by email': one cohort per channel, the rest of the request in each."""
    words = channel_words(catalog)
    if len(set(words.values())) < 2:
        return None
    alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    m = re.search(rf"\b(reach(?:able)?|contact(?:able)?)\s+(?:them\s+)?(?:by|via|on|through)\s+({alt})\s+or\s+"
                  rf"(?:by\s+|via\s+|on\s+|through\s+)?({alt})\b", body, re.I)
    if not m or words[m.group(2).lower()] == words[m.group(3).lower()]:
        return None
    head, tail = body[: m.start()], body[m.end():]
    make = lambda ch: f"{head}{m.group(1)} by {ch}{tail}".strip()  # noqa: E731
    return CohortSplit(cohorts=[make(m.group(2)), make(m.group(3))])


_IRREGULAR_PAST = frozenset("""bought made spent went came got took left paid saw gave kept had did ran""".split())


def _verb_or(body: str) -> list[str] | None:
    """'Anyone who tapped a push notification over the past 3 days or clicked through an email this past week':
    'or' between two things one subject did (each a verb with words of its own) makes two cohorts, each keeping
    the words before 'who'. 'who bought or browsed shoes' (a bare verb on the left) stays one."""
    who = re.search(r"\b(?:who|that)\s+", body, re.I)
    if who is None:
        return None
    head, rest = body[: who.end()], body[who.end():]
    for m in re.finditer(r"\s+or\s+", rest):
        left, right = rest[: m.start()].strip(" ,"), rest[m.end():].strip(" ,")
        if len(left.split()) >= 3 and len(right.split()) >= 3 and _same_tense(left.split()[0], right.split()[0]):
            return [f"{head}{left}", f"{head}{right}"]
    return None


def _same_tense(a: str, b: str) -> bool:
    """Two verbs in the same simple form: both past ('tapped', 'bought') or both third person ('uses')."""
    past = lambda w: w.endswith("ed") or w in _IRREGULAR_PAST  # noqa: E731
    a, b = a.lower(), b.lower()
    return (past(a) and past(b)) or (a.endswith("s") and b.endswith("s") and not a.endswith("ss") and not b.endswith("ss"))


def _mentions(text: str, catalog: Catalog) -> list[tuple[int, int, str, str]]:
    """(start, end, facet level, value) of product values named in the text."""
    out = []
    low = text.lower()
    for f in catalog.active_facets:
        if not f.hierarchy_level or f.kind not in ("propensity", "categorical"):
            continue
        for v in f.value_list:
            names = [v, *f.value_synonyms.get(v, [])]
            for name in names + [n[:-1] for n in names if len(n) > 4 and n.endswith("s") and not n.endswith("ss")]:
                if len(name) < 3:
                    continue  # a product named in the singular ('shoe buyers') is a mention too
                for m in re.finditer(rf"(?<![\w]){re.escape(name.lower())}(?![\w])", low):
                    out.append((m.start(), m.end(), f.hierarchy_level, v))
    return sorted(set(out))


def _paired_or(text: str, catalog: Catalog) -> re.Match | None:
    """An 'or' with a brand plus a product area on each side ('FA women's clothing or Scoop footwear')."""
    for m in re.finditer(r"\bor\b", text, re.I):
        left, right = _mentions(text[: m.start()], catalog), _mentions(text[m.end():], catalog)
        if _brand_and_area(left) and _brand_and_area(right):
            return m
    return None


def _brand_and_area(mentions: list[tuple[int, int, str, str]]) -> bool:
    levels = {lvl for _, _, lvl, _ in mentions}
    return "brand" in levels and len(levels) >= 2


def _split_suffix(right: str, catalog: Catalog) -> tuple[str, str]:
    """Clauses after the last product mention of the right cohort apply to both cohorts."""
    ms = _mentions(right, catalog)
    if not ms:
        return right, ""
    end = max(e for _, e, _, _ in ms)
    tail = right[end:]
    m = re.match(r"^(\s*(?:'s|s)?\s*(?:clothing|footwear|shoes|products|items|buyers|shoppers|customers|fans)?)", tail, re.I)
    keep = end + (m.end() if m else 0)
    suffix = right[keep:].strip(" ,-–")
    suffix = re.sub(r"\b(either way|for both|in both cases|each)\b", "", suffix, flags=re.I).strip(" ,-–")
    return right[:keep].strip(), suffix


def _shared_prefix(left: str, catalog: Catalog) -> str:
    """Intent words before the first product mention of the left cohort ('Likely to buy')."""
    ms = _mentions(left, catalog)
    if not ms:
        return ""
    head = left[: min(s for s, _, _, _ in ms)].strip()
    return head if _CUE.search(head) else ""


def _tail_clause(right: str) -> tuple[str, str]:
    """'anyone on auto-ship, mailable only': the clause after the right audience's last comma or dash is said of both."""
    cuts = list(_BOUNDARY.finditer(right))
    if not cuts:
        return right, ""
    return right[: cuts[-1].start()].strip(_EDGES), right[cuts[-1].end():].strip(_EDGES)


def audience_or(coverage: Coverage, catalog: Catalog) -> CohortSplit | None:
    """'<flag synonym> OR households with <another flag>': an 'or' between two stretches of one clause whose words became
    conditions on different facets, with no condition reaching across it, joins two audiences; the clauses around
    them (after a comma or dash, before a colon) are said of both. '<State> or <State>' (one facet) stays one."""
    text = coverage.request
    names = sorted((f.name for f in catalog.facets), key=len, reverse=True)
    used = [(s.start, _facet_named(s.became, names)) for s in coverage.spans
            if s.kind == "used" and s.role == "condition" and s.became]
    for m in re.finditer(r"\bor\b", text, re.I):
        if any(p == m.start() for p, _ in used):
            continue  # 'in OR or WA': a word read as a value (a place's abbreviation) joins nothing
        if not (_read_or_audience(coverage, m.start(), before=True) and _read_or_audience(coverage, m.end(), before=False)):
            continue  # 'in ca or wa ...': words nobody read on either side may be a list of anything
        lo = max((b.end() for b in _BOUNDARY.finditer(text, 0, m.start())), default=0)
        hi = next((b.start() for b in _BOUNDARY.finditer(text, m.end())), len(text))
        left = {f for p, f in used if lo <= p < m.start()}
        right = {f for p, f in used if m.end() <= p < hi}
        if left and right and _separate(left, right, catalog):
            shared = [part.strip(_EDGES) for part in (text[:lo], text[hi:]) if part.strip(_EDGES)]
            return CohortSplit(cohorts=[text[lo:m.start()].strip(_EDGES), text[m.end():hi].strip(_EDGES)], shared=shared)
    return None


_PEOPLE = AUDIENCE_WORDS | {"anyone", "everyone", "those", "folks", "guests", "clients"}


def _read_or_audience(coverage: Coverage, pos: int, before: bool) -> bool:
    """The word just before (or after) `pos` was read into a condition, or names people."""
    spans = [s for s in coverage.spans if (s.end <= pos if before else s.start >= pos) and s.text.lower() != "or"]
    if not spans:
        return False
    word = spans[-1] if before else spans[0]
    return word.kind == "used" or word.text.lower() in _PEOPLE


def _facet_named(became: str, names: list[str]) -> str:
    """The facet a coverage note speaks of ('<Facet> is <Value>', 'not <flag>') — the note itself when none is found."""
    said = became.removeprefix("not ")
    return next((n for n in names if said == n or said.startswith(n + " ")), became)


def _separate(left: set[str], right: set[str], catalog: Catalog) -> bool:
    """Two audiences, not two values of one thing: no facet or kind of product history in common, or the same
    two or more facets on each side ('<Level> members in <State> or <Level> members in <State>')."""
    if left & right:
        return left == right and len(left) >= 2
    family = lambda name: _family(catalog, name)  # noqa: E731
    return not {family(f) for f in left} & {family(f) for f in right}


def _family(catalog: Catalog, name: str) -> str:
    """Purchase-history facets are one family (a product and its date describe the same purchases); so are the
    product levels of one kind (a category or a division of it); every other facet stands alone."""
    f = catalog.get(name)
    if f is None:
        return name
    if f.scope == "purchase":
        return "purchase"
    return f"{f.kind} products" if f.hierarchy_level else f.name
