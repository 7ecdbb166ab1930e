"""The extract stage: numbers, ranges, ages, the tier, channel reachability and dates, read out of the request.

Each function reads one kind of thing from the lower-cased request, skips the spans earlier parts have
already read (`taken`), and returns what it found — conditions, the spans it read, notes, the tier —
for the reader to merge in. Nothing here keeps state between requests.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re

from core.catalog import Catalog, Facet
from core.reader.common import (BASIC_STOP, PURCHASE_CUES, Found, Span, _busy, _clause_at, _facet_window, _find, _find_apart,
                                _overlap, _prov, _round_sig, _stem, per_catalog, with_meanings)
from core.segment import Condition
from core.reader import lexicon, questions
from core.text.clock import hours_said
from core.text.dates import UNIT_DAYS, DateSpan, find_dates
from core.text.numbers import FRACTION, WORD_NUMBER, word_number, fraction_percent
from core.text.phrasebook import Entry


def tier(catalog: Catalog, book: list[Entry], low: str, taken: list[Span]) -> Found:
    """The propensity tier the request asks for ('top 10%', 'top quarter', a phrasebook tier), if any."""
    prop = next((f for f in catalog.active_facets if f.kind == "propensity"), None)
    if prop is None:
        return Found()
    m = re.search(r"\btop[\s-]+(\d+)\s*(%|percent|tier)?", low)
    if m and not re.match(r"\s*(orders|items|trips)", low[m.end():]):
        return Found(spans=[Span(m.start(), m.end())], tier=catalog.tier_for_percent(prop, float(m.group(1))))
    m = re.search(r"\btop (third|quarter|half|fifth|tenth)\b", low)
    if m:
        pct = {"third": 33.4, "quarter": 25, "half": 50, "fifth": 20, "tenth": 10}[m.group(1)]
        return Found(spans=[Span(m.start(), m.end())], tier=catalog.tier_for_percent(prop, pct))
    for e in book:
        if e.tier and (m := _find(e.phrase, low, taken) or _find_apart(e.phrase, low, taken)):
            if e.phrase in ("likely", "interested in", "in the market for"):
                continue  # plain intent words: the default tier, and they cue propensity
            return Found(spans=[Span(*m)], tier=e.tier)
    return Found()


def ages(catalog: Catalog, low: str, taken: list[Span]) -> Found:
    """Ages of people or of their children ('aged 25-34', 'kids under 5') as the banded values they overlap."""
    out = Found()
    for m in re.finditer(r"\b(?:aged?\s+|ages\s+)?(under\s+|over\s+)?(\d{1,2})\s*(?:(?:-|to|–)\s*(\d{1,2})|"
                         r"(\+|and over|and up|and older|or older|or over))?(?!\d|\s*%|\s*percent)", low):
        if _busy(m.start(), m.end(), taken, out) or low[max(0, m.start() - 1):m.start()] == "$":
            continue  # a share ('over 20%') or an amount ('$30+') is no age
        ctx = low[max(0, m.start() - 30): m.end() + 25]
        kid = re.search(r"\b(kids?|children|child|toddlers?|babies)\b", ctx)
        person = re.search(r"\b(women|men|aged?|ages|adults?|seniors?|year olds?|years old|moms|dads|parents|people)\b", ctx)
        person = person or re.match(r"\s*(?:and|or) older", m.group(4) or "")  # 'older' is said only of age
        if not (m.group(3) or m.group(4) or m.group(1)) or not (kid or person):
            continue
        lo = int(m.group(2))
        hi = int(m.group(3)) if m.group(3) else (200 if (m.group(4) or (m.group(1) or "").strip() == "over") else lo)
        if (m.group(1) or "").strip() == "under":
            lo, hi = 0, lo - 1
        facet = range_facet(catalog, kid is not None)
        if facet is None:
            continue
        values = [v for v in facet.value_list if _range_overlap(v, lo, hi)]
        if values:
            out.spans.append(Span(m.start(), m.end()))
            out.conditions.append(Condition(facet=facet.name, op="in", values=values, provenance=_prov(low, m.start(), m.end(), "range")))
    return out


def ranges(catalog: Catalog, today: dt.date, low: str, taken: list[Span]) -> Found:
    """'between $1,000 and $3,000', 'from 10 to 20 coupons', '$75-$150 a week': both ends on one numeric facet."""
    out = Found()
    num = lambda n: rf"(?P<cur{n}>\$)?\s*(?P<num{n}>\d[\d,]*(?:\.\d+)?)\s*(?P<k{n}>k\b)?\s*(?P<pct{n}>%|percent)?"  # noqa: E731
    pat = re.compile(rf"\b(?:between|from)\s+{num(1)}\s*(?:and|to|-|–)\s*{num(2)}"
                     rf"|(?P<cur3>\$)\s*(?P<num3>\d[\d,]*)\s*(?P<k3>k\b)?\s*(?:-|–|to)\s*\$\s*(?P<num4>\d[\d,]*)\s*(?P<k4>k\b)?")
    unit_pat = re.compile(r"\s*((?:\w+[- ]){0,2}?(?:orders?|items?|trips?|visits?|points?|coupons?|sessions?|people|"
                          r"redemptions?|fill-ups|days?|months?|years?))\b")
    for m in pat.finditer(low):
        if _busy(m.start(), m.end(), taken, out) or _inside_value_name(low, m.start() + 1, catalog):
            continue
        g = m.groupdict()
        a, b = ("1", "2") if g["num1"] else ("3", "4")
        lo, hi = _amount(g[f"num{a}"], g[f"k{a}"]), _amount(g[f"num{b}"], g[f"k{b}"])
        money = bool(g.get(f"cur{a}") or g.get(f"cur{b}"))
        pct = bool(g.get(f"pct{a}") or g.get(f"pct{b}"))
        if lo is None or hi is None or lo > hi or (not money and not pct and 1900 <= lo <= 2100):
            continue
        um = unit_pat.match(low, m.end())
        unit = um.group(1) if um else ""
        if re.search(r"\b(days?|weeks?|months?|years?)$", unit) and not money:
            continue  # a date window or an age, read elsewhere
        facet = numeric_facet(catalog, today, low, m.start(), m.end() + len(unit) + 1, unit, money, pct)
        if facet is None:
            continue
        out.spans.append(Span(m.start(), m.end()))
        out.conditions.append(Condition(facet=facet.name, op="between", min=lo, max=hi,
                                        provenance=_prov(low, m.start(), m.end(), "number", note="range")))
    return out


def numbers(catalog: Catalog, today: dt.date, low: str, taken: list[Span]) -> Found:
    """Amounts, counts and shares beside a comparator ('over $500', '3 or more trips', 'five or more people')."""
    out = Found()
    pat = re.compile(
        r"(?P<pre>over|more than|above|greater than|at least|min(?:imum)?|exceeding|under|less than|below|"
        rf"fewer than|at most|up to|no more than|maximum|max)?\s*(?P<cur>\$)?(?P<num>\d[\d,]*(?:\.\d+)?|\b{FRACTION}\b|\b{WORD_NUMBER}\b)\s*(?P<k>k\b)?"
        r"\s*(?P<pct>%|percent)?\s*(?P<post>\+|or more|or higher|or above|and up|plus|or less|or fewer|or under)?"
        r"(?P<unit>\s*(?:\w+[- ]){0,2}?(?:orders?|items?|trips?|visits?|points?|coupons?|sessions?|people|months?|"
        r"redemptions?|fill-ups|days?|weeks?|years?))?(?P<post2>\s+(?:or more|or fewer|or less|or over|or under))?")
    for m in pat.finditer(low):
        if not m.group("num") or _busy(m.start("num"), m.end("num"), taken, out):
            continue
        if _inside_value_name(low, m.start("num"), catalog):
            continue  # a banded value's own number ('under 5 km' as a value name) is read by the lexicon
        share = fraction_percent(m.group("num"))  # 'at least half of their spend': a share in percent
        spelled = word_number(m.group("num")) if share is None else share
        post = m.group("post") or m.group("post2")  # '5 or more people', '3 people or fewer'
        if spelled is not None and not (m.group("pre") or post):
            continue  # 'one of our', 'two kids': a number word counts only beside a comparator
        if not (m.group("pre") or post or m.group("cur") or m.group("pct")):
            if not re.match(r"\s+(or more|\+)", low[m.end("num"):]) and not re.search(
                    r"(score|share|balance|of)\s*(of\s*)?$", low[:m.start("num")]):
                continue
        if re.match(r"\s*(days?|weeks?|months?|years?)\b", low[m.end("num"):]) and not m.group("pre"):
            continue  # a date window, read by the date reader
        if re.search(r"\b(top|aged?|ages)\s*$", low[:m.start("num")]):
            continue
        num = float(spelled if spelled is not None else m.group("num").replace(",", "")) * (1000 if m.group("k") else 1)
        word = (m.group("pre") or post or "").strip()
        is_max = word in ("under", "less than", "below", "fewer than", "at most", "up to", "no more than",
                          "maximum", "max", "or less", "or fewer", "or under")
        unit = (m.group("unit") or "").strip()
        money, pct = bool(m.group("cur")), bool(m.group("pct")) or share is not None
        said = unit.split()[-1].rstrip("s") if unit else ""
        if said in _DAYS_IN and \
                re.search(r"\b(haven't|hasn't|have not|has not|not|no|nothing)\b", low[max(0, m.start() - 40):m.start()]):
            continue  # 'not bought in over 6 months': a gap, read by the date reader
        facet = numeric_facet(catalog, today, low, m.start(), m.end(), unit, money, pct,
                              value=None if said in _DAYS_IN else num)
        prior = next((c for c in out.conditions if facet is not None and c.facet == facet.name), None)
        if prior is not None and not _bounds_a_range(prior, is_max, num):
            # 'average ticket under $25 even though they spent $3,000 or more': a second amount that cannot be
            # the other end of the first is about another facet
            facet = numeric_facet(catalog, today, low, m.start(), m.end(), unit, money, pct,
                                  value=None if said in _DAYS_IN else num, exclude=frozenset({prior.facet}))
        if facet is None:
            continue
        if not (money or pct):
            num = _in_unit(num, unit, facet.numeric_range.unit)
        elif money and (rate := points_per_dollar(facet)):
            num = float(_round_sig(num * rate))  # '$50 of rewards points' at '100 points = $1' is 5,000 points
        elif money and said in _DAYS_IN and (per := _facet_period(facet.name)) and per != _DAYS_IN[said]:
            num = float(_round_sig(num * per / _DAYS_IN[said]))  # '$400 a month' as a weekly average is ~$93
        elif money and said in _DAYS_IN and (fw := _facet_window(facet.name)) and abs(fw - _DAYS_IN[said]) > 0.1 * fw:
            # '$200 a month' on a 12-month total is $2,400
            scaled = num * _PER_YEAR[said] * fw / 365
            num = float(round(scaled)) if abs(scaled - round(scaled)) < 0.01 else float(_round_sig(scaled))
        counted = not money and not pct
        if counted and word in ("more than", "over", "above", "greater than", "exceeding"):
            num += 1
        elif counted and word in ("fewer than", "less than", "under", "below"):
            num -= 1
        out.spans.append(Span(m.start(), m.end()))
        val = int(num) if num.is_integer() else num
        c = Condition(facet=facet.name, op="between", **({"max": val} if is_max else {"min": val}),
                      provenance=_prov(low, m.start(), m.end(), "number"))
        out.conditions.append(c)
    return out


def _bounds_a_range(prior: Condition, is_max: bool, num: float) -> bool:
    """A second amount on a facet is the other end of the first ('at least $100 … under $500')."""
    if is_max:
        return prior.max is None and prior.min is not None and prior.min < num
    return prior.min is None and prior.max is not None and num < prior.max


def numeric_facet(catalog: Catalog, today: dt.date, low: str, start: int, end: int, unit: str, money: bool,
                  pct: bool, value: float | None = None, exclude: frozenset[str] = frozenset()) -> Facet | None:
    """The numeric facet an amount at low[start:end] is about, from its unit, the words around it and any window."""
    window = low[max(0, start - 60): end + 40]
    spans = find_dates(window, today, catalog.fiscal_year_start_month, catalog.seasons)
    windows = [d.days for d in spans if d.op == "within_last_days" and d.days]
    said = unit.split()[-1].rstrip("s") if unit else ""
    rate = (money or pct) and said in _DAYS_IN
    if rate:
        windows.append(_DAYS_IN[said])  # '$3,500 a year': the period of an amount, which dates the facet
    best, best_score = None, 0.0
    meant, own = with_meanings(window), with_meanings(_own_phrase(low, start, end))
    for f in catalog.active_facets:
        rng = f.numeric_range
        if rng is None or f.name in exclude or (value is not None and not rng.min <= value <= rng.max):
            continue  # '65+' cannot be a count whose range ends at 10
        score = 0.0
        u = rng.unit.lower()
        if money:
            score += 2 if u == "usd" or points_per_dollar(f) else -3
        if pct:
            score += 2 if u == "percent" else -3
        if unit and not rate and (u.rstrip("s") in unit or said in u or _overlap(said, f.name)):
            score += 3  # the counted noun is the facet's unit, or a word of its name ('10+ coupons')
        elif said in _DAYS_IN and not rate:  # '4 years' fits a duration facet in months, never a money one
            score += 3 if u.rstrip("s") in _DAYS_IN else -3
        words = f.name + " " + " ".join(f.synonyms)
        content, audience = _overlap(meant, words), _overlap(meant, words, BASIC_STOP)
        in_name = _overlap(meant, f.name, BASIC_STOP) - _overlap(meant, f.name)
        # An audience noun counts fully when it is in the facet's name ('households of 5' -> a household-size facet),
        # little when only a synonym has it ('shoppers' vs 'times shopped').
        score += 1.5 * content + 1.5 * in_name + 0.5 * max(0.0, audience - content - in_name)
        score += 0.5 * _overlap(meant, f.description)  # the description breaks ties ('checkouts' are store visits)
        score += _overlap(own, words)  # the amount's own phrase ('redeemed 10+ coupons') outweighs words of a neighbour
        if any(" " in sy and re.search(rf"\b{re.escape(sy.lower())}\b", window) for sy in f.synonyms):
            score += 3  # a whole synonym as written ('web sessions') outweighs a shared unit word
        fw = _facet_window(f.name)
        if fw and any(abs(fw - d) <= 0.1 * fw for d in windows):
            score += 3  # 'spent $5,000 in the past year' is the 52-week spend
        if rate and _facet_period(f.name) == _DAYS_IN[said]:
            score += 3  # '$200 a week' is the weekly average
        if score > best_score:
            best, best_score = f, score
    return best if best_score >= 1.5 else None


_PHRASE_EDGE = re.compile(r"[,;()]|\b(?:who|that|whose|with|and|but|plus)\b")


def _own_phrase(low: str, start: int, end: int) -> str:
    """The words of an amount's own phrase: from the last comma, bracket or joining word before it to the next after it."""
    a = max((m.end() for m in _PHRASE_EDGE.finditer(low, 0, start)), default=0)
    b = next((m.start() for m in _PHRASE_EDGE.finditer(low, end)), len(low))
    return low[a:b]


