"""The ground stage for products and amounts said without numbers: 'baby items' (a word naming products at
several levels), 'a kayak' (an everyday product word the catalog does not spell, read by meaning from the
index), 'frequent shoppers' and 'spend a lot' (a numeric facet without a number), 'our heaviest wine buyers'
(no measure of how much at all).

Steps take the tenant's `Context`, the lower-cased request and the spans and conditions read before them,
and return what they `Found`.
"""
from __future__ import annotations

import re

from core.catalog import Facet
from core.reader import lexicon, questions, resolve
from core.reader.common import (BROWSE_CUES, PROPENSITY_CUES, PURCHASE_CUES, STOP, _CUE_WORDS, Ambiguity, Context, Found,
                                Span, _busy, _clause_at, _clauses, _level_order, _overlaps, _prov, _stem)
from core.reader.cues import facet_fit, intent, negated
from core.reader.account import Use
from core.reader.lexical import GENERIC_NOUNS, VAGUE_NOUNS, facets_for
from core.segment import Condition
from core.text.normalise import is_foreign, norm

GROUND_MIN = 0.5      # cosine a product word must reach with its nearest value to be read as it...
GROUND_MARGIN = 0.05  # ...and values closer than this to the nearest are offered as a question
WEAK_GROUND_MIN = 0.65  # ...or this, when only '<word> shoppers / fans' says it is a product at all
INTENSE = frozenset("heavy heavier heaviest big bigger biggest avid".split())
_IN_BASKET = re.compile(r"\s+in\s+(?:their|the|a|his|her)\s+(?:baskets?|carts?|trolleys?)\b")
_VAGUE = re.compile(r"\b(frequent|heavy|heavier|heaviest|big|bigger|biggest|regular|avid)\s+(\w+)|"
                    r"\b([a-z]+)\s+(?:lovers|fans|enthusiasts|junkies)\b|"
                    r"\b(spend|spends|spent|spending|buy|shop)\s+(a lot|lots|heavily|big|often)(?:\s+on\s+(\w+))?")


def vague_amounts(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> tuple[Found, list[Span]]:
    """'frequent shoppers', 'spend a lot on groceries': a numeric facet without a number, asked how much. Also
    returns the intensity words ('heaviest') no numeric facet measures, for `intensity` once the rest is read."""
    out, intense = Found(), []
    have = {c.facet for c in conds}
    for m in _VAGUE.finditer(low):
        if _busy(m.start(), m.end(), taken, out):
            continue
        words = " ".join(w for w in m.groups() if w)
        cands = []
        for f in ctx.catalog.active_facets:
            if f.kind != "numeric" or f.name in have:
                continue
            text = " ".join([f.name, *f.synonyms]).lower()
            score = sum(1 for w in words.split() if len(w) > 3 and (w[:6] in text or _stem(w) in text))
            if score:
                cands.append((score, f))
        if not cands:
            if m.group(1) in INTENSE:  # 'our heaviest pharmacy customers': no measure of how much
                intense.append(Span(m.start(1), m.end(1)))
            continue
        f = max(cands, key=lambda t: t[0])[1]
        if amb := questions.vague_amount(ctx, f, m.group(0), low, Span(m.start(), m.end())):
            out.spans.append(Span(m.start(), m.end()))
            out.ask(amb)
    return out, intense


def intensity(ctx: Context, low: str, words: list[Span], taken: list[Span], conds: list[Condition]) -> Found:
    """'our heaviest wine buyers': the catalog has the buyers but no measure of how much, so ask whether the
    buyers alone will do, or the buyers among the top spenders."""
    out = Found()
    for w in words:
        read = [c for c in conds if c.provenance and c.provenance.start is not None
                and w.end < c.provenance.start <= w.end + 2]
        if not read or _busy(w.start, w.end, taken, out):
            continue
        out.spans.append(Span(w.start, w.end))
        out.ambiguities.append(questions.intensity_without_measure(ctx, low[w.start:w.end], read[0]))
    return out


def product_words(ctx: Context, low: str, taken: list[Span]) -> Found:
    """'baby items', 'kids' stuff': a word that names products at several levels — ask which."""
    out = Found()
    levels = _level_order(ctx.catalog)
    for m in re.finditer(rf"\b([a-z]+)(?:'s|s')?\s+{VAGUE_NOUNS}\b", low):
        word = _stem(m.group(1))
        if _busy(m.start(), m.end(), taken, out) or m.group(1) in STOP:
            continue
        cue = intent(low[max(0, m.start() - 70):m.start()], _clause_at(low, m.start()))
        found: list[tuple[int, Facet, str]] = []
        for f in ctx.catalog.active_facets:
            if f.hierarchy_level not in levels or facet_fit(f, cue, "", ctx.catalog) < 4:
                continue
            for v in f.value_list:
                names = [v, *f.value_synonyms.get(v, [])]
                if any(word in {_stem(t) for t in re.findall(r"[a-z]+", n.lower())} for n in names):
                    found.append((levels.index(f.hierarchy_level), f, v))
        if not found:
            continue
        found.sort(key=lambda t: t[0])
        out.spans.append(Span(m.start(), m.end()))
        prov = _prov(low, m.start(), m.end(), "synonym", matched=m.group(0))
        op = "not_in" if negated(low, m.start()) else "in"
        opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op=op, values=[v], provenance=prov)]) for _, f, v in found[:3]]
        if len({v for _, _, v in found}) > 1:
            out.ambiguities.append(Ambiguity(phrase=m.group(0), question=f"Which products do you mean by '{m.group(0)}'?",
                                             options=opts, replaces=[f.name for _, f, _ in found[:3]]))
        out.conditions.extend(opts[0][1])
    return out


