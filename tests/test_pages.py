"""Every page through AppTest, with real data: the library, clarifications, evaluation, catalog, tenant."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.segment import Segment
from core.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(settings, northstar, harbor, monkeypatch):
    monkeypatch.setenv("SEGWORK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SEGWORK_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("SEGWORK_STORE", str(settings.store_path))
    return settings


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=300)


def _text(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [m.value for m in at.caption] + [m.value for m in at.title])


def test_segments_page_shows_versions_and_a_diff(env):
    s = Store(env.store_path)
    a = Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}])
    b = Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold", "Silver"]}])
    name = "Gold and silver test"
    s.save_segment("harbor", name, a, author="ana")
    s.save_segment("harbor", name, b, base_version=1, author="ben")
    at = _page("1_Segments.py").run()
    assert not at.exception
    at.selectbox[0].set_value("harbor").run() if at.selectbox[0].label == "Tenant" else None
    assert name in at.dataframe[0].value["name"].tolist()
    seg_box = [x for x in at.selectbox if x.label == "Segment"][0]
    seg_box.set_value(next(o for o in seg_box.options if o.startswith(name))).run()
    text = _text(at)
    assert "Rewards Level is Gold or Silver" in text
    assert "~ cohort 1: Rewards Level is Gold → Rewards Level is Gold or Silver" in text
    assert "'Gold'" in at.code[0].value or "'Gold'" in [c.value for c in at.code][-1]


def test_clarifications_page_reviews_a_question(env):
    s = Store(env.store_path)
    cid = s.log_clarification("harbor", "our best customers", "What should 'best' mean?", ["Best", "Gold"], "Best")
    s.log_turn("harbor", "our best customers", True)
    at = _page("2_Clarifications.py").run()
    assert not at.exception
    assert any("What should 'best' mean?" in e.label for e in at.expander)
    at.button(key=f"review{cid}").click().run()
    assert all(not c["id"] == cid or c["reviewed"] for c in s.list_clarifications("harbor"))
    assert at.get("vega_lite_chart")


def test_evaluation_page_runs_and_scores(env):
    at = _page("3_Evaluation.py").run()
    assert not at.exception
    at.button[0].click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Facet F1", "Value F1"]
    assert float(at.metric[0].value) >= 0.9


def test_catalog_and_tenant_pages(env):
    at = _page("4_Facet_Catalog.py").run()
    assert not at.exception
    assert "Aisles Shopped 13 Weeks" in at.dataframe[0].value["facet"].tolist()
    at.text_input[0].set_value("curbside pickup").run()
    assert "Shopping Mode 13 Weeks" in at.dataframe[0].value["facet"].tolist()[:3]
    tp = _page("5_Tenant.py").run()
    assert not tp.exception
    assert any("are valid" in s.value for s in tp.success)
    assert "up to date" in _text(tp)


def test_clarifications_filter_by_date(env):
    import datetime as dt

    Store(env.store_path).log_clarification("harbor", "frequent shoppers", "How much is 'frequent'?", ["13", "26"], "13")
    at = _page("2_Clarifications.py").run()
    at.radio[0].set_value("All").run()
    assert any("How much is 'frequent'?" in e.label for e in at.expander)
    at.date_input[0].set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 2))).run()
    assert not at.exception
    assert not any("How much is 'frequent'?" in e.label for e in at.expander)
