"""Segment Workbench: the navigation frame and the workbench page (chat beside the draft it builds)."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import streamlit as st

import pages.common as common
from core.conversation import classify
from core.diff import diff_segments
from core.editing import (add_condition, build_condition, exclude_everywhere, member_condition, remove_cohort,
                          remove_condition, replace_condition, size_change, swap_alternative)
from core.errors import WorkbenchError
from core.library import parse_tags
from core.policies import active_policy_name
from core.segment import Segment, resolve_members
from core.store import SaveConflict
from pages.common import dryrunner_for, pick_tenant, store, tenant_for
from pages.common import warmup
from pages.common.coverage import show as show_coverage
from pages.common.format import plural, reach_line, relative_time
from pages.common.session import WorkbenchState

if TYPE_CHECKING:
    from core.agent import Agent
    from core.trace import TraceStep

# The agent (its tools, the dry-run engine, sqlglot), pandas and altair are imported where they are
# first used: the page paints before they load, and the agent warms up in the background.

st.set_page_config(page_title="Segment Workbench", layout="wide")


@st.cache_resource(show_spinner=False)
def agent_for(tenant_id: str) -> "Agent":
    from core.agent import make_agent

    return make_agent(tenant_for(tenant_id))


STARTERS = {
    "northstar": ["Spring fashion shoppers likely to buy Free Assembly women's clothing, email reachable, bought in the last 90 days",
                  "Customers in the South who are email reachable",
                  "Free Assembly women's clothing buyers or Scoop footwear buyers from the last 90 days"],
    "harbor": ["Gold rewards members likely to buy organic produce",
               "Our best customers",
               "Weekend shoppers who are email reachable"],
}


# ---- state: session, URL, autosave ------------------------------------------------------------
def current_state(tenant_id: str) -> WorkbenchState:
    """This browser's workbench state; after a reload or from a link, restored from the URL's ids."""
    key = f"wb:{tenant_id}"
    wb = st.session_state.get(key)
    if wb is None:
        wb = restore_state(tenant_id, st.query_params.get("draft"), st.query_params.get("segment"))
        st.session_state[key] = wb
    st.query_params["draft"] = wb.draft_id
    if wb.segment_id is not None:
        st.query_params["segment"] = str(wb.segment_id)
    elif "segment" in st.query_params:
        del st.query_params["segment"]
    return wb


def restore_state(tenant_id: str, draft_id: str | None, segment_id: str | None) -> WorkbenchState:
    saved = store().load_draft(draft_id) if draft_id else None
    if saved is not None and saved[0] == tenant_id:
        wb = WorkbenchState.from_dict(tenant_id, draft_id, saved[1])
        st.session_state.setdefault("owner", saved[1].get("owner", ""))
    elif segment_id and segment_id.isdigit():
        wb = open_saved(tenant_id, int(segment_id))
    else:
        return WorkbenchState(tenant_id=tenant_id)
    try:
        rerun_dryrun(wb)
    except WorkbenchError as exc:
        wb.say(f"The restored draft cannot be sized: {exc}")
    return wb


def open_saved(tenant_id: str, segment_id: int) -> WorkbenchState:
    try:
        v = store().get_version(segment_id)
    except (WorkbenchError, TypeError):
        wb = WorkbenchState(tenant_id=tenant_id)
        wb.say(f"Saved segment {segment_id} was not found; starting a new draft.")
        return wb
    wb = WorkbenchState(tenant_id=tenant_id, draft=v.segment, request=v.request, saved_version=v.n, saved_name=v.name,
                        segment_id=segment_id)
    wb.say(f"Opened **{v.name}** (version {v.n}): `{v.segment.render()}`")
    return wb


def autosave(wb: WorkbenchState) -> None:
    """Store the draft and chat when they changed, so a reload or a crash loses nothing."""
    data = {**wb.to_dict(), "owner": st.session_state.get("owner", "")}
    fingerprint = hash(repr(data))
    if st.session_state.get(f"autosaved:{wb.draft_id}") != fingerprint:
        store().autosave_draft(wb.draft_id, wb.tenant_id, data)
        st.session_state[f"autosaved:{wb.draft_id}"] = fingerprint


# ---- sizing ------------------------------------------------------------------------------------
def resolved(wb: WorkbenchState, segment: Segment | None = None) -> Segment:
    """The draft with its saved-segment rules resolved to their current versions."""
    return resolve_members(segment or wb.draft, lambda i: store().get_version(i).segment,
                           (wb.segment_id,) if wb.segment_id is not None else ())


def rerun_dryrun(wb: WorkbenchState) -> None:
    wb.dryrun = dryrunner_for(wb.tenant_id).run(resolved(wb)) if wb.draft and wb.draft.all_conditions() else None


def size_of(wb: WorkbenchState) -> int | None:
    return wb.dryrun.estimate if wb.dryrun else None


def apply_edit(wb: WorkbenchState, segment: Segment, what: str) -> None:
    """Make `segment` the draft, size it, and say in the chat what changed; a failure changes nothing."""
    before, old = size_of(wb), wb.draft
    wb.set_draft(segment)
    try:
        rerun_dryrun(wb)
    except WorkbenchError as exc:
        wb.undo_last()
        rerun_dryrun(wb)
        st.session_state["flash"] = ("error", f"{what} did not apply: {exc}")
        st.rerun()
    diff = diff_segments(old, segment) if old is not None else None
    wb.changes.append(what)
    wb.say(f":material/edit: {what} — audience {size_change(before, size_of(wb))}.", diff=diff.lines() if diff else [])
    st.rerun()


def undo(wb: WorkbenchState) -> None:
    before, old = size_of(wb), wb.draft
    wb.undo_last()
    rerun_dryrun(wb)
    diff = diff_segments(old, wb.draft) if old is not None and wb.draft is not None else None
    wb.changes.append("undid the last change")
    wb.say(f":material/undo: Undid the last change — audience {size_change(before, size_of(wb))}.", diff=diff.lines() if diff else [])
    st.rerun()


# ---- sidebar ------------------------------------------------------------------------------------
def sidebar(tenant, wb: WorkbenchState) -> None:
    with st.sidebar:
        if active_policy_name(tenant.settings) == "claude":
            st.caption(f"Claude mode — {tenant.config.llm.mapping}")
        else:
            st.caption("Offline mode", help="Set ANTHROPIC_API_KEY to let Claude build segments.")
        if warmup.ready(warm_key(tenant.id)):
            runner = dryrunner_for(tenant.id)
            st.caption(f"Sizes counted on all {runner.population:,} customers" if runner.whole_table else
                       f"Sizes estimated on a sample of {runner.sample_size:,} of {runner.population:,} customers")
        st.text_input("Your name", key="owner", help="Shown as the owner of the segments you save.")
        if st.button("New segment", width="stretch"):
            st.session_state[f"wb:{tenant.id}"] = WorkbenchState(tenant_id=tenant.id)
            st.rerun()


# ---- running a turn -----------------------------------------------------------------------------
def _line(step: "TraceStep") -> str:
    label = step.tool or step.kind
    icon = {"ok": ":material/check_circle:", "error": ":material/warning:", "gate_failed": ":material/block:",
            "fallback": ":material/undo:", "clarify": ":material/help:", "finish": ":material/flag:"}.get(step.status, "•")
    return f"{icon} **{label}** — {step.observation[:160]}"


STATUS_LABEL = {"clarify": "Needs your answer", "done": "Done", "needs_attention": "Needs attention",
                "needs_input": "Needs a description", "failed": "Could not build a segment"}


def run(events, wb: WorkbenchState, slot) -> None:
    """Stream a turn's steps into a status box, then record its outcome."""
    from core.agent import TurnResult

    result: TurnResult | None = None
    with slot, st.status("Building the segment…", expanded=True) as box:
        for ev in events:
            if isinstance(ev, TurnResult):
                result = ev
            else:
                box.write(_line(ev))
        status = result.status if result else "failed"
        box.update(label=STATUS_LABEL.get(status, "Done"), expanded=False,
                   state="complete" if status in ("done", "clarify") else "error")
    settle(wb, result)


