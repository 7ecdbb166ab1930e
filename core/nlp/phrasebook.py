"""A tenant phrasebook read from the catalog's vocabulary hints: phrase -> conditions or tier.

Hints are written as `'phrase' / 'phrase' = Facet Value and Value` (or `is_true`, `min N`, a tier).
Reading them keeps each tenant's conventions in its own data: no phrase is coded here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalog, Facet
from core.text.normalise import norm


@dataclass
class Entry:
    phrase: str
    conditions: list[dict] = field(default_factory=list)  # spec-shaped conditions
    tier: str | None = None
    source: str = ""


_norm = norm


def _expand(raw: str) -> list[str]:
    """`'most / highly / very likely'` -> most likely, highly likely, very likely."""
    parts = [p.strip() for p in raw.split("/") if p.strip()]
    if len(parts) > 1 and all(" " not in p for p in parts[:-1]) and " " in parts[-1]:
        tail = parts[-1].split(" ", 1)[1]
        return [f"{p} {tail}" for p in parts[:-1]] + [parts[-1]]
    return parts


def _quoted(text: str) -> list[str]:
    out: list[str] = []
    for q in re.findall(r"'([^']+)'", text.replace("’", "'")):
        out.extend(_expand(q))
    return out


def _lhs_phrases(lhs: str, catalog: Catalog) -> list[str]:
    quoted = _quoted(lhs)
    if quoted:
        return quoted
    bare = re.sub(r"^.*?[:(]\s*", "", lhs).strip(" .")
    if not bare or len(bare.split()) > 3:
        return []
    values = {v.lower() for f in catalog.facets for v in f.value_list}
    return [p.strip() for p in re.split(r"\s*/\s*|\s*,\s*", bare) if p.strip() and p.strip().lower() not in values]


def _first_tier(rhs: str, tiers: set[str]) -> str | None:
    hits = [(m.start(), t) for t in tiers for m in [re.search(rf"\b{re.escape(t)}\b", rhs)] if m]
    return min(hits)[1] if hits else None


def _zip_alternatives(phrases: list[str], conds: list[dict], rhs: str) -> list[tuple[str, list[dict]]]:
    """`'moms' / 'dads' = Gender Female / Male plus ...`: the n-th phrase takes the n-th value."""
    first = conds[0] if conds else None
    if first and "/" in rhs and len(phrases) > 1 and len(first.get("values") or []) == len(phrases):
        return [(ph, [{**first, "values": [v]}, *conds[1:]]) for ph, v in zip(phrases, first["values"])]
    return [(ph, conds) for ph in phrases]


def build_phrasebook(catalog: Catalog) -> list[Entry]:
    """Entries parsed from every hint; longest phrase first."""
    entries: dict[str, Entry] = {}
    names = sorted((f.name for f in catalog.facets), key=len, reverse=True)
    tiers = {t for f in catalog.facets for t in f.tiers}
    for hint in catalog.vocabulary_hints:
        current: Facet | None = _first_facet(hint, names, catalog)
        carry: list[str] = []
        for clause in re.split(r";|(?<=[a-z0-9)])\.\s|\(|\)|,(?=[^,=;]*=)", hint):
            if "=" not in clause:
                if "restricts nothing" in clause:
                    for ph in _quoted(clause):
                        entries.setdefault(_norm(ph), Entry(phrase=_norm(ph), source=hint))
                carry = _quoted(clause)
                continue
            lhs, rhs = clause.split("=", 1)
            phrases = carry + _lhs_phrases(lhs, catalog)
            carry = []
            if not phrases:
                continue
            tier = _first_tier(rhs, tiers)
            conds, current = _rhs_conditions(rhs, names, catalog, current)
            conds = _zip_alternatives(phrases, conds, rhs)
            for ph, cs in conds:
                key = _norm(ph)
                if len(key) < 3 or key in entries:
                    continue
                if cs:
                    entries[key] = Entry(phrase=key, conditions=cs, source=hint)
                elif tier:
                    entries[key] = Entry(phrase=key, tier=tier, source=hint)
    return sorted(entries.values(), key=lambda e: -len(e.phrase))


def _first_facet(text: str, names: list[str], catalog: Catalog) -> Facet | None:
    """The facet named earliest in the text."""
    hits = [(text.index(n), -len(n), n) for n in names if n in text]
    return catalog.get(min(hits)[2]) if hits else None


def _rhs_conditions(rhs: str, names: list[str], catalog: Catalog, current: Facet | None) -> tuple[list[dict], Facet | None]:
    """Conditions described by the right-hand side of a hint clause."""
    spots: list[tuple[int, Facet]] = []
    taken: list[tuple[int, int]] = []
    for n in names:
        for m in re.finditer(re.escape(n), rhs):
            if not any(s <= m.start() < e for s, e in taken):
                taken.append((m.start(), m.end()))
                spots.append((m.start(), catalog.get(n)))
    spots.sort(key=lambda s: s[0])
    if not spots and current is not None:
        spots = [(0, current)]
    conds: list[dict] = []
    for i, (pos, facet) in enumerate(spots):
        end = spots[i + 1][0] if i + 1 < len(spots) else len(rhs)
        seg = rhs[pos:end]
        c = _condition(facet, seg)
        if c:
            conds.append(c)
    return conds, (spots[-1][1] if spots else current)


def _condition(facet: Facet, text: str) -> dict | None:
    low = text.lower()
    if facet.kind == "boolean":
        return {"facet": facet.name, "op": "is_false" if "is_false" in low or " false" in low else "is_true"}
    if facet.kind == "numeric":
        lo = re.search(r"\bmin\s+(\d+(?:\.\d+)?)", low)
        hi = re.search(r"\bmax\s+(\d+(?:\.\d+)?)", low)
        if not (lo or hi):
            return None
        c = {"facet": facet.name, "op": "between"}
        if lo:
            c["min"] = _number(lo.group(1))
        if hi:
            c["max"] = _number(hi.group(1))
        return c
    if facet.kind in ("categorical", "propensity"):
        values = _values_in(facet, text)
        if values:
            return {"facet": facet.name, "op": "in", "values": values}
    return None


def _values_in(facet: Facet, text: str) -> list[str]:
    """Values named in text, in order; `A to B` spans an ordered value list."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for v in sorted(facet.value_list, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w$]){re.escape(v)}(?![\w])", text):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                taken.append((m.start(), m.end()))
                found.append((m.start(), v))
    found.sort()
    values = [v for _, v in found]
    rng = re.search(r"(\S+(?: \S+)?) to (\S+)", text)
    if len(values) == 2 and rng and " to " in text:
        order = facet.value_list
        a, b = order.index(values[0]), order.index(values[1])
        if a < b:
            values = order[a:b + 1]
    return values


def _number(s: str) -> float | int:
    f = float(s)
    return int(f) if f.is_integer() else f
