"""The extract stage on its own: each function reads one kind of thing from a lower-cased request and returns
exactly the conditions, spans, notes or tier it found, on both demo tenants' catalogs."""
from __future__ import annotations

import pytest

from core.reader import extract
from core.reader.common import Found, Span, with_meanings
from core.reader import lexicon
from core.text.dates import find_dates


def _rendered(found: Found) -> list[str]:
    return [c.render() for c in found.conditions]


def _spans(found: Found, low: str) -> list[str]:
    return [low[s.start:s.end].strip() for s in found.spans]


@pytest.mark.parametrize("tenant_id, text, want, span", [
    ("northstar", "customers who spent over $500 in the past year", "Spend 12M at least 500", "over $500"),
    ("northstar", "fewer than three coupons redeemed", "Coupon Redemptions 12M at most 2", "fewer than three coupons"),
    ("harbor", "shoppers spending under $80 a week", "Weekly Spend Average at most 80", "under $80 a week"),
    ("harbor", "more than 6 trips in the last 13 weeks", "Trips 13 Weeks at least 7", "more than 6 trips"),
    ("harbor", "households of five or more people", "Household Size at least 5", "five or more people"),
])
def test_an_amount_beside_a_comparator(request, today, tenant_id, text, want, span):
    cat = request.getfixturevalue(tenant_id).catalog
    found = extract.numbers(cat, today, text, [])
    assert _rendered(found) == [want]
    assert _spans(found, text) == [span]
    assert found.notes == [] and found.tier is None


def test_an_amount_already_read_is_skipped(northstar, today):
    text = "customers who spent over $500"
    start = text.index("$500")
    assert extract.numbers(northstar.catalog, today, text, [Span(start, start + 4)]).conditions == []


@pytest.mark.parametrize("tenant_id, text, want", [
    ("northstar", "average basket from $25 to $70", "Average Order Value between 25 and 70"),
    ("harbor", "basket size between 20 and 40 items", "Basket Size Average between 20 and 40"),
    ("harbor", "a weekly grocery bill of $90-$150", "Weekly Spend Average between 90 and 150"),
])
def test_a_range_keeps_both_ends(request, today, tenant_id, text, want):
    found = extract.ranges(request.getfixturevalue(tenant_id).catalog, today, text, [])
    assert _rendered(found) == [want]
    (c,) = found.conditions
    assert c.provenance.evidence.method == "number" and c.provenance.note == "range"


def test_a_range_is_not_a_lower_bound(northstar, today):
    """The range pass runs before the number pass; the number pass must not read its ends again."""
    text = "average basket from $25 to $70"
    taken = extract.ranges(northstar.catalog, today, text, []).spans
    assert extract.numbers(northstar.catalog, today, text, taken).conditions == []


def _dates(tenant, today, text: str) -> Found:
    cat = tenant.catalog
    spans = find_dates(text, today, cat.fiscal_year_start_month, cat.seasons)
    return extract.dates(cat, lexicon.table(cat), text.lower(), spans, [])


@pytest.mark.parametrize("tenant_id, text, facet, days, span", [
    ("northstar", "bought in the last 60 days", "Purchase Date R2D2", 60, "in the last 60 days"),
    ("harbor", "shopped in the last 2 weeks", "Last Visit Date", 14, "in the last 2 weeks"),
])
def test_a_relative_date_window(request, today, tenant_id, text, facet, days, span):
    found = _dates(request.getfixturevalue(tenant_id), today, text)
    assert [(c.facet, c.op, c.days) for c in found.conditions] == [(facet, "within_last_days", days)]
    assert _spans(found, text) == [span]


def test_a_gap_since_last_activity_is_a_days_since_facet(harbor, today):
    found = _dates(harbor, today, "haven't visited in 45 days")
    assert _rendered(found) == ["Days Since Last Visit at least 45"]


def test_a_windowed_facets_own_window_is_a_note_not_a_condition(northstar, today):
    found = _dates(northstar, today, "spent $2,000 in the past 12 months")
    assert found.conditions == []
    assert _spans(found, "spent $2,000 in the past 12 months") == ["in the past 12 months"]
    assert found.notes == ["'in the past 12 months' matches a facet's own window; no separate date condition"]


@pytest.mark.parametrize("tenant_id, text, tier, span", [
    ("northstar", "top 15% likely to buy grills", "TOP 20", "top 15%"),       # not a tier: the next wider one
    ("northstar", "most likely to buy shoes", "TOP 10", "most likely"),       # a tier word from the hints
    ("harbor", "top 20% likely to buy seafood", "TOP 25", "top 20%"),
    ("harbor", "top third likely to buy bakery", "TOP 50", "top third"),
])
def test_a_tier(request, tenant_id, text, tier, span):
    cat = request.getfixturevalue(tenant_id).catalog
    found = extract.tier(cat, lexicon.phrasebook(cat), text, [])
    assert found.tier == tier
    assert _spans(found, text) == [span]
    assert found.conditions == []


def test_no_tier_without_one(harbor):
    cat = harbor.catalog
    found = extract.tier(cat, lexicon.phrasebook(cat), "shoppers who bought bakery items", [])
    assert found.tier is None and found.spans == []


@pytest.mark.parametrize("tenant_id, text, want", [
    ("northstar", "reachable by email and by text", ["Email Opt In", "Email Deliverable", "SMS Opt In"]),
    ("harbor", "reachable by text and through the app", ["Text Allowed", "App Notifications Allowed"]),
    ("harbor", "email reachable", ["Email Allowed", "not Email Bounced"]),
])
def test_reachability_by_each_channel_named(request, tenant_id, text, want):
    found = extract.reachability(request.getfixturevalue(tenant_id).catalog, text, [])
    assert _rendered(found) == want
    assert all(c.provenance.evidence.method == "rule" for c in found.conditions)