def settle(wb: WorkbenchState, result) -> None:
    wb.last = result
    if result is None:
        return
    if result.status == "clarify":
        wb.pending = result.state  # the paused turn lives in this session, not on the shared agent
        wb.say(f":material/help: {result.pending.question}")
        return
    wb.pending = None
    trace_id = log_turn(wb, result)
    shown = {m.text for m in wb.chat if m.role == "assistant"}
    for q, a in result.asked:
        if f":material/help: {q.question}" not in shown:  # decided without asking: say so after the request, in order
            wb.say(f":material/help: {q.question} — I went with **{a}**.")
    if result.status != "done" or result.segment is None:
        issues = "".join(f"\n- {i}" for i in result.issues)
        wb.say(f"{STATUS_LABEL.get(result.status, 'Not done')}: {result.error or 'no conditions found'}{issues}",
               meter=f"trace #{trace_id}" if trace_id else "")
        return
    request = result.request
    before = size_of(wb)
    diff = diff_segments(wb.draft, result.segment) if wb.draft is not None and result.mode == "edit" else None
    wb.set_draft(result.segment)
    wb.request = wb.request if result.mode == "edit" else request
    wb.changes = [*wb.changes, request] if result.mode == "edit" else [request]
    if result.mode != "edit":
        wb.saved_name, wb.saved_version, wb.segment_id = "", None, None
    wb.dryrun = result.dryrun
    est = result.dryrun.estimate if result.dryrun else 0
    size = result.dryrun.size_text() if result.dryrun else "not counted"
    change = f" (was {before:,}; {est - before:+,})" if before is not None and result.mode == "edit" else ""
    tokens = result.trace.tokens
    meter = f"{result.ms / 1000:.2f} s · {result.steps} steps" + (f" · trace #{trace_id}" if trace_id else "")
    if tokens[0]:
        meter += f" · {tokens[0]:,} in / {tokens[1]:,} out tokens · ${result.trace.cost_usd:.4f}"
    text = f"**{result.segment.render()}**\n\nAudience: **{size}**{change}."
    text += "".join(f"\n\n_{a}_" for a in result.assumptions)
    wb.say(text, diff=diff.lines() if diff else [], meter=meter,
           coverage=result.coverage.model_dump(mode="json") if result.coverage is not None else None)


