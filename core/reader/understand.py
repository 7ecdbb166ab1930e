"""Read a marketer's request into a draft cohort: phrases -> conditions with provenance, plus ambiguities.

The reader runs the stages in order — normalise (typos), extract (numbers, dates, tiers, reachability), ground
(by spelling in `lexical`, products and vague amounts in `products`, by meaning in `ground`), resolve, account —
each a function of the catalog and the request that returns what it found. Everything tenant-specific comes
from the catalog: facet names, synonyms, values, value synonyms, hierarchy, seasons, rules and the phrasebook
read from vocabulary hints.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable

from core.catalog import Catalog
from core.reader import extract, ground, lexical, lexicon, products, resolve
from core.reader.account import Coverage, Use, account, uses
from core.reader.common import STOP, Ambiguity, Context, Found, Span, _clauses
from core.segment import Condition
from core.text.dates import find_dates
from core.text.normalise import Normalised, correct_typos

__all__ = ["Ambiguity", "Reading", "Understander"]


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
    """Turns request text into conditions for one tenant; holds only what every read shares."""

    def __init__(self, catalog: Catalog, today: dt.date, index=None,
                 quantiles: Callable[[str, list[float]], list[float]] | None = None) -> None:
        self.cat = catalog
        self.quantiles = quantiles  # a numeric facet's values at given shares of the sample
        self.today = today
        self.index = index

    def expect(self, text: str) -> None:
        """The phrases a read of `text` may embed join the next model call (a cohort's, before its worker starts)."""
        flat = correct_typos(text.replace("’", "'"), lexicon.typo_vocabulary(self.cat)).text.lower().replace("-", " ")
        ground.expect_leftovers(Context(self.cat, self.index, self.quantiles, written=flat), flat)

    def read(self, text: str) -> Reading:
        """The request's reading; a campaign named in it ('the spring patio launch') is no part of the audience,
        unless nothing else in the request is."""
        r = self._read(text, skip_campaign=True)
        if r.conditions or r.ambiguities or not any("campaign" in n for n in r.notes):
            return r
        return self._read(text, skip_campaign=False)

    def _read(self, text: str, skip_campaign: bool) -> Reading:
        r = Reading()
        r.normalised = correct_typos(text.replace("’", "'"), lexicon.typo_vocabulary(self.cat))
        r.notes += [c.evidence for c in r.normalised.corrections]
        text = r.normalised.text
        ctx = Context(self.cat, self.index, self.quantiles, written=text.replace("’", "'"))
        low = text.lower().replace("’", "'")
        flat = low.replace("-", " ")  # same length: spans stay valid
        taken: list[Span] = lexical.campaign_names(flat) if skip_campaign else []
        conds: list[Condition] = []
        ignored = [Use(start=t.start, end=t.end, became="ignored: names the campaign, not the audience", kind="ignored")
                   for t in taken]
        r.notes += [f"'{text[t.start:t.end]}' names the campaign, not the audience" for t in taken]
        r.phrases = [low[a:b].strip() for a, b in _clauses(low) if low[a:b].strip()]
        add = lambda found: _add(found, taken, conds, r)  # noqa: E731 - each step's findings join the reading in order
        ground.expect_leftovers(ctx, flat)
        add(lexical.not_yet(ctx, low))
        tier = add(extract.tier(self.cat, lexicon.phrasebook(self.cat), low, taken)).tier
        dates = find_dates(text, self.today, self.cat.fiscal_year_start_month, self.cat.seasons,
                           lexicon.recently_days(self.cat))
        add(extract.ages(self.cat, low, taken))
        add(extract.ranges(self.cat, self.today, low, taken))
        add(extract.elapsed(self.cat, low, taken))
        add(extract.numbers(self.cat, self.today, low, taken))
        add(lexical.phrasebook_entries(ctx, low, taken))
        add(extract.reachability(self.cat, low, taken))
        add(extract.dates(self.cat, lexicon.table(self.cat), low, dates, taken))
        add(extract.times(self.cat, flat, taken))
        add(lexical.another_degrees(ctx, flat, taken))  # before the band's words are read as values of their own
        add(lexical.value_groups(ctx, flat, taken, conds))  # a named value group outranks a facet synonym inside it
        vague, intense = products.vague_amounts(ctx, flat, taken, conds)
        add(vague)
        add(products.product_words(ctx, flat, taken))
        add(lexical.catalog_names(ctx, flat, taken, conds))
        add(lexical.misspelled_values(ctx, flat, taken))
        add(lexical.flag_name_words(ctx, flat, taken, conds))
        add(lexical.partial_values(ctx, flat, taken))
        add(lexical.first_word_names(ctx, flat, taken))
        add(lexical.another_levels(ctx, flat, taken))
        add(lexical.state_codes(ctx, flat, taken))
        add(lexical.listed_siblings(ctx, flat, taken, conds))
        if self.index is not None:
            leftovers = ground.leftovers(ctx, flat, ground.read_so_far(ctx, flat, conds, taken, r.ambiguities))
        add(products.by_meaning(ctx, flat, taken))
        if self.index is not None:
            add(ground.by_meaning(ctx, flat, leftovers, taken, conds, r.ambiguities))
        add(products.intensity(ctx, flat, intense, taken, conds))
        add(ground.unknown_concepts(ctx, flat, taken, conds))
        conds = resolve.dated_words(self.cat, conds, low)
        kept = _noted(resolve.measure_words(self.cat, conds, low), r)
        r.ambiguities = [a for a in r.ambiguities if not _dropped(a, conds, kept)]
        conds = kept
        conds = _noted(resolve.own_windows(self.cat, conds), r)
        conds = resolve.apply_tier(self.cat, conds, tier)
        for a in r.ambiguities:  # a chosen reading carries the request's tier like the default does
            a.options = [(label, resolve.apply_tier(self.cat, cs, tier)) for label, cs in a.options]
        conds = resolve.specific_product_level(self.cat, conds)
        conds = resolve.drop_implied(self.cat, conds)
        conds = _noted(resolve.exclusive(self.cat, conds), r)
        r.conditions = resolve.merge(conds)
        said = [*ignored, *uses(low, conds, taken, r.ambiguities), *ground.facet_words_said(ctx, low, conds),
                *products.generic_nouns_said(low, conds), *ground.compound_halves_said(ctx, low, conds)]
        r.coverage = account(r.normalised, said, STOP)
        return r


def _add(found: Found, taken: list[Span], conds: list[Condition], r: Reading) -> Found:
    """Merge what a step read into the reading so far: its spans, conditions, questions and notes, in order."""
    taken.extend(found.spans)
    conds.extend(found.conditions)
    r.ambiguities.extend(found.ambiguities)
    r.notes.extend(found.notes)
    return found


def _dropped(amb: Ambiguity, before: list[Condition], after: list[Condition]) -> bool:
    """The question's default reading was dropped by a resolve step: the question goes with it."""
    gone = [c for c in before if not any(c is k for k in after)]
    default = amb.options[0][1] if amb.options else []
    return bool(default) and all(any(c is g for g in gone) for c in default)


def _noted(settled: resolve.Resolved, r: Reading) -> list[Condition]:
    """The conditions a resolve step kept; its notes join the reading's."""
    r.notes.extend(settled.notes)
    return settled.conditions
