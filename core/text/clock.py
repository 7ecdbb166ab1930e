"""Times of day in a request ('lunchtime', 'after work', 'before 7am', 'between 5 and 7pm') as the hours they
cover, and a time band's hours as a catalog writes them ('8-11am', 'after 8pm')."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.?|p\.m\.?)"
_BARE = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.?|p\.m\.?)?"


@dataclass(frozen=True)
class Hours:
    """A time of day said at text[start:end], as hours lo..hi (hi exclusive; a moment has lo == hi)."""
    start: int
    end: int
    text: str
    lo: float
    hi: float

    def meets(self, lo: float, hi: float) -> bool:
        """True when these hours fall in the band lo..hi (a moment inside it, or a stretch overlapping it)."""
        if self.lo == self.hi:
            return lo <= self.lo < hi
        return self.lo < hi and lo < self.hi


@functools.lru_cache(maxsize=1)
def named_times() -> dict[str, float]:
    """Time-of-day words -> the hour they mean, longest first."""
    table = yaml.safe_load((Path(__file__).parent / "calendar.yaml").read_text())["times_of_day"]
    return {k: float(table[k]) for k in sorted(table, key=len, reverse=True)}


def _hour(h: str, mins: str | None, half: str | None) -> float:
    """A clock reading on the 24-hour clock; without am/pm, as written."""
    value = int(h) % 12 if half else int(h)
    if half and half.startswith("p"):
        value += 12
    return value + int(mins or 0) / 60


def hours_said(low: str) -> list[Hours]:
    """Every time of day said in the lower-cased text, in order."""
    found: list[Hours] = []

    def add(m: re.Match, lo: float, hi: float) -> None:
        if not any(h.start < m.end() and m.start() < h.end for h in found):
            found.append(Hours(m.start(), m.end(), m.group(0), lo, hi))
    for m in re.finditer(rf"\bbetween\s+{_BARE}\s+and\s+{_CLOCK}", low):
        end = _hour(m.group(4), m.group(5), m.group(6))
        start = _hour(m.group(1), m.group(2), m.group(3) or m.group(6))
        add(m, start if start < end else start - 12, end)
    for m in re.finditer(rf"\b(?:before|by|earlier than|until)\s+{_CLOCK}", low):
        add(m, 0, _hour(m.group(1), m.group(2), m.group(3)))
    for m in re.finditer(rf"\b(?:after|past|later than)\s+{_CLOCK}", low):
        add(m, _hour(m.group(1), m.group(2), m.group(3)), 24)
    for m in re.finditer(rf"\b(?:around|about|at|near)\s+{_CLOCK}", low):
        h = _hour(m.group(1), m.group(2), m.group(3))
        add(m, h, h)
    for name, h in named_times().items():
        for m in re.finditer(rf"\b(?:around\s+|about\s+|at\s+)?{re.escape(name)}s?\b", low):
            add(m, h, h)
    return sorted(found, key=lambda h: h.start)


def band(text: str) -> tuple[float, float] | None:
    """A time band's hours as a catalog writes them: 'before 8am', '8-11am', '11am-4pm', 'after 8pm'."""
    t = text.strip().rstrip(".").lower()  # a sentence's full stop ("after 8pm.")
    if m := re.fullmatch(rf"(?:before|until)\s+{_CLOCK}", t):
        return 0.0, _hour(m.group(1), m.group(2), m.group(3))
    if m := re.fullmatch(rf"(?:after|from)\s+{_CLOCK}", t):
        return _hour(m.group(1), m.group(2), m.group(3)), 24.0
    if m := re.fullmatch(rf"{_BARE}\s*(?:-|–|to)\s*{_CLOCK}", t):
        end = _hour(m.group(4), m.group(5), m.group(6))
        start = _hour(m.group(1), m.group(2), m.group(3) or m.group(6))
        return (start if start < end else start - 12), end
    return None
