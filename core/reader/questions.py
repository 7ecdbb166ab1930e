"""The clarify stage's questions: when a phrase has several sensible readings, or names a facet without saying
which values or how much, build the question and its options — each a valid condition set, labelled in plain
words, the default first — from the catalog, its index and the sample, never from constants about a tenant."""
from __future__ import annotations

import re

from core.catalog import Catalog, Facet
from core.reader.common import STOP, Ambiguity, Context, Span, _prov, _round_sig, _stem
from core.reader import lexicon
from core.segment import Condition
from core.text.levels import degrees
from core.text.normalise import norm

VAGUE_AMOUNT = re.compile(r"\b(a lot|lots|heavy|heavily|heavier|heaviest|big|bigger|biggest|high|frequent(ly)?|often|"
                          r"regular(ly)?|many|much|lovers?|fans?|enthusiasts?|junkies|avid)\b", re.I)
FREQUENCY = re.compile(r"\b(frequent(ly)?|regular(ly|s)?|often)\b")  # how often, not how much ('heavy')
INTENSIFIERS = ("very", "highly", "extremely", "most", "super", "ultra")  # English degree words before a value
BANDS = (("top half", 0.5), ("top quarter", 0.25), ("top 10%", 0.1))  # shares of customers a vague amount may mean
SCALE_NOUNS = ("band", "tier", "level", "segment", "status", "score")
SCALE_AFTER = re.compile(rf"[\s-]+((?:[a-z]+\s+){{0,3}}?(?:{'|'.join(SCALE_NOUNS)}))\b")  # '... lifetime value band'
QUALITY = re.compile(r"\b(high|best|top|loyal|valuable|vip|most)\b", re.I)


def build_without(phrase: str, question: str) -> Ambiguity:
    """A phrase the catalog cannot read: build without it, or rephrase."""
    return Ambiguity(phrase=phrase, question=question,
                     options=[(f"Build without '{phrase}'", []), ("Cancel and rephrase", [])], replaces=[])


def level_facet(catalog: Catalog, steps: dict[str, int]) -> Facet | None:
    """The catalog's value list on a ladder (`steps`: membership levels, lifecycle stages): the list with the most
    names on it (two at least)."""
    ranked = [(sum(norm(v) in steps for v in f.value_list), f) for f in catalog.active_facets
              if f.kind == "categorical" and not f.hierarchy_level]
    best = max(ranked, key=lambda t: t[0], default=(0, None))
    return best[1] if best[0] >= 2 else None


def another_level(catalog: Catalog, said: str, word: str, steps: dict[str, int]) -> Ambiguity | None:
    """'Platinum members', 'inactive shoppers' where the catalog names its levels or stages otherwise: another
    retailer's name, read as the catalog's value nearest on the ladder (the later of two as near), and asked."""
    f = level_facet(catalog, steps)
    if word not in steps or f is None or word in {norm(v) for v in f.value_list}:
        return None
    return _nearest_on_ladder(f, steps, word, said, f"The catalog has no '{said}'. Read it")


def another_degree(catalog: Catalog, said: str, degree: str, scale: str) -> Ambiguity | None:
    """'the <degree> value tier' where the catalog's value bands are named otherwise: the band list whose words the
    scale shares, read at the same degree (the higher of two as near), and asked about."""
    steps = degrees()
    words = {_stem(w) for w in re.findall(r"[a-z]+", scale) if w not in STOP and w not in SCALE_NOUNS}
    ranked = [(len(words & own), f) for f in catalog.active_facets if f.kind == "categorical" and band_order(f)
              and (own := {_stem(w) for w in re.findall(r"[a-z]+", " ".join([f.name, *f.synonyms]).lower())}) & words]
    if not ranked or degree not in steps:
        return None
    f = max(ranked, key=lambda t: t[0])[1]
    if degree in {norm(v) for v in f.value_list}:
        return None  # the catalog's own band, read by name
    return _nearest_on_ladder(f, steps, degree, said, f"The catalog has no '{scale}'. Read '{said}'")


