"""Run the ground-truth evaluation, see metrics against the tenant's thresholds, compare runs."""
import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core.eval import run_eval
from pages.common.tables import eval_rows_table
from pages.common import index_for, pick_tenant, store, tenant_for

st.set_page_config(page_title="Evaluation · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
st.title(f"Evaluation — {tenant.display_name}")
policy = st.radio("Policy", ["offline", "claude"], horizontal=True,
                  disabled=not tenant.settings.anthropic_api_key, help="Claude needs ANTHROPIC_API_KEY")
today = st.date_input("Reference date", value=dt.date(2026, 11, 25))
if st.button(f"Run eval on {len(tenant.ground_truth)} ground-truth rows"):
    index_for(tenant_id)
    bar = st.progress(0.0, text="Starting…")
    run = run_eval(tenant, tenant.ground_truth, policy, today,
                   progress=lambda i, n, rid: bar.progress(i / n, text=f"{i}/{n} {rid}"))
    store().save_eval_run(tenant_id, policy, run.metrics, [r.__dict__ for r in run.rows])
    st.rerun()
runs = store().list_eval_runs(tenant_id)
if not runs:
    st.info("No evaluation runs yet.")
    st.stop()
th = tenant.config.thresholds
latest = store().get_eval_run(runs[0]["id"])
m = latest["metrics"]
c = st.columns(5)
c[0].metric("Facet F1", f"{m['facet_f1']:.3f}", f"{m['facet_f1'] - th.f1:+.3f} vs {th.f1}")
c[1].metric("Value F1", f"{m['value_f1']:.3f}", f"{m['value_f1'] - th.f1:+.3f} vs {th.f1}")
c[2].metric("Clarification rate", f"{m['clarification_rate']:.2f}", f"{th.max_clarification_rate - m['clarification_rate']:+.2f} headroom")
c[3].metric("Clarification recall", f"{m['clarification_recall']:.2f}")
c[4].metric("Latency p50", f"{m['latency_ms_p50']:.0f} ms")
table = eval_rows_table(latest["rows"])
st.dataframe(table.style.apply(lambda r: ["background-color: #fde2e2" if (r["missing facets"] or r["extra facets"]
                                          or r["value mismatches"]) else "" for _ in r], axis=1),
             hide_index=True, width="stretch")
hist = pd.DataFrame([{"run": r["id"], "at": r["at"], **{k: r["metrics"][k] for k in ("facet_f1", "value_f1", "clarification_rate")}}
                     for r in runs])
st.altair_chart(alt.Chart(hist.melt(["run", "at"])).mark_line(point=True).encode(x="run:O", y="value:Q", color="variable:N"),
                width="stretch")
if len(runs) > 1:
    a, b = st.columns(2)
    ra = a.selectbox("Compare run", [r["id"] for r in runs], index=1)
    rb = b.selectbox("with run", [r["id"] for r in runs], index=0)
    ma, mb = store().get_eval_run(ra)["metrics"], store().get_eval_run(rb)["metrics"]
    st.dataframe(pd.DataFrame([{"metric": k, f"run {ra}": ma[k], f"run {rb}": mb[k], "change": mb[k] - ma[k]}
                               for k in ("facet_f1", "value_f1", "clarification_precision", "clarification_recall",
                                         "clarification_rate", "latency_ms_p50")]), hide_index=True)
