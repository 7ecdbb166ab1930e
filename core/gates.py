"""Stage gates of the segment pipeline: each returns the problems that block the next stage."""
from __future__ import annotations

from typing import Any

from core.segment import Segment, check_segment
from core.tenant import Tenant

STAGES = ("decomposition", "shortlist", "mapping", "final")


def check_stage(stage: str, payload: Any, tenant: Tenant) -> list[str]:
    """Problems at a stage; empty when the stage passes."""
    if stage == "decomposition":
        phrases = [p for p in (payload or []) if str(p).strip()]
        return [] if phrases else ["The request was not split into any phrase; re-read it."]
    if stage == "shortlist":
        out = []
        for name in payload or []:
            f = tenant.catalog.get(name)
            if f is None:
                out.append(f"{name!r} is not a facet; nearest: {', '.join(tenant.catalog.nearest_facets(name))}.")
            elif f.deprecated:
                out.append(f"{name} is deprecated; use {f.replaced_by}.")
            elif f.name in tenant.config.policies.banned_facets:
                out.append(f"{name} may not be used for targeting.")
        return out
    if stage in ("mapping", "final"):
        seg = payload if isinstance(payload, Segment) else Segment.from_spec(payload, tenant.catalog)
        problems = check_segment(seg, tenant.catalog)
        if stage == "final":
            from core.rules import validate

            problems += [i.message for i in validate(seg, tenant).errors if i.message not in problems]
        return problems
    return [f"Unknown stage {stage!r}; stages are {', '.join(STAGES)}."]
