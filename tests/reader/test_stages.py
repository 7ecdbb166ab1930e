"""The grounding steps on their own (`lexical`, `products`, `ground`, `questions`): each takes the tenant's
context, the lower-cased request and what was read before, and returns what it found without touching its
inputs; the reader keeps nothing of one request for the next."""
from __future__ import annotations

import copy

import pytest

from core.reader import ground, lexical, products, questions
from core.reader.common import Context, Span
from core.reader.understand import Understander


def _ctx(tenant, written: str, quantiles=None) -> Context:
    return Context(tenant.catalog, None, quantiles, written=written)


def _rendered(found) -> list[str]:
    return [c.render() for c in found.conditions]


STEPS = {
    "phrasebook_entries": lambda ctx, low, taken, conds: lexical.phrasebook_entries(ctx, low, taken),
    "catalog_names": lexical.catalog_names,
    "misspelled_values": lambda ctx, low, taken, conds: lexical.misspelled_values(ctx, low, taken),
    "value_groups": lexical.value_groups,
    "flag_name_words": lexical.flag_name_words,
    "partial_values": lambda ctx, low, taken, conds: lexical.partial_values(ctx, low, taken),
    "first_word_names": lambda ctx, low, taken, conds: lexical.first_word_names(ctx, low, taken),
    "vague_amounts": lambda ctx, low, taken, conds: products.vague_amounts(ctx, low, taken, conds)[0],
    "product_words": lambda ctx, low, taken, conds: products.product_words(ctx, low, taken),
    "unknown_concepts": ground.unknown_concepts,
}


REQUEST = ("Frequent shoppers at the Salem store in our wellness program and textable, baby items buyers, coupon lovers, "
           "store brands, buyers of Dockside, Lighthouse Creamry fans, thrifty shoppers")


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_leaves_its_inputs_alone_and_answers_the_same_twice(harbor, step):
    text = REQUEST
    low = text.lower()
    ctx = _ctx(harbor, text, quantiles=lambda facet, shares: [10.0, 20.0, 40.0])
    taken = [Span(0, 3)]
    conds = lexical.catalog_names(ctx, "cape cod", [], []).conditions
    before = (copy.deepcopy(taken), copy.deepcopy(conds))
    first = STEPS[step](ctx, low, taken, conds)
    again = STEPS[step](ctx, low, taken, conds)
    assert (taken, conds) == before
    assert (_rendered(first), [a.question for a in first.ambiguities]) == \
        (_rendered(again), [a.question for a in again.ambiguities])


def test_every_step_reads_something_of_its_own(harbor):
    """The request above gives each step something to read, so the purity test checks real work."""
    text = REQUEST
    ctx = _ctx(harbor, text, quantiles=lambda facet, shares: [10.0, 20.0, 40.0])
    quiet = [name for name, step in STEPS.items()
             if not (found := step(ctx, text.lower(), [], [])).conditions and not found.ambiguities]
    assert quiet == []


def test_a_step_skips_what_an_earlier_step_read(harbor):
    low = "shoppers in cape cod"
    ctx = _ctx(harbor, low)
    assert _rendered(lexical.catalog_names(ctx, low, [], [])) == ["Market Area is Cape Cod"]
    assert _rendered(lexical.catalog_names(ctx, low, [Span(12, 20)], [])) == []


def test_a_short_capitalised_alias_counts_only_when_written_in_capitals(northstar):
    low = "shoppers based in in"
    assert "State is Indiana" in _rendered(lexical.catalog_names(_ctx(northstar, "Shoppers based in IN"), low, [], []))
    assert "State is Indiana" not in _rendered(lexical.catalog_names(_ctx(northstar, "shoppers based in in"), low, [], []))


def test_a_misspelled_value_is_read_with_its_spelling_score(northstar):
    found = lexical.misspelled_values(_ctx(northstar, "bought pacewel"), "bought pacewel", [])
    assert _rendered(found) == ["Purchased Brand is Pacewell"]
    ev = found.conditions[0].provenance.evidence
    assert ev.method == "fuzzy" and 0.88 <= ev.score < 1