def by_meaning(ctx: Context, low: str, taken: list[Span]) -> Found:
    """Everyday product words the catalog does not spell ('a kayak', 'sirloin'): the product value nearest
    in meaning, from the index, when one value is clearly nearest; a question when two are close."""
    out = Found()
    levels = _level_order(ctx.catalog)
    if ctx.index is None or not levels:
        return out
    spans = product_phrases(low, taken, lexicon.facet_words(ctx.catalog))
    if not spans:
        return out
    reps = {lvl: next(f.name for f in ctx.catalog.active_facets if f.hierarchy_level == lvl) for lvl in levels}
    hits = ctx.index.nearest_values([low[a:b] for a, b, _ in spans], list(reps.values()), k=3)
    for (a, b, weak), cands in zip(spans, hits):
        if _busy(a, b, taken, out):
            continue
        if not cands or cands[0].score < GROUND_MIN:
            if amb := foreign_product(ctx, low[a:b]):
                out.ambiguities.append(amb)
            continue
        if weak and cands[0].score < WEAK_GROUND_MIN:
            continue  # '<word> shoppers' names products only when the word is plainly one ('lunchtime' is not)
        near = [cands[0]] + [h for h in cands[1:] if cands[0].rank - h.rank < GROUND_MARGIN and h.value != cands[0].value]
        # A value and its own parent are one reading: keep the more specific (the category, not its division).
        near = [h for h in near if not any(o is not h and resolve.descends(ctx.catalog, o.value, h.value) for o in near)]
        phrase = low[a:b]
        picks = [facets_for(ctx, norm(h.value), "value", ctx.catalog.get(h.facet), low, a)[:1] for h in near]
        picks = [p[0] for p in picks if p]
        if not picks:
            continue
        out.spans.append(Span(a, b))
        opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op="not_in" if negated(low, a) else "in", values=[v],
                                              provenance=_prov(low, a, b, "meaning", matched=v, note=_meaning_note(h)))])
                for (f, v), h in zip(picks, near)]
        if len(opts) > 1:
            out.ambiguities.append(Ambiguity(phrase=phrase, question=f"Which products do you mean by '{phrase}'?",
                                             options=opts, replaces=[f.name for f, _ in picks]))
        out.conditions.extend(opts[0][1])
    return out


def _meaning_note(hit) -> str:
    if hit.matched_synonym:
        return f"nearest in meaning to '{hit.matched_synonym}', sold under {hit.value} ({hit.score:.2f})"
    return f"nearest in meaning ({hit.score:.2f})"


def foreign_product(ctx: Context, phrase: str) -> Ambiguity | None:
    """A bought word that is neither English nor the catalog's ('zapatos'): ask, never drop it silently."""
    words = re.findall(r"[a-z]{3,}", phrase)
    known = lexicon.known_words(ctx.catalog)
    if not words or not all(is_foreign(w) and w not in known for w in words):
        return None
    return questions.build_without(phrase, f"The catalog has no product called '{phrase}'. Build the segment without it?")


def product_phrases(low: str, taken: list[Span], facet_words: frozenset[str]) -> list[tuple[int, int, bool]]:
    """Unread runs of content words that a purchase, likelihood or browsing cue governs ('bought [sirloin]',
    '[flower] buyers'), at most three words each; words of facet names ('store', 'aisle') are not products."""
    out = []
    for a, b in _clauses(low):
        clause = low[a:b]
        cues = [m.end() for rx in (PURCHASE_CUES, PROPENSITY_CUES, BROWSE_CUES) for m in rx.finditer(clause)]
        run: list[re.Match] = []
        for w in list(re.finditer(r"[a-z][a-z']+", clause)) + [None]:
            free = w is not None and w.group(0) not in STOP and w.group(0) not in _CUE_WORDS \
                and not _overlaps(a + w.start(), a + w.end(), taken) and len(w.group(0)) >= 3
            if free:
                run.append(w)
                continue
            # A facet's word left unread can qualify a product ('dog food'), but is never the product itself.
            while run and run[-1].group(0) in facet_words:
                run.pop()
            if run and len(run) <= 3 and not all(r.group(0) in GENERIC_NOUNS for r in run):
                s_, e_ = run[0].start(), run[-1].end()
                buyer_after = w is not None and re.match(r"(buyers?|shoppers|purchasers|lovers|fans)\b", w.group(0))
                in_basket = bool(_IN_BASKET.match(clause, e_))  # '<product> in their basket' is a bought product
                if any(c <= s_ for c in cues) or buyer_after or in_basket:
                    weak = not any(c <= s_ for c in cues) and not in_basket \
                        and not re.match(r"(buyers?|purchasers)\b", w.group(0))
                    out.append((a + s_, a + e_, weak))
            run = []
    return out


def generic_nouns_said(low: str, conds: list[Condition]) -> list[Use]:
    """A generic noun right after a product condition's words ('<brand> merchandise', 'pet supplies'): part of
    that condition, not a word left unused."""
    out = []
    for c in conds:
        p = c.provenance
        if p is None or p.end is None or not c.values:
            continue
        if m := re.match(r"\s+([a-z]+)\b", low[p.end:]):
            if m.group(1) in GENERIC_NOUNS:
                out.append(Use(start=p.end + m.start(1), end=p.end + m.end(1), became=c.render()))
    return out
