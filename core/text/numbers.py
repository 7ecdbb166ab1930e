"""Numbers written as words ('five', 'twenty-one', 'a dozen') and their values."""
from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_VALUES = {w: i for i, w in enumerate(_ONES)} | _TENS | {"a dozen": 12, "dozen": 12, "a hundred": 100,
                                                          "one hundred": 100, "hundred": 100}

# Longest first, so 'twenty-one' is one number and not 'twenty' then 'one'.
WORD_NUMBER = (rf"(?:(?:{'|'.join(_TENS)})[- ](?:{'|'.join(_ONES[1:10])})|"
               rf"{'|'.join(sorted(_VALUES, key=len, reverse=True))})")
_WHOLE = re.compile(rf"{WORD_NUMBER}", re.IGNORECASE)


def word_number(text: str) -> int | None:
    """The value of a number written as words, or None when `text` is not one."""
    t = text.lower().strip()
    if not _WHOLE.fullmatch(t):
        return None
    if t in _VALUES:
        return _VALUES[t]
    tens, ones = re.split(r"[- ]", t)
    return _TENS[tens] + _ONES.index(ones)


_FRACTIONS = {"half": 50.0, "a half": 50.0, "one half": 50.0, "a third": 100 / 3, "one third": 100 / 3,
              "two thirds": 200 / 3, "a quarter": 25.0, "one quarter": 25.0, "three quarters": 75.0,
              "a fifth": 20.0, "one fifth": 20.0, "a tenth": 10.0, "one tenth": 10.0}
FRACTION = "(?:" + "|".join(sorted(_FRACTIONS, key=len, reverse=True)) + ")"  # longest first


def fraction_percent(text: str) -> float | None:
    """A share said as a fraction ('half', 'a third', 'three quarters') in percent, rounded to 0.1."""
    v = _FRACTIONS.get(text.lower().strip())
    return None if v is None else round(v, 1)
