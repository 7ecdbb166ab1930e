"""Segment library: search, versions and diffs, open in the workbench, duplicate, archive, export."""
import json

import pandas as pd
import streamlit as st

from core.errors import WorkbenchError
from core.session import WorkbenchState
from core.sqlbuild import DIALECTS, compile_segment
from core.ui_data import ids_csv
from pages.common import dryrunner_for, pick_tenant, store, tenant_for

st.set_page_config(page_title="Segments · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
st.title(f"Segment library — {tenant.display_name}")
query = st.text_input("Search by name, description or condition")
archived = st.toggle("Show archived")
try:  # a damaged library file is reported here; the other pages still load
    deprecated = store().segments_using_deprecated(tenant)
    segments = store().list_segments(tenant_id, query=query, include_archived=archived, tenant=tenant)
except WorkbenchError as exc:
    st.error(str(exc))
    st.stop()
for summary, facets in deprecated:
    c1, c2 = st.columns([4, 1])
    c1.warning(f"'{summary.name}' uses deprecated {', '.join(facets)}.")
    if c2.button("Migrate", key=f"migrate{summary.id}"):
        v = store().migrate_deprecated(summary.id, tenant)
        st.success(f"'{v.name}' migrated as version {v.n}: {v.note}")
if not segments:
    st.info("No saved segments yet: build one on the workbench and save it.")
    st.stop()
st.dataframe(pd.DataFrame([{"name": s.name, "status": "needs repair" if s.status == "needs_repair" else "ok",
                            "versions": s.latest, "segment": s.render, "archived": s.archived,
                            "description": s.description} for s in segments]), hide_index=True, width="stretch")
chosen = st.selectbox("Segment", segments, format_func=lambda s: f"{s.name} (v{s.latest})"
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
st.markdown(f"**Latest (v{latest.n})** `{latest.segment.render()}` — saved {latest.saved_at}"
            + (f" by {latest.author}" if latest.author else ""))

c1, c2, c3 = st.columns(3)
if c1.button("Open in workbench"):
    wb = WorkbenchState(tenant_id=tenant_id, draft=latest.segment, request=latest.request,
                        saved_version=latest.n, saved_name=latest.name)
    if chosen.status == "ok":  # a segment that needs repair opens without a count, to be fixed there
        wb.dryrun = dryrunner_for(tenant_id).run(latest.segment)
    st.session_state[f"wb:{tenant_id}"] = wb
    st.switch_page("app.py")
new_name = c2.text_input("Duplicate as", value=f"{chosen.name} (copy)")
if c2.button("Duplicate"):
    try:
        v = store().duplicate(chosen.id, new_name)
        st.success(f"Duplicated as '{v.name}'.")
    except WorkbenchError as exc:
        st.error(str(exc))
if c3.button("Unarchive" if chosen.archived else "Archive"):
    store().archive(chosen.id, not chosen.archived)
    st.rerun()

st.subheader("Version history")
st.dataframe(pd.DataFrame([{"version": v.n, "saved": v.saved_at, "by": v.author, "request": v.request,
                            "segment": v.segment.render(), "note": v.note} for v in versions]), hide_index=True, width="stretch")
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
dialect = st.selectbox("SQL dialect", DIALECTS)
sql = compile_segment(latest.segment, tenant, dialect=dialect)
e1, e2, e3 = st.columns(3)
e1.download_button("JSON", json.dumps(latest.segment.spec(), indent=2), file_name=f"{chosen.name}.json")
e2.download_button("SQL", sql, file_name=f"{chosen.name}.{dialect}.sql")
if e3.button("Prepare CSV of customer ids"):
    bar = st.progress(0.0, text="Counting…")
    data = ids_csv(dryrunner_for(tenant_id), latest.segment, lambda f, t: bar.progress(min(f, 1.0), text=t))
    st.download_button("Download CSV", data, file_name=f"{chosen.name}.csv")
with st.expander("SQL"):
    st.code(sql, language="sql")
