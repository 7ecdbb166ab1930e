"""A vague amount ('spend a lot') is asked with cut-offs from the facet's quantiles on the sample, never constants."""
from core.reader.understand import Understander

REQUEST = "Customers who spend a lot on groceries"


def test_options_are_the_sample_quantiles(northstar, today):
    asked = []

    def quantiles(facet, shares):
        asked.append((facet, shares))
        return [100 * (1 + i) for i in range(len(shares))]  # any distribution the sample has

    r = Understander(northstar.catalog, today, quantiles=quantiles).read(REQUEST)
    amb = r.ambiguities[0]
    mins = [conds[0].min for _, conds in amb.options]
    assert sorted(mins) == [100, 200, 300] and mins[0] == 200  # the middle band is the default
    assert asked and asked[0][1] == [0.5, 0.75, 0.9]
    assert all("top" in label for label, _ in amb.options)


def test_without_a_sample_no_amount_is_invented(northstar, today):
    r = Understander(northstar.catalog, today).read(REQUEST)
    assert not any(c.op == "between" and c.min is not None for c in r.conditions)
    assert not r.ambiguities


def test_a_frequency_word_on_a_windowed_count_offers_once_and_twice_per_unit_first(northstar, harbor, today):
    """'frequent' is how often: once a week over 13 weeks is 13 trips, once a month over 12 months is 12 visits;
    the sample's bands follow; 'spend a lot' (how much) gets the bands alone."""
    def quantiles(facet, shares):
        return [5 * (1 + i) for i in range(len(shares))]

    r = Understander(harbor.catalog, today, quantiles=quantiles).read("Frequent shoppers in Cape Cod")
    mins = [conds[0].min for _, conds in r.ambiguities[0].options]
    assert r.ambiguities[0].options[0][1][0].facet == "Trips 13 Weeks" and mins[:2] == [13, 26]
    assert sorted(mins[2:]) == [5, 10, 15]
    r = Understander(northstar.catalog, today, quantiles=quantiles).read("Frequent store visitors")
    assert [c[0].min for _, c in r.ambiguities[0].options][:2] == [12, 24]
    r = Understander(northstar.catalog, today, quantiles=quantiles).read(REQUEST)
    assert not any("once" in label for label, _ in r.ambiguities[0].options)


def test_a_vague_spend_offers_the_catalogs_top_rank_by_spend_first(northstar, harbor, today):
    """'big spenders': where a value list ranks households by spend and its description defines the top value
    ('Best = top 10%'), that value is the default; the spend bands follow. A catalog without one asks bands only."""
    def quantiles(facet, shares):
        return [100 * (1 + i) for i in range(len(shares))]

    r = Understander(harbor.catalog, today, quantiles=quantiles).read("Big spenders in Southern Maine")
    amb = r.ambiguities[0]
    assert amb.options[0][0] == "Household Value Tier: Best (the top 10%)"
    assert "Household Value Tier is Best" in {c.render() for c in r.conditions}
    assert all("Spend" in c.facet for _, cs in amb.options[1:] for c in cs)
    r = Understander(northstar.catalog, today, quantiles=quantiles).read("Big spenders in Ohio")
    assert all(c.facet == "Spend 12M" for _, cs in r.ambiguities[0].options for c in cs)


def test_lovers_of_something_counted_is_a_vague_amount(harbor, today):
    def quantiles(facet, shares):
        return [3 * (1 + i) for i in range(len(shares))]

    r = Understander(harbor.catalog, today, quantiles=quantiles).read("Coupon lovers at the Salem store")
    assert r.ambiguities and {c.facet for _, cs in r.ambiguities[0].options for c in cs} == {"Digital Coupons Redeemed 13 Weeks"}
    assert "Home Store is Salem Commons" in {c.render() for c in r.conditions}


def test_intensity_with_no_measure_asks_what_stands_for_it(northstar, harbor, today):
    """'our heaviest wine buyers': the flag alone by default, or the flag among the top spenders — the
    catalog's top rank by spend where it has one, else the sample's top tenth of spend."""
    def quantiles(facet, shares):
        return [1000 * (1 + i) for i in range(len(shares))]

    r = Understander(harbor.catalog, today, quantiles=quantiles).read("Our heaviest wine buyers")
    alone, among = r.ambiguities[0].options
    assert [c.render() for c in alone[1]] == ["Beer & Wine Buyer"]
    assert [c.render() for c in among[1]] == ["Beer & Wine Buyer", "Household Value Tier is Best"]
    r = Understander(northstar.catalog, today, quantiles=quantiles).read("Our heaviest gift card buyers")
    assert [c.render() for c in r.ambiguities[0].options[1][1]] == ["Gift Card Purchaser", "Spend 12M at least 3000"]
