"""Ground-truth evaluation: facet F1, value F1 and clarification precision/recall, as the spec defines them."""
from __future__ import annotations

import csv
import datetime as dt
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from core.segment import Condition, Segment
from core.tenant import GroundTruthRow, Tenant, load_ground_truth
from core.text.normalise import load_word_lists

Progress = Callable[[int, int, str], None]


def value_items(segment: Segment) -> list[tuple]:
    """Scoring items: one per value for in/not_in (with tier), one per condition otherwise."""
    items: list[tuple] = []
    for c in segment.all_conditions():
        if c.op in ("in", "not_in"):
            items += [(c.facet, c.op, v, c.tier) for v in c.values or []]
        elif c.op in ("is_true", "is_false"):
            items.append((c.facet, c.op))
        else:
            items.append((c.facet, c.op, c.days, c.date, c.min, c.max))
    return items


def _match(pred: tuple, exp: tuple) -> bool:
    if pred[:2] != exp[:2] or len(pred) != len(exp):
        return False
    if len(pred) == 6 and pred[1] == "within_last_days":
        return exp[2] is not None and pred[2] is not None and abs(pred[2] - exp[2]) <= 0.1 * exp[2]
    if len(pred) == 6:
        return pred[3:] == exp[3:] and _num_eq(pred[4], exp[4]) and _num_eq(pred[5], exp[5])
    return pred == exp


