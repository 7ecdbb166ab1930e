"""The tenant's configuration, validation status, vocabulary hints and index status."""
import streamlit as st

from core.errors import WorkbenchError
from core.retrieval import build_index, index_is_current, index_key
from core.segment import check_segment
from core.tenant import load_tenant
from pages.common import pick_tenant, tenant_for
from pages.common.tables import settings_table

st.set_page_config(page_title="Tenant · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
st.title(f"Tenant — {tenant.display_name}")
try:
    fresh = load_tenant(tenant_id, tenant.settings)
    bad = [r.id for r in fresh.ground_truth if check_segment(r.expected, fresh.catalog)]
    st.success(f"catalog.yaml, tenant.yaml and ground_truth.csv are valid: {len(fresh.catalog.facets)} facets, "
               f"{len(fresh.config.bindings)} bindings, {len(fresh.ground_truth)} ground-truth rows"
               + (f"; rows with problems: {bad}" if bad else "."))
except WorkbenchError as exc:
    st.error(str(exc))
cfg = tenant.config
st.subheader("Settings")
st.dataframe(settings_table({"thresholds": cfg.thresholds.model_dump(), "policies": cfg.policies.model_dump(),
                             "embedding": cfg.embedding.model_dump(), "language model": cfg.llm.model_dump(),
                             "dry-run": cfg.dryrun.model_dump()}), hide_index=True, width="stretch")
st.subheader("Vocabulary hints")
for h in tenant.catalog.vocabulary_hints:
    st.markdown(f"- {h}")
st.subheader("Index")
st.caption(f"Fingerprint {index_key(tenant)} — " + ("up to date" if index_is_current(tenant) else "needs a rebuild"))
if st.button("Rebuild index"):
    bar = st.progress(0.0, text="Rebuilding…")
    build_index(tenant, force=True, progress=lambda m, f: bar.progress(min(f, 1.0), text=m))
    st.success("Index rebuilt.")

st.subheader("Warehouse")
binding = cfg.engine
where = binding.path or (f"${binding.connection_env}" if binding.connection_env else str(tenant.warehouse_path))
st.caption(f"Engine **{binding.type}** · reads {where} · tables: "
           + ", ".join(f"{t} → {binding.table(t)}" for t in ("customers", "purchases", "propensity", "events")))
# A Spark session takes seconds to start: check it on request; the others are checked on every visit.
if binding.type != "spark" or st.button("Check warehouse"):
    from core.engines.check import check_warehouse

    with st.spinner("Checking the live schema…"):
        report = check_warehouse(tenant)
    if not report.connected:
        st.error(f"Not connected: {report.connection}")
    elif report.ok:
        st.success(f"Connected ({report.connection}); all {len(report.rows)} bound tables and columns are present and typed right.")
    else:
        st.warning(f"Connected ({report.connection}); {len(report.problems)} problem(s) — run "
                   f"`segwork warehouse check --tenant {tenant.id}` for the same report.")
        st.dataframe([r.model_dump() for r in report.problems], hide_index=True, width="stretch")
