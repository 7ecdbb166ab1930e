"""Segment Workbench: describe an audience, watch the agent build it, prove its size, save it."""
from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from core.agent import Agent, TurnResult, make_agent
from core.diff import diff_segments
from core.errors import WorkbenchError
from core.policies import active_policy_name
from core.segment import Cohort, Segment
from core.session import ChatMessage, WorkbenchState
from core.sqlbuild import DIALECTS, compile_segment
from core.store import SaveConflict
from core.trace import TraceStep

st.set_page_config(page_title="Segment Workbench", layout="wide")


# ---- expensive objects, once per process (shared with the other pages) ---------------------------
from pages.common import dryrunner_for, index_for, pick_tenant, store, tenant_for  # noqa: E402


@st.cache_resource
def agent_for(tenant_id: str) -> Agent:
    return make_agent(tenant_for(tenant_id))


STARTERS = {
    "northstar": ["Spring fashion shoppers likely to buy Free Assembly women's clothing, email reachable, bought in the last 90 days",
                  "Customers in the South who are email reachable",
                  "Free Assembly women's clothing buyers or Scoop footwear buyers from the last 90 days"],
    "harbor": ["Gold rewards members likely to buy organic produce",
               "Our best customers",
               "Weekend shoppers who are email reachable"],
}


def state(tenant_id: str) -> WorkbenchState:
    key = f"wb:{tenant_id}"
    if key not in st.session_state:
        st.session_state[key] = WorkbenchState(tenant_id=tenant_id)
    return st.session_state[key]


# ---- sidebar ------------------------------------------------------------------------------------
with st.sidebar:
    st.title("Segment Workbench")
tenant_id = pick_tenant()
tenant = tenant_for(tenant_id)
with st.sidebar:
    policy = active_policy_name(tenant.settings)
    if policy == "claude":
        st.caption(f"Policy: Claude — {tenant.config.llm.mapping} (mapping), {tenant.config.llm.router} (routing)")
    else:
        st.caption("Policy: Offline — no API key")
    try:
        runner = dryrunner_for(tenant_id)
        cfg = tenant.config.dryrun
        st.caption(f"Dry-run: the whole table ({runner.population:,} customers)" if runner.whole_table else
                   f"Dry-run sample: {runner.sample_size:,} of {runner.population:,} customers "
                   f"(the larger of {cfg.sample_percent:g}% and {cfg.min_sample_rows:,}; seed {cfg.seed})")
    except WorkbenchError as exc:
        st.error(str(exc))
        st.stop()
    wb = state(tenant_id)
    if st.button("New segment", width="stretch"):
        st.session_state[f"wb:{tenant_id}"] = WorkbenchState(tenant_id=tenant_id)
        st.rerun()

index_for(tenant_id)
agent = agent_for(tenant_id)


# ---- running a turn -----------------------------------------------------------------------------
def _line(step: TraceStep) -> str:
    label = step.tool or step.kind
    icon = {"ok": "✅", "error": "⚠️", "gate_failed": "⛔", "fallback": "↩️", "clarify": "❓", "finish": "🏁"}.get(step.status, "•")
    return f"{icon} **{label}** — {step.observation[:160]}"


def run(events, wb: WorkbenchState) -> None:
    """Stream a turn's steps into a status box, then record its outcome."""
    result: TurnResult | None = None
    with st.status("Building the segment…", expanded=True) as box:
        for ev in events:
            if isinstance(ev, TurnResult):
                result = ev
            else:
                box.write(_line(ev))
        status = result.status if result else "failed"
        box.update(label=STATUS_LABEL.get(status, "Done"), expanded=False,
                   state="complete" if status in ("done", "clarify") else "error")
    settle(wb, result)


STATUS_LABEL = {"clarify": "Needs your answer", "done": "Done", "needs_attention": "Needs attention",
                "needs_input": "Needs a description", "failed": "Could not build a segment"}


