"""The segment model: cohorts OR-ed, conditions AND-ed, exactly the spec's condition format."""
from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.catalog import Catalog, Facet
from core.errors import SegmentError

Op = Literal["in", "not_in", "between", "within_last_days", "on_or_after", "is_true", "is_false",
             "in_segment", "not_in_segment"]
MEMBER_OPS = ("in_segment", "not_in_segment")  # member (or not) of a saved segment, by its id
Bound = float | int | str  # a number, or an ISO date on a date facet
OPS: tuple[str, ...] = Op.__args__

# Bounds on what one segment may hold: real audiences use a handful of conditions; beyond these a
# segment is a mistake or an attack, and compiling it would take minutes.
MAX_CONDITIONS = 50  # compiling is superlinear: 50 conditions take ~0.1 s, 100 take ~1.7 s
MAX_COHORTS = 20
MAX_VALUES = 500
MAX_DAYS = 36_500  # a window of 100 years; longer ones reach before year 1 and overflow


class Evidence(BaseModel):
    """Why retrieval proposed a facet or value."""
    model_config = ConfigDict(extra="allow")
    score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    matched_synonym: str | None = None
    method: str | None = None  # exact | synonym | fuzzy | retrieval | rule | default


class Provenance(BaseModel):
    """Where a condition came from: the words of the request, the evidence, the runners-up."""
    span: str = ""
    start: int | None = None
    end: int | None = None
    evidence: Evidence = Field(default_factory=Evidence)
    alternatives: list[str] = Field(default_factory=list)  # up to three runner-up facets or values
    note: str = ""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facet: str
    op: Op
    values: list[str] | None = None
    tier: str | None = None
    days: int | None = None
    date: str | None = None
    min: Bound | None = None
    max: Bound | None = None
    segment_id: int | None = None  # the saved segment of an in_segment / not_in_segment condition
    provenance: Provenance | None = Field(default=None, exclude=False)
    # the saved segment's current version, filled by resolve_members() just before compiling
    resolved: "Segment | None" = Field(default=None, exclude=True, repr=False)

    @field_validator("op", mode="before")
    @classmethod
    def _op_spelling(cls, v: Any) -> Any:
        """`IN`, ` not in `, `Not-In` are the same op; anything else is left for the Literal check."""
        if isinstance(v, str):
            return "_".join(v.replace("-", " ").split()).lower()
        return v

    @field_validator("days", "segment_id", mode="before")
    @classmethod
    def _whole_number(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, bool) or (v is not None and not isinstance(v, int)):
            what = "days must be a whole number of days" if info.field_name == "days" else "segment_id must be a saved segment's number"
            raise ValueError(f"{what}, not {v!r}")
        return v

    @field_validator("min", "max", mode="before")
    @classmethod
    def _finite_bound(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"a bound must be a number or an ISO date, not {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"a bound must be a finite number, not {v!r}")
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _string_values(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise ValueError("values must be a list of strings, e.g. [\"Gold\"]")
        if len(v) > MAX_VALUES:
            raise ValueError(f"{len(v)} values in one condition; at most {MAX_VALUES}")
        return v

    @field_validator("date")
    @classmethod
    def _iso_date(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"date {v!r} is not an ISO date (YYYY-MM-DD)") from None
        return v

    def spec(self) -> dict[str, Any]:
        """The condition in the spec's JSON shape (no provenance, no empty keys)."""
        d: dict[str, Any] = {"facet": self.facet, "op": self.op}
        for key in ("values", "tier", "days", "date", "min", "max", "segment_id"):
            val = getattr(self, key)
            if val is not None:
                d[key] = val
        return d

    def render(self) -> str:
        """One readable phrase, e.g. `Propensity Brand in [Scoop] (TOP 10)`."""
        f = self.facet
        if self.op in MEMBER_OPS:
            return f"{'member' if self.op == 'in_segment' else 'not a member'} of saved segment '{f}'"
        if self.op in ("in", "not_in"):
            word = "is" if self.op == "in" else "is not"
            vals = " or ".join(self.values or [])
            tier = f" ({self.tier})" if self.tier else ""
            return f"{f} {word} {vals}{tier}"
        if self.op == "is_true":
            return f"{f}"
        if self.op == "is_false":
            return f"not {f}"
        if self.op == "within_last_days":
            return f"{f} in the last {self.days} days"
        if self.op == "on_or_after":
            return f"{f} on or after {self.date}"
        lo, hi = self.min, self.max
        if lo is not None and hi is not None:
            return f"{f} between {_fmt(lo)} and {_fmt(hi)}"
        if lo is not None:
            return f"{f} at least {_fmt(lo)}"
        return f"{f} at most {_fmt(hi)}"


def _fmt(v: Bound | None) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


class Cohort(BaseModel):
    conditions: list[Condition] = Field(default_factory=list)
    label: str = ""

    def render(self) -> str:
        return " AND ".join(c.render() for c in self.conditions) or "(everyone)"

    def facets(self) -> list[str]:
        return [c.facet for c in self.conditions]


class Segment(BaseModel):
    cohorts: list[Cohort] = Field(default_factory=lambda: [Cohort()])
    name: str = ""
    description: str = ""

    def render(self) -> str:
        """The whole segment on one line."""
        parts = [c.render() for c in self.cohorts]
        if len(parts) == 1:
            return parts[0]
        return " OR ".join(f"({p})" for p in parts)

    def spec(self) -> list[dict] | dict:
        """The segment in the ground-truth JSON shape (a list for one cohort)."""
        cohorts = [[c.spec() for c in co.conditions] for co in self.cohorts]
        return cohorts[0] if len(cohorts) == 1 else {"cohorts": cohorts}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.spec(), indent=indent)

    def all_conditions(self) -> list[Condition]:
        return [c for co in self.cohorts for c in co.conditions]

    @classmethod
    def from_spec(cls, data: Any, catalog: Catalog | None = None) -> "Segment":
        """Parse the spec shape: a list of conditions or {"cohorts": [[...], ...]}.

        With a catalog, facet names, values, tiers are resolved to the catalog's spelling.
        """
        seg = cls(cohorts=[Cohort(conditions=_conditions(c, n), label=label)
                           for n, (c, label) in enumerate(_cohort_lists(data), 1)],
                  name=_text(data, "name"), description=_text(data, "description"))
        total = len(seg.all_conditions())
        if total > MAX_CONDITIONS:
            raise SegmentError(f"The segment has {total} conditions; at most {MAX_CONDITIONS} are allowed. "
                               "Split it into smaller segments.")
        return canonicalize(seg, catalog) if catalog is not None else seg

    @classmethod
    def from_json(cls, text: str, catalog: Catalog | None = None) -> "Segment":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SegmentError(f"The segment is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
        except RecursionError:
            raise SegmentError("The segment JSON is nested too deeply; a segment is a list of conditions.") from None
        return cls.from_spec(data, catalog)


_SHAPE = 'A segment is a JSON list of conditions or an object {"cohorts": [[...], ...]}.'


def _cohort_lists(data: Any) -> list[tuple[list, str]]:
    """The raw condition lists of each cohort (with labels)."""
    if isinstance(data, list):
        return [(data, "")]
    if not isinstance(data, dict) or "cohorts" not in data:
        raise SegmentError(_SHAPE)
    cohorts = data["cohorts"]
    if not isinstance(cohorts, list) or not cohorts:
        raise SegmentError('"cohorts" must be a non-empty list of condition lists.')
    if len(cohorts) > MAX_COHORTS:
        raise SegmentError(f"The segment has {len(cohorts)} cohorts; at most {MAX_COHORTS} are allowed.")
    out = []
    for n, co in enumerate(cohorts, 1):
        conds = co.get("conditions", []) if isinstance(co, dict) else co
        label = co.get("label", "") if isinstance(co, dict) else ""
        if not isinstance(conds, list):
            raise SegmentError(f"cohort {n} must be a list of conditions, not {type(conds).__name__}.")
        out.append((conds, label if isinstance(label, str) else str(label)))
    return out


def _conditions(raw: list, cohort: int) -> list[Condition]:
    if len(raw) > MAX_CONDITIONS:
        raise SegmentError(f"cohort {cohort} has {len(raw)} conditions; at most {MAX_CONDITIONS} are allowed.")
    out = []
    for i, c in enumerate(raw, 1):
        where = f"condition {i}" + (f" of cohort {cohort}" if cohort > 1 else "")
        if not isinstance(c, dict):
            raise SegmentError(f"{where} must be an object like {{\"facet\": ..., \"op\": ...}}, not {json.dumps(c)[:60]}.")
        try:
            out.append(Condition.model_validate(c))
        except ValidationError as exc:
            raise SegmentError(f"{where} ({c.get('facet', 'no facet')}): {_pydantic_problem(exc)}.") from None
    return out


def _pydantic_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(x) for x in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown key {field!r}; a condition has facet, op, values, tier, days, date, min, max"
    if err["type"] == "missing":
        return f"{field} is required"
    if err["type"] == "literal_error":
        return f"op {err.get('input')!r} is not an op; use one of {', '.join(OPS)}"
    return f"{field}: {msg}" if field and field not in msg else msg


def _text(data: Any, key: str) -> str:
    v = data.get(key, "") if isinstance(data, dict) else ""
    return v if isinstance(v, str) else str(v)


def canonicalize(segment: Segment, catalog: Catalog) -> Segment:
    """The segment with the catalog's exact facet names, values and tiers (case and spacing ignored).

    Every rule compares exact names, so this runs wherever a segment enters; names the catalog does
    not know are left as written for the checks to report.
    """
    cohorts = [co.model_copy(update={"conditions": [_canonical(c, catalog) for c in co.conditions]})
               for co in segment.cohorts]
    return segment.model_copy(update={"cohorts": cohorts})


def _canonical(c: Condition, catalog: Catalog) -> Condition:
    facet = catalog.get(c.facet)
    if facet is None:
        return c
    update: dict[str, Any] = {"facet": facet.name}
    if c.values:
        update["values"] = [catalog.exact_value(facet, v) or v for v in c.values]
    if c.tier is not None:
        update["tier"] = catalog.exact_tier(facet, c.tier) or c.tier
    return c.model_copy(update=update)


Condition.model_rebuild()


def resolve_members(segment: Segment, lookup: Callable[[int], Segment], within: tuple[int, ...] = ()) -> Segment:
    """A copy whose saved-segment conditions carry that segment's current version, resolved in turn.

    `lookup(id)` returns a saved segment's latest version; `within` holds the ids being resolved
    (the segment being saved, when it has one): meeting one again is a cycle.
    """
    cohorts = []
    for co in segment.cohorts:
        conds = []
        for c in co.conditions:
            if c.op in MEMBER_OPS:
                if c.segment_id is None:
                    raise SegmentError(f"The condition on saved segment '{c.facet}' has no segment id.")
                if c.segment_id in within:
                    raise SegmentError(f"Saved segment '{c.facet}' includes itself (through its own conditions); "
                                       "remove that rule.")
                target = resolve_members(lookup(c.segment_id), lookup, (*within, c.segment_id))
                c = c.model_copy(update={"resolved": target})
            conds.append(c)
        cohorts.append(co.model_copy(update={"conditions": conds}))
    return segment.model_copy(update={"cohorts": cohorts})


def check_segment(segment: Segment, catalog: Catalog) -> list[str]:
    """Structural problems of a segment against a catalog; empty when it is well-formed.

    Each problem names the facet and suggests the closest valid names or values.
    """
    problems: list[str] = []
    if not segment.cohorts or not any(co.conditions for co in segment.cohorts):
        return ["The segment has no conditions."]
    total = len(segment.all_conditions())
    if total > MAX_CONDITIONS:
        return [f"The segment has {total} conditions; at most {MAX_CONDITIONS} are allowed. Split it into smaller segments."]
    segment = canonicalize(segment, catalog)
    for i, co in enumerate(segment.cohorts, 1):
        for c in co.conditions:
            problems.extend(_check_condition(c, catalog, i))
    return problems


def validate_segment_strict(segment: Segment, catalog: Catalog) -> None:
    """Raise SegmentError on the first problem (with suggestions)."""
    segment = canonicalize(segment, catalog)
    for co in segment.cohorts:
        for c in co.conditions:
            facet = catalog.get(c.facet)
            if c.op in MEMBER_OPS:
                continue
            if facet is None:
                raise SegmentError(f"Unknown facet {c.facet!r} for tenant {catalog.tenant_id}.",
                                   catalog.nearest_facets(c.facet))
            for v in c.values or []:
                if facet.value_list and v not in facet.value_list:
                    raise SegmentError(f"{facet.name} has no value {v!r}.", catalog.nearest_values(facet, v))
    problems = check_segment(segment, catalog)
    if problems:
        raise SegmentError(problems[0])


def _check_condition(c: Condition, catalog: Catalog, cohort: int) -> list[str]:
    facet = catalog.get(c.facet)
    where = f"cohort {cohort}: " if cohort > 1 else ""
    if c.op in MEMBER_OPS:
        return [] if c.segment_id is not None else [f"{where}the rule on saved segment '{c.facet}' has no segment id."]
    if facet is None:
        near = ", ".join(catalog.nearest_facets(c.facet))
        return [f"{where}unknown facet {c.facet!r}; nearest: {near}."]
    out: list[str] = []
    if facet.deprecated:
        out.append(f"{where}{facet.name} is deprecated; use {facet.replaced_by}.")
    if c.op not in facet.ops:
        out.append(f"{where}{facet.name} is a {facet.kind} facet; op {c.op!r} is not allowed (use {', '.join(facet.ops)}).")
        return out
    if c.op in ("in", "not_in"):
        if not c.values:
            out.append(f"{where}{facet.name} {c.op} needs at least one value.")
        for v in c.values or []:
            if v not in facet.value_list:
                near = ", ".join(catalog.nearest_values(facet, v))
                out.append(f"{where}{facet.name} has no value {v!r}; nearest: {near}.")
        if c.tier is not None and facet.kind != "propensity":
            out.append(f"{where}{facet.name} is not a propensity facet; remove tier {c.tier!r}.")
        if c.tier is not None and facet.kind == "propensity" and c.tier not in facet.tiers:
            out.append(f"{where}{facet.name} has no tier {c.tier!r}; tiers: {', '.join(facet.tiers)}.")
    elif c.op == "within_last_days":
        if c.days is None or not 1 <= c.days <= MAX_DAYS:
            out.append(f"{where}{facet.name} within_last_days needs days between 1 and {MAX_DAYS:,}"
                       f"{'' if c.days is None else f', not {c.days:,}'}.")
    elif c.op == "on_or_after":
        if not c.date:
            out.append(f"{where}{facet.name} on_or_after needs a date (YYYY-MM-DD).")
    elif c.op == "between":
        out.extend(_check_bounds(c, facet, where))
    return out


def _check_bounds(c: Condition, facet: Facet, where: str) -> list[str]:
    if c.min is None and c.max is None:
        return [f"{where}{facet.name} between needs min or max."]
    out: list[str] = []
    if facet.kind == "date":
        dates = {}
        for key, b in (("min", c.min), ("max", c.max)):
            if b is not None:
                try:
                    dates[key] = dt.date.fromisoformat(str(b))
                except ValueError:
                    out.append(f"{where}{facet.name}: {b!r} is not an ISO date (YYYY-MM-DD).")
        if not out and len(dates) == 2 and dates["min"] > dates["max"]:
            out.append(f"{where}{facet.name}: min {c.min} is after max {c.max}; swap them.")
        return out
    rng = facet.numeric_range
    for b in (c.min, c.max):
        if b is None:
            continue
        if not isinstance(b, (int, float)) or isinstance(b, bool):
            out.append(f"{where}{facet.name}: bound {b!r} must be a number.")
        elif not math.isfinite(b):
            out.append(f"{where}{facet.name}: bound {b!r} must be a finite number.")
        elif rng and not (rng.min <= b <= rng.max):
            out.append(f"{where}{facet.name}: {b} is outside {rng.min:g}..{rng.max:g} {rng.unit}.")
    if not out and c.min is not None and c.max is not None and c.min > c.max:
        out.append(f"{where}{facet.name}: min {c.min} is greater than max {c.max}.")
    return out