def test_not_yet_takes_the_role_word_and_says_so(northstar):
    found = lexical.not_yet(_ctx(northstar, "moms-to-be in ohio"), "moms-to-be in ohio")
    assert [(s.start, s.end) for s in found.spans] == [(0, 10)]
    assert found.notes == ["'moms-to-be' read as not yet moms"]


def test_a_vague_amount_offers_the_samples_bands_middle_first(harbor):
    low = "coupon lovers"
    found, intense = products.vague_amounts(_ctx(harbor, low, lambda facet, shares: [7.0, 15.0, 33.0]), low, [], [])
    assert intense == []
    [amb] = found.ambiguities
    mins = [cs[0].min for _, cs in amb.options]
    assert mins == [15.0, 7.0, 33.0]
    assert _rendered(found) == [amb.options[0][1][0].render()]


def test_a_vague_amount_without_a_sample_is_not_asked(harbor):
    found, _ = products.vague_amounts(_ctx(harbor, "coupon lovers"), "coupon lovers", [], [])
    assert found.ambiguities == [] and found.conditions == []


def test_an_intensity_with_no_measure_waits_for_the_product_then_asks(harbor):
    low = "our heaviest wine buyers"
    ctx = _ctx(harbor, low, lambda facet, shares: [100.0, 200.0, 400.0])
    vague, intense = products.vague_amounts(ctx, low, [], [])
    assert vague.conditions == [] and [(s.start, s.end) for s in intense] == [(4, 12)]
    read = lexical.catalog_names(ctx, low, [], [])
    found = products.intensity(ctx, low, intense, read.spans, read.conditions)
    [amb] = found.ambiguities
    assert amb.phrase == "heaviest"
    assert amb.options[0][1] == read.conditions[:1]
    assert len(amb.options[1][1]) == 2  # the buyers, among the top spenders
    assert products.intensity(ctx, low, intense, read.spans, []).ambiguities == []  # nothing read after it: nothing asked


def test_a_value_inside_a_longer_value_name_is_asked_about(northstar):
    state = northstar.catalog.get("State")
    amb = questions.value_collision(state, "Virginia", "virginia")
    assert [label for label, _ in amb.options] == ["Virginia", "West Virginia"]
    assert questions.value_collision(state, "Ohio", "ohio") is None
    engaged = northstar.catalog.get("Email Engagement Level")  # a stronger degree is included by default
    amb = questions.value_collision(engaged, "Engaged", "engaged")
    assert amb.options[0][1][0].values == ["Highly Engaged", "Engaged"]


def test_an_unknown_describing_word_is_asked_about_not_dropped(northstar):
    low = "healthy shoppers"
    found = ground.unknown_concepts(_ctx(northstar, low), low, [], [])
    [amb] = found.ambiguities
    assert amb.options[0][0] == "Build without 'healthy'"
    low = "platinum level members"
    found = ground.unknown_concepts(_ctx(northstar, low), low, [], [])
    assert [a.phrase for a in found.ambiguities] == ["platinum level"]


def test_the_reader_keeps_nothing_of_a_request(northstar, harbor, today):
    for tenant, text in ((northstar, "Our heaviest gift card buyers in IN"), (harbor, "Moms-to-be at the Salem store")):
        reader = Understander(tenant.catalog, today)
        before = dict(vars(reader))
        first = reader.read(text)
        assert vars(reader) == before
        assert [c.render() for c in reader.read(text).conditions] == [c.render() for c in first.conditions]


@pytest.mark.parametrize("tenant_id, text, said, default, others", [
    ("harbor", "platinum members at the mystic store", "platinum", "Gold", ["Silver", "Bronze"]),
    ("harbor", "basic-level shoppers", "basic-level", "Bronze", ["Gold", "Silver"]),
    ("northstar", "diamond-tier shoppers in oregon", "diamond-tier", "Plus", ["Basic"]),
    ("northstar", "bronze status customers", "bronze status", "Basic", ["Plus"]),
])
def test_another_retailers_level_is_asked_with_the_nearest_level_first(request, tenant_id, text, said, default, others):
    tenant = request.getfixturevalue(tenant_id)
    found = lexical.another_levels(_ctx(tenant, text), text, [])
    [amb] = found.ambiguities
    assert amb.phrase == said
    assert [label.split(": ")[-1] for label, _ in amb.options] == [default, *others, f"Build without '{said}'"]
    assert _rendered(found) == [amb.options[0][1][0].render()]


