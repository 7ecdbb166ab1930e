"""The grounding stage's pure steps: cutting leftover phrases and choosing readings from nearest texts."""
from __future__ import annotations

from core.catalog import Facet
from core.reader import ground
from core.retrieval import ValueHit


def _facets() -> dict[str, Facet]:
    return {"Flag": Facet(name="Flag", kind="boolean", group="G", description="A flag."),
            "Kind": Facet(name="Kind", kind="categorical", group="G", description="A kind.", values=["Red", "Blue"])}


def _hit(facet: str, value: str, score: float, text: str = "") -> ValueHit:
    return ValueHit(facet=facet, value=value, score=score, method="dense", matched_synonym=text or value or facet)


def test_phrases_stop_at_punctuation_joining_words_and_used_words():
    low = "customers whose email keeps bouncing, and served in the armed forces"
    used = [(0, 9)]
    spans = {low[a:b] for a, b in ground.leftover_phrases(low, used, lambda w: w not in {"in", "the", "whose"})}
    assert {"email keeps bouncing", "keeps", "served in the armed", "armed forces"} <= spans
    assert not any("," in s or " and " in s or "customers" in s or s.startswith("the") for s in spans)


def test_phrases_are_at_most_max_words_and_capped():
    low = " ".join(f"w{chr(97 + i)}" for i in range(30))
    spans = ground.leftover_phrases(low, [], lambda w: True)
    assert len(spans) == ground.MAX_PHRASES
    assert max(len(low[a:b].split()) for a, b in spans) == ground.MAX_WORDS


def test_choose_one_clear_reading_and_close_ones():
    f = _facets()
    sure = ground.choose("p", [_hit("Flag", "", 0.85), _hit("Kind", "Red", 0.70)], f)
    assert [(c.facet.name, c.value) for c in sure] == [("Flag", None)]
    close = ground.choose("p", [_hit("Kind", "Red", 0.70), _hit("Kind", "Blue", 0.68), _hit("Flag", "", 0.5)], f)
    assert [c.value for c in close] == ["Red", "Blue"]
    assert ground.choose("p", [_hit("Flag", "", ground.LEFTOVER_MIN - 0.01)], f) == ()


def test_a_value_list_named_by_its_own_words_takes_its_nearest_value():
    f = _facets()
    got = ground.choose("p", [_hit("Kind", "", 0.80, "kinds"), _hit("Kind", "Blue", 0.60)], f)
    assert [(c.value, c.score) for c in got] == [("Blue", 0.80)]
    assert ground.choose("p", [_hit("Kind", "", 0.80, "kinds"), _hit("Kind", "Blue", ground.VALUE_FLOOR - 0.1)], f) == ()


def test_truth_side_comes_from_the_phrase_and_the_matched_words():
    assert ground.negates("email keeps bouncing", False, "email not bounced")
    assert ground.negates("no longer deliverable", False, "deliverable email")
    assert ground.negates("deliverable", True, "deliverable email")
    assert not ground.negates("email no longer works", False, "email not bounced")
    assert not ground.negates("newborn", False, "infants")


def test_pick_keeps_the_nearest_of_overlapping_phrases():
    f = _facets()
    a = ground.Grounded(0, 10, "a", (ground.Candidate(f["Flag"], None, 0.7, "x"),))
    b = ground.Grounded(5, 15, "b", (ground.Candidate(f["Flag"], None, 0.9, "x"),))
    c = ground.Grounded(20, 25, "c", (ground.Candidate(f["Flag"], None, 0.66, "x"),))
    assert [g.phrase for g in ground.pick([a, b, c])] == ["b", "c"]
    assert b.sure and not c.sure
