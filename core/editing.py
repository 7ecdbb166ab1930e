"""Manual edits of a draft segment (builder, adjust, remove, swap), each returning a new segment."""
from __future__ import annotations

import datetime as dt

from core.catalog import Facet
from core.errors import SegmentError
from core.segment import Cohort, Condition, Segment


def _cohorts(segment: Segment | None) -> list[Cohort]:
    return [co.model_copy() for co in segment.cohorts] if segment is not None else []


def add_condition(segment: Segment | None, cohort: int, condition: Condition) -> Segment:
    """Add a condition to cohort `cohort` (0-based); an index past the last opens a new cohort (OR)."""
    cohorts = [co for co in _cohorts(segment) if co.conditions]
    if cohort >= len(cohorts):
        cohorts.append(Cohort(conditions=[condition]))
    else:
        cohorts[cohort] = cohorts[cohort].model_copy(update={"conditions": [*cohorts[cohort].conditions, condition]})
    return Segment(cohorts=cohorts)


def replace_condition(segment: Segment, cohort: int, index: int, condition: Condition) -> Segment:
    cohorts = _cohorts(segment)
    conds = list(cohorts[cohort].conditions)
    conds[index] = condition
    cohorts[cohort] = cohorts[cohort].model_copy(update={"conditions": conds})
    return Segment(cohorts=cohorts)


def remove_condition(segment: Segment, cohort: int, index: int) -> Segment:
    """Drop one condition; a cohort left empty is dropped too (an empty cohort would match everyone)."""
    cohorts = _cohorts(segment)
    conds = [c for j, c in enumerate(cohorts[cohort].conditions) if j != index]
    cohorts[cohort] = cohorts[cohort].model_copy(update={"conditions": conds})
    return Segment(cohorts=[co for co in cohorts if co.conditions] or [Cohort()])


def remove_cohort(segment: Segment, cohort: int) -> Segment:
    cohorts = [co for i, co in enumerate(_cohorts(segment)) if i != cohort]
    return Segment(cohorts=cohorts or [Cohort()])


def swap_alternative(condition: Condition, alternative: str) -> Condition:
    """The condition moved to a runner-up named `Facet` or `Facet: Value` (as provenance lists them)."""
    facet, _, value = alternative.partition(": ")
    return condition.model_copy(update={"facet": facet.strip(), "values": [value] if value else condition.values})


def build_condition(facet: Facet, *, values: list[str] | None = None, exclude: bool = False, tier: str | None = None,
                    low: float | None = None, high: float | None = None, days: int | None = None,
                    since: dt.date | None = None, flag: bool = True) -> Condition:
    """A condition on `facet` from the builder's inputs for its kind; a clear error when one is missing."""
    kind = facet.kind
    if kind in ("categorical", "propensity"):
        if not values:
            raise SegmentError(f"Pick at least one value of {facet.name}.")
        op = "not_in" if exclude else "in"
        return Condition(facet=facet.name, op=op, values=list(values), tier=tier if kind == "propensity" else None)
    if kind == "numeric":
        if low is None and high is None:
            raise SegmentError(f"Give {facet.name} a lower or an upper bound.")
        if low is not None and high is not None and low > high:
            raise SegmentError(f"{facet.name}: the lower bound {low:g} is above the upper bound {high:g}.")
        return Condition(facet=facet.name, op="between", min=_num(low), max=_num(high))
    if kind == "date":
        if days:
            return Condition(facet=facet.name, op="within_last_days", days=int(days))
        if since is not None:
            return Condition(facet=facet.name, op="on_or_after", date=since.isoformat())
        raise SegmentError(f"Give {facet.name} a number of days or a start date.")
    if "is_true" in facet.ops:
        return Condition(facet=facet.name, op="is_true" if flag else "is_false")
    raise SegmentError(f"{facet.name} is a {kind} facet, which the builder cannot edit yet.")


def member_condition(segment_id: int, name: str, exclude: bool = False) -> Condition:
    """Members (or everyone but the members) of a saved segment."""
    return Condition(facet=name, op="not_in_segment" if exclude else "in_segment", segment_id=segment_id)


def _num(v: float | None) -> float | int | None:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def size_change(before: int | None, after: int | None) -> str:
    """`12,000 → 9,500 customers (−2,500)`; the plain size when there was none before."""
    if after is None:
        return "no audience yet"
    if before is None:
        return f"{after:,} {plural(after, 'customer')}"
    return f"{before:,} → {after:,} {plural(after, 'customer')} ({after - before:+,})"


def plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def exclude_everywhere(segment: Segment | None, condition: Condition) -> Segment:
    """Add an exclusion to every cohort: a "not" applies to the whole audience, not to one branch."""
    cohorts = [co for co in _cohorts(segment) if co.conditions]
    if not cohorts:
        raise SegmentError("Add a condition first: an exclusion needs an audience to exclude from.")
    return Segment(cohorts=[co.model_copy(update={"conditions": [*co.conditions, condition]}) for co in cohorts])