def _nearest_on_ladder(f: Facet, steps: dict[str, int], word: str, said: str, asking: str) -> Ambiguity:
    """The question for a name on another ladder: the list's values nearest in step first (the higher of two as
    near), then 'build without'."""
    ranked = sorted(((steps[norm(v)], v) for v in f.value_list if norm(v) in steps), reverse=True)
    best = min(ranked, key=lambda t: (abs(t[0] - steps[word]), -t[0]))[1]
    opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op="in", values=[v])])
            for v in [best, *(v for _, v in ranked if v != best)]]
    return Ambiguity(phrase=said, question=f"{asking} as {f.name} {best}?",
                     options=[*opts[:4], (f"Build without '{said}'", [])], replaces=[f.name])


def band_order(facet: Facet) -> list[str]:
    """A value list that is a band of degrees (three values at least on the degree ladder), top first; else []."""
    steps = degrees()
    on = [(steps[norm(v)], v) for v in facet.value_list if norm(v) in steps]
    return [v for _, v in sorted(on, reverse=True)] if len(on) >= 3 else []


def quality_band(facet: Facet, phrase: str, low: str, at: Span) -> Ambiguity | None:
    """'VIP', 'high value' naming a band of degrees by one of its own synonyms: asked which, its top band first."""
    order = band_order(facet)
    if not order or not QUALITY.search(phrase):
        return None
    prov = _prov(low, at.start, at.end, "synonym", matched=phrase)
    top, both = order[0], order[:2]
    return Ambiguity(phrase=phrase, question=f"Which {facet.name} is '{phrase}'?", replaces=[facet.name], options=[
        (f"{facet.name}: {top}", [Condition(facet=facet.name, op="in", values=[top], provenance=prov)]),
        (f"{facet.name}: {' + '.join(both)}", [Condition(facet=facet.name, op="in", values=both)]),
        (f"Build without '{phrase}'", [])])


STEM_MIN = 5  # letters a synonym's word needs to name a value by its stem ('back' in 'win back' is too short)


def value_by_stem(facet: Facet, term: str) -> str | None:
    """The one value a facet's synonym names by sharing its words' stems ('suburbs' -> Suburban, 'retirees' ->
    Retired, 'night owls' -> Late Night): every longer content word of the synonym that is not a word of the
    facet's own name starts the stem of a word of that value, and of no other."""
    if facet.hierarchy_level:
        return None  # products are read by the product stages
    own = {_stem(w) for w in re.findall(r"[a-z]+", facet.name.lower())}
    words = [_stem(w) for w in re.findall(r"[a-z]+", term.lower()) if len(w) >= STEM_MIN and w not in STOP]
    words = [w for w in words if w not in own]
    if not words or re.search(r"\d", term):
        return None

    def names(v: str) -> bool:
        stems = [_stem(t) for t in re.findall(r"[a-z]+", v.lower())]
        return all(any(s == w or (min(len(s), len(w)) >= 4 and (s.startswith(w) or w.startswith(s))) for s in stems)
                   for w in words)
    hits = [v for v in facet.value_list if names(v)]
    return hits[0] if len(hits) == 1 else None