def log_turn(wb: WorkbenchState, result) -> int | None:
    """Log the turn, its trace and its answered questions; a damaged library loses the log, not the turn."""
    s, request = store(), result.request
    try:
        trace_id = s.log_trace(wb.tenant_id, request, result.status, result.trace.model_dump())
        for q, a in result.asked:
            s.log_clarification(wb.tenant_id, request, q.question, [o.label for o in q.options], a, result.segment, trace_id)
        s.log_turn(wb.tenant_id, request, bool(result.asked))
        return trace_id
    except WorkbenchError as exc:
        st.session_state["flash"] = ("warning", f"This turn was not logged: {exc}")
        return None


def start_turn(wb: WorkbenchState, request: str, mode: str, slot) -> None:
    agent = wait_for_agent(wb.tenant_id)
    wb.pending, wb.choice = None, ""
    draft = resolved(wb) if mode == "edit" and wb.draft is not None else None
    run(agent.iter_turn(request, draft=draft, mode=mode), wb, slot)


def answer(wb: WorkbenchState, text: str, slot) -> None:
    agent = wait_for_agent(wb.tenant_id)
    pending, wb.pending = wb.pending, None
    run(agent.iter_resume(pending, text), wb, slot)


def warm_tasks(tenant) -> list:
    """What a cold process loads before the first answer: the agent's modules, then the embedding model and
    facet index (core's own per-process cache); the cached UI objects are built on the page's thread."""
    import importlib

    from core.retrieval import get_index
    from core.text.normalise import load_word_lists

    return [lambda: importlib.import_module("core.agent"), lambda: importlib.import_module("core.dryrun"),
            lambda: get_index(tenant), load_word_lists]


def warm_key(tenant_id: str) -> str:
    """The warm-up's key: the loaded tenant object, so a reloaded tenant (or a cleared cache) warms up anew."""
    return f"{tenant_id}@{id(tenant_for(tenant_id))}"


def wait_for_agent(tenant_id: str) -> "Agent":
    if not warmup.ready(warm_key(tenant_id)):
        with st.spinner("Loading the language model and facet index…"):
            warmup.wait(warm_key(tenant_id))
    return agent_for(tenant_id)


def agent_router(tenant_id: str):
    """The agent's router once it is warm; before that, the offline heuristic (never blocks a first message)."""
    from core.router import HeuristicRouter

    return agent_for(tenant_id).router if warmup.ready(warm_key(tenant_id)) else HeuristicRouter()


def handle_message(wb: WorkbenchState, text: str, slot) -> None:
    """A message typed in the chat box: an answer, a new audience, an edit, or "which one?"."""
    pending = wb.pending.result.pending if wb.pending is not None else None
    intent = classify(text, wb.draft, pending, agent_router(wb.tenant_id))
    wb.say(text, role="user")
    if intent.intent == "answer":
        answer(wb, intent.answer, slot)
    elif intent.intent == "ask":
        wb.choice = text
    else:
        start_turn(wb, text, intent.intent, slot)
    st.rerun()


