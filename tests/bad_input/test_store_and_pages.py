"""The segment library under bad input and damage; pages that keep loading when one part is broken."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.errors import WorkbenchError
from core.segment import Segment
from core.store import SaveConflict, Store, StoreError
from tests.bad_input.helpers import ROOT, bounded, copy_tenant  # noqa: F401 - fixture

GOLD = Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}])


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "library.sqlite")
    s.save_segment("harbor", "Gold", GOLD, author="ana")
    return s


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not a database, it was overwritten by mistake " * 100)
    return path


def _damaged(s: Store) -> Store:
    """A library file overwritten by something else (no WAL left beside it to recover from)."""
    return Store(_garbage(s.path.with_name("overwritten.sqlite")))


def _damaged_version(s: Store) -> None:
    con = sqlite3.connect(s.path)
    con.execute("UPDATE versions SET spec = '[{oops' WHERE n = 1")
    con.commit()
    con.close()


STORE_CASES: list[tuple[str, Callable[[Store], object], type, str]] = [
    ("base version newer than latest", lambda s: s.save_segment("harbor", "Gold", GOLD, base_version=5),
     WorkbenchError, r"'Gold' has no version 5 \(the latest is 1\); reopen the segment"),
    ("stale base version", lambda s: (s.save_segment("harbor", "Gold", GOLD, base_version=1),
                                      s.save_segment("harbor", "Gold", GOLD, base_version=1)),
     SaveConflict, r"was saved as version 2 .* after you opened it. Compare both"),
    ("empty name", lambda s: s.save_segment("harbor", "   ", GOLD), WorkbenchError, r"Give the segment a name before saving"),
    ("version of another tenant", lambda s: s.get_version(1, tenant_id="northstar"),
     WorkbenchError, r"No saved segment 1 for tenant northstar; pick one from the library"),
    ("unknown segment id", lambda s: s.get_version(999), WorkbenchError, r"No saved segment 999"),
    ("unknown version", lambda s: s.get_version(1, 7), WorkbenchError, r"Segment 1 has no version 7"),
    ("damaged file on read", lambda s: _damaged(s).list_segments("harbor"),
     StoreError, r"library .* is damaged .*Move it aside \(mv .*\.damaged\)"),
    ("damaged file on save", lambda s: _damaged(s).save_segment("harbor", "x", GOLD),
     StoreError, r"is damaged"),
    ("damaged file on check", lambda s: _damaged(s).check(), StoreError, r"restore it from a backup"),
    ("library path is a folder", lambda s: Store(s.path.parent).list_segments("harbor"),
     StoreError, r"is a folder; set SEGWORK_STORE to a file path"),
    ("damaged version row", lambda s: (_damaged_version(s), s.versions(1)), StoreError, r"is damaged"),
]


@pytest.mark.parametrize("action,error,message", [c[1:] for c in STORE_CASES], ids=[c[0] for c in STORE_CASES])
def test_store_refuses_or_reports(store, bounded, action, error, message):
    with pytest.raises(error, match=message):
        action(store)


def test_opening_a_damaged_file_does_not_raise(tmp_path, bounded):
    """Pages build their Store once: construction must succeed so the error can be shown in place."""
    path = tmp_path / "library.sqlite"
    _garbage(path)
    s = Store(path)
    with pytest.raises(StoreError):
        s.list_clarifications("harbor")
    assert path.read_bytes().startswith(b"this is not a database")  # nothing overwritten


def test_a_segment_that_no_longer_compiles_needs_repair(store, tmp_path, bounded):
    """A saved segment whose facet left the catalog, and one whose stored JSON is damaged: listed, marked."""
    root = copy_tenant(tmp_path, "harbor")
    from core.tenant import load_tenant

    tenant = load_tenant("harbor", Settings.load().with_overrides(tenants_dir=root.parent))
    gone = Segment.from_spec([{"facet": "Loyalty Colour", "op": "in", "values": ["Blue"]}])
    store.save_segment("harbor", "Old colours", gone)
    summaries = {s.name: s for s in store.list_segments("harbor", tenant=tenant)}
    assert summaries["Gold"].status == "ok"
    assert summaries["Old colours"].status == "needs_repair"
    assert "unknown facet 'Loyalty Colour'" in summaries["Old colours"].problem
    _damaged_version(store)
    summaries = {s.name: s for s in store.list_segments("harbor", tenant=tenant)}
    assert summaries["Gold"].status == "needs_repair" and "cannot be read" in summaries["Gold"].problem
    assert summaries["Old colours"].status == "needs_repair"


# ---- pages: the failure stays where it is --------------------------------------------------------

@pytest.fixture
def page_env(settings, harbor, northstar, monkeypatch, tmp_path):
    monkeypatch.setenv("SEGWORK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SEGWORK_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("SEGWORK_STORE", str(tmp_path / "library.sqlite"))
    import streamlit as st

    st.cache_resource.clear()  # the pages' cached store and tenants belong to this case's paths
    yield tmp_path
    st.cache_resource.clear()


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)


def _errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def test_damaged_library_is_reported_on_the_pages(page_env, bounded):
    _garbage(page_env / "library.sqlite")
    for name in ("1_Segments.py", "2_Clarifications.py"):
        at = _page(name).run()
        assert not at.exception, (name, at.exception)
        assert "is damaged" in _errors(at) and "Move it aside" in _errors(at), name


def test_needs_repair_shows_in_the_library(page_env, bounded):
    s = Store(page_env / "library.sqlite")
    s.save_segment("harbor", "Old colours", Segment.from_spec([{"facet": "Loyalty Colour", "op": "in", "values": ["Blue"]}]))
    s.save_segment("harbor", "Gold", GOLD)
    at = _page("1_Segments.py").run()
    assert not at.exception, at.exception
    assert any("Harbor" in t.value for t in at.title)  # the first tenant
    table = at.dataframe[0].value
    assert dict(zip(table["name"], table["status"])) == {"Gold": "ok", "Old colours": "needs repair"}
    picker = next(sb for sb in at.selectbox if sb.label == "Segment")
    picker.set_value(next(o for o in picker.options if "Old colours" in o)).run()
    assert not at.exception, at.exception
    assert any("needs repair: unknown facet 'Loyalty Colour'" in w.value for w in at.warning)  # chosen first (by name)


def test_a_broken_tenant_shows_its_error_and_the_others_work(page_env, monkeypatch, bounded):
    copy_tenant(page_env, "northstar")
    broken = copy_tenant(page_env, "harbor")
    (broken / "tenant.yaml").write_text("display_name: Harbor\nbindings: {}\nthresholds: {too_narrow_share: 0.9}\n")
    monkeypatch.setenv("SEGWORK_TENANTS_DIR", str(page_env / "tenants"))
    at = _page("1_Segments.py").run()
    assert not at.exception, at.exception
    assert any("Northstar Mart" in t.value for t in at.title)  # the working tenant is picked first
    picker = next(sb for sb in at.sidebar.selectbox if sb.label == "Tenant")
    picker.set_value("harbor").run()
    assert not at.exception, at.exception
    assert "Tenant 'harbor' cannot be loaded" in _errors(at) and "too_narrow_share" in _errors(at)
    assert "other tenants still work" in _errors(at)
