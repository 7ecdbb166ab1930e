"""The ground stage, by spelling: phrases the catalog itself writes — phrasebook entries, facet names and
synonyms, value names and aliases, named value groups, a value's first word, misspellings of them — read as
scored candidates and resolved by context (the intent cue, the facets the request names).

Every step takes the tenant's `Context`, the lower-cased request, the spans read before it and (when it
needs them) the conditions read so far, and returns what it `Found`; nothing is kept between requests.
"""
from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from core.catalog import Facet
from core.reader import lexicon, questions
from core.reader.common import (AUDIENCE, NEGATION, STOP, Ambiguity, Context, Found, Span, _busy, _clause_at, _clauses, _find,
                                _overlap, _product_levels, _prov, _stem)
from core.reader.cues import facet_fit, intent, modal, negate, negated, phrasal_verb, switched_off
from core.reader.questions import QUALITY, SCALE_NOUNS
from core.segment import Condition
from core.text.levels import degrees, ladder, stages
from core.text.places import state_names
from core.text.normalise import is_common_english, norm

Candidate = tuple[Facet, "str | None"]  # a facet, and the value a phrase names on it (None: the facet itself)
FUZZY_MIN = 88  # rapidfuzz ratio a misspelled value name must reach
LEVEL_NOUNS = r"(?:level|tier|status|rewards|loyalty|card|club|membership|members?|cardholders?)"
VAGUE_NOUNS = r"(?:stuff|items|things|products|gear|goods)"
GENERIC_PLURALS = frozenset(re.findall(r"[a-z]+", VAGUE_NOUNS))  # 'goods', 'items': nouns, not a value's plural
# Nouns that say 'products' without saying which ('<product> equipment', '<product> supplies'): never a product
# or a concept of their own; right after a product they are part of it.
GENERIC_NOUNS = GENERIC_PLURALS | frozenset("equipment supplies merchandise item product thing".split())


def phrasebook_entries(ctx: Context, low: str, taken: list[Span]) -> Found:
    """The tenant's phrasebook phrases ('lapsed', 'close to their store') as the conditions its hints give."""
    out = Found()
    for e in lexicon.phrasebook(ctx.catalog):
        if not e.conditions and e.tier:
            continue
        m = _find(e.phrase, low, [*taken, *out.spans])
        if not m:
            continue
        if _propensity_value(ctx, e.conditions) and intent(low[max(0, m[0] - 70):m[0]], _clause_at(low, m[0])) == "propensity":
            continue  # 'likely to try delivery': the propensity facet, read by the lexical pass
        if _value_named_before(ctx, e.conditions, low, m[0]):
            continue  # '<tier> members': the value named wins over what 'members' alone means
        if _inside_longer_name(ctx, low, *m):
            continue  # '<word> at home' named by the catalog is more than the hint's '<word>'
        out.spans.append(Span(*m))
        neg = negated(low, m[0])
        for c in e.conditions:
            cond = Condition.model_validate(c)
            if neg:
                cond = negate(cond)
            cond.provenance = _prov(low, m[0], m[1], "phrasebook", matched=e.phrase)
            out.conditions.append(cond)
    return out


def _inside_longer_name(ctx: Context, low: str, start: int, end: int) -> bool:
    """A longer facet or value name of the catalog covers the stretch."""
    for phrase, _, _ in lexicon.table(ctx.catalog):
        if len(phrase) <= end - start:
            return False
        if phrase in low and any(a <= start and end <= a + len(phrase)
                                 for a in (m.start() for m in re.finditer(rf"(?<![\w']){re.escape(phrase)}(?![\w])", low))):
            return True
    return False


def _value_named_before(ctx: Context, conditions: list[dict], low: str, start: int) -> bool:
    facets = {c.get("facet") for c in conditions if c.get("op") == "in"}
    prev = re.findall(r"[a-z]+", low[max(0, start - 25):start])[-1:]
    return bool(prev) and any(f.name in facets for f, _ in lexicon.vocab(ctx.catalog).get(prev[0], []))