# ---- chat column --------------------------------------------------------------------------------
def chat_column(tenant, wb: WorkbenchState) -> None:
    st.subheader(f"Describe an audience — {tenant.display_name}")
    if not wb.chat:
        st.caption("Try one of these:")
        for i, text in enumerate(STARTERS.get(tenant.id, [row.query for row in tenant.ground_truth[:3]])):
            if st.button(text, key=f"starter{i}", width="stretch"):
                st.session_state["queued"] = text
                st.rerun()
    for msg in wb.chat:
        with st.chat_message(msg.role):
            st.markdown(msg.text)
            if msg.coverage:
                show_coverage(msg.coverage)
            if msg.diff:
                st.markdown("Changes:\n" + "\n".join(f"- `{line}`" for line in msg.diff))
            if msg.meter:
                st.caption(msg.meter)
    pending_question(wb)
    new_or_edit(wb)
    slot = st.container()  # a turn's progress shows here, above the chat box
    placeholder = ("Type your answer, or describe a new audience" if wb.pending is not None
                   else "e.g. Plus members in Texas likely to buy a TV, email reachable")
    prompt = st.chat_input(placeholder, key="chat_box")
    queued = st.session_state.pop("queued", None)
    picked = st.session_state.pop("answer", None)
    decided = st.session_state.pop("decided", None)
    if picked and wb.pending is not None:
        wb.say(picked, role="user")
        answer(wb, picked, slot)
        st.rerun()
    if decided and wb.choice:
        start_turn(wb, wb.choice, decided, slot)
        st.rerun()
    if prompt or queued:
        handle_message(wb, prompt or queued, slot)


def pending_question(wb: WorkbenchState) -> None:
    if wb.pending is None or wb.pending.result.pending is None:
        return
    q = wb.pending.result.pending
    with st.chat_message("assistant"):
        st.caption("Pick one, or type your answer in the chat box.")
        for i, opt in enumerate(q.options):
            hint = f" ({opt.segment_hint})" if opt.segment_hint else ""
            if st.button(opt.label + hint + (" — default" if i == q.default else ""), key=f"opt{i}", width="stretch"):
                st.session_state["answer"] = opt.value or opt.label
                st.rerun()


def new_or_edit(wb: WorkbenchState) -> None:
    if not wb.choice:
        return
    with st.chat_message("assistant"):
        st.markdown("Start a new segment or change this one?")
        a, b = st.columns(2)
        if a.button("Start a new segment", width="stretch"):
            st.session_state["decided"] = "new"
            st.rerun()
        if b.button("Change this one", width="stretch"):
            st.session_state["decided"] = "edit"
            st.rerun()


# ---- panel column -------------------------------------------------------------------------------
def summary_bar(wb: WorkbenchState) -> None:
    """The draft at a glance, pinned above the tabs: size, verdict, reachable counts."""
    with st.container(border=True, key="draft_summary"):
        if wb.draft is None or not wb.draft.all_conditions() or wb.dryrun is None:
            st.markdown("**No draft yet** — describe an audience, or add a condition in the builder.")
            return
        d = wb.dryrun
        exact = wb.exact if wb.exact is not None else (d.estimate if d.exact else None)
        size = f"**{exact:,}** {plural(exact, 'customer')} (exact)" if exact is not None \
            else f"**~{d.estimate:,}** {plural(d.estimate, 'customer')} (estimate)"
        n, k = len(wb.draft.all_conditions()), len([c for c in wb.draft.cohorts if c.conditions])
        name = f"**{wb.saved_name}** v{wb.saved_version} · " if wb.saved_name else ""
        st.markdown(f"{name}{size} · {d.verdict.replace('_', ' ')} · {n} {plural(n, 'condition')} in "
                    f"{k} {plural(k, 'cohort')}")
        reach = reach_line(d)
        if reach:
            st.caption(reach)


def draft_tab(tenant, wb: WorkbenchState) -> None:
    if wb.draft is None or not wb.draft.all_conditions():
        st.info("No draft yet: describe an audience in the chat, or add a condition below.")
    else:
        with st.container(key="draft_conditions"):
            conditions_list(tenant, wb)
    if st.button("Undo last change", disabled=not wb.undo, key="undo"):
        undo(wb)
    st.markdown("**Add to this segment**")
    builder(tenant, wb)
    if wb.draft is not None and wb.draft.all_conditions():
        near_dupe = show_overlap(wb)
        save_form(wb, near_dupe)
        conflict_choices(wb)


