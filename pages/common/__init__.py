"""Shared pieces of the pages: cached expensive objects and the tenant picker."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.config import Settings
from core.errors import WorkbenchError
from core.store import Store
from core.tenant import Tenant, list_tenants, load_tenant
from pages.common import threadsafe_ast

# Before any page starts a thread: Streamlit parses page scripts while the warm-up thread imports modules
# that parse too, and on Python 3.11.0-3.11.7 two parses at once can fail (see threadsafe_ast).
threadsafe_ast.install()


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


def _through_navigation() -> None:
    """Run every page inside app.py's navigation, even for a process's first visitor.

    A folder named `pages/` beside app.py makes Streamlit run a page URL's script directly (its
    older multipage mode) until some run has called st.navigation; leaving that mode and rerunning
    sends this run through app.py, which lands on the same page (same URL path).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def pick_tenant() -> str:
    """The sidebar tenant picker; its choice is shared by every page. A broken tenant shows its error in place."""
    _through_navigation()
    tenants = list_tenants(Settings.load())
    if not tenants:
        st.error("No tenants found: add a folder under tenants/ with catalog.yaml, tenant.yaml and ground_truth.csv.")
        st.stop()
    problems = {t: tenant_problem(t) for t in tenants}
    working = [t for t in tenants if not problems[t]]
    current = st.session_state.get("tenant_choice") or st.query_params.get("tenant") or (working[0] if working else tenants[0])
    choice = st.sidebar.selectbox("Tenant", tenants, index=tenants.index(current) if current in tenants else 0,
                                  format_func=lambda t: f"{t} — cannot be loaded" if problems[t] else tenant_for(t).display_name)
    st.session_state["tenant_choice"] = choice
    if problems[choice]:
        st.error(f"Tenant '{choice}' cannot be loaded. {problems[choice]}. Fix the file and reload the page; "
                 "the other tenants still work — pick one in the sidebar.")
        st.stop()
    if st.query_params.get("tenant") != choice:  # the URL names the tenant, so a reload or a link keeps it
        st.query_params["tenant"] = choice
    return choice


def require_store() -> None:
    """Stop the page with the library's problem and what to do, when its file is damaged."""
    try:
        store().check()
    except WorkbenchError as exc:
        st.error(str(exc))
        st.stop()


WORKBENCH_PAGE = None  # the workbench's st.Page, registered by app.py's navigation (for st.switch_page)


def open_in_workbench(tenant_id: str, segment_id: int) -> None:
    """Go to the workbench with a saved segment's latest version as the draft."""
    st.session_state.pop(f"wb:{tenant_id}", None)
    st.switch_page(WORKBENCH_PAGE or "app.py", query_params={"tenant": tenant_id, "segment": str(segment_id)})


def apply_style() -> None:
    """The few CSS rules Streamlit has no option for (see style.css)."""
    st.html(f"<style>{(Path(__file__).parent / 'style.css').read_text()}</style>")