def value_collision(facet: Facet, value: str, phrase: str) -> Ambiguity | None:
    """A value whose name is also part of another value's longer name or alias (a state vs a city of the same name)."""
    others = []
    for v in facet.value_list:
        if v == value:
            continue
        names = [v, *facet.value_synonyms.get(v, [])]
        if any(re.search(rf"\b{re.escape(phrase)}\b", n.lower()) and len(n) > len(phrase) + 1 for n in names):
            others.append(v)
    if not others or value.lower() != phrase:
        return None
    # a 'Never <word>' value is the opposite of '<word>', never a reading of it
    others = [v for v in others if not re.fullmatch(rf"(?:never|not|non|no)[\s-]+{re.escape(phrase)}", v.lower())]
    stronger = [v for v in others if re.fullmatch(rf"(?:{'|'.join(INTENSIFIERS)})\s+{re.escape(phrase)}", v.lower())]
    if not others:
        return None
    if stronger == others:  # '<word>' beside 'Highly <Word>': the word and its stronger degree, by default
        both = [v for v in facet.value_list if v in (value, *stronger)]
        opts = [(" + ".join(both), [Condition(facet=facet.name, op="in", values=both)]),
                (f"{value} only", [Condition(facet=facet.name, op="in", values=[value])])]
        return Ambiguity(phrase=phrase, question=f"Does '{phrase}' include {' and '.join(stronger)}?", options=opts,
                         replaces=[facet.name])
    opts = [(f"{value}", [Condition(facet=facet.name, op="in", values=[value])])]
    opts += [(f"{v}", [Condition(facet=facet.name, op="in", values=[v])]) for v in others[:2]]
    return Ambiguity(phrase=phrase, question=f"Which {facet.name} do you mean by '{phrase}'?", options=opts,
                     replaces=[facet.name])


def other_scale(low: str, at: Span, facet: Facet, value: str) -> Ambiguity | None:
    """'<degree> lifetime value band': the value is named on a scale this catalog does not have (its words
    are not the value's facet's), as another retailer would say it — ask rather than guess."""
    after = SCALE_AFTER.match(low, at.end)
    if not after:
        return None
    words = {_stem(w) for w in re.findall(r"[a-z]+", after.group(1)) if w not in STOP and w not in SCALE_NOUNS}
    own = {_stem(w) for w in re.findall(r"[a-z]+", " ".join([facet.name, *facet.synonyms]).lower())}
    if not words or words & own:
        return None
    said, scale = low[at.start:at.end], after.group(1).strip()
    return Ambiguity(phrase=f"{said} {scale}", replaces=[facet.name],
                     question=f"The catalog has no '{scale}'. Read '{said}' as {facet.name} {value}, or build without it?",
                     options=[(f"{facet.name}: {value}", [Condition(facet=facet.name, op="in", values=[value])]),
                              (f"Build without '{said} {scale}'", [])])


def listed_with_sibling(low: str, at: Span, facet: Facet) -> bool:
    """True when another value of the same facet is listed right beside this one ('X or Y', 'X, Y and Z')."""
    names = [n for v in facet.value_list for n in [v, *facet.value_synonyms.get(v, [])]]
    around = [low[max(0, at.start - 30):at.start], low[at.end:at.end + 30]]
    for n in names:
        n = re.escape(n.lower())
        if re.search(rf"\b{n}\s*(?:,|or|and|&)\s*$", around[0]) or re.match(rf"\s*(?:,|or|and|&)\s*{n}\b", around[1]):
            return True
    return False


def unresolved_value(ctx: Context, facet: Facet, phrase: str, low: str, at: Span) -> Ambiguity | None:
    """A facet named by a synonym that does not say which values ('high value', 'the South')."""
    words = set(re.findall(r"[a-z]+", phrase)) - STOP
    picked = [v for v in facet.value_list
              if any(t.startswith(w) for w in words for t in re.findall(r"[a-z]+", v.lower()))]
    if picked and QUALITY.search(phrase):
        last = max(facet.value_list.index(v) for v in picked)
        picked = facet.value_list[: last + 1] if last <= 2 else picked[:1]
    if not picked:
        return None
    prov = _prov(low, at.start, at.end, "synonym", matched=phrase)
    options = [(f"{facet.name}: {' + '.join(picked)}", [Condition(facet=facet.name, op="in", values=picked, provenance=prov)])]
    if len(picked) > 1:
        for v in picked[:2]:
            options.append((f"{facet.name}: {v} only", [Condition(facet=facet.name, op="in", values=[v])]))
    alt = alternative_reading(ctx, phrase, facet)
    if alt:
        options.insert(1, alt)
    if len(options) < 2:
        others = [v for v in facet.value_list if v not in picked][:3]
        options.append((f"{facet.name}: pick other values ({', '.join(others)}…)", []))
    return Ambiguity(phrase=phrase, question=f"What should '{phrase}' mean?", options=options[:4], replaces=[facet.name])