def conditions_list(tenant, wb: WorkbenchState) -> None:
    cohorts = wb.draft.cohorts
    for ci, co in enumerate(cohorts):
        head, drop = st.columns([8, 3])
        head.markdown(f"**Cohort {ci + 1}**" + (f" — {co.label}" if co.label else "") + (" · or" if ci else ""))
        if len(cohorts) > 1 and drop.button("Remove cohort", key=f"rmco{ci}", width="stretch"):
            apply_edit(wb, remove_cohort(wb.draft, ci), f"Removed cohort {ci + 1}")
        for k, c in enumerate(co.conditions):
            a, b, r = st.columns([5, 2, 2], vertical_alignment="center")
            a.markdown(f"`{c.render()}`")
            with b.popover("Adjust", width="stretch"):
                adjusted = adjust_condition(tenant, c, f"{ci}-{k}")
            if adjusted is not None:
                apply_edit(wb, replace_condition(wb.draft, ci, k, adjusted), f"Adjusted {c.facet}")
            if r.button("Remove", key=f"rm{ci}-{k}", width="stretch"):
                apply_edit(wb, remove_condition(wb.draft, ci, k), f"Removed {c.render()}")


def adjust_condition(tenant, c, key: str):
    """In-place editor for a condition's values, window, tier or bounds; the edited condition or None."""
    f = tenant.catalog.get(c.facet)
    if f is None:
        st.caption("Nothing to adjust for this condition.")
        return None
    update: dict = {}
    if c.op in ("in", "not_in") and f.value_list:
        update["values"] = st.multiselect("Values", f.value_list, default=c.values or [], key=f"v{key}")
        if f.tiers:
            tier = c.tier or tenant.catalog.rules.default_tier
            update["tier"] = st.selectbox("Tier", f.tiers, index=f.tiers.index(tier) if tier in f.tiers else 0, key=f"t{key}")
    elif c.op == "within_last_days":
        update["days"] = int(st.number_input("Days", min_value=1, value=int(c.days or 30), key=f"d{key}"))
    elif c.op == "between" and f.kind == "numeric":
        update["min"] = st.number_input("At least", value=float(c.min) if c.min is not None else None, key=f"lo{key}")
        update["max"] = st.number_input("At most", value=float(c.max) if c.max is not None else None, key=f"hi{key}")
    else:
        st.caption("Nothing to adjust for this condition.")
        return None
    if not st.button("Apply", key=f"apply{key}"):
        return None
    if "values" in update and not update["values"]:
        st.error("Pick at least one value, or remove the condition.")
        return None
    return c.model_copy(update=update)


def builder(tenant, wb: WorkbenchState) -> None:
    """Add a condition from the facet catalog, or a rule on a saved segment, to a cohort of the draft."""
    cohorts = [co for co in (wb.draft.cohorts if wb.draft else []) if co.conditions]
    targets = [f"Cohort {i + 1}" for i in range(len(cohorts))] + ["A new cohort (or)"]
    n = st.session_state.setdefault("builder_round", 0)  # a new round of widget keys empties the builder
    facet_tab, saved_tab = st.tabs(["Condition", "Saved segment"])
    with facet_tab:
        live = [f for f in tenant.catalog.facets if not f.deprecated]
        groups = sorted({f.group for f in live})
        g, pick = st.columns([2, 5])
        group = g.selectbox("Group", ["All groups", *groups], key=f"b_group{n}")
        facets = [f for f in live if group == "All groups" or f.group == group]
        facet = pick.selectbox("Facet", facets, index=None, key=f"b_facet{n}", placeholder="Type to search facets…",
                               format_func=lambda f: f"{f.name} — {f.description}")
        if facet is not None:
            st.caption(f"{facet.group} · {facet.description}")
            inputs = facet_inputs(tenant, facet, n)
            where = st.selectbox("Add to", targets, key=f"b_target{n}")
            if st.button("Add condition", type="primary"):
                try:
                    cond = build_condition(facet, **inputs)
                except WorkbenchError as exc:
                    st.error(str(exc))
                else:
                    st.session_state["builder_round"] = n + 1
                    apply_edit(wb, add_condition(wb.draft, targets.index(where), cond), f"Added {cond.render()}")
    with saved_tab:
        saved_rule(wb, targets, n)


def facet_inputs(tenant, facet, n: int) -> dict:
    """The inputs that fit the facet's kind: values (and tier), a number range, a date window, yes/no."""
    kind = facet.kind
    if kind in ("categorical", "propensity"):
        out = {"values": st.multiselect("Values", facet.value_list, key=f"bv{n}-{facet.name}"),
               "exclude": st.toggle("Exclude these values", key=f"bx{n}-{facet.name}")}
        if kind == "propensity":
            default = tenant.catalog.rules.default_tier
            out["tier"] = st.selectbox("Likelihood tier", facet.tiers, key=f"bt{n}-{facet.name}",
                                       index=facet.tiers.index(default) if default in facet.tiers else 0)
        return out
    if kind == "numeric":
        rng = facet.numeric_range
        lo, hi = st.columns(2)
        unit = f" ({rng.unit})" if rng and rng.unit else ""
        return {"low": lo.number_input(f"At least{unit}", value=None, key=f"blo{n}-{facet.name}"),
                "high": hi.number_input(f"At most{unit}", value=None, key=f"bhi{n}-{facet.name}")}
    if kind == "date":
        days = st.number_input("In the last … days", min_value=1, value=30, key=f"bd{n}-{facet.name}")
        return {"days": int(days)}
    return {"flag": st.radio("Customers who", ["are", "are not"], horizontal=True, key=f"bf{n}-{facet.name}") == "are"}


