"""Plain data helpers for the pages (tables and exports), kept out of the rendering code."""
from __future__ import annotations

import io
from typing import Callable

import pandas as pd

from core.segment import Segment
from core.tenant import Tenant


def facet_table(tenant: Tenant) -> pd.DataFrame:
    rows = []
    for f in tenant.catalog.facets:
        rows.append({"facet": f.name, "group": f.group, "kind": f.kind, "values": len(f.value_list) or None,
                     "deprecated": f"→ {f.replaced_by}" if f.deprecated else "", "description": f.description})
    return pd.DataFrame(rows)


def value_shares(tenant: Tenant, facet_name: str, runner) -> pd.DataFrame:
    """Share of sampled customers having each value of a customer-level facet."""
    b = tenant.binding(facet_name)
    if b.source != "customer":
        return pd.DataFrame()
    col = f"unnest({b.column})" if b.multi else b.column
    cur = runner._cursor()
    n = runner.sample_size or 1
    rows = cur.execute(f"SELECT {col} AS value, count(*) AS customers FROM customers GROUP BY 1 ORDER BY 2 DESC").fetchall()
    return pd.DataFrame([{"value": str(v), "customers": c, "share": c / n} for v, c in rows])


def ids_csv(runner, segment: Segment, progress: Callable[[float, str], None]) -> bytes:
    """All matching customer ids from the full table, streamed in batches with progress."""
    buf = io.StringIO()
    buf.write("customer_id\n")
    for batch, done, total in runner.customer_ids(segment):
        buf.write("\n".join(str(i) for i in batch) + "\n")
        progress(done / max(total, 1), f"{done:,} of {total:,} customers")
    return buf.getvalue().encode()


def eval_rows_table(rows: list) -> pd.DataFrame:
    from core.eval import value_items

    out = []
    for r in rows:
        r = r if isinstance(r, dict) else r.__dict__
        exp = Segment.from_spec(r["expected"])
        got = Segment.from_spec(r["got"]) if r.get("got") else Segment()
        ef, gf = {c.facet for c in exp.all_conditions()}, {c.facet for c in got.all_conditions()}
        ev, gv = set(map(str, value_items(exp))), set(map(str, value_items(got)))
        out.append({"id": r["id"], "query": r["query"], "asked": r["asked"], "should ask": r["needs_clarification"],
                    "missing facets": ", ".join(sorted(ef - gf)), "extra facets": ", ".join(sorted(gf - ef)),
                    "value mismatches": len(ev ^ gv), "ms": round(r["ms"]), "error": r.get("error", "")})
    return pd.DataFrame(out)



def library_table(entries: list, when: Callable[[str], str]) -> pd.DataFrame:
    """One row per saved segment: size with its date and kind, reach, owner, tags, conditions."""
    rows = []
    for e in entries:
        size = "" if e.size is None else f"{e.size:,} ({'exact' if e.size_exact else 'estimate'}, {when(e.saved_at)})"
        rows.append({"name": e.name, "status": "needs repair" if e.status == "needs_repair" else "ok", "size": size, "reachable": " · ".join(f"{k} {v:,}" for k, v in e.reachable.items()),
                     "owner": e.owner, "tags": ", ".join(e.tags), "versions": e.versions, "updated": when(e.saved_at),
                     "segment": e.render, "archived": e.archived})
    return pd.DataFrame(rows)


def settings_table(sections: dict[str, dict]) -> pd.DataFrame:
    """Nested settings as readable rows: section, setting (words, not keys), value."""
    rows = []

    def walk(section: str, prefix: str, data: dict) -> None:
        for key, value in data.items():
            name = f"{prefix}{key}".replace("_", " ")
            if isinstance(value, dict):
                walk(section, f"{name} · ", value)
            else:
                shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
                rows.append({"section": section, "setting": name, "value": "" if shown is None else str(shown)})

    for section, data in sections.items():
        walk(section, "", data)
    return pd.DataFrame(rows)


def condition_lines(segment: Segment) -> str:
    """A segment as a markdown list: one line per condition, cohorts as 'or' groups."""
    cohorts = [co for co in segment.cohorts if co.conditions]
    if len(cohorts) == 1:
        return "\n".join(f"- {c.render()}" for c in cohorts[0].conditions)
    return "\n".join(f"- **{'Cohort' if i == 0 else 'or cohort'} {i + 1}**\n" + "\n".join(f"    - {c.render()}" for c in co.conditions)
                     for i, co in enumerate(cohorts))