def settle(wb: WorkbenchState, result: TurnResult | None) -> None:
    wb.last = result
    if result is None:
        return
    if result.status == "clarify":
        wb.pending = result.state  # the paused turn lives in this session, not on the shared agent
        return
    wb.pending = None
    s, request = store(), result.request
    trace_id = s.log_trace(tenant_id, request, result.status, result.trace.model_dump())
    for q, a in result.asked:
        s.log_clarification(tenant_id, request, q.question, [o.label for o in q.options], a, result.segment, trace_id)
        wb.chat.insert(len(wb.chat) - 1, ChatMessage("assistant", f"❓ {q.question}"))
    s.log_turn(tenant_id, request, bool(result.asked))
    if result.status != "done" or result.segment is None:
        issues = "".join(f"\n- {i}" for i in result.issues)
        wb.chat.append(ChatMessage("assistant", f"{STATUS_LABEL.get(result.status, 'Not done')}: "
                                   f"{result.error or 'no conditions found'}{issues}", meter=f"trace #{trace_id}"))
        return
    before = wb.dryrun.estimate if wb.dryrun else None
    diff = diff_segments(wb.draft, result.segment) if wb.draft is not None else None
    wb.set_draft(result.segment)
    wb.request = wb.request if result.mode == "edit" else request
    wb.dryrun = result.dryrun
    est = result.dryrun.estimate if result.dryrun else 0
    size = result.dryrun.size_text() if result.dryrun else "not counted"
    delta = f" ({est - before:+,} customers)" if before is not None and result.mode == "edit" else ""
    tokens = result.trace.tokens
    meter = f"{result.ms / 1000:.2f} s · {result.steps} steps · trace #{trace_id}"
    if tokens[0]:
        meter += f" · {tokens[0]:,} in / {tokens[1]:,} out tokens · ${result.trace.cost_usd:.4f}"
    text = f"**{result.segment.render()}**\n\nAudience: **{size}**{delta}."
    text += "".join(f"\n\n_{a}_" for a in result.assumptions)
    wb.chat.append(ChatMessage("assistant", text, diff=diff.lines() if diff else [], meter=meter))


def rerun_dryrun(wb: WorkbenchState) -> None:
    wb.dryrun = dryrunner_for(tenant_id).run(wb.draft) if wb.draft and wb.draft.all_conditions() else None


def adjust_condition(c, key: str):
    """In-place editor for a condition's values, window, tier or bounds; the edited condition or None."""
    f = tenant.catalog.get(c.facet)
    if f is None:
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


def show_overlap(wb: WorkbenchState) -> str:
    """Overlap of the draft with the tenant's saved segments; returns a near-duplicate's name."""
    saved = [x for x in store().list_segments(tenant_id) if x.name != wb.saved_name][:20]
    if not saved or wb.draft is None:
        return ""
    rows, dupe = [], ""
    runner = dryrunner_for(tenant_id)
    for x in saved:
        try:
            o = runner.overlap_detail(wb.draft, store().get_version(x.id).segment)
        except WorkbenchError:
            continue
        rows.append({"saved segment": x.name, "shared customers": o.shared, "share of draft": round(o.share, 3),
                     "counted": "exact" if o.exact else f"sample ({o.sample_matched:,} rows)"})
        if o.share >= 0.95 and not dupe:  # exact, or 100+ matched sample rows (overlap_detail)
            dupe = x.name
    if rows:
        with st.expander("Overlap with saved segments"):
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if dupe:
        st.warning(f"This draft is a near-duplicate of '{dupe}': 95% or more of its customers are in common.")
    return dupe


# ---- layout -------------------------------------------------------------------------------------
chat_col, panel_col = st.columns([5, 7], gap="large")

