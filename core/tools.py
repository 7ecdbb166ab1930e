"""The agent's tools: plain typed functions; JSON schemas come from signatures and docstrings.

The offline policy and Claude call exactly these. A tool error becomes an error observation the
policy can act on, never a crash of the loop.
"""
from __future__ import annotations

import datetime as dt
import inspect
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, Field

from core.errors import WorkbenchError
from core.policies.base import Observation
from core.segment import Segment
from core.tenant import Tenant

SegmentArg = typing.Union[list, dict]


@dataclass
class ToolContext:
    """What tools may touch: the tenant, the clock, and the lazily opened index and dry-runner."""
    tenant: Tenant
    today: dt.date = field(default_factory=dt.date.today)
    retrieved: list[Any] = field(default_factory=list)  # facet hits seen this turn (for the UI)
    holdout: frozenset[str] = frozenset()  # requests / row ids never offered as examples (set by the evaluation)
    _index: Any = None
    _dry: Any = None

    @property
    def index(self):
        if self._index is None:
            from core.retrieval import get_index
            self._index = get_index(self.tenant)
        return self._index

    @property
    def dryrunner(self):
        if self._dry is None:
            from core.dryrun import get_dryrunner
            self._dry = get_dryrunner(self.tenant)
        return self._dry


class ToolError(WorkbenchError):
    """A fixable problem with a tool call; the message tells the policy what to do instead."""


@dataclass
class Tool:
    name: str
    fn: Callable[..., Any]
    description: str
    input_schema: dict


TOOLS: dict[str, Tool] = {}
_PY_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}


def tool(f: Callable[..., Any]) -> Callable[..., Any]:
    """Register a tool; every parameter needs a description in the docstring's Args section."""
    text = inspect.getdoc(f) or ""
    summary, arg_docs = _parse_doc(text)
    sig = inspect.signature(f)
    hints = typing.get_type_hints(f)
    props, required = {}, []
    for pname, p in list(sig.parameters.items())[1:]:  # the first parameter is the context
        if pname not in arg_docs:
            raise TypeError(f"tool {f.__name__}: parameter {pname!r} has no description in Args:")
        props[pname] = {**_json_type(hints.get(pname, str)), "description": arg_docs[pname]}
        if p.default is inspect.Parameter.empty:
            required.append(pname)
    schema = {"type": "object", "properties": props, "required": required}
    TOOLS[f.__name__] = Tool(f.__name__, f, summary, schema)
    return f


def _parse_doc(text: str) -> tuple[str, dict[str, str]]:
    summary, _, rest = text.partition("Args:")
    args = dict(re.findall(r"^\s*(\w+):\s*(.+)$", rest, re.M))
    return " ".join(summary.split()), args


def _json_type(tp: Any) -> dict:
    if tp is SegmentArg or tp in (list, dict):
        return {"type": ["array", "object"]}
    origin = typing.get_origin(tp)
    if origin is list:
        (inner,) = typing.get_args(tp) or (str,)
        return {"type": "array", "items": {"type": _PY_TO_JSON.get(inner, "string")}}
    return {"type": _PY_TO_JSON.get(tp, "string")}


def tool_schemas() -> list[dict]:
    """All tools in the Anthropic tool format."""
    return [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in TOOLS.values()]


def run_tool(ctx: ToolContext, name: str, args: dict[str, Any], call_id: str = "") -> Observation:
    """Run a tool; bad arguments and tool errors come back as error observations."""
    t = TOOLS.get(name)
    if t is None or name in ACTIONS:
        known = ", ".join(n for n in TOOLS if n not in ACTIONS)
        return Observation(name, args, ok=False, error=f"No tool named {name!r}; available tools: {known}.", call_id=call_id)
    missing = [k for k in t.input_schema["required"] if k not in args]
    unknown = [k for k in args if k not in t.input_schema["properties"]]
    if missing or unknown:
        return Observation(name, args, ok=False, call_id=call_id,
                           error=f"{name}: missing arguments {missing}, unknown arguments {unknown}; "
                                 f"expected {list(t.input_schema['properties'])}.")
    try:
        return Observation(name, args, ok=True, result=t.fn(ctx, **args), call_id=call_id)
    except WorkbenchError as exc:
        return Observation(name, args, ok=False, error=str(exc), call_id=call_id)


# ---- results -----------------------------------------------------------------------------------

class FacetSearchResult(BaseModel):
    hits: list[Any] = Field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{h.facet} ({h.score:.3f})" for h in self.hits[:8]) or "no facets found"