def _num_eq(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def count_matches(pred: list[tuple], exp: list[tuple]) -> int:
    """Greedy one-to-one matching (windows match within ±10%)."""
    left = list(exp)
    hits = 0
    for p in pred:
        for i, e in enumerate(left):
            if _match(p, e):
                hits += 1
                left.pop(i)
                break
    return hits


@dataclass
class RowResult:
    id: str
    query: str
    expected: Any
    got: Any
    asked: bool
    needs_clarification: bool
    facet_tp: int
    facet_pred: int
    facet_exp: int
    value_tp: int
    value_pred: int
    value_exp: int
    ms: float
    steps: int
    questions: list[str] = field(default_factory=list)
    error: str = ""
    trace: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Facets, values and ask / no-ask all right."""
        return row_exact(self.__dict__)


def row_exact(r: dict) -> bool:
    """A scored row (RowResult fields) is exact: same facet set, every value item matched both ways, right ask."""
    return (r["facet_tp"] == r["facet_pred"] == r["facet_exp"]
            and r["value_tp"] == r["value_pred"] == r["value_exp"]
            and bool(r["asked"]) == bool(r["needs_clarification"]))


def score_row(row: GroundTruthRow, got: Segment | None, asked: bool) -> dict:
    got = got or Segment()
    pf = {c.facet for c in got.all_conditions()}
    ef = {c.facet for c in row.expected.all_conditions()}
    pv, ev = value_items(got), value_items(row.expected)
    return dict(facet_tp=len(pf & ef), facet_pred=len(pf), facet_exp=len(ef),
                value_tp=count_matches(pv, ev), value_pred=len(pv), value_exp=len(ev))


def read_tags(path: Path) -> dict[str, list[str]]:
    """Row id -> classes from the optional `tags` column (`;`-separated); empty when there is none."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["id"]: [t.strip() for t in (r.get("tags") or "").split(";") if t.strip()] for r in csv.DictReader(fh)}


def ground_truth_files(tenant: Tenant) -> dict[str, Path]:
    """Ground-truth CSVs to evaluate on: the tenant's own, then its probe set when the checkout has one."""
    files = {"dev (tenant ground truth)": tenant.ground_truth_path}
    probe = Path(__file__).resolve().parent.parent / "tests" / "probes" / f"{tenant.id}_probe.csv"
    if probe.is_file():
        files["probes (unseen wording)"] = probe
    return {k: v for k, v in files.items() if v.is_file()}


def _f1(tp: int, pred: int, exp: int) -> float:
    p = tp / pred if pred else 0.0
    r = tp / exp if exp else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class EvalRun:
    tenant: str
    policy: str
    metrics: dict
    rows: list[RowResult]


def metrics(rows: list[RowResult]) -> dict:
    asked = [r for r in rows if r.asked]
    ambiguous = [r for r in rows if r.needs_clarification]
    tp_ask = sum(1 for r in rows if r.asked and r.needs_clarification)
    lat = sorted(r.ms for r in rows) or [0.0]
    return {
        "facet_f1": round(_f1(sum(r.facet_tp for r in rows), sum(r.facet_pred for r in rows), sum(r.facet_exp for r in rows)), 4),
        "value_f1": round(_f1(sum(r.value_tp for r in rows), sum(r.value_pred for r in rows), sum(r.value_exp for r in rows)), 4),
        "exact_rows": round(sum(r.exact for r in rows) / len(rows), 4) if rows else 0.0,
        "clarification_precision": round(tp_ask / len(asked), 4) if asked else 1.0,
        "clarification_recall": round(tp_ask / len(ambiguous), 4) if ambiguous else 1.0,
        "clarification_rate": round(len(asked) / len(rows), 4) if rows else 0.0,
        "latency_ms_p50": round(statistics.median(lat), 1),
        "latency_ms_p95": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
        "steps_per_request": round(statistics.mean(r.steps for r in rows), 2) if rows else 0.0,
        "rows": len(rows),
        "per_tag": per_tag(rows),
    }


def per_tag(rows: list[RowResult]) -> list[dict]:
    """One line per tag: rows, exact share, facet F1, value F1, asked / expected-to-ask; worst exact share first."""
    out = []
    for t in sorted({t for r in rows for t in r.tags}):
        rs = [r for r in rows if t in r.tags]
        out.append({
            "tag": t, "rows": len(rs),
            "exact": round(sum(r.exact for r in rs) / len(rs), 4),
            "facet_f1": round(_f1(sum(r.facet_tp for r in rs), sum(r.facet_pred for r in rs), sum(r.facet_exp for r in rs)), 4),
            "value_f1": round(_f1(sum(r.value_tp for r in rs), sum(r.value_pred for r in rs), sum(r.value_exp for r in rs)), 4),
            "asked": sum(r.asked for r in rs), "expected_asks": sum(r.needs_clarification for r in rs),
        })
    return sorted(out, key=lambda d: (d["exact"], -d["rows"], d["tag"]))


def holdout_for(row: GroundTruthRow) -> frozenset[str]:
    """What the policy must never see as an example while this row is scored: the row and its request."""
    return frozenset({row.id, row.query})


def run_eval(tenant: Tenant, rows: list[GroundTruthRow], policy: str = "offline",
             today: dt.date = dt.date(2026, 11, 25), progress: Progress | None = None,
             tags: dict[str, list[str]] | None = None, policy_factory: Callable[[], Any] | None = None) -> EvalRun:
    """Run every row as one agent turn; questions are answered with their default option.

    While a row is scored, that row (and any with the same request) is held out of the examples
    every policy can see (the turn's `exclude_examples` -> the tool context and the policy's few-shot block).
    """
    from core.agent import Agent, answer_default
    from core.policies import make_policy_factory
    from core.retrieval import get_index
    from core.dryrun import get_dryrunner

    get_index(tenant)  # warm: model, index and word lists load before timing
    load_word_lists()
    get_dryrunner(tenant)
    agent = Agent(tenant, policy_factory or make_policy_factory(tenant, policy))
    tags = tags or {}
    results = []
    for i, row in enumerate(rows, 1):
        t0 = time.perf_counter()
        error = ""
        try:
            res = answer_default(agent, agent.run_turn(row.query, today=today, mode="new", exclude_examples=holdout_for(row)))
            seg, asked, steps = res.segment, bool(res.asked), res.steps
            questions = [q.question for q, _ in res.asked]
            trace = [s.model_dump() for s in res.trace.steps]
            error = res.error
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the run
            seg, asked, steps, questions, trace, error = None, False, 0, [], [], f"{type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - t0) * 1000
        results.append(RowResult(id=row.id, query=row.query, expected=row.expected.spec(), got=seg.spec() if seg else None,
                                 asked=asked, needs_clarification=row.needs_clarification, ms=ms, steps=steps,
                                 questions=questions, error=error, trace=trace, tags=tags.get(row.id, []),
                                 **score_row(row, seg, asked)))
        if progress:
            progress(i, len(rows), row.id)
    return EvalRun(tenant=tenant.id, policy=policy, metrics=metrics(results), rows=results)


def eval_cli(tenant: Tenant, args: Any) -> int:
    """`segwork eval`: metrics on a ground-truth CSV (per-tag when it has tags), per-row results to a JSONL file."""
    path = Path(args.ground_truth or tenant.ground_truth_path)
    rows = load_ground_truth(path)
    today = dt.date.fromisoformat(args.today)
    say = (lambda i, n, rid: None) if args.json else (lambda i, n, rid: print(f"\r  {i}/{n} {rid}   ", end="", flush=True))
    run = run_eval(tenant, rows, args.policy, today, progress=say, tags=read_tags(path))
    out = args.out or tenant.settings.runs_dir / f"eval-{tenant.id}-{dt.datetime.now():%Y%m%d-%H%M%S}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for r in run.rows:
            fh.write(json.dumps({**r.__dict__, "exact": r.exact}, default=str) + "\n")
    m = run.metrics
    if args.json:
        keys = ["facet_f1", "value_f1", "exact_rows", "clarification_precision", "clarification_recall",
                "clarification_rate", "latency_ms_p50", "latency_ms_p95", "rows", "per_tag"]
        print(json.dumps({"ground_truth": str(path), **{k: m[k] for k in keys}}))
        return 0
    print()
    th = tenant.config.thresholds
    print(f"{tenant.display_name} — {path.name}, {len(rows)} rows, policy {args.policy}")
    print(f"  exact rows {m['exact_rows']:.3f}   facet F1 {m['facet_f1']:.3f}   value F1 {m['value_f1']:.3f}   (threshold {th.f1:.2f})")
    print(f"  clarification precision {m['clarification_precision']:.2f}  recall {m['clarification_recall']:.2f}  "
          f"rate {m['clarification_rate']:.2f} (max {th.max_clarification_rate:.2f})")
    print(f"  latency p50 {m['latency_ms_p50']:.0f} ms  p95 {m['latency_ms_p95']:.0f} ms   steps/request {m['steps_per_request']}")
    if m["per_tag"]:
        print(format_tag_table(m["per_tag"]))
    print(f"  per-row results: {out}")
    return 0


def format_tag_table(table: Iterable[dict]) -> str:
    """The per-tag table as aligned text (worst exact share first)."""
    lines = [f"  {'tag':<20} {'rows':>4} {'exact':>6} {'facetF1':>8} {'valueF1':>8} {'asked/exp':>10}"]
    for t in table:
        lines.append(f"  {t['tag']:<20} {t['rows']:>4} {t['exact']:>6.2f} {t['facet_f1']:>8.3f} {t['value_f1']:>8.3f} "
                     f"{str(t['asked']) + '/' + str(t['expected_asks']):>10}")
    return "\n".join(lines)