with chat_col:
    st.subheader(f"Describe an audience — {tenant.display_name}")
    if not wb.chat:
        st.caption("Try one of these:")
        for i, text in enumerate(STARTERS.get(tenant_id, [row.query for row in tenant.ground_truth[:3]])):
            if st.button(text, key=f"starter{i}", width="stretch"):
                st.session_state["queued"] = text
                st.rerun()
    for msg in wb.chat:
        with st.chat_message(msg.role):
            st.markdown(msg.text)
            if msg.diff:
                st.markdown("Changes:\n" + "\n".join(f"- `{line}`" for line in msg.diff))
            if msg.meter:
                st.caption(msg.meter)
    pending = wb.pending
    if pending is not None and pending.result.pending is not None:
        q = pending.result.pending
        with st.chat_message("assistant"):
            st.markdown(f"**{q.question}**")
            for i, opt in enumerate(q.options):
                hint = f" ({opt.segment_hint})" if opt.segment_hint else ""
                if st.button(opt.label + hint + (" — default" if i == q.default else ""), key=f"opt{i}", width="stretch"):
                    st.session_state["answer"] = opt.value or opt.label
                    st.rerun()
            with st.form("free_answer", clear_on_submit=True):
                free = st.text_input("Or answer in your own words")
                if st.form_submit_button("Answer") and free.strip():
                    st.session_state["answer"] = free.strip()
                    st.rerun()
    prompt = st.chat_input("e.g. Plus members in Texas likely to buy a TV, email reachable")
    queued = st.session_state.pop("queued", None)
    answer = st.session_state.pop("answer", None)
    if answer and wb.pending is not None:
        wb.chat.append(ChatMessage("user", answer))
        run(agent.iter_resume(wb.pending, answer), wb)
        st.rerun()
    request = prompt or queued
    if request:
        wb.chat.append(ChatMessage("user", request))
        run(agent.iter_message(request, draft=wb.draft, paused=wb.pending), wb)
        st.rerun()

