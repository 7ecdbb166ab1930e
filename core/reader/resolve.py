"""The resolve stage: the conditions every reading part found, settled into one draft for the catalog.

Each function takes the catalog and the conditions (and the request, where words matter) and returns the
conditions to keep, plus notes where something was dropped for a reason the marketer should see: a
window that is a facet's own, the request's tier on likelihood facets, the most specific product level,
facets a hint says are implied, mutually exclusive facets, and one condition per facet and operator.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalog
from core.reader.common import STOP, _clauses, _facet_window, _level_order, _stem
from core.segment import Condition


@dataclass
class Resolved:
    """The conditions kept, and why any were dropped."""
    conditions: list[Condition]
    notes: list[str] = field(default_factory=list)


def dated_words(catalog: Catalog, conds: list[Condition], low: str) -> list[Condition]:
    """A flag or a one-word value matched by words that a dated facet's synonyms also use: the dated facet
    with its explicit window is what they meant ('expecting' + a due date; 'new members' + a join date)."""
    dated = [catalog.get(c.facet) for c in conds if c.op in ("between", "on_or_after", "within_last_days")]
    synonyms = [s.lower() for f in dated if f is not None and f.kind == "date" for s in f.synonyms]
    syns = " ".join(synonyms)
    said = {_stem(w) for w in re.findall(r"[a-z]+", low)}
    # a one-word value counts only when the rest of such a synonym is said too ('new ... members')
    words = {w for s in synonyms if {_stem(t) for t in re.findall(r"[a-z]+", s) if t not in STOP} <= said
             for w in re.findall(r"[a-z]+", s)}

    def explained(c: Condition) -> bool:
        span = c.provenance.span if c.provenance else None
        if not span:
            return False
        if c.op == "is_true":
            return span in syns
        return c.op == "in" and c.values == [v for v in c.values if v.lower() == span] and span in words
    return [c for c in conds if not explained(c)]


def measure_words(catalog: Catalog, conds: list[Condition], low: str) -> Resolved:
    """A value or flag whose words say what a facet read from a number or a date in the same clause measures:
    they and a content word beside them are that facet's own words (name, synonyms or description) — 'orders
    placed online', 'their online cart', 'saved through <programme> benefits'. Part of that facet, not a condition."""
    measured = [(c, _clause_of(low, c.provenance.start)) for c in conds if c.provenance
                and c.provenance.start is not None and c.provenance.evidence.method in ("number", "date")]
    out = Resolved([])
    for c in conds:
        p = c.provenance
        said = p is not None and p.start is not None and p.evidence.method in ("phrasebook", "exact", "synonym", "meaning") \
            and c.op in ("in", "not_in", "is_true", "is_false")
        owner = next((m for m, clause in measured if said and m is not c and clause == _clause_of(low, p.start)
                      and _describes(catalog.get(m.facet), low, p.start, p.end, clause)), None)
        if owner is None:
            out.conditions.append(c)
            continue
        out.notes.append(f"'{p.span}' says what {owner.facet} measures; no separate {c.facet} condition")
    return out


def _clause_of(low: str, pos: int) -> tuple[int, int]:
    return next(((a, b) for a, b in _clauses(low) if a <= pos < b), (0, len(low)))


def _describes(f, low: str, start: int, end: int, clause: tuple[int, int]) -> bool:
    """The words start..end, and a content word within two words of them, are all among the facet's own words."""
    if f is None:
        return False
    text = " | ".join([f.name, *f.synonyms, f.description]).lower()
    # a word listed among alternatives ('covering online, store, pickup and delivery orders') says the facet
    # spans them all, so said in a request it narrows the facet rather than describing it
    listed = {_stem(w) for pair in re.findall(r"([a-z]+)\s*(?:,|\bor\b)|(?:,|\bor\b)\s*([a-z]+)", text)
              for w in pair if w}
    own = {_stem(w) for w in re.findall(r"[a-z]+", text)} - listed
    said = {_stem(w) for w in re.findall(r"[a-z]+", low[start:end]) if w not in STOP}
    words = list(re.finditer(r"[a-z]+", low[clause[0]:clause[1]]))
    inside = [i for i, w in enumerate(words) if start <= clause[0] + w.start() < end]
    if not said or not inside or not said <= own:
        return False
    beside = words[max(0, inside[0] - 2):inside[0]] + words[inside[-1] + 1:inside[-1] + 3]
    return any(_stem(w.group(0)) in own for w in beside if w.group(0) not in STOP)


def own_windows(catalog: Catalog, conds: list[Condition]) -> Resolved:
    """'8 online orders in the past 12 months': the window belongs to the windowed facet, not to a date facet.
    Kept when another purchase condition (a product, a channel) is what the window dates."""
    windows = {c.facet: w for c in conds if (w := _facet_window(c.facet))}
    out = Resolved([])
    for c in conds:
        f = catalog.get(c.facet)
        if c.op == "within_last_days" and f is not None and f.kind == "date" and c.days and windows:
            dated = [o for o in conds if o is not c and (g := catalog.get(o.facet)) and g.scope == "purchase"]
            owner = next((n for n, w in windows.items() if abs(w - c.days) <= 0.1 * w), None)
            if owner and not dated:
                out.notes.append(f"'{c.provenance.span if c.provenance else c.days}' is {owner}'s own window; "
                                 "no separate date condition")
                continue
        if owner := _negated_owner(c, conds):
            # "haven't bought <brand> in the past 52 weeks": the window is the brand facet's own, not a gap since any visit
            out.notes.append(f"'{c.provenance.span}' is {owner}'s own window; no separate gap condition")
            continue
        out.conditions.append(c)
    return out


