"""ClaudePolicy with the real anthropic SDK against a local Messages API server (no SDK patching)."""
from __future__ import annotations

import time

import anthropic
import pytest

from core.agent import Agent, make_agent
from core.policies.claude import ClaudePolicy, FallbackPolicy
from core.policies.offline import OfflinePolicy
from core.router import ModelRouter
from core.segment import Segment
from tests.messages_server import (Delay, ScriptedMessagesServer, error, overloaded, stage_reply, text_reply,
                                   tool_use, tool_uses)

SEGMENT = [{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 5"},
           {"facet": "Email Opt In", "op": "is_true"}]


def _client(url, timeout=5.0):
    return anthropic.Anthropic(base_url=url, api_key="test", max_retries=0, timeout=timeout)


def _agent(tenant, url, timeout=5.0):
    client = _client(url, timeout)
    return Agent(tenant, lambda: FallbackPolicy(ClaudePolicy(tenant, client), lambda: OfflinePolicy(tenant)))


def _results(request):
    """The tool_result blocks of the last user message of a recorded request."""
    return [b for b in request["messages"][-1]["content"] if b.get("type") == "tool_result"]


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
    # the model's reading has a coverage map too: each word placed by the conditions' catalog words and tier
    became = {s.text.lower(): s.became for s in res.coverage.spans if s.kind == "used"}
    assert became["scoop"].startswith("Propensity Brand") and became["top"].startswith("Propensity Brand")
    assert became["email"] == became["opt"] == "Email Opt In" and not res.coverage.unused
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
        done = agent.resume(res.state, "Southeast only")
    assert done.status == "done" and done.segment.spec()[0]["values"] == ["Southeast"]
    answer = srv.requests[1]["messages"][-1]["content"][0]
    assert answer["tool_use_id"] == "c1" and "Southeast only" in answer["content"]


pytestmark = pytest.mark.timeout(60, func_only=True)


@pytest.fixture(scope="module", autouse=True)
def _index_built(northstar, harbor):
    """Build both indexes once, outside the per-test time bound."""
    from core.retrieval import get_index

    get_index(northstar), get_index(harbor)


def test_every_tool_use_of_a_reply_runs_in_order_with_its_own_result(northstar, today):
    script = [tool_uses(("search_facets", {"query": "Scoop"}, "p1"),
                        ("get_facet_values", {"facet": "Propensity Brand", "phrase": "Scoop"}, "p2"),
                        ("get_facet_values", {"facet": "Brand Propensity"}, "p3"), text="Three lookups at once."),
              tool_use("finish", {"segment": SEGMENT}, "f1")]
    with ScriptedMessagesServer(script) as srv:
        res = _agent(northstar, srv.url).run_turn("top 5% for Scoop, email opt-in", today=today, mode="new")
    assert res.status == "done"
    tools = [s for s in res.trace.steps if s.kind == "tool"]
    assert [(s.tool, s.status) for s in tools] == [("search_facets", "ok"), ("get_facet_values", "ok"),
                                                   ("get_facet_values", "error")]
    assert tools[0].cost_usd > 0 and tools[1].cost_usd is None  # one reply, its cost counted once
    results = _results(srv.requests[1])
    assert [r["tool_use_id"] for r in results] == ["p1", "p2", "p3"]
    assert [r.get("is_error", False) for r in results] == [False, False, True]
    assert "Scoop" in results[1]["content"] and "ok" != results[0]["content"]
    assert len(srv.requests) == 2


def test_text_only_reply_is_a_visible_counted_retry_not_an_invented_call(northstar, today):
    script = [text_reply("I think this is about ice cream."), tool_use("finish", {"segment": SEGMENT}, "f1")]
    with ScriptedMessagesServer(script) as srv:
        res = _agent(northstar, srv.url).run_turn("top 5% for Scoop, email opt-in", today=today, mode="new")
    assert res.status == "done"
    assert not [s for s in res.trace.steps if s.kind == "tool"]  # no made-up search_facets step
    retry = [s for s in res.trace.steps if s.tool == "retry"]
    assert len(retry) == 1 and "no tool call" in retry[0].observation and "retry 1 of" in retry[0].observation
    assert "ice cream" in retry[0].thought
    last = srv.requests[1]["messages"][-1]
    assert last["role"] == "user" and "no tool call" in last["content"][0]["text"]


def test_text_question_goes_to_the_marketer(northstar, today):
    script = [text_reply("Do you mean the Southeast only, or also South Central?"),
              tool_use("finish", {"segment": [{"facet": "Region", "op": "in", "values": ["Southeast"]}]}, "f1")]
    with ScriptedMessagesServer(script) as srv:
        agent = _agent(northstar, srv.url)
        res = agent.run_turn("Customers in the South", today=today, mode="new")
        assert res.status == "clarify" and res.pending.question.startswith("Do you mean the Southeast")
        done = agent.resume(res.state, "Southeast only")
    assert done.status == "done" and done.asked[0][1] == "Southeast only"
    assert srv.requests[1]["messages"][-1]["content"] == [{"type": "text", "text": "The marketer answered: Southeast only"}]


def test_invalid_finish_goes_back_to_the_model_as_an_error(northstar, today):
    script = [tool_use("finish", {"segment": "everyone"}, "f1"), tool_use("finish", {"segment": SEGMENT}, "f2")]
    with ScriptedMessagesServer(script) as srv:
        res = _agent(northstar, srv.url).run_turn("top 5% for Scoop, email opt-in", today=today, mode="new")
    assert res.status == "done" and res.segment.spec() == SEGMENT
    (err,) = _results(srv.requests[1])
    assert err["tool_use_id"] == "f1" and err["is_error"] and '"segment" must be JSON' in err["content"]


def test_finish_failing_the_final_check_needs_attention(northstar, today):
    bad = [{"facet": "Region", "op": "in", "values": ["Atlantis"]}]
    script = [tool_use("finish", {"segment": bad}, f"f{i}") for i in range(3)]
    with ScriptedMessagesServer(script) as srv:
        res = _agent(northstar, srv.url).run_turn("customers in Atlantis", today=today, mode="new")
    assert res.status == "needs_attention" and "Atlantis" in res.issues[0]
    assert len(srv.requests) == 3
    fed_back = _results(srv.requests[1])[0]
    assert fed_back["tool_use_id"] == "f0" and fed_back["is_error"] and "final check" in fed_back["content"]


@pytest.mark.parametrize("failure,kind", [(error(429, "rate_limit_error"), "RateLimitError 429"),
                                          (error(500, "api_error"), "InternalServerError 500"),
                                          (Delay(2.0, error(500, "api_error")), "APITimeoutError")],
                         ids=["429", "500", "timeout"])
def test_api_failures_fall_back_offline_within_bounds(harbor, today, failure, kind):
    t0 = time.perf_counter()
    with ScriptedMessagesServer([failure]) as srv:
        res = _agent(harbor, srv.url, timeout=0.5).run_turn("Gold rewards members who are text reachable", today=today, mode="new")
    assert time.perf_counter() - t0 < 30
    fallback = [s for s in res.trace.steps if s.status == "fallback"]
    assert fallback and kind in fallback[0].observation
    assert res.status == "done" and res.trace.policy == "claude"


def test_router_model_decides_the_mode_and_its_cost_is_in_the_trace(northstar, today):
    draft = Segment.from_spec(SEGMENT)
    with ScriptedMessagesServer([], stages={"route": [stage_reply("route", {"mode": "edit", "reason": "changes the tier"}),
                                                      stage_reply("route", {"mode": "sideways"}),
                                                      error(500, "api_error")]}) as srv:
        router = ModelRouter(_client(srv.url), "claude-haiku-4-5")
        d1 = router.route("top 10 instead", draft)
        d2 = router.route("make it top 10", draft)
        d3 = router.route("Gold members in Texas", draft)
    assert (d1.mode, d1.reason) == ("edit", "changes the tier")
    assert d1.usage.stage == "router" and d1.usage.model == "claude-haiku-4-5" and d1.usage.cost_usd > 0
    assert d2.mode == "edit" and "heuristic" in d2.reason  # an invalid mode falls back to the offline router
    assert d3.mode == "new" and "router model unavailable" in d3.reason
    assert srv.stage_requests[0]["tool_choice"] == {"type": "tool", "name": "route"}
    assert "top 10 instead" in srv.stage_requests[0]["messages"][0]["content"]


def test_make_agent_routes_answer_with_the_model_and_logs_stage_costs(northstar, today):
    script = [tool_use("clarify", {"question": "Which South?", "options": ["Southeast", "South Central"]}, "c1"),
              tool_use("finish", {"segment": [{"facet": "Region", "op": "in", "values": ["South Central"]}]}, "f1")]
    stages = {"route": [stage_reply("route", {"mode": "new", "reason": "a whole audience"}),
                        stage_reply("route", {"mode": "answer", "reason": "picks an option"})]}
    with ScriptedMessagesServer(script, stages) as srv:
        agent = make_agent(northstar, "claude", client=_client(srv.url))
        first = agent.run_turn("Customers in the South", today=today)
        done = list(agent.iter_message("the central one please", paused=first.state, today=today))[-1]
    assert first.trace.steps[0].kind == "route" and first.trace.steps[0].stage == "router"
    assert done.status == "done" and done.asked[0][1] == "the central one please"
    stages_cost = done.trace.cost_by_stage()
    assert set(stages_cost) == {"router", "mapping"} and all(v > 0 for v in stages_cost.values())


def test_dates_model_resolves_what_the_offline_parser_cannot(northstar, today):
    dates = stage_reply("dates", {"dates": [{"phrase": "before Thanksgiving", "op": "between", "min": "2026-11-01",
                                             "max": "2026-11-25"}, {"phrase": "bad", "op": "within_last_days"}]})
    with ScriptedMessagesServer([tool_use("finish", {"segment": SEGMENT}, "f1")], {"dates": [dates]}) as srv:
        res = _agent(northstar, srv.url).run_turn("Scoop buyers who bought before Thanksgiving", today=today, mode="new")
    step = next(s for s in res.trace.steps if s.kind == "stage")
    assert step.tool == "dates" and step.stage == "dates" and step.model == "claude-haiku-4-5" and step.cost_usd > 0
    assert "ignored 1 invalid" in step.observation
    context = srv.requests[0]["messages"][0]["content"][0]["text"]
    assert "'before Thanksgiving' → between 2026-11-01 and 2026-11-25 (dates model)" in context
    assert set(res.trace.cost_by_stage()) == {"dates", "mapping"}


def test_offline_dates_need_no_model_call(northstar, today):
    with ScriptedMessagesServer([tool_use("finish", {"segment": SEGMENT}, "f1")]) as srv:
        _agent(northstar, srv.url).run_turn("Scoop buyers in the last 90 days", today=today, mode="new")
    assert srv.stage_requests == []
    assert "in the last 90 days' → within_last_days" in srv.requests[0]["messages"][0]["content"][0]["text"]


def test_claude_few_shot_examples_honour_the_exclusion(northstar, today):
    from core.retrieval import get_index

    row = northstar.ground_truth[0]
    idx = get_index(northstar)
    assert row.id in [s.id for s in idx.similar_segments(row.query, k=3)]
    with ScriptedMessagesServer([tool_use("finish", {"segment": SEGMENT}, "f1")]) as srv:
        _agent(northstar, srv.url).run_turn(row.query, today=today, mode="new", exclude_examples=frozenset({row.id}))
    examples = srv.requests[0]["messages"][0]["content"][0]["text"].split("Similar past segments")[1]
    assert row.query not in examples


def test_a_finish_in_another_case_is_kept_as_the_catalog_spells_it(northstar, today):
    """The model writes facet names, values and tiers in its own case; the turn's segment is canonical."""
    sloppy = [{"facet": "propensity brand", "op": "in", "values": ["scoop"], "tier": "top 5"},
              {"facet": " EMAIL OPT IN ", "op": "is_true"}]
    with ScriptedMessagesServer([tool_use("finish", {"segment": sloppy, "summary": "Scoop prospects"}, "t1")]) as srv:
        res = _agent(northstar, srv.url).run_turn("top 5% for Scoop, email opt-in", today=today, mode="new")
    assert res.status == "done"
    assert res.segment.spec() == SEGMENT
