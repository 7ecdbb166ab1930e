"""The resolve stage on its own: conditions in, the conditions kept (and notes) out, on both demo tenants'
catalogs. Conditions are built by hand from the catalogs, so each step is checked apart from the reading."""
from __future__ import annotations

import pytest

from core.reader import resolve
from core.reader.common import _prov
from core.segment import Condition


def _cond(facet: str, op: str, method: str | None = None, span: str = "", **kw) -> Condition:
    """A condition as a reading part would leave it; `method` and `span` make up its provenance."""
    if method is not None or span:
        kw["provenance"] = _prov(span, 0, len(span), method or "synonym")
    return Condition(facet=facet, op=op, **kw)


def _rendered(conds: list[Condition]) -> list[str]:
    return [c.render() for c in conds]


# ---- a windowed facet keeps its own window ---------------------------------------------------------

@pytest.mark.parametrize("tenant_id, counted, dated, days, said", [
    ("northstar", "Online Order Count 12M", "Purchase Date R2D2", 365, "in the past year"),
    ("harbor", "Trips 13 Weeks", "Last Visit Date", 91, "in the last 13 weeks"),
])
def test_a_windowed_facet_keeps_its_own_window(request, tenant_id, counted, dated, days, said):
    cat = request.getfixturevalue(tenant_id).catalog
    conds = [_cond(counted, "between", min=5), _cond(dated, "within_last_days", "date", said, days=days)]
    out = resolve.own_windows(cat, conds)
    assert out.conditions == [conds[0]]
    assert out.notes == [f"'{said}' is {counted}'s own window; no separate date condition"]


def test_a_window_that_dates_a_purchase_stays(northstar):
    conds = [_cond("Online Order Count 12M", "between", min=5),
             _cond("Purchased Brand", "in", values=["Pacewell"]),
             _cond("Purchase Date R2D2", "within_last_days", days=365)]
    out = resolve.own_windows(northstar.catalog, conds)
    assert out.conditions == conds and out.notes == []


def test_a_window_of_another_length_stays(harbor):
    conds = [_cond("Trips 13 Weeks", "between", min=5), _cond("Last Visit Date", "within_last_days", days=30)]
    assert resolve.own_windows(harbor.catalog, conds).conditions == conds


# ---- mutually exclusive facets ---------------------------------------------------------------------

@pytest.mark.parametrize("tenant_id, said, counted, kept, why", [
    ("northstar", _cond("Generation", "in", "synonym", values=["Millennial"]),
     _cond("Age Band", "in", "range", values=["25-34"]), "Age Band",
     "Both describe age with different cut points; use one."),
    ("harbor", _cond("Shopper Lifecycle Stage", "in", "synonym", values=["Lapsed"]),
     _cond("Days Since Last Visit", "between", "number", min=60), "Days Since Last Visit",
     "Both define visit recency and can contradict each other."),
])
def test_of_mutually_exclusive_facets_the_one_read_from_a_number_stays(request, tenant_id, said, counted, kept, why):
    cat = request.getfixturevalue(tenant_id).catalog
    other = _cond("Preferred Language", "in", values=["Spanish"])
    out = resolve.exclusive(cat, [said, other, counted])
    assert out.conditions == [other, counted]
    assert out.notes == [f"kept {kept}: {why}"]


def test_facets_that_do_not_exclude_each_other_all_stay(harbor):
    conds = [_cond("Shopper Lifecycle Stage", "in", values=["Lapsed"]), _cond("Trips 13 Weeks", "between", min=2)]
    out = resolve.exclusive(harbor.catalog, conds)
    assert out.conditions == conds and out.notes == []


# ---- the more specific product level ---------------------------------------------------------------

@pytest.mark.parametrize("parent, child", [
    (_cond("Propensity Division", "in", values=["Womens"]), _cond("Propensity Category", "in", values=["Womens Dresses"])),
    (_cond("Purchased Super Department", "in", values=["Apparel"]), _cond("Purchased Division", "in", values=["Shoes"])),
])
def test_the_more_specific_product_level_is_kept(northstar, parent, child):
    assert resolve.specific_product_level(northstar.catalog, [parent, child]) == [child]


