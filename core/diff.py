"""Readable differences between two segments: conditions added, removed and changed per cohort."""
from __future__ import annotations

from pydantic import BaseModel, Field

from core.segment import Condition, Segment


class ConditionChange(BaseModel):
    cohort: int
    facet: str
    kind: str  # added | removed | changed
    before: str = ""
    after: str = ""


class SegmentDiff(BaseModel):
    changes: list[ConditionChange] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        sign = {"added": "+", "removed": "−", "changed": "~"}
        return [f"{sign[c.kind]} cohort {c.cohort}: " + (c.after if c.kind == "added" else c.before if c.kind == "removed"
                                                         else f"{c.before} → {c.after}") for c in self.changes]


def _key(c: Condition) -> tuple[str, str]:
    family = "set" if c.op in ("in", "not_in") else ("flag" if c.op in ("is_true", "is_false") else "range")
    return (c.facet, family)


def diff_segments(old: Segment | None, new: Segment | None) -> SegmentDiff:
    """Conditions compared by facet within each cohort position."""
    old_cohorts = old.cohorts if old else []
    new_cohorts = new.cohorts if new else []
    changes: list[ConditionChange] = []
    for i in range(max(len(old_cohorts), len(new_cohorts))):
        a = {_key(c): c for c in (old_cohorts[i].conditions if i < len(old_cohorts) else [])}
        b = {_key(c): c for c in (new_cohorts[i].conditions if i < len(new_cohorts) else [])}
        for k in a.keys() - b.keys():
            changes.append(ConditionChange(cohort=i + 1, facet=k[0], kind="removed", before=a[k].render()))
        for k in b.keys() - a.keys():
            changes.append(ConditionChange(cohort=i + 1, facet=k[0], kind="added", after=b[k].render()))
        for k in a.keys() & b.keys():
            if a[k].spec() != b[k].spec():
                changes.append(ConditionChange(cohort=i + 1, facet=k[0], kind="changed", before=a[k].render(), after=b[k].render()))
    changes.sort(key=lambda c: (c.cohort, c.kind, c.facet))
    return SegmentDiff(changes=changes)
