"""Deterministic segments for engine equivalence: every op x source x cohort shape, hostile values.

Built from the tenant's catalog and bindings only (no facet names here), so it covers any tenant.
"""
from __future__ import annotations

import datetime as dt
import random

from core.segment import Segment
from core.tenant import Tenant

HOSTILE = ["O'Brien", "back\\slash", 'say "hi"', "x'); DROP TABLE customers; --", "trailing\\"]


def _condition(tenant: Tenant, name: str, op: str, rng: random.Random, as_of: dt.date, hostile: bool = False) -> dict:
    facet = tenant.catalog.get(name)
    cond: dict = {"facet": name, "op": op}
    if op in ("in", "not_in"):
        values = rng.sample(facet.value_list, k=min(len(facet.value_list), rng.choice([1, 1, 2, 3])))
        cond["values"] = values + ([rng.choice(HOSTILE)] if hostile else [])
        if facet.kind == "propensity":
            cond["tier"] = rng.choice(facet.tiers)
    elif op == "within_last_days":
        cond["days"] = rng.choice([7, 30, 91, 180, 365])
    elif op == "on_or_after":
        cond["date"] = (as_of - dt.timedelta(days=rng.choice([20, 60, 200]))).isoformat()
    elif op == "between" and facet.kind == "date":
        hi = as_of - dt.timedelta(days=rng.choice([0, 10, 40]))
        bounds = {"min": (hi - dt.timedelta(days=rng.choice([30, 120, 400]))).isoformat(), "max": hi.isoformat()}
        which = rng.choice([("min", "max"), ("min",), ("max",)])
        cond.update({k: v for k, v in bounds.items() if k in which})
    elif op == "between":
        r = facet.numeric_range
        lo = round(r.min + (r.max - r.min) * rng.random() * 0.3, 1)
        hi = round(lo + (r.max - lo) * rng.random() * 0.5, 1)
        which = rng.choice([("min", "max"), ("min",), ("max",)])
        cond.update({k: v for k, v in (("min", lo), ("max", hi)) if k in which})
    return cond


def generated_segments(tenant: Tenant, as_of: dt.date, seed: int = 13) -> list[tuple[str, Segment]]:
    """Singles for every (source, kind, multi, op), hostile values, multi-condition and multi-cohort."""
    rng = random.Random(seed)
    shapes: dict[tuple, list[str]] = {}
    for name, b in tenant.config.bindings.items():
        facet = tenant.catalog.get(name)
        if facet is None:
            continue
        for op in facet.ops:
            shapes.setdefault((b.source, facet.kind, b.multi, op), []).append(name)
    out: list[tuple[str, Segment]] = []
    for key in sorted(shapes):
        for name in rng.sample(shapes[key], k=min(2, len(shapes[key]))):
            out.append((f"single {key}", Segment.from_spec([_condition(tenant, name, key[3], rng, as_of)])))
    listed = sorted(k for k in shapes if k[3] in ("in", "not_in"))
    for key in listed:  # quotes, backslashes and SQL text stay values on every engine
        name = rng.choice(shapes[key])
        out.append((f"hostile {key}", Segment.from_spec([_condition(tenant, name, key[3], rng, as_of, hostile=True)])))
    pool = [(name, key[3]) for key, names in sorted(shapes.items()) for name in names]
    for i in range(12):
        conds = [_condition(tenant, n, op, rng, as_of, hostile=rng.random() < 0.2) for n, op in rng.sample(pool, rng.randint(2, 4))]
        out.append((f"cohort of {len(conds)}", Segment.from_spec(conds)))
    purchase = [(n, op) for n, op in pool if tenant.config.bindings[n].source == "purchase"]
    for i in range(4):  # several purchase conditions share one EXISTS; a negated one stays apart
        conds = [_condition(tenant, n, op, rng, as_of) for n, op in rng.sample(purchase, min(3, len(purchase)))]
        out.append(("purchase together", Segment.from_spec(conds)))
    for i in range(8):
        cohorts = [[_condition(tenant, n, op, rng, as_of) for n, op in rng.sample(pool, rng.randint(1, 3))]
                   for _ in range(rng.randint(2, 3))]
        out.append((f"{len(cohorts)} cohorts", Segment.from_spec({"cohorts": cohorts})))
    return out


def all_segments(tenant: Tenant, as_of: dt.date) -> list[tuple[str, Segment]]:
    return [(f"ground truth {r.id}", r.expected) for r in tenant.ground_truth] + generated_segments(tenant, as_of)
