"""ClaudePolicy with the real anthropic SDK against a local Messages API server (no SDK patching)."""
from __future__ import annotations

import anthropic

from core.agent import Agent
from core.policies.claude import ClaudePolicy, FallbackPolicy
from core.policies.offline import OfflinePolicy
from tests.messages_server import ScriptedMessagesServer, overloaded, tool_use

SEGMENT = [{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 5"},
           {"facet": "Email Opt In", "op": "is_true"}]


def _agent(tenant, url):
    client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0)
    return Agent(tenant, lambda: FallbackPolicy(ClaudePolicy(tenant, client), lambda: OfflinePolicy(tenant)))


def test_scripted_tool_use_turn_builds_the_segment(northstar, today):
    script = [tool_use("search_facets", {"query": "top 5% for Scoop, email opt-in"}, "t1", text="Find facets."),
              tool_use("get_facet_values", {"facet": "Propensity Brand", "phrase": "Scoopp"}, "t2"),
              tool_use("get_facet_values", {"facet": "Brand Propensity"}, "t3"),
              tool_use("finish", {"segment": SEGMENT, "summary": "Top 5% Scoop prospects who opted in"}, "t4")]
    with ScriptedMessagesServer(script) as srv:
        res = _agent(northstar, srv.url).run_turn("top 5% for Scoop, email opt-in", today=today, mode="new")
    assert res.status == "done"
    assert res.segment.spec() == SEGMENT
    assert res.dryrun is not None and res.dryrun.sample_size > 0
    tools = [s for s in res.trace.steps if s.kind == "tool"]
    assert [s.tool for s in tools] == ["search_facets", "get_facet_values", "get_facet_values"]
    assert tools[1].status == "ok" and "Scoop" in tools[1].observation  # fuzzy value match
    assert tools[2].status == "error" and "Propensity Brand" in tools[2].observation  # unknown facet: nearest
    assert all(s.model == "claude-sonnet-4-6" and s.input_tokens == 1200 and s.cost_usd > 0 for s in tools)
    first = srv.requests[0]
    assert first["model"] == "claude-sonnet-4-6"
    assert first["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "Free Assembly is Northstar's private-label" in first["system"][0]["text"]
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert {t["name"] for t in first["tools"]} >= {"search_facets", "check_customer_count", "finish", "clarify"}
    third = srv.requests[3]["messages"][-1]["content"][0]
    assert third["type"] == "tool_result" and third["tool_use_id"] == "t3" and third["is_error"] is True
    second = srv.requests[2]["messages"][-1]["content"][0]
    assert second["tool_use_id"] == "t2" and "is_error" not in second


def test_api_failure_falls_back_to_offline_and_says_so(harbor, today):
    with ScriptedMessagesServer([overloaded()]) as srv:
        res = _agent(harbor, srv.url).run_turn("Gold rewards members who are text reachable", today=today, mode="new")
    assert len(srv.requests) == 1
    assert any(s.status == "fallback" and "OverloadedError" in s.observation for s in res.trace.steps)
    assert res.status == "done"
    assert {c.facet for c in res.segment.all_conditions()} == {"Rewards Level", "Text Allowed"}


def test_clarify_tool_pauses_and_the_answer_resumes(northstar, today):
    script = [tool_use("clarify", {"question": "Which South?", "options": ["Southeast + South Central", "Southeast only"], "default": 0}, "c1"),
              tool_use("finish", {"segment": [{"facet": "Region", "op": "in", "values": ["Southeast"]}]}, "f1")]
    with ScriptedMessagesServer(script) as srv:
        agent = _agent(northstar, srv.url)
        res = agent.run_turn("Customers in the South", today=today, mode="new")
        assert res.status == "clarify" and [o.label for o in res.pending.options] == ["Southeast + South Central", "Southeast only"]
        done = agent.resume(agent.last_state, "Southeast only")
    assert done.status == "done" and done.segment.spec()[0]["values"] == ["Southeast"]
    answer = srv.requests[1]["messages"][-1]["content"][0]
    assert answer["tool_use_id"] == "c1" and "Southeast only" in answer["content"]
