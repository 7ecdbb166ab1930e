"""Evaluation: exact rows, the per-tag table, the CLI on a tagged file, and the few-shot leakage guard."""
from __future__ import annotations

import json

from core.eval import RowResult, format_tag_table, metrics, read_tags, run_eval, score_row
from core.policies.base import Finish, ToolCall, TurnContext
from core.segment import Segment
from core.tenant import GroundTruthRow

GOLD = '[{"facet": "Rewards Level", "op": "in", "values": ["Gold"]}]'


def _row(rid: str, expected: str, got: str | None, asked: bool, needs: bool, tags: list[str]) -> RowResult:
    gt = GroundTruthRow(id=rid, query=rid, expected=Segment.from_json(expected), needs_clarification=needs)
    seg = Segment.from_json(got) if got else None
    return RowResult(id=rid, query=rid, expected=None, got=None, asked=asked, needs_clarification=needs,
                     ms=1.0, steps=1, tags=tags, **score_row(gt, seg, asked))


def test_exact_rows_needs_facets_values_and_the_right_ask() -> None:
    silver = '[{"facet": "Rewards Level", "op": "in", "values": ["Silver"]}]'
    rows = [
        _row("a", GOLD, GOLD, False, False, ["typo"]),                # exact
        _row("b", GOLD, silver, False, False, ["typo", "region"]),    # right facet, wrong value
        _row("c", GOLD, GOLD, False, True, ["vague-ask"]),            # right segment, did not ask
        _row("d", GOLD, GOLD, True, True, ["vague-ask"]),             # asked and right
    ]
    m = metrics(rows)
    assert m["exact_rows"] == 0.5
    by = {t["tag"]: t for t in m["per_tag"]}
    assert by["typo"] == {"tag": "typo", "rows": 2, "exact": 0.5, "facet_f1": 1.0, "value_f1": 0.5,
                          "asked": 0, "expected_asks": 0}
    assert by["region"]["exact"] == 0.0 and by["vague-ask"]["asked"] == 1 and by["vague-ask"]["expected_asks"] == 2
    assert [t["tag"] for t in m["per_tag"]][0] == "region"  # worst first
    assert "vague-ask" in format_tag_table(m["per_tag"])


def test_tier_mismatch_is_not_exact() -> None:
    exp = '[{"facet": "Likelihood To Use Service", "op": "in", "values": ["Catering"], "tier": "TOP 5"}]'
    got = '[{"facet": "Likelihood To Use Service", "op": "in", "values": ["Catering"], "tier": "TOP 10"}]'
    assert not _row("t", exp, got, False, False, []).exact
    assert _row("t", exp, exp, False, False, []).exact


class _Recorder:
    """A policy that looks up examples through the tool, records what it saw, and finishes."""

    name = "recorder"
    seen: list[tuple[str, list[str], list[str]]] = []

    def start(self, turn: TurnContext) -> None:
        self.turn, self.step = turn, 0

    def next_action(self, observations):
        self.step += 1
        if self.step == 1:
            return ToolCall("get_similar_segments", {"query": self.turn.request, "k": 5})
        segs = observations[0].result.segments
        _Recorder.seen.append((self.turn.request, [s.id for s in segs], [s.query for s in segs]))
        return Finish(segment=segs[0].segment)

    def answer(self, answer: str) -> None:
        pass

    def last_usage(self):
        return None


def test_scored_row_never_appears_in_examples(northstar, today) -> None:
    """Every dev row is in the index; while it is scored, neither it nor its request reaches the policy."""
    from core.retrieval import get_index

    rows = northstar.ground_truth[:4]
    idx = get_index(northstar)
    # Without the guard the row itself is the nearest example (so this test can fail).
    assert all(r.id in [s.id for s in idx.similar_segments(r.query, k=5)] for r in rows)
    _Recorder.seen = []
    run = run_eval(northstar, rows, today=today, policy_factory=_Recorder)
    assert len(_Recorder.seen) == len(rows) and not any(r.error for r in run.rows)
    for row, (request, ids, queries) in zip(rows, _Recorder.seen):
        assert request == row.query and len(ids) == 5
        assert row.id not in ids
        assert row.query.strip().lower() not in {q.strip().lower() for q in queries}
    # A row whose request differs only in case and punctuation is held out too.
    twin = GroundTruthRow(id="twin", query=rows[0].query.upper() + " !!", expected=rows[0].expected,
                          needs_clarification=False)
    _Recorder.seen = []
    run_eval(northstar, [twin], today=today, policy_factory=_Recorder)
    assert rows[0].id not in _Recorder.seen[0][1]


