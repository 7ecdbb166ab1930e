"""The exact tool schemas sent to the model are pinned; changing them is a deliberate act.

Regenerate after an intended change with:  .venv/bin/python tests/test_tool_schemas.py --write
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas.json"


def current() -> str:
    from core.tools import tool_schemas

    return json.dumps(tool_schemas(), indent=2, sort_keys=True) + "\n"


def test_tool_schemas_match_the_snapshot():
    assert SNAPSHOT.is_file(), f"missing {SNAPSHOT}; write it with: python {Path(__file__).name} --write"
    assert current() == SNAPSHOT.read_text(), (
        "The tool schemas sent to the model changed. If that is intended, regenerate the snapshot with "
        f"`.venv/bin/python tests/{Path(__file__).name} --write` and review the diff.")


def test_every_argument_is_described_and_bounded():
    from core.tools import TOOLS

    for t in TOOLS.values():
        props = t.input_schema["properties"]
        assert t.input_schema["additionalProperties"] is False
        for name, prop in props.items():
            assert prop.get("description"), (t.name, name)
            if prop.get("type") == "integer":
                assert "minimum" in prop and "maximum" in prop, (t.name, name)
            if prop.get("type") == "string":
                assert "maxLength" in prop, (t.name, name)


if __name__ == "__main__" and "--write" in sys.argv:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(current())
    print(f"wrote {SNAPSHOT}")
