"""The workbench's core pieces: message intent, manual edits, saved-segment rules, library rows, autosave."""
from __future__ import annotations

import duckdb
import pytest

from core.conversation import classify
from core.policies.base import Clarify, ClarifyOption, LLMUsage
from core.router import RouteDecision
from core.editing import (add_condition, build_condition, exclude_everywhere, member_condition, remove_cohort,
                          remove_condition, size_change)
from core.errors import SegmentError
from core.library import library, parse_tags, search
from core.segment import Segment, check_segment, resolve_members
from core.sqlbuild import compile_segment
from core.store import Store

GOLD = Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}])


def test_intent_of_a_message_depends_on_the_draft_and_a_pending_question():
    assert classify("Gold members", None).intent == "new"
    assert classify("also email reachable", GOLD).intent == "edit"
    assert classify("Weekend shoppers who buy organic produce", GOLD).intent == "ask"
    assert classify("New segment: weekend shoppers", GOLD).intent == "new"
    question = Clarify("What should 'best' mean?", [ClarifyOption("Household Value Tier: Best"),
                                                   ClarifyOption("High spenders", "Spend Tier: High")])
    assert classify("best", GOLD, question).answer == "Household Value Tier: Best"
    assert classify("high spendrs", None, question).answer == "Spend Tier: High"
    free = classify("the ones who spend the most online every single week", GOLD, question)
    assert free.intent == "answer" and free.answer == "the ones who spend the most online every single week"
    assert classify("start over with weekend shoppers", GOLD, question).intent == "new"


class _ModelSaysNew:
    def route(self, request, draft, pending=None):
        return RouteDecision("new", "a model read a whole new audience", usage=LLMUsage(model="m"))


def test_a_model_router_decides_without_asking():
    assert classify("Weekend shoppers who buy organic produce", GOLD, router=_ModelSaysNew()).intent == "new"


def test_builder_edits_add_remove_and_open_cohorts(harbor):
    facet = harbor.catalog.get("Rewards Level")
    silver = build_condition(facet, values=["Silver"])
    two = add_condition(GOLD, 1, silver)
    assert len(two.cohorts) == 2 and two.render() == "(Rewards Level is Gold) OR (Rewards Level is Silver)"
    assert remove_cohort(two, 0).render() == "Rewards Level is Silver"
    assert remove_condition(add_condition(GOLD, 0, silver), 0, 0).render() == "Rewards Level is Silver"
    with pytest.raises(SegmentError, match="Pick at least one value"):
        build_condition(facet, values=[])
    assert size_change(1000, 1) == "1,000 → 1 customer (-999)"


def test_saved_segment_rules_resolve_compile_and_refuse_cycles(harbor, settings, tmp_path):
    s = Store(tmp_path / "s.sqlite")
    gold = s.save_segment("harbor", "Gold", GOLD)
    silver = Segment.from_spec([{"facet": "Rewards Level", "op": "in", "values": ["Gold", "Silver"]}])
    draft = exclude_everywhere(silver, member_condition(gold.segment_id, "Gold", exclude=True))
    assert check_segment(draft, harbor.catalog) == []
    assert "not a member of saved segment 'Gold'" in draft.render()
    lookup = lambda i: s.get_version(i).segment  # noqa: E731
    sql = compile_segment(resolve_members(draft, lookup), harbor)
    con = duckdb.connect(str(harbor.warehouse_path), read_only=True)
    levels = {r[0] for r in con.execute(f"SELECT DISTINCT c.rewards_level FROM ({sql}) x JOIN customers c USING (customer_id)").fetchall()} \
        if "rewards_level" in str(con.execute("DESCRIBE customers").fetchall()) else None
    n_only_silver = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    n_silver_or_gold = con.execute(f"SELECT count(*) FROM ({compile_segment(silver, harbor)})").fetchone()[0]
    n_gold = con.execute(f"SELECT count(*) FROM ({compile_segment(GOLD, harbor)})").fetchone()[0]
    assert n_only_silver == n_silver_or_gold - n_gold > 0
    if levels is not None:
        assert levels == {"Silver"}
    with pytest.raises(SegmentError, match="not resolved"):
        compile_segment(draft, harbor)
    # Gold now includes members of Gold-or-Silver-minus-Gold, which refers back to Gold: a cycle
    loop = s.save_segment("harbor", "Loop", draft)
    s.save_segment("harbor", "Gold", add_condition(GOLD, 0, member_condition(loop.segment_id, "Loop")), base_version=1)
    with pytest.raises(SegmentError, match="includes itself"):
        resolve_members(s.get_version(loop.segment_id).segment, lookup, (loop.segment_id,))


def test_library_rows_carry_size_owner_tags_and_search(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    v = s.save_segment("harbor", "Gold members", GOLD, author="ana", dryrun={
        "estimate": 1234, "exact_count": None, "reach": [{"channel": "email", "count": 1000, "share": 0.81}]})
    s.set_tags(v.segment_id, ["Spring", " email "])
    s.save_segment("harbor", "Other", GOLD, author="ben", dryrun={"estimate": 10, "exact_count": 9})
    rows = {e.name: e for e in library(s, "harbor")}
    assert rows["Gold members"].size == 1234 and not rows["Gold members"].size_exact
    assert rows["Other"].size == 9 and rows["Other"].size_exact
    assert rows["Gold members"].tags == ["email", "spring"] and rows["Gold members"].owner == "ana"
    assert rows["Gold members"].reachable == {"email": 1000}
    assert [e.name for e in search(list(rows.values()), "spring ana")] == ["Gold members"]
    assert [e.name for e in search(list(rows.values()), "ben rewards level")] == ["Other"]
    assert s.free_name("harbor", "Other") == "Other (copy)"
    assert parse_tags(" Spring, email ,spring,, ") == ["email", "spring"]


def test_draft_autosave_round_trips(tmp_path):
    s = Store(tmp_path / "s.sqlite")
    s.autosave_draft("abc", "harbor", {"draft": GOLD.model_dump(mode="json"), "chat": [{"role": "user", "text": "hi"}]})
    s.autosave_draft("abc", "harbor", {"draft": GOLD.model_dump(mode="json"), "chat": [{"role": "user", "text": "hello"}]})
    tenant, state = s.load_draft("abc")
    assert tenant == "harbor" and state["chat"][0]["text"] == "hello"
    assert Segment.model_validate(state["draft"]).render() == GOLD.render()
    assert s.load_draft("nope") is None