def test_claude_context_holds_out_the_scored_request(northstar, today) -> None:
    """The Claude policy's few-shot block obeys the same holdout the evaluation sets on the turn."""
    from core.eval import holdout_for
    from core.policies.claude import ClaudePolicy

    row = northstar.ground_truth[1]
    policy = ClaudePolicy(northstar, client=None)
    open_ctx = policy._context(TurnContext(request=row.query, tenant_id="northstar", today=today))
    held = policy._context(TurnContext(request=row.query, tenant_id="northstar", today=today,
                                       exclude_examples=holdout_for(row)))
    example_lines = lambda text: [ln for ln in text.splitlines() if ln.startswith("- ") and " -> " in ln]  # noqa: E731
    assert any(ln.startswith(f"- {row.query} -> ") for ln in example_lines(open_ctx))
    assert example_lines(held) and not any(ln.startswith(f"- {row.query} -> ") for ln in example_lines(held))


def test_eval_cli_reports_exact_rows_and_tags(harbor, tmp_path, capsys) -> None:
    """`segwork eval --ground-truth <tagged csv>` (parsed by the real parser, run in-process on the fixture tenant)."""
    from core.cli import _parser
    from core.eval import eval_cli

    gt = tmp_path / "probe.csv"
    exp = GOLD.replace('"', '""')
    gt.write_text("id,query,expected,needs_clarification,notes,tags\n"
                  f'p1,Gold members,"{exp}",false,,plain-reworded\n'
                  f'p2,Card Tier Gold shoppers,"{exp}",false,,deprecated;plain-reworded\n')
    assert read_tags(gt) == {"p1": ["plain-reworded"], "p2": ["deprecated", "plain-reworded"]}
    base = ["eval", "--tenant", "harbor", "--ground-truth", str(gt), "--out", str(tmp_path / "rows.jsonl")]
    assert eval_cli(harbor, _parser().parse_args(base + ["--json"])) == 0
    m = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert m["rows"] == 2 and 0.0 <= m["exact_rows"] <= 1.0
    tags = {t["tag"]: t for t in m["per_tag"]}
    assert set(tags) == {"deprecated", "plain-reworded"} and tags["plain-reworded"]["rows"] == 2
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [r["tags"] for r in rows] == [["plain-reworded"], ["deprecated", "plain-reworded"]]
    assert m["exact_rows"] == sum(r["exact"] for r in rows) / 2
    assert eval_cli(harbor, _parser().parse_args(base)) == 0
    text = capsys.readouterr().out
    assert "exact rows" in text and "deprecated" in text


def test_evaluation_page_shows_exact_rows_and_the_tag_table(settings, harbor, northstar, monkeypatch) -> None:
    """A stored tagged run: the page shows its exact-rows share and the per-tag table (real store, AppTest)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from core.store import Store

    monkeypatch.setenv("SEGWORK_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SEGWORK_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("SEGWORK_STORE", str(settings.store_path))
    silver = '[{"facet": "Rewards Level", "op": "in", "values": ["Silver"]}]'
    rows = [_row("p1", GOLD, GOLD, False, False, ["typo"]), _row("p2", GOLD, silver, False, False, ["typo", "region"])]
    for r in rows:
        r.expected, r.got = json.loads(GOLD), json.loads(r.id == "p1" and GOLD or silver)
    m = {**metrics(rows), "ground_truth": "probes (unseen wording)"}
    for tid in ("harbor", "northstar"):
        Store(settings.store_path).save_eval_run(tid, "offline", m, [{**r.__dict__, "exact": r.exact} for r in rows])
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "3_Evaluation.py"), default_timeout=300).run()
    assert not at.exception
    exact = [x for x in at.metric if x.label == "Exact rows"]
    assert exact and exact[0].value == "0.50"
    table = at.dataframe[1].value
    assert list(table["tag"]) == ["region", "typo"] and list(table["exact share"]) == [0.0, 0.5]
    picker = [s for s in at.selectbox if s.label == "Ground truth"][0]
    assert picker.options == ["dev (tenant ground truth)", "probes (unseen wording)"]