def saved_rule(wb: WorkbenchState, targets: list[str], n: int) -> None:
    saved = [s for s in store().list_segments(wb.tenant_id) if s.id != wb.segment_id]
    if not saved:
        st.caption("No saved segments yet: save one to include or exclude its members here.")
        return
    chosen = st.selectbox("Saved segment", saved, index=None, key=f"b_saved{n}", placeholder="Pick a saved segment…",
                          format_func=lambda s: f"{s.name} — {s.render}")
    exclude = st.radio("Rule", [False, True], horizontal=True, key=f"b_how{n}",
                       format_func=lambda x: "Exclude its members" if x else "Include its members")
    where = None if exclude else st.selectbox("Add to", targets, key=f"b_saved_target{n}")
    if exclude:
        st.caption("An exclusion applies to every cohort.")
    if st.button("Add rule", type="primary", disabled=chosen is None):
        cond = member_condition(chosen.id, chosen.name, exclude)
        seg = exclude_everywhere(wb.draft, cond) if exclude else add_condition(wb.draft, targets.index(where), cond)
        st.session_state["builder_round"] = n + 1
        apply_edit(wb, seg, f"{'Excluded' if exclude else 'Included'} members of '{chosen.name}'")


def show_overlap(wb: WorkbenchState) -> str:
    """Overlap of the draft with the tenant's saved segments; returns a near-duplicate's name."""
    import pandas as pd

    try:
        saved = [x for x in store().list_segments(wb.tenant_id) if x.name != wb.saved_name][:20]
    except WorkbenchError:  # a damaged library is reported on the Segments page
        return ""
    if not saved or wb.draft is None:
        return ""
    rows, dupe = [], ""
    runner = dryrunner_for(wb.tenant_id)
    for x in saved:
        try:
            o = runner.overlap_detail(resolved(wb), resolved(wb, store().get_version(x.id).segment))
        except WorkbenchError:
            continue
        rows.append({"saved segment": x.name, "shared customers": o.shared, "share of draft": o.share,
                     "counted": "exact" if o.exact else f"sample ({o.sample_matched:,} rows)"})
        if o.share >= 0.95 and not dupe:  # exact, or 100+ matched sample rows (overlap_detail)
            dupe = x.name
    if rows:
        with st.expander("Overlap with saved segments"):
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                         column_config={"share of draft": st.column_config.NumberColumn(format="percent")})
    if dupe:
        st.warning(f"This draft is a near-duplicate of '{dupe}': 95% or more of its customers are in common.")
    return dupe


def save_form(wb: WorkbenchState, near_dupe: str) -> None:
    with st.form("save"):
        name = st.text_input("Name", value=wb.saved_name)
        desc = st.text_input("Description", value=wb.request)
        tags = st.text_input("Tags", help="Comma-separated, e.g. spring, email",
                             value=", ".join(store().tags(wb.segment_id)) if wb.segment_id else "")
        if st.form_submit_button("Save segment"):
            if near_dupe:
                st.warning(f"Near-duplicate of '{near_dupe}' (95% or more of its customers in common); saved anyway.")
            base = wb.saved_version if wb.saved_name == name.strip() else None
            save(wb, name, desc, tags, base_version=base)


def save(wb: WorkbenchState, name: str, desc: str, tags: str, base_version: int | None = None, force: bool = False) -> None:
    s = store()
    try:
        own = s.segment_id(wb.tenant_id, name)
        resolve_members(wb.draft, lambda i: s.get_version(i).segment, (own,) if own else ())  # refuses a cycle
        dryrun = {**wb.dryrun.model_dump(), "exact_count": wb.exact} if wb.dryrun else None
        v = s.save_segment(wb.tenant_id, name, wb.draft, description=desc, request=wb.version_request(), dryrun=dryrun,
                           trace=[x.model_dump() for x in (wb.last.trace.steps if wb.last else [])],
                           author=st.session_state.get("owner", ""), base_version=base_version, force=force)
    except SaveConflict as exc:
        wb.conflict = {"name": name.strip(), "desc": desc, "tags": tags, "theirs": exc.theirs}
        st.rerun()
    except WorkbenchError as exc:
        st.error(str(exc))
        return
    s.set_tags(v.segment_id, parse_tags(tags))
    wb.saved_version, wb.saved_name, wb.segment_id, wb.conflict, wb.changes = v.n, v.name, v.segment_id, None, []
    st.session_state["flash"] = ("success", f"Saved '{v.name}' as version {v.n}.")
    st.rerun()


