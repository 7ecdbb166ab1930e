"""OfflinePolicy: reads the request with the catalog's own vocabulary and drives the same tools as Claude.

A turn is a coroutine: each `yield` hands the loop an action and receives its observations.
"""
from __future__ import annotations

import re
from typing import Generator

from core.reader.split import CohortSplit, audience_or, split_cohorts
from core.reader.common import STOP, Ambiguity, _overlap
from core.reader.lexicon import typo_vocabulary
from core.reader.understand import Understander
from core.policies.base import (Action, Clarify, ClarifyOption, Finish, Gate, LLMUsage, Observation, SplitCohorts,
                                ToolCall, TurnContext)
from core.reader.account import Coverage, combine
from core.reader.clarify import MAX_OPTIONS, NothingGrounded, facet_value_options, nearest_facet_options, readable_content_words
from core.catalog import Facet
from core.cohorts import cohort_request
from core.rules import autofix
from core.segment import Cohort, Condition, Segment
from core.tenant import Tenant

Plan = Generator[Action, list[Observation], None]
MATERIAL_RATIO = 1.25  # readings whose audiences differ by less than this are decided silently, when they
                       # also share the tenant's `thresholds.same_audience_overlap` of their customers


class OfflinePolicy:
    name = "offline"

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self._plan: Plan | None = None
        self._answer: str | None = None

    def start(self, turn: TurnContext) -> None:
        self.turn = turn
        self._plan = self._edit(turn) if turn.mode == "edit" and turn.draft else self._new(turn)
        self._started = False

    def next_action(self, observations: list[Observation]) -> Action:
        assert self._plan is not None, "start() first"
        if not self._started:
            self._started = True
            return next(self._plan)
        return self._plan.send(observations)

    def answer(self, answer: str) -> None:
        self._answer = answer

    def last_usage(self) -> LLMUsage | None:
        return None

    # ---- a new segment -----------------------------------------------------------------------
    def _new(self, turn: TurnContext) -> Plan:
        cat = self.tenant.catalog
        if turn.mode == "new":
            split = split_cohorts(turn.request, cat) or self._audience_or(turn)
            if split is not None:
                if (index := self._index()) is not None:  # every worker's facet search shares the first model call
                    for text in split.cohorts:
                        index.expect_request(cohort_request(text, split.shared))
                        Understander(cat, turn.today, index).expect(cohort_request(text, split.shared))
                yield SplitCohorts(cohorts=split.cohorts, shared=split.shared,
                                   thought=f"Two audiences joined by 'or': {split.cohorts}; shared: {split.shared}")
                return
        index = self._index()
        if index is not None:
            index.expect_request(turn.request)  # the search_facets call below then needs no model call of its own
        reader = Understander(cat, turn.today, index, self._quantiles)
        reading = reader.read(turn.request)
        checks = [c for c in reading.conditions
                  if c.provenance and c.provenance.evidence.method in ("fuzzy", "partial") and c.values]
        if index is not None:  # phrases the value checks below will embed join the search's model call
            for c in checks:
                index.expect_value_search(c.provenance.span, c.facet)
        yield Gate("decomposition", reading.phrases, thought=f"Phrases: {reading.phrases}")
        obs = yield ToolCall("search_facets", {"query": turn.request, "k": 10},
                             thought="Retrieve the catalog facets this request may name.")
        hits = obs[0].result.hits if obs and obs[0].ok else []
        if not reading.conditions and not any(conds for a in reading.ambiguities for _, conds in a.options):
            # nothing read, or only 'build without …' questions: building without would leave no audience
            yield from self._nothing_grounded(turn, [h.facet for h in hits], reading)
            return
        conds = [_with_evidence(c, hits) for c in reading.conditions]
        for c in checks:
            yield ToolCall("get_facet_values", {"facet": c.facet, "phrase": c.provenance.span, "k": 3},
                           thought=f"Check that '{c.provenance.span}' is a real {c.facet} value.")
        yield Gate("shortlist", sorted({c.facet for c in conds}), thought="Facets chosen: " + ", ".join(sorted({c.facet for c in conds})))
        segment = yield from self._fix(Segment(cohorts=[Cohort(conditions=conds)]), reading.notes)
        segment = yield from self._clarify(segment, reading.ambiguities, reader, turn)
        yield from self._finish(segment, reading.coverage)

    def _audience_or(self, turn: TurnContext) -> CohortSplit | None:
        """An 'or' between two audiences the words alone show (no model call: the catalog's own words decide)."""
        if not re.search(r"\bor\b", turn.request, re.I):
            return None
        return audience_or(Understander(self.tenant.catalog, turn.today).read(turn.request).coverage, self.tenant.catalog)

    def _nothing_grounded(self, turn: TurnContext, nearest: list[str], reading) -> Plan:
        """No phrase named a facet: ask with the facets retrieval found nearest, each option sized; when the
        words name no value of them, ask which facet, then which of its values (never a dead end)."""
        known = typo_vocabulary(self.tenant.catalog).known
        readable = readable_content_words(turn.request, STOP, known)
        if not readable:
            raise NothingGrounded(f"'{turn.request}' names no condition: every customer is not a segment. "
                                  "Name what the audience did, has or is (a product, a place, a status, a time window).")
        options = nearest_facet_options(nearest, self.tenant.catalog, turn.request)
        question = f"No words in '{turn.request}' name a catalog facet directly. The nearest are below; which did you mean?"
        if not options:
            facet = yield from self._pick_facet(turn, nearest)
            options = facet_value_options(facet, self.tenant.catalog)
            question = f"Which {facet.name} do you mean?"
        segment = yield from self._ask_options(question, options, f"Nothing grounded; nearest facets from search: {nearest[:5]}")
        yield from self._finish(segment, reading.coverage)

    def _pick_facet(self, turn: TurnContext, nearest: list[str]) -> Generator[Action, list[Observation], Facet]:
        facets = [f for f in (self.tenant.catalog.get(n) for n in nearest) if f is not None and not f.deprecated
                  and facet_value_options(f, self.tenant.catalog)][:MAX_OPTIONS]
        if not facets:
            raise NothingGrounded(f"Nothing in '{turn.request}' matched the catalog, and search found no facet near it. "
                                  "Name what the audience did, has or is (a product, a place, a status).")
        yield Clarify(question=f"No words in '{turn.request}' name a catalog facet or value. Which of these is closest?",
                      default=0, options=[ClarifyOption(label=f.name, value=f.name, segment_hint=f.description[:80])
                                          for f in facets],
                      thought=f"Nothing grounded and no value named; nearest facets from search: {nearest[:5]}")
        return facets[self._answered([f.name for f in facets])]

    def _ask_options(self, question: str, options: list, thought: str) -> Generator[Action, list[Observation], Segment]:
        """Size each option, ask, and return the segment of the one answered (the first by default)."""
        segs = [autofix(Segment(cohorts=[Cohort(conditions=list(o.conditions))]), self.tenant)[0] for o in options]
        hints = []
        for o, seg in zip(options, segs):
            obs = yield ToolCall("check_customer_count", {"segment": _spec(seg)}, thought=f"Size the option '{o.label}'.")
            hints.append(_size_hint(obs[0].result) if obs and obs[0].ok else "")
        yield Clarify(question=question, default=0,
                      options=[ClarifyOption(label=o.label, value=o.label, segment_hint=h) for o, h in zip(options, hints)],
                      thought=thought)
        return segs[self._answered([o.label for o in options])]

    def _answered(self, labels: list[str]) -> int:
        """Which option the marketer's answer picked, by label or number; the first (the default) otherwise."""
        answer = (self._answer or "").strip()
        self._answer = None
        by_label = [i for i, label in enumerate(labels) if label.lower() == answer.lower()]
        if by_label:
            return by_label[0]
        return int(answer) if answer.isdigit() and int(answer) < len(labels) else 0

    def _fix(self, segment: Segment, notes: list[str]) -> Generator[Action, list[Observation], Segment]:
        segment, applied = autofix(segment, self.tenant)
        yield Gate("mapping", segment, thought="; ".join(notes + applied) or "Values mapped.")
        obs = yield ToolCall("validate_segment", {"segment": _spec(segment)}, thought="Check rules and policies.")
        report = obs[0].result if obs and obs[0].ok else None
        if report is not None and not report.ok:
            bad = {i.facet for i in report.errors if i.code in ("structure", "exclusive", "banned") and i.facet}
            if bad:
                segment = _drop(segment, bad)
                segment, _ = autofix(segment, self.tenant)
                yield ToolCall("validate_segment", {"segment": _spec(segment)},
                               thought=f"Dropped {sorted(bad)} to satisfy the rules; validate again.")
        return segment

    def _clarify(self, segment: Segment, ambiguities: list[Ambiguity], reader: Understander,
                 turn: TurnContext) -> Generator[Action, list[Observation], Segment]:
        for amb in ambiguities[:1]:
            readings = [(label, self._apply(segment, amb, conds)) for label, conds in amb.options]
            counts, sized = [], []
            for label, seg in readings[:3]:  # every reading that builds an audience is sized ('build without' too)
                if not seg.all_conditions():
                    sized.append("")
                    continue
                obs = yield ToolCall("check_customer_count", {"segment": _spec(seg)},
                                     thought=f"Size the reading '{label}'.")
                counts.append(obs[0].result.estimate if obs and obs[0].ok else 0)
                sized.append(_size_hint(obs[0].result) if obs and obs[0].ok else "")
            if all(conds for _, conds in amb.options[:2]):
                lo, hi = min(counts), max(counts)
                if lo > 0 and hi / lo < MATERIAL_RATIO and self._same_people(readings[0][1], readings[1][1]):
                    yield Gate("mapping", readings[0][1], thought=f"'{amb.phrase}' is ambiguous but the readings size alike "
                               f"({lo:,}–{hi:,}) and reach the same customers; using '{amb.options[0][0]}' without asking.")
                    return readings[0][1]
            hint = sized + [""] * len(readings)
            yield Clarify(question=amb.question, default=0,
                          options=[ClarifyOption(label=label, value=label, segment_hint=h)
                                   for (label, _), h in zip(readings, hint)],
                          thought=f"'{amb.phrase}' has several readings that change the audience materially.")
            answer = (self._answer or "").strip()
            self._answer = None
            chosen = next((seg for label, seg in readings if label.lower() == answer.lower()), None)
            if chosen is None and answer.isdigit() and int(answer) < len(readings):
                chosen = readings[int(answer)][1]
            if chosen is None:
                extra = reader.read(f"{turn.request}, {answer}")
                chosen = _merge(segment, extra.conditions, replace=set(amb.replaces))
            segment, _ = autofix(chosen, self.tenant)
        return segment

    def _same_people(self, a: Segment, b: Segment) -> bool:
        """Readings of similar size may still reach different customers; only a large overlap is 'the same'."""
        try:
            from core.dryrun import get_dryrunner

            _, share = get_dryrunner(self.tenant).overlap(a, b)
        except Exception:  # noqa: BLE001 - without a sample, fall back to sizes alone
            return True
        return share >= self.tenant.config.thresholds.same_audience_overlap

    def _apply(self, segment: Segment, amb: Ambiguity, conds: list[Condition]) -> Segment:
        default_conds = {id(c) for c in amb.options[0][1]}
        keep = [c for c in segment.cohorts[0].conditions if c.facet not in amb.replaces and id(c) not in default_conds]
        seg = Segment(cohorts=[Cohort(conditions=keep + list(conds))])
        return autofix(seg, self.tenant)[0]

    def _finish(self, segment: Segment, coverage: Coverage | None = None) -> Plan:
        obs = yield ToolCall("check_customer_count", {"segment": _spec(segment)}, thought="Shadow dry-run of the final segment.")
        size = f" — {_size_hint(obs[0].result)}" if obs and obs[0].ok else ""
        unused = f" Not used: {', '.join(repr(w) for w in coverage.unused)}." if coverage and coverage.unused else ""
        yield Finish(segment=segment, summary=segment.render() + size + unused, coverage=coverage,
                     thought="The segment is valid and sized." + unused)

    # ---- editing the current draft -------------------------------------------------------------
    def _edit(self, turn: TurnContext) -> Plan:
        draft = turn.draft.model_copy(deep=True)
        text = turn.request.strip()
        low = text.lower()
        reader = Understander(self.tenant.catalog, turn.today, self._index(), self._quantiles)
        m_cohort = re.search(r"\b(?:as|for) (?:a |an )?(?:second|another|new|separate|2nd) (?:cohort|audience|group)\b", low)
        m_remove = re.match(r"^\s*(?:please\s+)?(drop|remove|delete|take out|forget|without|no longer (?:need|want))\s+(?:the\s+)?(.+)$", low)
        coverage = None  # the edit's own words and what each became, for the workbench's map
        if m_cohort:
            body = (text[: m_cohort.start()] + text[m_cohort.end():]).strip()
            body = re.sub(r"^\s*(add|also add|include|plus)\s+", "", body, flags=re.I)
            new = reader.read(body)
            coverage = _edit_coverage(text, body, new.coverage, "adds a cohort")
            thought = f"Add a cohort: {body}"
            draft = Segment(cohorts=[*draft.cohorts, Cohort(conditions=new.conditions, label=body)])
        elif m_remove:
            target = m_remove.group(2)
            draft, removed = _remove(draft, target, self.tenant)
            thought = f"Remove {removed or 'nothing matched'} ('{target}')"
        else:
            body = re.sub(r"^\s*(also|and also|plus|add|include|make it|make that|change it to|change to|instead|now|"
                          r"just|only|but|set|use)\s+", "", text, flags=re.I)
            new = reader.read(body)
            coverage = _edit_coverage(text, body, new.coverage, "says how to change the draft")
            only = bool(re.match(r"^\s*(only|just)\b", low))
            draft = _apply_edit(draft, new.conditions, self.tenant, body, only)
            draft = _apply_dates(draft, body, self.tenant, turn, [c for c in new.conditions])
            thought = f"Edit the draft with: {[c.render() for c in new.conditions] or body}"
        yield Gate("decomposition", [text], thought=thought)
        segment = yield from self._fix(draft, [])
        yield from self._finish(segment, coverage)

    def _quantiles(self, facet: str, shares: list[float]) -> list[float]:
        """A numeric facet's values at `shares` of the tenant's sample; none without a sample."""
        try:
            from core.dryrun import get_dryrunner

            return get_dryrunner(self.tenant).quantiles(facet, shares)
        except Exception:  # noqa: BLE001 - without a sample there are no bands to offer
            return []

    def _index(self):
        try:
            from core.retrieval import get_index
            return get_index(self.tenant)
        except Exception:  # noqa: BLE001 - reading works without retrieval, just less well
            return None


