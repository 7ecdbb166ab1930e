"""A tenant's facet catalog: facets, values, synonyms, hierarchy and rules (see spec README)."""
from __future__ import annotations

import re

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rapidfuzz import fuzz, process, utils

from core.errors import InputFileError, TenantError
from core.textfile import read_text

FacetKind = Literal["propensity", "categorical", "date", "numeric", "boolean"]
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "propensity": ("in", "not_in"),
    "categorical": ("in", "not_in"),
    "date": ("within_last_days", "on_or_after", "between"),
    "numeric": ("between",),
    "boolean": ("is_true", "is_false"),
}


class NumericRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float = Field(allow_inf_nan=False, strict=True)
    max: float = Field(allow_inf_nan=False, strict=True)
    unit: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "NumericRange":
        if self.min >= self.max:
            raise ValueError(f"values.min ({self.min:g}) must be below values.max ({self.max:g})")
        return self


class Facet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    kind: FacetKind
    group: str
    description: str
    values: list[str] | NumericRange | None = None
    tiers: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    value_synonyms: dict[str, list[str]] = Field(default_factory=dict)
    # Everyday names of items sold under a product value ('greek yogurt' under a dairy aisle): members, not
    # synonyms, so they are searched by meaning and never rewrite the value's own name.
    value_examples: dict[str, list[str]] = Field(default_factory=dict)
    hierarchy_level: str | None = None
    scope: Literal["purchase"] | None = None
    deprecated: bool = False
    replaced_by: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _numeric_range(cls, v: Any) -> Any:
        """A mapping is a numeric range: report its own problem, not the list branch's."""
        if not isinstance(v, dict):
            return v
        try:
            return NumericRange.model_validate(v)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise ValueError(f"{where + ': ' if where else ''}{err['msg'].removeprefix('Value error, ')}") from None

    @model_validator(mode="after")
    def _check_shape(self) -> "Facet":
        if self.kind in ("propensity", "categorical") and not isinstance(self.values, list):
            raise ValueError("values must be a list for a propensity or categorical facet")
        if self.kind == "numeric" and not isinstance(self.values, NumericRange):
            raise ValueError("values must be {min, max, unit} for a numeric facet")
        if self.kind == "propensity" and not self.tiers:
            raise ValueError("tiers are required for a propensity facet")
        if self.deprecated and not self.replaced_by:
            raise ValueError("a deprecated facet needs replaced_by")
        for field in ("value_synonyms", "value_examples"):
            unknown = [v for v in getattr(self, field) if v not in (self.value_list or [])]
            if unknown:
                raise ValueError(f"{field} names values that are not in values: {unknown}")
        return self

    @property
    def value_list(self) -> list[str]:
        return self.values if isinstance(self.values, list) else []

    @property
    def value_glosses(self) -> dict[str, str]:
        """Definitions the description gives its values, '(<Value> = <definition>; <Value> = <definition>)'."""
        out: dict[str, str] = {}
        for inner in re.findall(r"\(([^()]*=[^()]*)\)", self.description):
            for part in re.split(r"[;,]\s*(?=[^=;,]+=)", inner):
                name, _, gloss = part.partition("=")
                if name.strip() in self.value_list and gloss.strip():
                    out[name.strip()] = gloss.strip().rstrip(".")
        return out

    def aliases(self, value: str) -> list[str]:
        """A value's other names: its synonyms, and a one-word definition the description gives it ('regular')."""
        gloss = self.value_glosses.get(value, "")
        return [*self.value_synonyms.get(value, []), *([gloss] if re.fullmatch(r"[A-Za-z]+", gloss) else [])]

    @property
    def numeric_range(self) -> NumericRange | None:
        return self.values if isinstance(self.values, NumericRange) else None

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_KIND[self.kind]


class Pairing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    when: str
    require: str
    same_tier: bool = False
    values_from: str | None = None
    why: str = ""


class MutualExclusion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facets: list[str]
    why: str = ""


class RuleCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facet: str
    op: str
    values: list[str] | None = None


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    default_tier: str
    pairings: list[Pairing] = Field(default_factory=list)
    mutually_exclusive: list[MutualExclusion] = Field(default_factory=list)
    reachability: dict[str, list[RuleCondition]] = Field(default_factory=dict)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str
    display_name: str
    description: str = ""
    fiscal_year_start_month: int = Field(ge=1, le=12)
    channels: list[str] = Field(default_factory=list)
    vocabulary_hints: list[str] = Field(default_factory=list)
    rules: Rules
    seasons: dict[str, list[int]] = Field(default_factory=dict)
    value_lists: dict[str, Any] = Field(default_factory=dict)
    hierarchy: dict[str, Any] = Field(default_factory=dict)
    facets: list[Facet]

    @model_validator(mode="after")
    def _check_references(self) -> "Catalog":
        names = [f.name for f in self.facets]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"facet names must be unique; repeated: {sorted(dupes)}")
        known = set(names)
        by_name = {f.name: f for f in self.facets}
        for f in self.facets:
            if f.replaced_by and f.replaced_by not in known:
                raise ValueError(f"facet {f.name!r}: replaced_by names unknown facet {f.replaced_by!r}")
            _check_chain(f, by_name)
        for p in self.rules.pairings:
            for name in (p.when, p.require):
                if name in by_name and by_name[name].deprecated:
                    raise ValueError(f"rules.pairings: {name!r} is deprecated; name its replacement {by_name[name].replaced_by!r}")
        for channel, conds in self.rules.reachability.items():
            for c in conds:
                if c.facet in by_name and c.op not in by_name[c.facet].ops:
                    raise ValueError(f"rules.reachability.{channel}: op {c.op!r} does not apply to {c.facet} "
                                     f"(a {by_name[c.facet].kind} facet; use {', '.join(by_name[c.facet].ops)})")
        for season, months in self.seasons.items():
            if not months or any(not isinstance(m, int) or isinstance(m, bool) or not 1 <= m <= 12 for m in months):
                raise ValueError(f"seasons.{season}: months must be numbers 1-12, got {months}")
        for p in self.rules.pairings:
            for name in (p.when, p.require):
                if name not in known:
                    raise ValueError(f"rules.pairings: unknown facet {name!r}")
            if p.values_from and p.values_from not in self.hierarchy:
                raise ValueError(f"rules.pairings: values_from {p.values_from!r} is not a hierarchy map")
        for m in self.rules.mutually_exclusive:
            for name in m.facets:
                if name not in known:
                    raise ValueError(f"rules.mutually_exclusive: unknown facet {name!r}")
        for channel, conds in self.rules.reachability.items():
            for c in conds:
                if c.facet not in known:
                    raise ValueError(f"rules.reachability.{channel}: unknown facet {c.facet!r}")
        return self

    # ---- lookups -------------------------------------------------------------------------
    @cached_property
    def by_name(self) -> dict[str, Facet]:
        return {f.name: f for f in self.facets}

    @cached_property
    def _by_key(self) -> dict[str, Facet]:
        return {name_key(f.name): f for f in self.facets}

    @property
    def active_facets(self) -> list[Facet]:
        return [f for f in self.facets if not f.deprecated]

    def get(self, name: str) -> Facet | None:
        """The facet of that name, ignoring case and spacing, or None."""
        if not isinstance(name, str):
            return None
        return self.by_name.get(name) or self._by_key.get(name_key(name))

    def resolve(self, name: str) -> Facet | None:
        """The facet to use for a name: deprecated facets resolve to their replacement."""
        facet = self.get(name)
        seen = set()
        while facet is not None and facet.deprecated and facet.name not in seen:
            seen.add(facet.name)
            facet = self.get(facet.replaced_by or "")
        return facet

    def nearest_facets(self, name: str, limit: int = 3) -> list[str]:
        """The closest active facet names to a misspelled or unknown one."""
        return _nearest(name, [f.name for f in self.active_facets], limit)

    def canonical_value(self, facet: Facet, value: str) -> str | None:
        """Exact value ignoring case and spacing, or a declared value synonym; None when neither."""
        exact = self.exact_value(facet, value)
        if exact is not None:
            return exact
        wanted = name_key(value)
        for v, aliases in facet.value_synonyms.items():
            if any(name_key(a) == wanted for a in aliases):
                return v
        return None

    def exact_value(self, facet: Facet, value: str) -> str | None:
        """The facet's value spelled as the catalog spells it (case and spacing ignored), or None."""
        return match_key(value, facet.value_list)

    def exact_tier(self, facet: Facet, tier: str) -> str | None:
        """The facet's tier spelled as the catalog spells it ('top 10' -> 'TOP 10'), or None."""
        return match_key(tier, facet.tiers)

    def nearest_values(self, facet: Facet, value: str, limit: int = 3) -> list[str]:
        """The closest real values of a facet to one it does not have."""
        return _nearest(value, facet.value_list, limit)

    def hierarchy_map(self, name: str) -> dict[str, list[str]]:
        """A parent -> children map from `hierarchy` (empty when absent or not a map)."""
        m = self.hierarchy.get(name)
        return m if isinstance(m, dict) else {}

    def parents_of(self, map_name: str, child: str) -> list[str]:
        """Parents of a child value in a hierarchy map."""
        return [p for p, kids in self.hierarchy_map(map_name).items() if child in kids]

    def tier_for_percent(self, facet: Facet, percent: float) -> str | None:
        """The narrowest tier that contains the top `percent`% (next wider tier when not exact)."""
        sized = sorted(((_tier_size(t), t) for t in facet.tiers if _tier_size(t) is not None))
        for size, tier in sized:
            if size >= percent:
                return tier
        return sized[-1][1] if sized else None


