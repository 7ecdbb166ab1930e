"""Ground the words no other part of the reader used: each leftover phrase is compared by meaning with the
catalog's own words for its facets and values (names, synonyms, descriptions, value aliases).

'children living with them', 'email keeps bouncing', 'served in the armed forces' name a facet that no
synonym spells. Two pure steps: `leftover_phrases` cuts candidate phrases out of the unused stretches of
a request, and `choose` turns each phrase's nearest catalog texts into readings — one when it is clearly
nearest, several (to ask about) when they are close, none when nothing is near enough. `by_meaning` runs
them against the index for one request; `unknown_concepts` asks about the describing words nothing read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.catalog import Facet
from core.reader import lexicon, questions
from core.reader.account import Use, uses
from core.reader.common import (AUDIENCE, AUDIENCE_WORDS, STOP, _CUE_WORDS, Ambiguity, Context, Found, Span, _busy,
                                _clauses, _prov, _stem)
from core.reader.cues import negated
from core.reader.lexical import GENERIC_NOUNS
from core.reader.questions import SCALE_NOUNS
from core.segment import Condition
from core.text.numbers import word_number

LEFTOVER_MIN = 0.65     # cosine a leftover phrase must reach with a facet's or value's own words to be read as it
LEFTOVER_SURE = 0.78    # ...and this to be read without asking (paraphrase-near); between the two it is asked about
LEFTOVER_MARGIN = 0.04  # readings closer than this to the best are offered as a question
VALUE_FLOOR = 0.52      # a phrase near a categorical facet's words takes its nearest value only when this near
MAX_WORDS = 5           # longest phrase compared
MAX_PHRASES = 24        # phrases compared per request (one model call embeds them all)

_TOKEN = re.compile(r"[a-z][a-z']*")
_PUNCT = re.compile(r"[,;:.()!?/]")
BREAKS = frozenset("""and or but yet who whose that which with while plus also nor although though even because so
if when where whom than then either""".split())
# Prepositions join a phrase ('back after a year away') but never start or end one ('through an email').
PREPOSITIONS = frozenset("""through across over under about around after before during since until within without
between near along per via""".split())
_NEGATION = re.compile(r"\b(not|no|never|non|without|no longer|don't|doesn't|isn't|aren't|haven't|hasn't|can't|won't)\b")


@dataclass(frozen=True)
class Candidate:
    """One reading of a leftover phrase: a flag (value None) or a value, how near it is, and what it matched."""
    facet: Facet
    value: str | None
    score: float
    matched: str


@dataclass(frozen=True)
class Grounded:
    """A leftover phrase and its readings, best first."""
    start: int
    end: int
    phrase: str
    readings: tuple[Candidate, ...]

    @property
    def sure(self) -> bool:
        """One reading, near enough to take without asking."""
        return len(self.readings) == 1 and self.readings[0].score >= LEFTOVER_SURE


def leftover_phrases(low: str, used: list[tuple[int, int]], edge_ok, limit: int = MAX_PHRASES) -> list[tuple[int, int]]:
    """Phrases of up to MAX_WORDS words inside the stretches no part read, cut at punctuation and joining words;
    a phrase starts and ends on a word `edge_ok` accepts (not a function word)."""
    runs: list[list[re.Match]] = [[]]
    prev_end = 0
    for m in _TOKEN.finditer(low):
        blocked = m.group(0) in BREAKS or any(a < m.end() and m.start() < b for a, b in used)
        if blocked or _PUNCT.search(low[prev_end:m.start()]):
            runs.append([])
        if not blocked:
            runs[-1].append(m)
        prev_end = m.end()
    out: list[tuple[int, int]] = []
    ok = lambda w: w not in PREPOSITIONS and edge_ok(w)  # noqa: E731
    for run in runs:
        for i, first in enumerate(run):
            if not ok(first.group(0)):
                continue
            for last in run[i:i + MAX_WORDS]:
                if ok(last.group(0)):
                    out.append((first.start(), last.end()))
    # Longer phrases first: they carry the context a single word lacks, and the cap keeps them.
    return sorted(dict.fromkeys(out), key=lambda s: (-(s[1] - s[0]), s[0]))[:limit]


def choose(phrase: str, hits: list, facets: dict[str, Facet]) -> tuple[Candidate, ...]:
    """The readings of one phrase from its nearest catalog texts (`hits`: facet, value '' for the facet's own
    words, score, matched text): the best and any within LEFTOVER_MARGIN of it; none below LEFTOVER_MIN."""
    best: dict[tuple[str, str | None], Candidate] = {}
    value_hits = [h for h in hits if h.value]
    for h in hits:
        f = facets.get(h.facet)
        if f is None:
            continue
        if f.kind == "boolean":
            cand = Candidate(f, None, h.score, h.matched_synonym or f.name)
        elif h.value:
            cand = Candidate(f, h.value, h.score, h.matched_synonym or h.value)
        else:  # near the facet's own words: its nearest value, when the phrase is near one at all
            v = next((o for o in value_hits if o.facet == h.facet), None)
            if v is None or v.score < VALUE_FLOOR:
                continue
            cand = Candidate(f, v.value, max(h.score, v.score), h.matched_synonym or f.name)
        key = (f.name, cand.value)
        if key not in best or cand.score > best[key].score:
            best[key] = cand
    ranked = sorted(best.values(), key=lambda c: -c.score)
    if not ranked or ranked[0].score < LEFTOVER_MIN:
        return ()
    return tuple(c for c in ranked if ranked[0].score - c.score < LEFTOVER_MARGIN)


def negates(phrase: str, before_negated: bool, matched: str) -> bool:
    """Whether the reading is the flag's 'false' side: a negated phrase read through a plain catalog word, or a
    plain phrase read through a negated one ('email keeps bouncing' ~ 'email not bounced')."""
    said = before_negated or bool(_NEGATION.search(phrase))
    return said != bool(_NEGATION.search(matched.lower()))


def pick(grounded: list[Grounded]) -> list[Grounded]:
    """Non-overlapping phrases, nearest first: a phrase and the words inside it are one reading."""
    out: list[Grounded] = []
    for g in sorted(grounded, key=lambda g: (-g.readings[0].score, -(g.end - g.start))):
        if not any(o.start < g.end and g.start < o.end for o in out):
            out.append(g)
    return sorted(out, key=lambda g: g.start)


def leftovers(ctx: Context, low: str, used: list[tuple[int, int]], limit: int = MAX_PHRASES) -> list[tuple[int, int]]:
    """The phrases outside `used` that grounding by meaning may read."""
    words = lexicon.facet_name_words(ctx.catalog)
    spans = leftover_phrases(low, used, lambda w: w not in AUDIENCE_WORDS and w not in _CUE_WORDS and (
        w not in STOP or (len(w) >= 4 and w in words)), limit)
    # A phrase of only catalog words was the lexical parts' to read (and to decline: 'store' in 'the <Town>
    # store'); meaning is for the words the catalog does not spell ('countryside', 'keeps bouncing').
    spelled = lexicon.lexicon_words(ctx.catalog)
    return [(a, b) for a, b in spans if any(
        w not in STOP and word_number(w) is None and not (lexicon.inflections(w) & spelled)
        for w in re.findall(r"[a-z][a-z']*", low[a:b]))]


def expect_leftovers(ctx: Context, low: str) -> None:
    """Every phrase grounding may read later joins the request's first model call, wherever that comes
    (a few per request: only phrases holding a word the catalog does not spell)."""
    if ctx.index is not None:
        ctx.index.embedder.expect([low[a:b] for a, b in leftovers(ctx, low, [], limit=64)])


def by_meaning(ctx: Context, low: str, spans: list[tuple[int, int]], taken: list[Span], conds: list[Condition],
               asked: list[Ambiguity]) -> Found:
    """Phrases still unread after every other part, read by meaning against the catalog's words for its flags
    and values ('children living with them', 'email keeps bouncing'); a question when two readings are close."""
    out = Found()
    used = read_so_far(ctx, low, conds, taken, asked)
    spans = [(a, b) for a, b in spans if not any(x < b and a < y for x, y in used)]
    facets = {n: f for n, f in lexicon.groundable(ctx.catalog).items() if n not in {c.facet for c in conds}}
    if not spans or not facets or ctx.index is None:
        return out
    hits = ctx.index.nearest_terms([low[a:b] for a, b in spans], list(facets))
    found = [Grounded(a, b, low[a:b], rs) for (a, b), hs in zip(spans, hits) if (rs := choose(low[a:b], hs, facets))]
    for g in pick(found):
        opts = [option(low, g, c) for c in g.readings[:3]]
        out.spans.append(Span(g.start, g.end))
        if not g.sure:  # close readings, or one only somewhat near: the marketer says which, if any
            # without it nothing may be left to build: then the other answer is to say it another way
            opts.append((f"Build without '{g.phrase}'" if conds or out.conditions else "None of these: rephrase", []))
            out.ask(Ambiguity(phrase=g.phrase, question=f"What do you mean by '{g.phrase}'?",
                              options=opts, replaces=sorted({c.facet.name for c in g.readings[:3]})))
        else:
            out.conditions.extend(opts[0][1])
    return out


def read_so_far(ctx: Context, low: str, conds: list[Condition], taken: list[Span],
                asked: list[Ambiguity]) -> list[tuple[int, int]]:
    """Stretches already read, and words a chosen facet explains ('store' after a store format's name)."""
    used = [(u.start, u.end) for u in uses(low, conds, taken, asked)]
    return used + [(m.start(), m.end()) for m in re.finditer(r"[a-z]+", low) if explained(ctx, m.group(0), conds)]


def option(low: str, g: Grounded, c: Candidate) -> tuple[str, list[Condition]]:
    """One reading of a grounded phrase as a labelled option: the flag or value, on its true or false side."""
    neg = negates(g.phrase, negated(low, g.start), c.matched)
    prov = _prov(low, g.start, g.end, "meaning", matched=c.matched,
                 note=f"nearest catalog words: '{c.matched}' ({c.score:.2f})")
    if c.value is None:
        cond = Condition(facet=c.facet.name, op="is_false" if neg else "is_true", provenance=prov)
        return (f"{'not ' if neg else ''}{c.facet.name}", [cond])
    cond = Condition(facet=c.facet.name, op="not_in" if neg else "in", values=[c.value], provenance=prov)
    return (f"{c.facet.name}: {'not ' if neg else ''}{c.value}", [cond])


def unknown_concepts(ctx: Context, low: str, taken: list[Span], conds: list[Condition]) -> Found:
    """A word describing the audience that no condition used: asked about with the catalog's readings of it
    ('healthy shoppers': a wellness program or a diet), or, when no facet covers it, whether to build without."""
    out = Found()
    known = lexicon.known_words(ctx.catalog)
    for m in re.finditer(rf"\b([a-z][a-z']+)[\s-]+(?:{'|'.join(SCALE_NOUNS)})\b", low):
        word = m.group(1)  # '<Metal>-level members' where no level is called so: another retailer's scale
        if not (_busy(m.start(1), m.end(1), taken, out) or word in STOP or word in known or len(word) < 3):
            out.spans.append(Span(m.start(), m.end()))
            out.ambiguities.append(questions.build_without(
                m.group(0), f"The catalog has no '{m.group(0)}'. Build the segment without it?"))
    for m in re.finditer(rf"\b([a-z][a-z'-]+)\s+{AUDIENCE}\b", low):
        word = m.group(1)
        if _busy(m.start(1), m.end(1), taken, out) or word in STOP or word in _CUE_WORDS or word in SCALE_NOUNS \
                or word in GENERIC_NOUNS:
            continue  # a scale noun alone ('<Metal> status shoppers') is said of the value before it
        if len(word) < 4 or word.endswith("ly") or _second_half(ctx, m.start(1), [*taken, *out.spans]):
            continue  # '<Language>-speaking': the compound was read with its first half
        if word not in known:
            out.ambiguities.append(questions.build_without(
                word, f"The catalog has no facet for '{word}'. Build the segment without it?"))
        elif not explained(ctx, word, [*conds, *out.conditions]):
            _ask_modifier(ctx, word, low, Span(m.start(1), m.end(1)), out)
    return out


def facet_words_said(ctx: Context, low: str, conds: list[Condition]) -> list[Use]:
    """Words of a chosen facet's name or synonyms said in the clause its condition was read from ('rewards' in
    '<Level> rewards members'): part of that condition, not words left unused."""
    out = []
    for c in conds:
        f = ctx.catalog.get(c.facet)
        if f is None or not c.provenance or c.provenance.start is None:
            continue
        stems = {_stem(t) for t in re.findall(r"[a-z]+", " ".join([f.name, *f.synonyms]).lower()) if t not in STOP}
        a, b = next((a, b) for a, b in _clauses(low) if a <= c.provenance.start < b or b == len(low))
        out += [Use(start=a + m.start(), end=a + m.end(), became=c.render()) for m in re.finditer(r"[a-z]+", low[a:b])
                if m.group(0) not in STOP and _stem(m.group(0)) in stems]
    return out


def _second_half(ctx: Context, start: int, taken: list[Span]) -> bool:
    """The word at `start` is the second half of a hyphenated compound whose first half was read."""
    if start < 2 or ctx.written[start - 1:start] != "-":
        return False
    return any(s.start < start - 1 <= s.end for s in taken)


def compound_halves_said(ctx: Context, low: str, conds: list[Condition]) -> list[Use]:
    """The second half of a hyphenated compound whose first half a condition read ('<Language>-speaking'):
    part of that condition, not a word left unused."""
    out = []
    for c in conds:
        p = c.provenance
        if p and p.end is not None and ctx.written[p.end:p.end + 1] == "-":
            if m := re.match(r"-([a-z]+)\b", low[p.end:]):
                out.append(Use(start=p.end + 1, end=p.end + 1 + len(m.group(1)), became=c.render()))
    return out


def explained(ctx: Context, word: str, conds: list[Condition]) -> bool:
    """The word belongs to a facet already chosen ('rewards' in '<Level> rewards members')."""
    stem = _stem(word)
    for c in conds:
        f = ctx.catalog.get(c.facet)
        if f and stem in {_stem(t) for t in re.findall(r"[a-z]+", " ".join([f.name, *f.synonyms]).lower())}:
            return True
    return False


def _first_word_of_flag(ctx: Context, word: str, conds: list[Condition]) -> bool:
    """The one reading is a flag whose name begins with the word ('<word> users' of a '<Word> <State>' flag)."""
    f = ctx.catalog.get(conds[0].facet) if len(conds) == 1 else None
    return f is not None and f.kind == "boolean" and _stem(f.name.split()[0].lower()) == _stem(word)


def _ask_modifier(ctx: Context, word: str, low: str, at: Span, out: Found) -> None:
    readings = questions.modifier_readings(ctx.catalog, _stem(word))
    if not readings:
        return
    if len(readings) == 1 and _first_word_of_flag(ctx, word, readings[0][1]):
        out.spans.append(at)  # '<Word> users' where one flag's name starts with the word: that flag, nothing to ask
        out.conditions.append(readings[0][1][0].model_copy(update={"provenance": _prov(low, at.start, at.end, "partial", matched=word)}))
        return
    prov = _prov(low, at.start, at.end, "synonym", matched=word, note="one of several catalog readings")
    opts = [(label, [c.model_copy(update={"provenance": prov}) for c in cs]) for label, cs in readings[:3]]
    opts.append((f"Build without '{word}'", []))
    out.spans.append(at)
    out.ask(Ambiguity(phrase=word, question=f"What should '{word}' mean here?", options=opts,
                      replaces=sorted({c.facet for _, cs in opts for c in cs})))
