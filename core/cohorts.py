"""Parallel cohort workers: each cohort of a multi-audience request is built in isolation."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from core.segment import Cohort, Segment

if TYPE_CHECKING:
    from core.agent import Agent, TurnResult, TurnState
    from core.policies.base import SplitCohorts
    from core.reader.account import Coverage


def cohort_request(text: str, shared: list[str]) -> str:
    """The sub-request a worker sees: its cohort plus the clauses shared by every cohort."""
    return ", ".join([text.strip(), *[s.strip() for s in shared if s.strip()]])


def build_cohorts(agent: "Agent", state: "TurnState", split: "SplitCohorts") -> tuple[Segment, list["TurnResult"]]:
    """Run one isolated worker per cohort concurrently; merge their cohorts in order."""
    from core.agent import Agent, assume_defaults

    def work(text: str) -> "TurnResult":
        worker = Agent(agent.tenant, agent.policy_factory, agent.max_steps, agent.router)
        res = worker.run_turn(cohort_request(text, split.shared), today=state.turn.today, mode="cohort",
                              exclude_examples=state.turn.exclude_examples)
        return assume_defaults(worker, res)

    with ThreadPoolExecutor(max_workers=max(1, min(agent.workers, len(split.cohorts)))) as pool:
        results = list(pool.map(work, split.cohorts))
    cohorts: list[Cohort] = []
    for text, res in zip(split.cohorts, results):
        if res.segment is not None:
            for co in res.segment.cohorts:
                if co.conditions:
                    cohorts.append(co.model_copy(update={"label": co.label or text.strip()}))
    return Segment(cohorts=cohorts or [Cohort()]), results


def cohort_coverage(request: str, results: list["TurnResult"]) -> "Coverage | None":
    """The whole request's word map from the workers' maps; None when a worker's policy keeps no map."""
    from core.reader.account import combine
    from core.reader.common import STOP

    parts = [r.coverage for r in results]
    if not parts or any(p is None for p in parts):
        return None
    return combine(request, parts, STOP, {"or": "joins two audiences: one cohort each"})
