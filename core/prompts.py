"""Prompt templates live in core/prompts/*.txt; rendering fails loudly on a missing variable."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill a template; a missing variable raises KeyError instead of sending 'None' to a model."""
    return _template(name).substitute({k: str(v) for k, v in values.items()})