def range_facet(catalog: Catalog, child: bool) -> Facet | None:
    """The banded age facet: of the children, or of the person."""
    cands = [f for f in catalog.active_facets if f.kind == "categorical"
             and sum(bool(re.search(r"\d", v)) for v in f.value_list) >= 3 and "age" in f.name.lower()]
    for f in cands:
        if child == any(w in f.name.lower() for w in ("child", "kid")):
            return f
    return None


def reachability(catalog: Catalog, low: str, taken: list[Span]) -> Found:
    """'reachable by email', 'can be texted': each channel's reachability rule, as conditions."""
    out = Found()
    channels = channel_words(catalog)
    if not channels:
        return out
    words = "|".join(re.escape(w) for w in sorted(channels, key=len, reverse=True))
    pat = re.compile(rf"\b(?:can be|who can be|reach(?:able)?\s+(?:them\s+)?(?:by|via|on|through)|"
                     rf"(?:we|you)\s+(?:can|could)|(?:we|you)(?:'re|\s+are)\s+able\s+to|"  # 'we can text'
                     rf"(?:get|gets|getting|receive|receives|receiving)\s+(?:our\s+|marketing\s+)?|"  # 'get texts from us'
                     rf"contactable\s+(?:by|via|on))\s*\b({words})(?:e?s|ed)?\b"
                     rf"|\b({words})[- ]?(?:reachable|contactable)\b"
                     rf"|\b({words})\s+(?:notifications\s+)?(?:turned on|switched on|enabled|on(?!\s+or\s+(?:after|before)\b))\b")
    more = re.compile(rf"\s*(?:,\s*|\s+)(?:and|&)\s+(?:(?:by|via|through|on)\s+)?(?:the\s+)?({words})(?:ed)?\b")
    for m in pat.finditer(low):
        if _busy(m.start(), m.end(), taken, out):
            continue
        found = [(m.start(), m.end(), m.group(1) or m.group(2) or m.group(3))]
        while m.group(1) and (n := more.match(low, found[-1][1])):  # 'reach by text and through the app'
            found.append((n.start(1), n.end(), n.group(1)))
        for a, b, word in found:
            ch = channels.get(word)
            rule = catalog.rules.reachability.get(ch or "")
            if not rule:
                continue
            out.spans.append(Span(a, b))
            for rc in rule:
                out.conditions.append(Condition(facet=rc.facet, op=rc.op, values=rc.values,
                                                provenance=_prov(low, a, b, "rule", note=f"{ch} reachability rule")))
    return out


