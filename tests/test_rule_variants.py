"""Every rule and policy holds whatever the case and spacing of the names a segment uses.

The rules are read from each tenant's catalog and tenant.yaml (no tenant's names are written here),
then each is tried with the facet and value names written in other cases and spacings.
"""
from __future__ import annotations

import json

import pytest

from core.catalog import Facet
from core.config import Settings
from core.rules import autofix, validate
from core.segment import Condition, Segment
from core.tenant import Tenant, list_tenants, load_tenant

VARIANTS = {
    "lower": str.lower,
    "upper": str.upper,
    "padded": lambda s: f"  {s}\t",
    "double spaces": lambda s: s.replace(" ", "  "),
    "swapped case": str.swapcase,
}
TENANTS = list_tenants(Settings.load())


@pytest.fixture(scope="module", params=TENANTS)
def tenant(request) -> Tenant:
    return load_tenant(request.param, Settings.load())


def cond(facet: Facet, spell=lambda s: s) -> dict:
    """A well-formed condition on the facet, its names spelled by `spell`."""
    d: dict = {"facet": spell(facet.name)}
    if facet.kind in ("propensity", "categorical"):
        d.update(op="in", values=[spell(facet.value_list[0])])
    elif facet.kind == "date":
        d.update(op="within_last_days", days=30)
    elif facet.kind == "numeric":
        d.update(op="between", min=facet.numeric_range.min)
    else:
        d.update(op="is_true")
    return d


def codes(report, code: str) -> list:
    return [i for i in report.issues if i.code == code]


