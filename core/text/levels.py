"""The ladder of membership level names (levels.yaml): which step of a common loyalty ladder a name is on."""
from __future__ import annotations

import functools
from pathlib import Path

import yaml


@functools.lru_cache(maxsize=1)
def ladder() -> dict[str, int]:
    """Level name -> its step, the lowest 0."""
    steps = yaml.safe_load((Path(__file__).parent / "levels.yaml").read_text())["ladder"]
    return {name: step for step, names in enumerate(steps) for name in names}
