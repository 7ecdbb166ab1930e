"""The workbench's per-browser state: draft, undo stack, chat; autosaved to the store under a draft id."""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from core.segment import Segment


@dataclass
class ChatMessage:
    role: str            # "user" | "assistant"
    text: str
    diff: list[str] = field(default_factory=list)
    meter: str = ""
    coverage: dict | None = None  # the turn's coverage map (Coverage as JSON): saved with the message, so F5 keeps it


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
    exact: int | None = None     # exact count of the current draft, once asked for
    saved_version: int | None = None
    saved_name: str = ""
    segment_id: int | None = None
    draft_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    choice: str = ""             # a message waiting for "new segment or change this one?"
    conflict: Any = None         # a SaveConflict waiting for the marketer's choice
    changes: list[str] = field(default_factory=list)  # requests and edits since the last save: the version's own request

    def set_draft(self, segment: Segment | None) -> None:
        """Replace the draft, keeping the previous one for undo."""
        self.undo.append(self.draft)
        self.draft = segment
        self.undo = self.undo[-20:]
        self.exact = None

    def undo_last(self) -> bool:
        if not self.undo:
            return False
        self.draft = self.undo.pop()
        self.exact = None
        return True

    def version_request(self) -> str:
        """What this version asks for: the requests and edits since the last save, else the first request."""
        return " · ".join(self.changes) or self.request

    def say(self, text: str, role: str = "assistant", **kw: Any) -> None:
        self.chat.append(ChatMessage(role, text, **kw))

    # ---- autosave ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """What survives a reload: draft (with provenance), undo stack, chat, request, saved identity."""
        dump = lambda s: s.model_dump(mode="json") if s is not None else None  # noqa: E731
        return {"draft": dump(self.draft), "undo": [dump(s) for s in self.undo[-10:]], "request": self.request,
                "chat": [asdict(m) for m in self.chat[-200:]], "saved_version": self.saved_version,
                "saved_name": self.saved_name, "segment_id": self.segment_id, "exact": self.exact,
                "changes": self.changes}

    @classmethod
    def from_dict(cls, tenant_id: str, draft_id: str, data: dict) -> "WorkbenchState":
        load = lambda d: Segment.model_validate(d) if d else None  # noqa: E731
        return cls(tenant_id=tenant_id, draft_id=draft_id, draft=load(data.get("draft")),
                   undo=[load(d) for d in data.get("undo", [])], request=data.get("request", ""),
                   chat=[ChatMessage(**m) for m in data.get("chat", [])], saved_version=data.get("saved_version"),
                   saved_name=data.get("saved_name", ""), segment_id=data.get("segment_id"), exact=data.get("exact"),
                   changes=data.get("changes", []))
