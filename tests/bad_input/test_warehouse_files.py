"""Generating a warehouse: bounded sizes, and no temp file left behind by a failure or a killed run."""
from __future__ import annotations

import pytest

from core.config import Settings
from core.errors import WorkbenchError
from core.tenant import load_tenant
from tests.bad_input.helpers import bounded, copy_tenant  # noqa: F401 - fixture


@pytest.fixture
def tenant(tmp_path):
    copy_tenant(tmp_path, "harbor")
    return load_tenant("harbor", Settings.load().with_overrides(tenants_dir=tmp_path / "tenants", data_dir=tmp_path / "data"))


@pytest.mark.parametrize("customers", [0, -5, 10**10, True, 2.5])
def test_generate_refuses_bad_sizes(tenant, bounded, customers):
    from core.warehouse import generate

    with pytest.raises(WorkbenchError, match=rf"customers must be a whole number 1-50,000,000, not {customers!r}"):
        generate(tenant, customers=customers)
    assert not tenant.settings.data_dir.exists()  # refused before anything was written


def test_a_failed_generation_leaves_no_temp_file(tenant, bounded):
    from core.warehouse import generate

    def fail(msg: str, frac: float) -> None:
        if msg == "purchases":
            raise RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tenant, customers=200, seed=1, progress=fail)
    assert list(tenant.settings.data_dir.iterdir()) == []


def test_temp_files_of_killed_generators_are_removed(tenant, bounded):
    from core.warehouse import generate

    tenant.settings.data_dir.mkdir(parents=True)
    stale = tenant.settings.data_dir / "harbor.duckdb.tmp999999999"  # no such process
    stale.write_bytes(b"half-written")
    generate(tenant, customers=200, seed=1)
    assert not stale.exists() and (tenant.settings.data_dir / "harbor.duckdb").is_file()