def dates(catalog: Catalog, lexicon: list[tuple[str, str, str]], low: str, found: list[DateSpan],
          taken: list[Span]) -> Found:
    """The dates found in the request, each on the date facet it dates, a gap since last activity, or a month."""
    out = Found()
    for d in found:
        if _busy(d.start, d.end, taken, out) or _begins_value(lexicon, low, d):
            continue
        out.spans.append(Span(d.start, d.end))
        before = low[max(0, d.start - 45): d.start]
        if d.op == "month":
            f = next((f for f in catalog.active_facets if f.kind == "categorical"
                      and [v.lower() for v in f.value_list] == [m.lower() for m in calendar.month_name[1:]]), None)
            clause = _clause_at(low, d.start)
            said = clause.replace(d.text.lower(), " ")  # the clause's own words, not the date's ('month')
            by_value = f is not None and _overlap(said, " ".join([f.name, *f.synonyms])) > 0  # 'a birthday this month'
            dated = None if by_value or not d.min else date_facet(catalog, clause, low, d, fallback=False)
            if dated is not None:  # 'a baby arriving next month': the month on the dated facet the clause names
                out.conditions.append(Condition(facet=dated.name, op="between", min=d.min, max=d.max,
                                                provenance=_prov(low, d.start, d.end, "date")))
                continue
            if f:
                out.conditions.append(Condition(facet=f.name, op="in", values=[f.value_list[m - 1] for m in d.months or []],
                                                provenance=_prov(low, d.start, d.end, "date")))
            continue
        if d.op == "within_last_days" and re.search(r"\b(haven't|hasn't|have not|has not|no|nothing|not)\b", before):
            f = gap_facet(catalog, before)
            if f:
                out.conditions.append(Condition(facet=f.name, op="between", min=d.days, provenance=_prov(low, d.start, d.end, "date", note="gap since last activity")))
                continue
        clause = _clause_at(low, d.start)
        prev_end = max([x.end for x in found if x.end <= d.start] + [low.find(clause)])
        if d.op == "within_last_days" and absorbed(catalog, lexicon, low[prev_end:d.end], d.days or 0):
            out.notes.append(f"'{d.text}' matches a facet's own window; no separate date condition")
            continue
        facet = date_facet(catalog, clause, low, d)
        if facet is None:
            continue
        kw = {"within_last_days": {"days": d.days}, "on_or_after": {"date": d.date},
              "between": {"min": d.min, "max": d.max}}[d.op]
        out.conditions.append(Condition(facet=facet.name, op=d.op, **kw, provenance=_prov(low, d.start, d.end, "date")))
    return out


