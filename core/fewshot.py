"""The one way a policy gets past segments as examples, so an exclusion (the eval's leakage guard) applies to all."""
from __future__ import annotations

import re
from typing import Any, Collection


def _norm(text: str) -> str:
    """Same request up to case, spacing and punctuation."""
    return re.sub(r"[\W_]+", " ", str(text)).strip().casefold()


def few_shot_examples(index: Any, query: str, k: int = 3, exclude: Collection[str] = ()) -> list[Any]:
    """Past segments whose request reads like `query`, never one whose id or request text is in `exclude`."""
    banned = {_norm(x) for x in exclude if str(x).strip()}
    hits = index.similar_segments(query, k=k + len(banned))
    return [h for h in hits if _norm(h.id) not in banned and _norm(h.query) not in banned][:k]
