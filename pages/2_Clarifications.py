"""Every clarification question the agent asked, for review; the clarification rate over time."""
import json

import altair as alt
import pandas as pd
import streamlit as st

from core.errors import WorkbenchError
from core.segment import Segment
from core.trace import Trace
from pages.common import require_store, pick_tenant, store, tenant_for
from pages.common.format import relative_time
from pages.common.tables import condition_lines

st.set_page_config(page_title="Clarifications · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
require_store()
st.title(f"Clarification review — {tenant_for(tenant_id).display_name}")
left, right = st.columns(2)
show = left.radio("Show", ["Not reviewed", "Reviewed", "All"], horizontal=True)
reviewed = {"Not reviewed": False, "Reviewed": True, "All": None}[show]
days = right.date_input("Asked between", value=(), help="Leave empty for all dates")
items = store().list_clarifications(tenant_id, reviewed=reviewed)
if len(days) == 2:
    items = [c for c in items if str(days[0]) <= c["asked_at"][:10] <= str(days[1])]
if not items:
    st.info("No clarification questions here yet.")
for c in items:
    with st.expander(f"{relative_time(c['asked_at'])} — {c['question']}"):
        st.markdown(f"**Request:** {c['request']}")
        st.markdown(f"**Options:** {', '.join(json.loads(c['options'] or '[]'))}")
        st.markdown(f"**Answer:** {c['answer']}")
        if c["segment"]:
            st.markdown("**Segment built:**")
            try:
                st.markdown(condition_lines(Segment.from_json(c["segment"])))
            except WorkbenchError:
                st.code(c["segment"], language="json")  # an old or damaged entry: shown as stored
        if c.get("trace_id"):  # the turn that asked, step by step
            st.caption(f"Trace #{c['trace_id']} · `segwork trace --tenant {tenant_id} {c['trace_id']}`")
            if st.toggle("Show trace", key=f"trace{c['id']}"):
                kept = Trace.model_validate(store().get_trace(c["trace_id"])["trace"])
                st.dataframe(pd.DataFrame(kept.rows()), hide_index=True, width="stretch")
        if c["reviewed"]:
            st.caption(f"Reviewed by {c['reviewer'] or 'someone'}: {c['comment']}")
        else:
            comment = st.text_input("Comment", key=f"comment{c['id']}")
            if st.button("Mark reviewed", key=f"review{c['id']}"):
                store().mark_reviewed(c["id"], comment)
                st.rerun()
rate = store().clarification_rate_by_day(tenant_id)
if rate:
    df = pd.DataFrame([{"day": d, "rate": a / t if t else 0.0, "turns": t} for d, a, t in rate])
    st.altair_chart(alt.Chart(df, title="Share of turns that asked a question, by day").mark_line(point=True).encode(
        x=alt.X("day:T", title="Day"), y=alt.Y("rate:Q", title="Turns that asked", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("day:T"), alt.Tooltip("rate:Q", format=".0%"), "turns"]), width="stretch")
