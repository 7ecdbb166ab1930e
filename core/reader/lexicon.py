"""The reader's lexicon of one catalog: every table the reading stages match words against, built once per
catalog object and never changed after.

Phrases come from the catalog alone (facet names and synonyms, values and their aliases, value definitions,
vocabulary hints) plus English word forms: a plural value read singular, a banded number said another way,
'owns home' as 'own their home'.
"""
from __future__ import annotations

import re

from core.catalog import Catalog, Facet
from core.reader.common import AUDIENCE_WORDS, STOP, _CUE_WORDS, _product_levels, _stem, per_catalog
from core.text.clock import band
from core.text.dates import season_aliases
from core.text.normalise import Vocabulary, norm, vocabulary, zipf
from core.text.phrasebook import Entry, build_phrasebook

VERBS_3S = frozenset("""owns buys pays prefers uses shops holds speaks lives rents drives""".split())  # English verbs
AUDIENCE_NOUNS = ("customers", "shoppers", "buyers", "members")  # a phrase ending in one reads with the others
FUZZY_MIN_LENGTH = 5  # shorter names are too close to everyday words to match by spelling alone


@per_catalog
def phrasebook(catalog: Catalog) -> list[Entry]:
    """The tenant's phrasebook, read from its vocabulary hints."""
    return build_phrasebook(catalog)


@per_catalog
def value_words(catalog: Catalog) -> frozenset[str]:
    """One-word value names: a phrase starting with one is that value, not a facet synonym's variant."""
    return frozenset(norm(v) for f in catalog.facets for v in f.value_list if " " not in v)


@per_catalog
def table(catalog: Catalog) -> list[tuple[str, str, str]]:
    """(phrase, facet, 'facet' | 'value') for every way the catalog names a facet or a value, longest first."""
    pairs: dict[tuple[str, str], str] = {}
    names = {norm(ph) for f in catalog.facets for v in f.value_list for ph in [v, *f.value_synonyms.get(v, [])]}
    for f in catalog.facets:
        for ph in [f.name, *f.synonyms]:
            n = norm(ph)
            if len(n) >= 3:
                for variant in (v for form in forms(n) for v in variants(form, value_words(catalog))):
                    pairs.setdefault((variant, f.name), "facet")
                if f.kind == "boolean":
                    for said in trait_forms(n):
                        pairs.setdefault((said, f.name), "facet")
        for v in f.value_list:
            for ph in [v, *f.aliases(v), *other_names(v)]:
                n = norm(ph)
                if len(n) >= 2:
                    for form in forms(n):
                        pairs[(form, f.name)] = "value"
                if len(n) > 4 and n.endswith("s") and not n.endswith("ss") and n[:-1] not in names:
                    pairs.setdefault((n[:-1], f.name), "value")  # 'a game console' names a value '<Game Consoles>'
    return sorted(((p, f, k) for (p, f), k in pairs.items()), key=lambda t: (-len(t[0]), t[2] != "value"))


@per_catalog
def shared_facet_phrases(catalog: Catalog) -> dict[str, list[str]]:
    """Facet phrases the catalog gives to more than one facet ('<thing> users' for a flag and a date), phrase -> facets."""
    holders: dict[str, list[str]] = {}
    for phrase, facet, kind in table(catalog):
        if kind == "facet":
            holders.setdefault(phrase, []).append(facet)
    return {p: fs for p, fs in holders.items() if len(fs) > 1}


def forms(name: str) -> list[str]:
    """A catalog name as people write it: its number forms, and '&' written 'and' ('<word> and <word>')."""
    out = number_forms(name)
    return out + [f.replace(" & ", " and ") for f in out if " & " in f]


def number_forms(name: str) -> list[str]:
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


def variants(phrase: str, values: frozenset[str] = frozenset()) -> list[str]:
    """A facet phrase as people also say it: '... customers' as '... shoppers' (unless it starts with a value
    name in `values`), 'owns home' as 'own their home', 'near the store' as 'near their store'."""
    out = [phrase]
    last = phrase.split()[-1]
    if last in AUDIENCE_NOUNS and " " in phrase and phrase.split()[0] not in values:
        out += [phrase[: -len(last)] + n for n in AUDIENCE_NOUNS if n != last]
    if phrase.startswith("has "):  # 'has the app' is also 'have', 'having' or 'with the app'
        out += [f"{w} {phrase[4:]}" for w in ("have", "having", "with")]
    if m := re.fullmatch(r"(\S+s) (\S+)", phrase):
        verb, noun = m.groups()
        if verb in VERBS_3S:
            out.append(f"{verb[:-1]} {noun}")
            if noun not in STOP:
                out += [f"{v} {d} {noun}" for v in (verb, verb[:-1]) for d in ("their", "a", "the", "our", "his", "her")]
    if m := re.search(r"\S \b(the|their|our|a)\b \S", phrase):
        out += [phrase[:m.start(1)] + d + phrase[m.end(1):] for d in ("the", "their", "our", "a") if d != m.group(1)]
    if m := re.match(r"(\S{3,} \S{3,}) (?:on|enabled|allowed)$", phrase):
        out.append(m.group(1))  # 'push notifications on' names the setting, which may be 'off'
    return out


