"""What a policy decides each step, and what it is told. Offline and Claude policies share these."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.segment import Segment


@dataclass
class ToolCall:
    """Run a tool with these arguments (names and types as in the tool's JSON schema)."""
    name: str
    args: dict[str, Any]
    thought: str = ""
    call_id: str = ""  # the model's tool_use id, echoed back in the observation


@dataclass
class ClarifyOption:
    label: str                     # what the marketer sees on the button
    value: str = ""                # what the policy gets back when it is chosen (defaults to label)
    segment_hint: str = ""         # how the segment would read under this option


@dataclass
class Clarify:
    """Ask the marketer one question with 2-4 options; options[default] is the fallback."""
    question: str
    options: list[ClarifyOption]
    default: int = 0
    thought: str = ""
    call_id: str = ""
    phrase: str = ""               # the words of the request the question is about (for assumptions)


@dataclass
class Finish:
    """The turn's answer: the segment and a plain-words summary."""
    segment: Segment
    summary: str = ""
    thought: str = ""
    call_id: str = ""
    coverage: Any = None  # core.reader.account.Coverage when the policy accounts for the request's words


@dataclass
class Gate:
    """Ask the loop to check a pipeline stage (decomposition, shortlist, mapping, final)."""
    stage: str
    payload: Any
    thought: str = ""


@dataclass
class SplitCohorts:
    """Build each cohort in an isolated worker, concurrently; `shared` clauses apply to every cohort."""
    cohorts: list[str]
    shared: list[str] = field(default_factory=list)
    thought: str = ""


@dataclass
class Retry:
    """The policy's last step was unusable (no tool call, invalid arguments); the policy was told why."""
    reason: str
    tool: str = ""
    thought: str = ""


Action = ToolCall | Clarify | Finish | Gate | SplitCohorts | Retry


@dataclass
class Observation:
    """What came back from a tool: a result or an error the policy must recover from."""
    tool: str
    args: dict[str, Any]
    ok: bool
    result: Any = None             # the tool's typed result (pydantic model or dataclass)
    error: str = ""                # a fixable message, never a traceback
    call_id: str = ""

    def summary(self, limit: int = 300) -> str:
        text = self.error if not self.ok else _short(self.result)
        return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(result: Any) -> str:
    if hasattr(result, "summary") and callable(result.summary):
        return str(result.summary())
    if hasattr(result, "model_dump_json"):
        return result.model_dump_json()
    return str(result)


@dataclass
class LLMUsage:
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    stage: str = "mapping"         # router | dates | mapping: which pipeline stage spent it


@dataclass
class TurnContext:
    """Everything a policy may read at the start of a turn."""
    request: str
    tenant_id: str
    today: dt.date
    draft: Segment | None = None              # the current draft when the turn edits it
    mode: str = "new"                         # "new" | "edit" (decided by the router)
    answers: list[str] = field(default_factory=list)  # answers to this turn's clarifications so far
    notes: dict[str, Any] = field(default_factory=dict)
    exclude_examples: frozenset[str] = frozenset()  # example ids/requests a policy must not see (eval leakage)


class Policy(Protocol):
    """Decides the next step of a turn. Stateful within one turn; `start` resets it."""

    name: str

    def start(self, turn: TurnContext) -> None: ...

    def next_action(self, observations: list[Observation]) -> Action:
        """Given the observations since the last action, return the next action."""
        ...

    def answer(self, answer: str) -> None:
        """The marketer answered the pending clarification; continue the same turn."""
        ...

    def last_usage(self) -> LLMUsage | None:
        """Model usage of the last `next_action` call (None for offline steps)."""
        ...
