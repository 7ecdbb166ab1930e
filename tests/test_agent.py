"""The ReAct loop with scripted policies: tool errors, clarifications, gates, step cap; rules; scorer."""
from __future__ import annotations

from core.agent import Agent
from core.eval import count_matches, score_row, value_items
import threading

from core.agent import assume_defaults
from core.policies.base import Clarify, ClarifyOption, Finish, Gate, SplitCohorts, ToolCall
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
    done = agent.resume(res.state, "B")
    assert done.status == "done" and done.summary == "answered ['B']" and done.asked == [(q, "B")]


def test_failing_gate_feeds_back_then_passes(northstar, today):
    bad = Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Nope"]}])
    pol = Scripted([Gate("mapping", bad), lambda p: Finish(SEG) if not p.seen[-1][0].ok else None])
    res = Agent(northstar, lambda: pol).run_turn("x", today=today, mode="new")
    gate = [s for s in res.trace.steps if s.kind == "gate"][0]
    assert gate.status == "gate_failed" and "no value 'Nope'" in gate.observation
    assert res.status == "done"


class Asker:
    """Asks a question about its own request, then finishes with the answer it got."""
    name = "asker"

    def start(self, turn):
        self.turn, self.got = turn, None

    def next_action(self, observations):
        if self.got is None:
            r = self.turn.request
            return Clarify(f"Which {r}?", [ClarifyOption(f"{r} A"), ClarifyOption(f"{r} B")], phrase=r)
        return Finish(SEG, f"{self.turn.request}: {self.got}")

    def answer(self, answer):
        self.got = answer

    def last_usage(self):
        return None


