"""Shared fixtures: temp settings and both demo tenants with small generated warehouses."""
from __future__ import annotations

import datetime as dt
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.pop("ANTHROPIC_API_KEY", None)  # tests never reach a real model

from core.config import Settings  # noqa: E402
from core.tenant import Tenant, load_tenant  # noqa: E402

FIXTURE_CUSTOMERS = 20_000
FIXTURE_SEED = 3
TODAY = dt.date(2026, 11, 25)


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Settings whose data, index, runs and store live in a session temp dir."""
    root = tmp_path_factory.mktemp("workbench")
    return Settings.load().with_overrides(
        data_dir=root / "data", index_dir=root / "index", runs_dir=root / "runs",
        store_path=root / "data" / "workbench.sqlite")


def _tenant_with_warehouse(tenant_id: str, settings: Settings) -> Tenant:
    from core.warehouse import generate

    tenant = load_tenant(tenant_id, settings)
    if not tenant.warehouse_path.exists():
        generate(tenant, customers=FIXTURE_CUSTOMERS, seed=FIXTURE_SEED)
    return tenant


@pytest.fixture(scope="session")
def northstar(settings) -> Tenant:
    return _tenant_with_warehouse("northstar", settings)


@pytest.fixture(scope="session")
def harbor(settings) -> Tenant:
    return _tenant_with_warehouse("harbor", settings)


@pytest.fixture(scope="session")
def today() -> dt.date:
    return TODAY


@pytest.fixture(autouse=True)
def _fresh_ui_caches():
    """AppTests share one process: a page's cached tenant, runner or agent must not leak into the next test."""
    import sys

    if "streamlit" in sys.modules:
        import streamlit as st

        st.cache_resource.clear()
        st.cache_data.clear()
    yield