with panel_col:
    draft_tab, prov_tab, facets_tab, trace_tab, dry_tab, sql_tab = st.tabs(
        ["Segment draft", "Provenance", "Retrieved facets", "Tool trace", "Dry-run", "SQL"])
    with draft_tab:
        if wb.draft is None or not wb.draft.all_conditions():
            st.info("No draft yet: describe an audience in the chat.")
        else:
            for ci, co in enumerate(wb.draft.cohorts):
                st.markdown(f"**Cohort {ci + 1}**" + (f" — {co.label}" if co.label else ""))
                for k, c in enumerate(co.conditions):
                    a, b = st.columns([6, 1])
                    a.markdown(f"`{c.render()}`")
                    with a.popover("Adjust", width="content"):
                        adjusted = adjust_condition(c, f"{ci}-{k}")
                    if adjusted is not None:
                        cohorts = [Cohort(conditions=[adjusted if (i == ci and j == k) else x for j, x in enumerate(cc.conditions)],
                                          label=cc.label) for i, cc in enumerate(wb.draft.cohorts)]
                        wb.set_draft(Segment(cohorts=cohorts))
                        rerun_dryrun(wb)
                        st.rerun()
                    if b.button("Remove", key=f"rm{ci}-{k}"):
                        cohorts = [Cohort(conditions=[x for j, x in enumerate(cc.conditions) if not (i == ci and j == k)],
                                          label=cc.label) for i, cc in enumerate(wb.draft.cohorts)]
                        wb.set_draft(Segment(cohorts=cohorts))
                        rerun_dryrun(wb)
                        st.rerun()
            if st.button("Undo last change", disabled=not wb.undo):
                wb.undo_last()
                rerun_dryrun(wb)
                st.rerun()
            near_dupe = show_overlap(wb)
            with st.form("save"):
                name = st.text_input("Name", value=wb.saved_name)
                desc = st.text_input("Description", value=wb.request)
                if st.form_submit_button("Save segment"):
                    if near_dupe:
                        st.warning(f"Near-duplicate of '{near_dupe}' (95% or more of its customers in common); saved anyway.")
                    try:
                        v = store().save_segment(tenant_id, name, wb.draft, description=desc, request=wb.request,
                                                 trace=[s.model_dump() for s in (wb.last.trace.steps if wb.last else [])],
                                                 dryrun=wb.dryrun.model_dump() if wb.dryrun else None,
                                                 base_version=wb.saved_version if wb.saved_name == name else None)
                        wb.saved_version, wb.saved_name = v.n, v.name
                        st.success(f"Saved '{v.name}' as version {v.n}.")
                    except SaveConflict as exc:
                        st.error(str(exc))
                        st.markdown(f"Theirs (v{exc.theirs.n}): `{exc.theirs.segment.render()}`\n\nYours: `{exc.yours.render()}`")
                    except WorkbenchError as exc:
                        st.error(str(exc))
    with prov_tab:
        if wb.draft is None:
            st.info("Provenance appears once there is a draft.")
        else:
            for ci, co in enumerate(wb.draft.cohorts):
                for k, c in enumerate(co.conditions):
                    p = c.provenance
                    words = f"“{p.span}”" if p and p.span else "(rule)"
                    with st.expander(f"{words} → {c.facet} → {', '.join(c.values or []) or c.render()}"):
                        if p:
                            ev = p.evidence
                            st.caption(f"method: {ev.method} · score: {ev.score} · dense rank: {ev.dense_rank} · "
                                       f"lexical rank: {ev.lexical_rank} · synonym: {ev.matched_synonym} {p.note}")
                            for alt_name in p.alternatives:
                                if st.button(f"Swap for {alt_name}", key=f"swap{ci}-{k}-{alt_name}"):
                                    facet = alt_name.split(":")[0]
                                    new_c = c.model_copy(update={"facet": facet, "values": [alt_name.split(": ", 1)[1]] if ":" in alt_name else c.values})
                                    cohorts = [Cohort(conditions=[new_c if (i == ci and j == k) else x for j, x in enumerate(cc.conditions)],
                                                      label=cc.label) for i, cc in enumerate(wb.draft.cohorts)]
                                    wb.set_draft(Segment(cohorts=cohorts))
                                    try:
                                        rerun_dryrun(wb)
                                    except WorkbenchError as exc:
                                        wb.undo_last()
                                        st.error(f"Cannot swap: {exc}")
                                    st.rerun()
    with facets_tab:
        hits = wb.last.retrieved if wb.last else []
        if hits:
            chosen = {c.facet for c in wb.draft.all_conditions()} if wb.draft else set()
            st.dataframe(pd.DataFrame([{"facet": h.facet, "chosen": h.facet in chosen, "score": h.score, "dense rank": h.dense_rank,
                                        "lexical rank": h.lexical_rank, "synonym": h.matched_synonym, "group": h.group} for h in hits]),
                         width="stretch", hide_index=True)
        else:
            st.info("Retrieval results appear after a turn.")
    with trace_tab:
        if wb.last:
            st.dataframe(pd.DataFrame([{"#": s.n, "kind": s.kind, "tool": s.tool, "status": s.status, "ms": s.ms,
                                        "cohort": s.cohort, "arguments": str(s.args)[:120], "result": s.observation[:200],
                                        "model": s.model, "tokens in/out": f"{s.input_tokens or ''}/{s.output_tokens or ''}",
                                        "cost $": s.cost_usd} for s in wb.last.trace.steps]), width="stretch", hide_index=True)
        else:
            st.info("The ReAct steps of each turn appear here.")
    with dry_tab:
        d = wb.dryrun
        if d is None:
            st.info("Dry-run figures appear once there is a draft.")
        else:
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
            if not d.exact and st.button("Exact count"):
                t0 = time.perf_counter()
                n = dryrunner_for(tenant_id).exact_count(wb.draft)
                st.success(f"Exact count on the full table: {n:,} customers ({(time.perf_counter() - t0) * 1000:.0f} ms)")
            funnel = pd.DataFrame([{"step": f"{s.cohort}. {s.label}", "customers": s.estimate} for s in d.funnel])
            if not funnel.empty:
                st.altair_chart(alt.Chart(funnel).mark_bar().encode(
                    x="customers:Q", y=alt.Y("step:N", sort=None, title=None, axis=alt.Axis(labelLimit=420))), width="stretch")
            for name, rows in d.breakdowns.items():
                df = pd.DataFrame([{"value": r.value, "customers": r.count, "share": r.share} for r in rows])
                st.altair_chart(alt.Chart(df, title=name).mark_bar().encode(x="share:Q", y=alt.Y("value:N", sort="-x")), width="stretch")
    with sql_tab:
        if wb.draft is None or not wb.draft.all_conditions():
            st.info("The compiled SQL appears once there is a draft.")
        else:
            dialect = st.selectbox("Dialect", DIALECTS)
            st.code(compile_segment(wb.draft, tenant, dialect=dialect), language="sql")