_HOLDERS = ("families", "households", "homes", "people", "customers", "shoppers", "parents")


def trait_forms(phrase: str) -> list[str]:
    """A household trait as people also say it of anyone ('families with kids' -> 'with kids'; 'pet owners' ->
    'with pets', 'with a pet', 'have pets'; 'babies' -> 'with a baby')."""
    words = phrase.split()
    if len(words) >= 3 and words[0] in _HOLDERS and words[1] == "with":
        return [" ".join(words[1:])]
    if len(words) == 2 and words[1] in ("owners", "parents") and words[0] not in STOP:
        noun = words[0]
    elif len(words) == 1 and len(phrase) > 4 and phrase.endswith("s") and not phrase.endswith("ss"):
        noun = phrase[:-3] + "y" if phrase.endswith("ies") else phrase[:-1]
    else:
        return []
    if noun.endswith("er") or noun in _HOLDERS or noun + "s" in _HOLDERS:
        return []  # roles of the customer ('homeowners', 'parents'): 'with parents' is not being one
    many = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    article = "an" if noun[0] in "aeiou" else "a"
    verbs = ("with", "have", "has") + (("own", "owns") if words[-1] == "owners" else ())  # 'car owners': 'own a car'
    return [f"{verb} {said}" for verb in verbs for said in (many, f"{article} {noun}")]


@per_catalog
def vocab(catalog: Catalog) -> dict[str, list[tuple[Facet, str]]]:
    """Every name of every value (names, aliases, number forms, singulars) -> the (facet, value) pairs it names."""
    out: dict[str, list[tuple[Facet, str]]] = {}
    for f in catalog.facets:
        for v in f.value_list:
            for ph in [v, *f.aliases(v), *other_names(v)]:
                for n in forms(norm(ph)):
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
def fuzzy_keys(catalog: Catalog) -> list[str]:
    """Value names long enough to be matched by spelling ('free assmbly')."""
    return [k for k in vocab(catalog) if len(k) >= FUZZY_MIN_LENGTH]


@per_catalog
def short_capitals(catalog: Catalog) -> frozenset[str]:
    """Short aliases written in capitals ('IN', 'TV'): they count only when the request writes them so."""
    return frozenset(norm(a) for f in catalog.facets for al in f.value_synonyms.values() for a in al
                     if a.isupper() and len(a) <= 3)


@per_catalog
def facet_words(catalog: Catalog) -> frozenset[str]:
    """Words of facet names and facet synonyms, singular and plural."""
    words = {w for f in catalog.facets for t in [f.name, *f.synonyms] for w in re.findall(r"[a-z]+", t.lower())}
    return frozenset(words | {w + "s" for w in words} | {w[:-1] for w in words if w.endswith("s")})


@per_catalog
def singular_only(catalog: Catalog) -> frozenset[tuple[str, str]]:
    """(phrase, facet) pairs that hold only by reading a plural value as singular, where the phrase is also
    some value's own name or alias ('women' as a gender alias; 'womens' as a product value)."""
    exact: dict[str, set[str]] = {}
    for f in catalog.facets:
        for v in f.value_list:
            for ph in [v, *f.value_synonyms.get(v, [])]:
                exact.setdefault(norm(ph), set()).add(f.name)
    return frozenset((n, f.name) for n, holders in vocab(catalog).items() if n in exact
                     for f, _ in holders if f.name not in exact[n])


@per_catalog
def known_words(catalog: Catalog) -> frozenset[str]:
    """Every word the catalog writes anywhere (descriptions and hints included), and their stems."""
    words = catalog_words(catalog)
    return frozenset(words | {_stem(w) for w in words})


@per_catalog
def catalog_words(catalog: Catalog) -> frozenset[str]:
    """Every word the catalog writes anywhere: names, descriptions, synonyms, values, hints, seasons."""
    words: set[str] = set()
    for f in catalog.facets:
        for text in [f.name, f.description, *f.synonyms, *f.value_list, *[a for al in f.value_synonyms.values() for a in al]]:
            words |= set(re.findall(r"[a-z]+", text.lower()))
    for h in catalog.vocabulary_hints:
        words |= set(re.findall(r"[a-z]+", h.lower()))
    for s in catalog.seasons:
        words |= set(re.findall(r"[a-z]+", s.lower()))
    return frozenset(words)


def recently_days(catalog: Catalog) -> int:
    """Days 'recently' covers: the tenant's hint, else 90."""
    for h in catalog.vocabulary_hints:
        m = re.search(r"'recently'[^=]*=\s*(\d+)\s*days", h)
        if m:
            return int(m.group(1))
    return 90


def other_names(value: str) -> list[str]:
    """English other names of a season value ('autumn' for a value named 'fall'), from the calendar's season aliases."""
    return [alias for alias, name in season_aliases().items() if name == norm(value)]