def alternative_reading(ctx: Context, phrase: str, facet: Facet) -> tuple[str, list[Condition]] | None:
    """Another categorical facet the same words could mean (from retrieval), with the values they name."""
    if ctx.index is None:
        return None
    words = set(re.findall(r"[a-z]+", phrase)) - STOP
    for h in ctx.index.search_facets(phrase, k=4):
        f = ctx.catalog.get(h.facet)
        if f is None or f.name == facet.name or f.kind != "categorical" or not f.value_list:
            continue
        picked = [v for v in f.value_list if words & set(re.findall(r"[a-z]+", v.lower()))]
        if picked:
            return (f"{f.name}: {' + '.join(picked)}", [Condition(facet=f.name, op="in", values=picked)])
    return None


def vague_amount(ctx: Context, facet: Facet, phrase: str, low: str, at: Span) -> Ambiguity | None:
    """'spend a lot', 'frequent': a numeric facet with no number — ask for the threshold."""
    around = low[max(0, at.start - 30): at.end + 30]
    if not VAGUE_AMOUNT.search(around) or re.search(r"\d", around):
        return None
    rng = facet.numeric_range
    steps = bands(ctx, facet)
    if not steps:
        return None
    prov = _prov(low, at.start, at.end, "synonym", matched=phrase)
    opts = [(f"{facet.name} of {fmt_amount(v, rng.unit)} or more ({label})",
             [Condition(facet=facet.name, op="between", min=v, provenance=prov)])
            for label, v in steps]
    opts.insert(0, opts.pop(len(opts) // 2))  # the middle band is the default
    # 'frequent' on a count over a window: once and twice per unit of the window come first
    per_unit = cadence(facet) if FREQUENCY.search(phrase) else []
    opts = [(f"{facet.name} of {n:g} or more ({label})", [Condition(facet=facet.name, op="between", min=n,
                                                                      provenance=prov)])
            for label, n in per_unit] + opts
    replaces = [facet.name]
    if rng.unit.lower() == "usd" and (top := ranked_top(ctx.catalog, phrase)):
        # 'big spenders' where the catalog ranks households by spend: its top rank first
        tier, value, share = top
        opts.insert(0, (f"{tier.name}: {value} (the top {share:g}%)",
                        [Condition(facet=tier.name, op="in", values=[value], provenance=prov)]))
        replaces.append(tier.name)
    return Ambiguity(phrase=phrase, question=f"How much is '{phrase}'?", options=opts, replaces=replaces)


def bands(ctx: Context, facet: Facet) -> list[tuple[str, float]]:
    """Cut-offs for a vague amount: the facet's quantiles on the sample (top half, quarter, tenth)."""
    if ctx.quantiles is None:
        return []
    values = ctx.quantiles(facet.name, [1 - share for _, share in BANDS])
    return [(label, _round_sig(v)) for (label, _), v in zip(BANDS, values) if v > 0]


def top_spenders(ctx: Context) -> tuple[str, Condition] | None:
    """The top spenders as the catalog defines them (its top rank by spend), else the sample's top tenth
    of the main spend facet."""
    if ranked := ranked_top(ctx.catalog, "spend"):
        tier, value, share = ranked
        return f"{tier.name} {value} (the top {share:g}%)", Condition(facet=tier.name, op="in", values=[value])
    spend = sorted((f for f in ctx.catalog.active_facets if f.numeric_range and f.numeric_range.unit.lower() == "usd"
                    and "spend" in f.name.lower()), key=lambda f: len(f.name))
    steps = bands(ctx, spend[0]) if spend else []
    if not steps:
        return None
    label, v = steps[-1]
    return (f"{spend[0].name} of {fmt_amount(v, 'USD')} or more ({label})",
            Condition(facet=spend[0].name, op="between", min=v))


def intensity_without_measure(ctx: Context, word: str, base: Condition) -> Ambiguity:
    """'our heaviest wine buyers': the catalog has the buyers but no measure of how much — the buyers alone, or
    the buyers among the top spenders."""
    opts = [(f"{base.render()} alone", [base])]
    top = top_spenders(ctx)
    if top:
        opts.append((f"{base.render()}, among {top[0]}", [base, top[1]]))
    else:
        opts.append(("Cancel and rephrase", []))
    return Ambiguity(phrase=word, question=f"The catalog has no measure of how much for '{word}'. What should stand for it?",
                     options=opts, replaces=[base.facet] + [c.facet for c in opts[1][1][1:]])


def synonym_said(ctx: Context, facet: Facet, phrase: str) -> str | None:
    """The facet's own synonym that the matched phrase is a form of."""
    return next((t for t in facet.synonyms if phrase in lexicon.variants(norm(t), lexicon.value_words(ctx.catalog))), None)


def value_by_meaning(ctx: Context, facet: Facet, phrase: str, low: str, at: Span, neg: bool) -> Ambiguity | None:
    """A value list named by a synonym that says no value ('win-back', 'the suburbs'): asked which, its values
    nearest in meaning to that synonym first (from the index's stored vectors: no model call). Never for the
    facet's own name, a product list, or when the request names one of its values anyway."""
    if ctx.index is None or facet.name not in lexicon.groundable(ctx.catalog):
        return None
    if values_named_elsewhere(facet, low, at):
        return None
    term = synonym_said(ctx, facet, phrase)
    if term is None or norm(term).split()[-1] in STOP:
        return None  # 'lives in', 'shops at': a slot for a value that did not come
    hits = ctx.index.values_near_term(facet.name, term)
    if not hits:
        return None
    prov = _prov(low, at.start, at.end, "meaning", matched=term, note=f"values nearest to '{term}'")
    opts = [(f"{facet.name}: {h.value}", [Condition(facet=facet.name, op="not_in" if neg else "in",
                                                     values=[h.value], provenance=prov)]) for h in hits]
    return Ambiguity(phrase=phrase, question=f"Which {facet.name} do you mean by '{phrase}'?", options=opts,
                     replaces=[facet.name])


SYNONYM_VALUE_MIN = 0.5      # cosine a likelihood synonym must reach with its nearest value to name it...
SYNONYM_VALUE_MARGIN = 0.2   # ...ahead of the next value by this much; otherwise the nearest are asked about


def value_of_synonym(ctx: Context, facet: Facet, phrase: str, low: str, at: Span,
                     neg: bool) -> Condition | Ambiguity | None:
    """A likelihood facet named by a synonym that means one of its values ('likely to <do what a value is>' ->
    that value): that value when it is clearly nearest in meaning, else a question among the nearest."""
    term = synonym_said(ctx, facet, phrase)
    if ctx.index is None or term is None:
        return None
    hits = ctx.index.values_near_term(facet.name, term, k=3, named_facet_ok=True)
    if not hits:
        return None
    op = "not_in" if neg else "in"
    prov = _prov(low, at.start, at.end, "meaning", matched=term, note=f"the value nearest to '{term}'")
    if hits[0].score >= SYNONYM_VALUE_MIN and (len(hits) < 2 or hits[0].score - hits[1].score >= SYNONYM_VALUE_MARGIN):
        return Condition(facet=facet.name, op=op, values=[hits[0].value], provenance=prov)
    opts = [(f"{facet.name}: {h.value}", [Condition(facet=facet.name, op=op, values=[h.value], provenance=prov)]) for h in hits]
    return Ambiguity(phrase=phrase, question=f"Which {facet.name} do you mean by '{phrase}'?", options=opts,
                     replaces=[facet.name])


def values_named_elsewhere(facet: Facet, low: str, at: Span) -> bool:
    """A value of the facet (or its alias) is written elsewhere in the request."""
    return bool(lexicon.values_in(facet, f"{low[:at.start]} | {low[at.end:]}"))


def stated_reading(catalog: Catalog, facet: Facet, phrase: str) -> list[Condition] | None:
    """The conditions of the one phrasebook entry that is only about this facet and shares a content word
    with the phrase ('near their store' / 'close to their store'), if exactly one is."""
    words = {_stem(w) for w in re.findall(r"[a-z]+", phrase) if w not in STOP}
    own = [e for e in lexicon.phrasebook(catalog) if e.conditions and all(c.get("facet") == facet.name for c in e.conditions)
           and words & {_stem(w) for w in re.findall(r"[a-z]+", e.phrase)}]
    readings = {repr(e.conditions) for e in own}
    return [Condition.model_validate(c) for c in own[0].conditions] if len(readings) == 1 else None


def modifier_readings(catalog: Catalog, stem: str) -> list[tuple[str, list[Condition]]]:
    """The catalog's readings of a describing word: its phrasebook entries, the flags whose name or synonyms
    start with it, then the values named with it; a product value or a number is no reading of a modifier."""
    def has(text: str, first: bool = False) -> bool:
        toks = [_stem(t) for t in re.findall(r"[a-z]+", text.lower())]
        return bool(toks) and (toks[0] == stem if first else stem in toks)
    out: list[tuple[int, str, list[Condition]]] = []
    for e in lexicon.phrasebook(catalog):
        if e.conditions and has(e.phrase):
            conds = [Condition.model_validate(c) for c in e.conditions]
            out.append((0, " + ".join(c.render() for c in conds), conds))
    for f in catalog.active_facets:
        if f.hierarchy_level:
            continue
        if f.kind == "boolean" and any(has(t) for t in [f.name, *f.synonyms]):
            rank = 1 if any(has(t, first=True) for t in [f.name, *f.synonyms]) else 2
            out.append((rank, f.name, [Condition(facet=f.name, op="is_true")]))
        elif f.kind == "categorical":
            vals = [v for v in f.value_list if any(has(n) for n in [v, *f.value_synonyms.get(v, [])])]
            if vals:
                c = Condition(facet=f.name, op="in", values=vals)
                out.append((2, c.render(), [c]))
    out.sort(key=lambda t: t[0])
    seen: set[str] = set()
    return [(label, conds) for _, label, conds in out if not (label in seen or seen.add(label))]


def ranked_top(catalog: Catalog, phrase: str) -> tuple[Facet, str, float] | None:
    """A value list that ranks customers by what the phrase measures (a description like 'rank by 52-week spend'
    for 'big spenders'), with its top value as the description defines it ('<Value> = top 10%')."""
    words = {_stem(w) for w in re.findall(r"[a-z]+", phrase.lower()) if w not in STOP}
    for f in catalog.active_facets:
        tops = [(float(m.group(1)), v) for v, g in f.value_glosses.items() if (m := re.fullmatch(r"top (\d+(?:\.\d+)?)%", g))]
        said = {_stem(w) for w in re.findall(r"[a-z]+", f.description.lower())}
        if tops and words & said and re.search(r"\b(rank|ranked|tier|band)\b", f.description.lower()):
            share, value = min(tops)
            return f, value, share
    return None


def cadence(facet: Facet) -> list[tuple[str, float]]:
    """For a count over a window named in weeks, months or days ('<Trips> 13 Weeks'): once and twice per unit of
    the window ('about weekly', 13+; 'twice a week', 26+), within the facet's range."""
    m = re.search(r"(\d+)\s*(Weeks?|Months?|M|D)\b", facet.name)
    rng = facet.numeric_range
    if not m or rng is None or rng.unit.lower() in ("usd", "percent", "days", "score", "points"):
        return []
    unit = {"w": "week", "m": "month", "d": "day"}[m.group(2)[0].lower()]
    n = int(m.group(1))
    return [(label, k * n) for label, k in ((f"about once a {unit}", 1), (f"about twice a {unit}", 2)) if k * n <= rng.max]


def fmt_amount(v: float, unit: str) -> str:
    """An amount as a marketer writes it: '$1,300' or '26 visits'."""
    return f"${v:,.0f}" if unit.lower() == "usd" else f"{v:g} {unit}"
