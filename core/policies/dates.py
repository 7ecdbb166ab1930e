"""The `dates` stage: date phrases the offline parser resolves stay offline; the rest go to the dates model."""
from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, model_validator

from core.policies.base import TurnContext
from core.pricing import usage_of
from core.tenant import Tenant

# Words that signal a time window in any retailer's wording (not a tenant's vocabulary).
_DATE_WORD = re.compile(
    r"\b(today|yesterday|tonight|tomorrow|weeks?|days?|months?|years?|quarters?|since|ago|before|after|"
    r"until|till|holidays?|christmas|thanksgiving|easter|black friday|cyber monday|summer|winter|autumn|"
    r"january|february|march|april|june|july|august|september|october|november|december|"
    r"jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|(?:19|20)\d\d|\d{1,2}/\d{1,2}(?:/\d{2,4})?)\b", re.I)

TOOL = {"name": "dates", "description": "The date phrases of the request, resolved.",
        "input_schema": {"type": "object", "required": ["dates"], "properties": {"dates": {
            "type": "array", "description": "one entry per date phrase", "items": {
                "type": "object", "required": ["phrase", "op"], "properties": {
                    "phrase": {"type": "string", "description": "the words of the request"},
                    "op": {"type": "string", "enum": ["within_last_days", "on_or_after", "between", "none"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 36500},
                    "date": {"type": "string", "description": "YYYY-MM-DD"},
                    "min": {"type": "string", "description": "YYYY-MM-DD"},
                    "max": {"type": "string", "description": "YYYY-MM-DD"}}}}}}}


class ResolvedDate(BaseModel):
    """One date phrase as the dates model resolved it; bounds are checked, never trusted."""
    phrase: str
    op: Literal["within_last_days", "on_or_after", "between", "none"]
    days: int | None = None
    date: dt.date | None = None
    min: dt.date | None = None
    max: dt.date | None = None

    @model_validator(mode="after")
    def _complete(self) -> "ResolvedDate":
        if self.op == "within_last_days" and not (self.days and 1 <= self.days <= 36500):
            raise ValueError("within_last_days needs days between 1 and 36500")
        if self.op == "on_or_after" and self.date is None:
            raise ValueError("on_or_after needs a date")
        if self.op == "between" and (self.min is None and self.max is None or
                                     (self.min and self.max and self.min > self.max)):
            raise ValueError("between needs min and/or max, with min <= max")
        return self

    def line(self) -> str:
        shape = {"within_last_days": f"within_last_days {self.days}", "on_or_after": f"on_or_after {self.date}",
                 "between": f"between {self.min or '…'} and {self.max or '…'}", "none": "not a time window"}[self.op]
        return f"- '{self.phrase}' → {shape} (dates model)"


def unresolved_phrases(request: str, spans: list[Any]) -> list[str]:
    """Date words of the request that fall outside every span the offline parser resolved."""
    return [m.group(0) for m in _DATE_WORD.finditer(request)
            if not any(s.start <= m.start() < s.end for s in spans)]


def resolve_dates(client: Any, tenant: Tenant, turn: TurnContext) -> tuple[list[str], dict | None]:
    """Context lines for the mapping model, and a trace event when the dates model ran."""
    from core.text.dates import find_dates

    cat = tenant.catalog
    spans = find_dates(turn.request, turn.today, cat.fiscal_year_start_month, cat.seasons)
    known = [f"- '{s.text}' → {s.op} " + json.dumps({k: v for k, v in
             {"days": s.days, "date": s.date, "min": s.min, "max": s.max, "months": s.months}.items() if v})
             + " (offline parser)" for s in spans]
    left = unresolved_phrases(turn.request, spans)
    if not left:
        return known, None
    model = tenant.config.llm.dates
    text = _render(tenant, turn, known)
    try:
        resp = client.messages.create(model=model, max_tokens=400, tools=[TOOL],
                                      tool_choice={"type": "tool", "name": "dates"},
                                      messages=[{"role": "user", "content": text}])
    except Exception as exc:  # noqa: BLE001 - the mapping model can still read the dates itself
        return known, {"kind": "stage", "tool": "dates", "status": "fallback", "stage": "dates",
                       "observation": f"dates model unavailable ({type(exc).__name__}); the mapping model reads "
                                      f"{', '.join(left)} itself"}
    usage = usage_of(resp, model, "dates")
    lines, bad = _parse(resp)
    note = "; ".join(x.lstrip("- ") for x in lines) or "no date phrases"
    if bad:
        note += f" (ignored {len(bad)} invalid: {bad[0]})"
    event = {"kind": "stage", "tool": "dates", "status": "ok" if not bad else "error", "stage": "dates",
             "args": {"phrases": left}, "observation": note}
    if usage is not None:
        event.update(model=usage.model, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                     cost_usd=usage.cost_usd)
    return known + lines, event


def _render(tenant: Tenant, turn: TurnContext, known: list[str]) -> str:
    from core.prompts import render

    cat = tenant.catalog
    return render("dates", today=turn.today.isoformat(), fiscal_year_start_month=cat.fiscal_year_start_month,
                  seasons=json.dumps(cat.seasons), known="; ".join(known) or "(none)", request=turn.request)


def _parse(resp: Any) -> tuple[list[str], list[str]]:
    use = next((b for b in getattr(resp, "content", None) or [] if getattr(b, "type", "") == "tool_use"), None)
    items = (use.input or {}).get("dates") if use is not None and isinstance(use.input, dict) else None
    if not isinstance(items, list):
        return [], ["no dates list in the reply"]
    lines, bad = [], []
    for item in items[:10]:
        try:
            lines.append(ResolvedDate.model_validate(item).line())
        except ValidationError as exc:
            bad.append(exc.errors()[0]["msg"])
    return lines, bad