@per_catalog
def groundable(catalog: Catalog) -> dict[str, Facet]:
    """Flags and non-product value lists: what a leftover phrase may be read as without a number or a date."""
    levels = _product_levels(catalog)
    return {f.name: f for f in catalog.active_facets if f.kind in ("boolean", "categorical")
            and f.hierarchy_level not in levels and not f.value_examples}


def inflections(w: str) -> set[str]:
    """The word and the forms it may be an inflection of ('filled' -> 'fill', 'texts' -> 'text')."""
    out = {w}
    for suf in ("s", "es", "ed", "d", "ing"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            out.add(w[:-len(suf)])
    return out


@per_catalog
def first_words(catalog: Catalog) -> dict[str, list[str]]:
    """First word of a multi-word value name, and first two words of a longer one -> the distinct values that start
    with them ('<Town>' of '<Town> Bay', '<two words>' of '<Two Words> <Kind>')."""
    out: dict[str, list[str]] = {}
    for f in catalog.active_facets:
        for v in f.value_list:
            words = re.findall(r"[a-z][a-z']*", v.lower())
            for n in (1, 2):
                if len(words) > n and v not in out.setdefault(" ".join(words[:n]), []):
                    out[" ".join(words[:n])].append(v)
    return out


@per_catalog
def lexicon_words(catalog: Catalog) -> frozenset[str]:
    """Every word the lexical parts match on: facet names, synonyms, values and their aliases, hints."""
    texts = [t for f in catalog.active_facets for t in [f.name, *f.synonyms, *f.value_list,
                                                         *[a for al in f.value_synonyms.values() for a in al]]]
    return frozenset(w for t in [*texts, *catalog.vocabulary_hints] for w in re.findall(r"[a-z]+", t.lower()))


@per_catalog
def facet_name_words(catalog: Catalog) -> frozenset[str]:
    """Words of facet names: content words here even where a request's frame uses them ('email')."""
    return frozenset(w for f in catalog.active_facets for w in re.findall(r"[a-z]+", f.name.lower()))


@per_catalog
def typo_vocabulary(catalog: Catalog) -> Vocabulary:
    """Typo targets: the catalog's words plus the reader's own cue words."""
    words = set(catalog_words(catalog)) | STOP | AUDIENCE_WORDS | _CUE_WORDS  # words, not stems: 'textabl' is no word
    words |= {w for e in phrasebook(catalog) for w in re.findall(r"[a-z]+", e.phrase)}
    words |= {"reachable", "contactable"}
    phrases = {p for p, _, _ in table(catalog)} | {norm(e) for f in catalog.facets for es in f.value_examples.values()
                                                  for e in es}
    return vocabulary(words, phrases=phrases)


def values_in(facet: Facet, text: str) -> list[str]:
    """The facet's values written in the text, by name or alias; a capitalised short alias ('IN') is not the
    word 'in'."""
    return [v for v in facet.value_list
            if any(re.search(rf"(?<![\w']){re.escape(form)}(?![\w])", text) for n in [v, *facet.aliases(v)]
                   if not (n.isupper() and len(n) <= 3) for form in forms(norm(n)))]


@per_catalog
def time_bands(catalog: Catalog) -> tuple[Facet, dict[str, tuple[float, float]]] | None:
    """The catalog's time-of-day value list and each value's hours, as its hints or definitions give them
    ('<band> = 8-11am'): the list with the most values so defined (three at least)."""
    pieces = [p for h in catalog.vocabulary_hints for p in re.split(r"[,;]|\.\s", h)]
    best: tuple[Facet, dict[str, tuple[float, float]]] | None = None
    for f in catalog.active_facets:
        if f.kind != "categorical":
            continue
        said = {k.strip().lower(): v for p in pieces if p.count("=") == 1 for k, v in [p.split("=")]}
        said.update({v.lower(): g for v, g in f.value_glosses.items()})
        hours = {v: h for v in f.value_list if (h := band(said.get(v.lower(), ""))) is not None}
        if len(hours) >= 3 and (best is None or len(hours) > len(best[1])):
            best = (f, hours)
    return best


DISTINCTIVE_MIN = 7  # letters a flag's one name word needs to name the flag alone...
DISTINCTIVE_ZIPF = 4.0  # ...and how rare in English it must be ('deliverable' 2.4; 'holiday' 4.7 is everyday talk)


@per_catalog
def distinctive_words(catalog: Catalog) -> frozenset[str]:
    """Stems of words of one facet's name that no other facet's name or synonyms, and no value, use
    ('deliverable'); `rare` says whether such a word is also rare enough in English to name its facet alone."""
    def stems(text: str) -> set[str]:
        return {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= DISTINCTIVE_MIN}
    owners: dict[str, set[str]] = {}
    for f in catalog.active_facets:
        for s in stems(" ".join([f.name, *f.synonyms])):
            owners.setdefault(s, set()).add(f.name)
    values = {s for f in catalog.facets for v in f.value_list for s in stems(v)}
    return frozenset(s for s, fs in owners.items() if len(fs) == 1 and s not in values)


def rare(word: str) -> bool:
    """Rare enough in English to name a facet alone (the frequency list loads only when this is asked)."""
    return zipf(word) < DISTINCTIVE_ZIPF