def _propensity_value(ctx: Context, conditions: list[dict]) -> bool:
    if len(conditions) != 1 or conditions[0].get("op") != "in":
        return False
    vals = set(conditions[0].get("values") or [])
    return any(f.kind == "propensity" and vals & set(f.value_list) for f in ctx.catalog.active_facets)


def catalog_names(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> Found:
    """Facet names and synonyms, value names and aliases, as the catalog spells them (plural or singular)."""
    out = Found()
    caps = lexicon.short_capitals(ctx.catalog)
    for phrase, facet_name, kind in lexicon.table(ctx.catalog):
        if phrase not in low:
            continue  # cheap substring test before the word-boundary regex
        for m in re.finditer(rf"(?<![\w']){re.escape(phrase)}(?:e?s)?(?![\w])", low):
            at = Span(m.start(), m.end())
            if _busy(at.start, at.end, taken, out) or (m.group(0) != phrase and m.group(0) in STOP):
                continue
            written = ctx.written[at.start:at.end]
            if phrase in caps and (written != written.upper() or m.group(0) != phrase):
                continue  # capitalised short aliases ('IN', 'OR', 'TV') count only when written in capitals, never as plurals
            if phrase in caps and phrase in STOP and not _listed_place(ctx.written[:at.start]):
                continue  # 'buyers OR anyone': a function word in capitals is the word, not a place, unless a place stands there
            facet = ctx.catalog.get(facet_name)
            if kind == "value" and (phrasal_verb(phrase, low, at.end) or m.group(0) in GENERIC_PLURALS
                                    or modal(phrase, low, at.end)):
                continue  # '<verb> up on <product>' is the verb, not a value named '<Verb> Up'; 'goods' is no value's plural
            if kind == "value" and names_chosen(phrase, facet_name, [*conds, *out.conditions]):
                out.spans.append(at)
                continue  # '<service>' beside a count of '<service> visits' names that count, not the service itself
            if kind == "facet" and not _best_holder(ctx, phrase, facet, low, at.start):
                continue  # another facet with this name reads the phrase better here
            cands = facets_for(ctx, phrase, kind, facet, low, at.start)
            if not cands or not _plausible(ctx, cands[0], phrase, low, at.start):
                continue
            holder = _boolean_named(ctx, phrase, low, at.start) if kind == "value" else None
            if holder is not None:
                cands = [(holder, None)]
            out.spans.append(at)
            emit(ctx, low, at, phrase, kind, cands, out)
    return out


_WHEN = re.compile(r"\b(?:since|last|past|within|recent(?:ly)?|ago|this (?:week|month|year)|\d+\s*(?:days?|weeks?|months?|years?))\b")


def _best_holder(ctx: Context, phrase: str, facet: Facet, low: str, pos: int) -> bool:
    """Of the facets sharing a name, a date facet reads it when the clause says when, any other facet otherwise."""
    names = lexicon.shared_facet_phrases(ctx.catalog).get(phrase)
    if not names:
        return True
    dated = bool(_WHEN.search(_clause_at(low, pos)))
    fits = [n for n in names if (ctx.catalog.get(n).kind == "date") == dated] or names
    return facet.name == fits[0]


def _same_name_elsewhere(ctx: Context, low: str, phrase: str, cands: list[Candidate], neg: bool) -> Ambiguity | None:
    """'<Value> customers': the name of a value of two plain facets (a region and a time zone), neither facet
    named in the request: ask which (the agent drops the question when both reach the same customers)."""
    facet, value = cands[0]
    products = _product_levels(ctx.catalog)
    plain = lambda f: f.kind == "categorical" and not f.deprecated and f.hierarchy_level not in products  # noqa: E731
    same = [(f, v) for f, v in cands if v and v.lower() == phrase and plain(f)]
    if len(same) < 2 or same[0][0] is not facet:
        return None
    rest = low.replace(phrase, " ")
    if any(_overlap(rest, f.name) for f, _ in same):
        return None  # '<value> time': a word of one facet's name says which
    op = "not_in" if neg else "in"
    opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op=op, values=[v])]) for f, v in same[:3]]
    return Ambiguity(phrase=phrase, question=f"Which do you mean by '{phrase}'?", options=opts,
                     replaces=[f.name for f, _ in same[:3]])