def test_a_level_the_catalog_writes_or_a_level_word_elsewhere_is_not_another_level(harbor, northstar):
    assert lexical.another_levels(_ctx(harbor, "gold members"), "gold members", []).ambiguities == []
    assert lexical.another_levels(_ctx(northstar, "plus members"), "plus members", []).ambiguities == []
    low = "shoppers who buy classic rock vinyl"  # a ladder word not beside a level or audience noun
    assert lexical.another_levels(_ctx(northstar, low), low, []).ambiguities == []


@pytest.mark.parametrize("tenant_id, text, facet, default", [
    ("harbor", "shoppers in the very low lifetime value band", "Household Value Tier", "Occasional"),
    ("harbor", "the very high lifetime value band", "Household Value Tier", "Best"),
    ("northstar", "customers in the better value tier", "Lifetime Value Band", "High"),
    ("northstar", "households in the top value tier", "Lifetime Value Band", "Very High"),
])
def test_a_band_on_another_scale_is_asked_with_the_same_degree_first(request, tenant_id, text, facet, default):
    found = lexical.another_degrees(_ctx(request.getfixturevalue(tenant_id), text), text, [])
    [amb] = found.ambiguities
    assert amb.options[0][0] == f"{facet}: {default}" and amb.options[-1][0].startswith("Build without")
    assert amb.replaces == [facet]


def test_a_band_the_catalog_names_is_not_another_scale(northstar, harbor):
    low = "customers in the very high lifetime value band"  # northstar's own band
    assert lexical.another_degrees(_ctx(northstar, low), low, []).ambiguities == []
    low = "shoppers in the top loyalty tier"  # the loyalty levels are no band of degrees
    assert lexical.another_degrees(_ctx(harbor, low), low, []).ambiguities == []


@pytest.mark.parametrize("tenant_id, low, facet, value", [
    ("northstar", "customers who bought camping and hiking gear", "Purchased Division", "Camping & Hiking"),
    ("northstar", "harlow and finch buyers", "Purchased Brand", "Harlow & Finch"),
    ("harbor", "shoppers who bought from the deli and prepared foods aisle", "Aisles Shopped 13 Weeks", "Deli & Prepared Foods"),
])
def test_and_written_for_a_values_ampersand_reads_the_value(request, tenant_id, low, facet, value):
    found = lexical.catalog_names(_ctx(request.getfixturevalue(tenant_id), low), low, [], [])
    assert f"{facet} is {value}" in _rendered(found)


def test_a_generic_noun_is_no_product_of_its_own_but_part_of_the_one_before(northstar):
    low = "customers who bought coastal thread merchandise"
    read = lexical.catalog_names(_ctx(northstar, low), low, [], [])
    assert _rendered(read) == ["Purchased Brand is Coastal Thread"]
    assert products.product_phrases(low, read.spans, frozenset()) == []  # 'merchandise' alone is not grounded
    [use] = products.generic_nouns_said(low, read.conditions)
    assert low[use.start:use.end] == "merchandise" and use.became == "Purchased Brand is Coastal Thread"
    low = "customers who bought fishing equipment"  # with a word that says which, the phrase is grounded whole
    assert [low[a:b] for a, b, _ in products.product_phrases(low, [], frozenset())] == ["fishing equipment"]


