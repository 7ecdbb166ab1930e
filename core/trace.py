"""Typed trace records: one per ReAct step, written as JSON lines."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

StepStatus = Literal["ok", "error", "recovered", "gate_failed", "clarify", "finish", "fallback", "info"]


class TraceStep(BaseModel):
    n: int
    kind: Literal["tool", "clarify", "finish", "gate", "route", "stage", "policy", "worker", "assume"] = "tool"
    thought: str = ""
    tool: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    observation: str = ""
    status: StepStatus = "ok"
    ms: float = 0.0
    cohort: int | None = None
    model: str | None = None
    stage: str | None = None       # router | dates | mapping: the pipeline stage whose model ran
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


class Trace(BaseModel):
    request: str = ""
    tenant_id: str = ""
    policy: str = ""
    steps: list[TraceStep] = Field(default_factory=list)

    def add(self, **kw: Any) -> TraceStep:
        step = TraceStep(n=len(self.steps) + 1, **kw)
        self.steps.append(step)
        return step

    @property
    def total_ms(self) -> float:
        return sum(s.ms for s in self.steps)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd or 0.0 for s in self.steps)

    @property
    def tokens(self) -> tuple[int, int]:
        return (sum(s.input_tokens or 0 for s in self.steps), sum(s.output_tokens or 0 for s in self.steps))

    def cost_by_stage(self) -> dict[str, float]:
        """Model cost per pipeline stage (router, dates, mapping) for this turn."""
        out: dict[str, float] = {}
        for s in self.steps:
            if s.cost_usd:
                key = s.stage or "mapping"
                out[key] = round(out.get(key, 0.0) + s.cost_usd, 6)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One table row per step (pages)."""
        return [{"#": s.n, "kind": s.kind, "tool": s.tool, "status": s.status, "cohort": s.cohort,
                 "result": s.observation[:200], "model": s.model, "stage": s.stage, "cost $": s.cost_usd}
                for s in self.steps]

    def lines(self) -> list[str]:
        """The trace as plain text lines (CLI)."""
        out = [f"Request: {self.request}", f"Tenant: {self.tenant_id} · policy: {self.policy}"]
        for s in self.steps:
            cost = f" · {s.model} {s.input_tokens}/{s.output_tokens} tok ${s.cost_usd:.4f}" if s.model else ""
            who = f"cohort {s.cohort} " if s.cohort else ""
            out.append(f"{s.n:>3}. [{s.status}] {who}{s.tool or s.kind}: {s.observation[:200]}{cost}")
        if self.cost_usd:
            stages = ", ".join(f"{k} ${v:.4f}" for k, v in self.cost_by_stage().items())
            out.append(f"Cost: ${self.cost_usd:.4f} ({stages})")
        return out

    def write_jsonl(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps({"request": self.request, "tenant_id": self.tenant_id, "policy": self.policy}) + "\n")
            for s in self.steps:
                fh.write(s.model_dump_json() + "\n")
