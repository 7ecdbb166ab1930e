"""Bad segment JSON through `segwork sql` (validates before compiling) and `segwork validate`.

`sql` refuses with exit 2 and the problem; `validate` reports rule issues with exit 1. Every case
names what to fix. The facet names are the northstar demo tenant's.
"""
from __future__ import annotations

import json
import time

import pytest

from tests.bad_input.helpers import assert_refused, bounded, run_cli  # noqa: F401 - fixture

T = ["--tenant", "northstar"]
PLUS = {"facet": "Membership Tier", "op": "in", "values": ["Plus"]}
SPEND = "Spend 12M"
DATE = "Purchase Date R2D2"


def c(facet: str, op: str, **kw) -> dict:
    return {"facet": facet, "op": op, **kw}


SQL_CASES = [
    # (id, segment JSON text, message)
    ("object without cohorts", "{}", r"A segment is a JSON list of conditions"),
    ("a string", '"Plus members"', r"A segment is a JSON list of conditions"),
    ("empty list", "[]", r"no conditions"),
    ("a number as condition", "[1]", r"condition 1 must be an object"),
    ("facet missing", json.dumps([{"op": "in", "values": ["Plus"]}]), r"facet is required"),
    ("op missing", json.dumps([{"facet": "Membership Tier"}]), r"op is required"),
    ("unknown op", json.dumps([c("State", "equals", values=["Texas"])]), r"op 'equals' is not an op; use one of in, not_in"),
    ("unknown key", json.dumps([{**PLUS, "colour": "red"}]), r"unknown key 'colour'"),
    ("unknown facet", json.dumps([c("Sate", "in", values=["Texas"])]), r"unknown facet 'Sate'; nearest: State"),
    ("unknown value", json.dumps([c("State", "in", values=["Texsas"])]), r"State has no value 'Texsas'; nearest: Texas"),
    ("values a string", json.dumps([c("State", "in", values="Texas")]), r"values must be a list of strings"),
    ("values numbers", json.dumps([c("State", "in", values=[1, 2])]), r"values must be a list of strings"),
    ("values empty", json.dumps([c("State", "in", values=[])]), r"State in needs at least one value"),
    ("between on categorical", json.dumps([c("State", "between", min=1)]), r"op 'between' is not allowed \(use in, not_in\)"),
    ("is_true on categorical", json.dumps([c("State", "is_true")]), r"op 'is_true' is not allowed"),
    ("in on boolean", json.dumps([c("Email Opt In", "in", values=["yes"])]), r"op 'in' is not allowed \(use is_true, is_false\)"),
    ("min NaN", f'[{{"facet": "{SPEND}", "op": "between", "min": NaN}}]', r"finite number"),
    ("max Infinity", f'[{{"facet": "{SPEND}", "op": "between", "max": Infinity}}]', r"finite number"),
    ("min true", json.dumps([c(SPEND, "between", min=True)]), r"a bound must be a number or an ISO date, not True"),
    ("min words", json.dumps([c(SPEND, "between", min="a lot")]), r"bound 'a lot' must be a number"),
    ("min above max", json.dumps([c(SPEND, "between", min=500, max=100)]), r"min 500 is greater than max 100"),
    ("bound out of range", json.dumps([c(SPEND, "between", min=-50)]), r"-50 is outside 0\.\.100000 USD"),
    ("between without bounds", json.dumps([c(SPEND, "between")]), r"between needs min or max"),
    ("dates min after max", json.dumps([c(DATE, "between", min="2026-05-01", max="2026-01-01")]), r"min 2026-05-01 is after max 2026-01-01; swap them"),
    ("date words", json.dumps([c(DATE, "between", min="last week")]), r"'last week' is not an ISO date"),
    ("days zero", json.dumps([c(DATE, "within_last_days", days=0)]), r"needs days between 1 and 36,500, not 0"),
    ("days huge", json.dumps([c(DATE, "within_last_days", days=99999999999)]), r"days between 1 and 36,500"),
    ("days true", json.dumps([c(DATE, "within_last_days", days=True)]), r"days must be a whole number of days, not True"),
    ("days string", json.dumps([c(DATE, "within_last_days", days="90")]), r"days must be a whole number of days"),
    ("days fraction", json.dumps([c(DATE, "within_last_days", days=7.5)]), r"days must be a whole number of days, not 7\.5"),
    ("days missing", json.dumps([c(DATE, "within_last_days")]), r"needs days between 1 and 36,500"),
    ("date feb 30", json.dumps([c(DATE, "on_or_after", date="2026-02-30")]), r"date '2026-02-30' is not an ISO date"),
    ("date missing", json.dumps([c(DATE, "on_or_after")]), r"on_or_after needs a date"),
    ("unknown tier", json.dumps([c("Propensity Brand", "in", values=["Scoop"], tier="TOP 15")]), r"no tier 'TOP 15'; tiers: TOP 5"),
    ("tier on categorical", json.dumps([{**PLUS, "tier": "TOP 10"}]), r"not a propensity facet; remove tier"),
    ("cohorts a string", json.dumps({"cohorts": "Plus"}), r'"cohorts" must be a non-empty list'),
    ("cohorts empty", json.dumps({"cohorts": []}), r'"cohorts" must be a non-empty list'),
    ("cohort a number", json.dumps({"cohorts": [5]}), r"cohort 1 must be a list of conditions"),
    ("too many cohorts", json.dumps({"cohorts": [[PLUS]] * 21}), r"21 cohorts; at most 20"),
    ("too many values", json.dumps([c("State", "in", values=["Texas"] * 501)]), r"501 values in one condition; at most 500"),
    ("trailing comma", '[{"facet": "State", "op": "in", "values": ["Texas"]},]', r"not valid JSON \(line 1"),
    ("gold and not gold", json.dumps([PLUS, c("membership tier", "not_in", values=["plus"])]), r"required to be and not to be Plus"),
    ("true and false", json.dumps([c("Email Opt In", "is_true"), c("Email Opt In", "is_false")]), r"required both true and false"),
    ("bought in the last 7 days and never", json.dumps([c("Purchased Brand", "in", values=["Scoop"]), c(DATE, "within_last_days", days=7),
                                                        c("Purchased Brand", "not_in", values=["Scoop"])]), r"Purchased Brand: required to be and not to be Scoop"),
    ("ranges that cannot overlap", json.dumps([c(SPEND, "between", min=500), c(SPEND, "between", max=100)]), r"at least 500 and at most 100 cannot both hold"),
    ("two values of a one-value column", json.dumps([PLUS, c("Membership Tier", "in", values=["Basic"])]), r"require different ones: Plus and Basic"),
    ("deprecated facet", json.dumps([c("Propensity Division Strict", "in", values=["Womens"])]), r"Propensity Division Strict is deprecated; use Propensity Division"),
    ("mutually exclusive", json.dumps([c("Age Band", "in", values=["65+"]), c("Generation", "in", values=["Baby Boomer"])]), r"Age Band and Generation cannot be used together"),
    ("missing pairing", json.dumps([c("Propensity Super Department", "in", values=["Apparel"])]), r"needs Propensity Division.*fix: add Propensity Division"),
    ("email without consent", json.dumps([c("Email Deliverable", "is_true")]), r"must carry email consent \(Email Opt In is_true\)"),
    ("email without consent, lower case", json.dumps([c("  email deliverable ", "is_true")]), r"must carry email consent"),
]


