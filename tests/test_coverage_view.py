"""The coverage map as display pieces: every character of the request shown once, each stretch with what it became."""
from __future__ import annotations

import json

from core.agent import Agent
from core.coverage_view import legend, not_used_line, pieces
from core.policies.offline import OfflinePolicy
from core.reader.account import Coverage, CoverageSpan, combine
from core.reader.understand import Understander
from pages.common.coverage import coverage_html
from pages.common.session import WorkbenchState


def _span(request: str, word: str, kind: str, became: str = "", role: str | None = None, after: int = 0) -> CoverageSpan:
    start = request.index(word, after)
    return CoverageSpan(start=start, end=start + len(word), text=word, kind=kind, became=became, role=role)


def _cov(request: str, *spans: CoverageSpan) -> Coverage:
    return Coverage(request=request, spans=list(spans))


def test_pieces_cover_the_request_exactly_and_join_one_condition_into_one_highlight():
    req = "Gold members, in Ohio  who juggle!"
    cov = _cov(req, _span(req, "Gold", "used", "Tier is Gold", "condition"), _span(req, "members", "stop"),
               _span(req, "in", "used", "State is Ohio", "condition"), _span(req, "Ohio", "used", "State is Ohio", "condition"),
               _span(req, "who", "stop"), _span(req, "juggle", "unused"))
    parts = pieces(cov)
    assert "".join(p.text for p in parts) == req
    shown = [(p.text, p.kind, p.became) for p in parts if p.kind != "plain"]
    assert shown == [("Gold", "condition", "became: Tier is Gold"), ("members", "stop", "stop word"),
                     ("in Ohio", "condition", "became: State is Ohio"), ("who", "stop", "stop word"),
                     ("juggle", "unused", "not used")]
    assert [p.text for p in parts if p.kind == "plain"] == [" ", ", ", "  ", " ", "!"]


def test_neighbours_with_different_outcomes_stay_apart_and_roles_become_kinds():
    req = "likely to buy Scoop top 10%"
    cov = _cov(req, _span(req, "likely", "used", "intent cue: likelihood", "cue"), _span(req, "to", "stop"),
               _span(req, "buy", "used", "intent cue: purchase", "cue"),
               _span(req, "Scoop", "used", "Brand is Scoop", "condition"),
               _span(req, "top", "used", "read as a tier, window or rule", "rule"),
               _span(req, "10%", "used", "read as a tier, window or rule", "rule"))
    shown = [(p.text, p.kind) for p in pieces(cov) if p.kind != "plain"]
    assert shown == [("likely", "cue"), ("to", "stop"), ("buy", "cue"), ("Scoop", "condition"), ("top 10%", "rule")]
    assert [k for k, _ in legend(pieces(cov))] == ["condition", "rule", "cue", "stop"]


def test_a_saved_map_without_roles_shows_used_words_as_conditions():
    req = "Ohio"
    data = {"request": req, "spans": [{"start": 0, "end": 4, "text": "Ohio", "kind": "used", "became": "State is Ohio"}]}
    assert [(p.kind, p.became) for p in pieces(Coverage.model_validate(data))] == [("condition", "became: State is Ohio")]


def test_not_used_line_names_each_word_once_and_is_empty_when_all_are_used():
    req = "juggle and juggle torches"
    cov = _cov(req, _span(req, "juggle", "unused"), _span(req, "and", "stop"),
               _span(req, "juggle", "unused", after=8), _span(req, "torches", "unused"))
    assert not_used_line(cov) == "Not used: 'juggle', 'torches'"
    assert not_used_line(_cov("Ohio", _span("Ohio", "Ohio", "used", "State is Ohio", "condition"))) == ""


def test_the_reader_gives_each_used_word_its_role(northstar, today):
    req = "Customers in Ohio who bought something and juggle"
    cov = Understander(northstar.catalog, today).read(req).coverage
    parts = pieces(cov)
    assert "".join(p.text for p in parts) == req
    kinds = {p.text: p.kind for p in parts}
    assert kinds["bought"] == "cue" and kinds["juggle"] == "unused" and kinds["Customers in"] == "stop"
    assert any(p.kind == "condition" and "Ohio" in p.text and "Ohio" in p.became for p in parts)


