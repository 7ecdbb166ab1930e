"""Retrieval: hybrid facet search, values, deprecated facets, tenant isolation, two processes."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from core.embeddings import ModelUnavailable, get_embedder
from core.retrieval import build_index, get_index


@pytest.fixture(scope="module")
def ns_index(northstar):
    return get_index(northstar)


@pytest.fixture(scope="module")
def hb_index(harbor):
    return get_index(harbor)


def test_search_finds_the_facets_a_request_names(ns_index):
    hits = ns_index.search_facets("customers who bought Scoop shoes online in the last 60 days", k=10)
    names = [h.facet for h in hits]
    for facet in ("Purchased Brand", "Purchase Channel", "Purchase Date R2D2"):
        assert facet in names, names
    assert hits[0].score >= hits[-1].score
    assert any(h.matched_synonym for h in hits)


def test_deprecated_facet_resolves_to_replacement(ns_index):
    hits = ns_index.search_facets("Propensity Division Strict = Womens, TOP 5", k=5)
    top = hits[0]
    assert top.facet == "Propensity Division"
    assert top.deprecated and top.replaced_by == "Propensity Division"
    assert all(h.facet != "Propensity Division Strict" for h in hits)


def test_values_exact_synonym_fuzzy(ns_index):
    assert ns_index.search_values("free assmbly", facet="Purchased Brand")[0].value == "Free Assembly"
    syn = ns_index.search_values("NS Essentials", facet="Propensity Brand")[0]
    assert syn.value == "Northstar Essentials" and syn.method == "synonym"
    assert ns_index.search_values("Pacewel")[0].value == "Pacewell"
    assert ns_index.search_values("Texas", facet="State")[0].method == "exact"


def test_similar_segments_come_from_the_tenant(ns_index, hb_index):
    ns = ns_index.similar_segments("likely to buy a TV", k=3)
    assert len(ns) == 3 and all(s.id.startswith("ns-") for s in ns)
    hb = hb_index.similar_segments("likely to buy a TV", k=3)
    assert all(s.id.startswith("hb-") for s in hb)


def test_tenant_isolation_in_one_database(ns_index, hb_index):
    harbor_facets = {f.name for f in hb_index.catalog.facets}
    northstar_only = {f.name for f in ns_index.catalog.facets} - harbor_facets
    hits = hb_index.search_facets("Propensity Brand Free Assembly Scoop Purchase Date R2D2", k=20)
    assert not {h.facet for h in hits} & northstar_only
    escaped = hb_index.search_facets("Propensity Brand", k=20, filters={"group": 'x" or tenant_id == "northstar'})
    assert not {h.facet for h in escaped} & northstar_only
    vals = hb_index.search_values("Free Assembly")
    assert all(v.facet in harbor_facets for v in vals)


def test_noop_rebuild_and_two_processes_search_at_once(northstar, settings):
    assert build_index(northstar) is False  # fingerprint unchanged
    script = textwrap.dedent(f"""
        import os, sys
        os.environ['SEGWORK_INDEX_DIR'] = {str(settings.index_dir)!r}
        from core.config import Settings
        from core.tenant import load_tenant
        from core.retrieval import get_index
        t = load_tenant('northstar', Settings.load())
        idx = get_index(t)
        for _ in range(20):
            hits = idx.search_facets('email reachable plus members in texas', k=5)
        print(hits[0].facet in ('Email Opt In', 'Email Deliverable', 'Membership Tier', 'State'))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert out.strip().endswith("True")


def test_unavailable_model_says_how_to_provide_it():
    with pytest.raises(ModelUnavailable, match="embedding.model"):
        get_embedder("BAAI/bge-small-en-v1.5", "Represent this sentence for searching relevant passages: ")


def test_a_dropped_connection_is_reopened_and_the_search_tried_again(ns_index):
    """A dropped gRPC connection cannot be provoked on purpose here, so the first call is made to fail the way
    pymilvus reports it; the retry goes to the real embedded server, reopened."""
    calls = []

    class Dropped:
        def search(self, *a, **kw):
            calls.append("search")
            raise RuntimeError("<_InactiveRpcError: StatusCode.UNAVAILABLE GOAWAY too_many_pings>")

        def close(self):
            calls.append("close")

    ns_index._mv.client = ns_index._loaded_on = Dropped()
    ns_index._loaded = set(ns_index.names)  # as if its collections were loaded
    hits = ns_index.nearest_values(["a treadmill"], ["Purchased Category"])
    assert calls == ["search", "close"] and hits[0][0].value == "Fitness Equipment"


def test_other_search_errors_are_not_retried(ns_index):
    class Broken:
        def search(self, *a, **kw):
            raise ValueError("collection not found")

        def close(self):
            pass

    ns_index._mv.client = ns_index._loaded_on = Broken()
    ns_index._loaded = set(ns_index.names)  # as if its collections were loaded
    try:
        with pytest.raises(ValueError, match="collection not found"):
            ns_index.nearest_values(["a treadmill"], ["Purchased Category"])
    finally:
        ns_index._mv.reopen()


def _hit(value: str, score: float, text: str | None = None) -> dict:
    return {"distance": score, "entity": {"facet": "F", "value": value, "text": text or value}}


def test_a_value_with_several_near_items_outranks_one_stray_item():
    """'fish': one pet item ('fish food') just nearer than several seafood items; the value with more
    near items wins, and the hit says which item it matched."""
    from core.retrieval import _by_value
    hits = [_hit("Pet", 0.82, "fish food"), _hit("Seafood", 0.80, "catfish"), _hit("Seafood", 0.78, "fish fillet"),
            _hit("Seafood", 0.77, "shellfish"), _hit("Pet", 0.55, "cat food")]
    ranked = _by_value(hits)
    assert [h.value for h in ranked] == ["Seafood", "Pet"]
    assert ranked[0].score == 0.80 and ranked[0].matched_synonym == "catfish"
    assert ranked[1].score == 0.82 and ranked[1].support == round((0.82 + 0.55) / 3, 4)


def test_an_item_listed_under_a_value_is_found_by_meaning(hb_index):
    """The catalog's value_examples are searched with the value names: a listed item reads as its value."""
    hb = hb_index.nearest_values(["greek yogurt", "birthday cake"], ["Aisles Shopped 13 Weeks"])
    assert [h[0].value for h in hb] == ["Dairy & Eggs", "Bakery"]
    assert hb[0][0].matched_synonym == "greek yogurt"


def test_nearest_terms_reads_facets_and_values_by_their_own_words(ns_index):
    """A flag is found by a synonym's meaning (value ''), a value by its alias's; only the given facets."""
    flag, value = ns_index.nearest_terms(["people who keep pets at home", "folks in the suburbs"],
                                         ["Pet Owner", "Homeowner", "Urbanicity"])
    assert (flag[0].facet, flag[0].value) == ("Pet Owner", "")
    assert (value[0].facet, value[0].value) in {("Urbanicity", "Suburban"), ("Urbanicity", "")}
    assert any(h.value == "Suburban" for h in value)
    assert {h.facet for hs in (flag, value) for h in hs} <= {"Pet Owner", "Homeowner", "Urbanicity"}
