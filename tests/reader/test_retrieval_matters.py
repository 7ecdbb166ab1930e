"""Retrieval changes the offline result: the reader's own picks are not fused into the search."""
from __future__ import annotations

from core.agent import Agent
from core.policies.offline import OfflinePolicy
from core.retrieval import FacetIndex, get_index

REQUEST = "shoppers who love the outdoors"  # no catalog phrase in it: only search can ground it


def _run(tenant, today):
    agent = Agent(tenant, lambda: OfflinePolicy(tenant))
    return agent.run_turn(REQUEST, today=today, mode="new")


def test_search_grounds_a_request_the_lexicon_cannot(northstar, today):
    get_index(northstar)
    res = _run(northstar, today)
    assert res.status == "clarify", res.summary
    builds = [o for o in res.pending.options if "rephrase" not in o.label.lower()]
    assert builds and all(o.segment_hint for o in builds)  # every option that builds an audience is sized


def test_with_search_returning_nothing_the_result_changes(northstar, today, monkeypatch):
    with_search = _run(northstar, today)
    monkeypatch.setattr(FacetIndex, "search_facets", lambda self, query, k=10, filters=None: [])
    monkeypatch.setattr(FacetIndex, "nearest_terms", lambda self, phrases, facets, k=4: [[] for _ in phrases])
    without = _run(northstar, today)
    assert without.status != with_search.status
    assert without.pending is None and without.segment is None or not without.segment.all_conditions()
    assert "Nothing in" in without.error and "search found no facet" in without.error


def test_search_does_not_fuse_the_reader(northstar):
    """A word only the reader's phrasebook knows does not lift a facet in search."""
    import inspect

    import core.retrieval as retrieval

    assert "Understander" not in inspect.getsource(retrieval)