def _negated_owner(c: Condition, conds: list[Condition]) -> str | None:
    """The excluded windowed facet whose window a gap condition ('at least N days since') repeats."""
    if not (c.op == "between" and c.min and c.max is None and c.provenance and c.provenance.evidence.method == "date"):
        return None
    return next((o.facet for o in conds if o.op in ("not_in", "is_false") and (w := _facet_window(o.facet))
                 and abs(w - c.min) <= 0.1 * w), None)


def apply_tier(catalog: Catalog, conds: list[Condition], tier: str | None) -> list[Condition]:
    """Likelihood conditions without a tier get the request's tier, or the catalog's default one."""
    out = []
    for c in conds:
        f = catalog.get(c.facet)
        if f and f.kind == "propensity" and c.tier is None:
            c = c.model_copy(update={"tier": tier if tier in f.tiers else catalog.rules.default_tier})
        out.append(c)
    return out


def specific_product_level(catalog: Catalog, conds: list[Condition]) -> list[Condition]:
    """Keep the most specific product level named (plus the brand); parents come back by rule."""
    levels = _level_order(catalog)
    for group in ({"propensity"}, {"categorical"}):
        prod = [c for c in conds if (f := catalog.get(c.facet)) and f.kind in group and f.hierarchy_level in levels
                and c.op == "in"]
        if len(prod) < 2:
            continue
        deepest = max(levels.index(catalog.get(c.facet).hierarchy_level) for c in prod)
        drop = [c for c in prod if levels.index(catalog.get(c.facet).hierarchy_level) < deepest
                and is_ancestor_of_any(catalog, c, prod)]
        conds = [c for c in conds if c not in drop]
    return conds


def is_ancestor_of_any(catalog: Catalog, c: Condition, prod: list[Condition]) -> bool:
    """True when one of c's values is a parent (at any depth) of a value of another product condition."""
    for other in prod:
        if other is c:
            continue
        for v in c.values or []:
            for cv in other.values or []:
                if descends(catalog, cv, v):
                    return True
    return False


def descends(catalog: Catalog, child: str, parent: str, depth: int = 3) -> bool:
    """True when `child` sits under `parent` in one of the catalog's hierarchy maps, up to `depth` levels down."""
    for name, hmap in catalog.hierarchy.items():
        if isinstance(hmap, dict) and child in (hmap.get(parent) or []):
            return True
    if depth == 0:
        return False
    for name, hmap in catalog.hierarchy.items():
        if isinstance(hmap, dict):
            for mid in hmap.get(parent) or []:
                if mid != child and descends(catalog, child, mid, depth - 1):
                    return True
    return False


def implications(catalog: Catalog) -> list[tuple[str, str]]:
    """(specific, implied) pairs from hints of the form 'X implies Y'."""
    names = sorted((f.name for f in catalog.facets), key=len, reverse=True)
    out = []
    for h in catalog.vocabulary_hints:
        for m in re.finditer(r"([A-Z][\w ]+?) implies ([A-Z][\w ]+?)(?= and |,|;|\.|$)", h):
            a = next((n for n in names if m.group(1).strip().endswith(n)), None)
            b = next((n for n in names if m.group(2).strip().startswith(n)), None)
            if a and b:
                out.append((a, b))
    return out


def drop_implied(catalog: Catalog, conds: list[Condition]) -> list[Condition]:
    """A facet that a more specific facet in the draft implies (by the catalog's hints) goes."""
    names, pairs = {c.facet for c in conds}, implications(catalog)
    return [c for c in conds if not any(c.facet == implied and specific in names for specific, implied in pairs)]


def exclusive(catalog: Catalog, conds: list[Condition]) -> Resolved:
    """Of facets the rules call mutually exclusive, one stays: the one read from a number, date or range."""
    notes = []
    for m in catalog.rules.mutually_exclusive:
        present = [c for c in conds if c.facet in m.facets]
        if len({c.facet for c in present}) > 1:
            keep = max(present, key=lambda c: (c.provenance.evidence.method in ("number", "date", "range")) if c.provenance else 0)
            conds = [c for c in conds if c.facet not in m.facets or c.facet == keep.facet]
            notes.append(f"kept {keep.facet}: {m.why}")
    return Resolved(conds, notes)


def merge(conds: list[Condition]) -> list[Condition]:
    """One condition per facet and operator: the values of two 'in' (or 'not_in') conditions join; a lower and an upper
    bound make one range."""
    out: list[Condition] = []
    for c in conds:
        same = next((o for o in out if o.facet == c.facet and o.op == c.op), None)
        if same is None:
            out.append(c)
        elif c.op in ("in", "not_in"):
            vals = list(dict.fromkeys((same.values or []) + (c.values or [])))
            out[out.index(same)] = same.model_copy(update={"values": vals})
        elif c.op == "between" and (same.max is None) != (c.max is None) and (same.min is None) != (c.min is None):
            # 'at least $100 … under $500': the two ends of one range
            lo, hi = (same, c) if same.min is not None else (c, same)
            out[out.index(same)] = same.model_copy(update={"min": lo.min, "max": hi.max})
    return out