def test_a_level_that_is_not_the_parent_stays(northstar):
    conds = [_cond("Propensity Division", "in", values=["Mens"]),
             _cond("Propensity Category", "in", values=["Womens Dresses"])]
    assert resolve.specific_product_level(northstar.catalog, conds) == conds


def test_likelihood_and_purchase_levels_are_settled_apart(northstar):
    """A bought division does not drop a likely category under it: the two kinds are separate groups."""
    conds = [_cond("Purchased Division", "in", values=["Womens"]),
             _cond("Propensity Category", "in", values=["Womens Dresses"])]
    assert resolve.specific_product_level(northstar.catalog, conds) == conds


def test_a_brand_is_no_level_of_the_product_tree(harbor):
    """Harbor's brands map to several aisles each: a brand with its aisle keeps both."""
    conds = [_cond("Likelihood To Buy Brand", "in", values=["Harbor Organics"]),
             _cond("Likelihood To Buy Aisle", "in", values=["Produce"])]
    assert resolve.specific_product_level(harbor.catalog, conds) == conds


def test_descends_follows_the_hierarchy_down_more_than_one_level(northstar):
    cat = northstar.catalog
    assert resolve.descends(cat, "Womens Dresses", "Womens")
    assert resolve.descends(cat, "Womens Dresses", "Apparel")
    assert not resolve.descends(cat, "Womens", "Womens Dresses")
    assert not resolve.descends(cat, "Mens Shirts", "Womens")


# ---- merge of conditions on one facet --------------------------------------------------------------

@pytest.mark.parametrize("tenant_id, facet, first, second", [
    ("northstar", "Preferred Language", ["Spanish", "English"], ["English", "Korean"]),
    ("harbor", "Preferred Shopping Day", ["Saturday"], ["Sunday"]),
])
def test_two_value_lists_on_one_facet_merge(request, tenant_id, facet, first, second):
    conds = [_cond(facet, "in", values=first), _cond("Household Size", "between", min=3), _cond(facet, "in", values=second)]
    out = resolve.merge(conds)
    want = list(dict.fromkeys(first + second))
    assert [(c.facet, c.op, c.values) for c in out] == [(facet, "in", want), ("Household Size", "between", None)]


def test_merge_keeps_an_exclusion_apart_from_an_inclusion():
    conds = [_cond("Home Store", "in", values=["Kennebunk"]), _cond("Home Store", "not_in", values=["Salem Commons"]),
             _cond("Home Store", "not_in", values=["Newburyport"])]
    assert _rendered(resolve.merge(conds)) == _rendered([
        conds[0], _cond("Home Store", "not_in", values=["Salem Commons", "Newburyport"])])


def test_a_lower_and_an_upper_bound_on_one_facet_make_one_range():
    conds = [_cond("Trips 13 Weeks", "between", min=4), _cond("Trips 13 Weeks", "between", max=9)]
    assert _rendered(resolve.merge(conds)) == ["Trips 13 Weeks between 4 and 9"]


def test_a_second_bound_of_the_same_side_is_dropped():
    """Two lower bounds on one facet are not one range: the first stays."""
    conds = [_cond("Trips 13 Weeks", "between", min=4), _cond("Trips 13 Weeks", "between", min=9)]
    assert resolve.merge(conds) == [conds[0]]


# ---- the tier, implied facets, dated words ---------------------------------------------------------

@pytest.mark.parametrize("tenant_id, facet, value, tier, want", [
    ("northstar", "Propensity Division", "Shoes", "TOP 10", "TOP 10"),
    ("northstar", "Propensity Division", "Shoes", None, "TOP 20"),      # the catalog's default
    ("harbor", "Likelihood To Buy Aisle", "Bakery", "TOP 20", "TOP 25"),  # not a Harbor tier: the default
])
def test_the_request_tier_goes_on_likelihood_conditions(request, tenant_id, facet, value, tier, want):
    cat = request.getfixturevalue(tenant_id).catalog
    other = _cond("Household Size", "between", min=3)
    out = resolve.apply_tier(cat, [_cond(facet, "in", values=[value]), other], tier)
    assert [c.tier for c in out] == [want, None]


