"""Segment library: versions, save conflicts with both versions, a killed writer loses nothing, diffs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from core.diff import diff_segments
from core.errors import WorkbenchError
from core.segment import Segment
from core.store import SaveConflict, Store

A = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas"]}])
B = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas", "Florida"]},
                       {"facet": "Email Opt In", "op": "is_true"}])


def test_versions_and_diff(tmp_path):
    s = Store(tmp_path / "lib.sqlite")
    v1 = s.save_segment("northstar", "Texans", A, request="texans", author="ana")
    v2 = s.save_segment("northstar", "Texans", B, base_version=1, author="ana")
    assert (v1.n, v2.n) == (1, 2)
    assert [v.segment.spec() for v in s.versions(v1.segment_id)] == [A.spec(), B.spec()]
    lines = s.diff_versions(v1.segment_id, 1, 2).lines()
    assert "+ cohort 1: Email Opt In" in lines
    assert "~ cohort 1: State is Texas → State is Texas or Florida" in lines
    assert [x.name for x in s.list_segments("northstar", query="florida")] == ["Texans"]
    assert s.list_segments("harbor") == []


def test_second_tab_gets_a_conflict_with_both_versions(tmp_path):
    s = Store(tmp_path / "lib.sqlite")
    s.save_segment("northstar", "Texans", A)
    s.save_segment("northstar", "Texans", B, base_version=1)          # tab one saves v2
    with pytest.raises(SaveConflict) as exc:
        s.save_segment("northstar", "Texans", A, base_version=1)      # tab two still on v1
    assert exc.value.theirs.n == 2 and exc.value.theirs.segment.spec() == B.spec()
    assert exc.value.yours.spec() == A.spec()
    assert len(s.versions(exc.value.theirs.segment_id)) == 2          # nothing lost, nothing overwritten
    v3 = s.save_segment("northstar", "Texans", A, base_version=1, force=True)
    assert v3.n == 3


def test_killed_writer_leaves_the_previous_version_intact(tmp_path):
    path = tmp_path / "lib.sqlite"
    s = Store(path)
    s.save_segment("northstar", "Texans", A)
    writer = textwrap.dedent(f"""
        import sqlite3, time
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO versions VALUES (1, 2, '[]', 'half', '[]', 'null', 'w', '', 'now')")
        con.execute("UPDATE segments SET latest = 2 WHERE id = 1")
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = Store(path)
    latest = again.get_version(1)
    assert latest.n == 1 and latest.segment.spec() == A.spec()
    assert again.save_segment("northstar", "Texans", B, base_version=1).n == 2


def test_clarification_log_and_review(tmp_path):
    s = Store(tmp_path / "lib.sqlite")
    cid = s.log_clarification("harbor", "our best customers", "What should 'best' mean?", ["Best", "Gold"], "Best", A)
    s.log_clarification("northstar", "the south", "Which South?", ["SE + SC", "SE"], "SE + SC")
    assert [c["question"] for c in s.list_clarifications("harbor")] == ["What should 'best' mean?"]
    s.mark_reviewed(cid, "good question", "lee")
    assert s.list_clarifications("harbor", reviewed=True)[0]["comment"] == "good question"
    assert s.list_clarifications(reviewed=False)[0]["tenant_id"] == "northstar"


def test_a_name_is_required(tmp_path):
    with pytest.raises(WorkbenchError, match="name"):
        Store(tmp_path / "lib.sqlite").save_segment("northstar", "  ", A)


def test_diff_of_cohorts():
    d = diff_segments(A, Segment(cohorts=[*A.cohorts, *B.cohorts]))
    assert [c.kind for c in d.changes] == ["added", "added"] and {c.cohort for c in d.changes} == {2}


def test_deprecated_facets_are_flagged_and_migrated(tmp_path, northstar):
    s = Store(tmp_path / "lib.sqlite")
    old = Segment.from_spec([{"facet": "Purchased Brand Strict", "op": "in", "values": ["Scoop"]}])
    s.save_segment("northstar", "Old scoop", old)
    s.save_segment("northstar", "Fine", A)
    flagged = s.segments_using_deprecated(northstar)
    assert [(x.name, f) for x, f in flagged] == [("Old scoop", ["Purchased Brand Strict"])]
    v = s.migrate_deprecated(flagged[0][0].id, northstar)
    assert v.n == 2 and v.segment.spec() == [{"facet": "Purchased Brand", "op": "in", "values": ["Scoop"]}]
    assert s.segments_using_deprecated(northstar) == []


def test_overlap_on_the_sample(northstar):
    from core.dryrun import get_dryrunner

    runner = get_dryrunner(northstar)
    subset = Segment.from_spec([{"facet": "State", "op": "in", "values": ["Texas"]}, {"facet": "Email Opt In", "op": "is_true"}])
    shared, share = runner.overlap(subset, A)
    assert shared == runner.run(subset).sample_matched and share == 1.0  # every opted-in Texan is a Texan
    part, part_share = runner.overlap(B, A)
    assert part < runner.run(B).sample_matched and 0 < part_share < 1
    same, full = runner.overlap(A, A)
    assert full == 1.0 and same == runner.run(A).sample_matched