_ELAPSED = re.compile(rf"\b(\d+|{WORD_NUMBER})\s+(day|week|month|year)s?\s+(?:or\s+(?:more|longer)\s+)(?:ago|since)\b")


def elapsed(catalog: Catalog, low: str, taken: list[Span]) -> Found:
    """'four months or more ago', 'six months or longer since their last order': the time since the last
    activity, on the days-since facet the words around it name (none named: nothing read)."""
    out = Found()
    for m in _ELAPSED.finditer(low):
        if _busy(m.start(), m.end(), taken, out):
            continue
        around = low[max(0, m.start() - 50): m.end() + 40]
        f = gap_facet(catalog, around)
        if f is None or not _overlap(around, " ".join([f.name, *f.synonyms])):
            continue
        n = int(m.group(1)) if m.group(1).isdigit() else word_number(m.group(1))
        out.spans.append(Span(m.start(), m.end()))
        out.conditions.append(Condition(facet=f.name, op="between", min=n * UNIT_DAYS[m.group(2)],
                                        provenance=_prov(low, m.start(), m.end(), "number", note="time since last")))
    return out


def gap_facet(catalog: Catalog, before: str) -> Facet | None:
    """The days-since facet a 'not bought in N days' is about."""
    cands = [f for f in catalog.active_facets if f.numeric_range and f.numeric_range.unit.lower() == "days"]
    before = with_meanings(before)
    cands.sort(key=lambda f: -_overlap(before, " ".join([f.name, *f.synonyms])))
    return cands[0] if cands else None