def conflict_choices(wb: WorkbenchState) -> None:
    """A save that met a newer version: save on top of it, save as a copy, or compare the two."""
    c = wb.conflict
    if not c:
        return
    theirs = c["theirs"]
    who = theirs.author or "someone"
    st.warning(f"'{c['name']}' already has version {theirs.n}, saved by {who} {relative_time(theirs.saved_at)}, "
               "which your draft has not seen.")
    a, b, d = st.columns(3)
    if a.button("Save as a new version on top", width="stretch"):
        save(wb, c["name"], c["desc"], c["tags"], base_version=theirs.n)
    if b.button("Save as a copy", width="stretch"):
        save(wb, store().free_name(wb.tenant_id, c["name"]), c["desc"], c["tags"])
    if d.button("Compare", width="stretch"):
        st.session_state["compare"] = True
    if st.session_state.get("compare"):
        diff = diff_segments(theirs.segment, wb.draft)
        st.markdown(f"**Version {theirs.n}:** `{theirs.segment.render()}`\n\n**Your draft:** `{wb.draft.render()}`")
        st.markdown("From their version to yours:\n" + ("\n".join(f"- `{line}`" for line in diff.lines()) or "no differences"))


def provenance_tab(wb: WorkbenchState) -> None:
    if wb.draft is None or not wb.draft.all_conditions():
        st.info("Provenance appears once there is a draft.")
        return
    for ci, co in enumerate(wb.draft.cohorts):
        for k, c in enumerate(co.conditions):
            p = c.provenance
            words = f"“{p.span}”" if p and p.span else "(added by hand)" if p is None else "(rule)"
            with st.expander(f"{words} → {c.render()}"):
                if p is None:
                    continue
                ev = p.evidence
                st.caption(f"method: {ev.method} · score: {ev.score} · dense rank: {ev.dense_rank} · "
                           f"lexical rank: {ev.lexical_rank} · synonym: {ev.matched_synonym} {p.note}")
                for alt_name in p.alternatives:
                    if st.button(f"Swap for {alt_name}", key=f"swap{ci}-{k}-{alt_name}"):
                        apply_edit(wb, replace_condition(wb.draft, ci, k, swap_alternative(c, alt_name)),
                                   f"Swapped {c.facet} for {alt_name}")


def details_tab(wb: WorkbenchState) -> None:
    """The technical record of the last turn: retrieved facets and the tool trace."""
    import pandas as pd

    if not wb.last:
        st.info("Retrieved facets and the agent's steps appear after a turn.")
        return
    st.markdown("**Retrieved facets**")
    hits = wb.last.retrieved
    chosen = {c.facet for c in wb.draft.all_conditions()} if wb.draft else set()
    if hits:
        st.dataframe(pd.DataFrame([{"facet": h.facet, "chosen": h.facet in chosen, "score": h.score, "dense rank": h.dense_rank,
                                    "lexical rank": h.lexical_rank, "synonym": h.matched_synonym, "group": h.group} for h in hits]),
                     width="stretch", hide_index=True)
    st.markdown("**Tool trace**")
    st.dataframe(pd.DataFrame([{"#": s.n, "kind": s.kind, "tool": s.tool, "status": s.status, "ms": s.ms,
                                "cohort": s.cohort, "arguments": str(s.args)[:120], "result": s.observation[:200],
                                "model": s.model, "tokens in/out": f"{s.input_tokens or ''}/{s.output_tokens or ''}",
                                "cost $": s.cost_usd} for s in wb.last.trace.steps]), width="stretch", hide_index=True)