def _degree_before(facet: Facet, low: str, start: int) -> tuple[str, Span] | None:
    """A degree adverb just before the facet's name that is one of its values: 'highly' -> a value named '<High>', 'mostly' -> none."""
    m = re.search(r"\b([a-z]+)ly\s+$", low[:start])
    value = next((v for v in facet.value_list if m and v.lower() == m.group(1)), None)
    return (value, Span(m.start(), m.end())) if value else None


_PLACE_WORD = r"\b(?:in|from|across|near)"  # words after which a place stands
_LIST_JOIN = r"(?:,|or|and|&|/)"


def _listed_place(before: str) -> bool:
    """Text before a short alias puts a place there: 'in', 'from' or 'across' before it, or another alias listed."""
    return bool(re.search(rf"(?:{_PLACE_WORD}|,|\b[A-Z]{{2}}\s*{_LIST_JOIN})\s*$", before))


def names_chosen(phrase: str, facet_name: str, conds: list[Condition]) -> bool:
    """The phrase's words are all words of a facet a number or a date already chose ('6 visits to our fuel
    centers' is that count, not a value that shares its words)."""
    words = {_stem(w) for w in re.findall(r"[a-z]+", phrase)}
    return any(c.facet != facet_name and c.provenance and c.provenance.evidence.method in ("number", "date")
               and words <= {_stem(w) for w in re.findall(r"[a-z]+", c.facet.lower())} for c in conds)


def _plausible(ctx: Context, cand: Candidate, phrase: str, low: str, pos: int) -> bool:
    """Drop value matches the context does not support."""
    facet, value = cand
    if value is None or facet.name in _named(ctx, low):
        return True  # the request names the facet (or a retired name of it) the value belongs to
    clause = _clause_at(low, pos)
    cue = intent(low[max(0, pos - 70):pos], clause)
    if cue == "plain" and re.match(r"[\s,]*(excluding|except|but not|minus|other than|without)\b", clause):
        cue = intent(low[:pos], low[:pos])  # '<product> buyers ..., excluding <brand>' excludes from what came before
    if facet.hierarchy_level in _product_levels(ctx.catalog) and facet.kind in ("propensity", "categorical") \
            and cue == "plain":
        return bool(re.search(r"\b(buyers?|shoppers|purchasers?|fans|lovers|customers of)\b", clause))
    word = value.lower()
    if " " not in word and sum(word in f.name.lower().split() for f in ctx.catalog.active_facets if f.name != facet.name) >= 2:
        rest = facet.name.lower().replace(word, " ")
        return _overlap(clause.replace(phrase, " "), rest) > 0
    return True


def _named(ctx: Context, low: str) -> set[str]:
    """Facets the request names outright; a retired name stands for its replacement."""
    return {f.replaced_by or f.name for f in ctx.catalog.facets if f.name.lower() in low}


def _boolean_named(ctx: Context, phrase: str, low: str, pos: int) -> Facet | None:
    """'hold a <tenant> credit card' names the boolean facet that starts with the value's words."""
    if not re.search(r"\b(hold|holds|have|has|own|owns|with|carry|carries)\b", low[max(0, pos - 25):pos]):
        return None
    for f in ctx.catalog.active_facets:
        if f.kind == "boolean" and f.name.lower().startswith(phrase) and f.name.lower() != phrase:
            return f
    return None


def facets_for(ctx: Context, phrase: str, kind: str, facet: Facet, low: str, pos: int) -> list[Candidate]:
    """The facet(s) and value a matched phrase stands for in this context, best first."""
    if kind == "facet":
        return [(facet, None)]
    holders = list(lexicon.vocab(ctx.catalog).get(phrase, []))
    if not holders:
        return []
    clause = _clause_at(low, pos)
    before = low[max(0, pos - 70): pos]
    cue = intent(before, clause)
    named = _named(ctx, low)
    cued = intent(before, "") != "plain"  # 'bought a <thing>': the verb itself says which kind of value
    derived = lexicon.singular_only(ctx.catalog)
    ranked = sorted(holders, key=lambda fv: -(facet_fit(fv[0], cue, clause, ctx.catalog) + 8 * (fv[0].name in named)
                                              - (0 if cued or (phrase, fv[0].name) not in derived else 20)))
    return [ranked[0]] + [fv for fv in ranked[1:4] if fv[0].name != ranked[0][0].name]