def test_two_sessions_share_one_agent_and_each_answers_its_own_question(northstar, today):
    agent = Agent(northstar, Asker)  # one cached agent, as the app keeps it
    sessions, paused = {}, {}  # what each browser session keeps in its own state

    def session(name, pick):
        res = agent.run_turn(name, today=today, mode="new")
        paused[name] = res.state
        barrier.wait(timeout=10)  # both questions are open before either is answered
        assert res.status == "clarify" and res.pending.question == f"Which {name}?"
        sessions[name] = agent.resume(res.state, res.pending.options[pick].label)

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=session, args=(n, i)) for i, n in enumerate(["alpha shoppers", "beta shoppers"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not hasattr(agent, "last_state")
    assert sessions["alpha shoppers"].summary == "alpha shoppers: alpha shoppers A"
    assert sessions["beta shoppers"].summary == "beta shoppers: beta shoppers B"
    assert [q.question for q, _ in sessions["beta shoppers"].asked] == ["Which beta shoppers?"]
    # answering a turn twice (a double click, a stale rerun) changes nothing and raises nothing
    again = agent.resume(paused["alpha shoppers"], "x")
    assert again.status == "done" and again.summary == "alpha shoppers: alpha shoppers A"


def test_final_check_failing_every_time_needs_attention_never_done(northstar, today):
    bad = Segment.from_spec([{"facet": "Region", "op": "in", "values": ["Atlantis"]}])
    pol = Scripted([Finish(bad)] * 5)
    res = Agent(northstar, lambda: pol).run_turn("x", today=today, mode="new")
    assert res.status == "needs_attention" and res.segment == bad
    assert res.issues and "Atlantis" in res.issues[0] and "Atlantis" in res.error
    assert res.dryrun is None
    assert [s.status for s in res.trace.steps if s.kind == "gate"] == ["gate_failed"] * 3
    assert "fails the final check" in pol.seen[1][0].error  # the policy was told why, twice


def test_empty_finish_is_never_done(northstar, today):
    pol = Scripted([Finish(Segment())])
    res = Agent(northstar, lambda: pol).run_turn("everyone please", today=today, mode="new")
    assert res.status == "needs_input" and res.segment is None and "say who to target" in res.error


def test_tool_error_budget_ends_the_turn_cleanly(northstar, today):
    pol = Scripted([ToolCall("no_such_tool", {})] * 20)
    res = Agent(northstar, lambda: pol, max_tool_errors=3).run_turn("x", today=today, mode="new")
    assert res.status == "failed" and "4 failed tool calls" in res.error and "no_such_tool" in res.error


def test_a_tool_that_raises_becomes_an_error_observation(northstar, today):
    pol = Scripted([ToolCall("validate_segment", {"segment": 12}), lambda p: Finish(SEG)])
    res = Agent(northstar, lambda: pol).run_turn("x", today=today, mode="new")
    assert res.status == "done"
    assert pol.seen[1][0].ok is False and "segment" in pol.seen[1][0].error


class Splitter:
    """Splits into two cohorts; each worker asks about its cohort (nobody can answer a worker)."""
    name = "splitter"

    def start(self, turn):
        self.turn, self.got = turn, None

    def next_action(self, observations):
        if self.turn.mode == "new":
            return SplitCohorts(["morning shoppers", "evening shoppers"])
        if self.got is None:
            word = self.turn.request.split()[0]
            return Clarify(f"What is '{word}'?", [ClarifyOption(word.title()), ClarifyOption("Other")], phrase=word)
        return Finish(SEG, self.got)

    def answer(self, answer):
        self.got = answer

    def last_usage(self):
        return None


def test_cohort_defaults_are_assumptions_not_answered_questions(northstar, today):
    res = Agent(northstar, Splitter).run_turn("morning shoppers or evening shoppers", today=today, mode="new")
    assert res.status == "done"
    assert res.asked == []
    assert res.assumptions == ["assumed 'morning' = Morning", "assumed 'evening' = Evening"]
    assert [s.observation for s in res.trace.steps if s.kind == "assume"] == res.assumptions


def test_assume_defaults_moves_questions_to_assumptions(northstar, today):
    agent = Agent(northstar, Asker)
    res = assume_defaults(agent, agent.run_turn("late night", today=today, mode="new"))
    assert res.status == "done" and res.asked == [] and res.assumptions == ["assumed 'late night' = late night A"]


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


def test_turn_traces_are_kept_printed_and_linked_from_the_pages(northstar, settings, today, monkeypatch, capsys):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from core.cli import main
    from core.store import Store

    for var, path in (("SEGWORK_DATA_DIR", settings.data_dir), ("SEGWORK_INDEX_DIR", settings.index_dir),
                      ("SEGWORK_STORE", settings.store_path)):
        monkeypatch.setenv(var, str(path))
    agent = Agent(northstar, Asker)
    res = agent.resume(agent.run_turn("night owls", today=today, mode="new").state, "night owls B")
    s = Store(settings.store_path)
    tid = s.log_trace("northstar", res.request, res.status, res.trace.model_dump())
    cid = s.log_clarification("northstar", res.request, "Which night owls?", ["A", "B"], "night owls B", res.segment, tid)
    s.save_segment("northstar", "Night owls", res.segment, request=res.request,
                   trace=[x.model_dump() for x in res.trace.steps])

    assert main(["trace", "--tenant", "northstar", str(tid)]) == 0
    out = capsys.readouterr().out
    assert "Request: night owls" in out and "[clarify] clarify" in out and "answer: night owls B" in out and "Status: done" in out
    assert main(["trace", "--tenant", "northstar", "--segment", "Night owls"]) == 0
    assert "[finish] finish" in capsys.readouterr().out
    assert main(["trace", "--tenant", "harbor", str(tid)]) == 2  # another tenant's trace is not shown
    assert f"No trace {tid} for tenant harbor" in capsys.readouterr().err

    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "pages" / "2_Clarifications.py"), default_timeout=120).run()
    if at.selectbox[0].value != "northstar":
        at.selectbox[0].set_value("northstar").run()
    assert f"segwork trace --tenant northstar {tid}" in "\n".join(c.value for c in at.caption)
    at.toggle(key=f"trace{cid}").set_value(True).run()
    assert not at.exception and "answer: night owls B" in at.dataframe[-1].value["result"].tolist()

    at = AppTest.from_file(str(root / "pages" / "1_Segments.py"), default_timeout=120).run()
    if at.selectbox[0].value != "northstar":
        at.selectbox[0].set_value("northstar").run()
    box = [x for x in at.selectbox if x.label == "Segment"][0]
    box.set_value(next(o for o in box.options if o.startswith("Night owls"))).run()
    assert not at.exception
    assert any('segwork trace --tenant northstar --segment "Night owls" --version 1' in c.value for c in at.caption)
    assert any("finish" in df.value.get("tool", []).tolist() for df in at.dataframe if "tool" in df.value)


def test_a_chat_message_answers_the_pending_question_or_starts_anew(northstar, today):
    agent = Agent(northstar, Asker)
    paused = agent.run_turn("dog owners", today=today, mode="new").state
    answered = list(agent.iter_message("dog owners B", paused=paused, today=today))[-1]
    assert answered.status == "done" and answered.summary == "dog owners: dog owners B"
    route = [s for s in answered.trace.steps if s.kind == "route"]
    assert route and route[-1].observation == "mode: answer" and "names one of the options" in route[-1].thought
    paused = agent.run_turn("cat owners", today=today, mode="new").state
    fresh = list(agent.iter_message("Gold members in Texas who bought shoes this month", paused=paused, today=today))[-1]
    assert fresh.request == "Gold members in Texas who bought shoes this month" and fresh.status == "clarify"
    assert paused.result.pending is not None  # the old question is untouched, still answerable
