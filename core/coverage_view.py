"""The coverage map as something to show: the request cut into pieces, each with what it became.

Pure and UI-free: the workbench turns the pieces into highlighted HTML, tests read them directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.reader.account import Coverage, CoverageSpan

ShowKind = Literal["condition", "rule", "cue", "asked", "ignored", "stop", "unused", "plain"]

# Legend order: what the request became first, then what it did not.
LABELS: dict[str, str] = {"condition": "Condition", "rule": "Tier, window or rule", "cue": "Cue word",
                          "asked": "Asked about", "ignored": "Ignored", "stop": "Stop word", "unused": "Not used"}
_JOINER = re.compile(r"[^\w$%]*")  # what may sit between two words of one highlighted stretch: spaces, punctuation


@dataclass(frozen=True)
class Piece:
    """A stretch of the request as typed; `plain` pieces are the gaps between words."""
    text: str
    kind: ShowKind
    became: str = ""  # the hover text: what the stretch became, or why it was not used

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, "")


def show_kind(span: CoverageSpan) -> ShowKind:
    """One word's kind for display; a used word without a role (an older saved map) counts as a condition."""
    if span.kind == "used":
        return span.role or "condition"
    return span.kind


def _became(span: CoverageSpan, kind: ShowKind) -> str:
    if kind == "stop":
        return "stop word"
    if kind == "unused":
        return "not used"
    if kind == "ignored":
        return f"ignored: {span.became}" if span.became else "ignored"
    if kind == "condition":
        return f"became: {span.became}" if span.became else "used by a condition"
    return span.became or LABELS[kind]


def pieces(coverage: Coverage) -> list[Piece]:
    """The request cut into pieces that cover it exactly, once each, in order.

    Neighbouring words with the same kind and the same outcome form one piece together with the
    spaces or punctuation between them, so "bought in the last 90 days" is one highlight, not six.
    """
    text = coverage.request
    out: list[Piece] = []
    pos = 0
    for span in sorted(coverage.spans, key=lambda s: s.start):
        if span.start < pos or span.end > len(text):  # overlapping or out-of-range spans: shown as plain text
            continue
        kind = show_kind(span)
        became = _became(span, kind)
        gap = text[pos:span.start]
        prev = out[-1] if out else None
        if prev is not None and prev.kind == kind and prev.became == became and _JOINER.fullmatch(gap):
            out[-1] = Piece(prev.text + gap + text[span.start:span.end], kind, became)
        else:
            if gap:
                out.append(Piece(gap, "plain"))
            out.append(Piece(text[span.start:span.end], kind, became))
        pos = span.end
    if pos < len(text):
        out.append(Piece(text[pos:], "plain"))
    return out


def legend(parts: list[Piece]) -> list[tuple[str, str]]:
    """(kind, label) of every kind the pieces show, in legend order."""
    present = {p.kind for p in parts}
    return [(k, label) for k, label in LABELS.items() if k in present]


def not_used_line(coverage: Coverage) -> str:
    """The plain sentence naming the words not used, each once; '' when every word was accounted for."""
    words = list(dict.fromkeys(coverage.unused))
    return "Not used: " + ", ".join(f"'{w}'" for w in words) if words else ""
