"""Shared pieces of the pages: cached expensive objects and the tenant picker."""
from __future__ import annotations

import streamlit as st

from core.config import Settings
from core.errors import WorkbenchError
from core.store import Store
from core.tenant import Tenant, list_tenants, load_tenant


@st.cache_resource(show_spinner="Loading tenant…")
def tenant_for(tenant_id: str) -> Tenant:
    return load_tenant(tenant_id, Settings.load())


@st.cache_resource(show_spinner="Loading the embedding model and facet index…")
def index_for(tenant_id: str):
    from core.retrieval import get_index
    return get_index(tenant_for(tenant_id))


@st.cache_resource(show_spinner="Opening the dry-run sample…")
def dryrunner_for(tenant_id: str):
    from core.dryrun import get_dryrunner
    return get_dryrunner(tenant_for(tenant_id))


@st.cache_resource
def store() -> Store:
    return Store(Settings.load().store_path)


def tenant_problem(tenant_id: str) -> str:
    """Why a tenant cannot be loaded ("" when it loads): one broken tenant must not take the others down."""
    try:
        tenant_for(tenant_id)
        return ""
    except WorkbenchError as exc:
        return str(exc)


def pick_tenant() -> str:
    """The sidebar tenant picker; its choice is shared by every page. A broken tenant shows its error in place."""
    tenants = list_tenants(Settings.load())
    if not tenants:
        st.error("No tenants found: add a folder under tenants/ with catalog.yaml, tenant.yaml and ground_truth.csv.")
        st.stop()
    problems = {t: tenant_problem(t) for t in tenants}
    working = [t for t in tenants if not problems[t]]
    current = st.session_state.get("tenant_choice", working[0] if working else tenants[0])
    choice = st.sidebar.selectbox("Tenant", tenants, index=tenants.index(current) if current in tenants else 0,
                                  format_func=lambda t: f"{t} — cannot be loaded" if problems[t] else tenant_for(t).display_name)
    st.session_state["tenant_choice"] = choice
    if problems[choice]:
        st.error(f"Tenant '{choice}' cannot be loaded. {problems[choice]}. Fix the file and reload the page; "
                 "the other tenants still work — pick one in the sidebar.")
        st.stop()
    return choice


def require_store() -> None:
    """Stop the page with the library's problem and what to do, when its file is damaged."""
    try:
        store().check()
    except WorkbenchError as exc:
        st.error(str(exc))
        st.stop()