def absorbed(catalog: Catalog, lexicon: list[tuple[str, str, str]], clause: str, days: int) -> bool:
    """True when a windowed facet named in the clause already covers this many days."""
    for phrase, facet, _ in lexicon:
        f = catalog.get(facet)
        w = _facet_window(f.name) if f else None
        if w and abs(w - days) <= 0.1 * w and re.search(rf"\b{re.escape(phrase)}\b", clause):
            return True
    if re.search(r"\b(spent|spend|orders?|purchases)\b", clause) and abs(days - 365) <= 37:
        return any(_facet_window(f.name) == 365 for f in catalog.active_facets)
    return False


def _begins_value(lexicon: list[tuple[str, str, str]], low: str, d: DateSpan) -> bool:
    """The date's word begins a catalog value's name ('recent customers' as a value of its own)."""
    return " " not in d.text.strip() and any(
        kind == "value" and phrase.startswith(d.text.lower() + " ") and low.startswith(phrase, d.start)
        for phrase, _, kind in lexicon)


def times(catalog: Catalog, low: str, taken: list[Span]) -> Found:
    """Times of day ('lunchtime', 'after work', 'before 7am') on the catalog's time-of-day bands by their hours;
    asked about (build without it?) where the catalog has no such bands."""
    out = Found()
    said = hours_said(low)
    if not said:
        return out
    bands = lexicon.time_bands(catalog)
    names = [k for k in lexicon.vocab(catalog) if " " in k or len(k) > 3]
    for h in said:
        if _busy(h.start, h.end, taken, out) or _inside_name(low, h.start, h.end, names, bands):
            continue
        out.spans.append(Span(h.start, h.end))
        if bands is None:
            out.ambiguities.append(questions.build_without(
                h.text, f"The catalog has no time of day. Build the segment without '{h.text}'?"))
            continue
        facet, hours = bands
        values = [v for v, (lo, hi) in hours.items() if h.meets(lo, hi)]
        if values:
            out.conditions.append(Condition(facet=facet.name, op="in", values=values,
                                            provenance=_prov(low, h.start, h.end, "time", matched=h.text)))
    return out


