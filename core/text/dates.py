"""Relative dates in marketer wording, resolved against an injected `today` and the tenant's fiscal year."""
from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from pathlib import Path

import yaml

from core.text.numbers import word_number
from dataclasses import dataclass

MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


@dataclass
class DateSpan:
    """A date expression found in the request: the condition shape it implies and where it was."""
    op: str                      # within_last_days | on_or_after | between | month
    start: int
    end: int
    text: str
    days: int | None = None
    date: str | None = None
    min: str | None = None
    max: str | None = None
    months: list[int] | None = None  # for 'this month' style values


def _num(word: str) -> int | None:
    word = word.lower().replace(",", "")
    if word.isdigit():
        return int(word)
    return 1 if word in ("a", "an") else word_number(word)


def _holiday(rule: dict, year: int) -> dt.date:
    """One year's date of a calendar.yaml holiday rule."""
    if "from_easter" in rule:
        return _easter(year) + dt.timedelta(days=rule["from_easter"])
    if "day" in rule:
        return dt.date(year, rule["month"], rule["day"])
    month, weekday, nth = rule["month"], rule["weekday"], rule["nth"]
    if nth > 0:
        first = dt.date(year, month, 1)
        day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    else:
        last = _month_end(year, month)
        day = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    return day + dt.timedelta(days=rule.get("offset", 0))


