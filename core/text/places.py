"""US state postal abbreviations (places.yaml), read once."""
from __future__ import annotations

import functools
from pathlib import Path

import yaml


@functools.lru_cache(maxsize=1)
def state_names() -> dict[str, str]:
    """A state's postal code -> its name, lower case."""
    return yaml.safe_load((Path(__file__).parent / "places.yaml").read_text())["states"]
