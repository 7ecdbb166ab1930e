"""Every word accounted for: used by a condition, a stop word, or plainly not used."""
from __future__ import annotations

from core.agent import Agent
from core.reader.understand import Understander
from core.policies.offline import OfflinePolicy
from core.reader.account import Use, account
from core.reader.clarify import nearest_facet_options
from core.text.normalise import correct_typos, vocabulary


def test_account_kinds_and_offsets_are_in_the_request_as_typed():
    n = correct_typos("custmers in Ohio who juggle", vocabulary({"customers", "ohio"}))
    ohio = n.text.index("Ohio")
    cov = account(n, [Use(start=ohio, end=ohio + 4, became="State is Ohio")], {"in", "who", "customers"})
    kinds = {s.text: (s.kind, s.became) for s in cov.spans}
    assert kinds["custmers"] == ("stop", "")            # read as 'customers', a stop word; offsets of the typed word
    assert kinds["Ohio"] == ("used", "State is Ohio")
    assert kinds["juggle"] == ("unused", "") and cov.unused == ["juggle"]
    for s in cov.spans:
        assert cov.request[s.start:s.end] == s.text


def test_a_facets_own_word_beside_its_value_is_part_of_that_condition(harbor, today):
    reader = Understander(harbor.catalog, today)
    cov = reader.read("Gold rewards members at the Mystic store").coverage
    used = {s.text: s.became for s in cov.spans if s.kind == "used"}
    assert used["rewards"] == "Rewards Level is Gold" and used["store"] == "Home Store is Mystic"
    assert cov.unused == []
    # the same word in another clause is not that condition's: it stays said as unused
    assert "rewards" in reader.read("Gold members who ask about rewards").coverage.unused


def test_reader_coverage_names_what_each_word_became(northstar, today):
    r = Understander(northstar.catalog, today).read("Custmers in Ohio reachble by txt who juggle flaming torches")
    cov = r.coverage
    used = {s.text: s.became for s in cov.spans if s.kind == "used"}
    assert "State is Ohio" in used["Ohio"] and "SMS Opt In" in used["txt"]
    assert set(cov.unused) == {"juggle", "flaming", "torches"}
    assert "read 'txt' as 'text'" in r.notes


def test_unused_words_are_said_plainly_on_the_turn(northstar, today):
    agent = Agent(northstar, lambda: OfflinePolicy(northstar))
    res = agent.run_turn("Customers in Ohio who juggle", today=today, mode="new")
    assert res.status == "done" and res.coverage is not None
    assert res.coverage.unused == ["juggle"] and "Not used: 'juggle'" in res.summary


def test_nearest_options_are_valid_conditions_from_the_catalog(northstar):
    cat = northstar.catalog
    flag = next(f.name for f in cat.active_facets if f.kind == "boolean")
    listed = next(f for f in cat.active_facets if f.kind == "categorical" and len(f.value_list) > 3)
    numeric = next(f.name for f in cat.active_facets if f.kind == "numeric")
    value = listed.value_list[2]
    opts = nearest_facet_options([numeric, flag, listed.name], cat, f"people into {value}")
    assert [o.conditions[0].facet for o in opts] == [flag, listed.name]  # no invented number for the numeric facet
    assert opts[1].conditions[0].values == [value] and opts[0].conditions[0].op == "is_true"


def test_a_segment_built_without_the_reader_is_mapped_by_its_catalog_words(northstar):
    from core.reader.account import segment_coverage
    from core.reader.common import STOP
    from core.segment import Condition

    request = "Customers who spent over $2,000 in Ohio, lapsed gardeners"
    conds = [Condition(facet="Spend 12M", op="between", min=2000), Condition(facet="State", op="in", values=["Ohio"]),
             Condition(facet="Customer Status", op="in", values=["Lapsed"])]
    cov = segment_coverage(request, conds, northstar.catalog, STOP)
    became = {s.text: s.became for s in cov.spans if s.kind == "used"}
    assert became["spent"] == became["$2,000"] == "Spend 12M at least 2000"
    assert became["Ohio"] == "State is Ohio" and became["lapsed"] == "Customer Status is Lapsed"
    assert cov.unused == ["gardeners"]
