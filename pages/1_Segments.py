"""Segment library: search, size and reach, versions and diffs, open in the workbench, duplicate, archive, export."""
import json

import pandas as pd
import streamlit as st

from core.errors import WorkbenchError
from core.library import library, parse_tags, search
from core.segment import resolve_members
from core.sqlbuild import DIALECTS, compile_segment
from core.trace import Trace
from pages.common import dryrunner_for, open_in_workbench, pick_tenant, store, tenant_for
from pages.common.format import relative_time
from pages.common.tables import ids_csv, library_table

st.set_page_config(page_title="Segments · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
st.title(f"Segment library — {tenant.display_name}")
kind, text = st.session_state.pop("library_flash", (None, None))
if kind:
    getattr(st, kind)(text)
q, a = st.columns([4, 1], vertical_alignment="bottom")
query = q.text_input("Search by name, tag, owner or facet")
archived = a.toggle("Show archived")
try:  # a damaged library file is reported here; the other pages still load
    deprecated = store().segments_using_deprecated(tenant)
    entries = search(library(store(), tenant_id, include_archived=archived, tenant=tenant), query)
except WorkbenchError as exc:
    st.error(str(exc))
    st.stop()
for summary, facets in deprecated:
    c1, c2 = st.columns([4, 1])
    c1.warning(f"'{summary.name}' uses deprecated {', '.join(facets)}.")
    if c2.button("Migrate", key=f"migrate{summary.id}"):
        v = store().migrate_deprecated(summary.id, tenant)
        st.success(f"'{v.name}' migrated as version {v.n}: {v.note}")
if not entries:
    st.info("No saved segments match." if query else "No saved segments yet: build one on the workbench and save it.")
    st.stop()
st.dataframe(library_table(entries, relative_time), hide_index=True, width="stretch")
chosen = st.selectbox("Segment", entries, format_func=lambda s: f"{s.name} (v{s.versions})"
                      + (" — needs repair" if s.status == "needs_repair" else ""))
if chosen.status == "needs_repair":
    st.warning(f"'{chosen.name}' needs repair: {chosen.problem}. Open it in the workbench and fix the named "
               "conditions, then save a new version (or archive it).")
try:
    versions = store().versions(chosen.id)
except WorkbenchError as exc:
    st.error(str(exc))
    st.stop()
latest = versions[-1]
st.markdown(f"**Latest (v{latest.n})** `{latest.segment.render()}` — saved {relative_time(latest.saved_at)}"
            + (f" by {latest.author}" if latest.author else ""))

c1, c2, c3, c4 = st.columns(4)
if c1.button("Open in workbench", width="stretch"):
    open_in_workbench(tenant_id, chosen.id)
tags = c4.text_input("Tags", value=", ".join(chosen.tags), help="Comma-separated")
if c4.button("Save tags", width="stretch"):
    store().set_tags(chosen.id, parse_tags(tags))
    st.rerun()
new_name = c2.text_input("Duplicate as", value=store().free_name(tenant_id, chosen.name))
if c2.button("Duplicate", width="stretch"):
    try:
        v = store().duplicate(chosen.id, new_name, author=st.session_state.get("owner", ""))
        store().set_tags(v.segment_id, chosen.tags)
        st.session_state["library_flash"] = ("success", f"Duplicated as '{v.name}'.")
        st.rerun()
    except WorkbenchError as exc:
        st.error(str(exc))
if c3.button("Unarchive" if chosen.archived else "Archive", width="stretch"):
    store().archive(chosen.id, not chosen.archived)
    st.session_state["library_flash"] = ("success", f"'{chosen.name}' {'restored' if chosen.archived else 'archived'}.")
    st.rerun()

st.subheader("Version history")
st.dataframe(pd.DataFrame([{"version": v.n, "saved": relative_time(v.saved_at), "by": v.author, "request": v.request,
                            "segment": v.segment.render(), "note": v.note} for v in reversed(versions)]),
             hide_index=True, width="stretch")
with st.expander(f"Trace of v{latest.n}: how the agent built it"):  # kept with the version when saved
    st.caption(f"`segwork trace --tenant {tenant_id} --segment \"{latest.name}\" --version {latest.n}`")
    try:
        rows = Trace(request=latest.request, steps=latest.trace or []).rows()
    except ValueError:  # a trace saved in an older shape: the segment itself is unaffected
        rows = []
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.caption("No readable trace kept with this version.")
if len(versions) > 1:
    a, b = st.columns(2)
    va = a.selectbox("From version", [v.n for v in versions], index=len(versions) - 2)
    vb = b.selectbox("To version", [v.n for v in versions], index=len(versions) - 1)
    diff = store().diff_versions(chosen.id, va, vb)
    st.markdown("\n".join(f"- `{line}`" for line in diff.lines()) or "No differences.")

st.subheader("Export")
if chosen.status == "needs_repair":
    st.download_button("JSON", json.dumps(latest.segment.spec(), indent=2), file_name=f"{chosen.name}.json")
    st.caption("SQL and customer ids are available once the segment is repaired.")
    st.stop()
engine = tenant.config.engine.type  # the SQL that runs where this tenant's customers live comes first
dialect = st.selectbox("SQL dialect", DIALECTS, index=DIALECTS.index(engine) if engine in DIALECTS else 0)
try:
    segment = resolve_members(latest.segment, lambda i: store().get_version(i).segment, (chosen.id,))
    sql = compile_segment(segment, tenant, dialect=dialect)
except WorkbenchError as exc:
    st.error(f"This segment cannot be compiled: {exc}")
    st.stop()
e1, e2, e3 = st.columns(3)
e1.download_button("JSON", json.dumps(latest.segment.spec(), indent=2), file_name=f"{chosen.name}.json")
e2.download_button("SQL", sql, file_name=f"{chosen.name}.{dialect}.sql")
if e3.button("Prepare CSV of customer ids"):
    bar = st.progress(0.0, text="Counting…")
    data = ids_csv(dryrunner_for(tenant_id), segment, lambda f, t: bar.progress(min(f, 1.0), text=t))
    st.download_button("Download CSV", data, file_name=f"{chosen.name}.csv")
with st.expander("SQL"):
    st.code(sql, language="sql")
