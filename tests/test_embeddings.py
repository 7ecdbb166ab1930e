"""Embeddings: the numpy encoder matches sentence-transformers; a turn costs at most one model call."""
from __future__ import annotations

import numpy as np
import pytest

from core.bert_numpy import BertEncoder, supports
from core.embeddings import DEFAULT_MODEL, Embedder, _local_path

PHRASES = ["Gold rewards members who are email reachable", "cookware", "reachble by txt", "", "a",
           "Bakery (Aisles); also: bread, pastries", "people we're losing — über café 99.5% $5,000+",
           "spring fashion shoppers " * 60]  # the last one is truncated at max_seq_length


@pytest.fixture(scope="module")
def model_path():
    return _local_path(DEFAULT_MODEL)


def _count_model_calls(monkeypatch) -> list[list[str]]:
    """Record the texts of every `Embedder.encode` call (each is one model call)."""
    calls: list[list[str]] = []
    real = Embedder.encode

    def counted(self, texts, *args, **kwargs):
        calls.append(list(texts))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(Embedder, "encode", counted)
    return calls


def test_numpy_encoder_matches_sentence_transformers(model_path):
    from sentence_transformers import SentenceTransformer

    assert supports(model_path)
    ours = BertEncoder(model_path).encode(PHRASES)
    theirs = SentenceTransformer(str(model_path), device="cpu").encode(PHRASES, normalize_embeddings=True,
                                                                        convert_to_numpy=True)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_vector_does_not_depend_on_its_companions(model_path):
    enc = BertEncoder(model_path)
    alone = enc.encode(["cookware"])[0]
    together = enc.encode(["Gold rewards members who are email reachable", "cookware", "x"])[1]
    assert np.array_equal(alone, together)


def test_unsupported_model_folder_is_refused(tmp_path):
    assert not supports(tmp_path)


def test_expected_phrases_ride_along_with_the_next_call(monkeypatch):
    emb = Embedder(DEFAULT_MODEL)
    calls = _count_model_calls(monkeypatch)
    emb.expect(["Lapsed Buyers", "texted"])
    first = emb.encode_queries(["cookware"])
    assert calls == [["cookware", "lapsed buyers", "texted"]]
    again = emb.encode_queries(["texted", "COOKWARE ", "lapsed buyers"])
    assert len(calls) == 1  # all cached
    assert np.array_equal(first[0], again[1])
    assert np.array_equal(emb.encode_query("Texted"), again[0])


def test_an_offline_turn_makes_at_most_one_model_call(harbor, today, monkeypatch):
    from core.agent import make_agent
    from core.retrieval import get_index

    get_index(harbor)
    agent = make_agent(harbor, "offline")
    calls = _count_model_calls(monkeypatch)
    # Words nothing has embedded yet in this process: one request, one 'or' of two audiences, a misspelt value.
    for request in ["Gold rewards members who bought smoked trout and can be emailed, zebra 41",
                    "stock-up shoppers on weekends or quick-trip shoppers on weekday evenings in mystic zebra 42",
                    "evening shoppers at the salem store zebra 43"]:
        calls.clear()
        agent.run_turn(request, today=today, mode="new")
        assert len(calls) <= 1, calls
