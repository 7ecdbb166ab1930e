"""Bad model replies through the real anthropic SDK and the local Messages server: every case ends
with an honest status and a message naming what to fix, bounded in time, without a traceback."""
from __future__ import annotations

import pytest

from tests.bad_input.agent_cases import NOT_DONE, assert_clean, claude_agent, messages
from tests.bad_input.agent_cases import warm_agent_parts  # noqa: F401 - an autouse fixture
from tests.messages_server import (Delay, Raw, ScriptedMessagesServer, error, message, text_reply, tool_use,
                                   tool_uses)

REQUEST = "top 5% for Scoop, email opt-in"
SEGMENT = [{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 5"},
           {"facet": "Email Opt In", "op": "is_true"}]
FIN = tool_use("finish", {"segment": SEGMENT}, "fin")
ATLANTIS = [{"facet": "Region", "op": "in", "values": ["Atlantis"]}]
INF = [{"facet": "Spend 12M", "op": "between", "min": "inf"}]


def _finish3(seg):
    return [tool_use("finish", {"segment": seg}, f"f{i}") for i in range(3)]


# (case id, script, expected status, words the message must contain)
RECOVERED = [  # the model is told what was wrong, fixes it, and the turn is done
    ("unknown-tool", [tool_use("drop_table", {"table": "customers"}, "a"), FIN], "available tools"),
    ("missing-argument", [tool_use("get_facet_values", {}, "a"), FIN], "facet"),
    ("unknown-argument", [tool_use("search_facets", {"query": "Scoop", "bogus": 1}, "a"), FIN], "bogus"),
    ("k-not-a-number", [tool_use("search_facets", {"query": "Scoop", "k": "ten"}, "a"), FIN], "integer"),
    ("query-null", [tool_use("search_facets", {"query": None}, "a"), FIN], "query"),
    ("days-overflow", [tool_use("check_customer_count", {"segment": [
        {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 99999999999}]}, "a"), FIN], "days"),
    ("segment-a-number", [tool_use("validate_segment", {"segment": 12}, "a"), FIN], "list of conditions"),
    ("unknown-facet-lookup", [tool_use("get_facet_values", {"facet": "Regoin"}, "a"), FIN], "Region"),
    ("control-chars-in-facet", [tool_use("get_facet_values", {"facet": "\u202e\x00Regoin"}, "a"), FIN], "facet"),
    ("finish-segment-a-word", [tool_use("finish", {"segment": "everyone"}, "a"), FIN], '"segment" must be JSON'),
    ("finish-without-segment", [tool_use("finish", {"summary": "done"}, "a"), FIN], 'missing "segment"'),
    ("finish-unknown-op", [tool_use("finish", {"segment": [{"facet": "Region", "op": "like", "values": ["South"]}]}, "a"),
                           FIN], "op"),
    ("finish-fails-check-once", [tool_use("finish", {"segment": ATLANTIS}, "a"), FIN], "Atlantis"),
    ("clarify-one-option", [tool_use("clarify", {"question": "Which?", "options": ["A"]}, "a"), FIN], "2 to 4"),
    ("clarify-no-question", [tool_use("clarify", {"options": ["A", "B"]}, "a"), FIN], 'missing "question"'),
    ("clarify-default-out-of-range", [tool_use("clarify", {"question": "Which?", "options": ["A", "B"], "default": 9}, "a"),
                                      FIN], '"default" must be an option index'),
    ("text-only-reply", [text_reply("Scoop is an ice cream brand."), FIN], "no tool call"),
    ("empty-reply", [message([], "end_turn"), FIN], "no tool call"),
    ("body-without-content", [Raw(200, b"{}"), FIN], "no tool call"),
    ("cut-off-reply", [text_reply("Let me think about", "max_tokens"), FIN], "max_tokens"),
    ("tool-input-not-an-object", [message([{"type": "tool_use", "id": "a", "name": "search_facets", "input": {}}]), FIN],
     "query"),
    ("parallel-with-a-bad-call", [tool_uses(("search_facets", {"query": "Scoop"}, "a"), ("nope", {}, "b"),
                                            ("finish", {"segment": SEGMENT}, "c"))], "No tool named 'nope'"),
]

FALLBACK = [  # the API fails: the turn continues offline and the trace says what to do
    ("http-429", [error(429, "rate_limit_error")], "try again shortly"),
    ("http-500", [error(500, "api_error")], "InternalServerError 500"),
    ("http-529", [error(529, "overloaded_error")], "529"),
    ("http-400", [error(400, "invalid_request_error")], "check llm models"),
    ("http-401", [error(401, "authentication_error")], "ANTHROPIC_API_KEY"),
    ("timeout", [Delay(1.5, error(500, "api_error"))], "llm.timeout_s"),
    ("malformed-body", [Raw(200, b"{not json")], "not JSON: check ANTHROPIC_BASE_URL"),
]

NOT_DONE_CASES = [  # no usable segment: an honest status, never "done"
    ("finish-empty-three-times", _finish3([]), "needs_input", "say who to target"),
    ("finish-unknown-value-three-times", _finish3(ATLANTIS), "needs_attention", "Atlantis"),
    ("finish-infinite-bound-three-times", _finish3(INF), "needs_attention", "Spend 12M"),
    ("text-only-forever", [text_reply("Hmm.")] * 8, "failed", "no tool call"),
    ("bad-tools-forever", [tool_use("nope", {}, f"n{i}") for i in range(8)], "failed", "failed tool calls"),
    ("never-finishes", [tool_use("get_facet_values", {"facet": "Region"}, f"s{i}") for i in range(20)], "failed",
     "rephrase the request"),
]


@pytest.mark.timeout(20, func_only=True)
@pytest.mark.parametrize("script,needle", [(s, n) for _, s, n in RECOVERED], ids=[i for i, _, _ in RECOVERED])
def test_model_mistake_is_sent_back_and_the_turn_recovers(northstar, today, script, needle):
    with ScriptedMessagesServer(script) as srv:
        res = claude_agent(northstar, srv.url).run_turn(REQUEST, today=today, mode="new")
    assert res.status == "done" and res.segment.spec() == SEGMENT
    assert any(needle in m for m in messages(res)), messages(res)
    told = [b for r in srv.requests[1:] for m in r["messages"] if m["role"] == "user" for b in m["content"]
            if b.get("is_error") or b.get("type") == "text"]
    if len(srv.requests) > 1:  # the model was asked again: it was told what to fix
        assert any(needle in (b.get("content") or b.get("text") or "") for b in told), told
    assert_clean(res)


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("script,needle", [(s, n) for _, s, n in FALLBACK], ids=[i for i, _, _ in FALLBACK])
def test_api_failure_continues_offline_and_says_what_to_do(harbor, today, script, needle):
    with ScriptedMessagesServer(script) as srv:
        res = claude_agent(harbor, srv.url, timeout=0.5).run_turn("Gold rewards members who are text reachable",
                                                                   today=today, mode="new")
    fallback = [s.observation for s in res.trace.steps if s.status == "fallback"]
    assert len(fallback) == 1 and needle in fallback[0], fallback
    assert res.status == "done" and {c.facet for c in res.segment.all_conditions()} == {"Rewards Level", "Text Allowed"}
    assert len(srv.requests) == 1  # max_retries=0: one attempt, then offline
    assert_clean(res)


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("script,status,needle", [(s, st, n) for _, s, st, n in NOT_DONE_CASES],
                         ids=[i for i, *_ in NOT_DONE_CASES])
def test_unusable_model_turn_is_never_done(northstar, today, script, status, needle):
    with ScriptedMessagesServer(script) as srv:
        res = claude_agent(northstar, srv.url, max_tool_errors=3).run_turn(REQUEST, today=today, mode="new")
    assert res.status == status and res.status in NOT_DONE
    assert needle in res.error or any(needle in i for i in res.issues), (res.error, res.issues)
    assert_clean(res)
