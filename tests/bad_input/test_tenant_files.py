"""Broken tenant folders (written to temp dirs): each is refused when loaded, naming the file, the field and the fix.

The CLI is the entry point (`segwork sql SEG --tenant X` loads the tenant first): exit 2, one message.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from core.config import Settings
from core.rules import validate
from core.segment import Segment
from core.tenant import list_tenants, load_tenant
from tests.bad_input.helpers import assert_refused, bounded, copy_tenant, edit, run_cli  # noqa: F401 - fixture

CAT, CONF = "catalog.yaml", "tenant.yaml"


def on(file: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: edit(root / file, old, new)


def write(file: str, data: bytes | str) -> Callable[[Path], None]:
    def go(root: Path) -> None:
        (root / file).write_bytes(data if isinstance(data, bytes) else data.encode())
    return go


def make_dir(file: str) -> Callable[[Path], None]:
    def go(root: Path) -> None:
        (root / file).unlink()
        (root / file).mkdir()
    return go


def remove(file: str) -> Callable[[Path], None]:
    return lambda root: (root / file).unlink()


SPEND = "  - name: Spend 12M\n    kind: numeric\n    group: Purchase History\n    description: Total net spend across all channels in the last 12 months.\n    values: {min: 0, max: 100000, unit: USD}"
STRICT_DIV = "    deprecated: true\n    replaced_by: Propensity Division\n  - name: Propensity Category Strict"

CASES = [
    # (id, mutation of a copy of northstar, message naming file/field and fix)
    ("catalog tenant_id mismatch", on(CAT, "tenant_id: northstar", "tenant_id: southstar"), r"catalog.yaml: tenant_id: 'southstar' does not match its folder 'northstar'"),
    ("catalog missing", remove(CAT), r"unknown tenant 'northstar' \(no catalog.yaml\)"),
    ("tenant.yaml missing", remove(CONF), r"tenant.yaml: file not found"),
    ("tenant.yaml a folder", make_dir(CONF), r"tenant.yaml: .*is a folder"),
    ("catalog invalid yaml", on(CAT, "fiscal_year_start_month: 2", "fiscal_year_start_month: [2"), r"catalog.yaml: line \d+: invalid YAML"),
    ("catalog latin-1", lambda r: (r / CAT).write_bytes((r / CAT).read_bytes().replace(b"Northstar Mart", "Northstar Marché".encode("latin-1"), 1)), r"catalog.yaml: .*not UTF-8 text"),
    ("catalog empty", write(CAT, ""), r"catalog.yaml: must be a YAML mapping"),
    ("catalog a list", write(CAT, "- a\n- b\n"), r"catalog.yaml: must be a YAML mapping"),
    ("tenant.yaml a scalar", write(CONF, "just words\n"), r"tenant.yaml: must be a YAML mapping with display_name and bindings"),
    ("catalog deeply nested", write(CAT, "a: " + "[" * 5000 + "]" * 5000 + "\n"), r"catalog.yaml: .*(nested too deeply|invalid YAML)"),
    ("facet kind unknown", on(CAT, SPEND, SPEND.replace("kind: numeric", "kind: number")), r"facet 'Spend 12M'.*kind"),
    ("numeric min above max", on(CAT, SPEND, SPEND.replace("{min: 0, max: 100000", "{min: 100000, max: 0")), r"facet 'Spend 12M'.*values.min \(100000\) must be below values.max \(0\)"),
    ("numeric bound infinite", on(CAT, SPEND, SPEND.replace("max: 100000", "max: .inf")), r"facet 'Spend 12M'.*finite number"),
    ("replaced_by loops", on(CAT, STRICT_DIV, STRICT_DIV.replace("replaced_by: Propensity Division", "replaced_by: Propensity Division Strict")), r"replaced_by chain Propensity Division Strict -> Propensity Division Strict loops"),
    ("replaced_by unknown", on(CAT, STRICT_DIV, STRICT_DIV.replace("replaced_by: Propensity Division", "replaced_by: Propensity Divisoin")), r"replaced_by names unknown facet 'Propensity Divisoin'"),
    ("deprecated without replacement", on(CAT, STRICT_DIV, STRICT_DIV.replace("    replaced_by: Propensity Division\n", "")), r"a deprecated facet needs replaced_by"),
    ("example for unknown value", on(CAT, '    Fresh Fruit: [', '    Fresh Fruits: ['), r"facet 'Propensity Category'.*value_examples names values that are not in values: \['Fresh Fruits'\]"),
    ("duplicate facet", on(CAT, "  - name: Generation\n", "  - name: Age Band\n"), r"facet names must be unique; repeated: \['Age Band'\]"),
    ("pairing unknown facet", on(CAT, "require: Propensity Division\n", "require: Propensity Divisions\n"), r"rules.pairings: unknown facet 'Propensity Divisions'"),
    ("pairing names deprecated facet", on(CAT, "require: Propensity Division\n", "require: Propensity Division Strict\n"), r"rules.pairings: 'Propensity Division Strict' is deprecated; name its replacement"),
    ("exclusion unknown facet", on(CAT, "- facets: [Age Band, Generation]", "- facets: [Age Band, Generations]"), r"rules.mutually_exclusive: unknown facet 'Generations'"),
    ("reachability wrong op", on(CAT, "{facet: Email Opt In, op: is_true}", "{facet: Email Opt In, op: in}"), r"rules.reachability.email: op 'in' does not apply to Email Opt In"),
    ("fiscal month 13", on(CAT, "fiscal_year_start_month: 2", "fiscal_year_start_month: 13"), r"fiscal_year_start_month: .*less than or equal to 12"),
    ("season month 13", on(CAT, "Spring: [3, 4, 5]", "Spring: [3, 4, 13]"), r"seasons.Spring: months must be numbers 1-12"),
    ("narrow share above broad", on(CONF, "too_narrow_share: 0.0005", "too_narrow_share: 0.6"), r"too_narrow_share \(0.6\) must be below too_broad_share \(0.5\)"),
    ("broad share above 1", on(CONF, "too_broad_share: 0.5", "too_broad_share: 5"), r"thresholds.too_broad_share: .*less than or equal to 1"),
    ("f1 as text", on(CONF, "f1: 0.80", "f1: high"), r"thresholds.f1: .*valid number"),
    ("sample_percent 0", on(CONF, "sample_percent: 1 ", "sample_percent: 0 "), r"dryrun.sample_percent: .*greater than 0"),
    ("sample_percent negative", on(CONF, "sample_percent: 1 ", "sample_percent: -5 "), r"dryrun.sample_percent: .*greater than 0"),
    ("sample_percent above 100", on(CONF, "sample_percent: 1 ", "sample_percent: 150 "), r"dryrun.sample_percent: .*less than or equal to 100"),
    ("sample_percent true", on(CONF, "sample_percent: 1 ", "sample_percent: true "), r"dryrun.sample_percent: .*valid number"),
    ("min_audience negative", on(CONF, "min_audience: 1000", "min_audience: -1"), r"policies.min_audience: .*greater than or equal to 0"),
    ("consent flag as text", on(CONF, "email_requires_consent: true", "email_requires_consent: sometimes"), r"policies.email_requires_consent: .*valid boolean"),
    ("banned facet unknown", on(CONF, "banned_facets: []", "banned_facets: [Credit Score]"), r"unknown facet 'Credit Score'"),
    ("breakdown unknown", on(CONF, "breakdowns: [Region,", "breakdowns: [Regio,"), r"unknown facet 'Regio'; nearest: Region"),
    ("binding for unknown facet", on(CONF, "  Email Opt In: {", "  Email Opt-Out: {source: customer, column: x}\n  Email Opt In: {"), r"bindings.Email Opt-Out: not a facet of the catalog"),
    ("binding missing", on(CONF, "  Email Opt In: {source: customer, column: email_opt_in, gen: {p: 0.64}}\n", ""), r"bindings.Email Opt In: missing: every active facet needs a data binding"),
    ("binding without column", on(CONF, "Email Opt In: {source: customer, column: email_opt_in,", "Email Opt In: {source: customer,"), r"bindings.Email Opt In: source 'customer' needs 'column'"),
    ("binding unknown source", on(CONF, "Email Opt In: {source: customer,", "Email Opt In: {source: crm,"), r"bindings.Email Opt In.source"),
    ("warehouse customers 0", on(CONF, "  customers: 200000", "  customers: 0"), r"warehouse.customers: .*greater than or equal to 1"),
    ("llm max_tokens 0", on(CONF, "  mapping: claude-sonnet-4-6\n", "  mapping: claude-sonnet-4-6\n  max_tokens: 0\n"), r"llm.max_tokens: .*greater than or equal to 1"),
    ("unknown top-level key", on(CONF, "display_name: Northstar Mart", "display_name: Northstar Mart\ncolour: blue"), r"tenant.yaml: colour: Extra inputs are not permitted"),
]


@pytest.fixture
def broken(tmp_path, monkeypatch):
    root = copy_tenant(tmp_path)
    monkeypatch.setenv("SEGWORK_TENANTS_DIR", str(tmp_path / "tenants"))
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]}]))
    return root, seg


@pytest.mark.parametrize("mutate,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_tenant_file_is_refused(broken, capsys, bounded, mutate, message):
    root, seg = broken
    mutate(root)
    assert_refused(run_cli(capsys, "sql", seg, "--tenant", "northstar"), 2, message)


def test_unbroken_copy_loads(broken, capsys, bounded):
    """The control: the untouched copy compiles."""
    root, seg = broken
    result = run_cli(capsys, "sql", seg, "--tenant", "northstar")
    assert result.code == 0 and "'Plus'" in result.out, result.text


def test_case_twin_folder_is_refused(tmp_path, capsys, bounded, monkeypatch):
    """A folder `Harbor` beside `harbor` would share harbor's index and warehouse files: both refused by name."""
    copy_tenant(tmp_path, "harbor")
    shutil.copytree(tmp_path / "tenants" / "harbor", tmp_path / "tenants" / "Harbor")
    monkeypatch.setenv("SEGWORK_TENANTS_DIR", str(tmp_path / "tenants"))
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps([{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}]))
    assert_refused(run_cli(capsys, "sql", seg, "--tenant", "harbor"), 2, r"folders Harbor, harbor differ only in case.*rename or remove Harbor")
    assert_refused(run_cli(capsys, "index", "--tenant", "Harbor"), 2, r"'Harbor' is not a tenant id")