@pytest.mark.parametrize("text,message", [x[1:] for x in SQL_CASES], ids=[x[0] for x in SQL_CASES])
def test_sql_refuses_a_bad_segment(tmp_path, capsys, bounded, text, message):
    path = tmp_path / "segment.json"
    path.write_text(text)
    result = run_cli(capsys, "sql", path, *T)
    assert_refused(result, 2, message)
    assert "SELECT" not in result.out  # nothing compiled


VALIDATE_CASES = [
    ("consent", [c("Email Deliverable", "is_true")], r"\[error\] An email audience must carry email consent.*-> add Email Opt In is_true"),
    ("exclusion", [c("Customer Status", "in", values=["Lapsed"]), c("Days Since Last Purchase", "between", min=60)], r"cannot be used together"),
    ("contradiction", [c("EMAIL OPT IN", "is_true"), c("email opt in", "is_false")], r"\[error\] Email Opt In: required both true and false"),
    ("deprecated", [c("propensity division strict", "in", values=["womens"])], r"deprecated; use Propensity Division"),
]


@pytest.mark.parametrize("spec,message", [x[1:] for x in VALIDATE_CASES], ids=[x[0] for x in VALIDATE_CASES])
def test_validate_reports_rule_issues(tmp_path, capsys, bounded, spec, message):
    path = tmp_path / "segment.json"
    path.write_text(json.dumps(spec))
    assert_refused(run_cli(capsys, "validate", path, *T), 1, rf"Invalid for Northstar Mart.*{message}")


def test_two_thousand_conditions_are_refused_quickly(tmp_path, capsys, bounded):
    path = tmp_path / "segment.json"
    path.write_text(json.dumps([c(SPEND, "between", min=i % 1000) for i in range(2000)]))
    started = time.perf_counter()
    result = run_cli(capsys, "sql", path, *T)
    assert_refused(result, 2, r"2000 conditions; at most 50 are allowed")
    assert time.perf_counter() - started < 5  # refused up front, not after minutes of compiling


def test_case_and_spacing_variants_compile_to_catalog_values(tmp_path, capsys, bounded):
    """The control: names in another case are resolved, not refused, and the SQL carries the catalog's spelling."""
    path = tmp_path / "segment.json"
    path.write_text(json.dumps([c(" membership  TIER ", "IN", values=["plus"])]))
    result = run_cli(capsys, "sql", path, *T)
    assert result.code == 0 and "'Plus'" in result.out and "'plus'" not in result.out, result.text
