"""Small pieces every reading stage shares: the reader's stop words and cue words, a span of the text already
read, provenance, word stems and overlaps, clauses, windowed facet names and the product tree's levels.

Kept apart from the stages so that extract, resolve and the lexical reader can all use them without
importing one another.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from core.catalog import Catalog
from core.segment import Condition, Evidence, Provenance

if TYPE_CHECKING:  # the index is passed in, never imported by the reader
    from core.retrieval import FacetIndex

STOP = set("""a an the and or but of for to in on at by with who whose that which are is was were be been being have has had
do does did it its their them they this these those from as into than then also any all some our my me we us i you your
just only very much many more most lot lots can could would should will shall may might please build find get give show
pull grab need want create make
target audience segment list people customers customer shoppers shopper buyers buyer users user members member households
household anyone everyone folks guests clients consumers promo promotion campaign event email blast send launch either way
both who've they've ve s t""".split())
AUDIENCE_WORDS = set("""people customers customer shoppers shopper buyers buyer users user members member households
household families""".split())
BASIC_STOP = STOP - AUDIENCE_WORDS
AUDIENCE = r"(?:shoppers|customers|buyers|members|households|people|users|guests|families|clients)"
NEGATION = re.compile(r"\b(excluding|exclude|except|but not|not|never|no|neither|nor|minus|without|aren't|isn't|don't|doesn't|"
                      r"haven't|hasn't|didn't|wasn't|weren't|won't|dont|doesnt|havent|hasnt|didnt|non|who are not|"
                      r"who aren't|other than|leave out|leaving out|omit|omitting|not including)\b", re.I)
# A clause that opens with one of these excludes everything it names ('excluding anyone who already bought <X>').
EXCLUDING_CLAUSE = re.compile(r"^\s*(?:(?:and|but|then|please)\s+)?(?:excluding|exclude|except|leave out|leaving out|omit|"
                              r"omitting|minus|but not|not including|without)\b", re.I)
PURCHASE_CUES = re.compile(r"\b(bought|buy|buys|buying|buyers?|purchased|purchases?|purchasers?|customers of|shopped|picked up|"
                           r"spent|orders?|ordered|stock(?:s|ed|ing)? up on|in (?:their|the|a|his|her) (?:baskets?|carts?|trolleys?))\b",
                           re.I)  # '<product> in their basket': bought it
PROPENSITY_CUES = re.compile(r"\b(likely|likelihood|propensity|interested|interest in|in the market|prospects?|affinity|"
                             r"top \d+|most likely|lookalikes?|in-market|"
                             r"(?:might|may|could|would)\s+(?:try|buy|want|like)|(?:could be\s+)?tempted by|open to)\b", re.I)
BROWSE_CUES = re.compile(r"\b(browsed|browsing|viewed|looked at|window shop\w*)\b", re.I)
# Everyday English verbs for visiting a store, said with no catalog word ('came in', 'stopped by', 'haven't been in
# for 5 weeks'): facet choosers read them as the word 'visit'.
VISIT_VERBS = re.compile(r"\b(?:(?:came|come|comes|coming|stopped|stop|stops|stopping|dropped|drop|drops|dropping|popped|pop|"
                         r"pops|popping|walked|walk|walks|swung|swing|swings)\s+(?:in|by)|been\s+in(?=\s+(?:for|since|"
                         r"lately|recently|over|in)\b|\s*(?:[,.;]|$)))\b")
_CUE_WORDS = frozenset(re.findall(r"[a-z]+", " ".join(rx.pattern for rx in (NEGATION, PURCHASE_CUES, PROPENSITY_CUES, BROWSE_CUES))))


@dataclass
class Span:
    """A stretch of the request already read by some part: later parts skip it."""
    start: int
    end: int


@dataclass
class Ambiguity:
    """A genuinely ambiguous phrase with readings to choose from (the first is the default)."""
    phrase: str
    question: str
    options: list[tuple[str, list[Condition]]]  # (label, conditions to add under that reading)
    replaces: list[str] = field(default_factory=list)  # facets the chosen reading replaces


@dataclass
class Found:
    """What one reader step read: its conditions, the spans it took, its questions, notes for the marketer,
    and the tier."""
    conditions: list[Condition] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    ambiguities: list[Ambiguity] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tier: str | None = None

    def ask(self, amb: Ambiguity) -> None:
        """Add a question and read its default option meanwhile."""
        self.ambiguities.append(amb)
        self.conditions.extend(amb.options[0][1])


@dataclass(frozen=True)
class Context:
    """What a reading step reads against: the tenant's catalog, its index and sample, and the request as written
    (capitals kept, same offsets as the lower-cased text the steps read)."""
    catalog: Catalog
    index: "FacetIndex | None" = None
    quantiles: Callable[[str, list[float]], list[float]] | None = None
    written: str = ""


def _busy(a: int, b: int, taken: list[Span], out: Found) -> bool:
    """True when a..b overlaps a span read before this step or earlier in it."""
    return _overlaps(a, b, taken) or _overlaps(a, b, out.spans)


_CACHE: dict[tuple[str, int], tuple[Catalog, object]] = {}


def per_catalog(fn):
    """Memoise a catalog-derived table for the catalog object's lifetime."""
    def wrapped(catalog: Catalog):
        key = (fn.__name__, id(catalog))
        hit = _CACHE.get(key)
        if hit is None or hit[0] is not catalog:
            hit = _CACHE[key] = (catalog, fn(catalog))
        return hit[1]
    wrapped.__name__ = fn.__name__
    return wrapped