@pytest.mark.parametrize("tenant_id, text, want", [
    ("northstar", "women aged 25-34", "Age Band is 25-34"),
    ("northstar", "parents of kids under 5", "Child Age Band is Under 2 or 2-4"),
    ("harbor", "shoppers aged 60 and over", "Age Range is 60-74 or 75+"),
])
def test_ages_become_the_bands_they_overlap(request, tenant_id, text, want):
    assert _rendered(extract.ages(request.getfixturevalue(tenant_id).catalog, text, [])) == [want]


def test_the_input_spans_are_not_changed(harbor, today):
    taken = [Span(0, 3)]
    found = extract.numbers(harbor.catalog, today, "shoppers spending under $80 a week", taken)
    assert taken == [Span(0, 3)] and len(found.spans) == 1


@pytest.mark.parametrize("tenant_id, text, want", [
    ("northstar", "customers whose last purchase was 8 weeks or more ago", ("Days Since Last Purchase", 56)),
    ("harbor", "ten days or longer since their last trip", ("Days Since Last Visit", 10)),
    ("harbor", "a year or more ago", None),  # no activity named: nothing read
])
def test_time_since_the_last_activity(request, tenant_id, text, want):
    from core.reader import extract

    got = extract.elapsed(request.getfixturevalue(tenant_id).catalog, text, [])
    assert [(c.facet, c.min) for c in got.conditions] == ([want] if want else [])


# ---- a visit said with an everyday verb ------------------------------------------------------------

@pytest.mark.parametrize("text", ["shoppers who came in within the last 10 days",
                                  "shoppers who stopped by within the last 10 days"])
def test_a_visit_verb_dates_the_visit(harbor, today, text):
    found = _dates(harbor, today, text)
    assert [(c.facet, c.days) for c in found.conditions] == [("Last Visit Date", 10)]


def test_a_visit_verb_counts_visits_not_orders(northstar, today):
    text = "shoppers who dropped by our stores 5 or more times over the last 12 months"
    assert [c.facet for c in extract.numbers(northstar.catalog, today, text, []).conditions] == ["Store Visit Count 12M"]
    text = "shoppers who bought from our stores 5 or more times over the last 12 months"
    assert [c.facet for c in extract.numbers(northstar.catalog, today, text, []).conditions] != ["Store Visit Count 12M"]


@pytest.mark.parametrize("text, visit", [
    ("haven't been in for 5 weeks", True), ("came in last week", True), ("popped by on friday", True),
    ("have been in plus for 2 years", False), ("came into money", False), ("been in the program", False),
])
def test_which_verbs_mean_a_visit(text, visit):
    assert with_meanings(text).endswith(" visit") is visit


# ---- times of day ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, values", [
    ("lunchtime shoppers", ["Afternoon"]),
    ("shoppers who come in around noon", ["Afternoon"]),
    ("shoppers who shop before 7am", ["Early Morning"]),
    ("after work shoppers", ["Evening"]),
    ("shoppers who come in after 6pm", ["Evening", "Late Night"]),   # a stretch meets every band it overlaps
    ("tuesday mornings", ["Morning"]),                              # 'morning' is 8-11am, not Early Morning too
])
def test_a_time_of_day_lands_on_the_band_whose_hours_hold_it(harbor, text, values):
    found = extract.times(harbor.catalog, text, [])
    assert [(c.facet, c.values) for c in found.conditions] == [("Preferred Shopping Time", values)]


def test_a_time_of_day_without_time_bands_is_asked_about(northstar):
    found = extract.times(northstar.catalog, "lunchtime shoppers in ohio", [])
    assert found.conditions == [] and [a.options[0][0] for a in found.ambiguities] == ["Build without 'lunchtime'"]
    # a catalog name holding a time word is that name, not a time ('Morning Ember' the brand)
    assert extract.times(northstar.catalog, "morning ember buyers", []).ambiguities == []
    assert extract.times(northstar.catalog, "shoppers who bought 5 items after 3 visits", []).ambiguities == []


def test_time_bands_come_from_the_tenants_own_words(harbor, northstar):
    facet, hours = lexicon.time_bands(harbor.catalog)
    assert facet.name == "Preferred Shopping Time"
    assert hours == {"Early Morning": (0, 8), "Morning": (8, 11), "Afternoon": (11, 16), "Evening": (16, 20),
                     "Late Night": (20, 24)}
    assert lexicon.time_bands(northstar.catalog) is None


@pytest.mark.parametrize("tenant_id, text, facet, days", [
    ("northstar", "recent tent buyers in ohio", "Purchase Date R2D2", 90),      # the tenant's 'recently' = 90 days
    ("harbor", "recent shoppers at the salem store", "Last Visit Date", 30),    # 30 days; 'shopped recently'
])
def test_recent_said_of_buyers_is_the_tenants_recently_window(request, today, tenant_id, text, facet, days):
    tenant = request.getfixturevalue(tenant_id)
    cat = tenant.catalog
    spans = find_dates(text, today, cat.fiscal_year_start_month, cat.seasons, lexicon.recently_days(cat))
    found = extract.dates(cat, lexicon.table(cat), text, spans, [])
    assert [(c.facet, c.days) for c in found.conditions] == [(facet, days)]


def test_recent_that_begins_a_value_name_is_the_value(northstar, today):
    text = "recent customers in ohio"  # a value of its own at northstar
    spans = find_dates(text, today, 2, {}, 90)
    assert extract.dates(northstar.catalog, lexicon.table(northstar.catalog), text, spans, []).conditions == []