def emit(ctx: Context, low: str, at: Span, phrase: str, kind: str, cands: list[Candidate], out: Found) -> None:
    """Add the reading of a matched phrase to `out`: a value, a flag, or a question when the phrase names a facet
    without saying which values or how much."""
    facet, value = cands[0]
    neg = negated(low, at.start)
    alts = [f.name if v is None else f"{f.name}: {v}" for f, v in cands[1:4]]
    method = "exact" if kind == "value" and value and value.lower() == phrase else "synonym"
    prov = _prov(low, at.start, at.end, method, matched=phrase, alternatives=alts)
    if value is not None:
        amb = questions.value_collision(facet, value, phrase) or questions.other_scale(low, at, facet, value) \
            or _same_name_elsewhere(ctx, low, phrase, cands, neg)
        if amb and questions.listed_with_sibling(low, at, facet):
            amb = None  # '<value> or <name>': listed beside a sibling value, it is that facet's value
        if amb:
            out.ambiguities.append(amb)
        out.conditions.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=[value], provenance=prov))
        return
    if facet.kind == "boolean":
        neg = neg != switched_off(low, at.start, at.end)
        out.conditions.append(Condition(facet=facet.name, op="is_false" if neg else "is_true", provenance=prov))
    elif facet.kind == "categorical" and facet.value_list:
        named = lexicon.values_in(facet, phrase)
        if named and not QUALITY.search(phrase):
            out.conditions.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=named, provenance=prov))
            return
        if degree := _degree_before(facet, low, at.start):  # 'highly <facet synonym>': the facet's value '<High>'
            out.spans.append(degree[1])
            out.conditions.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=[degree[0]], provenance=prov))
            return
        if questions.values_named_elsewhere(facet, low, at):
            return  # 'whose <facet> is <value> or <value>': the values say it, read on their own
        if value := questions.value_by_stem(facet, phrase):  # 'retirees', 'night owls': the one value they name
            out.conditions.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=[value], provenance=prov))
        elif amb := questions.unresolved_value(ctx, facet, phrase, low, at):
            out.ask(amb)
        elif (stated := questions.stated_reading(ctx.catalog, facet, phrase)) is not None:
            # 'near their store' names the facet; the tenant's hints give its one reading ('close to their store')
            out.conditions.extend(c.model_copy(update={"provenance": prov}) for c in stated)
        elif amb := questions.quality_band(facet, phrase, low, at):
            out.ask(amb)
        elif amb := questions.value_by_meaning(ctx, facet, phrase, low, at, neg):
            out.ask(amb)
    elif facet.kind == "numeric":
        if amb := questions.vague_amount(ctx, facet, phrase, low, at):
            out.ask(amb)
    elif facet.kind == "propensity" and not facet.hierarchy_level:
        read = questions.value_of_synonym(ctx, facet, phrase, low, at, neg)
        if isinstance(read, Condition):
            out.conditions.append(read)
        elif read is not None:
            out.ask(read)


