"""A vague amount ('spend a lot') is asked with cut-offs from the facet's quantiles on the sample, never constants."""
from core.nlp.understand import Understander

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
