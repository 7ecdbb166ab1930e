"""Bad command lines: every flag bounded, every path checked, one clear message and exit 2, never a traceback."""
from __future__ import annotations

import json
import os

import pytest

from tests.bad_input.helpers import assert_refused, bounded, run_cli  # noqa: F401 - fixture

GOOD_SEGMENT = [{"facet": "Membership Tier", "op": "in", "values": ["Plus"]}]
GT_HEADER = "id,query,expected,needs_clarification,notes\n"
GT_ROW = 'x1,Plus members,"[{""facet"": ""Membership Tier"", ""op"": ""in"", ""values"": [""Plus""]}]",false,\n'


@pytest.fixture
def paths(tmp_path, monkeypatch, settings):
    """Named inputs: good and broken segment and ground-truth files, a folder, a dangling link."""
    for var, value in {"SEGWORK_DATA_DIR": tmp_path / "empty_data", "SEGWORK_INDEX_DIR": settings.index_dir,
                       "SEGWORK_RUNS_DIR": tmp_path / "runs", "SEGWORK_STORE": tmp_path / "store.sqlite"}.items():
        monkeypatch.setenv(var, str(value))
    files = {
        "SEG": json.dumps(GOOD_SEGMENT),
        "EMPTYFILE": "",
        "DEEP": "[" * 100_000 + "]" * 100_000,
        "BIG": json.dumps([GOOD_SEGMENT[0]] * 20_000),
        "GT_HEADER_ONLY": GT_HEADER,
        "GT_BAD_FLAG": GT_HEADER + GT_ROW.replace(",false,", ",maybe,"),
        "GT_NO_EXPECTED": "id,query,needs_clarification\nx1,Plus members,false\n",
        "GT_BAD_JSON": GT_HEADER + 'x1,Plus members,"[{oops",false,\n',
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name.lower()}.json"
        out[name].write_text(text, encoding="utf-8")
    out["LATIN1"] = tmp_path / "latin1.json"
    out["LATIN1"].write_bytes('[{"facet": "Membership Tier", "op": "in", "values": ["Café"]}]'.encode("latin-1"))
    out["GT_LATIN1"] = tmp_path / "gt_latin1.csv"
    out["GT_LATIN1"].write_bytes((GT_HEADER + GT_ROW.replace("Plus members", "Plus membres café")).encode("latin-1"))
    out["DIR"] = tmp_path / "a_folder"
    out["DIR"].mkdir()
    out["LINK"] = tmp_path / "dangling.json"
    os.symlink(tmp_path / "gone.json", out["LINK"])
    out["MISSING"] = tmp_path / "missing.json"
    out["FILE_AS_DIR"] = out["SEG"] / "out.jsonl"
    return out