def dryrun_tab(wb: WorkbenchState) -> None:
    d = wb.dryrun
    if d is None:
        st.info("Dry-run figures appear once there is a draft.")
        return
    import altair as alt
    import pandas as pd

    size_metrics(d)
    if not d.exact and st.button("Exact count"):
        t0 = time.perf_counter()
        wb.exact = dryrunner_for(wb.tenant_id).exact_count(resolved(wb))
        st.session_state["flash"] = ("success", f"Exact count on the full table: {wb.exact:,} "
                                     f"{plural(wb.exact, 'customer')} ({(time.perf_counter() - t0) * 1000:.0f} ms)")
        st.rerun()
    funnel = pd.DataFrame([{"step": f"{s.cohort}. {s.label}" if s.cohort else s.label, "customers": s.estimate}
                           for s in d.funnel])
    if not funnel.empty:
        st.altair_chart(alt.Chart(funnel, title="Customers left after each condition").mark_bar().encode(
            x=alt.X("customers:Q", title="Customers (estimate)", axis=alt.Axis(format=",d")),
            y=alt.Y("step:N", sort=None, title=None, axis=alt.Axis(labelLimit=420))), width="stretch")
    for name, rows in d.breakdowns.items():
        df = pd.DataFrame([{"value": r.value, "customers": r.count, "share": r.share} for r in rows])
        st.altair_chart(alt.Chart(df, title=f"Audience by {name}").mark_bar().encode(
            x=alt.X("share:Q", title="Share of the audience", axis=alt.Axis(format="%")),
            y=alt.Y("value:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
            tooltip=["value", alt.Tooltip("customers:Q", format=","), alt.Tooltip("share:Q", format=".1%")]),
            width="stretch")


def size_metrics(d) -> None:
    """Size (exact or estimated), sample, verdict and reachable counts of a dry-run."""
    m1, m2, m3 = st.columns(3)
    if d.exact:
        m1.metric("Audience (exact)", f"{d.estimate:,}", help=d.exact_reason)
    else:
        m1.metric("Estimated audience", f"~{d.estimate:,}", help=f"95% CI {d.ci_low:,} – {d.ci_high:,}")
    m2.metric("Sample matched", "whole table" if d.basis == "whole_table" else f"{d.sample_matched:,} / {d.sample_size:,}")
    m3.metric("Verdict", d.verdict.replace("_", " "))
    if d.reach:
        for col, r in zip(st.columns(len(d.reach)), d.reach):
            col.metric(f"Reachable: {r.channel}", f"{'' if d.exact else '~'}{r.count:,}", help=f"{r.share:.0%} of the audience")
    if d.exact:
        st.caption(f"Exact count on the full table: {d.exact_reason} · {d.ms:.0f} ms")
    else:
        st.caption(f"95% confidence interval: {d.ci_low:,} – {d.ci_high:,} customers · {d.ms:.0f} ms on the sample")
    if d.verdict_reason:
        st.caption(f"{d.verdict.replace('_', ' ').capitalize()}: {d.verdict_reason}")


def sql_tab(tenant, wb: WorkbenchState) -> None:
    if wb.draft is None or not wb.draft.all_conditions():
        st.info("The compiled SQL appears once there is a draft.")
        return
    from core.sqlbuild import DIALECTS, compile_segment

    dialect = st.selectbox("Dialect", DIALECTS)
    try:
        st.code(compile_segment(resolved(wb), tenant, dialect=dialect), language="sql")
    except WorkbenchError as exc:
        st.error(str(exc))


def flash() -> None:
    kind, text = st.session_state.pop("flash", (None, None))
    if kind:
        getattr(st, kind)(text)


# ---- the page -----------------------------------------------------------------------------------
def workbench() -> None:
    tenant_id = pick_tenant()
    tenant = tenant_for(tenant_id)
    wb = current_state(tenant_id)
    sidebar(tenant, wb)
    chat_col, panel_col = st.columns([4, 6], gap="large")
    with panel_col:
        warmup.status(warm_key(tenant_id))
        summary_bar(wb)
        flash()
        draft, prov, dry, sql, details = st.tabs(["Segment draft", "Provenance", "Dry-run", "SQL", "Details"])
        with draft:
            draft_tab(tenant, wb)
        with prov:
            provenance_tab(wb)
        with dry:
            dryrun_tab(wb)
        with sql:
            sql_tab(tenant, wb)
        with details:
            details_tab(wb)
    with chat_col:
        chat_column(tenant, wb)
    autosave(wb)
    # after the page is drawn, so the loading does not compete with the first paint
    warmup.start(warm_key(tenant_id), warm_tasks(tenant))


common.apply_style()
common.WORKBENCH_PAGE = st.Page(workbench, title="Workbench", icon=":material/forum:", default=True)
st.navigation([common.WORKBENCH_PAGE,
               st.Page("pages/1_Segments.py", title="Segments", icon=":material/library_books:"),
               st.Page("pages/2_Clarifications.py", title="Clarifications", icon=":material/help:"),
               st.Page("pages/3_Evaluation.py", title="Evaluation", icon=":material/rule:"),
               st.Page("pages/4_Facet_Catalog.py", title="Facet catalog", icon=":material/category:"),
               st.Page("pages/5_Tenant.py", title="Tenant", icon=":material/store:")]).run()
