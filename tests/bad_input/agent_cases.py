"""Shared helpers for the agent bad-input tables: a Claude-path agent on the local Messages server."""
from __future__ import annotations

import anthropic
import pytest

from core.agent import Agent, TurnResult
from core.policies.claude import ClaudePolicy, FallbackPolicy
from core.policies.offline import OfflinePolicy

NOT_DONE = ("needs_attention", "needs_input", "failed", "clarify")


def claude_agent(tenant, url: str, timeout: float = 2.0, max_tool_errors: int = 6) -> Agent:
    """Claude first, offline on API failure; the client never retries and times out fast."""
    client = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0, timeout=timeout)
    return Agent(tenant, lambda: FallbackPolicy(ClaudePolicy(tenant, client), lambda: OfflinePolicy(tenant)),
                 max_tool_errors=max_tool_errors)


def messages(res: TurnResult) -> list[str]:
    """Everything the turn said was wrong: error steps, failed gates, fallbacks, the result's error and issues."""
    steps = [s.observation for s in res.trace.steps if s.status in ("error", "gate_failed", "fallback")]
    return [*steps, res.error, *res.issues]


def assert_clean(res: TurnResult) -> None:
    """No traceback text anywhere the marketer or the model reads."""
    for text in messages(res) + [s.observation for s in res.trace.steps]:
        assert "Traceback" not in text and 'File "' not in text, text


@pytest.fixture(scope="session", autouse=True)
def warm_agent_parts(northstar, harbor):
    """Index and dry-run sample load once, outside each case's time bound (cases import this fixture)."""
    from core.dryrun import get_dryrunner
    from core.retrieval import get_index

    for t in (northstar, harbor):
        get_index(t), get_dryrunner(t)
