"""The ReAct loop with scripted policies: tool errors, clarifications, gates, step cap; rules; scorer."""
from __future__ import annotations

from core.agent import Agent
from core.eval import count_matches, score_row, value_items
from core.policies.base import Clarify, ClarifyOption, Finish, Gate, ToolCall
from core.rules import autofix, validate
from core.segment import Segment
from core.tenant import GroundTruthRow
from core.tools import run_tool, tool_schemas, ToolContext


class Scripted:
    """Plays actions in order; records the observations it was given."""
    name = "scripted"

    def __init__(self, actions):
        self.actions = list(actions)
        self.seen = []
        self.answers = []

    def start(self, turn):
        self.turn = turn

    def next_action(self, observations):
        self.seen.append(observations)
        action = self.actions.pop(0)
        return action(self) if callable(action) else action

    def answer(self, answer):
        self.answers.append(answer)

    def last_usage(self):
        return None


SEG = Segment.from_spec([{"facet": "Email Opt In", "op": "is_true"}])


def test_tool_error_is_an_observation_and_the_policy_recovers(northstar, today):
    pol = Scripted([ToolCall("get_facet_values", {"facet": "Propensity Brnd"}),
                    lambda p: ToolCall("get_facet_values", {"facet": p.seen[-1][0].error.split("Nearest facets: ")[1].split(",")[0]}),
                    Finish(SEG, "done")])
    res = Agent(northstar, lambda: pol).run_turn("x", today=today, mode="new")
    assert res.status == "done"
    steps = [s for s in res.trace.steps if s.kind == "tool"]
    assert steps[0].status == "error" and "Propensity Brand" in steps[0].observation
    assert steps[1].status == "ok" and steps[1].args == {"facet": "Propensity Brand"}
    assert res.dryrun is not None and res.dryrun.sample_matched > 0


def test_clarification_pauses_and_resumes_the_same_turn(northstar, today):
    q = Clarify("Which?", [ClarifyOption("A"), ClarifyOption("B")])
    pol = Scripted([q, lambda p: Finish(SEG, f"answered {p.answers}")])
    agent = Agent(northstar, lambda: pol)
    res = agent.run_turn("x", today=today, mode="new")
    assert res.status == "clarify" and res.pending is q
    done = agent.resume(agent.last_state, "B")
    assert done.status == "done" and done.summary == "answered ['B']" and done.asked == [(q, "B")]


def test_failing_gate_feeds_back_then_passes(northstar, today):
    bad = Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Nope"]}])
    pol = Scripted([Gate("mapping", bad), lambda p: Finish(SEG) if not p.seen[-1][0].ok else None])
    res = Agent(northstar, lambda: pol).run_turn("x", today=today, mode="new")
    gate = [s for s in res.trace.steps if s.kind == "gate"][0]
    assert gate.status == "gate_failed" and "no value 'Nope'" in gate.observation
    assert res.status == "done"


def test_step_cap_ends_the_turn(northstar, today):
    pol = Scripted([ToolCall("search_facets", {"query": "x"})] * 5)
    res = Agent(northstar, lambda: pol, max_steps=3).run_turn("x", today=today, mode="new")
    assert res.status == "failed" and "3 steps" in res.error


def test_tool_schemas_come_from_signatures():
    schemas = {t["name"]: t for t in tool_schemas()}
    assert schemas["get_facet_values"]["input_schema"]["required"] == ["facet"]
    assert schemas["search_facets"]["input_schema"]["properties"]["k"]["type"] == "integer"
    assert schemas["clarify"]["input_schema"]["properties"]["options"]["type"] == "array"


def test_unknown_value_lists_nearest_real_values(northstar, today):
    obs = run_tool(ToolContext(northstar, today), "get_facet_values", {"facet": "State", "phrase": "Texsas"})
    assert obs.ok and obs.result.matches[0].value == "Texas"
    obs = run_tool(ToolContext(northstar, today), "get_facet_values", {"facet": "Region", "phrase": "the South"})
    assert not obs.ok and "nearest real values" in obs.error
    obs = run_tool(ToolContext(northstar, today), "search_facets", {"query": "x", "bogus": 1})
    assert not obs.ok and "unknown arguments ['bogus']" in obs.error


def test_rules_pairings_deprecations_and_policies(northstar, harbor):
    seg = Segment.from_spec([{"facet": "Propensity Division Strict", "op": "in", "values": ["Womens"], "tier": "TOP 5"},
                             {"facet": "Email Deliverable", "op": "is_true"}])
    report = validate(seg, northstar)
    codes = {i.code for i in report.issues}
    assert not report.ok and {"structure", "consent"} <= codes
    fixed, notes = autofix(seg, northstar)
    assert fixed.spec() == [{"facet": "Propensity Division", "op": "in", "values": ["Womens"], "tier": "TOP 5"},
                            {"facet": "Propensity Super Department", "op": "in", "values": ["Apparel"], "tier": "TOP 5"},
                            {"facet": "Email Deliverable", "op": "is_true"}, {"facet": "Email Opt In", "op": "is_true"}]
    assert validate(fixed, northstar).ok
    brand = Segment.from_spec([{"facet": "Likelihood To Buy Brand", "op": "in", "values": ["Harbor Select"], "tier": "TOP 10"}])
    fixed, _ = autofix(brand, harbor)
    aisle = fixed.all_conditions()[1]
    assert aisle.facet == "Likelihood To Buy Aisle" and aisle.tier == "TOP 10"
    assert aisle.values == ["Pantry", "Dairy & Eggs", "Frozen", "Household"]
    both = Segment.from_spec([{"facet": "Age Band", "op": "in", "values": ["65+"]},
                              {"facet": "Generation", "op": "in", "values": ["Gen Z"]}])
    assert any(i.code == "exclusive" for i in validate(both, northstar).issues)


def test_scorer_follows_the_spec():
    exp = Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 10"},
                             {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90},
                             {"facet": "Spend 12M", "op": "between", "min": 1000}])
    got = Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 20"},
                             {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 98},
                             {"facet": "Spend 12M", "op": "between", "min": 1000.0}])
    s = score_row(GroundTruthRow("r", "q", exp, False), got, False)
    assert s["facet_tp"] == 3 and s["value_tp"] == 2  # wrong tier does not count; 98 is within 10% of 90
    far = Segment.from_spec([{"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 100}])
    assert count_matches(value_items(far), value_items(exp)) == 0
