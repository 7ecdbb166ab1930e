"""The segment model: cohorts OR-ed, conditions AND-ed, exactly the spec's condition format."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.catalog import Catalog
from core.errors import SegmentError

Op = Literal["in", "not_in", "between", "within_last_days", "on_or_after", "is_true", "is_false",
             "in_segment", "not_in_segment"]
MEMBER_OPS = ("in_segment", "not_in_segment")  # member (or not) of a saved segment, by its id
Bound = float | int | str  # a number, or an ISO date on a date facet


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

    @field_validator("date")
    @classmethod
    def _iso_date(cls, v: str | None) -> str | None:
        if v is not None:
            dt.date.fromisoformat(v)
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
    def from_spec(cls, data: Any) -> "Segment":
        """Parse the spec shape: a list of conditions or {"cohorts": [[...], ...]}."""
        try:
            if isinstance(data, list):
                return cls(cohorts=[Cohort(conditions=[Condition.model_validate(c) for c in data])])
            if isinstance(data, dict) and "cohorts" in data:
                cohorts = []
                for co in data["cohorts"]:
                    conds = co.get("conditions", []) if isinstance(co, dict) else co
                    label = co.get("label", "") if isinstance(co, dict) else ""
                    cohorts.append(Cohort(conditions=[Condition.model_validate(c) for c in conds], label=label))
                return cls(cohorts=cohorts, name=data.get("name", ""), description=data.get("description", ""))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise SegmentError(f"Bad condition ({loc}): {err['msg']}.") from None
        raise SegmentError('A segment is a JSON list of conditions or an object {"cohorts": [[...], ...]}.')

    @classmethod
    def from_json(cls, text: str) -> "Segment":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SegmentError(f"The segment is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
        return cls.from_spec(data)


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
    for i, co in enumerate(segment.cohorts, 1):
        for c in co.conditions:
            problems.extend(_check_condition(c, catalog, i))
    return problems


def validate_segment_strict(segment: Segment, catalog: Catalog) -> None:
    """Raise SegmentError on the first problem (with suggestions)."""
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
        if c.days is None or c.days <= 0:
            out.append(f"{where}{facet.name} within_last_days needs a positive number of days.")
    elif c.op == "on_or_after":
        if not c.date:
            out.append(f"{where}{facet.name} on_or_after needs a date (YYYY-MM-DD).")
    elif c.op == "between":
        out.extend(_check_bounds(c, facet, where))
    return out


def _check_bounds(c: Condition, facet, where: str) -> list[str]:
    if c.min is None and c.max is None:
        return [f"{where}{facet.name} between needs min or max."]
    out: list[str] = []
    if facet.kind == "date":
        for b in (c.min, c.max):
            if b is not None:
                try:
                    dt.date.fromisoformat(str(b))
                except ValueError:
                    out.append(f"{where}{facet.name}: {b!r} is not an ISO date (YYYY-MM-DD).")
        return out
    rng = facet.numeric_range
    for b in (c.min, c.max):
        if b is None:
            continue
        if not isinstance(b, (int, float)):
            out.append(f"{where}{facet.name}: bound {b!r} must be a number.")
        elif rng and not (rng.min <= b <= rng.max):
            out.append(f"{where}{facet.name}: {b} is outside {rng.min:g}..{rng.max:g} {rng.unit}.")
    if not out and c.min is not None and c.max is not None and c.min > c.max:
        out.append(f"{where}{facet.name}: min {c.min} is greater than max {c.max}.")
    return out
