"""Read a marketer's request into a draft cohort: phrases -> conditions with provenance, plus ambiguities.

Everything tenant-specific comes from the catalog: facet names, synonyms, values, value synonyms,
hierarchy, seasons, rules and the phrasebook read from vocabulary hints.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

from rapidfuzz import fuzz, process

from core.catalog import Catalog, Facet
from core.text.dates import DateSpan, find_dates
from core.text.phrasebook import Entry, build_phrasebook
from core.segment import Condition, Evidence, Provenance
from core.reader.account import Coverage, Use, account
from core.reader import ground
from core.text.normalise import Normalised, correct_typos, is_foreign, norm, vocabulary
from core.text.numbers import WORD_NUMBER, word_number

STOP = set("""a an the and or of for to in on at by with who whose that which are is was were be been being have has had
do does did it its their them they this these those from as into than then also any all some our my me we us i you your
just only very much many more most lot lots can could would should will shall may might please build find get give show
target audience segment list people customers customer shoppers shopper buyers buyer users user members member households
household anyone everyone folks guests clients consumers promo promotion campaign event email blast send launch either way
both who've they've ve s t""".split())
AUDIENCE_WORDS = set("""people customers customer shoppers shopper buyers buyer users user members member households
household families""".split())
BASIC_STOP = STOP - AUDIENCE_WORDS
AUDIENCE = r"(?:shoppers|customers|buyers|members|households|people|users|guests|families|clients)"
NEGATION = re.compile(r"\b(excluding|exclude|except|but not|not|never|no|neither|nor|minus|without|aren't|isn't|don't|doesn't|"
                      r"haven't|hasn't|non|who are not|who aren't|other than)\b", re.I)
PURCHASE_CUES = re.compile(r"\b(bought|buy|buys|buying|buyers?|purchased|purchases?|purchasers?|customers of|shopped|picked up|"
                           r"spent|orders?|ordered)\b", re.I)
PROPENSITY_CUES = re.compile(r"\b(likely|likelihood|propensity|interested|interest in|in the market|prospects?|affinity|"
                             r"top \d+|most likely|lookalikes?|in-market)\b", re.I)
BROWSE_CUES = re.compile(r"\b(browsed|browsing|viewed|looked at|window shop\w*)\b", re.I)
_CUE_WORDS = frozenset(re.findall(r"[a-z]+", " ".join(rx.pattern for rx in (NEGATION, PURCHASE_CUES, PROPENSITY_CUES, BROWSE_CUES))))
VAGUE_AMOUNT = re.compile(r"\b(a lot|lots|heavy|heavily|big|high|frequent(ly)?|often|regular(ly)?|many|much)\b", re.I)
VAGUE_NOUNS = r"(?:stuff|items|things|products|gear|goods)"
_VERBS_3S = frozenset("""owns buys pays prefers uses shops holds speaks lives rents drives""".split())  # English verbs
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


@dataclass
class _Span:
    start: int
    end: int


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
        self.implied = _implications(catalog)
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
        tier = self._tier(low, taken)
        dates = find_dates(text, self.today, self.cat.fiscal_year_start_month, self.cat.seasons, self.recently)
        self._ages(low, taken, conds)
        self._ranges(low, taken, conds)
        self._numbers(low, taken, conds, r)
        self._phrasebook(low, taken, conds)
        self._reachability(low, taken, conds)
        self._dates(low, dates, taken, conds, r)
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
        self._unknown_concepts(flat, taken, conds, r)
        conds = self._dated_words(conds, low)
        conds = self._own_windows(conds, r)
        conds = self._apply_tier(conds, tier)
        for a in r.ambiguities:  # a chosen reading carries the request's tier like the default does
            a.options = [(label, self._apply_tier(cs, tier)) for label, cs in a.options]
        conds = self._specific_product_level(conds)
        conds = self._drop_implied(conds)
        conds = self._exclusive(conds, r)
        r.conditions = _merge(conds)
        r.coverage = account(r.normalised, _uses(low, conds, taken, r), STOP)
        return r

    # ---- pieces ------------------------------------------------------------------------------
    def _tier(self, low: str, taken: list[_Span]) -> str | None:
        prop = next((f for f in self.cat.active_facets if f.kind == "propensity"), None)
        if prop is None:
            return None
        m = re.search(r"\btop[\s-]+(\d+)\s*(%|percent|tier)?", low)
        if m and not re.match(r"\s*(orders|items|trips)", low[m.end():]):
            taken.append(_Span(m.start(), m.end()))
            return self.cat.tier_for_percent(prop, float(m.group(1)))
        m = re.search(r"\btop (third|quarter|half|fifth|tenth)\b", low)
        if m:
            pct = {"third": 33.4, "quarter": 25, "half": 50, "fifth": 20, "tenth": 10}[m.group(1)]
            taken.append(_Span(m.start(), m.end()))
            return self.cat.tier_for_percent(prop, pct)
        for e in self.book:
            if e.tier and (m := _find(e.phrase, low, taken) or _find_apart(e.phrase, low, taken)):
                if e.phrase in ("likely", "interested in", "in the market for"):
                    continue  # plain intent words: the default tier, and they cue propensity
                taken.append(_Span(*m))
                return e.tier
        return None

    def _numbers(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        pat = re.compile(
            r"(?P<pre>over|more than|above|greater than|at least|min(?:imum)?|exceeding|under|less than|below|"
            rf"fewer than|at most|up to|no more than|maximum|max)?\s*(?P<cur>\$)?(?P<num>\d[\d,]*(?:\.\d+)?|\b{WORD_NUMBER}\b)\s*(?P<k>k\b)?"
            r"\s*(?P<pct>%|percent)?\s*(?P<post>\+|or more|or higher|or above|and up|plus|or less|or fewer|or under)?"
            r"(?P<unit>\s*(?:\w+[- ]){0,2}?(?:orders?|items?|trips?|visits?|points?|coupons?|sessions?|people|months?|"
            r"redemptions?|fill-ups|days?|weeks?|years?))?(?P<post2>\s+(?:or more|or fewer|or less|or over|or under))?")
        for m in pat.finditer(low):
            if not m.group("num") or _overlaps(m.start("num"), m.end("num"), taken):
                continue
            if _inside_value_name(low, m.start("num"), self.cat):
                continue  # a banded value's own number ('under 5 km' as a value name) is read by the lexicon
            spelled = word_number(m.group("num"))
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
            money, pct = bool(m.group("cur")), bool(m.group("pct"))
            said = unit.split()[-1].rstrip("s") if unit else ""
            if said in _DAYS_IN and \
                    re.search(r"\b(haven't|hasn't|have not|has not|not|no|nothing)\b", low[max(0, m.start() - 40):m.start()]):
                continue  # 'not bought in over 6 months': a gap, read by the date reader
            facet = self._numeric_facet(low, m.start(), m.end(), unit, money, pct,
                                        value=None if said in _DAYS_IN else num)
            if facet is None:
                continue
            if not (money or pct):
                num = _in_unit(num, unit, facet.numeric_range.unit)
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
            taken.append(_Span(m.start(), m.end()))
            val = int(num) if num.is_integer() else num
            c = Condition(facet=facet.name, op="between", **({"max": val} if is_max else {"min": val}),
                          provenance=_prov(low, m.start(), m.end(), "number"))
            conds.append(c)

    def _ranges(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        """'between $1,000 and $3,000', 'from 10 to 20 coupons', '$75-$150 a week': both ends on one numeric facet."""
        num = lambda n: rf"(?P<cur{n}>\$)?\s*(?P<num{n}>\d[\d,]*(?:\.\d+)?)\s*(?P<k{n}>k\b)?\s*(?P<pct{n}>%|percent)?"  # noqa: E731
        pat = re.compile(rf"\b(?:between|from)\s+{num(1)}\s*(?:and|to|-|–)\s*{num(2)}"
                         rf"|(?P<cur3>\$)\s*(?P<num3>\d[\d,]*)\s*(?P<k3>k\b)?\s*(?:-|–|to)\s*\$\s*(?P<num4>\d[\d,]*)\s*(?P<k4>k\b)?")
        unit_pat = re.compile(r"\s*((?:\w+[- ]){0,2}?(?:orders?|items?|trips?|visits?|points?|coupons?|sessions?|people|"
                              r"redemptions?|fill-ups|days?|months?|years?))\b")
        for m in pat.finditer(low):
            if _overlaps(m.start(), m.end(), taken) or _inside_value_name(low, m.start() + 1, self.cat):
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
            facet = self._numeric_facet(low, m.start(), m.end() + len(unit) + 1, unit, money, pct)
            if facet is None:
                continue
            taken.append(_Span(m.start(), m.end()))
            conds.append(Condition(facet=facet.name, op="between", min=lo, max=hi,
                                   provenance=_prov(low, m.start(), m.end(), "number", note="range")))

    def _numeric_facet(self, low: str, start: int, end: int, unit: str, money: bool, pct: bool,
                       value: float | None = None) -> Facet | None:
        window = low[max(0, start - 60): end + 40]
        spans = find_dates(window, self.today, self.cat.fiscal_year_start_month, self.cat.seasons)
        windows = [d.days for d in spans if d.op == "within_last_days" and d.days]
        said = unit.split()[-1].rstrip("s") if unit else ""
        rate = (money or pct) and said in _DAYS_IN
        if rate:
            windows.append(_DAYS_IN[said])  # '$3,500 a year': the period of an amount, which dates the facet
        best, best_score = None, 0.0
        for f in self.cat.active_facets:
            rng = f.numeric_range
            if rng is None or (value is not None and not rng.min <= value <= rng.max):
                continue  # '65+' cannot be a count whose range ends at 10
            score = 0.0
            u = rng.unit.lower()
            if money:
                score += 2 if u == "usd" else -3
            if pct:
                score += 2 if u == "percent" else -3
            if unit and not rate and (u.rstrip("s") in unit or said in u):
                score += 3
            elif said in _DAYS_IN and not rate:  # '4 years' fits a duration facet in months, never a money one
                score += 3 if u.rstrip("s") in _DAYS_IN else -3
            words = f.name + " " + " ".join(f.synonyms)
            content, audience = _overlap(window, words), _overlap(window, words, BASIC_STOP)
            in_name = _overlap(window, f.name, BASIC_STOP) - _overlap(window, f.name)
            # An audience noun counts fully when it is in the facet's name ('households of 5' -> a household-size facet),
            # little when only a synonym has it ('shoppers' vs 'times shopped').
            score += 1.5 * content + 1.5 * in_name + 0.5 * max(0.0, audience - content - in_name)
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

    def _ages(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        for m in re.finditer(r"\b(?:aged?\s+|ages\s+)?(under\s+|over\s+)?(\d{1,2})\s*(?:(?:-|to|–)\s*(\d{1,2})|(\+|and over|and up|or older))?(?!\d)", low):
            if _overlaps(m.start(), m.end(), taken):
                continue
            ctx = low[max(0, m.start() - 30): m.end() + 25]
            kid = re.search(r"\b(kids?|children|child|toddlers?|babies)\b", ctx)
            person = re.search(r"\b(women|men|aged?|ages|adults?|seniors?|year olds?|years old|moms|dads|parents|people)\b", ctx)
            if not (m.group(3) or m.group(4) or m.group(1)) or not (kid or person):
                continue
            lo = int(m.group(2))
            hi = int(m.group(3)) if m.group(3) else (200 if (m.group(4) or (m.group(1) or "").strip() == "over") else lo)
            if (m.group(1) or "").strip() == "under":
                lo, hi = 0, lo - 1
            facet = self._range_facet(kid is not None)
            if facet is None:
                continue
            values = [v for v in facet.value_list if _range_overlap(v, lo, hi)]
            if values:
                taken.append(_Span(m.start(), m.end()))
                conds.append(Condition(facet=facet.name, op="in", values=values, provenance=_prov(low, m.start(), m.end(), "range")))

    def _range_facet(self, child: bool) -> Facet | None:
        cands = [f for f in self.cat.active_facets if f.kind == "categorical"
                 and sum(bool(re.search(r"\d", v)) for v in f.value_list) >= 3 and "age" in f.name.lower()]
        for f in cands:
            if child == any(w in f.name.lower() for w in ("child", "kid")):
                return f
        return None

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

    def _reachability(self, low: str, taken: list[_Span], conds: list[Condition]) -> None:
        channels = channel_words(self.cat)
        if not channels:
            return
        words = "|".join(re.escape(w) for w in sorted(channels, key=len, reverse=True))
        pat = re.compile(rf"\b(?:can be|who can be|reach(?:able)?\s+(?:them\s+)?(?:by|via|on|through)|"
                         rf"contactable\s+(?:by|via|on))\s+({words})(?:ed)?\b"
                         rf"|\b({words})[- ]?(?:reachable|contactable)\b"
                         rf"|\b({words})\s+(?:notifications\s+)?(?:turned on|switched on|enabled|on(?!\s+or\s+(?:after|before)\b))\b")
        more = re.compile(rf"\s*(?:,\s*|\s+)(?:and|&)\s+(?:(?:by|via|through|on)\s+)?(?:the\s+)?({words})(?:ed)?\b")
        for m in pat.finditer(low):
            if _overlaps(m.start(), m.end(), taken):
                continue
            found = [(m.start(), m.end(), m.group(1) or m.group(2) or m.group(3))]
            while m.group(1) and (n := more.match(low, found[-1][1])):  # 'reach by text and through the app'
                found.append((n.start(1), n.end(), n.group(1)))
            for a, b, word in found:
                ch = channels.get(word)
                rule = self.cat.rules.reachability.get(ch or "")
                if not rule:
                    continue
                taken.append(_Span(a, b))
                for rc in rule:
                    conds.append(Condition(facet=rc.facet, op=rc.op, values=rc.values,
                                           provenance=_prov(low, a, b, "rule", note=f"{ch} reachability rule")))

    def _dates(self, low: str, dates: list[DateSpan], taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        for d in dates:
            if _overlaps(d.start, d.end, taken):
                continue
            taken.append(_Span(d.start, d.end))
            before = low[max(0, d.start - 45): d.start]
            if d.op == "month":
                f = next((f for f in self.cat.active_facets if f.kind == "categorical"
                          and [v.lower() for v in f.value_list] == [m.lower() for m in calendar.month_name[1:]]), None)
                if f:
                    conds.append(Condition(facet=f.name, op="in", values=[f.value_list[m - 1] for m in d.months or []],
                                           provenance=_prov(low, d.start, d.end, "date")))
                continue
            if d.op == "within_last_days" and re.search(r"\b(haven't|hasn't|have not|has not|no|nothing|not)\b", before):
                f = self._gap_facet(before)
                if f:
                    conds.append(Condition(facet=f.name, op="between", min=d.days, provenance=_prov(low, d.start, d.end, "date", note="gap since last activity")))
                    continue
            clause = _clause_at(low, d.start)
            prev_end = max([x.end for x in dates if x.end <= d.start] + [low.find(clause)])
            if d.op == "within_last_days" and self._absorbed(low[prev_end:d.end], d.days or 0):
                r.notes.append(f"'{d.text}' matches a facet's own window; no separate date condition")
                continue
            facet = self._date_facet(clause, low, d)
            if facet is None:
                continue
            kw = {"within_last_days": {"days": d.days}, "on_or_after": {"date": d.date},
                  "between": {"min": d.min, "max": d.max}}[d.op]
            conds.append(Condition(facet=facet.name, op=d.op, **kw, provenance=_prov(low, d.start, d.end, "date")))

    def _gap_facet(self, before: str) -> Facet | None:
        cands = [f for f in self.cat.active_facets if f.numeric_range and f.numeric_range.unit.lower() == "days"]
        cands.sort(key=lambda f: -_overlap(before, " ".join([f.name, *f.synonyms])))
        return cands[0] if cands else None

    def _absorbed(self, clause: str, days: int) -> bool:
        """True when a windowed facet named in the clause already covers this many days."""
        for phrase, facet, _ in self.lexicon:
            f = self.cat.get(facet)
            w = _facet_window(f.name) if f else None
            if w and abs(w - days) <= 0.1 * w and re.search(rf"\b{re.escape(phrase)}\b", clause):
                return True
        if re.search(r"\b(spent|spend|orders?|purchases)\b", clause) and abs(days - 365) <= 37:
            return any(_facet_window(f.name) == 365 for f in self.cat.active_facets)
        return False

    def _date_facet(self, clause: str, low: str, d: DateSpan) -> Facet | None:
        text = (clause.replace(d.text.lower(), " ") + " ").strip()
        if cue := re.match(r"(due|arriving|expected|expecting)\b", d.text.lower()):
            text += " " + cue.group(1)  # the date's own verb names the facet ('due next spring')
        cands = [f for f in self.cat.active_facets if f.kind == "date"]
        if not any(_overlap(text, " ".join([f.name, *f.synonyms])) for f in cands):
            text = low[max(0, d.start - 50):d.start]  # 'whose first trip with us was last winter' spans two clauses
        scored = sorted(((_overlap(text, " ".join([f.name, *f.synonyms])), i, f) for i, f in enumerate(cands)),
                        key=lambda t: (-t[0], t[1]))
        if scored and scored[0][0] > 0:
            top = scored[0]
            purchase = next((f for f in cands if f.scope == "purchase"), None)
            if purchase and PURCHASE_CUES.search(text) and top[2] is not purchase and \
                    _overlap(text, " ".join([purchase.name, *purchase.synonyms])) >= top[0]:
                return purchase
            return top[2]
        purchase = next((f for f in cands if f.scope == "purchase"), None)
        if purchase and (PURCHASE_CUES.search(low) or d.op != "within_last_days"):
            return purchase
        return None

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
                if kind == "value" and self._names_chosen(phrase, facet_name, conds):
                    taken.append(_Span(m.start(), m.end()))
                    continue  # 'fuel centers' beside a count of fuel center visits names that facet, not a service
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
            named = [v for v in facet.value_list
                     if any(re.search(rf"\b{re.escape(n.lower())}\b", phrase) for n in [v, *facet.value_synonyms.get(v, [])])]
            if named and not QUALITY.search(phrase):
                conds.append(Condition(facet=facet.name, op="not_in" if neg else "in", values=named, provenance=prov))
                return
            amb = self._unresolved_value(facet, phrase, low, m)
            if amb:
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])
            elif (stated := self._stated_reading(facet, phrase)) is not None:
                # 'near their store' names the facet; the tenant's hints give its one reading ('close to their store')
                conds.extend(c.model_copy(update={"provenance": prov}) for c in stated)
        elif facet.kind == "numeric":
            amb = self._vague_amount(facet, phrase, low, m)
            if amb:
                r.ambiguities.append(amb)
                conds.extend(amb.options[0][1])

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
        # 'Never Engaged' is the opposite of 'engaged', never a reading of it
        others = [v for v in others if not re.fullmatch(rf"(?:never|not|non|no)[\s-]+{re.escape(phrase)}", v.lower())]
        stronger = [v for v in others if re.fullmatch(rf"(?:{'|'.join(INTENSIFIERS)})\s+{re.escape(phrase)}", v.lower())]
        if not others:
            return None
        if stronger == others:  # 'engaged' beside 'Highly Engaged': the word and its stronger degree, by default
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
        opts = [(f"{facet.name} of {_fmt_amount(v, rng.unit)} or more ({label})",
                 [Condition(facet=facet.name, op="between", min=v,
                            provenance=_prov(low, m.start(), m.end(), "synonym", matched=phrase))])
                for label, v in steps]
        opts.insert(0, opts.pop(len(opts) // 2))  # the middle band is the default
        return Ambiguity(phrase=phrase, question=f"How much is '{phrase}'?", options=opts, replaces=[facet.name])

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
                if best is None:
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
                    taken.append(_Span(m.start(), m.end()))
                    conds.append(Condition(facet=f.name, op="in", values=hits,
                                           provenance=_prov(low, m.start(), m.end(), "partial", matched=m.group(1))))
                    break

    def _vague(self, low: str, taken: list[_Span], conds: list[Condition], r: Reading) -> None:
        """'frequent shoppers', 'spend a lot on groceries': a numeric facet without a number."""
        have = {c.facet for c in conds}
        for m in re.finditer(r"\b(frequent|heavy|regular)\s+(\w+)|\b(spend|spends|spent|spending|buy|shop)\s+(a lot|lots|heavily|big|often)(?:\s+on\s+(\w+))?", low):
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

    def _own_windows(self, conds: list[Condition], r: Reading) -> list[Condition]:
        """'8 online orders in the past 12 months': the window belongs to the windowed facet, not to a date facet.
        Kept when another purchase condition (a product, a channel) is what the window dates."""
        windows = {c.facet: w for c in conds if (w := _facet_window(c.facet))}
        out = []
        for c in conds:
            f = self.cat.get(c.facet)
            if c.op == "within_last_days" and f is not None and f.kind == "date" and c.days and windows:
                dated = [o for o in conds if o is not c and (g := self.cat.get(o.facet)) and g.scope == "purchase"]
                owner = next((n for n, w in windows.items() if abs(w - c.days) <= 0.1 * w), None)
                if owner and not dated:
                    r.notes.append(f"'{c.provenance.span if c.provenance else c.days}' is {owner}'s own window; "
                                   "no separate date condition")
                    continue
            out.append(c)
        return out

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
            near = [h for h in near if not any(o is not h and self._descends(o.value, h.value) for o in near)]
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

    def _dated_words(self, conds: list[Condition], low: str) -> list[Condition]:
        """A flag or a one-word value matched by words that a dated facet's synonyms also use: the dated facet
        with its explicit window is what they meant ('expecting' + a due date; 'new members' + a join date)."""
        dated = [self.cat.get(c.facet) for c in conds if c.op in ("between", "on_or_after", "within_last_days")]
        synonyms = [s.lower() for f in dated if f is not None and f.kind == "date" for s in f.synonyms]
        syns = " ".join(synonyms)
        said = {_stem(w) for w in re.findall(r"[a-z]+", low)}
        # a one-word value counts only when the rest of such a synonym is said too ('new ... members')
        words = {w for s in synonyms if {_stem(t) for t in re.findall(r"[a-z]+", s) if t not in STOP} <= said
                 for w in re.findall(r"[a-z]+", s)}

        def explained(c: Condition) -> bool:
            span = c.provenance.span if c.provenance else None
            if not span:
                return False
            if c.op == "is_true":
                return span in syns
            return c.op == "in" and c.values == [v for v in c.values if v.lower() == span] and span in words
        return [c for c in conds if not explained(c)]

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

    # ---- post-processing ---------------------------------------------------------------------
    def _apply_tier(self, conds: list[Condition], tier: str | None) -> list[Condition]:
        out = []
        for c in conds:
            f = self.cat.get(c.facet)
            if f and f.kind == "propensity" and c.tier is None:
                c = c.model_copy(update={"tier": tier if tier in f.tiers else self.cat.rules.default_tier})
            out.append(c)
        return out

    def _specific_product_level(self, conds: list[Condition]) -> list[Condition]:
        """Keep the most specific product level named (plus the brand); parents come back by rule."""
        levels = _level_order(self.cat)
        for group in ({"propensity"}, {"categorical"}):
            prod = [c for c in conds if (f := self.cat.get(c.facet)) and f.kind in group and f.hierarchy_level in levels
                    and c.op == "in"]
            if len(prod) < 2:
                continue
            deepest = max(levels.index(self.cat.get(c.facet).hierarchy_level) for c in prod)
            drop = [c for c in prod if levels.index(self.cat.get(c.facet).hierarchy_level) < deepest
                    and self._is_ancestor_of_any(c, prod)]
            conds = [c for c in conds if c not in drop]
        return conds

    def _is_ancestor_of_any(self, c: Condition, prod: list[Condition]) -> bool:
        for other in prod:
            if other is c:
                continue
            for v in c.values or []:
                for cv in other.values or []:
                    if self._descends(cv, v):
                        return True
        return False

    def _descends(self, child: str, parent: str, depth: int = 3) -> bool:
        for name, hmap in self.cat.hierarchy.items():
            if isinstance(hmap, dict) and child in (hmap.get(parent) or []):
                return True
        if depth == 0:
            return False
        for name, hmap in self.cat.hierarchy.items():
            if isinstance(hmap, dict):
                for mid in hmap.get(parent) or []:
                    if mid != child and self._descends(child, mid, depth - 1):
                        return True
        return False

    def _drop_implied(self, conds: list[Condition]) -> list[Condition]:
        names = {c.facet for c in conds}
        return [c for c in conds if not any(c.facet == implied and specific in names
                                            for specific, implied in self.implied)]

    def _exclusive(self, conds: list[Condition], r: Reading) -> list[Condition]:
        for m in self.cat.rules.mutually_exclusive:
            present = [c for c in conds if c.facet in m.facets]
            if len({c.facet for c in present}) > 1:
                keep = max(present, key=lambda c: (c.provenance.evidence.method in ("number", "date", "range")) if c.provenance else 0)
                conds = [c for c in conds if c.facet not in m.facets or c.facet == keep.facet]
                r.notes.append(f"kept {keep.facet}: {m.why}")
        return conds


# ---- helpers -----------------------------------------------------------------------------------

_CACHE: dict[tuple[str, int], tuple[Catalog, object]] = {}


def per_catalog(fn):
    """Memoise a catalog-derived table for the catalog object's lifetime."""
    def wrapped(catalog: Catalog):
        key = (fn.__name__, id(catalog))
        hit = _CACHE.get(key)
        if hit is None or hit[0] is not catalog:
            hit = _CACHE[key] = (catalog, fn(catalog))
        return hit[1]
    wrapped.__name__ = fn.__name__
    return wrapped


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