def _easter(year: int) -> dt.date:
    """Easter Sunday of a Gregorian year (the anonymous Gregorian computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    return dt.date(year, month, (h + l_ - 7 * m + 114) % 31 + 1)


@functools.lru_cache(maxsize=1)
def _calendar() -> dict:
    return yaml.safe_load((Path(__file__).parent / "calendar.yaml").read_text())


def holidays() -> dict[str, dict]:
    """Holiday name -> rule, longest names first ('christmas eve' before 'christmas')."""
    table = _calendar()["holidays"]
    return {k: table[k] for k in sorted(table, key=len, reverse=True)}


def _calendar_period(m: re.Match) -> tuple[dt.date, dt.date]:
    """The first and last day of a year, a month of a year or a day that a match names."""
    year = int(m.group("year"))
    if not m.group("mon"):
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = MONTHS[m.group("mon").lower()]
    if m.group("day") and 1 <= int(m.group("day")) <= calendar.monthrange(year, month)[1]:
        day = dt.date(year, month, int(m.group("day")))
        return day, day
    return dt.date(year, month, 1), _month_end(year, month)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def fiscal_year_start(today: dt.date, start_month: int) -> dt.date:
    year = today.year if today.month >= start_month else today.year - 1
    return dt.date(year, start_month, 1)


def fiscal_quarter(today: dt.date, start_month: int, offset: int = 0) -> tuple[dt.date, dt.date]:
    """The fiscal quarter containing today, shifted by `offset` quarters."""
    fy = fiscal_year_start(today, start_month)
    months_in = (today.year - fy.year) * 12 + today.month - fy.month
    q_start = _add_months(fy.year, fy.month, (months_in // 3 + offset) * 3)
    q_end = _add_months(*q_start, 2)
    return dt.date(q_start[0], q_start[1], 1), _month_end(*q_end)


def fiscal_part(today: dt.date, start_month: int, years_back: int, offset: int, months: int) -> tuple[dt.date, dt.date]:
    """`months` months starting `offset` months into the fiscal year `years_back` years before the current one."""
    fy = fiscal_year_start(today, start_month)
    start = _add_months(fy.year - years_back, fy.month, offset)
    end = _add_months(*start, months - 1)
    return dt.date(start[0], start[1], 1), _month_end(*end)


def next_season(months: list[int], today: dt.date) -> tuple[dt.date, dt.date]:
    """The next season of these months that has not started yet ('due next spring')."""
    start = dt.date(today.year, months[0], 1)
    if start <= today:
        start = dt.date(today.year + 1, months[0], 1)
    end_year = start.year + (1 if months[-1] < months[0] else 0)
    return start, _month_end(end_year, months[-1])


def named_quarter(today: dt.date, start_month: int, q: int) -> tuple[dt.date, dt.date]:
    """Fiscal quarter Qq of the current fiscal year (the most recent one that has started)."""
    fy = fiscal_year_start(today, start_month)
    start = _add_months(fy.year, fy.month, (q - 1) * 3)
    if dt.date(start[0], start[1], 1) > today:
        start = (start[0] - 1, start[1])
    end = _add_months(*start, 2)
    return dt.date(start[0], start[1], 1), _month_end(*end)


def season_window(months: list[int], today: dt.date, which: str) -> tuple[dt.date, dt.date]:
    """Dates of a season: 'last' = the most recent one fully past, 'this' = the current/most recent start."""
    first, last = months[0], months[-1]
    wraps = last < first
    year = today.year
    start = dt.date(year, first, 1)
    end_year = year + 1 if wraps else year
    end = _month_end(end_year, last)
    if which == "last":
        while end >= today:
            start, end = dt.date(start.year - 1, first, 1), _month_end(end.year - 1, last)
    else:
        while start > today:
            start, end = dt.date(start.year - 1, first, 1), _month_end(end.year - 1, last)
    return start, end


_LAST_N = re.compile(r"\b(?:in\s+|within\s+|over\s+|during\s+)?(?:the\s+)?(?:last|past|previous|prior)\s+"
                     r"(\d[\d,]*|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|eighteen|thirty|sixty|ninety)?\s*"
                     r"(day|week|month|year)s?\b", re.I)
_IN_N = re.compile(r"\b(?:in|within)\s+(?:the\s+)?(\d[\d,]*|two|three|four|five|six|seven|ten|thirty|sixty|ninety)\s+(day|week|month|year)s?\b", re.I)
_GAP = re.compile(r"\b(?:haven't|hasn't|havent|hasnt|have not|has not|didn't|didnt|not|no|nothing)\b[^,.;]{0,30}?"
                  r"\b((?:in|for)\s+(?:the\s+)?(?:(?:over|more than|at least)\s+)?"
                  r"(\d[\d,]*|two|three|four|five|six|seven|eight|nine|ten|twelve|thirty|sixty|ninety)\+?\s*(day|week|month|year)s?"
                  r"(?:\s+or\s+(?:more|longer))?)\b", re.I)
_SINCE = re.compile(r"\b(?:since|on or after|after)\s+(?:the\s+)?(?:start\s+of\s+(?:the\s+|this\s+)?)?([a-z0-9 ,'-]+?)(?=$|[,.;?!]| and | who | with | but | that | in the )", re.I)
_FISCAL = re.compile(r"\b(this|last|current|previous)\s+fiscal\s+(year|yr|quarter)\b|\bfytd\b|\bfiscal\s+year\s+to\s+date\b", re.I)
_FISCAL_PART = re.compile(r"\b(?:(?:fiscal\s+)?q([1-4])|(first|second)\s+half|h([12]))\s+(?:of\s+)?(?:the\s+)?"
                          r"(this|last|previous|current|prior)\s+fiscal\s+year\b", re.I)
_NEXT_SEASON = re.compile(r"\b(?:due|arriving|expected|expecting)\s+(?:in\s+)?(?:the\s+)?next\s+([a-z' -]+?)(?:\s+season)?\b(?=$|[,.;]| and | who | with )", re.I)
_QN = re.compile(r"\b(?:in\s+|during\s+)?(?:fiscal\s+)?q([1-4])\b", re.I)
_SEASON = re.compile(r"\b(last|this|past)\s+(?:year's\s+)?([a-z' -]+?)\s*(season)?\b", re.I)
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_CALENDAR = rf"(?:(?P<mon>{_MONTH_NAMES})\.?\s+(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?)?(?P<year>(?:19|20)\d\d)\b"
# 'before 2022', 'since before March 2024', 'prior to 2020': everything up to the day before
_BEFORE_YEAR = re.compile(rf"\b(?:since\s+)?(?:before|prior\s+to|earlier\s+than)\s+{_CALENDAR}", re.I)
# 'since 2021', 'from June 2023', 'after 2022' (the day after the period)
_AFTER_YEAR = re.compile(rf"\b(?P<word>since|from|after|starting(?:\s+in)?)\s+{_CALENDAR}", re.I)
_IN_YEAR = re.compile(rf"\b(?:in|during|throughout)\s+{_CALENDAR}", re.I)  # 'in 2023', 'in March 2024'
_YEAR_SEASON = re.compile(r"\b(spring|summer|fall|autumn|winter)\s+(20\d\d)\b", re.I)
_THIS_YEAR = re.compile(r"\b(this\s+(?:calendar\s+)?year|year\s+to\s+date|ytd)\b", re.I)
_THIS_MONTH = re.compile(r"\b(this|next|last)\s+month\b", re.I)
# 'recently', and 'recent' said of buyers or shoppers ('recent tent buyers'): the tenant's 'recently' window
_RECENTLY = re.compile(r"\b(?:recently|recent(?=\s+(?:[a-z]+\s+){0,2}?(?:buyers?|purchasers?|shoppers?|customers?)\b))\b",
                       re.I)
_DUE = re.compile(r"\b(?:due|arriving|expected)\s+(?:in\s+)?([a-z]+)(?:\s+(?:or|and|through|to|-)\s+([a-z]+))?\b", re.I)


def find_dates(text: str, today: dt.date, fiscal_start: int, seasons: dict[str, list[int]],
               recently_days: int = 90) -> list[DateSpan]:
    """Every date expression of the request, non-overlapping, in order."""
    spans: list[DateSpan] = []
    taken: list[tuple[int, int]] = []

    def add(span: DateSpan) -> None:
        if any(s < span.end and span.start < e for s, e in taken):
            return
        taken.append((span.start, span.end))
        spans.append(span)

    for m in _DUE.finditer(text):
        m1, m2 = MONTHS.get(m.group(1).lower()), MONTHS.get((m.group(2) or "").lower())
        if m1:
            y1 = today.year if m1 >= today.month else today.year + 1
            lo = dt.date(y1, m1, 1)
            m_end = m2 or m1
            y2 = y1 if m_end >= m1 else y1 + 1
            add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=_month_end(y2, m_end).isoformat()))
    for m in _FISCAL_PART.finditer(text):  # 'Q2 of last fiscal year', 'the first half of this fiscal year'
        back = 0 if m.group(4).lower() in ("this", "current") else 1
        if m.group(1):
            lo, hi = fiscal_part(today, fiscal_start, back, (int(m.group(1)) - 1) * 3, 3)
        else:
            second = (m.group(2) or "").lower() == "second" or m.group(3) == "2"
            lo, hi = fiscal_part(today, fiscal_start, back, 6 if second else 0, 6)
        add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    for m in _FISCAL.finditer(text):
        word = (m.group(1) or "this").lower()
        unit = (m.group(2) or "year").lower().replace("yr", "year")
        if unit == "year" and word in ("this", "current"):
            add(DateSpan("on_or_after", m.start(), m.end(), m.group(0), date=fiscal_year_start(today, fiscal_start).isoformat()))
        elif unit == "year":
            fy = fiscal_year_start(today, fiscal_start)
            prev = dt.date(fy.year - 1, fy.month, fy.day)
            add(DateSpan("between", m.start(), m.end(), m.group(0), min=prev.isoformat(), max=(fy - dt.timedelta(days=1)).isoformat()))
        else:
            lo, hi = fiscal_quarter(today, fiscal_start, -1 if word in ("last", "previous") else 0)
            if word in ("this", "current"):
                add(DateSpan("on_or_after", m.start(), m.end(), m.group(0), date=lo.isoformat()))
            else:
                add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    for m in _QN.finditer(text):
        lo, hi = named_quarter(today, fiscal_start, int(m.group(1)))
        add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    for rx in (_BEFORE_YEAR, _AFTER_YEAR, _IN_YEAR):
        for m in rx.finditer(text):
            lo, hi = _calendar_period(m)
            if rx is _BEFORE_YEAR:
                add(DateSpan("between", m.start(), m.end(), m.group(0), max=(lo - dt.timedelta(days=1)).isoformat()))
            elif rx is _AFTER_YEAR:
                first = hi + dt.timedelta(days=1) if m.group("word").lower() == "after" else lo
                add(DateSpan("on_or_after", m.start(), m.end(), m.group(0), date=first.isoformat()))
            else:
                add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    for m in _SINCE.finditer(text):
        when = _resolve_since(m.group(1).strip(), today, fiscal_start)
        if when:
            add(DateSpan("on_or_after", m.start(), m.end(), m.group(0), date=when.isoformat()))
    season_names = {k.lower(): v for k, v in seasons.items()}
    for alias, name in season_aliases().items():
        if name in season_names:
            season_names.setdefault(alias, season_names[name])
    for m in _YEAR_SEASON.finditer(text):
        months = season_names.get(m.group(1).lower())
        if months:
            y = int(m.group(2))
            add(DateSpan("between", m.start(), m.end(), m.group(0), min=dt.date(y, months[0], 1).isoformat(),
                         max=_month_end(y + (1 if months[-1] < months[0] else 0), months[-1]).isoformat()))
    for m in _NEXT_SEASON.finditer(text):
        months = season_names.get(m.group(1).lower().strip()) or season_names.get(m.group(1).lower().strip() + " season")
        if months:
            lo, hi = next_season(months, today)
            add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    names = "|".join(re.escape(n) for n in sorted(season_names, key=len, reverse=True))
    names = names.replace("\\ ", "[\\s-]+")  # 'back-to-school season' as written
    season_rx = re.compile(rf"\b(last|this|past)\s+(year's\s+)?(?:the\s+)?({names})(\s+season)?\b", re.I) if names else _SEASON
    for m in season_rx.finditer(text):
        name = re.sub(r"[\s-]+", " ", (m.group(3) if names else m.group(2)).lower().strip())
        name = re.sub(r"^(the)\s+", "", name)
        key = name if name in season_names else (name + " season" if name + " season" in season_names else None)
        if key is None:
            continue
        months = season_names[key]
        if names and m.group(2):  # 'last year's holiday season': the one that started last calendar year
            year = today.year - (0 if m.group(1).lower() == "this" else 1)
            lo = dt.date(year, months[0], 1)
            hi = _month_end(year + (1 if months[-1] < months[0] else 0), months[-1])
        else:
            lo, hi = season_window(months, today, "last" if m.group(1).lower() in ("last", "past") else "this")
        add(DateSpan("between", m.start(), m.end(), m.group(0), min=lo.isoformat(), max=hi.isoformat()))
    for m in _THIS_MONTH.finditer(text):
        shift = {"this": 0, "next": 1, "last": -1}[m.group(1).lower()]
        year, month = _add_months(today.year, today.month, shift)
        if m.group(1).lower() == "last":
            add(DateSpan("within_last_days", m.start(), m.end(), m.group(0), days=30))
        else:
            last = calendar.monthrange(year, month)[1]  # the dates too, for a dated facet ('a baby arriving next month')
            add(DateSpan("month", m.start(), m.end(), m.group(0), months=[month],
                         min=dt.date(year, month, 1).isoformat(), max=dt.date(year, month, last).isoformat()))
    for m in _GAP.finditer(text):  # 'haven't been in for 45 days', 'not bought in over 6 months'
        n = _num(m.group(2))
        if n:
            add(DateSpan("within_last_days", m.start(1), m.end(1), m.group(1), days=n * UNIT_DAYS[m.group(3).lower()]))
    for rx in (_LAST_N, _IN_N):
        for m in rx.finditer(text):
            n = _num(m.group(1)) if m.group(1) else 1
            if n:
                add(DateSpan("within_last_days", m.start(), m.end(), m.group(0), days=n * UNIT_DAYS[m.group(2).lower()]))
    for m in _THIS_YEAR.finditer(text):
        add(DateSpan("on_or_after", m.start(), m.end(), m.group(0), date=dt.date(today.year, 1, 1).isoformat()))
    for m in _RECENTLY.finditer(text):
        add(DateSpan("within_last_days", m.start(), m.end(), m.group(0), days=recently_days))
    return sorted(spans, key=lambda s: s.start)


def _resolve_since(phrase: str, today: dt.date, fiscal_start: int) -> dt.date | None:
    p = phrase.lower().strip()
    if "fiscal year" in p:
        return fiscal_year_start(today, fiscal_start)
    if p in ("the start of the year", "start of the year", calendar.month_name[1].lower(), "the beginning of the year"):
        return dt.date(today.year, 1, 1)
    for name, rule in holidays().items():
        if p.startswith(name):
            d = _holiday(rule, today.year)
            return d if d <= today else _holiday(rule, today.year - 1)
    try:
        return dt.date.fromisoformat(p)
    except ValueError:
        pass
    m = re.match(r"([a-z]+)\s*(\d{1,2})?(?:st|nd|rd|th)?,?\s*(\d{4})?$", p)
    if m and m.group(1) in MONTHS:
        month = MONTHS[m.group(1)]
        day = int(m.group(2) or 1)
        year = int(m.group(3)) if m.group(3) else today.year
        try:
            d = dt.date(year, month, day)
        except ValueError:
            return None
        return d if d <= today or m.group(3) else dt.date(year - 1, month, day)
    return None


def season_aliases() -> dict[str, str]:
    """Other English names of seasons ('autumn' -> 'fall'); a tenant's own season names win."""
    return dict(_calendar()["season_aliases"])