def misspelled_values(ctx: Context, low: str, taken: list[Span]) -> Found:
    """Misspelled value names ('free assmbly', 'pacewel') matched to the nearest real value."""
    out = Found()
    keys, vocab = lexicon.fuzzy_keys(ctx.catalog), lexicon.vocab(ctx.catalog)
    words = list(re.finditer(r"[a-z][a-z&'-]+", low))
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            a, b = words[i].start(), words[i + size - 1].end()
            phrase = low[a:b]
            if len(phrase) < 5 or _busy(a, b, taken, out) or phrase in STOP:
                continue
            hit = process.extractOne(phrase, keys, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
            if hit is None or abs(len(hit[0]) - len(phrase)) > 2 or phrasal_verb(hit[0], low, b):
                continue
            name, score = hit[0], hit[1]
            cands = facets_for(ctx, name, "value", vocab[name][0][0], low, a)
            if not cands or not _plausible(ctx, cands[0], phrase, low, a) or name.rstrip("s") == phrase.rstrip("s"):
                continue
            out.spans.append(Span(a, b))
            before = len(out.conditions)
            emit(ctx, low, Span(a, b), name, "value", cands, out)
            for c in out.conditions[before:]:
                c.provenance.evidence.method = "fuzzy"
                c.provenance.evidence.score = score / 100
    return out


def value_groups(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> Found:
    """Named value groups from the hierarchy ('store brands', 'private labels', '<Tenant> brand')."""
    out = Found()
    tenant_word = ctx.catalog.display_name.split()[0].lower()
    for name, values in ctx.catalog.hierarchy.items():
        if not isinstance(values, list):
            continue
        words = name.replace("_", " ").rstrip("s")
        pat = rf"\b(?:{re.escape(words)}s?|{re.escape(tenant_word)}(?:'s)? (?:own )?(?:brand|label)s?)\b"
        m = re.search(pat, low)
        if not m or _busy(m.start(), m.end(), taken, out) or _inside_facet_name(ctx, low, m):
            continue
        if names_chosen(m.group(0), "", [*conds, *out.conditions]):
            out.spans.append(Span(m.start(), m.end()))
            continue  # 'half of their spend on <group> brands' is that share, not the brands themselves
        holders = lexicon.vocab(ctx.catalog).get(norm(values[0]), [])
        if not holders:
            continue
        clause = _clause_at(low, m.start())
        cue = intent(low[max(0, m.start() - 70):m.start()], clause)
        facet = max((f for f, _ in holders), key=lambda f: facet_fit(f, cue, clause, ctx.catalog))
        out.spans.append(Span(m.start(), m.end()))
        op = "not_in" if negated(low, m.start()) else "in"
        cond = Condition(facet=facet.name, op=op, values=list(values),
                         provenance=_prov(low, m.start(), m.end(), "group", matched=name))
        out.conditions.append(cond)
        named = [v for v in values if v.lower().startswith(tenant_word + " ")]
        if m.group(0).startswith(tenant_word) and named and len(named) < len(values):
            # '<Tenant> brand': the whole group, or only the brands whose names start with the tenant's name?
            out.ambiguities.append(Ambiguity(
                phrase=m.group(0), question=f"Which brands do you mean by '{m.group(0)}'?", replaces=[facet.name],
                options=[(f"All {len(values)} {name.replace('_', ' ')}", [cond]),
                         (f"Only {', '.join(named)}", [Condition(facet=facet.name, op=op, values=named)])]))
    return out


def _inside_facet_name(ctx: Context, low: str, m: re.Match) -> bool:
    """'<group words> share': the group's words begin a facet's name or synonym, which the lexicon reads."""
    nxt = re.match(r"\s+([a-z]+)", low[m.end():])
    if not nxt:
        return False
    said = f"{m.group(0)} {nxt.group(1)}"
    return any(said in t.lower() for f in ctx.catalog.active_facets for t in [f.name, *f.synonyms])


def flag_name_words(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> Found:
    """A boolean facet whose name's words all appear in one clause ('allow texts' -> a flag named '<Text> <Allowed>'),
    or whose name's one content word no other facet or value uses ('not deliverable')."""
    out = Found()
    have = {c.facet for c in conds}
    dated = [(c.provenance.start, c.provenance.end) for c in conds
             if c.provenance and c.provenance.start is not None and c.provenance.evidence.method == "date"]
    for a, b in _clauses(low):
        if any(a <= s < b for s, _ in dated):
            continue
        clause = low[a:b]
        free = {_stem(w.group(0)) for w in re.finditer(r"[a-z]+", clause)
                if not _busy(a + w.start(), a + w.end(), taken, out)}
        for f in ctx.catalog.active_facets:
            if f.kind != "boolean" or f.name in have:
                continue
            words = [w for w in re.findall(r"[a-z]+", f.name.lower()) if w not in STOP]
            toks = {_stem(w) for w in words}
            if not toks or not toks <= free:
                continue
            if len(toks) >= 2 or (toks <= lexicon.distinctive_words(ctx.catalog) and lexicon.rare(words[0])):
                neg = bool(NEGATION.search(clause))  # "don't buy beer or wine", "not"
                out.conditions.append(Condition(facet=f.name, op="is_false" if neg else "is_true",
                                                provenance=_prov(low, a, b, "name words")))
                have.add(f.name)
    return out


def partial_values(ctx: Context, low: str, taken: list[Span]) -> Found:
    """'<word> <facet noun>' where the word starts exactly one value ('the <Town> store' -> '<Town> Commons')."""
    out = Found()
    for m in re.finditer(r"\b([a-z][a-z']{3,})\s+([a-z]+)\b", low):
        if _busy(m.start(1), m.end(1), taken, out) or m.group(1) in STOP:
            continue
        for f in ctx.catalog.active_facets:
            noun = _stem(m.group(2))
            if not f.value_list or noun not in {_stem(w) for w in re.findall(r"[a-z]+", f.name.lower())}:
                continue
            hits = [v for v in f.value_list if v.lower().split()[0] == m.group(1)]
            if len(hits) == 1:
                # the same value may sit on a bought and a likelihood facet: the wording picks ('buyers')
                f = (facets_for(ctx, hits[0].lower(), "value", f, low, m.start()) or [(f, None)])[0][0]
                out.spans.append(Span(m.start(), m.end()))
                out.conditions.append(Condition(facet=f.name, op="in", values=hits,
                                                provenance=_prov(low, m.start(), m.end(), "partial", matched=m.group(1))))
                break
    return out


def first_word_names(ctx: Context, low: str, taken: list[Span]) -> Found:
    """A name written alone by its first word ('home store is <Town>' for '<Town> Bay'): the one value of
    the catalog that starts with it, when the word is written as a name (capitalised inside the sentence) or
    is no everyday English word."""
    out = Found()
    starts = lexicon.first_words(ctx.catalog)
    pairs = [re.compile(r"(?=\b([a-z][a-z']+ [a-z][a-z']+)\b)"), re.compile(r"\b([a-z][a-z']{3,})\b")]
    for m in (m for rx in pairs for m in rx.finditer(low)):  # two words first: '<two words>' before '<first>'
        word = m.group(1)
        if word not in starts or len(starts[word]) != 1 or word in STOP or _busy(m.start(1), m.end(1), taken, out):
            continue
        written = ctx.written[m.start(1):m.end(1)]
        # written as a name: capitalised inside the sentence (a pair's second word is never the sentence's first)
        named = written.split()[-1][0].isupper() and (m.start(1) > 0 or " " in word)
        if not (named or not all(map(is_common_english, word.split()))):
            continue
        value = starts[word][0]
        holders = lexicon.vocab(ctx.catalog).get(value.lower())
        if not holders:
            continue
        cands = facets_for(ctx, value.lower(), "value", holders[0][0], low, m.start())
        if not cands:
            continue
        facet, v = cands[0]
        out.spans.append(Span(m.start(1), m.end(1)))
        out.conditions.append(Condition(facet=facet.name, op="not_in" if negated(low, m.start(1)) else "in",
                                        values=[v or value], provenance=_prov(low, m.start(1), m.end(1), "partial", matched=word)))
    return out


def not_yet(ctx: Context, low: str) -> Found:
    """'moms-to-be', 'expecting parents': not that role yet, so the role word is not read as it."""
    out = Found()
    for m in re.finditer(r"\b([a-z]+)[\s-]+to[\s-]+be\b", low):
        out.spans.append(Span(m.start(), m.end()))
        out.notes.append(f"'{m.group(0)}' read as not yet {m.group(1)}")
    phrases = {p for p, _, _ in lexicon.table(ctx.catalog)} | {e.phrase for e in lexicon.phrasebook(ctx.catalog)}
    for m in re.finditer(r"\b(expecting|expectant)\s+([a-z]{3,})\b", low):
        if m.group(2) not in STOP and norm(m.group(0)) not in phrases:  # 'expectant parents' may be a phrase
            out.spans.append(Span(m.start(2), m.end(2)))
            out.notes.append(f"'{m.group(2)}' after '{m.group(1)}' read as not yet {m.group(2)}")
    return out


def another_levels(ctx: Context, low: str, taken: list[Span]) -> Found:
    """A membership level or a lifecycle stage named in another retailer's words ('Platinum members',
    'Diamond-tier shoppers', 'inactive customers', 'people we're losing') that the catalog does not write:
    asked about, the catalog's own value nearest on the ladder the default."""
    out = Found()
    known = lexicon.catalog_words(ctx.catalog)
    for steps, after in ((ladder(), rf"(?:[\s-]+{LEVEL_NOUNS})?[\s-]+(?:{LEVEL_NOUNS}|{AUDIENCE})"),
                         (stages(), rf"[\s-]+{AUDIENCE}")):
        names = "|".join(re.escape(n) for n in sorted(steps, key=len, reverse=True))
        said_as = rf"\b({names}){after}\b|\bwe(?:'re| are)\s+({names})\b"
        for m in re.finditer(said_as, low):
            word, at = (m.group(1), 1) if m.group(1) else (m.group(2), 2)
            if word in known or _busy(m.start(at), m.end(at), taken, out):
                continue
            said = re.sub(rf"[\s-]+(?:{AUDIENCE}|members?|cardholders?)$", "", m.group(0)) if at == 1 else word
            start = m.start() if at == 1 else m.start(2)
            if amb := questions.another_level(ctx.catalog, said, word, steps):
                out.spans.append(Span(start, start + len(said)))
                out.ask(amb)
    return out


def another_degrees(ctx: Context, low: str, taken: list[Span]) -> Found:
    """A band named on another retailer's scale ('the <degree> value tier', 'a <degree> lifetime value band'):
    asked about, the catalog's own band of the same degree the default."""
    out = Found()
    names = "|".join(re.escape(n) for n in sorted(degrees(), key=len, reverse=True))
    scale = rf"((?:[a-z]+[\s-]+){{0,3}}?(?:{'|'.join(SCALE_NOUNS)}))"
    for m in re.finditer(rf"\b({names})[\s-]+{scale}\b", low):
        if _busy(m.start(1), m.end(1), taken, out):
            continue
        if amb := questions.another_degree(ctx.catalog, m.group(0), m.group(1), m.group(2)):
            out.spans.append(Span(m.start(), m.end()))
            out.ask(amb)
    return out


_JOIN = r"(?:\s*(?:,|\bor\b|\band\b|\+|&|/)\s*)+"


def listed_siblings(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> Found:
    """'<Town> or <misspelt town>', '<State> or <its code>', '<first word, shortened> + <value>', "a <first word>'s or <value>": a word
    listed beside a value read, that no step read, is the value of that facet it shortens, abbreviates or misspells."""
    out = Found()
    queue = list(conds)
    for c in queue:  # a value found so may have a sibling of its own ('<Area>, <code> or <code>')
        p, f = c.provenance, ctx.catalog.get(c.facet)
        if c.op not in ("in", "not_in") or not p or p.start is None or f is None or f.kind not in ("categorical", "propensity"):
            continue
        for a, b in _listed_words(low, p.start, p.end):
            if _busy(a, b, taken, out) or low[a:b] in STOP:
                continue
            value = _sibling_value(f, low[a:b], ctx.written[a:b], c.values or [])
            if value:
                found = Condition(facet=f.name, op=c.op, values=[value], provenance=_prov(
                    low, a, b, "fuzzy", matched=value, note=f"listed beside {', '.join(c.values or [])}"))
                out.spans.append(Span(a, b))
                out.conditions.append(found)
                queue.append(found)
    return out


def _listed_words(low: str, start: int, end: int) -> list[tuple[int, int]]:
    """The words joined to a read stretch by 'or', 'and', a comma, '+', '&' or '/', on either side."""
    out = []
    if m := re.match(rf"{_JOIN}([a-z][a-z'.-]*)", low[end:]):
        out.append((end + m.start(1), end + m.end(1)))
    if m := re.search(rf"\b([a-z][a-z'.-]*){_JOIN}$", low[:start]):
        out.append((m.start(1), m.end(1)))
    return out


def _sibling_value(facet: Facet, word: str, written: str, chosen: list[str]) -> str | None:
    """The one value of the facet (not yet chosen) that the word shortens ('<short>s' of '<Shortened>'), misspells ('<Twon>') or
    abbreviates in capitals (a state's code of '<Place> <State name>')."""
    w = word.replace("'", "").strip(".-")
    state = state_names().get(written) if written.isupper() else None  # 'NH' listed beside a place
    hits = set()
    for v in facet.value_list:
        if v in chosen:
            continue
        for name in [v, *facet.value_synonyms.get(v, [])]:
            toks = re.findall(r"[a-z0-9]+", name.lower())
            short = len(w) >= 4 and any(t.startswith(w.rstrip("s")) for t in toks)
            typo = len(w) >= 5 and any(len(t) >= 5 and fuzz.ratio(w, t) >= 80 for t in toks)
            initials = written.isupper() and 2 <= len(w) <= 3 and any(
                "".join(t[0] for t in toks[i:i + len(w)]) == w for i in range(len(toks) - len(w) + 1))
            spelled = state is not None and re.search(rf"\b{state}\b", " ".join(toks)) is not None
            if short or typo or initials or spelled:
                hits.add(v)
    return hits.pop() if len(hits) == 1 else None


# 'for the spring patio launch', 'our Q4 grocery delivery push', 'a 7am send': a campaign named by what it is
_CAMPAIGN = re.compile(r"\b(?:the|our|this|a|an|my)\s+(?:[a-z0-9'&]+\s+){0,4}?"
                       r"(?:push|blast|send|campaign|mailer|promo|promotion|launch|sweepstakes|offer)\b(?!\s+(?:notifications?|enabled|opt))")


def campaign_names(low: str) -> list[Span]:
    """Stretches that name the campaign the audience is for, not the audience."""
    return [Span(m.start(), m.end()) for m in _CAMPAIGN.finditer(low)]


def state_codes(ctx: Context, low: str, taken: list[Span]) -> Found:
    """'in tx', 'ca or wa', 'in ct': a US state's postal code where a place stands (after 'in', 'from' or listed with
    another code), as the catalog's place named after that state (a State value, a market area holding its name)."""
    out = Found()
    codes = state_names()
    for m in re.finditer(r"\b([a-z]{2})\b", low):
        code = m.group(1).upper()
        if code not in codes or _busy(m.start(), m.end(), taken, out):
            continue
        before, after = low[max(0, m.start() - 12):m.start()], low[m.end():m.end() + 8]
        listed = re.search(rf"\b[a-z]{{2}}\s*{_LIST_JOIN}\s*$", before) or re.match(rf"\s*{_LIST_JOIN}\s*[a-z]{{2}}\b", after)
        if not (re.search(rf"{_PLACE_WORD}\s+$", before) or (listed and m.group(1) not in STOP)):
            continue  # 'or', 'me', 'hi' are words before they are places
        place = _place_named(ctx, codes[code])
        if place:
            out.spans.append(Span(m.start(), m.end()))
            out.conditions.append(Condition(facet=place[0], op="not_in" if negated(low, m.start()) else "in", values=[place[1]],
                                            provenance=_prov(low, m.start(), m.end(), "synonym", matched=codes[code])))
    return out


def _place_named(ctx: Context, state: str) -> tuple[str, str] | None:
    """The one place value named after a state: named exactly so (or aliased so) first, else the one holding the name."""
    exact, holding = [], []
    products = _product_levels(ctx.catalog)
    for f in ctx.catalog.active_facets:
        if f.kind != "categorical" or f.hierarchy_level in products:
            continue
        for v in f.value_list:
            names = [norm(n) for n in [v, *f.value_synonyms.get(v, [])]]
            if state in names:
                exact.append((f.name, v))
            elif any(re.search(rf"\b{state}\b", n) for n in names):
                holding.append((f.name, v))
    found = exact or holding
    return found[0] if len(found) == 1 else None