def _clauses(low: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r",(?!\d)|;| - |\bwho\b|\bwhose\b|\bbut\b|\bexcluding\b|\bminus\b|\bwith\b|\band (?:who|are|have|can)\b", low):
        out.append((start, m.start()))
        start = m.start()
    out.append((start, len(low)))
    return out


def _clause_at(low: str, pos: int) -> str:
    for a, b in _clauses(low):
        if a <= pos < b:
            return low[a:b]
    return low


def _find(phrase: str, low: str, taken: list[Span]) -> tuple[int, int] | None:
    """The phrase, singular or plural in its last word ('weekdays' finds 'weekday evenings'), not yet taken."""
    last = phrase.split()[-1] if phrase.split() else ""
    if last.endswith("s") and not last.endswith("ss") and len(last) > 4:
        phrase = phrase[:-1]
    body = re.sub(r"(?<=\\ )(?:the|their|our|a)(?=\\ )", "(?:the|their|our|a)", re.escape(phrase))  # 'to their store' ~ 'to the store'
    for m in re.finditer(rf"(?<![\w']){body}(?:s)?(?![\w])", low.replace("-", " ")):
        if not _overlaps(m.start(), m.end(), taken):
            return (m.start(), m.end())
    return None


def _find_apart(phrase: str, low: str, taken: list[Span]) -> tuple[int, int] | None:
    """A two-word phrase with a name between its words ('best <brand> prospects'); only the words are taken."""
    words = phrase.split()
    if len(words) != 2 or any(w in STOP for w in words):
        return None
    m = re.search(rf"(?<![\w']){re.escape(words[0])}\s+(?:[a-z0-9&'-]+\s+){{1,3}}?{re.escape(words[1])}s?(?![\w])", low)
    if m and not _overlaps(m.start(), m.start() + len(words[0]), taken):
        return (m.start(), m.start() + len(words[0]))
    return None


def with_meanings(text: str) -> str:
    """The text, plus the word an everyday verb in it means ('came in' -> 'visit'), for choosing a facet by its words."""
    return f"{text} visit" if VISIT_VERBS.search(text) else text


def _overlaps(a: int, b: int, taken: list[Span]) -> bool:
    return any(s.start < b and a < s.end for s in taken)


def _stem(w: str) -> str:
    """A crude English stem that makes a word's forms meet: 'stores' / 'store' / 'stored', 'purchases' /
    'purchased' (a final 'e' goes too, since '-es' and '-ed' take it with them)."""
    for suf in ("ing", "ers", "er", "ed", "es", "s"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            w = w[: -len(suf)]
            break
    return w[:-1] if len(w) >= 4 and w.endswith("e") else w


def _overlap(text: str, target: str, stop: set[str] = STOP) -> float:
    a = {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if w not in stop}
    b = {_stem(w) for w in re.findall(r"[a-z]+", target.lower()) if w not in stop}
    return float(len(a & b))


def _prov(low: str, a: int, b: int, method: str, matched: str | None = None, alternatives: list[str] | None = None,
          note: str = "") -> Provenance:
    return Provenance(span=low[a:b].strip(), start=a, end=b, alternatives=alternatives or [], note=note,
                      evidence=Evidence(method=method, matched_synonym=matched))


def _facet_window(name: str) -> int | None:
    """Days covered by a windowed facet name: '12M' 365, '90D' 90, '13 Weeks' 91, '6 Months' 180."""
    m = re.search(r"(\d+)\s*(M|D|Weeks?|Months?)\b", name)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    if unit == "m":
        return 365 if n == 12 else n * 30
    if unit == "d":
        return n
    if unit.startswith("week"):
        return n * 7
    return n * 30


def _round_sig(x: float) -> float:
    """Two significant figures: 1267.8 -> 1300, 26 -> 26, 0.37 -> 0.37."""
    if x <= 0:
        return 0
    mag = 10 ** (len(str(int(x))) - 2) if x >= 100 else 1
    v = round(x / mag) * mag
    return int(v) if float(v).is_integer() else round(v, 2)


def _product_levels(catalog: Catalog) -> frozenset[str]:
    """Hierarchy levels that describe products: the levels a propensity facet scores."""
    return frozenset(f.hierarchy_level for f in catalog.facets if f.kind == "propensity" and f.hierarchy_level)


@per_catalog
def _level_order(catalog: Catalog) -> list[str]:
    """The product tree's levels, broadest first, from the catalog's parent -> children maps that are a tree
    (each child under one parent); a many-to-many map (brands -> divisions) cuts across the tree."""
    values = {lvl: {v for f in catalog.facets if f.hierarchy_level == lvl for v in f.value_list}
              for lvl in _product_levels(catalog)}
    parent: dict[str, str] = {}
    for hmap in catalog.hierarchy.values():
        if not isinstance(hmap, dict) or not hmap:
            continue
        kids = [c for cs in hmap.values() for c in (cs or [])]
        if len(kids) != len(set(kids)):
            continue
        hi = next((lvl for lvl, vs in values.items() if set(hmap) <= vs), None)
        lo = next((lvl for lvl, vs in values.items() if set(kids) <= vs), None)
        if hi and lo and hi != lo:
            parent[lo] = hi
    def depth(lvl: str) -> int:
        return 1 + depth(parent[lvl]) if lvl in parent else 0
    tree = set(parent) | set(parent.values())
    if not tree:  # no tree: the product levels that are never the parent side of a map
        tree = {lvl for lvl in values if not any(set(h) <= values[lvl] for h in catalog.hierarchy.values()
                                                  if isinstance(h, dict) and h)}
    return sorted(tree, key=lambda lvl: (depth(lvl), lvl))
