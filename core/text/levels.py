"""The ladders of level names (levels.yaml): which step of a common loyalty ladder, or of a ranked band's degrees,
a name is on."""
from __future__ import annotations

import functools
from pathlib import Path

import yaml


@functools.lru_cache(maxsize=1)
def _levels() -> dict:
    return yaml.safe_load((Path(__file__).parent / "levels.yaml").read_text())


def _steps(key: str) -> dict[str, int]:
    return {name: step for step, names in enumerate(_levels()[key]) for name in names}


def ladder() -> dict[str, int]:
    """Membership level name -> its step, the lowest 0."""
    return _steps("ladder")


def stages() -> dict[str, int]:
    """A customer's lifecycle stage word ('inactive', 'former') -> its step, the earliest 0."""
    return _steps("stages")


def degrees() -> dict[str, int]:
    """Degree word of a ranked band ('very high', 'better') -> its step, the lowest 0."""
    return _steps("degrees")
