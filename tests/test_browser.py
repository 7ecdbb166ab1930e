"""The workbench in a real browser: Debian's headless Chromium driven by playwright against one `streamlit run`.

Covers, at 1280 and 1440 wide: new-vs-edit question, an answer typed in the chat box, F5 and a pasted
link restoring the draft, the rule builder (condition, cohort, "exclude saved segment"), a save
conflict and its choices, the library's size column; every step checks that no button or tab label
is clipped, the request map under an answer is painted and fits its message, and every checked page is
screenshotted: into a scratch folder by default, into the README's tests/screenshots/ with `make screenshots`
(so a test run never rewrites files the repository tracks).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.segment import Segment
from core.store import Store
from tests.browser_kit import CHROMIUM, TURN, choose, chromium, say, settle, streamlit_app

SCREENSHOTS = Path(os.environ.get("SEGWORK_SCREENSHOTS") or Path(tempfile.gettempdir()) / "segwork-screenshots")
WIDTHS = (1280, 1440)
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)")]

# Every visible button, tab or tab list, and everything inside one, whose content is wider than its box.
CLIPPED = """() => [...document.querySelectorAll('button, [role=tab], [role=tablist]')]
  .filter(b => b.offsetParent !== null)
  .flatMap(b => [b, ...b.querySelectorAll('*')])
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.closest('button, [role=tab]') || e).innerText.trim().slice(0, 60))"""


# Every "how I read your request" map: its highlights, whether one is painted and whether any runs out of its message.
HIGHLIGHTS = """() => [...document.querySelectorAll('.cov-read')].map(r => {
  const box = r.closest('[data-testid="stChatMessage"]').getBoundingClientRect();
  const marks = [...r.querySelectorAll('.cov-text .cov')];
  return {kinds: marks.map(m => m.classList[1]),
          painted: marks.filter(m => getComputedStyle(m).backgroundColor !== 'rgba(0, 0, 0, 0)').length,
          wider: r.scrollWidth > r.clientWidth + 1,
          outside: marks.filter(m => [...m.getClientRects()].some(q => q.width === 0 || q.right > box.right + 1
                                                                   || q.left < box.left - 1)).map(m => m.textContent)};
})"""


def _highlights_fit(page, where: str) -> None:
    """The last answer's map is on screen, painted by kind, and no highlighted word is cut or outside its message."""
    settle(page)
    last = page.locator(".cov-read").last
    expect(last.locator(".cov-condition").first).to_be_visible()
    maps = page.evaluate(HIGHLIGHTS)
    assert maps, f"{where}: no request map shown"
    for m in maps:
        assert "cov-condition" in m["kinds"] and m["painted"] >= m["kinds"].count("cov-condition"), f"{where}: {m}"
        assert not m["wider"] and not m["outside"], f"{where}: clipped highlights {m}"