@pytest.mark.parametrize("tenant_id, text, said, default", [
    ("harbor", "inactive shoppers in cape cod", "inactive", "Lapsed"),
    ("harbor", "shoppers we're losing on the south shore", "losing", "Slipping"),
    ("harbor", "churned customers", "churned", "Lapsed"),
    ("northstar", "inactive customers in ohio", "inactive", "Lapsed"),
])
def test_a_lifecycle_stage_in_other_words_is_asked_with_the_nearest_stage_first(request, tenant_id, text, said,
                                                                                default):
    found = lexical.another_levels(_ctx(request.getfixturevalue(tenant_id), text), text, [])
    [amb] = found.ambiguities
    assert amb.phrase == said and amb.options[0][0].endswith(f": {default}")


def test_the_catalogs_own_stage_is_not_another_stage(northstar, harbor):
    assert lexical.another_levels(_ctx(northstar, "churned customers"), "churned customers", []).ambiguities == []
    assert lexical.another_levels(_ctx(harbor, "steady shoppers"), "steady shoppers", []).ambiguities == []


@pytest.mark.parametrize("tenant_id, low, flag", [
    ("northstar", "shoppers with kids in arizona", "Has Children"),       # 'families with kids'
    ("northstar", "customers with children", "Has Children"),             # 'households with children'
    ("harbor", "shoppers with pets", "Pet Household"),                    # 'pet owners'
    ("harbor", "customers with a baby", "Baby In Household"),             # 'babies'
])
def test_a_household_trait_said_of_anyone_reads_the_flag(request, tenant_id, low, flag):
    found = lexical.catalog_names(_ctx(request.getfixturevalue(tenant_id), low), low, [], [])
    assert f"{flag}" in _rendered(found)


def test_a_role_of_the_customer_gets_no_with_forms():
    from core.reader.lexicon import trait_forms
    assert trait_forms("parents") == [] and trait_forms("homeowners") == []  # 'with parents' is not being one
    assert "with a dog" in trait_forms("dog owners") and "with an infant" in trait_forms("infants")


@pytest.mark.parametrize("tenant_id, facet, synonym, value", [
    ("northstar", "Urbanicity", "suburbs", "Suburban"),
    ("northstar", "Life Stage", "retirees", "Retired"),
    ("northstar", "Lifestyle Affinity", "gamers", "Gaming"),
    ("harbor", "Preferred Shopping Time", "night owls", "Late Night"),
    ("northstar", "Urbanicity", "city dwellers", None),            # no value shares its words: asked by meaning
    ("northstar", "Generation", "generation", None),               # the facet's own name word names no value
    ("harbor", "Shopper Lifecycle Stage", "win back", None),       # too short a word to name a value by
    ("northstar", "Purchased Division", "shopped the division", None),  # products are not read this way
])
def test_a_synonym_names_the_one_value_that_shares_its_stems(request, tenant_id, facet, synonym, value):
    f = request.getfixturevalue(tenant_id).catalog.get(facet)
    assert questions.value_by_stem(f, synonym) == value


def test_a_flag_said_by_its_one_rare_name_word(northstar, harbor):
    low = "customers whose email is not deliverable"
    assert _rendered(lexical.flag_name_words(_ctx(northstar, low), low, [], [])) == ["not Email Deliverable"]
    low = "shoppers whose emails bounce"
    assert _rendered(lexical.flag_name_words(_ctx(harbor, low), low, [], [])) == ["Email Bounced"]
    low = "plus members for the holiday tv campaign"  # an everyday word names no flag alone
    assert _rendered(lexical.flag_name_words(_ctx(northstar, low), low, [], [])) == []


def test_the_second_half_of_a_read_compound_is_neither_asked_nor_unused(harbor, today):
    text = "Portuguese-speaking households at the New Bedford store"
    reading = Understander(harbor.catalog, today).read(text)
    assert reading.ambiguities == [] and reading.coverage.unused == []
    used = {s.text: s.became for s in reading.coverage.spans if s.kind == "used"}
    assert used["speaking"] == "Preferred Language is Portuguese"


def test_a_product_in_their_basket_is_a_bought_product():
    low = "households with diapers in their baskets"
    assert [(low[a:b], weak) for a, b, weak in products.product_phrases(low, [], frozenset())] == [("diapers", False)]
    low = "households with diapers"  # no cue: not a product phrase to ground
    assert products.product_phrases(low, [], frozenset()) == []