# ---- helpers -----------------------------------------------------------------------------------

def _size_hint(result) -> str:
    """`34 customers (exact)` when the dry-run counted exactly, else `~1,240 customers` (a sample estimate)."""
    if getattr(result, "exact", False):
        return f"{result.estimate:,} customers (exact)"
    return f"~{result.estimate:,} customers"


def _edit_coverage(text: str, body: str, read: Coverage | None, instruction: str) -> Coverage | None:
    """The map of an edit message: the words of its body as read; the words cut off the body ('only', 'as a new
    cohort') as what they did."""
    if read is None:
        return None
    words = lambda t: {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']*", t)}  # noqa: E731
    return combine(text, [read], STOP, {w: instruction for w in words(text) - words(body)})


def _spec(segment: Segment) -> list | dict:
    return segment.spec()


def _with_evidence(c: Condition, hits) -> Condition:
    """Attach retrieval evidence and runner-up facets to a condition's provenance."""
    if c.provenance is None:
        return c
    hit = next((h for h in hits if h.facet == c.facet), None)
    ev = c.provenance.evidence
    if hit is not None:
        ev.score, ev.dense_rank, ev.lexical_rank = hit.score, hit.dense_rank, hit.lexical_rank
        ev.matched_synonym = ev.matched_synonym or hit.matched_synonym
    if not c.provenance.alternatives:
        same = [h.facet for h in hits if h.facet != c.facet and h.kind == (hit.kind if hit else h.kind)]
        c.provenance.alternatives = same[:3]
    return c


def _drop(segment: Segment, facets: set[str]) -> Segment:
    return _without_empty([Cohort(conditions=[c for c in co.conditions if c.facet not in facets], label=co.label)
                           for co in segment.cohorts])


def _without_empty(cohorts: list[Cohort]) -> Segment:
    """An emptied cohort is dropped: OR-ed in, it would match everyone."""
    kept = [co for co in cohorts if co.conditions]
    return Segment(cohorts=kept or cohorts[:1])


def _merge(segment: Segment, conds: list[Condition], replace: set[str]) -> Segment:
    base = [c for c in segment.cohorts[0].conditions if c.facet not in replace]
    names = {c.facet for c in base}
    return Segment(cohorts=[Cohort(conditions=base + [c for c in conds if c.facet not in names])])


def _remove(draft: Segment, target: str, tenant: Tenant) -> tuple[Segment, list[str]]:
    """Remove the conditions a phrase points at (facet words, level words like 'brand', or values)."""
    cat = tenant.catalog
    removed: list[str] = []
    cohorts = []
    for co in draft.cohorts:
        scores = []
        for c in co.conditions:
            f = cat.get(c.facet)
            words = " ".join([c.facet, *(f.synonyms if f else []), *(c.values or []), (f.hierarchy_level or "") if f else "",
                              f.kind if f else ""])
            if f is not None and f.kind == "date":
                words += " date window days time period"
            scores.append(_overlap(target, words))
        best = max(scores, default=0)
        keep = [c for c, s in zip(co.conditions, scores) if not (best > 0 and s == best)]
        removed += [c.facet for c, s in zip(co.conditions, scores) if best > 0 and s == best]
        cohorts.append(Cohort(conditions=keep, label=co.label))
    # a removed pairing parent takes its paired child with it
    for p in cat.rules.pairings:
        if p.when in removed:
            cohorts = [Cohort(conditions=[c for c in co.conditions if c.facet != p.require], label=co.label) for co in cohorts]
            removed.append(p.require)
    return _without_empty(cohorts), sorted(set(removed))


def _apply_dates(draft: Segment, body: str, tenant: Tenant, turn: TurnContext, new: list[Condition]) -> Segment:
    """'make it the last 30 days': a bare date window retimes the draft's date conditions."""
    from core.text.dates import find_dates

    cat = tenant.catalog
    if any((f := cat.get(c.facet)) and f.kind == "date" for c in new):
        return draft
    spans = [d for d in find_dates(body, turn.today, cat.fiscal_year_start_month, cat.seasons) if d.op != "month"]
    if not spans:
        return draft
    d = spans[0]
    kw = {"within_last_days": {"days": d.days}, "on_or_after": {"date": d.date}, "between": {"min": d.min, "max": d.max}}[d.op]
    cohorts = []
    for co in draft.cohorts:
        conds = []
        for c in co.conditions:
            f = cat.get(c.facet)
            if f is not None and f.kind == "date":
                c = Condition(facet=c.facet, op=d.op, provenance=c.provenance, **kw)
            conds.append(c)
        cohorts.append(Cohort(conditions=conds, label=co.label))
    return Segment(cohorts=cohorts)


def _apply_edit(draft: Segment, new: list[Condition], tenant: Tenant, body: str, only: bool) -> Segment:
    """Merge edit conditions into every cohort: the same facet is replaced; tiers and windows update."""
    cat = tenant.catalog
    tier = re.search(r"\btop\s+(\d+)|most likely|highly likely", body.lower())
    cohorts = []
    for co in draft.cohorts:
        conds = list(co.conditions)
        for n in new:
            f = cat.get(n.facet)
            same = [c for c in conds if c.facet == n.facet or (f and f.kind == "date" and (cf := cat.get(c.facet))
                                                                 and cf.kind == "date" and c.facet == n.facet)]
            if f is not None and f.kind == "date" and not same:
                same = [c for c in conds if (cf := cat.get(c.facet)) and cf.kind == "date" and cf.scope == f.scope]
            for c in same:
                conds.remove(c)
            conds.append(n)
        if tier and not any(cat.get(n.facet) and cat.get(n.facet).kind == "propensity" for n in new):
            wanted = next((n.tier for n in new if n.tier), None)
            if wanted is None:
                prop = next((cat.get(c.facet) for c in conds if cat.get(c.facet) and cat.get(c.facet).kind == "propensity"), None)
                if prop is not None:
                    wanted = (cat.tier_for_percent(prop, float(tier.group(1))) if tier.group(1) else
                              cat.tier_for_percent(prop, 10))
            conds = [c.model_copy(update={"tier": wanted}) if wanted and cat.get(c.facet) and cat.get(c.facet).kind == "propensity" else c
                     for c in conds]
        cohorts.append(Cohort(conditions=conds, label=co.label))
    return Segment(cohorts=cohorts)