T = ["--tenant", "northstar"]
CASES = [
    # (id, argv with NAMED paths, exit code, message that says what to fix)
    ("no command", [], 2, r"required: COMMAND"),
    ("unknown command", ["frobnicate"], 2, r"invalid choice: 'frobnicate'"),
    ("unknown dialect", ["sql", "SEG", *T, "--dialect", "oracle"], 2, r"invalid choice: 'oracle'"),
    ("customers 0", ["data", "generate", *T, "--customers", "0"], 2, r"--customers must be 1-50,000,000"),
    ("customers negative", ["data", "generate", *T, "--customers", "-5"], 2, r"-5 is out of range"),
    ("customers 1e10", ["data", "generate", *T, "--customers", "1e10"], 2, r"'1e10' is not a whole number"),
    ("customers too many", ["data", "generate", *T, "--customers", "10000000000"], 2, r"10,000,000,000 is out of range"),
    ("customers words", ["data", "generate", *T, "--customers", "lots"], 2, r"'lots' is not a whole number"),
    ("seed negative", ["data", "generate", *T, "--seed", "-1"], 2, r"--seed must be 0-"),
    ("generate out folder", ["data", "generate", *T, "--out", "DIR", "--customers", "10"], 2, r"is a folder; give a file name"),
    ("generate out under a file", ["data", "generate", *T, "--out", "FILE_AS_DIR"], 2, r"is a file, so .* cannot be created"),
    ("eval today month 13", ["eval", *T, "--today", "2026-13-01"], 2, r"'2026-13-01' is not a date; write it as YYYY-MM-DD"),
    ("eval today words", ["eval", *T, "--today", "tomorrow"], 2, r"'tomorrow' is not a date"),
    ("eval today year 1", ["eval", *T, "--today", "0001-01-01"], 2, r"outside the years 1900-2200"),
    ("ask today feb 30", ["ask", "Plus members", *T, "--today", "2026-02-30"], 2, r"'2026-02-30' is not a date"),
    ("ask request too long", ["ask", "x" * 3000, *T], 2, r"at most 2,000"),
    ("eval out folder", ["eval", *T, "--out", "DIR"], 2, r"is a folder"),
    ("eval header-only ground truth", ["eval", *T, "--ground-truth", "GT_HEADER_ONLY"], 2, r"no rows under the header"),
    ("eval missing ground truth", ["eval", *T, "--ground-truth", "MISSING"], 2, r"not found"),
    ("eval ground truth folder", ["eval", *T, "--ground-truth", "DIR"], 2, r"is a folder; pass the path"),
    ("eval ground truth latin-1", ["eval", *T, "--ground-truth", "GT_LATIN1"], 2, r"not UTF-8 text .*save it as UTF-8"),
    ("eval needs_clarification maybe", ["eval", *T, "--ground-truth", "GT_BAD_FLAG"], 2, r"needs_clarification: 'maybe' must be true or false"),
    ("eval ground truth columns", ["eval", *T, "--ground-truth", "GT_NO_EXPECTED"], 2, r"missing columns: \['expected'\]"),
    ("eval ground truth bad json", ["eval", *T, "--ground-truth", "GT_BAD_JSON"], 2, r"line 2 \(x1\)\.expected.*not valid JSON"),
    ("tenant is a path", ["sql", "SEG", "--tenant", "../tenants/northstar"], 2, r"is not a tenant id: use 2-40 lower-case"),
    ("tenant in capitals", ["sql", "SEG", "--tenant", "Northstar"], 2, r"'Northstar' is not a tenant id"),
    ("tenant empty", ["sql", "SEG", "--tenant", ""], 2, r"'' is not a tenant id"),
    ("tenant unknown", ["sql", "SEG", "--tenant", "nowhere"], 2, r"unknown tenant 'nowhere'.*known tenants: .*northstar"),
    ("segment missing", ["sql", "MISSING", *T], 2, r"Segment file .* not found"),
    ("segment dangling link", ["validate", "LINK", *T], 2, r"not found"),
    ("segment folder", ["sql", "DIR", *T], 2, r"is a folder; pass the path of the segment file"),
    ("segment latin-1", ["validate", "LATIN1", *T], 2, r"not UTF-8 text \(byte 0xe9 on line 1\)"),
    ("segment empty file", ["sql", "EMPTYFILE", *T], 2, r"not valid JSON \(line 1, column 1"),
    ("segment nested deeply", ["sql", "DEEP", *T], 2, r"nested too deeply"),
    ("segment file too big", ["dryrun", "BIG", *T], 2, r"a segment file is at most 1 MB"),
    ("dryrun without warehouse", ["dryrun", "SEG", *T], 2, r"Run `segwork data generate --tenant northstar`"),
    ("trace id 0", ["trace", "0", *T], 2, r"the trace id must be 1-"),
    ("trace version negative", ["trace", *T, "--segment", "x", "--version", "-3"], 2, r"--version must be 1-"),
    ("sql as-of not a date", ["sql", "SEG", *T, "--as-of", "2026-99-01"], 2, r"not a date"),
]


@pytest.mark.parametrize("argv,code,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_command_line(paths, capsys, bounded, argv, code, message):
    argv = [str(paths[a]) if a in paths else a for a in argv]
    assert_refused(run_cli(capsys, *argv), code, message)


def test_good_command_still_works(paths, capsys, bounded):
    """The control: the same files and flags, well-formed, succeed."""
    result = run_cli(capsys, "sql", paths["SEG"], *T, "--dialect", "postgres")
    assert result.code == 0 and "'Plus'" in result.out, result.text
