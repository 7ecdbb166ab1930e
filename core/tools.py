"""The agent's tools: plain typed functions; argument models and JSON schemas come from signatures.

Each tool's parameters (after the context) become a pydantic model (`pydantic.create_model`) with the
bounds written in the signature and the descriptions from the docstring's Args; `run_tool` validates
the model's arguments with it, so a wrong type, an out-of-range number or an unknown argument comes
back as an error observation saying what to fix. Any exception inside a tool does too: the loop
never sees a traceback.
"""
from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, create_model

from core.dryrun import DryRunResult
from core.errors import SegmentError, WorkbenchError
from core.policies.base import Observation
from core.retrieval import FacetHit, SimilarSegment, ValueHit
from core.rules import ValidationReport
from core.segment import MAX_DAYS, MAX_VALUES, OPS, Segment
from core.tenant import Tenant


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


# ---- argument types ----------------------------------------------------------------------------

def _segment_schema() -> dict:
    condition = {
        "type": "object",
        "properties": {
            "facet": {"type": "string", "description": "exact facet name from the catalog"},
            "op": {"type": "string", "enum": list(OPS)},
            "values": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_VALUES,
                       "description": "values for in / not_in"},
            "tier": {"type": "string", "description": "propensity tier, e.g. TOP 10 (absent: the default tier)"},
            "days": {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "description": "window for within_last_days"},
            "date": {"type": "string", "format": "date", "description": "ISO date for on_or_after"},
            "min": {"type": ["number", "string"], "description": "lower bound for between (number, or ISO date)"},
            "max": {"type": ["number", "string"], "description": "upper bound for between (number, or ISO date)"},
            "segment_id": {"type": "integer", "minimum": 1, "description": "saved segment for in_segment / not_in_segment"},
        },
        "required": ["facet", "op"],
        "additionalProperties": False,
    }
    conditions = {"type": "array", "items": condition, "minItems": 1}
    return {"anyOf": [conditions, {"type": "object", "properties": {"cohorts": {"type": "array", "items": conditions}},
                                   "required": ["cohorts"]}]}


def _parse_segment(value: Any) -> Segment:
    """A segment argument: the spec's JSON (or that JSON as a string), checked for shape and bounds."""
    if isinstance(value, Segment):
        return value
    try:
        if isinstance(value, str):
            value = Segment.from_json(value).spec() if value.strip() else None
        if not value:
            raise ValueError('give the segment as a list of conditions, e.g. [{"facet": ..., "op": "in", "values": [...]}]')
        seg = Segment.from_spec(value)
    except SegmentError as exc:
        raise ValueError(str(exc)) from None
    for c in seg.all_conditions():
        if c.days is not None and not 1 <= c.days <= MAX_DAYS:
            raise ValueError(f"{c.facet}: days must be between 1 and {MAX_DAYS:,}, not {c.days:,}")
    return seg


SegmentArg = Annotated[Segment, BeforeValidator(_parse_segment), WithJsonSchema(_segment_schema())]
Text = Annotated[str, Field(min_length=1, max_length=2_000)]
Phrase = Annotated[str, Field(max_length=500)]


# ---- registration ------------------------------------------------------------------------------

@dataclass
class Tool:
    name: str
    fn: Callable[..., Any]
    description: str
    args_model: type[BaseModel]
    input_schema: dict


TOOLS: dict[str, Tool] = {}


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, arbitrary_types_allowed=True)


def tool(f: Callable[..., Any]) -> Callable[..., Any]:
    """Register a tool; every parameter needs a description in the docstring's Args and a type."""
    summary, arg_docs = _parse_doc(inspect.getdoc(f) or "")
    hints = typing.get_type_hints(f, include_extras=True)
    if "return" not in hints:
        raise TypeError(f"tool {f.__name__}: annotate the return type")
    fields: dict[str, Any] = {}
    for pname, p in list(inspect.signature(f).parameters.items())[1:]:  # the first parameter is the context
        if pname not in arg_docs:
            raise TypeError(f"tool {f.__name__}: parameter {pname!r} has no description in Args:")
        if pname not in hints:
            raise TypeError(f"tool {f.__name__}: parameter {pname!r} has no type")
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[pname] = (hints[pname], Field(default, description=arg_docs[pname]))
    model = create_model(f"{f.__name__}_args", __base__=_Args, **fields)
    TOOLS[f.__name__] = Tool(f.__name__, f, summary, model, _input_schema(model))
    return f


