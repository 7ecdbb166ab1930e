"""Segment model: JSON round trip, rendering, validation with suggestions."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.catalog import load_catalog
from core.errors import SegmentError, TenantError
from core.segment import Condition, Segment, check_segment, validate_segment_strict

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ns_catalog():
    return load_catalog(ROOT / "tenants/northstar/catalog.yaml")


def test_round_trip_single_and_multi_cohort():
    single = [{"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 5"},
              {"facet": "Purchase Date R2D2", "op": "within_last_days", "days": 90}]
    seg = Segment.from_spec(single)
    assert seg.spec() == single
    assert Segment.from_json(seg.to_json()).spec() == single
    multi = {"cohorts": [single, [{"facet": "Email Opt In", "op": "is_true"}]]}
    seg2 = Segment.from_spec(multi)
    assert len(seg2.cohorts) == 2
    assert seg2.spec() == multi


def test_render_reads_like_a_sentence():
    seg = Segment.from_spec({"cohorts": [
        [{"facet": "State", "op": "in", "values": ["Texas", "Florida"]},
         {"facet": "Spend 12M", "op": "between", "min": 1000}],
        [{"facet": "Marketing Suppressed", "op": "is_false"}]]})
    assert seg.render() == "(State is Texas or Florida AND Spend 12M at least 1000) OR (not Marketing Suppressed)"


def test_bad_json_says_where():
    with pytest.raises(SegmentError, match="line 1"):
        Segment.from_json("[{")
    with pytest.raises(SegmentError, match="op"):
        Segment.from_spec([{"facet": "State", "op": "equals", "values": ["Texas"]}])


def test_unknown_facet_and_value_suggest_nearest(ns_catalog):
    seg = Segment.from_spec([{"facet": "Propensity Brnd", "op": "in", "values": ["Scoop"]}])
    with pytest.raises(SegmentError) as exc:
        validate_segment_strict(seg, ns_catalog)
    assert "Propensity Brand" in exc.value.suggestions
    seg = Segment.from_spec([{"facet": "Propensity Brand", "op": "in", "values": ["Free Assmbly"]}])
    with pytest.raises(SegmentError) as exc:
        validate_segment_strict(seg, ns_catalog)
    assert exc.value.suggestions[0] == "Free Assembly"


def test_check_segment_catches_kind_errors(ns_catalog):
    seg = Segment.from_spec([
        {"facet": "Spend 12M", "op": "in", "values": ["1000"]},
        {"facet": "Propensity Brand", "op": "in", "values": ["Scoop"], "tier": "TOP 15"},
        {"facet": "Spend 12M", "op": "between", "min": 10, "max": 5},
        {"facet": "Purchase Date R2D2", "op": "between", "min": "last week"},
        {"facet": "Propensity Brand Strict", "op": "in", "values": ["Scoop"]},
    ])
    problems = " | ".join(check_segment(seg, ns_catalog))
    assert "op 'in' is not allowed" in problems
    assert "no tier 'TOP 15'" in problems
    assert "min 10 is greater than max 5" in problems
    assert "not an ISO date" in problems
    assert "deprecated; use Propensity Brand" in problems


def test_catalog_helpers(ns_catalog):
    brand = ns_catalog.get("propensity brand")
    assert brand is not None and brand.name == "Propensity Brand"
    assert ns_catalog.resolve("Propensity Division Strict").name == "Propensity Division"
    assert ns_catalog.canonical_value(brand, "ns essentials") == "Northstar Essentials"
    assert ns_catalog.tier_for_percent(brand, 15) == "TOP 20"
    assert ns_catalog.tier_for_percent(brand, 10) == "TOP 10"
    assert ns_catalog.parents_of("super_department_divisions", "Patio & Garden") == ["Auto & Home Improvement"]


def test_malformed_catalog_names_file_facet_and_field(tmp_path):
    src = (ROOT / "tenants/harbor/catalog.yaml").read_text()
    bad = src.replace("  - name: Trips 13 Weeks\n    kind: numeric", "  - name: Trips 13 Weeks\n    kind: number", 1)
    assert bad != src
    p = tmp_path / "catalog.yaml"
    p.write_text(bad)
    with pytest.raises(TenantError) as exc:
        load_catalog(p)
    msg = str(exc.value)
    assert str(p) in msg and "facet 'Trips 13 Weeks'" in msg and "kind" in msg


def test_invalid_yaml_names_the_line(tmp_path):
    p = tmp_path / "catalog.yaml"
    p.write_text("tenant_id: x\nfacets: [\n  - oops: : :\n")
    with pytest.raises(TenantError, match="line"):
        load_catalog(p)


def test_condition_spec_omits_empty_keys():
    c = Condition(facet="Email Opt In", op="is_true")
    assert json.loads(json.dumps(c.spec())) == {"facet": "Email Opt In", "op": "is_true"}