def test_a_tier_already_set_stays(harbor):
    c = _cond("Likelihood To Buy Aisle", "in", values=["Bakery"], tier="TOP 5")
    assert resolve.apply_tier(harbor.catalog, [c], "TOP 50")[0].tier == "TOP 5"


def test_a_facet_a_hint_says_is_implied_goes(northstar):
    conds = [_cond("Has Children", "is_true"), _cond("Child Age Band", "in", values=["2-4"])]
    assert resolve.drop_implied(northstar.catalog, conds) == [conds[1]]
    assert resolve.drop_implied(northstar.catalog, conds[:1]) == conds[:1]


@pytest.mark.parametrize("tenant_id, text, word, dated", [
    ("northstar", "expecting a baby due in the next 60 days", _cond("Baby Registry", "is_true", span="expecting"),
     _cond("Baby Due Date", "between", "date", min="2026-11-25", max="2027-01-24")),
    ("harbor", "new members who joined in the last 90 days",
     _cond("Shopper Lifecycle Stage", "in", span="new", values=["New"]),
     _cond("Rewards Member Since", "within_last_days", "date", days=90)),
])
def test_words_a_dated_facet_explains_go(request, tenant_id, text, word, dated):
    cat = request.getfixturevalue(tenant_id).catalog
    assert resolve.dated_words(cat, [word, dated], text) == [dated]
    assert resolve.dated_words(cat, [word], text) == [word]  # without the dated facet the word is all there is


# ---- a value that says what a counted or dated facet measures -------------------------------------

def _at(low: str, facet: str, op: str, said: str, method: str, **kw) -> Condition:
    """A condition read from the words `said` where they stand in `low`."""
    a = low.index(said)
    return Condition(facet=facet, op=op, provenance=_prov(low, a, a + len(said), method), **kw)


@pytest.mark.parametrize("low, counted, said, value_facet, value", [
    ("customers who placed at least 10 orders online this year", "Online Order Count 12M", "at least 10 orders",
     "Purchase Channel", "Online"),
    ("shoppers who saved at least $300 through plus benefits", "Member Savings 12M", "at least $300",
     "Membership Tier", "Plus"),
])
def test_a_value_that_says_what_a_count_measures_is_part_of_it(northstar, low, counted, said, value_facet, value):
    cat = northstar.catalog
    count = _at(low, counted, "between", said, "number", min=10)
    word = _at(low, value_facet, "in", value.lower(), "phrasebook", values=[value])
    out = resolve.measure_words(cat, [count, word], low)
    assert out.conditions == [count]
    assert out.notes == [f"'{value.lower()}' says what {counted} measures; no separate {value_facet} condition"]


@pytest.mark.parametrize("low", [
    "online shoppers, who placed at least 10 orders this year",      # another clause
    "customers who placed at least 10 orders, online",               # another clause again
    "customers who bought shoes online at least 10 orders ago",      # beside it: 'shoes', 'least' are not the count's words
])
def test_a_value_said_apart_from_the_count_stays(northstar, low):
    cat = northstar.catalog
    count = _at(low, "Online Order Count 12M", "between", "10 orders", "number", min=10)
    word = _at(low, "Purchase Channel", "in", "online", "phrasebook", values=["Online"])
    assert resolve.measure_words(cat, [count, word], low).conditions == [count, word]


def test_a_channel_narrows_a_date_that_covers_every_channel(northstar):
    """The purchase date's own words list 'online' among alternatives: said in a request it narrows the date."""
    low = "customers who bought online in the last 30 days"
    dated = _at(low, "Purchase Date R2D2", "within_last_days", "in the last 30 days", "date", days=30)
    word = _at(low, "Purchase Channel", "in", "online", "phrasebook", values=["Online"])
    assert resolve.measure_words(northstar.catalog, [dated, word], low).conditions == [dated, word]