def test_banned_facet_written_in_lower_case_still_binds(tmp_path, bounded, monkeypatch):
    root = copy_tenant(tmp_path)
    edit(root / CONF, "banned_facets: []", "banned_facets: [  age band ]")
    tenant = load_tenant("northstar", Settings.load().with_overrides(tenants_dir=tmp_path / "tenants"))
    assert tenant.config.policies.banned_facets == ["Age Band"]
    report = validate(Segment.from_spec([{"facet": "AGE BAND", "op": "in", "values": ["65+"]}]), tenant)
    assert not report.ok and "Age Band may not be used for targeting" in report.summary()


def test_binding_to_a_missing_column_is_named_when_the_warehouse_opens(tmp_path, capsys, bounded, monkeypatch):
    """A warehouse made for the tenant, then a binding edited to a column it does not have."""
    from core.warehouse import generate

    root = copy_tenant(tmp_path)
    settings = Settings.load().with_overrides(tenants_dir=tmp_path / "tenants", data_dir=tmp_path / "data")
    generate(load_tenant("northstar", settings), customers=300, seed=1)
    edit(root / CONF, "Region: {source: customer, column: region,", "Region: {source: customer, column: home_region,")
    for var, value in {"SEGWORK_TENANTS_DIR": tmp_path / "tenants", "SEGWORK_DATA_DIR": tmp_path / "data"}.items():
        monkeypatch.setenv(var, str(value))
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps([{"facet": "Membership Tier", "op": "in", "values": ["Plus"]}]))
    assert_refused(run_cli(capsys, "dryrun", seg, "--tenant", "northstar"), 2,
                   r"tenant.yaml: bindings: facet Region: column home_region not in customers.*Fix the binding")


def test_listing_keeps_a_broken_tenant_visible(tmp_path, bounded):
    """A broken folder is still listed (so the app can show its error in place) beside the working one."""
    copy_tenant(tmp_path)
    broken = copy_tenant(tmp_path, "harbor")
    (broken / CONF).write_text("display_name: [\n")
    settings = Settings.load().with_overrides(tenants_dir=tmp_path / "tenants")
    assert list_tenants(settings) == ["harbor", "northstar"]
    assert load_tenant("northstar", settings).display_name == "Northstar Mart"
    with pytest.raises(Exception, match=r"tenant.yaml: line \d+: invalid YAML"):
        load_tenant("harbor", settings)
