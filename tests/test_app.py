"""The workbench page through Streamlit's AppTest: both tenants, a turn, a clarification, an edit, a save."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app(settings, northstar, harbor, monkeypatch):
    monkeypatch.setenv("SEGWORK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SEGWORK_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("SEGWORK_STORE", str(settings.store_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    return at.run()


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(m.value for m in at.caption)


@pytest.mark.parametrize("tenant_id,name", [("northstar", "Northstar Mart"), ("harbor", "Harbor Grocers")])
def test_page_renders_for_each_tenant(app, tenant_id, name):
    app.sidebar.selectbox[0].set_value(tenant_id).run()
    assert not app.exception
    assert any(name in s.value for s in app.subheader)
    assert "Offline mode" in _markdown(app) and "seed" not in _markdown(app)
    assert len(app.button) >= 3  # starter prompts


def test_turn_builds_a_segment_with_a_dry_run_then_edits_and_saves(app):
    app.sidebar.selectbox[0].set_value("northstar").run()
    app.chat_input[0].set_value("Plus members who are email reachable").run()
    assert not app.exception
    text = _markdown(app)
    # 20,000 fixture customers are fewer than min_sample_rows: the whole table is counted, labelled exact.
    assert "Membership Tier is Plus" in text and "customers (exact, whole table)" in text
    size = [m for m in app.metric if m.label == "Audience (exact)"][0]
    assert int(size.value.replace(",", "")) > 0 and not size.value.startswith("~")
    reach = {m.label: int(m.value.replace(",", "")) for m in app.metric if m.label.startswith("Reachable: ")}
    assert reach and reach["Reachable: email"] == int(size.value.replace(",", ""))  # asked for email reachable
    app.chat_input[0].set_value("only Florida").run()
    assert not app.exception, app.exception
    assert "+ cohort 1: State is Florida" in _markdown(app) and "customers (exact, whole table)** (was " in _markdown(app)
    form_inputs = [t for t in app.text_input if t.label == "Name"]
    form_inputs[0].set_value("Florida Plus email")
    [b for b in app.button if b.label == "Save segment"][0].click().run()
    assert any("Saved 'Florida Plus email' as version 1" in s.value for s in app.success)


def test_a_clarification_can_be_answered(app):
    app.sidebar.selectbox[0].set_value("harbor").run()
    app.chat_input[0].set_value("Our best customers").run()
    assert "What should" in _markdown(app)
    options = [b for b in app.button if "default" in b.label]
    assert options
    options[0].click().run()
    assert not app.exception
    assert "Household Value Tier is Best" in _markdown(app)


def test_a_condition_is_adjusted_in_place_and_undone(app):
    app.sidebar.selectbox[0].set_value("northstar").run()
    app.chat_input[0].set_value("Customers who bought Scoop in the last 60 days").run()
    days = [n for n in app.number_input if n.label == "Days"][0]
    days.set_value(30)
    [b for b in app.button if b.label == "Apply"][0].click().run()
    assert not app.exception
    assert "Purchase Date R2D2 in the last 30 days" in _markdown(app)
    assert "Adjusted Purchase Date R2D2" in _markdown(app)  # the manual change is a chat line with its size change
    [b for b in app.button if b.label == "Undo last change"][0].click().run()
    assert "Undid the last change — audience" in _markdown(app)
    assert "Purchase Date R2D2 in the last 60 days" in _markdown(app)


def _coverage_html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html") if h.proto.body.startswith('<div class="cov-read"'))


def test_the_answer_shows_how_the_request_was_read_escaped_and_after_a_reload(app):
    app.sidebar.selectbox[0].set_value("northstar").run()
    app.chat_input[0].set_value('Plus members in Ohio who juggle <script>alert("x")</script> & more').run()
    assert not app.exception, app.exception
    shown = _coverage_html(app)
    assert shown.count('class="cov-read"') == 1
    assert '<span class="cov cov-condition" title="became: State is Ohio">Ohio</span>' in shown
    assert '<span class="cov cov-condition" title="became: Membership Tier is Plus">Plus' in shown
    assert '<span class="cov cov-unused" title="not used">juggle' in shown
    assert "Not used: &#x27;juggle&#x27;, &#x27;script&#x27;" in shown
    assert "<script" not in shown and "&lt;script&gt;alert(&quot;x&quot;)" in shown and "&amp;" in shown  # text, never markup
    assert '<span class="cov cov-stop">Stop word</span>' in shown  # the legend names the kinds shown

    reloaded = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    reloaded.query_params.update(tenant="northstar", draft=app.query_params["draft"])
    reloaded.run()  # a new session with the same URL: F5
    assert not reloaded.exception, reloaded.exception
    assert _coverage_html(reloaded) == shown
