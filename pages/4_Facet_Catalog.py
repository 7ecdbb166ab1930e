"""Browse and search the tenant's facet catalog, with value shares from the sample and the rules."""
import altair as alt
import streamlit as st

from pages.common.tables import facet_table, value_shares
from pages.common import dryrunner_for, index_for, pick_tenant, tenant_for

st.set_page_config(page_title="Facet catalog · Segment Workbench", layout="wide")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
cat = tenant.catalog
st.title(f"Facet catalog — {tenant.display_name}")
q = st.text_input("Search the catalog (the same retrieval the agent uses)")
if q:
    hits = index_for(tenant_id).search_facets(q, k=10)
    st.dataframe([{"facet": h.facet, "score": h.score, "group": h.group, "synonym": h.matched_synonym,
                   "replaces": "deprecated facet" if h.deprecated else ""} for h in hits], hide_index=True, width="stretch")
groups = sorted({f.group for f in cat.facets})
group = st.selectbox("Group", groups)
table = facet_table(tenant)
st.dataframe(table[table["group"] == group], hide_index=True, width="stretch")
facet = cat.get(st.selectbox("Facet", [f.name for f in cat.facets if f.group == group]))
st.markdown(f"**{facet.name}** · {facet.kind} · {facet.description}")
if facet.deprecated:
    st.warning(f"Deprecated: use {facet.replaced_by}.")
if facet.synonyms:
    st.caption("Synonyms: " + ", ".join(facet.synonyms))
if facet.tiers:
    st.caption("Tiers: " + ", ".join(facet.tiers))
if facet.numeric_range:
    r = facet.numeric_range
    st.caption(f"Range {r.min:g} – {r.max:g} {r.unit}")
shares = value_shares(tenant, facet.name, dryrunner_for(tenant_id))
if not shares.empty:
    st.altair_chart(alt.Chart(shares, title=f"Customers by {facet.name} (sample)").mark_bar().encode(
        x=alt.X("share:Q", title="Share of customers", axis=alt.Axis(format="%")),
        y=alt.Y("value:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
        tooltip=["value", alt.Tooltip("customers:Q", format=","), alt.Tooltip("share:Q", format=".1%")]), width="stretch")
elif facet.value_list:
    st.write(", ".join(facet.value_list))
for v, aliases in facet.value_synonyms.items():
    st.caption(f"{v}: {', '.join(aliases)}")
with st.expander("Rules of this tenant"):
    for p in cat.rules.pairings:
        st.markdown(f"- **{p.when}** requires **{p.require}**{' (same tier)' if p.same_tier else ''}: {p.why}")
    for m in cat.rules.mutually_exclusive:
        st.markdown(f"- Never together: {', '.join(m.facets)} — {m.why}")
    for ch, conds in cat.rules.reachability.items():
        st.markdown(f"- {ch} reachable = " + " AND ".join(f"{c.facet} {c.op}" for c in conds))