class FacetValues(BaseModel):
    facet: str
    kind: str
    note: str = ""
    values: list[str] = Field(default_factory=list)
    matches: list[Any] = Field(default_factory=list)
    tiers: list[str] = Field(default_factory=list)
    range: dict | None = None

    def summary(self) -> str:
        head = f"{self.facet} ({self.kind})" + (f" — {self.note}" if self.note else "")
        if self.matches:
            return head + ": " + ", ".join(f"{m.value} [{m.method} {m.score:.2f}]" for m in self.matches)
        if self.range:
            return head + f": {self.range}"
        return head + ": " + ", ".join(self.values[:12]) + ("…" if len(self.values) > 12 else "")


class SimilarSegments(BaseModel):
    segments: list[Any] = Field(default_factory=list)

    def summary(self) -> str:
        return " | ".join(f"{s.query} -> {s.segment.render()}" for s in self.segments)


# ---- tools -------------------------------------------------------------------------------------

@tool
def search_facets(ctx: ToolContext, query: str, k: int = 8) -> FacetSearchResult:
    """Find the catalog facets that match a request or a phrase of it (hybrid dense + keyword search).

    Args:
        query: the request or one phrase of it, in the marketer's words
        k: how many facets to return (default 8)
    """
    hits = ctx.index.search_facets(query, k=k)
    ctx.retrieved.extend(h for h in hits if h.facet not in {r.facet for r in ctx.retrieved})
    return FacetSearchResult(hits=hits)


@tool
def get_facet_values(ctx: ToolContext, facet: str, phrase: str = "", k: int = 5) -> FacetValues:
    """List a facet's values, tiers or range, or match a phrase to its values (exact, synonym, nearest).

    Args:
        facet: the exact facet name from the catalog
        phrase: words from the request naming a value; empty to list all values
        k: how many matches to return for a phrase
    """
    cat = ctx.tenant.catalog
    f = cat.get(facet)
    if f is None:
        raise ToolError(f"Unknown facet {facet!r}. Nearest facets: {', '.join(cat.nearest_facets(facet))}.")
    note = ""
    if f.deprecated:
        note = f"{f.name} is deprecated; use {f.replaced_by}"
        f = cat.resolve(f.name)
    rng = f.numeric_range.model_dump() if f.numeric_range else None
    out = FacetValues(facet=f.name, kind=f.kind, note=note, values=f.value_list, tiers=f.tiers, range=rng)
    if phrase and f.value_list:
        matches = ctx.index.search_values(phrase, facet=f.name, k=k)
        matches = [m for m in matches if m.method != "dense"]
        if not matches:
            near = ", ".join(cat.nearest_values(f, phrase))
            raise ToolError(f"{f.name} has no value like {phrase!r}. The nearest real values are: {near}. "
                            f"Choose one of them or drop the condition.")
        out.matches = matches
    return out


@tool
def get_similar_segments(ctx: ToolContext, query: str, k: int = 3) -> SimilarSegments:
    """Past segments of this tenant whose request reads like this one (examples to follow).

    Args:
        query: the marketer's request
        k: how many examples
    """
    return SimilarSegments(segments=ctx.index.similar_segments(query, k=k, exclude=ctx.holdout))


@tool
def check_customer_count(ctx: ToolContext, segment: SegmentArg):
    """Shadow dry-run: estimated audience with a 95% interval, funnel and verdict, on the sample.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
    """
    from core.segment import validate_segment_strict

    seg = _segment(segment)
    validate_segment_strict(seg, ctx.tenant.catalog)
    return ctx.dryrunner.run(seg)


@tool
def validate_segment(ctx: ToolContext, segment: SegmentArg):
    """Check a segment against the catalog, the tenant's rules (pairings, exclusions, deprecations) and policies.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
    """
    from core.rules import validate

    return validate(_segment(segment), ctx.tenant)


def _segment(data: Any) -> Segment:
    if isinstance(data, Segment):
        return data
    if isinstance(data, str):
        return Segment.from_json(data)
    return Segment.from_spec(data)


ACTIONS = ("clarify", "finish")  # they pause or end the turn, so the loop handles them


@tool
def clarify(ctx: ToolContext, question: str, options: list[str], default: int = 0) -> None:
    """Ask the marketer one question when the request is genuinely ambiguous.

    Args:
        question: the question, in plain words
        options: 2 to 4 short answers to choose from
        default: index of the option used when nobody answers
    """
    raise ToolError("clarify is an action the agent loop handles, not a tool to run.")


@tool
def finish(ctx: ToolContext, segment: SegmentArg, summary: str = "") -> None:
    """Return the final segment and a one-sentence summary of it.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
        summary: one sentence describing the audience
    """
    raise ToolError("finish is an action the agent loop handles, not a tool to run.")
