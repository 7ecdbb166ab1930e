"""Run the ground-truth evaluation, see metrics against the tenant's thresholds, compare runs."""
import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from core.eval import ground_truth_files, read_tags, run_eval
from core.tenant import load_ground_truth
from pages.common.tables import eval_rows_table
from pages.common import require_store, index_for, pick_tenant, store, tenant_for

st.set_page_config(page_title="Evaluation · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
require_store()
tenant = tenant_for(tenant_id)
st.title(f"Evaluation — {tenant.display_name}")
policy = st.radio("Policy", ["offline", "claude"], horizontal=True,
                  disabled=not tenant.settings.anthropic_api_key, help="Claude needs ANTHROPIC_API_KEY")
today = st.date_input("Reference date", value=dt.date(2026, 11, 25))
files = ground_truth_files(tenant)
gt_label = st.selectbox("Ground truth", list(files), help="probes: requests written from the catalog, tagged by class")
gt_rows = load_ground_truth(files[gt_label]) if files else []
if st.button(f"Run eval on {len(gt_rows)} rows ({gt_label})", disabled=not gt_rows):
    index_for(tenant_id)
    bar = st.progress(0.0, text="Starting…")
    run = run_eval(tenant, gt_rows, policy, today, tags=read_tags(files[gt_label]),
                   progress=lambda i, n, rid: bar.progress(i / n, text=f"{i}/{n} {rid}"))
    store().save_eval_run(tenant_id, policy, {**run.metrics, "ground_truth": gt_label},
                          [{**r.__dict__, "exact": r.exact} for r in run.rows])
    st.rerun()
runs = store().list_eval_runs(tenant_id)
if not runs:
    st.info("No evaluation runs yet.")
    st.stop()
th = tenant.config.thresholds
latest = store().get_eval_run(runs[0]["id"])
m = latest["metrics"]
st.caption(f"Latest run: {m.get('ground_truth', 'dev (tenant ground truth)')}, {m['rows']} rows")
c = st.columns(6)
c[0].metric("Facet F1", f"{m['facet_f1']:.3f}", f"{m['facet_f1'] - th.f1:+.3f} vs {th.f1}")
c[1].metric("Value F1", f"{m['value_f1']:.3f}", f"{m['value_f1'] - th.f1:+.3f} vs {th.f1}")
c[2].metric("Clarification rate", f"{m['clarification_rate']:.2f}", f"{th.max_clarification_rate - m['clarification_rate']:+.2f} headroom")
c[3].metric("Clarification recall", f"{m['clarification_recall']:.2f}")
c[4].metric("Latency p50", f"{m['latency_ms_p50']:.0f} ms")
c[5].metric("Exact rows", f"{m['exact_rows']:.2f}" if "exact_rows" in m else "—",
            help="share of rows whose facets, values and ask / no-ask are all right")
table = eval_rows_table(latest["rows"])
st.dataframe(table.style.apply(lambda r: ["background-color: #fde2e2" if (r["missing facets"] or r["extra facets"]
                                          or r["value mismatches"]) else "" for _ in r], axis=1),
             hide_index=True, width="stretch")
if m.get("per_tag"):
    st.subheader("By class of wording (worst first)")
    st.dataframe(pd.DataFrame(m["per_tag"]).rename(columns={"exact": "exact share", "facet_f1": "facet F1",
                                                              "value_f1": "value F1", "expected_asks": "should ask"}),
                 hide_index=True, width="stretch")
hist = pd.DataFrame([{"run": r["id"], "at": r["at"], **{k: r["metrics"][k] for k in ("facet_f1", "value_f1", "clarification_rate")}}
                     for r in runs])
names = {"facet_f1": "facet F1", "value_f1": "value F1", "clarification_rate": "clarification rate"}
st.altair_chart(alt.Chart(hist.rename(columns=names).melt(["run", "at"], var_name="measure"), title="Scores by eval run")
                .mark_line(point=True).encode(x=alt.X("run:O", title="Eval run"),
                                              y=alt.Y("value:Q", title="Score", axis=alt.Axis(format="%")),
                                              color=alt.Color("measure:N", title=None)), width="stretch")
if len(runs) > 1:
    a, b = st.columns(2)
    ra = a.selectbox("Compare run", [r["id"] for r in runs], index=1)
    rb = b.selectbox("with run", [r["id"] for r in runs], index=0)
    ma, mb = store().get_eval_run(ra)["metrics"], store().get_eval_run(rb)["metrics"]
    st.dataframe(pd.DataFrame([{"metric": k, f"run {ra}": ma.get(k), f"run {rb}": mb.get(k),
                                "change": mb[k] - ma[k] if k in ma and k in mb else None}
                               for k in ("exact_rows", "facet_f1", "value_f1", "clarification_precision",
                                         "clarification_recall", "clarification_rate", "latency_ms_p50")]), hide_index=True)
