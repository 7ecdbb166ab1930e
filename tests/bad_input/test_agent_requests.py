"""Bad requests: a prompt that says what to write, never a segment, never '(everyone)' as done."""
from __future__ import annotations

import pytest

from core.agent import Agent, answer_default
from core.policies.offline import OfflinePolicy
from tests.bad_input.agent_cases import assert_clean, claude_agent, messages
from tests.bad_input.agent_cases import warm_agent_parts  # noqa: F401 - an autouse fixture
from tests.messages_server import ScriptedMessagesServer

UNREADABLE = [  # (case id, request): nothing to read, so nothing reaches a model
    ("empty", ""),
    ("spaces", "    "),
    ("newlines-and-tabs", "\n\t \n"),
    ("punctuation", "?!?"),
    ("ellipsis", "..."),
    ("dashes", "— –"),
    ("emoji-only", "🙂🙂"),
    ("nul-bytes", "\x00\x00"),
    ("underscores", "___"),
]

NO_AUDIENCE = [  # words, but no condition a catalog can hold
    ("everyone-in-parens", "(everyone)"),
    ("all-customers", "all customers"),
    ("keyboard-mash", "asdfghjkl qwerty"),
]


@pytest.mark.timeout(20, func_only=True)
@pytest.mark.parametrize("request_text", [r for _, r in UNREADABLE], ids=[i for i, _ in UNREADABLE])
def test_unreadable_request_gets_a_prompt_and_no_model_call(northstar, today, request_text):
    with ScriptedMessagesServer([]) as srv:
        res = claude_agent(northstar, srv.url).run_turn(request_text, today=today)
    assert res.status == "needs_input" and res.segment is None
    assert "Describe the audience in words" in res.error
    assert srv.requests == [] and srv.stage_requests == []
    assert_clean(res)


@pytest.mark.timeout(20, func_only=True)
def test_overlong_request_says_how_long_it_may_be(northstar, today):
    res = Agent(northstar, lambda: OfflinePolicy(northstar)).run_turn("gold members " * 300, today=today)
    assert res.status == "needs_input" and "at most 2,000 characters" in res.error and "3,900" in res.error


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("request_text", [r for _, r in NO_AUDIENCE], ids=[i for i, _ in NO_AUDIENCE])
def test_request_with_no_audience_is_never_done(northstar, today, request_text):
    agent = Agent(northstar, lambda: OfflinePolicy(northstar))
    res = answer_default(agent, agent.run_turn(request_text, today=today, mode="new"))
    assert res.status == "needs_input" and res.segment is None
    assert any("say who to target" in m or "Name what the audience" in m for m in messages(res)), messages(res)
    assert_clean(res)