@pytest.fixture(scope="module")
def server(settings, northstar, harbor):
    env = {**os.environ, "SEGWORK_DATA_DIR": str(settings.data_dir), "SEGWORK_INDEX_DIR": str(settings.index_dir),
           "SEGWORK_STORE": str(settings.store_path), "HF_HUB_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)
    with streamlit_app(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def store(settings) -> Store:
    return Store(settings.store_path)


def _open(browser, url: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(url)
    page.locator("textarea, h1").first.wait_for(timeout=60_000)
    return page


def _not_clipped(page, where: str) -> None:
    settle(page)
    clipped = page.evaluate(CLIPPED)
    assert not clipped, f"{where}: clipped labels {clipped}"


def _shot(page, name: str) -> None:
    """Check and screenshot the page at both widths (the README shows both)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.viewport_size["height"]
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        _not_clipped(page, f"{name} at {width}")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def _wait_for_cells(page, role: str, texts: list[str]) -> None:
    """Wait (up to 30 s) until the first table's cells of `role` hold every one of `texts`; a timeout says what was there."""
    script = """([role, texts]) => {
      const cells = [...document.querySelector('[data-testid=stDataFrame]').querySelectorAll(`[role=${role}]`)];
      const all = cells.map(c => c.innerText).join(' | ');
      return texts.every(t => all.includes(t));
    }"""
    try:
        page.wait_for_function(script, arg=[role, texts], timeout=30_000)
    except Exception:
        seen = page.locator(f'[data-testid="stDataFrame"] [role="{role}"]').all_inner_texts()
        raise AssertionError(f"the table's {role} cells never held {texts}; they hold {seen}") from None


def _draft(page) -> str:
    return page.locator('[data-testid="stMainBlockContainer"]').inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_library_shows_size_owner_and_tags(server, browser, store, width):
    name = f"Library row {width}"
    v = store.save_segment("harbor", name, Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}]),
                           author="Ana", dryrun={"estimate": 12_345, "exact_count": None})
    store.set_tags(v.segment_id, [f"spring{width}"])
    page = _open(browser, f"{server}/Segments?tenant=harbor", width)
    page.get_by_text("Segment library", exact=False).first.wait_for(timeout=60_000)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    settle(page)
    # The grid element shows before its header cells are filled on a cold server: wait for them, then check.
    _wait_for_cells(page, "columnheader", ["size", "owner"])
    headers = grid.locator('[role="columnheader"]').all_inner_texts()
    assert any("size" in h for h in headers) and any("owner" in h for h in headers), headers
    page.get_by_label("Search by name, tag, owner or facet").fill(f"spring{width} ana")
    page.keyboard.press("Enter")
    settle(page)
    settle(page)
    page.wait_for_function("() => document.querySelector('[data-testid=stDataFrame]').querySelectorAll('[role=row]').length === 2",
                           timeout=30_000)  # a header row and the one match
    assert "Workbench" in page.locator('[data-testid="stSidebarNav"]').inner_text()  # app.py's navigation
    _wait_for_cells(page, "gridcell", ["12,345 (estimate"])
    cells = " ".join(grid.locator('[role="gridcell"]').all_inner_texts())
    assert "12,345 (estimate" in cells, cells[:300]
    _not_clipped(page, "library")
    _shot(page, "library")
    page.close()


@pytest.mark.parametrize("width", [1440])
def test_new_or_edit_question_and_an_answer_typed_in_the_chat_box(server, browser, store, width):
    page = _open(browser, f"{server}/?tenant=harbor", width)
    _not_clipped(page, "start")
    _shot(page, "workbench-start")
    say(page, "Our best customers")
    page.get_by_text("Pick one, or type your answer", exact=False).wait_for(timeout=TURN)
    _not_clipped(page, "question")
    say(page, "best")  # typed, not clicked: it answers the pending question
    page.get_by_text("Household Value Tier is Best", exact=False).first.wait_for(timeout=TURN)
    assert any(c["request"] == "Our best customers" and c["answer"] == "Household Value Tier: Best" for c in store.list_clarifications("harbor"))
    say(page, "Weekend shoppers who are email reachable")
    page.get_by_text("Start a new segment or change this one?").wait_for(timeout=30_000)
    _not_clipped(page, "new or edit")
    page.get_by_role("button", name="Start a new segment").click()
    conditions = page.locator(".st-key-draft_conditions")
    expect(conditions).to_contain_text("Preferred Shopping Day", timeout=TURN)
    expect(conditions).not_to_contain_text("Household Value Tier")  # a new draft, not an edit of the old one
    expect(page.locator(".st-key-draft_summary")).to_contain_text("customers")
    say(page, "also Gold rewards members")  # an edit instruction: no question, the draft changes
    expect(conditions).to_contain_text("Rewards Level is Gold", timeout=TURN)
    expect(conditions).to_contain_text("Preferred Shopping Day")
    assert page.get_by_text("Start a new segment or change this one?").count() == 0
    _not_clipped(page, "after edit")
    for w in WIDTHS:
        page.set_viewport_size({"width": w, "height": 1000})
        _highlights_fit(page, f"request map at {w}")
    _shot(page, "workbench-conversation")
    page.close()