def _parse_doc(text: str) -> tuple[str, dict[str, str]]:
    summary, _, rest = text.partition("Args:")
    args = dict(re.findall(r"^\s*(\w+):\s*(.+)$", rest, re.M))
    return " ".join(summary.split()), args


def _input_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema as the Messages API wants it: no titles, no $defs, no extra keys."""
    schema = _strip_titles(model.model_json_schema())
    schema["additionalProperties"] = False
    schema.setdefault("required", [])
    return schema


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k != "title"}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def tool_schemas() -> list[dict]:
    """All tools in the Anthropic tool format."""
    return [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in TOOLS.values()]


def parse_args(name: str, args: Any) -> BaseModel:
    """A tool's (or action's) arguments validated by its model; ToolError saying what to fix otherwise."""
    t = TOOLS.get(name)
    if t is None:
        known = ", ".join(n for n in TOOLS if n not in ACTIONS)
        raise ToolError(f"No tool named {name!r}; available tools: {known}.")
    if not isinstance(args, dict):
        raise ToolError(f"{name}: arguments must be a JSON object with {list(t.args_model.model_fields)}.")
    try:
        return t.args_model.model_validate(args)
    except ValidationError as exc:
        raise ToolError(f"{name}: {_arg_problems(exc.errors())}. Expected arguments: {_signature(t)}.") from None


def _arg_problems(errors: list[dict]) -> str:
    missing = [e["loc"][0] for e in errors if e["type"] == "missing"]
    unknown = [e["loc"][0] for e in errors if e["type"] == "extra_forbidden"]
    out = [f"missing arguments {missing}"] if missing else []
    out += [f"unknown arguments {unknown}"] if unknown else []
    for err in errors:
        if err["type"] in ("missing", "extra_forbidden") or len(out) >= 4:
            continue
        got = json.dumps(err.get("input"), default=str)
        got = got if len(got) <= 60 else got[:57] + "..."
        where = ".".join(str(x) for x in err["loc"])
        out.append(f"{where}: {err['msg'].removeprefix('Value error, ')} (got {got})")
    return "; ".join(out)


def _signature(t: Tool) -> str:
    props = t.input_schema["properties"]
    req = set(t.input_schema["required"])
    return ", ".join(f"{k}{'' if k in req else '?'}: {_type_name(v)}" for k, v in props.items())


def _type_name(prop: dict) -> str:
    if "anyOf" in prop:
        return "segment JSON"
    if "minimum" in prop and "maximum" in prop:
        return f"{prop['type']} {prop['minimum']}-{prop['maximum']}"
    return prop.get("type", "any")


def run_tool(ctx: ToolContext, name: str, args: dict[str, Any], call_id: str = "") -> Observation:
    """Run a tool; bad arguments and any failure inside it come back as error observations."""
    if name in ACTIONS:
        return Observation(name, args, ok=False, call_id=call_id,
                           error=f"{name} is an action that ends or pauses the turn, not a tool to run here.")
    try:
        parsed = parse_args(name, args)
        result = TOOLS[name].fn(ctx, **{k: getattr(parsed, k) for k in type(parsed).model_fields})
        return Observation(name, args, ok=True, result=result, call_id=call_id)
    except WorkbenchError as exc:
        return Observation(name, args, ok=False, error=str(exc), call_id=call_id)
    except Exception as exc:  # noqa: BLE001 - a tool failure is an observation the policy can act on, never a crash
        return Observation(name, args, ok=False, call_id=call_id,
                           error=f"{name} failed ({type(exc).__name__}: {str(exc)[:200]}); "
                                 "check the arguments against the tool's schema, or try another tool.")


# ---- results -----------------------------------------------------------------------------------

class FacetSearchResult(BaseModel):
    hits: list[FacetHit] = Field(default_factory=list)

    def summary(self) -> str:
        return ", ".join(f"{h.facet} ({h.score:.3f})" for h in self.hits[:8]) or "no facets found"


class FacetValues(BaseModel):
    facet: str
    kind: str
    note: str = ""
    values: list[str] = Field(default_factory=list)
    matches: list[ValueHit] = Field(default_factory=list)
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
    segments: list[SimilarSegment] = Field(default_factory=list)

    def summary(self) -> str:
        return " | ".join(f"{s.query} -> {s.segment.render()}" for s in self.segments) or "no similar segments"


# ---- tools -------------------------------------------------------------------------------------

@tool
def search_facets(ctx: ToolContext, query: Text, k: Annotated[int, Field(ge=1, le=30)] = 8) -> FacetSearchResult:
    """Find the catalog facets that match a request or a phrase of it (hybrid dense + keyword search).

    Args:
        query: the request or one phrase of it, in the marketer's words
        k: how many facets to return (1-30, default 8)
    """
    hits = ctx.index.search_facets(query, k=k)
    ctx.retrieved.extend(h for h in hits if h.facet not in {r.facet for r in ctx.retrieved})
    return FacetSearchResult(hits=hits)


@tool
def get_facet_values(ctx: ToolContext, facet: Annotated[str, Field(min_length=1, max_length=200)], phrase: Phrase = "",
                     k: Annotated[int, Field(ge=1, le=20)] = 5) -> FacetValues:
    """List a facet's values, tiers or range, or match a phrase to its values (exact, synonym, nearest).

    Args:
        facet: the exact facet name from the catalog
        phrase: words from the request naming a value; empty to list all values
        k: how many matches to return for a phrase (1-20, default 5)
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
    if phrase.strip() and f.value_list:
        matches = ctx.index.search_values(phrase, facet=f.name, k=k)
        matches = [m for m in matches if m.method != "dense"]
        if not matches:
            near = ", ".join(cat.nearest_values(f, phrase))
            raise ToolError(f"{f.name} has no value like {phrase!r}. The nearest real values are: {near}. "
                            f"Choose one of them or drop the condition.")
        out.matches = matches
    return out


