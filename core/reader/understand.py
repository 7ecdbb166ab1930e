"""Read a marketer's request into a draft cohort: phrases -> conditions with provenance, plus ambiguities.

Everything tenant-specific comes from the catalog: facet names, synonyms, values, value synonyms,
hierarchy, seasons, rules and the phrasebook read from vocabulary hints.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

from rapidfuzz import fuzz, process

from core.catalog import Catalog, Facet
from core.text.dates import find_dates, season_aliases
from core.text.phrasebook import Entry, build_phrasebook
from core.segment import Condition
from core.reader.account import Coverage, Use, account
from core.reader import extract, ground, resolve
from core.reader.common import (AUDIENCE, AUDIENCE_WORDS, BROWSE_CUES, NEGATION, PROPENSITY_CUES, PURCHASE_CUES, STOP,
                                _CUE_WORDS, _clause_at, _clauses, _find, _level_order, _overlap, _overlaps,
                                _product_levels, _prov, _round_sig, _stem, per_catalog)
from core.reader.common import Span as _Span
from core.reader.extract import Extracted
from core.text.normalise import Normalised, correct_typos, is_common_english, is_foreign, norm, vocabulary
from core.text.numbers import word_number

VAGUE_AMOUNT = re.compile(r"\b(a lot|lots|heavy|heavily|heavier|heaviest|big|bigger|biggest|high|frequent(ly)?|often|"
                          r"regular(ly)?|many|much|lovers?|fans?|enthusiasts?|junkies|avid)\b", re.I)
VAGUE_NOUNS = r"(?:stuff|items|things|products|gear|goods)"
_VERBS_3S = frozenset("""owns buys pays prefers uses shops holds speaks lives rents drives""".split())  # English verbs
_INTENSE = frozenset("heavy heavier heaviest big bigger biggest avid".split())
FREQUENCY = re.compile(r"\b(frequent(ly)?|regular(ly|s)?|often)\b")  # how often, not how much ('heavy')
INTENSIFIERS = ("very", "highly", "extremely", "most", "super", "ultra")  # English degree words before a value
BANDS = (("top half", 0.5), ("top quarter", 0.25), ("top 10%", 0.1))  # shares of customers a vague amount may mean
GROUND_MIN = 0.5      # cosine a product word must reach with its nearest value to be read as it...
GROUND_MARGIN = 0.05  # ...and values closer than this to the nearest are offered as a question
WEAK_GROUND_MIN = 0.65  # ...or this, when only '<word> shoppers / fans' says it is a product at all
SCALE_NOUNS = ("band", "tier", "level", "segment", "status", "score")
SCALE_AFTER = re.compile(rf"[\s-]+((?:[a-z]+\s+){{0,3}}?(?:{'|'.join(SCALE_NOUNS)}))\b")  # '... lifetime value band'
QUALITY = re.compile(r"\b(high|best|top|loyal|valuable|vip|most)\b", re.I)


@dataclass
class Ambiguity:
    """A genuinely ambiguous phrase with readings to choose from (the first is the default)."""
    phrase: str
    question: str
    options: list[tuple[str, list[Condition]]]  # (label, conditions to add under that reading)
    replaces: list[str] = field(default_factory=list)  # facets the chosen reading replaces


@dataclass
class Reading:
    """The draft cohort a request reads as."""
    conditions: list[Condition] = field(default_factory=list)
    ambiguities: list[Ambiguity] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    normalised: Normalised | None = None  # the text as read (typos corrected) and the map back to the request
    coverage: Coverage | None = None      # every word of the request and what became of it


class Understander:
    """Turns request text into conditions for one tenant."""

    def __init__(self, catalog: Catalog, today: dt.date, index=None,
                 quantiles: Callable[[str, list[float]], list[float]] | None = None) -> None:
        self.cat = catalog
        self.quantiles = quantiles  # a numeric facet's values at given shares of the sample
        self.today = today
        self.index = index
        self.book: list[Entry] = _phrasebook(catalog)
        self.lexicon = _lexicon(catalog)
        self.vocab = _vocab(catalog)
        self.recently = _recently_days(catalog)
        self._fuzzy_keys = [k for k in self.vocab if len(k) >= 5]
        self.caps = {_norm(a) for f in catalog.facets for al in f.value_synonyms.values() for a in al
                     if a.isupper() and len(a) <= 3}

    # ---- main entry ------------------------------------------------------------------------
    def read(self, text: str) -> Reading:
        r = Reading()
        r.normalised = correct_typos(text.replace("’", "'"), _typo_vocabulary(self.cat))
        r.notes += [c.evidence for c in r.normalised.corrections]
        text = r.normalised.text
        self.orig = text.replace("’", "'")
        low = text.lower().replace("’", "'")
        taken: list[_Span] = []
        conds: list[Condition] = []
        clauses = _clauses(low)
        r.phrases = [low[a:b].strip() for a, b in clauses if low[a:b].strip()]
        self._expect_leftovers(low.replace("-", " "))
        self._not_yet(low, taken, r)
        self._intensity: list[re.Match] = []  # 'heaviest <x>' with no numeric facet for x, settled once x is read
        tier = _add(extract.tier(self.cat, self.book, low, taken), taken, conds, r).tier
        dates = find_dates(text, self.today, self.cat.fiscal_year_start_month, self.cat.seasons, self.recently)
        _add(extract.ages(self.cat, low, taken), taken, conds, r)
        _add(extract.ranges(self.cat, self.today, low, taken), taken, conds, r)
        _add(extract.elapsed(self.cat, low, taken), taken, conds, r)
        _add(extract.numbers(self.cat, self.today, low, taken), taken, conds, r)
        self._phrasebook(low, taken, conds)
        _add(extract.reachability(self.cat, low, taken), taken, conds, r)
        _add(extract.dates(self.cat, self.lexicon, low, dates, taken), taken, conds, r)
        flat = low.replace("-", " ")  # same length: spans stay valid
        self._groups(flat, taken, conds, r)  # a named value group outranks a facet synonym inside it ('brand buyers')
        self._vague(flat, taken, conds, r)
        self._product_words(flat, taken, conds, r)
        self._lexical(flat, taken, conds, r)
        self._fuzzy(flat, taken, conds, r)
        self._name_tokens(flat, taken, conds)
        self._partial_values(flat, taken, conds)
        leftovers = self._leftovers(flat, self._read_so_far(flat, conds, taken, r)) if self.index else []
        self._ground_products(flat, taken, conds, r)
        self._ground_leftovers(flat, leftovers, taken, conds, r)
        self._intensity_without_measure(flat, taken, conds, r)
        self._unknown_concepts(flat, taken, conds, r)
        conds = resolve.dated_words(self.cat, conds, low)
        conds = _noted(resolve.own_windows(self.cat, conds), r)
        conds = resolve.apply_tier(self.cat, conds, tier)
        for a in r.ambiguities:  # a chosen reading carries the request's tier like the default does
            a.options = [(label, resolve.apply_tier(self.cat, cs, tier)) for label, cs in a.options]
        conds = resolve.specific_product_level(self.cat, conds)
        conds = resolve.drop_implied(self.cat, conds)
        conds = _noted(resolve.exclusive(self.cat, conds), r)
        r.conditions = resolve.merge(conds)
        r.coverage = account(r.normalised, _uses(low, conds, taken, r), STOP)
        return r

    # ---- pieces ------------------------------------------------------------------------------
    def _phrasebook(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        for e in self.book:
            if not e.conditions and e.tier:
                continue
            m = _find(e.phrase, low, taken)
            if not m:
                continue
            if self._propensity_value(e) and _intent(low[max(0, m[0] - 70):m[0]], _clause_at(low, m[0])) == "propensity":
                continue  # 'likely to try delivery': the propensity facet, read by the lexical pass
            if self._value_named_before(e, low, m[0]):
                continue  # '<tier> members': the value named wins over what 'members' alone means
            taken.append(_Span(*m))
            neg = _negated(low, m[0])
            for c in e.conditions:
                cond = Condition.model_validate(c)
                if neg:
                    cond = _negate(cond)
                cond.provenance = _prov(low, m[0], m[1], "phrasebook", matched=e.phrase)
                conds.append(cond)

    def _value_named_before(self, e: Entry, low: str, start: int) -> bool:
        facets = {c.get("facet") for c in e.conditions if c.get("op") == "in"}
        prev = re.findall(r"[a-z]+", low[max(0, start - 25):start])[-1:]
        return bool(prev) and any(f.name in facets for f, _ in self.vocab.get(prev[0], []))

    def _propensity_value(self, e: Entry) -> bool:
        if len(e.conditions) != 1 or e.conditions[0].get("op") != "in":
            return False
        vals = set(e.conditions[0].get("values") or [])
        return any(f.kind == "propensity" and vals & set(f.value_list) for f in self.cat.active_facets)

    def _lexical(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        for phrase, facet_name, kind in self.lexicon:
            if phrase not in low:
                continue  # cheap substring test before the word-boundary regex
            for m in re.finditer(rf"(?<![\w']){re.escape(phrase)}(?:e?s)?(?![\w])", low):
                if _overlaps(m.start(), m.end(), taken) or (m.group(0) != phrase and m.group(0) in STOP):
                    continue
                if phrase in self.caps and self.orig[m.start():m.end()] != self.orig[m.start():m.end()].upper():
                    continue  # capitalised short aliases ('IN', 'OR', 'TV') count only when written in capitals
                facet = self.cat.get(facet_name)
                if kind == "value" and (_phrasal_verb(phrase, low, m.end()) or m.group(0) in _GENERIC_PLURALS
                                        or _modal(phrase, low, m.end())):
                    continue  # '<verb> up on <product>' is the verb, not a value named '<Verb> Up'; 'goods' is no value's plural
                if kind == "value" and self._names_chosen(phrase, facet_name, conds):
                    taken.append(_Span(m.start(), m.end()))
                    continue  # '<service>' beside a count of '<service> visits' names that count, not the service itself
                cands = self._facets_for(phrase, kind, facet, low, m.start())
                if not cands or not self._plausible(cands[0], phrase, low, m.start()):
                    continue
                holder = self._boolean_named(phrase, low, m.start()) if kind == "value" else None
                if holder is not None:
                    cands = [(holder, None)]
                taken.append(_Span(m.start(), m.end()))
                self._emit(low, m, phrase, kind, cands, conds, r)

    def _names_chosen(self, phrase: str, facet_name: str, conds: list[Condition]) -> bool:
        """The phrase's words are all words of a facet a number or a date already chose ('6 visits to our fuel
        centers' is that count, not a value that shares its words)."""
        words = {_stem(w) for w in re.findall(r"[a-z]+", phrase)}
        return any(c.facet != facet_name and c.provenance and c.provenance.evidence.method in ("number", "date")
                   and words <= {_stem(w) for w in re.findall(r"[a-z]+", c.facet.lower())} for c in conds)

    def _plausible(self, cand: tuple[Facet, str | None], phrase: str, low: str, pos: int) -> bool:
        """Drop value matches the context does not support."""
        facet, value = cand
        if value is None or facet.name in self._named(low):
            return True  # the request names the facet (or a retired name of it) the value belongs to
        clause = _clause_at(low, pos)
        intent = _intent(low[max(0, pos - 70):pos], clause)
        if intent == "plain" and re.match(r"[\s,]*(excluding|except|but not|minus|other than|without)\b", clause):
            intent = _intent(low[:pos], low[:pos])  # '<product> buyers ..., excluding <brand>' excludes from what came before
        if facet.hierarchy_level in _product_levels(self.cat) and facet.kind in ("propensity", "categorical") \
                and intent == "plain":
            return bool(re.search(r"\b(buyers?|shoppers|purchasers?|fans|lovers|customers of)\b", clause))
        word = value.lower()
        if " " not in word and sum(word in f.name.lower().split() for f in self.cat.active_facets if f.name != facet.name) >= 2:
            rest = facet.name.lower().replace(word, " ")
            return _overlap(clause.replace(phrase, " "), rest) > 0
        return True

    def _named(self, low: str) -> set[str]:
        """Facets the request names outright; a retired name stands for its replacement."""
        return {f.replaced_by or f.name for f in self.cat.facets if f.name.lower() in low}

    def _boolean_named(self, phrase: str, low: str, pos: int) -> Facet | None:
        """'hold a Northstar credit card' names the boolean facet that starts with the value's words."""
        if not re.search(r"\b(hold|holds|have|has|own|owns|with|carry|carries)\b", low[max(0, pos - 25):pos]):
            return None
        for f in self.cat.active_facets:
            if f.kind == "boolean" and f.name.lower().startswith(phrase) and f.name.lower() != phrase:
                return f
        return None

    def _facets_for(self, phrase: str, kind: str, facet: Facet, low: str, pos: int) -> list[tuple[Facet, str | None]]:
        """The facet(s) and value a matched phrase stands for in this context."""
        if kind == "facet":
            return [(facet, None)]
        holders = [(f, v) for f, v in self.vocab.get(phrase, [])]
        if not holders:
            return []
        clause = _clause_at(low, pos)
        before = low[max(0, pos - 70): pos]
        intent = _intent(before, clause)
        named = self._named(low)
        cued = _intent(before, "") != "plain"  # 'bought a <thing>': the verb itself says which kind of value
        derived = _singular_only(self.cat)
        ranked = sorted(holders, key=lambda fv: -(_facet_fit(fv[0], intent, clause, self.cat) + 8 * (fv[0].name in named)
                                                  - (0 if cued or (phrase, fv[0].name) not in derived else 20)))
        return [ranked[0]] + [fv for fv in ranked[1:4] if fv[0].name != ranked[0][0].name]

    def _emit(self, low: str, m: re.Match, phrase: str, kind: str, cands: list[tuple[Facet, str | None]],
              conds: list[Condition], r: Reading) -> None:
        facet, value = cands[0]
        neg = _negated(low, m.start())
        alts = [f.name if v is None else f"{f.name}: {v}" for f, v in cands[1:4]]
        prov = _prov(low, m.start(), m.end(), "synonym" if kind == "facet" else ("exact" if value and value.lower() == phrase else "synonym"),
                     matched=phrase, alternatives=alts)
        if value is not None:
            amb = self._value_collision(facet, value, phrase) or self._other_scale(low, m, facet, value)
            if amb and self._listed_with_sibling(low, m.start(), m.end(), facet):
                amb = None  # '<value> or <name>': listed beside a sibling value, it is that facet's value
            if amb:
                r.ambiguities.append(amb)
            cond = Condition(facet=facet.name, op="not_in" if neg else "in", values=[value], provenance=prov)
            conds.append(cond)
            return
        if facet.kind == "boolean":
            neg = neg != _switched_off(low, m.start(), m.end())
            conds.append(Condition(facet=facet.name, op="is_false" if neg else "is_true", provenance=prov))
        elif facet.kind in ("categorical",) and facet.value_list:
            named = _values_in(facet, phrase)
            if named and not QUALITY.search(phrase):
                conds.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=named, provenance=prov))
                return
            if self._values_named_elsewhere(facet, low, m):
                return  # 'whose <facet> is <value> or <value>': the values say it, read on their own
            amb = self._unresolved_value(facet, phrase, low, m)
            if amb:
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])
            elif (stated := self._stated_reading(facet, phrase)) is not None:
                # 'near their store' names the facet; the tenant's hints give its one reading ('close to their store')
                conds.extend(c.model_copy(update={"provenance": prov}) for c in stated)
            elif amb := self._value_by_meaning(facet, phrase, low, m, neg):
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])
        elif facet.kind == "numeric":
            amb = self._vague_amount(facet, phrase, low, m)
            if amb:
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])

    def _intensity_without_measure(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """'our heaviest wine buyers': the catalog has the buyers but no measure of how much, so ask whether the
        buyers alone will do, or the buyers among the top spenders (the catalog's top rank by spend, else the
        sample's top tenth of the main spend facet)."""
        for m in self._intensity:
            word = m.group(1)
            read = [c for c in conds if c.provenance and c.provenance.start is not None
                    and m.end(1) < c.provenance.start <= m.end(1) + 2]
            if not read or _overlaps(m.start(1), m.end(1), taken):
                continue
            taken.append(_Span(m.start(1), m.end(1)))
            base = read[0]
            opts = [(f"{base.render()} alone", [base])]
            top = self._top_spenders()
            if top:
                opts.append((f"{base.render()}, among {top[0]}", [base, top[1]]))
            else:
                opts.append(("Cancel and rephrase", []))
            r.ambiguities.append(Ambiguity(
                phrase=word, question=f"The catalog has no measure of how much for '{word}'. What should stand for it?",
                options=opts, replaces=[base.facet] + [c.facet for c in opts[1][1][1:]]))

    def _top_spenders(self) -> tuple[str, Condition] | None:
        """The top spenders as the catalog defines them (its top rank by spend), else the sample's top tenth
        of the main spend facet."""
        if ranked := _ranked_top(self.cat, "spend"):
            tier, value, share = ranked
            return f"{tier.name} {value} (the top {share:g}%)", Condition(facet=tier.name, op="in", values=[value])
        spend = sorted((f for f in self.cat.active_facets if f.numeric_range and f.numeric_range.unit.lower() == "usd"
                        and "spend" in f.name.lower()), key=lambda f: len(f.name))
        bands = self._bands(spend[0]) if spend else []
        if not bands:
            return None
        label, v = bands[-1]
        return (f"{spend[0].name} of {_fmt_amount(v, 'USD')} or more ({label})",
                Condition(facet=spend[0].name, op="between", min=v))

    def _not_yet(self, low: str, taken: list[_Span], r: Reading) -> None:
        """'moms-to-be', 'expecting parents': not that role yet, so the role word is not read as it."""
        for m in re.finditer(r"\b([a-z]+)[\s-]+to[\s-]+be\b", low):
            taken.append(_Span(m.start(), m.end()))
            r.notes.append(f"'{m.group(0)}' read as not yet {m.group(1)}")
        phrases = {p for p, _, _ in self.lexicon} | {e.phrase for e in self.book}
        for m in re.finditer(r"\b(expecting|expectant)\s+([a-z]{3,})\b", low):
            if m.group(2) not in STOP and _norm(m.group(0)) not in phrases:  # 'expectant parents' may be a phrase
                taken.append(_Span(m.start(2), m.end(2)))
                r.notes.append(f"'{m.group(2)}' after '{m.group(1)}' read as not yet {m.group(2)}")

    def _values_named_elsewhere(self, facet: Facet, low: str, m: re.Match) -> bool:
        """A value of the facet (or its alias) is written elsewhere in the request."""
        return bool(_values_in(facet, f"{low[:m.start()]} | {low[m.end():]}"))

    def _value_by_meaning(self, facet: Facet, phrase: str, low: str, m: re.Match, neg: bool) -> Ambiguity | None:
        """A value list named by a synonym that says no value ('win-back', 'the suburbs'): asked which, its values
        nearest in meaning to that synonym first (from the index's stored vectors: no model call). Never for the
        facet's own name, a product list, or when the request names one of its values anyway."""
        if self.index is None or facet.name not in _groundable(self.cat):
            return None
        if self._values_named_elsewhere(facet, low, m):
            return None
        term = next((t for t in facet.synonyms if phrase in _variants(_norm(t))), None)
        if term is None or _norm(term).split()[-1] in STOP:
            return None  # 'lives in', 'shops at': a slot for a value that did not come
        hits = self.index.values_near_term(facet.name, term) if term else []
        if not hits:
            return None
        prov = _prov(low, m.start(), m.end(), "meaning", matched=term, note=f"values nearest to '{term}'")
        opts = [(f"{facet.name}: {h.value}", [Condition(facet=facet.name, op="not_in" if neg else "in",
                                                         values=[h.value], provenance=prov)]) for h in hits]
        return Ambiguity(phrase=phrase, question=f"Which {facet.name} do you mean by '{phrase}'?", options=opts,
                         replaces=[facet.name])

    def _stated_reading(self, facet: Facet, phrase: str) -> list[Condition] | None:
        """The conditions of the one phrasebook entry that is only about this facet and shares a content word
        with the phrase ('near their store' / 'close to their store'), if exactly one is."""
        words = {_stem(w) for w in re.findall(r"[a-z]+", phrase) if w not in STOP}
        own = [e for e in self.book if e.conditions and all(c.get("facet") == facet.name for c in e.conditions)
               and words & {_stem(w) for w in re.findall(r"[a-z]+", e.phrase)}]
        readings = {repr(e.conditions) for e in own}
        return [Condition.model_validate(c) for c in own[0].conditions] if len(readings) == 1 else None

    def _other_scale(self, low: str, m: re.Match, facet: Facet, value: str) -> Ambiguity | None:
        """'Very High lifetime value band': the value is named on a scale this catalog does not have (its words
        are not the value's facet's), as another retailer would say it — ask rather than guess."""
        after = SCALE_AFTER.match(low, m.end())
        if not after:
            return None
        words = {_stem(w) for w in re.findall(r"[a-z]+", after.group(1)) if w not in STOP and w not in SCALE_NOUNS}
        own = {_stem(w) for w in re.findall(r"[a-z]+", " ".join([facet.name, *facet.synonyms]).lower())}
        if not words or words & own:
            return None
        scale = after.group(1).strip()
        return Ambiguity(phrase=f"{m.group(0)} {scale}", replaces=[facet.name],
                         question=f"The catalog has no '{scale}'. Read '{m.group(0)}' as {facet.name} {value}, or build without it?",
                         options=[(f"{facet.name}: {value}", [Condition(facet=facet.name, op="in", values=[value])]),
                                  (f"Build without '{m.group(0)} {scale}'", [])])

    def _listed_with_sibling(self, low: str, start: int, end: int, facet: Facet) -> bool:
        """True when another value of the same facet is listed right beside this one ('X or Y', 'X, Y and Z')."""
        names = [n for v in facet.value_list for n in [v, *facet.value_synonyms.get(v, [])]]
        around = [low[max(0, start - 30):start], low[end:end + 30]]
        for n in names:
            n = re.escape(n.lower())
            if re.search(rf"\b{n}\s*(?:,|or|and|&)\s*$", around[0]) or re.match(rf"\s*(?:,|or|and|&)\s*{n}\b", around[1]):
                return True
        return False

    def _value_collision(self, facet: Facet, value: str, phrase: str) -> Ambiguity | None:
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

    def _unresolved_value(self, facet: Facet, phrase: str, low: str, m: re.Match) -> Ambiguity | None:
        """A facet named by a synonym that does not say which values ('high value', 'the South')."""
        words = set(re.findall(r"[a-z]+", phrase)) - STOP
        picked = [v for v in facet.value_list
                  if any(t.startswith(w) for w in words for t in re.findall(r"[a-z]+", v.lower()))]
        if picked and QUALITY.search(phrase):
            last = max(facet.value_list.index(v) for v in picked)
            picked = facet.value_list[: last + 1] if last <= 2 else picked[:1]
        if not picked:
            return None
        options = [(f"{facet.name}: {' + '.join(picked)}", [Condition(facet=facet.name, op="in", values=picked,
                                                                       provenance=_prov(low, m.start(), m.end(), "synonym", matched=phrase))])]
        if len(picked) > 1:
            for v in picked[:2]:
                options.append((f"{facet.name}: {v} only", [Condition(facet=facet.name, op="in", values=[v])]))
        alt = self._alternative_reading(phrase, facet)
        if alt:
            options.insert(1, alt)
        if len(options) < 2:
            others = [v for v in facet.value_list if v not in picked][:3]
            options.append((f"{facet.name}: pick other values ({', '.join(others)}…)", []))
        return Ambiguity(phrase=phrase, question=f"What should '{phrase}' mean?", options=options[:4], replaces=[facet.name])

    def _alternative_reading(self, phrase: str, facet: Facet) -> tuple[str, list[Condition]] | None:
        """Another categorical facet the same words could mean (from retrieval), with the values they name."""
        if self.index is None:
            return None
        words = set(re.findall(r"[a-z]+", phrase)) - STOP
        for h in self.index.search_facets(phrase, k=4):
            f = self.cat.get(h.facet)
            if f is None or f.name == facet.name or f.kind != "categorical" or not f.value_list:
                continue
            picked = [v for v in f.value_list if words & set(re.findall(r"[a-z]+", v.lower()))]
            if picked:
                return (f"{f.name}: {' + '.join(picked)}", [Condition(facet=f.name, op="in", values=picked)])
        return None

    def _vague_amount(self, facet: Facet, phrase: str, low: str, m: re.Match) -> Ambiguity | None:
        """'spend a lot', 'frequent': a numeric facet with no number — ask for the threshold."""
        around = low[max(0, m.start() - 30): m.end() + 30]
        if not VAGUE_AMOUNT.search(around) or re.search(r"\d", around):
            return None
        rng = facet.numeric_range
        steps = self._bands(facet)
        if not steps:
            return None
        prov = _prov(low, m.start(), m.end(), "synonym", matched=phrase)
        opts = [(f"{facet.name} of {_fmt_amount(v, rng.unit)} or more ({label})",
                 [Condition(facet=facet.name, op="between", min=v, provenance=prov)])
                for label, v in steps]
        opts.insert(0, opts.pop(len(opts) // 2))  # the middle band is the default
        # 'frequent' on a count over a window: once and twice per unit of the window come first
        cadence = _cadence(facet) if FREQUENCY.search(phrase) else []
        opts = [(f"{facet.name} of {n:g} or more ({label})", [Condition(facet=facet.name, op="between", min=n,
                                                                          provenance=prov)])
                for label, n in cadence] + opts
        replaces = [facet.name]
        if rng.unit.lower() == "usd" and (top := _ranked_top(self.cat, phrase)):
            # 'big spenders' where the catalog ranks households by spend: its top rank first
            tier, value, share = top
            opts.insert(0, (f"{tier.name}: {value} (the top {share:g}%)",
                            [Condition(facet=tier.name, op="in", values=[value], provenance=prov)]))
            replaces.append(tier.name)
        return Ambiguity(phrase=phrase, question=f"How much is '{phrase}'?", options=opts, replaces=replaces)

    def _bands(self, facet: Facet) -> list[tuple[str, float]]:
        """Cut-offs for a vague amount: the facet's quantiles on the sample (top half, quarter, tenth)."""
        if self.quantiles is None:
            return []
        values = self.quantiles(facet.name, [1 - share for _, share in BANDS])
        return [(label, _round_sig(v)) for (label, _), v in zip(BANDS, values) if v > 0]

    def _fuzzy(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """Misspelled value names ('free assmbly', 'pacewel') matched to the nearest real value."""
        words = list(re.finditer(r"[a-z][a-z&'-]+", low))
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                a, b = words[i].start(), words[i + size - 1].end()
                phrase = low[a:b]
                if len(phrase) < 5 or _overlaps(a, b, taken) or phrase in STOP:
                    continue
                hit = process.extractOne(phrase, self._fuzzy_keys, scorer=fuzz.ratio, score_cutoff=88)
                best = (hit[1], hit[0]) if hit and abs(len(hit[0]) - len(phrase)) <= 2 else None
                if best is None or _phrasal_verb(best[1], low, b):
                    continue
                cands = self._facets_for(best[1], "value", holders_facet(self.vocab[best[1]]), low, a)
                if not cands or not self._plausible(cands[0], phrase, low, a) or best[1].rstrip("s") == phrase.rstrip("s"):
                    continue
                taken.append(_Span(a, b))
                fake = _FakeMatch(a, b)
                self._emit(low, fake, best[1], "value", cands, conds, r)
                conds[-1].provenance.evidence.method = "fuzzy"
                conds[-1].provenance.evidence.score = best[0] / 100

    def _groups(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """Named value groups from the hierarchy ('store brands', 'private labels', '<Tenant> brand')."""
        tenant_word = self.cat.display_name.split()[0].lower()
        for name, values in self.cat.hierarchy.items():
            if not isinstance(values, list):
                continue
            words = name.replace("_", " ").rstrip("s")
            pat = rf"\b(?:{re.escape(words)}s?|{re.escape(tenant_word)}(?:'s)? (?:own )?(?:brand|label)s?)\b"
            m = re.search(pat, low)
            if not m or _overlaps(m.start(), m.end(), taken) or self._inside_facet_name(low, m):
                continue
            if self._names_chosen(m.group(0), "", conds):
                taken.append(_Span(m.start(), m.end()))
                continue  # 'half of their spend on <group> brands' is that share, not the brands themselves
            holders = self.vocab.get(_norm(values[0]), [])
            if not holders:
                continue
            intent = _intent(low[max(0, m.start() - 70):m.start()], _clause_at(low, m.start()))
            facet = max((f for f, _ in holders), key=lambda f: _facet_fit(f, intent, _clause_at(low, m.start()), self.cat))
            taken.append(_Span(m.start(), m.end()))
            op = "not_in" if _negated(low, m.start()) else "in"
            cond = Condition(facet=facet.name, op=op, values=list(values),
                             provenance=_prov(low, m.start(), m.end(), "group", matched=name))
            conds.append(cond)
            named = [v for v in values if v.lower().startswith(tenant_word + " ")]
            if m.group(0).startswith(tenant_word) and named and len(named) < len(values):
                # '<Tenant> brand': the whole group, or only the brands whose names start with the tenant's name?
                r.ambiguities.append(Ambiguity(
                    phrase=m.group(0), question=f"Which brands do you mean by '{m.group(0)}'?", replaces=[facet.name],
                    options=[(f"All {len(values)} {name.replace('_', ' ')}", [cond]),
                             (f"Only {', '.join(named)}", [Condition(facet=facet.name, op=op, values=named)])]))

    def _inside_facet_name(self, low: str, m: re.Match) -> bool:
        """'<group words> share': the group's words begin a facet's name or synonym, which the lexicon reads."""
        nxt = re.match(r"\s+([a-z]+)", low[m.end():])
        if not nxt:
            return False
        said = f"{m.group(0)} {nxt.group(1)}"
        return any(said in t.lower() for f in self.cat.active_facets for t in [f.name, *f.synonyms])

    def _name_tokens(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        """A boolean facet whose name's words all appear in one clause ('allow texts' -> Text Allowed)."""
        have = {c.facet for c in conds}
        dated = [(c.provenance.start, c.provenance.end) for c in conds
                 if c.provenance and c.provenance.start is not None and c.provenance.evidence.method == "date"]
        for a, b in _clauses(low):
            if any(a <= s < b for s, _ in dated):
                continue
            clause = low[a:b]
            free = " ".join(w.group(0) for w in re.finditer(r"[a-z]+", clause)
                            if not _overlaps(a + w.start(), a + w.end(), taken))
            for f in self.cat.active_facets:
                if f.kind != "boolean" or f.name in have:
                    continue
                toks = {_stem(w) for w in re.findall(r"[a-z]+", f.name.lower()) if w not in STOP}
                if len(toks) >= 2 and toks <= {_stem(w) for w in free.split()}:
                    neg = bool(NEGATION.search(clause))  # "don't buy beer or wine", "not"
                    conds.append(Condition(facet=f.name, op="is_false" if neg else "is_true",
                                           provenance=_prov(low, a, b, "name words")))
                    have.add(f.name)

    def _partial_values(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        """'<word> <facet noun>' where the word starts exactly one value ('the Salem store' -> Salem Commons)."""
        for m in re.finditer(r"\b([a-z][a-z']{3,})\s+([a-z]+)\b", low):
            if _overlaps(m.start(1), m.end(1), taken) or m.group(1) in STOP:
                continue
            for f in self.cat.active_facets:
                noun = _stem(m.group(2))
                if not f.value_list or noun not in {_stem(w) for w in re.findall(r"[a-z]+", f.name.lower())}:
                    continue
                hits = [v for v in f.value_list if v.lower().split()[0] == m.group(1)]
                if len(hits) == 1:
                    # the same value may sit on a bought and a likelihood facet: the wording picks ('buyers')
                    f = (self._facets_for(hits[0].lower(), "value", f, low, m.start()) or [(f, None)])[0][0]
                    taken.append(_Span(m.start(), m.end()))
                    conds.append(Condition(facet=f.name, op="in", values=hits,
                                           provenance=_prov(low, m.start(), m.end(), "partial", matched=m.group(1))))
                    break
        self._named_by_first_word(low, taken, conds)

    def _named_by_first_word(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        """A name written alone by its first word ('home store is <Town>' for '<Town> Bay'): the one value of
        the catalog that starts with it, when the word is written as a name (capitalised inside the sentence) or
        is no everyday English word."""
        starts = _first_words(self.cat)
        for m in re.finditer(r"\b[a-z][a-z']{3,}\b", low):
            word = m.group(0)
            if word not in starts or len(starts[word]) != 1 or word in STOP or _overlaps(m.start(), m.end(), taken):
                continue
            written = self.orig[m.start():m.end()]
            if not ((written[0].isupper() and m.start() > 0) or not is_common_english(word)):
                continue
            value = starts[word][0]
            holders = self.vocab.get(value.lower())
            if not holders:
                continue
            cands = self._facets_for(value.lower(), "value", holders[0][0], low, m.start())
            if not cands:
                continue
            facet, v = cands[0]
            taken.append(_Span(m.start(), m.end()))
            neg = _negated(low, m.start())
            conds.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=[v or value],
                                   provenance=_prov(low, m.start(), m.end(), "partial", matched=word)))

    def _vague(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """'frequent shoppers', 'spend a lot on groceries': a numeric facet without a number."""
        have = {c.facet for c in conds}
        for m in re.finditer(r"\b(frequent|heavy|heavier|heaviest|big|bigger|biggest|regular|avid)\s+(\w+)|"
                             r"\b([a-z]+)\s+(?:lovers|fans|enthusiasts|junkies)\b|\b(spend|spends|spent|spending|buy|shop)\s+(a lot|lots|heavily|big|often)(?:\s+on\s+(\w+))?", low):
            if _overlaps(m.start(), m.end(), taken):
                continue
            words = " ".join(w for w in m.groups() if w)
            cands = []
            for f in self.cat.active_facets:
                if f.kind != "numeric" or f.name in have:
                    continue
                text = " ".join([f.name, *f.synonyms]).lower()
                score = sum(1 for w in words.split() if len(w) > 3 and (w[:6] in text or _stem(w) in text))
                if score:
                    cands.append((score, f))
            if not cands:
                if m.group(1) in _INTENSE:  # 'our heaviest pharmacy customers': no measure of how much
                    self._intensity.append(m)
                continue
            f = max(cands, key=lambda t: t[0])[1]
            amb = self._vague_amount(f, m.group(0), low, m)
            if amb:
                taken.append(_Span(m.start(), m.end()))
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])

    def _product_words(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """'baby items', 'kids' stuff': a word that names products at several levels — ask which."""
        for m in re.finditer(rf"\b([a-z]+)(?:'s|s')?\s+{VAGUE_NOUNS}\b", low):
            word = _stem(m.group(1))
            if _overlaps(m.start(), m.end(), taken) or m.group(1) in STOP:
                continue
            intent = _intent(low[max(0, m.start() - 70):m.start()], _clause_at(low, m.start()))
            found: list[tuple[int, Facet, str]] = []
            levels = _level_order(self.cat)
            for f in self.cat.active_facets:
                if f.hierarchy_level not in levels or _facet_fit(f, intent, "", self.cat) < 4:
                    continue
                for v in f.value_list:
                    names = [v, *f.value_synonyms.get(v, [])]
                    if any(word in {_stem(t) for t in re.findall(r"[a-z]+", n.lower())} for n in names):
                        found.append((levels.index(f.hierarchy_level), f, v))
            if not found:
                continue
            found.sort(key=lambda t: t[0])
            taken.append(_Span(m.start(), m.end()))
            opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op="in", values=[v], provenance=_prov(low, m.start(), m.end(), "synonym", matched=m.group(0)))])
                    for _, f, v in found[:3]]
            if len({v for _, _, v in found}) > 1:
                r.ambiguities.append(Ambiguity(phrase=m.group(0), question=f"Which products do you mean by '{m.group(0)}'?",
                                               options=opts, replaces=[f.name for _, f, _ in found[:3]]))
            conds.extend(opts[0][1])

    def _ground_products(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """Everyday product words the catalog does not spell ('a kayak', 'sirloin'): the product value nearest
        in meaning, from the index, when one value is clearly nearest; a question when two are close."""
        levels = _level_order(self.cat)
        if self.index is None or not levels:
            return
        spans = _product_phrases(low, taken, _facet_words(self.cat))
        if not spans:
            return
        reps = {lvl: next(f.name for f in self.cat.active_facets if f.hierarchy_level == lvl) for lvl in levels}
        hits = self.index.nearest_values([low[a:b] for a, b, _ in spans], list(reps.values()), k=3)
        for (a, b, weak), cands in zip(spans, hits):
            if _overlaps(a, b, taken):
                continue
            if not cands or cands[0].score < GROUND_MIN:
                self._foreign_product(low[a:b], r)
                continue
            if weak and cands[0].score < WEAK_GROUND_MIN:
                continue  # '<word> shoppers' names products only when the word is plainly one ('lunchtime' is not)
            near = [cands[0]] + [h for h in cands[1:] if cands[0].rank - h.rank < GROUND_MARGIN and h.value != cands[0].value]
            # A value and its own parent are one reading: keep the more specific (the category, not its division).
            near = [h for h in near if not any(o is not h and resolve.descends(self.cat, o.value, h.value) for o in near)]
            phrase = low[a:b]
            picks = [self._facets_for(_norm(h.value), "value", self.cat.get(h.facet), low, a)[:1] for h in near]
            picks = [p[0] for p in picks if p]
            if not picks:
                continue
            taken.append(_Span(a, b))
            opts = [(f"{f.name}: {v}", [Condition(facet=f.name, op="not_in" if _negated(low, a) else "in", values=[v],
                                                  provenance=_prov(low, a, b, "meaning", matched=v,
                                                                   note=_meaning_note(h)))])
                    for (f, v), h in zip(picks, near)]
            if len(opts) > 1:
                r.ambiguities.append(Ambiguity(phrase=phrase, question=f"Which products do you mean by '{phrase}'?",
                                               options=opts, replaces=[f.name for f, _ in picks]))
            conds.extend(opts[0][1])

    def _leftovers(self, low: str, used: list[tuple[int, int]], limit: int = ground.MAX_PHRASES) -> list[tuple[int, int]]:
        """The phrases outside `used` that grounding by meaning may read."""
        words = _facet_name_words(self.cat)
        spans = ground.leftover_phrases(low, used, lambda w: w not in AUDIENCE_WORDS and w not in _CUE_WORDS and (
            w not in STOP or (len(w) >= 4 and w in words)), limit)
        # A phrase of only catalog words was the lexical parts' to read (and to decline: 'store' in 'the Newport
        # store'); meaning is for the words the catalog does not spell ('countryside', 'keeps bouncing').
        lexicon = _lexicon_words(self.cat)
        return [(a, b) for a, b in spans if any(
            w not in STOP and word_number(w) is None and not (_inflections(w) & lexicon)
            for w in re.findall(r"[a-z][a-z']*", low[a:b]))]

    def _expect_leftovers(self, low: str) -> None:
        """Every phrase grounding may read later joins the request's first model call, wherever that comes
        (a few per request: only phrases holding a word the catalog does not spell)."""
        if self.index is not None:
            self.index.embedder.expect([low[a:b] for a, b in self._leftovers(low, [], limit=64)])

    def _ground_leftovers(self, low: str, spans: list[tuple[int, int]], taken: list[_Span], conds: list[Condition],
                          r: Reading) -> None:
        """Phrases still unread after every other part, read by meaning against the catalog's words for its flags
        and values ('children living with them', 'email keeps bouncing'); a question when two readings are close."""
        used = self._read_so_far(low, conds, taken, r)
        spans = [(a, b) for a, b in spans if not any(x < b and a < y for x, y in used)]
        facets = {n: f for n, f in _groundable(self.cat).items() if n not in {c.facet for c in conds}}
        if not spans or not facets:
            return
        hits = self.index.nearest_terms([low[a:b] for a, b in spans], list(facets))
        found = [ground.Grounded(a, b, low[a:b], rs) for (a, b), hs in zip(spans, hits)
                 if (rs := ground.choose(low[a:b], hs, facets))]
        for g in ground.pick(found):
            opts = [self._leftover_option(low, g, c) for c in g.readings[:3]]
            taken.append(_Span(g.start, g.end))
            if not g.sure:  # close readings, or one only somewhat near: the marketer says which, if any
                # without it nothing may be left to build: then the other answer is to say it another way
                opts.append((f"Build without '{g.phrase}'" if conds else "None of these: rephrase", []))
                r.ambiguities.append(Ambiguity(phrase=g.phrase, question=f"What do you mean by '{g.phrase}'?",
                                               options=opts, replaces=sorted({c.facet.name for c in g.readings[:3]})))
            conds.extend(opts[0][1])

    def _read_so_far(self, low: str, conds: list[Condition], taken: list[_Span], r: Reading) -> list[tuple[int, int]]:
        """Stretches already read, and words a chosen facet explains ('store' after 'Express' as a store format)."""
        used = [(u.start, u.end) for u in _uses(low, conds, taken, r)]
        return used + [(m.start(), m.end()) for m in re.finditer(r"[a-z]+", low) if self._explained(m.group(0), conds)]

    def _leftover_option(self, low: str, g: "ground.Grounded", c: "ground.Candidate") -> tuple[str, list[Condition]]:
        neg = ground.negates(g.phrase, _negated(low, g.start), c.matched)
        prov = _prov(low, g.start, g.end, "meaning", matched=c.matched,
                     note=f"nearest catalog words: '{c.matched}' ({c.score:.2f})")
        if c.value is None:
            cond = Condition(facet=c.facet.name, op="is_false" if neg else "is_true", provenance=prov)
            return (f"{'not ' if neg else ''}{c.facet.name}", [cond])
        cond = Condition(facet=c.facet.name, op="not_in" if neg else "in", values=[c.value], provenance=prov)
        return (f"{c.facet.name}: {'not ' if neg else ''}{c.value}", [cond])

    def _foreign_product(self, phrase: str, r: Reading) -> None:
        """A bought word that is neither English nor the catalog's ('zapatos'): ask, never drop it silently."""
        words = re.findall(r"[a-z]{3,}", phrase)
        if not words or not all(is_foreign(w) and w not in self.known_words for w in words):
            return
        r.ambiguities.append(Ambiguity(
            phrase=phrase, question=f"The catalog has no product called '{phrase}'. Build the segment without it?",
            options=[(f"Build without '{phrase}'", []), ("Cancel and rephrase", [])], replaces=[]))

    def _unknown_concepts(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """A word describing the audience that no condition used: asked about with the catalog's readings of it
        ('healthy shoppers': a wellness program or a diet), or, when no facet covers it, whether to build without."""
        for m in re.finditer(rf"\b([a-z][a-z']+)[\s-]+(?:{'|'.join(SCALE_NOUNS)})\b", low):
            word = m.group(1)  # 'Gold-level members' where no level is called Gold: another retailer's scale
            if not (_overlaps(m.start(1), m.end(1), taken) or word in STOP or word in self.known_words or len(word) < 3):
                taken.append(_Span(m.start(), m.end()))
                r.ambiguities.append(Ambiguity(
                    phrase=m.group(0), question=f"The catalog has no '{m.group(0)}'. Build the segment without it?",
                    options=[(f"Build without '{m.group(0)}'", []), ("Cancel and rephrase", [])], replaces=[]))
        for m in re.finditer(rf"\b([a-z][a-z'-]+)\s+{AUDIENCE}\b", low):
            word = m.group(1)
            if _overlaps(m.start(1), m.end(1), taken) or word in STOP or word in _CUE_WORDS or word in SCALE_NOUNS:
                continue  # a scale noun alone ('Gold status shoppers') is said of the value before it
            if len(word) < 4 or word.endswith("ly"):
                continue
            if word in self.known_words:
                if not self._explained(word, conds):
                    self._ask_modifier(word, low, m, taken, conds, r)
                continue
            r.ambiguities.append(Ambiguity(
                phrase=word, question=f"The catalog has no facet for '{word}'. Build the segment without it?",
                options=[(f"Build without '{word}'", []), ("Cancel and rephrase", [])], replaces=[]))

    def _explained(self, word: str, conds: list[Condition]) -> bool:
        """The word belongs to a facet already chosen ('rewards' in 'Gold rewards members')."""
        stem = _stem(word)
        for c in conds:
            f = self.cat.get(c.facet)
            if f and stem in {_stem(t) for t in re.findall(r"[a-z]+", " ".join([f.name, *f.synonyms]).lower())}:
                return True
        return False

    def _ask_modifier(self, word: str, low: str, m: re.Match, taken: list[_Span], conds: list[Condition],
                      r: Reading) -> None:
        readings = _modifier_readings(self.cat, _stem(word))
        if not readings:
            return
        prov = _prov(low, m.start(1), m.end(1), "synonym", matched=word, note="one of several catalog readings")
        opts = [(label, [c.model_copy(update={"provenance": prov}) for c in cs]) for label, cs in readings[:3]]
        opts.append((f"Build without '{word}'", []))
        taken.append(_Span(m.start(1), m.end(1)))
        r.ambiguities.append(Ambiguity(phrase=word, question=f"What should '{word}' mean here?", options=opts,
                                       replaces=sorted({c.facet for _, cs in opts for c in cs})))
        conds.extend(opts[0][1])

    @property
    def known_words(self) -> set[str]:
        return _known_words(self.cat)


# ---- helpers -----------------------------------------------------------------------------------

def _add(found: Extracted, taken: list[_Span], conds: list[Condition], r: Reading) -> Extracted:
    """Merge what an extract pass read into the reading so far: its spans, conditions and notes, in order."""
    taken.extend(found.spans)
    conds.extend(found.conditions)
    r.notes.extend(found.notes)
    return found


def _noted(settled: resolve.Resolved, r: Reading) -> list[Condition]:
    """The conditions a resolve step kept; its notes join the reading's."""
    r.notes.extend(settled.notes)
    return settled.conditions


@dataclass
class _FakeMatch:
    s: int
    e: int

    def start(self) -> int:
        return self.s

    def end(self) -> int:
        return self.e


def holders_facet(holders: list[tuple[Facet, str]]) -> Facet:
    return holders[0][0]


def _negated(low: str, pos: int) -> bool:
    clause_start = max(low.rfind(",", 0, pos), low.rfind(";", 0, pos))
    window = low[max(clause_start + 1, pos - 40): pos]
    if re.search(r"\bor\s+$", window):  # 'minus anyone whose … is <value> or [<value>]': the list's negation
        window = low[max(clause_start + 1, pos - 80): pos]
    window = re.split(r"\b(and|or)\b(?! (?:churned|lapsed))", window)[-1] if " and " in window and "excluding" not in window else window
    return bool(NEGATION.search(window))


def _product_phrases(low: str, taken: list[_Span], facet_words: frozenset[str]) -> list[tuple[int, int, bool]]:
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
            if run and len(run) <= 3:
                s_, e_ = run[0].start(), run[-1].end()
                buyer_after = w is not None and re.match(r"(buyers?|shoppers|purchasers|lovers|fans)\b", w.group(0))
                if any(c <= s_ for c in cues) or buyer_after:
                    weak = not any(c <= s_ for c in cues) and not re.match(r"(buyers?|purchasers)\b", w.group(0))
                    out.append((a + s_, a + e_, weak))
            run = []
    return out


def _switched_off(low: str, start: int, end: int) -> bool:
    """'turned auto renew off', 'switched off app notifications', 'opted out of texts': a setting that is off."""
    after, before = low[end:end + 25], low[max(0, start - 30):start]
    return bool(re.match(r"\s*(?:(?:turned|switched|set|is|are)\s+)?off\b", after)
                or re.search(r"\b(?:turned|switched|shut|set) off\s+(?:their|the|his|her)?\s*$", before)
                or re.search(r"\b(?:disabled|opted out of|unsubscribed from)\s+(?:their|the|his|her)?\s*$", before))


def _negate(c: Condition) -> Condition:
    flip = {"in": "not_in", "not_in": "in", "is_true": "is_false", "is_false": "is_true"}
    return c.model_copy(update={"op": flip.get(c.op, c.op)})


def _intent(before: str, clause: str) -> str:
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


def _facet_fit(f: Facet, intent: str, clause: str, cat: Catalog) -> float:
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


def _fmt_amount(v: float, unit: str) -> str:
    return f"${v:,.0f}" if unit.lower() == "usd" else f"{v:g} {unit}"


@per_catalog
def _phrasebook(catalog: Catalog) -> list[Entry]:
    return build_phrasebook(catalog)


_norm = norm


_VALUE_WORDS: set[str] = set()


@per_catalog
def _lexicon_table(catalog: Catalog) -> list[tuple[str, str, str]]:
    pairs: dict[tuple[str, str], str] = {}
    names = {_norm(ph) for f in catalog.facets for v in f.value_list for ph in [v, *f.value_synonyms.get(v, [])]}
    _VALUE_WORDS.update(_norm(v) for f in catalog.facets for v in f.value_list if " " not in v)
    for f in catalog.facets:
        for ph in [f.name, *f.synonyms]:
            n = _norm(ph)
            if len(n) >= 3:
                for variant in _variants(n):
                    pairs.setdefault((variant, f.name), "facet")
        for v in f.value_list:
            for ph in [v, *f.aliases(v), *_other_names(v)]:
                n = _norm(ph)
                if len(n) >= 2:
                    for form in _number_forms(n):
                        pairs[(form, f.name)] = "value"
                if len(n) > 5 and n.endswith("s") and not n.endswith("ss") and n[:-1] not in names:
                    pairs.setdefault((n[:-1], f.name), "value")  # 'a game console' names Game Consoles
    return sorted(((p, f, k) for (p, f), k in pairs.items()), key=lambda t: (-len(t[0]), t[2] != "value"))


_lexicon = _lexicon_table


def _number_forms(name: str) -> list[str]:
    """A banded value as people say it: '3 7 km' (from '3-7 km') is also '3 to 7 km'; 'under 1 km' is also
    'within 1 km', 'less than a km'."""
    m = re.match(r"^(.*?\b)(\d+) (\d+)(\b.*)$", name)
    if m:
        return [name, f"{m.group(1)}{m.group(2)} to {m.group(3)}{m.group(4)}"]
    m = re.match(r"^(?:under|less than|below) (\d+)( [a-z]+)$", name)
    if m:
        counts = [m.group(1)] + (["a"] if m.group(1) == "1" else [])
        return [name] + [f"{w} {n}{m.group(2)}" for w in ("under", "within", "less than") for n in counts
                         if f"{w} {n}{m.group(2)}" != name]
    return [name]


def _variants(phrase: str) -> list[str]:
    """A phrase ending in an audience noun also reads with the other audience nouns ('... customers' as '... shoppers')."""
    out = [phrase]
    nouns = ["customers", "shoppers", "buyers", "members"]
    last = phrase.split()[-1]
    if last in nouns and " " in phrase and not _VALUE_WORDS & {phrase.split()[0]}:
        out += [phrase[: -len(last)] + n for n in nouns if n != last]
    if phrase.startswith("has "):
        out.append("have " + phrase[4:])
    if m := re.fullmatch(r"(\S+s) (\S+)", phrase):  # 'owns home' is also 'own home', 'own their home'
        verb, noun = m.groups()
        if verb in _VERBS_3S:
            out.append(f"{verb[:-1]} {noun}")
            if noun not in STOP:
                out += [f"{v} {d} {noun}" for v in (verb, verb[:-1]) for d in ("their", "a", "the", "our", "his", "her")]
    if m := re.search(r"\S \b(the|their|our|a)\b \S", phrase):  # 'near the store' is also 'near their store'
        out += [phrase[:m.start(1)] + d + phrase[m.end(1):] for d in ("the", "their", "our", "a") if d != m.group(1)]
    if m := re.match(r"(\S{3,} \S{3,}) (?:on|enabled|allowed)$", phrase):
        out.append(m.group(1))  # 'push notifications on' names the setting, which may be 'off'
    return out


@per_catalog
def _vocab_table(catalog: Catalog) -> dict[str, list[tuple[Facet, str]]]:
    out: dict[str, list[tuple[Facet, str]]] = {}
    for f in catalog.facets:
        for v in f.value_list:
            for ph in [v, *f.aliases(v), *_other_names(v)]:
                for n in _number_forms(_norm(ph)):
                    out.setdefault(n, []).append((f, v))
    singular: dict[str, list[tuple[Facet, str]]] = {}
    for n, holders in list(out.items()):
        if len(n) > 5 and n.endswith("s") and not n.endswith("ss"):
            singular.setdefault(n[:-1], []).extend(holders)
    for n, holders in singular.items():  # 'a kayak' is also a 'Kayaks' value, beside any value whose alias is 'kayak'
        have = out.setdefault(n, [])
        have.extend(h for h in holders if h not in have)
    return out


@per_catalog
def _facet_words(catalog: Catalog) -> frozenset[str]:
    """Words of facet names and facet synonyms, singular and plural."""
    words = {w for f in catalog.facets for t in [f.name, *f.synonyms] for w in re.findall(r"[a-z]+", t.lower())}
    return frozenset(words | {w + "s" for w in words} | {w[:-1] for w in words if w.endswith("s")})


@per_catalog
def _singular_only(catalog: Catalog) -> frozenset[tuple[str, str]]:
    """(phrase, facet) pairs that hold only by reading a plural value as singular, where the phrase is also
    some value's own name or alias ('women' as a gender alias; 'womens' as a product value)."""
    exact: dict[str, set[str]] = {}
    for f in catalog.facets:
        for v in f.value_list:
            for ph in [v, *f.value_synonyms.get(v, [])]:
                exact.setdefault(_norm(ph), set()).add(f.name)
    return frozenset((n, f.name) for n, holders in _vocab_table(catalog).items() if n in exact
                     for f, _ in holders if f.name not in exact[n])


_vocab = _vocab_table


@per_catalog
def _known_table(catalog: Catalog) -> frozenset[str]:
    words: set[str] = set()
    for f in catalog.facets:
        for text in [f.name, f.description, *f.synonyms, *f.value_list, *[a for al in f.value_synonyms.values() for a in al]]:
            words |= set(re.findall(r"[a-z]+", text.lower()))
    for h in catalog.vocabulary_hints:
        words |= set(re.findall(r"[a-z]+", h.lower()))
    for s in catalog.seasons:
        words |= set(re.findall(r"[a-z]+", s.lower()))
    return frozenset(words | {_stem(w) for w in words})


_known_words = _known_table


def _recently_days(catalog: Catalog) -> int:
    for h in catalog.vocabulary_hints:
        m = re.search(r"'recently'[^=]*=\s*(\d+)\s*days", h)
        if m:
            return int(m.group(1))
    return 90


_GENERIC_PLURALS = frozenset(re.findall(r"[a-z]+", VAGUE_NOUNS))  # 'goods', 'items': nouns, not a value's plural


def _values_in(facet: Facet, text: str) -> list[str]:
    """The facet's values written in the text, by name or alias; a capitalised short alias ('IN') is not the
    word 'in'."""
    return [v for v in facet.value_list
            if any(re.search(rf"(?<![\w']){re.escape(_norm(n))}(?![\w])", text) for n in [v, *facet.aliases(v)]
                   if not (n.isupper() and len(n) <= 3))]


_MODALS = frozenset("may might can could would should must will".split())  # English modal verbs


def _modal(phrase: str, low: str, end: int) -> bool:
    """A modal verb before a verb ('who may be interested', 'may want to try') is the verb, not a value of the
    same spelling (a month)."""
    return phrase in _MODALS and bool(re.match(r"\s+(?:not\s+)?(be|buy|try|want|like|need|have|shop|purchase|prefer|"
                                             r"respond|enjoy|consider|switch|order|use|visit|return|lapse|churn)\b",
                                             low[end:]))


def _phrasal_verb(phrase: str, low: str, end: int) -> bool:
    """A value named like a verb and its particle ('stock up') used as that verb: followed by 'on' or 'for'."""
    return bool(re.search(r"\s(up|in|out|off|down|back)$", phrase) and re.match(r"\s+(on|for)\b", low[end:]))


def _other_names(value: str) -> list[str]:
    """English other names of a season value ('autumn' for a value named 'fall'), from the calendar's season aliases."""
    return [alias for alias, name in season_aliases().items() if name == _norm(value)]


def _ranked_top(catalog: Catalog, phrase: str) -> tuple[Facet, str, float] | None:
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


def _cadence(facet: Facet) -> list[tuple[str, float]]:
    """For a count over a window named in weeks, months or days ('Trips 13 Weeks'): once and twice per unit of
    the window ('about weekly', 13+; 'twice a week', 26+), within the facet's range."""
    m = re.search(r"(\d+)\s*(Weeks?|Months?|M|D)\b", facet.name)
    rng = facet.numeric_range
    if not m or rng is None or rng.unit.lower() in ("usd", "percent", "days", "score", "points"):
        return []
    unit = {"w": "week", "m": "month", "d": "day"}[m.group(2)[0].lower()]
    n = int(m.group(1))
    return [(label, k * n) for label, k in ((f"about once a {unit}", 1), (f"about twice a {unit}", 2)) if k * n <= rng.max]


@per_catalog
def _groundable(catalog: Catalog) -> dict[str, Facet]:
    """Flags and non-product value lists: what a leftover phrase may be read as without a number or a date."""
    levels = _product_levels(catalog)
    return {f.name: f for f in catalog.active_facets if f.kind in ("boolean", "categorical")
            and f.hierarchy_level not in levels and not f.value_examples}


def _inflections(w: str) -> set[str]:
    """The word and the forms it may be an inflection of ('filled' -> 'fill', 'texts' -> 'text')."""
    out = {w}
    for suf in ("s", "es", "ed", "d", "ing"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            out.add(w[:-len(suf)])
    return out


@per_catalog
def _first_words(catalog: Catalog) -> dict[str, list[str]]:
    """First word of a multi-word value name -> the distinct values that start with it."""
    out: dict[str, list[str]] = {}
    for f in catalog.active_facets:
        for v in f.value_list:
            words = re.findall(r"[a-z][a-z']*", v.lower())
            if len(words) > 1 and v not in out.setdefault(words[0], []):
                out[words[0]].append(v)
    return out


@per_catalog
def _lexicon_words(catalog: Catalog) -> frozenset[str]:
    """Every word the lexical parts match on: facet names, synonyms, values and their aliases, hints."""
    texts = [t for f in catalog.active_facets for t in [f.name, *f.synonyms, *f.value_list,
                                                         *[a for al in f.value_synonyms.values() for a in al]]]
    return frozenset(w for t in [*texts, *catalog.vocabulary_hints] for w in re.findall(r"[a-z]+", t.lower()))


@per_catalog
def _facet_name_words(catalog: Catalog) -> frozenset[str]:
    """Words of facet names: content words here even where a request's frame uses them ('email')."""
    return frozenset(w for f in catalog.active_facets for w in re.findall(r"[a-z]+", f.name.lower()))


def _modifier_readings(catalog: Catalog, stem: str) -> list[tuple[str, list[Condition]]]:
    """The catalog's readings of a describing word: its phrasebook entries, the flags whose name or synonyms
    start with it, then the values named with it; a product value or a number is no reading of a modifier."""
    def has(text: str, first: bool = False) -> bool:
        toks = [_stem(t) for t in re.findall(r"[a-z]+", text.lower())]
        return bool(toks) and (toks[0] == stem if first else stem in toks)
    out: list[tuple[int, str, list[Condition]]] = []
    for e in _phrasebook(catalog):
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


def _meaning_note(hit: ValueHit) -> str:
    if hit.matched_synonym:
        return f"nearest in meaning to '{hit.matched_synonym}', sold under {hit.value} ({hit.score:.2f})"
    return f"nearest in meaning ({hit.score:.2f})"


@per_catalog
def _typo_vocabulary(catalog: Catalog):
    """Typo targets: the catalog's words plus the reader's own cue words."""
    words = set(_known_words(catalog)) | STOP | AUDIENCE_WORDS | _CUE_WORDS
    words |= {w for e in _phrasebook(catalog) for w in re.findall(r"[a-z]+", e.phrase)}
    words |= {"reachable", "contactable"}
    return vocabulary(words)


_CUES = (("intent cue: purchase", PURCHASE_CUES), ("intent cue: likelihood", PROPENSITY_CUES),
         ("intent cue: browsing", BROWSE_CUES), ("negation", NEGATION))


def _uses(low: str, conds: list[Condition], taken: list[_Span], r: Reading) -> list[Use]:
    """What each read stretch of the text became: a condition, a question, a tier or window, an intent cue."""
    uses = [Use(start=c.provenance.start, end=c.provenance.end, became=c.render())
            for c in conds if c.provenance and c.provenance.start is not None and c.provenance.end is not None]
    for amb in r.ambiguities:
        for m in re.finditer(rf"\b{re.escape(amb.phrase.lower())}\b", low):
            uses.append(Use(start=m.start(), end=m.end(), became=f"asked: {amb.question}", role="asked"))
    # The first use that covers a word names it: a verb cue inside a date window ('bought in the last 90
    # days') says more than the window, while 'top 10%' is a tier before it is a likelihood cue.
    cues = [(rx is PROPENSITY_CUES, Use(start=m.start(), end=m.end(), became=label, role="cue"))
            for label, rx in _CUES for m in rx.finditer(low)]
    uses += [u for likely, u in cues if not likely]
    uses += [Use(start=t.start, end=t.end, became="read as a tier, window or rule", role="rule") for t in taken]
    uses += [u for likely, u in cues if likely]
    return uses