def _inside_name(low: str, start: int, end: int, names: list[str], bands) -> bool:
    """The words are part of a longer catalog name that is no time band (a brand named '<time word> <name>')."""
    own = {v.lower() for v in bands[1]} if bands else set()
    said = low[start:end]
    for n in names:
        if said not in n or n in own or len(n) <= end - start:
            continue  # a cheap substring test before the word-boundary search
        for m in re.finditer(rf"(?<![\w']){re.escape(n)}(?![\w])", low):
            if m.start() <= start and end <= m.end():
                return True
    return False


def date_facet(catalog: Catalog, clause: str, low: str, d: DateSpan, fallback: bool = True) -> Facet | None:
    """The date facet a date span is about, from the words of its clause (or just before it); with `fallback`,
    the purchase date when no facet is named."""
    text = with_meanings((clause.replace(d.text.lower(), " ") + " ").strip())
    if cue := re.match(r"(due|arriving|expected|expecting)\b", d.text.lower()):
        text += " " + cue.group(1)  # the date's own verb names the facet ('due next spring')
    cands = [f for f in catalog.active_facets if f.kind == "date"]
    whole = [f for f in cands if any(_says(clause, sy) for sy in f.synonyms if " " in sy)]
    if len(whole) == 1:
        return whole[0]  # 'customers since 2021': a whole synonym ('customer since'), stop words and all
    if not any(_overlap(text, " ".join([f.name, *f.synonyms])) for f in cands):
        text = with_meanings(low[max(0, d.start - 50):d.start])  # 'whose first trip with us was last winter' spans two clauses
    scored = sorted(((_overlap(text, " ".join([f.name, *f.synonyms])), i, f) for i, f in enumerate(cands)),
                    key=lambda t: (-t[0], t[1]))
    if scored and scored[0][0] > 0:
        top = scored[0]
        purchase = next((f for f in cands if f.scope == "purchase"), None)
        if purchase and PURCHASE_CUES.search(text) and top[2] is not purchase and \
                _overlap(text, " ".join([purchase.name, *purchase.synonyms])) >= top[0]:
            return purchase
        return top[2]
    purchase = next((f for f in cands if f.scope == "purchase"), None) if fallback else None
    if purchase and (PURCHASE_CUES.search(low) or d.op != "within_last_days"):
        return purchase
    if fallback and purchase is None:  # 'recent shoppers': the date facet whose own words say 'recently'
        word = _stem(re.sub(r"ly$", "", d.text.lower().strip()))
        return next((f for f in cands if len(word) >= 5 and any(
            _stem(re.sub(r"ly$", "", w)) == word for w in re.findall(r"[a-z]+", " ".join(f.synonyms).lower()))), None)
    return None


