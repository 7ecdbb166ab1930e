"""Split a multi-audience request into cohort texts plus the clauses every cohort shares."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalog import Catalog

_CUE = re.compile(r"\b(likely to (?:buy|try|shop)|likely|most likely|propensity for|interested in|bought|buyers? of|"
                  r"purchased|shopped)\b", re.I)


@dataclass
class CohortSplit:
    cohorts: list[str]
    shared: list[str] = field(default_factory=list)


def split_cohorts(text: str, catalog: Catalog) -> CohortSplit | None:
    """Two unrelated audiences joined by 'or' become two cohorts; 'Texas or Florida' stays one."""
    body = re.sub(r"^[^:]{0,60}:\s*", "", text.strip()) if re.match(r"^[^:]{0,60}:", text) else text.strip()
    explicit = re.search(r",\s*or\s+|\bor\s+(?=anyone\b)|\bor\s+(?=everyone\b)", body)
    cut = explicit or _paired_or(body, catalog)
    if cut is None:
        return None
    left, right = body[: cut.start()].strip(" ,"), body[cut.end():].strip(" ,")
    shared: list[str] = []
    right, suffix = _split_suffix(right, catalog)
    if suffix:
        shared.append(suffix)
    prefix = "" if explicit else _shared_prefix(left, catalog)
    if prefix and not _CUE.search(right[: max(0, len(right) // 2)]):
        right = f"{prefix} {right}"
    if not left or not right:
        return None
    return CohortSplit(cohorts=[left, right], shared=shared)


def _mentions(text: str, catalog: Catalog) -> list[tuple[int, int, str, str]]:
    """(start, end, facet level, value) of product values named in the text."""
    out = []
    low = text.lower()
    for f in catalog.active_facets:
        if not f.hierarchy_level or f.kind not in ("propensity", "categorical"):
            continue
        for v in f.value_list:
            for name in [v, *f.value_synonyms.get(v, [])]:
                if len(name) < 3:
                    continue
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
