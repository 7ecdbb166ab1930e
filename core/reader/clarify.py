"""Questions when the reading is unsure: options are valid condition sets built from the catalog."""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.catalog import Catalog, Facet
from core.errors import WorkbenchError
from core.segment import Condition

MAX_OPTIONS = 3


class NothingGrounded(WorkbenchError):
    """No phrase of the request names a facet and no facet is near it: the marketer must rephrase."""


@dataclass(frozen=True)
class Option:
    """One answer the marketer can pick: a plain label and the conditions it adds."""
    label: str
    conditions: tuple[Condition, ...]


def readable_content_words(text: str, stop: set[str], known: frozenset[str]) -> list[str]:
    """Words that could describe an audience: not stop or whole-audience words, and real words (English or the
    tenant's). With none ("everyone", "all customers", a keyboard mash) there is nothing to ask about."""
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in stop]
    return [w for w in words if w in known or (w.endswith("s") and w[:-1] in known)]


def nearest_facet_options(facets: list[str], catalog: Catalog, phrase: str) -> list[Option]:
    """Options from the facets retrieval found nearest to a phrase that grounded to nothing.

    A flag becomes 'is true'; a listed facet the values whose words the phrase uses. Facets that need
    a number or a date the phrase does not give are left out rather than given an invented one.
    """
    words = {w for w in re.findall(r"[a-z]+", phrase.lower()) if len(w) > 2}
    out: list[Option] = []
    for name in facets[:MAX_OPTIONS]:  # only the nearest few: a far facet is no reading of the phrase
        f = catalog.get(name)
        if f is None or f.deprecated:
            continue
        cond = _condition(f, words, catalog)
        if cond is not None:
            out.append(Option(label=cond.render(), conditions=(cond,)))
        if len(out) >= MAX_OPTIONS:
            break
    return out


def _condition(f: Facet, words: set[str], catalog: Catalog) -> Condition | None:
    if f.kind == "boolean":
        return Condition(facet=f.name, op="is_true")
    if f.kind in ("categorical", "propensity") and f.value_list:
        picked = [v for v in f.value_list
                  if words & {w for n in [v, *f.value_synonyms.get(v, [])] for w in re.findall(r"[a-z]+", n.lower())}]
        if picked:
            tier = catalog.rules.default_tier if f.kind == "propensity" else None
            return Condition(facet=f.name, op="in", values=picked[:3], tier=tier)
    return None


MAX_VALUE_OPTIONS = 6


def facet_value_options(f: Facet, catalog: Catalog) -> list[Option]:
    """A facet picked with no value named: a flag as itself, a listed facet one option per value (the catalog's
    order). Facets that need a number or a date are left out: no threshold is invented for them."""
    if f.kind == "boolean":
        return [Option(label=f.name, conditions=(Condition(facet=f.name, op="is_true"),))]
    if f.kind in ("categorical", "propensity") and f.value_list:
        tier = catalog.rules.default_tier if f.kind == "propensity" else None
        conds = [Condition(facet=f.name, op="in", values=[v], tier=tier) for v in f.value_list[:MAX_VALUE_OPTIONS]]
        return [Option(label=c.render(), conditions=(c,)) for c in conds]
    return []