# ---- helpers -------------------------------------------------------------------------------------

_RATE = re.compile(r"(\d[\d,]*)\s+points?\s*=\s*\$(\d+(?:\.\d+)?)\s*(?:[).;,]|$)", re.I)


def points_per_dollar(facet: Facet) -> float | None:
    """Points per dollar of a points facet whose description gives the rate ('100 points = $1'); None otherwise
    (a rate per gallon or per visit is no price of a point)."""
    if facet.numeric_range is None or facet.numeric_range.unit.lower() == "usd":
        return None
    m = _RATE.search(facet.description)
    return float(m.group(1).replace(",", "")) / float(m.group(2)) if m and float(m.group(2)) else None


def _says(text: str, phrase: str) -> bool:
    """The phrase's words, in order and side by side, in the text (each word in any of its forms)."""
    words = [_stem(w) for w in re.findall(r"[a-z]+", text.lower())]
    want = [_stem(w) for w in re.findall(r"[a-z]+", phrase.lower())]
    return any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1))


def _range_overlap(value: str, lo: int, hi: int) -> bool:
    v = value.lower().replace(" ", "")
    if m := re.match(r"^(\d+)-(\d+)$", v):
        a, b = int(m.group(1)), int(m.group(2))
    elif m := re.match(r"^(\d+)\+$", v):
        a, b = int(m.group(1)), 200
    elif m := re.match(r"^under(\d+)$", v):
        a, b = 0, int(m.group(1)) - 1
    else:
        return False
    return a <= hi and lo <= b