@pytest.mark.parametrize("width", [1280])
def test_builder_condition_cohort_and_excluded_saved_segment_survive_reload_and_a_link(server, browser, store, width):
    silver = store.save_segment("harbor", "Silver members (browser)", Segment.from_spec(
        [{"facet": "Rewards Level", "op": "in", "values": ["Silver"]}]))
    page = _open(browser, f"{server}/?tenant=harbor", width)
    choose(page, "Facet", "Rewards Level")
    choose(page, "Values", "Gold", multi=True)
    page.get_by_role("button", name="Add condition").click()
    page.get_by_text("Added Rewards Level is Gold", exact=False).wait_for(timeout=30_000)
    choose(page, "Facet", "Rewards Level")
    choose(page, "Values", "Silver", multi=True)
    choose(page, "Add to", "A new cohort")
    page.get_by_role("button", name="Add condition").click()
    page.get_by_text("Cohort 2", exact=True).wait_for(timeout=30_000)
    page.get_by_role("tab", name="Saved segment").click()
    choose(page, "Saved segment", "Silver members (browser)")
    page.get_by_role("radiogroup", name="Rule").get_by_text("Exclude its members").first.click()
    settle(page)
    page.get_by_role("button", name="Add rule").click()
    page.get_by_text("Excluded members of 'Silver members (browser)'", exact=False).wait_for(timeout=30_000)
    settle(page)
    text = _draft(page)
    assert text.count("not a member of saved segment 'Silver members (browser)'") >= 2  # in both cohorts
    assert "2 cohorts" in text
    # Gold OR Silver, minus Silver members: exactly the Gold members; the chat line says how the size moved
    assert re.search(r"Excluded members of 'Silver members \(browser\)' — audience [\d,]+ → [\d,]+ customers \(-[\d,]+\)", text)
    _not_clipped(page, "builder")
    _shot(page, "workbench-builder")

    url = page.url
    assert "draft=" in url and "tenant=harbor" in url
    page.reload()
    page.get_by_text("Cohort 2", exact=True).wait_for(timeout=60_000)
    page.get_by_text("Added Rewards Level is Gold", exact=False).wait_for(timeout=30_000)
    after = _draft(page)
    assert "Added Rewards Level is Gold" in after and "not a member of saved segment" in after

    other = browser.new_context().new_page()  # a pasted link: a fresh browser session
    other.set_viewport_size({"width": width, "height": 1000})
    other.goto(url)
    other.get_by_text("Cohort 2", exact=True).wait_for(timeout=60_000)
    settle(other)
    expect(other.locator('[data-testid="stMainBlockContainer"]')).to_contain_text(
        "Excluded members of 'Silver members (browser)'", timeout=30_000)
    other.context.close()
    page.close()
    assert silver.n == 1


@pytest.mark.parametrize("width", [1440])
def test_save_conflict_offers_new_version_copy_and_compare(server, browser, store, width):
    v = store.save_segment("harbor", "Gold (conflict)", Segment.from_spec(
        [{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}]))
    link = f"{server}/?tenant=harbor&segment={v.segment_id}"
    mine, theirs = _open(browser, link, width), _open(browser, link, width)
    for p in (mine, theirs):
        p.get_by_text("Opened", exact=False).first.wait_for(timeout=60_000)
    theirs.get_by_role("button", name="Save segment").click()
    theirs.get_by_text("as version 2", exact=False).wait_for(timeout=30_000)
    mine.get_by_role("button", name="Save segment").click()
    mine.get_by_text("already has version 2", exact=False).wait_for(timeout=30_000)
    _not_clipped(mine, "conflict")
    mine.get_by_role("button", name="Compare").click()
    mine.get_by_text("Your draft:", exact=False).wait_for(timeout=30_000)
    _shot(mine, "workbench-conflict")
    mine.get_by_role("button", name="Save as a new version on top").click()
    mine.get_by_text("Saved 'Gold (conflict)' as version 3", exact=False).wait_for(timeout=30_000)
    theirs.get_by_role("button", name="Save segment").click()  # theirs saw version 2 only
    theirs.get_by_text("already has version 3", exact=False).wait_for(timeout=30_000)
    theirs.get_by_role("button", name="Save as a copy").click()
    theirs.get_by_text("Saved 'Gold (conflict) (copy)' as version 1", exact=False).wait_for(timeout=30_000)
    assert [x.n for x in store.versions(v.segment_id)] == [1, 2, 3]
    mine.close()
    theirs.close()
