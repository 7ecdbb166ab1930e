"""Nothing in core/ knows a tenant's facet, value, group or hierarchy names.

Every tenant's catalog is loaded and every string constant in core/ (found with `ast`, docstrings
included) is compared with the catalog's names: facet names, group names, values, hierarchy map
names and hierarchy levels. A match is case-insensitive and exact on the whole constant.

Which single words count: a name of two or more words (spaces, '_' or '-') is always a tenant name.
A single word is exempt only when it is an everyday word, which the test decides from the catalogs
themselves: the word appears in lowercase in their running prose (facet descriptions and vocabulary
hints) — e.g. 'email' or 'store', which code may use for channels or stores of any retailer. A single
word that the catalogs only ever write as a name ('Gold', 'Propensity') is a tenant name.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from core.catalog import load_catalog

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"


def _catalogs():
    return [load_catalog(p) for p in sorted((ROOT / "tenants").glob("*/catalog.yaml"))]


def _prose_words(catalogs) -> set[str]:
    words: set[str] = set()
    for cat in catalogs:
        texts = [f.description for f in cat.facets] + list(cat.vocabulary_hints) + [cat.description or ""]
        for t in texts:
            words |= set(re.findall(r"\b[a-z][a-z]+\b", t))  # lowercase only: written as a word, not a name
    return words


def _names(catalogs) -> dict[str, str]:
    """Lowercased tenant name -> where it comes from."""
    names: dict[str, str] = {}
    for cat in catalogs:
        for f in cat.facets:
            names[f.name.lower()] = f"{cat.tenant_id} facet"
            names[f.group.lower()] = f"{cat.tenant_id} group"
            if f.hierarchy_level:
                names[f.hierarchy_level.lower()] = f"{cat.tenant_id} hierarchy level"
            for v in f.value_list:
                names.setdefault(v.lower(), f"{cat.tenant_id} value of {f.name}")
        for h in cat.hierarchy:
            names.setdefault(h.lower(), f"{cat.tenant_id} hierarchy")
    return names


def _single_word(name: str) -> bool:
    return re.fullmatch(r"[a-z]+", name) is not None


def _constants(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def tenant_literals(core: Path = CORE) -> list[str]:
    """Every string constant under `core` that is a tenant name, with where it is and what it names."""
    catalogs = _catalogs()
    everyday = _prose_words(catalogs)
    names = {n: src for n, src in _names(catalogs).items()
             if len(n) >= 2 and not (_single_word(n) and n in everyday)}
    found = []
    for path in sorted(core.rglob("*.py")):
        for line, text in _constants(path):
            key = text.strip().lower()
            if key in names:
                found.append(f"{path.relative_to(core.parent)}:{line}: {text!r} is a {names[key]}")
    return found


def test_catalogs_are_loaded():
    names = _names(_catalogs())
    assert len(names) > 100  # the scan compares against real catalogs, not an empty set


def test_scan_catches_a_planted_name(tmp_path):
    """The scan can fail: a facet name and a multi-word value planted in a module are both reported."""
    cat = _catalogs()[0]
    facet = cat.facets[0].name
    value = next(v for f in cat.facets for v in f.value_list if " " in v)
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "x.py").write_text(f"A = {facet!r}\n\ndef f():\n    return {value.upper()!r}\n")
    found = tenant_literals(tmp_path / "core")
    assert len(found) == 2 and facet in found[0] and value.upper() in found[1]


def test_no_tenant_names_in_core():
    found = tenant_literals()
    assert not found, "tenant names written in core/ (they belong in tenants/<id>/):\n" + "\n".join(found)