@tool
def get_similar_segments(ctx: ToolContext, query: Text, k: Annotated[int, Field(ge=1, le=10)] = 3) -> SimilarSegments:
    """Past segments of this tenant whose request reads like this one (examples to follow).

    Args:
        query: the marketer's request
        k: how many examples (1-10, default 3)
    """
    from core.fewshot import few_shot_examples

    return SimilarSegments(segments=few_shot_examples(ctx.index, query, k=k, exclude=ctx.holdout))


@tool
def check_customer_count(ctx: ToolContext, segment: SegmentArg) -> DryRunResult:
    """Shadow dry-run: estimated audience with a 95% interval, funnel and verdict, on the sample.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
    """
    from core.segment import canonicalize, validate_segment_strict

    seg = canonicalize(segment, ctx.tenant.catalog)
    validate_segment_strict(seg, ctx.tenant.catalog)
    return ctx.dryrunner.run(seg)


@tool
def validate_segment(ctx: ToolContext, segment: SegmentArg) -> ValidationReport:
    """Check a segment against the catalog, the tenant's rules (pairings, exclusions, deprecations) and policies.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
    """
    from core.rules import validate

    return validate(segment, ctx.tenant)


ACTIONS = ("clarify", "finish")  # they pause or end the turn, so the loop handles them


@tool
def clarify(ctx: ToolContext, question: Text,
            options: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(min_length=2, max_length=4)],
            default: Annotated[int, Field(ge=0, le=3)] = 0) -> None:
    """Ask the marketer one question when the request is genuinely ambiguous.

    Args:
        question: the question, in plain words
        options: 2 to 4 short answers to choose from
        default: index of the option used when nobody answers (0-3)
    """
    raise ToolError("clarify is an action the agent loop handles, not a tool to run.")


@tool
def finish(ctx: ToolContext, segment: SegmentArg, summary: Annotated[str, Field(max_length=1_000)] = "") -> None:
    """Return the final segment and a one-sentence summary of it.

    Args:
        segment: the segment as JSON: a list of conditions, or {"cohorts": [[...], [...]]}
        summary: one sentence describing the audience
    """
    raise ToolError("finish is an action the agent loop handles, not a tool to run.")