@pytest.mark.parametrize("variant", VARIANTS)
def test_pairings_hold_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    assert tenant.catalog.rules.pairings or tenant.catalog.rules.mutually_exclusive
    for p in tenant.catalog.rules.pairings:
        when = tenant.catalog.get(p.when)
        seg = Segment.from_spec([cond(when, spell)])
        issues = codes(validate(seg, tenant), "pairing")
        assert [i.facet for i in issues] == [p.require], (variant, p.when)
        fixed, notes = autofix(seg, tenant)
        assert p.require in {c.facet for c in fixed.all_conditions()}
        assert when.name in {c.facet for c in fixed.all_conditions()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_mutual_exclusions_hold_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    for m in tenant.catalog.rules.mutually_exclusive:
        seg = Segment.from_spec([cond(tenant.catalog.get(name), spell) for name in m.facets])
        issues = codes(validate(seg, tenant), "exclusive")
        assert issues and not validate(seg, tenant).ok, (variant, m.facets)
        assert all(name in issues[0].message for name in m.facets)


@pytest.mark.parametrize("variant", VARIANTS)
def test_banned_facets_hold_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    facet = next(f for f in tenant.catalog.active_facets if f.kind == "categorical")
    # the ban itself written in another case in tenant.yaml must still bind
    policies = tenant.config.policies.model_copy(update={"banned_facets": [facet.name.upper()]})
    banned = Tenant(id=tenant.id, root=tenant.root, catalog=tenant.catalog,
                    config=tenant.config.model_copy(update={"policies": policies}), settings=tenant.settings)
    report = validate(Segment.from_spec([cond(facet, spell)]), banned)
    assert [i.facet for i in codes(report, "banned")] == [facet.name] and not report.ok


@pytest.mark.parametrize("variant", VARIANTS)
def test_email_consent_holds_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    email = tenant.catalog.rules.reachability.get("email", [])
    if not (tenant.config.policies.email_requires_consent and len(email) > 1):
        pytest.skip("tenant has no email consent policy")
    consent, other = email[0], email[1]
    seg = Segment.from_spec([{"facet": spell(other.facet), "op": other.op}])
    report = validate(seg, tenant)
    assert [i.facet for i in codes(report, "consent")] == [consent.facet] and not report.ok
    fixed, _ = autofix(seg, tenant)
    assert any(c.facet == consent.facet and c.op == consent.op for c in fixed.all_conditions())
    with_consent = Segment.from_spec([{"facet": spell(other.facet), "op": other.op},
                                      {"facet": spell(consent.facet), "op": consent.op.upper()}])
    assert not codes(validate(with_consent, tenant), "consent")


@pytest.mark.parametrize("variant", VARIANTS)
def test_deprecated_facets_are_flagged_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    old = next(f for f in tenant.catalog.facets if f.deprecated)
    seg = Segment.from_spec([cond(old, spell)])
    report = validate(seg, tenant)
    assert not report.ok and any(f"{old.name} is deprecated" in i.message for i in report.issues)
    fixed, _ = autofix(seg, tenant)
    assert fixed.all_conditions()[0].facet == tenant.catalog.resolve(old.name).name


@pytest.mark.parametrize("variant", VARIANTS)
def test_values_and_tiers_resolve_to_catalog_spelling(tenant, variant):
    spell = VARIANTS[variant]
    prop = next(f for f in tenant.catalog.active_facets if f.kind == "propensity")
    spec = [{**cond(prop, spell), "tier": spell(prop.tiers[0])}]
    seg = Segment.from_spec(spec, tenant.catalog)
    c = seg.all_conditions()[0]
    assert (c.facet, c.values, c.tier) == (prop.name, [prop.value_list[0]], prop.tiers[0])
    assert not codes(validate(Segment.from_spec(spec), tenant), "structure")


@pytest.mark.parametrize("variant", VARIANTS)
def test_contradictions_are_reported_in_any_case(tenant, variant):
    spell = VARIANTS[variant]
    facet = next(f for f in tenant.catalog.active_facets if f.kind == "categorical")
    value = facet.value_list[0]
    seg = Segment.from_spec([{"facet": facet.name, "op": "in", "values": [value]},
                             {"facet": spell(facet.name), "op": "not_in", "values": [spell(value)]}])
    report = validate(seg, tenant)
    assert [i.facet for i in codes(report, "contradiction")] == [facet.name] and not report.ok
    flag = next(f for f in tenant.catalog.active_facets if f.kind == "boolean")
    both = Segment.from_spec([{"facet": flag.name, "op": "is_true"}, {"facet": spell(flag.name), "op": "is_false"}])
    assert "both true and false" in validate(both, tenant).summary()


def test_contradictory_ranges_and_windows(tenant):
    num = next(f for f in tenant.catalog.active_facets if f.kind == "numeric")
    lo, hi = num.numeric_range.min, num.numeric_range.max
    mid = (lo + hi) / 2
    seg = Segment.from_spec([{"facet": num.name, "op": "between", "min": mid},
                             {"facet": num.name.lower(), "op": "between", "max": lo}])
    assert codes(validate(seg, tenant), "contradiction")
    one = Segment.from_spec([{"facet": num.name, "op": "between", "min": hi, "max": lo}])
    assert "greater than max" in validate(one, tenant).summary()
    date = next(f for f in tenant.catalog.active_facets if f.kind == "date")
    dates = Segment.from_spec([{"facet": date.name, "op": "between", "min": "2026-05-01", "max": "2026-01-01"}])
    assert "after max" in validate(dates, tenant).summary() and not validate(dates, tenant).ok
    after = Segment.from_spec([{"facet": date.name, "op": "on_or_after", "date": "2026-06-01"},
                               {"facet": date.name, "op": "between", "max": "2026-01-01"}])
    assert codes(validate(after, tenant), "contradiction")


def test_rules_hold_through_the_cli(tenant, tmp_path, capsys):
    """The same variants through `segwork validate` in process: exit 1 and the rule named."""
    from core.cli import main

    email = tenant.catalog.rules.reachability["email"]
    path = tmp_path / "seg.json"
    path.write_text(json.dumps([{"facet": f"  {email[1].facet.lower()} ", "op": email[1].op}]))
    assert main(["validate", str(path), "--tenant", tenant.id]) == 1
    assert f"carry email consent ({email[0].facet}" in capsys.readouterr().out


def test_rules_hold_through_the_validate_tool(tenant):
    from core.tools import ToolContext, run_tool

    p = tenant.catalog.rules.pairings[0] if tenant.catalog.rules.pairings else None
    if p is None:
        pytest.skip("tenant has no pairing")
    spec = [cond(tenant.catalog.get(p.when), str.upper)]
    obs = run_tool(ToolContext(tenant), "validate_segment", {"segment": spec})
    assert obs.ok and not obs.result.ok and any(i.code == "pairing" for i in obs.result.issues)


def test_sql_uses_catalog_spelling_of_values(tenant):
    from core.sqlbuild import compile_segment

    facet = next(f for f in tenant.catalog.active_facets if f.kind == "categorical")
    value = next(v for v in facet.value_list if v.lower() != v)
    sql = compile_segment(Segment.from_spec([{"facet": facet.name.lower(), "op": "in", "values": [value.lower()]}]), tenant)
    assert f"'{value}'" in sql and f"'{value.lower()}'" not in sql


def test_condition_ops_in_any_case():
    c = Condition.model_validate({"facet": "X", "op": " Not In ", "values": ["a"]})
    assert c.op == "not_in"


def test_the_opposite_of_reachability_needs_no_consent(tenant):
    """'Customers whose email bounces' (a clean-up list) is not an email audience: no consent is added."""
    email = tenant.catalog.rules.reachability.get("email", [])
    flags = [c for c in email[1:] if c.op in ("is_true", "is_false")]
    if not (tenant.config.policies.email_requires_consent and flags):
        pytest.skip("tenant has no email consent policy on a flag")
    consent, other = email[0], flags[0]
    opposite = "is_false" if other.op == "is_true" else "is_true"
    seg = Segment.from_spec([{"facet": other.facet, "op": opposite}])
    assert not codes(validate(seg, tenant), "consent")
    fixed, _ = autofix(seg, tenant)
    assert consent.facet not in {c.facet for c in fixed.all_conditions()}
