"""Words and numbers as a marketer reads them: plurals, relative times, reach."""
from __future__ import annotations

import datetime as dt

from core.editing import plural

__all__ = ["plural", "relative_time", "reach_line", "count"]


def count(n: int, word: str) -> str:
    """`1 customer`, `2,000 customers`."""
    return f"{n:,} {plural(n, word)}"


def relative_time(iso: str, now: dt.datetime | None = None) -> str:
    """`just now`, `5 minutes ago`, `yesterday`, `3 days ago`, then the date."""
    try:
        then = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or ""
    now = now or dt.datetime.now()
    s = (now - then).total_seconds()
    if s < 60:
        return "just now"
    if s < 3600:
        return f"{count(int(s // 60), 'minute')} ago"
    if s < 86400:
        return f"{count(int(s // 3600), 'hour')} ago"
    days = (now.date() - then.date()).days
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"{days} days ago"
    return then.strftime("%d %b %Y")


def reach_line(dryrun: object) -> str:
    """`Reachable: email ~12,000 · sms ~3,400` when the dry-run reports reachable counts."""
    reach = getattr(dryrun, "reach", None) or []
    mark = "" if getattr(dryrun, "exact", False) else "~"
    return ("Reachable: " + " · ".join(f"{r.channel} {mark}{_n(r.count)}" for r in reach)) if reach else ""


def _n(v: object) -> str:
    return f"{v:,}" if isinstance(v, (int, float)) else str(v)