def _clauses(low: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in re.finditer(r",(?!\d)|;| - |\bwho\b|\bwhose\b|\bbut\b|\bexcluding\b|\bminus\b|\bwith\b|\band (?:who|are|have|can)\b", low):
        out.append((start, m.start()))
        start = m.start()
    out.append((start, len(low)))
    return out


def _clause_at(low: str, pos: int) -> str:
    for a, b in _clauses(low):
        if a <= pos < b:
            return low[a:b]
    return low


def _find(phrase: str, low: str, taken: list[_Span]) -> tuple[int, int] | None:
    """The phrase, singular or plural in its last word ('weekdays' finds 'weekday evenings'), not yet taken."""
    last = phrase.split()[-1] if phrase.split() else ""
    if last.endswith("s") and not last.endswith("ss") and len(last) > 4:
        phrase = phrase[:-1]
    body = re.sub(r"(?<=\\ )(?:the|their|our|a)(?=\\ )", "(?:the|their|our|a)", re.escape(phrase))  # 'to their store' ~ 'to the store'
    for m in re.finditer(rf"(?<![\w']){body}(?:s)?(?![\w])", low.replace("-", " ")):
        if not _overlaps(m.start(), m.end(), taken):
            return (m.start(), m.end())
    return None


def _find_apart(phrase: str, low: str, taken: list[_Span]) -> tuple[int, int] | None:
    """A two-word phrase with a name between its words ('best <brand> prospects'); only the words are taken."""
    words = phrase.split()
    if len(words) != 2 or any(w in STOP for w in words):
        return None
    m = re.search(rf"(?<![\w']){re.escape(words[0])}\s+(?:[a-z0-9&'-]+\s+){{1,3}}?{re.escape(words[1])}s?(?![\w])", low)
    if m and not _overlaps(m.start(), m.start() + len(words[0]), taken):
        return (m.start(), m.start() + len(words[0]))
    return None


def _overlaps(a: int, b: int, taken: list[_Span]) -> bool:
    return any(s.start < b and a < s.end for s in taken)


def _negated(low: str, pos: int) -> bool:
    clause_start = max(low.rfind(",", 0, pos), low.rfind(";", 0, pos))
    window = low[max(clause_start + 1, pos - 40): pos]
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


def _stem(w: str) -> str:
    for suf in ("ing", "ers", "er", "ed", "es", "s"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def _overlap(text: str, target: str, stop: set[str] = STOP) -> float:
    a = {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if w not in stop}
    b = {_stem(w) for w in re.findall(r"[a-z]+", target.lower()) if w not in stop}
    return float(len(a & b))


def _intent(before: str, clause: str) -> str:
    """Which kind of facet a value names here: propensity, purchase, browse or plain."""
    near = before[-45:]
    cues = [(m.end(), "browse") for m in BROWSE_CUES.finditer(near)]
    cues += [(m.end(), "propensity") for m in PROPENSITY_CUES.finditer(near)]
    cues += [(m.end(), "purchase") for m in PURCHASE_CUES.finditer(near)
             if not re.search(r"(likely|likelihood|propensity|chance)\s+(?:to\s*)?$", near[:m.start()])]
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


def _prov(low: str, a: int, b: int, method: str, matched: str | None = None, alternatives: list[str] | None = None,
          note: str = "") -> Provenance:
    return Provenance(span=low[a:b].strip(), start=a, end=b, alternatives=alternatives or [], note=note,
                      evidence=Evidence(method=method, matched_synonym=matched))


def _merge(conds: list[Condition]) -> list[Condition]:
    out: list[Condition] = []
    for c in conds:
        same = next((o for o in out if o.facet == c.facet and o.op == c.op), None)
        if same is None:
            out.append(c)
        elif c.op in ("in", "not_in"):
            vals = list(dict.fromkeys((same.values or []) + (c.values or [])))
            out[out.index(same)] = same.model_copy(update={"values": vals})
    return out


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


def _facet_window(name: str) -> int | None:
    """Days covered by a windowed facet name: '12M' 365, '90D' 90, '13 Weeks' 91, '6 Months' 180."""
    m = re.search(r"(\d+)\s*(M|D|Weeks?|Months?)\b", name)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).lower()
    if unit == "m":
        return 365 if n == 12 else n * 30
    if unit == "d":
        return n
    if unit.startswith("week"):
        return n * 7
    return n * 30


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


def _round_sig(x: float) -> float:
    """Two significant figures: 1267.8 -> 1300, 26 -> 26, 0.37 -> 0.37."""
    if x <= 0:
        return 0
    mag = 10 ** (len(str(int(x))) - 2) if x >= 100 else 1
    v = round(x / mag) * mag
    return int(v) if float(v).is_integer() else round(v, 2)


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
            for ph in [v, *f.value_synonyms.get(v, [])]:
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
            for ph in [v, *f.value_synonyms.get(v, [])]:
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


def _implications(catalog: Catalog) -> list[tuple[str, str]]:
    """(specific, implied) pairs from hints of the form 'X implies Y'."""
    names = sorted((f.name for f in catalog.facets), key=len, reverse=True)
    out = []
    for h in catalog.vocabulary_hints:
        for m in re.finditer(r"([A-Z][\w ]+?) implies ([A-Z][\w ]+?)(?= and |,|;|\.|$)", h):
            a = next((n for n in names if m.group(1).strip().endswith(n)), None)
            b = next((n for n in names if m.group(2).strip().startswith(n)), None)
            if a and b:
                out.append((a, b))
    return out


def _recently_days(catalog: Catalog) -> int:
    for h in catalog.vocabulary_hints:
        m = re.search(r"'recently'[^=]*=\s*(\d+)\s*days", h)
        if m:
            return int(m.group(1))
    return 90


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


@per_catalog
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
def _lexicon_words(catalog: Catalog) -> frozenset[str]:
    """Every word the lexical parts match on: facet names, synonyms, values and their aliases, hints."""
    texts = [t for f in catalog.active_facets for t in [f.name, *f.synonyms, *f.value_list,
                                                         *[a for al in f.value_synonyms.values() for a in al]]]
    return frozenset(w for t in [*texts, *catalog.vocabulary_hints] for w in re.findall(r"[a-z]+", t.lower()))


@per_catalog
def _facet_name_words(catalog: Catalog) -> frozenset[str]:
    """Words of facet names: content words here even where a request's frame uses them ('email')."""
    return frozenset(w for f in catalog.active_facets for w in re.findall(r"[a-z]+", f.name.lower()))


def _product_levels(catalog: Catalog) -> frozenset[str]:
    """Hierarchy levels that describe products: the levels a propensity facet scores."""
    return frozenset(f.hierarchy_level for f in catalog.facets if f.kind == "propensity" and f.hierarchy_level)


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
def _level_order(catalog: Catalog) -> list[str]:
    """The product tree's levels, broadest first, from the catalog's parent -> children maps that are a tree
    (each child under one parent); a many-to-many map (brands -> divisions) cuts across the tree."""
    values = {lvl: {v for f in catalog.facets if f.hierarchy_level == lvl for v in f.value_list}
              for lvl in _product_levels(catalog)}
    parent: dict[str, str] = {}
    for hmap in catalog.hierarchy.values():
        if not isinstance(hmap, dict) or not hmap:
            continue
        kids = [c for cs in hmap.values() for c in (cs or [])]
        if len(kids) != len(set(kids)):
            continue
        hi = next((lvl for lvl, vs in values.items() if set(hmap) <= vs), None)
        lo = next((lvl for lvl, vs in values.items() if set(kids) <= vs), None)
        if hi and lo and hi != lo:
            parent[lo] = hi
    def depth(lvl: str) -> int:
        return 1 + depth(parent[lvl]) if lvl in parent else 0
    tree = set(parent) | set(parent.values())
    if not tree:  # no tree: the product levels that are never the parent side of a map
        tree = {lvl for lvl in values if not any(set(h) <= values[lvl] for h in catalog.hierarchy.values()
                                                  if isinstance(h, dict) and h)}
    return sorted(tree, key=lambda lvl: (depth(lvl), lvl))


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