def _check_chain(facet: Facet, by_name: dict[str, Facet]) -> None:
    """A deprecated facet's replaced_by chain must end at an active facet (no loops)."""
    seen = [facet.name]
    f = facet
    while f.deprecated:
        f = by_name.get(f.replaced_by or "")
        if f is None:
            return  # reported as an unknown replaced_by
        if f.name in seen:
            raise ValueError(f"facet {facet.name!r}: replaced_by chain {' -> '.join(seen + [f.name])} loops; "
                             "end it at an active facet")
        seen.append(f.name)


def name_key(text: str) -> str:
    """How names compare: case-folded, runs of whitespace collapsed, ends trimmed."""
    return " ".join(str(text).split()).casefold()


def match_key(text: object, choices: list[str]) -> str | None:
    """The choice that `text` names, ignoring case and spacing; None when none does."""
    if not isinstance(text, str):
        return None
    if text in choices:
        return text
    wanted = name_key(text)
    return next((c for c in choices if name_key(c) == wanted), None)


def _tier_size(tier: str) -> float | None:
    digits = "".join(ch for ch in tier if ch.isdigit() or ch == ".")
    try:
        return float(digits)
    except ValueError:
        return None


def _nearest(word: str, choices: list[str], limit: int) -> list[str]:
    if not choices:
        return []
    hits = process.extract(word, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit)
    return [h[0] for h in hits]


def load_catalog(path: Path) -> Catalog:
    """Parse and validate a catalog.yaml; errors name the file, the facet and the field."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise TenantError(str(path), "", "must be a YAML mapping with tenant_id, rules and facets")
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise TenantError(str(path), *_describe(exc, raw)) from None


# libyaml's parser when PyYAML was built with it: the same safe documents, read ~10x faster (tenant load is
# on every cold `segwork ask`).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Read a YAML file; a missing file or a syntax error names the file and the line."""
    if not path.exists():
        raise TenantError(str(path), "", "file not found")
    try:
        text = read_text(path, "YAML file")
    except InputFileError as exc:
        raise TenantError(str(path), "", str(exc)) from None
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except RecursionError:
        raise TenantError(str(path), "", "nested too deeply to be a tenant file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise TenantError(str(path), where, f"invalid YAML ({getattr(exc, 'problem', exc)})") from None


def _describe(exc: ValidationError, raw: dict) -> tuple[str, str]:
    """Turn the first pydantic error into (field path naming the facet, problem)."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    parts: list[str] = []
    i = 0
    while i < len(loc):
        key = loc[i]
        if key == "facets" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            facets = raw.get("facets") or []
            name = facets[idx].get("name") if idx < len(facets) and isinstance(facets[idx], dict) else None
            parts.append(f"facet {name!r}" if name else f"facets[{idx}]")
            i += 2
            continue
        parts.append(str(key))
        i += 1
    msg = err["msg"].removeprefix("Value error, ")
    return (".".join(parts) if parts else "", msg)
