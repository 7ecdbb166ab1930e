"""Tenant rules and policies over a segment: issues with fixes, and the deterministic autofixes."""
from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field

from core.catalog import Catalog
from core.segment import Cohort, Condition, Segment, canonicalize, check_segment
from core.tenant import Tenant

Severity = Literal["error", "warning"]


class Issue(BaseModel):
    code: str
    severity: Severity = "error"
    cohort: int = 1
    facet: str = ""
    message: str
    fix: str = ""


class ValidationReport(BaseModel):
    ok: bool
    issues: list[Issue] = Field(default_factory=list)

    def summary(self) -> str:
        if not self.issues:
            return "valid: no issues"
        return "; ".join(f"[{i.severity}] {i.message}" for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def validate(segment: Segment, tenant: Tenant, dryrun: Any = None, channel: str | None = None) -> ValidationReport:
    """Structural checks, catalog rules, tenant policies and (with a dry-run) audience size."""
    cat = tenant.catalog
    segment = canonicalize(segment, cat)  # rules compare exact names
    issues = [Issue(code="structure", message=m) for m in check_segment(segment, cat)]
    for n, co in enumerate(segment.cohorts, 1):
        issues += _cohort_rules(co, n, tenant)
        issues += contradictions(co, n, tenant)
    issues += _policies(segment, tenant, channel)
    if dryrun is not None:
        issues += _size(dryrun, tenant)
    return ValidationReport(ok=not any(i.severity == "error" for i in issues), issues=issues)


def _cohort_rules(co: Cohort, n: int, tenant: Tenant) -> list[Issue]:
    cat = tenant.catalog
    out: list[Issue] = []
    by_facet = {c.facet: c for c in co.conditions}
    for p in cat.rules.pairings:
        when = by_facet.get(p.when)
        if when is None or when.op != "in":
            continue
        need = by_facet.get(p.require)
        want = _paired_values(cat, p.values_from, when.values or [], p.when, p.require)
        if need is None:
            out.append(Issue(code="pairing", cohort=n, facet=p.require,
                             message=f"{p.when} needs {p.require} ({p.why})", fix=f"add {p.require} {want}"))
        elif p.same_tier and (need.tier or cat.rules.default_tier) != (when.tier or cat.rules.default_tier):
            out.append(Issue(code="pairing_tier", cohort=n, facet=p.require,
                             message=f"{p.require} must use the same tier as {p.when}", fix=f"set tier {when.tier}"))
    for m in cat.rules.mutually_exclusive:
        both = [f for f in m.facets if f in by_facet]
        if len(both) > 1:
            out.append(Issue(code="exclusive", cohort=n, facet=both[1],
                             message=f"{' and '.join(both)} cannot be used together ({m.why})", fix=f"remove {both[1]}"))
    banned = {cat.get(b).name if cat.get(b) else b for b in tenant.config.policies.banned_facets}
    for c in co.conditions:
        if c.facet in banned:
            out.append(Issue(code="banned", cohort=n, facet=c.facet,
                             message=f"{c.facet} may not be used for targeting at {tenant.display_name}", fix=f"remove {c.facet}"))
    return out


def contradictions(co: Cohort, n: int, tenant: Tenant) -> list[Issue]:
    """Conditions of one cohort that no customer can meet together ("Gold and not Gold", min > max)."""
    out: list[Issue] = []
    by_facet: dict[str, list[Condition]] = {}
    for c in co.conditions:
        by_facet.setdefault(c.facet, []).append(c)
    for facet, conds in by_facet.items():
        for message in _conflicts(conds, tenant):
            out.append(Issue(code="contradiction", cohort=n, facet=facet, message=f"{facet}: {message}",
                             fix=f"keep one of the conflicting {facet} conditions"))
    return out


def _conflicts(conds: list[Condition], tenant: Tenant) -> list[str]:
    out: list[str] = []
    ops = {c.op for c in conds}
    if {"is_true", "is_false"} <= ops:
        out.append("required both true and false")
    default = tenant.catalog.rules.default_tier
    for inc in (c for c in conds if c.op == "in"):
        for exc in (c for c in conds if c.op == "not_in" and (c.tier or default) == (inc.tier or default)):
            left = set(inc.values or []) - set(exc.values or [])
            if not left:
                both = ", ".join(sorted(set(inc.values or []) & set(exc.values or [])))
                out.append(f"required to be and not to be {both}")
    single = _single_valued(conds[0].facet, tenant)
    ins = [set(c.values or []) for c in conds if c.op == "in" and c.tier is None]
    if single and len(ins) > 1 and not set.intersection(*ins):
        out.append("one customer has one value, but the conditions require different ones: "
                   + " and ".join("/".join(sorted(v)) for v in ins))
    out += _range_conflicts([c for c in conds if c.op in ("between", "on_or_after")])
    return out


def _single_valued(facet: str, tenant: Tenant) -> bool:
    """A customer column that holds one value per customer (not a list, not purchase rows)."""
    b = tenant.config.bindings.get(facet)
    f = tenant.catalog.get(facet)
    return b is not None and f is not None and b.source == "customer" and not b.multi and f.kind == "categorical"


def _range_conflicts(conds: list[Condition]) -> list[str]:
    """Bounds from different conditions on one facet that do not overlap (ISO dates compare as text)."""
    lows = [(i, c.min if c.op == "between" else c.date) for i, c in enumerate(conds)]
    highs = [(i, c.max) for i, c in enumerate(conds) if c.op == "between"]
    out = []
    for i, lo in lows:
        for j, hi in highs:
            comparable = type(lo) is type(hi) or all(isinstance(x, (int, float)) for x in (lo, hi))
            if i != j and lo is not None and hi is not None and comparable and lo > hi:
                out.append(f"at least {lo} and at most {hi} cannot both hold")
    return list(dict.fromkeys(out))


def _paired_values(cat: Catalog, map_name: str | None, values: list[str], when: str, require: str) -> list[str]:
    """Values the required facet must carry: children of named parents, or parents of named children."""
    hmap = cat.hierarchy_map(map_name or "")
    req = cat.get(require)
    allowed = set(req.value_list) if req else set()
    out: list[str] = []
    for v in values:
        if v in hmap:  # v is a parent: all its children
            kids = [k for k in hmap[v] if k in allowed]
            out += kids
        else:  # v is a child: its parents
            out += [p for p, kids in hmap.items() if v in kids and p in allowed]
    return list(dict.fromkeys(out))


def _policies(segment: Segment, tenant: Tenant, channel: str | None) -> list[Issue]:
    pol = tenant.config.policies
    out: list[Issue] = []
    email = tenant.catalog.rules.reachability.get("email", [])
    if pol.email_requires_consent and email:
        consent = email[0]
        for n, co in enumerate(segment.cohorts, 1):
            is_email = channel == "email" or any(_reaches(c, email) for c in co.conditions)
            if is_email and not any(c.facet == consent.facet and c.op == consent.op for c in co.conditions):
                out.append(Issue(code="consent", cohort=n, facet=consent.facet,
                                 message=f"An email audience must carry email consent ({consent.facet} {consent.op})",
                                 fix=f"add {consent.facet} {consent.op}"))
    return out


def _size(dryrun: Any, tenant: Tenant) -> list[Issue]:
    out: list[Issue] = []
    verdict = getattr(dryrun, "verdict", "ok")
    # size_text() labels the figure exact or estimated (~); a bare estimate is an estimate.
    size = dryrun.size_text() if hasattr(dryrun, "size_text") else f"~{getattr(dryrun, 'estimate', 0):,} customers"
    if verdict in ("too_narrow", "empty"):
        out.append(Issue(code="too_narrow", severity="warning", message=f"The audience is too narrow ({size}); loosen a condition"))
    elif verdict == "too_broad":
        out.append(Issue(code="too_broad", severity="warning", message=f"The audience is too broad ({dryrun.share:.0%} of customers); add a condition"))
    floor = tenant.config.policies.min_audience
    if floor and getattr(dryrun, "estimate", floor) < floor and verdict != "empty":
        out.append(Issue(code="min_audience", severity="warning",
                         message=f"{size[0].upper()}{size[1:]} is under the minimum audience of {floor:,}"))
    return out


def autofix(segment: Segment, tenant: Tenant) -> tuple[Segment, list[str]]:
    """Deterministic fixes: deprecated facets -> replacement, missing pairings, consent. Returns notes."""
    cat = tenant.catalog
    segment = canonicalize(segment, cat)
    notes: list[str] = []
    cohorts = []
    for co in segment.cohorts:
        conds: list[Condition] = []
        for c in co.conditions:
            f = cat.get(c.facet)
            if f is not None and f.deprecated:
                repl = cat.resolve(f.name)
                notes.append(f"{f.name} is retired; using {repl.name}")
                c = c.model_copy(update={"facet": repl.name})
            conds.append(c)
        conds = _merge_same_facet(conds)
        conds = _apply_pairings(conds, tenant, notes)
        conds = _apply_consent(conds, tenant, notes)
        cohorts.append(Cohort(conditions=conds, label=co.label))
    return segment.model_copy(update={"cohorts": cohorts}), notes


def _merge_same_facet(conds: list[Condition]) -> list[Condition]:
    out: list[Condition] = []
    for c in conds:
        prev = next((p for p in out if p.facet == c.facet and p.op == c.op and c.op in ("in", "not_in")), None)
        if prev is not None:
            vals = list(dict.fromkeys((prev.values or []) + (c.values or [])))
            out[out.index(prev)] = prev.model_copy(update={"values": vals})
        elif not any(p.facet == c.facet and p.op == c.op for p in out):
            out.append(c)
    return out


def _apply_pairings(conds: list[Condition], tenant: Tenant, notes: list[str]) -> list[Condition]:
    cat = tenant.catalog
    for p in cat.rules.pairings:
        when = next((c for c in conds if c.facet == p.when and c.op == "in"), None)
        if when is None:
            continue
        tier = when.tier or cat.rules.default_tier
        have = next((c for c in conds if c.facet == p.require), None)
        if have is None:
            values = _paired_values(cat, p.values_from, when.values or [], p.when, p.require)
            if not values:
                continue
            new = Condition(facet=p.require, op="in", values=values, tier=tier if p.same_tier else None,
                            provenance=when.provenance.model_copy(update={"note": f"added by rule: {p.why}"}) if when.provenance else None)
            conds.insert(conds.index(when) + 1, new)
            notes.append(f"added {p.require} {values} ({p.why})")
        elif p.same_tier and (have.tier or cat.rules.default_tier) != tier:
            conds[conds.index(have)] = have.model_copy(update={"tier": tier})
            notes.append(f"{p.require} tier set to {tier} to match {p.when}")
    return conds


def _apply_consent(conds: list[Condition], tenant: Tenant, notes: list[str]) -> list[Condition]:
    email = tenant.catalog.rules.reachability.get("email", [])
    if not (tenant.config.policies.email_requires_consent and email):
        return conds
    consent = email[0]
    names = {c.facet for c in conds}
    if any(_reaches(c, email[1:]) for c in conds) and consent.facet not in names:
        conds.append(Condition(facet=consent.facet, op=consent.op))
        notes.append(f"added {consent.facet} ({consent.op}): email audiences need consent")
    return conds


def _reaches(c: Condition, channel: list) -> bool:
    """The condition is one of the channel's reachability conditions as stated there ('Email Deliverable
    is_true'); its opposite ('the email bounces', a clean-up list) reaches nobody by email."""
    return any(c.facet == r.facet and c.op == r.op for r in channel)


def validate_cli(tenant: Tenant, segment: Segment, args: Any) -> int:
    """`segwork validate`: exit 0 when valid, 1 with the issues when not."""
    report = validate(segment, tenant)
    if args.json:
        print(json.dumps(report.model_dump(), indent=2))
    elif report.ok and not report.issues:
        print(f"Valid for {tenant.display_name}: {segment.render()}")
    else:
        print(f"{'Valid with warnings' if report.ok else 'Invalid'} for {tenant.display_name}:")
        for i in report.issues:
            fix = f" -> {i.fix}" if i.fix else ""
            print(f"  - [{i.severity}] {i.message}{fix}")
    return 0 if report.ok else 1
