"""How the agent read a request: the request with each stretch highlighted by what it became."""
from __future__ import annotations

import html

import streamlit as st

from core.coverage_view import legend, not_used_line, pieces
from core.reader.account import Coverage


def coverage_html(coverage: Coverage) -> str:
    """The highlighted request, its legend and the 'Not used' line as HTML; every piece of the request is escaped."""
    parts = pieces(coverage)
    body = "".join(html.escape(p.text) if p.kind == "plain" else
                   f'<span class="cov cov-{p.kind}" title="{html.escape(p.became)}">{html.escape(p.text)}</span>'
                   for p in parts)
    keys = "".join(f'<span class="cov-key"><span class="cov cov-{k}">{html.escape(label)}</span></span>'
                   for k, label in legend(parts))
    unused = not_used_line(coverage)
    missing = f'<p class="cov-notused">{html.escape(unused)}.</p>' if unused else ""
    return (f'<div class="cov-read"><p class="cov-head">How I read your request</p>'
            f'<p class="cov-text">{body}</p><p class="cov-legend">{keys}</p>{missing}</div>')


def show(data: dict) -> None:
    """Draw a turn's saved coverage map (as stored with its chat message); a damaged one is left out."""
    try:
        coverage = Coverage.model_validate(data)
    except ValueError:  # an autosave from an older or damaged file: the answer still shows, the map does not
        return
    st.html(coverage_html(coverage))
