"""The segment library as a team sees it: size, reach, owner, tags, per-version requests, search."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from core.segment import MEMBER_OPS
from core.store import Store


class LibraryEntry(BaseModel):
    id: int
    name: str
    description: str = ""
    archived: bool = False
    versions: int = 0
    render: str = ""
    owner: str = ""
    tags: list[str] = Field(default_factory=list)
    facets: list[str] = Field(default_factory=list)
    saved_at: str = ""
    size: int | None = None        # customers at the last save
    size_exact: bool = False        # an exact count on the full table, else the sample estimate
    reachable: dict[str, int] = Field(default_factory=dict)
    status: str = "ok"             # "needs_repair" when the latest version no longer compiles
    problem: str = ""


def library(store: Store, tenant_id: str, include_archived: bool = False, tenant: Any = None) -> list[LibraryEntry]:
    """Every saved segment of a tenant with its latest version's size and reach, newest first.

    With the tenant, a segment whose latest version no longer compiles is marked needs_repair.
    """
    out = []
    for s in store.list_segments(tenant_id, include_archived=include_archived, tenant=tenant):
        versions = store.versions(s.id)
        latest = versions[-1] if versions else None
        size, exact, reach = _size(latest.dryrun if latest else None)
        out.append(LibraryEntry(
            id=s.id, name=s.name, description=s.description, archived=s.archived, versions=s.latest, render=s.render,
            owner=next((v.author for v in versions if v.author), ""), tags=store.tags(s.id),
            facets=sorted({c.facet for c in latest.segment.all_conditions() if c.op not in MEMBER_OPS}) if latest else [],
            saved_at=latest.saved_at if latest else s.created_at, size=size, size_exact=exact, reachable=reach,
            status=s.status, problem=s.problem))
    return sorted(out, key=lambda e: e.saved_at, reverse=True)


def _size(dryrun: object) -> tuple[int | None, bool, dict[str, int]]:
    """(size, exact?, reachable count per channel) from a version's stored dry-run."""
    if not isinstance(dryrun, dict):
        return None, False, {}
    reach = {str(r["channel"]): int(r["count"]) for r in dryrun.get("reach") or []
             if isinstance(r, dict) and "channel" in r and isinstance(r.get("count"), (int, float))}
    if dryrun.get("exact_count") is not None:  # counted on the full table on request
        return int(dryrun["exact_count"]), True, reach
    est = dryrun.get("estimate")
    return (int(est) if est is not None else None), bool(dryrun.get("exact")), reach


def search(entries: list[LibraryEntry], query: str) -> list[LibraryEntry]:
    """Entries matching every word of `query` in their name, tags, owner, facets or conditions."""
    words = query.lower().split()
    if not words:
        return entries

    def text(e: LibraryEntry) -> str:
        return " ".join([e.name, e.description, e.owner, " ".join(e.tags), " ".join(e.facets), e.render]).lower()

    return [e for e in entries if all(w in text(e) for w in words)]


def parse_tags(text: str) -> list[str]:
    """Tags as typed (`spring, Email ,spring`): trimmed, lower-case, unique, sorted."""
    return sorted({t.strip().lower() for t in text.split(",") if t.strip()})