def test_html_escapes_the_request_and_the_hover_text():
    req = 'Ohio <script>alert("x")</script> & "friends"'
    cov = _cov(req, _span(req, "Ohio", "used", 'State is "Ohio" <b>', "condition"), _span(req, "script", "unused"),
               _span(req, "alert", "unused"), _span(req, "friends", "unused"))
    out = coverage_html(cov)
    assert "<script" not in out and "<b>" not in out
    assert '&lt;<span class="cov cov-unused" title="not used">script&gt;alert</span>' in out  # one stretch, escaped inside too
    assert '(&quot;x&quot;)&lt;/script&gt; &amp; &quot;' in out
    assert 'title="became: State is &quot;Ohio&quot; &lt;b&gt;"' in out
    assert "Not used: &#x27;script&#x27;, &#x27;alert&#x27;, &#x27;friends&#x27;." in out
    assert 'class="cov cov-unused"' in out and 'class="cov cov-condition"' in out


def test_the_map_is_saved_with_its_chat_message_and_old_saves_still_load():
    req = "Ohio jugglers"
    cov = _cov(req, _span(req, "Ohio", "used", "State is Ohio", "condition"), _span(req, "jugglers", "unused"))
    wb = WorkbenchState(tenant_id="t")
    wb.say("**State is Ohio**", coverage=cov.model_dump(mode="json"))
    data = json.loads(json.dumps(wb.to_dict()))  # as the autosave stores it
    back = WorkbenchState.from_dict("t", wb.draft_id, data)
    assert pieces(Coverage.model_validate(back.chat[0].coverage)) == pieces(cov)
    del data["chat"][0]["coverage"]  # a draft autosaved before maps were kept
    assert WorkbenchState.from_dict("t", wb.draft_id, data).chat[0].coverage is None


def test_combine_finds_each_part_in_the_request_and_keeps_the_most_telling_outcome():
    req = "Likely to buy Alpha or Beta, email reachable"
    one = "Likely to buy Alpha, email reachable"
    two = "Likely to buy Beta, email reachable"
    part = lambda text, word, unused_email=False: _cov(text, _span(text, "Likely", "used", "intent cue: likelihood", "cue"),  # noqa: E731
                                                       _span(text, "to", "stop"), _span(text, "buy", "used", "intent cue: purchase", "cue"),
                                                       _span(text, word, "used", f"Brand is {word}", "condition"),
                                                       _span(text, "email", "unused" if unused_email else "used", "" if unused_email else "Email Opt In",
                                                             None if unused_email else "condition"),
                                                       _span(text, "reachable", "used", "Email Opt In", "condition"))
    cov = combine(req, [part(one, "Alpha", unused_email=True), part(two, "Beta")], {"to"}, {"or": "joins two audiences"})
    assert [(s.text, s.kind, s.role, s.became) for s in cov.spans] == [
        ("Likely", "used", "cue", "intent cue: likelihood"), ("to", "stop", None, ""), ("buy", "used", "cue", "intent cue: purchase"),
        ("Alpha", "used", "condition", "Brand is Alpha"), ("or", "used", "rule", "joins two audiences"),
        ("Beta", "used", "condition", "Brand is Beta"), ("email", "used", "condition", "Email Opt In"),
        ("reachable", "used", "condition", "Email Opt In")]
    assert all(req[s.start:s.end] == s.text for s in cov.spans)


def test_an_or_request_and_an_edit_get_a_map_of_the_whole_message(northstar, today):
    agent = Agent(northstar, lambda: OfflinePolicy(northstar))
    req = "Free Assembly women's clothing buyers or Scoop footwear buyers who juggle"
    res = agent.run_turn(req, today=today, mode="new")
    assert res.status == "done" and len(res.segment.cohorts) == 2 and res.coverage is not None
    shown = {p.text: p for p in pieces(res.coverage)}
    assert "".join(p.text for p in pieces(res.coverage)) == req
    assert shown["or"].kind == "rule" and shown["juggle"].kind == "unused"
    assert shown["Scoop"].kind == "condition" and "Scoop" in shown["Scoop"].became
    edit = agent.run_turn("only Florida", today=today, mode="edit", draft=res.segment)
    shown = {p.text: p for p in pieces(edit.coverage)}
    assert shown["only"].kind == "rule" and shown["Florida"].kind == "condition" and "Florida" in shown["Florida"].became