def _facet_period(name: str) -> int | None:
    """Days in the period of a rate facet's name: 'Weekly ...' 7, 'Monthly ...' 30."""
    m = re.search(r"\b(weekly|monthly|annual|yearly)\b", name.lower())
    return {"weekly": 7, "monthly": 30, "annual": 365, "yearly": 365}[m.group(1)] if m else None


_DAYS_IN = {"day": 1, "week": 7, "month": 30, "year": 365}
_PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


def _in_unit(num: float, said: str, facet_unit: str) -> float:
    """A duration said in one unit, in the facet's unit: '2 years' on a months facet is 24."""
    a = said.split()[-1].rstrip("s") if said else ""
    b = facet_unit.lower().rstrip("s")
    if a not in _DAYS_IN or b not in _DAYS_IN or a == b:
        return num
    if (a, b) == ("year", "month"):
        return num * 12
    return round(num * _DAYS_IN[a] / _DAYS_IN[b], 2)


def _amount(digits: str | None, k: str | None) -> int | float | None:
    """'1,000' -> 1000, '2.5' + 'k' -> 2500."""
    if not digits:
        return None
    v = float(digits.replace(",", "")) * (1000 if k else 1)
    return int(v) if v.is_integer() else v


@per_catalog
def _numbered_values(catalog: Catalog) -> re.Pattern | None:
    """One pattern for the value names and aliases with a number in them ('Under 5 Km', '5-10 Km'), longest first."""
    names = sorted({n.lower() for f in catalog.active_facets for v in f.value_list
                    for n in [v, *f.value_synonyms.get(v, [])] if re.search(r"\d", n)}, key=len, reverse=True)
    return re.compile(rf"(?<![\w$])(?:{'|'.join(map(re.escape, names))})(?![\w])") if names else None


def _inside_value_name(low: str, pos: int, catalog: Catalog) -> bool:
    """True when the number at `pos` is part of a banded value's name as written ('under 5 km'), and not
    followed by a unit the value does not have ('under 5 years' is no age band named 'Under 5')."""
    rx = _numbered_values(catalog)
    return rx is not None and any(m.start() <= pos < m.end() and not _UNIT_AFTER.match(low, m.end())
                                  for m in rx.finditer(low))


_UNIT_AFTER = re.compile(r"\s*(years?|months?|weeks?|days?|miles?|minutes?|hours?|orders?|trips?|visits?|items?|%|percent)\b")


@per_catalog
def channel_words(catalog: Catalog) -> dict[str, str]:
    """Word -> reachability channel: the channel's name, and the first words of its rule facets' names and
    synonyms that no other channel uses ('text' from 'text opt in' -> sms)."""
    seen: dict[str, set[str]] = {}
    for ch, rule in catalog.rules.reachability.items():
        words = set(ch.split("_"))
        for rc in rule:
            f = catalog.get(rc.facet)
            for t in [f.name, *f.synonyms] if f else []:
                first = re.findall(r"[a-z]+", t.lower())[:1]
                words |= {w for w in first if w not in BASIC_STOP - {"email"} and len(w) >= 3}
        for w in words:
            seen.setdefault(w, set()).add(ch)
    return {w: next(iter(chs)) for w, chs in seen.items() if len(chs) == 1}

