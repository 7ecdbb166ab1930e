"""Probe files obey the spec format, the catalog and its rules (a broken expected row fails here)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.rules import validate
from core.tenant import load_ground_truth, load_tenant

HERE = Path(__file__).parent
TAGS = {line.split("`")[1] for line in (HERE / "README.md").read_text().splitlines() if line.startswith("| `")}
FILES = sorted(HERE.glob("*_probe.csv"))


def _tenant_of(path: Path) -> str:
    return path.name.removesuffix("_probe.csv")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_probe_rows_are_valid_segments(path: Path) -> None:
    tenant = load_tenant(_tenant_of(path))
    rows = load_ground_truth(path)
    assert len(rows) >= 60
    problems = []
    for row in rows:
        report = validate(row.expected, tenant)
        problems += [f"{row.id}: {i.code} {i.message}" for i in report.issues if i.severity == "error"]
        for c in row.expected.all_conditions():
            facet = tenant.catalog.get(c.facet)
            if facet.deprecated:
                problems.append(f"{row.id}: deprecated facet {c.facet}")
            if facet.kind == "propensity" and c.tier is None:
                problems.append(f"{row.id}: {c.facet} without a tier (write the default tier out)")
        problems += [f"{row.id}: {p}" for p in _pairing_value_problems(row.expected, tenant)]
    assert problems == []


def _pairing_value_problems(segment, tenant) -> list[str]:
    """Each value of a paired facet is related (parent/child) to a value of its partner, both ways."""
    out = []
    for co in segment.cohorts:
        by = {c.facet: c for c in co.conditions if c.op == "in"}
        for p in tenant.catalog.rules.pairings:
            if p.when not in by or p.require not in by:
                continue
            hmap = tenant.catalog.hierarchy_map(p.values_from or "")
            rel = {(a, b) for a, kids in hmap.items() for b in kids}
            related = lambda x, y: (x, y) in rel or (y, x) in rel  # noqa: E731
            w, r = by[p.when].values or [], by[p.require].values or []
            out += [f"{p.when} {v} has no partner in {p.require}" for v in w if not any(related(v, x) for x in r)]
            out += [f"{p.require} {v} is unrelated to {p.when}" for v in r if not any(related(v, x) for x in w)]
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_probe_rows_tags_asks_and_ids(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    assert len({r["id"] for r in raw}) == len(raw)
    assert len({r["query"].strip().lower() for r in raw}) == len(raw)
    for r in raw:
        tags = set(r["tags"].split(";"))
        assert tags and tags <= TAGS, (r["id"], tags - TAGS)
        asks = r["needs_clarification"] == "true"
        assert asks == r["notes"].startswith("Ask:"), r["id"]
        assert "2026-11-25" in r["notes"], r["id"]
    share = sum(r["needs_clarification"] == "true" for r in raw) / len(raw)
    assert share <= 0.20


def test_probe_requests_are_not_dev_requests() -> None:
    """No probe request repeats a request of the tenant's dev ground truth."""
    for path in FILES:
        tenant = load_tenant(_tenant_of(path))
        dev = {r.query.strip().lower() for r in tenant.ground_truth}
        probe = {r.query.strip().lower() for r in load_ground_truth(path)}
        assert not dev & probe
