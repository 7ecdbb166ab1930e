"""The workbench's per-browser-session state, kept free of Streamlit so it can be tested alone."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.segment import Segment


@dataclass
class ChatMessage:
    role: str            # "user" | "assistant"
    text: str
    diff: list[str] = field(default_factory=list)
    meter: str = ""


@dataclass
class WorkbenchState:
    tenant_id: str
    draft: Segment | None = None
    request: str = ""
    undo: list[Segment | None] = field(default_factory=list)
    chat: list[ChatMessage] = field(default_factory=list)
    pending: Any = None          # a paused TurnState waiting for a clarification answer
    last: Any = None             # the last TurnResult (trace, retrieved facets, dry-run)
    dryrun: Any = None           # dry-run of the current draft
    saved_version: int | None = None
    saved_name: str = ""

    def set_draft(self, segment: Segment | None) -> None:
        """Replace the draft, keeping the previous one for undo."""
        self.undo.append(self.draft)
        self.draft = segment
        self.undo = self.undo[-20:]

    def undo_last(self) -> bool:
        if not self.undo:
            return False
        self.draft = self.undo.pop()
        return True
