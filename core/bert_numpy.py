"""A BERT sentence encoder in plain numpy, for models saved in the sentence-transformers layout.

Why: importing torch + sentence-transformers costs 4-8 s per process, more than a whole cold
`segwork ask` may take. The default embedding model (MiniLM, 6 layers) is a plain BERT with mean
pooling and normalisation; its forward pass is a few matrix products, which numpy runs in a
couple of milliseconds per query. `supports()` says when a model folder has exactly that shape;
anything else goes through sentence-transformers. Outputs match sentence-transformers to float32
rounding (tests/test_embeddings.py compares the two).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_SQRT_HALF = np.float32(0.7071067811865476)


def supports(path: Path) -> bool:
    """True when `path` is a BERT model with mean pooling and normalisation (what this module computes)."""
    try:
        config = json.loads((path / "config.json").read_text())
        modules = json.loads((path / "modules.json").read_text())
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and kinds == ["Transformer", "Pooling", "Normalize"]
            and pooling.get("pooling_mode_mean_tokens") is True
            and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                                  "pooling_mode_mean_sqrt_len_tokens"))
            and (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file())


class BertEncoder:
    """Mean-pooled, L2-normalised BERT embeddings (the sentence-transformers recipe) without torch."""

    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        st_config = path / "sentence_bert_config.json"
        max_len = json.loads(st_config.read_text()).get("max_seq_length", 512) if st_config.is_file() else 512
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        w = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in load_file(str(path / "model.safetensors")).items()}
        # Dense weights stored transposed and contiguous once, so each product is one plain GEMM; the query,
        # key and value projections joined into one.
        self.w = {k: np.ascontiguousarray(v.T) if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k else v
                  for k, v in w.items()}
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            parts = [p + n for n in ("query", "key", "value")]
            self.w[p + "qkv.weight"] = np.ascontiguousarray(np.concatenate([self.w.pop(n + ".weight") for n in parts], axis=1))
            self.w[p + "qkv.bias"] = np.concatenate([self.w.pop(n + ".bias") for n in parts])
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        # Truncated at max_seq_length as sentence-transformers does; never padded (texts are packed).
        self.tok.enable_truncation(min(int(max_len), int(config["max_position_embeddings"])))
        self.tok.no_padding()

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text. Texts are packed, not padded: the position-wise layers run on all their
        tokens at once and attention runs within each text, so no work goes to padding."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with _blas().limit(limits=1, user_api="blas"):  # products of a few dozen rows: threads cost more than they give
            return self._forward(texts)

    def _forward(self, texts: list[str]) -> np.ndarray:
        enc = self.tok.encode_batch(texts)
        bounds = np.cumsum([0] + [len(e.ids) for e in enc])
        ids = np.concatenate([e.ids for e in enc]).astype(np.int64)
        types = np.concatenate([e.type_ids for e in enc]).astype(np.int64)
        pos = np.concatenate([np.arange(len(e.ids)) for e in enc])
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        hd = self.dim // self.heads
        scale = np.float32(1.0 / np.sqrt(hd))
        ctx = np.empty_like(x)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = self._dense(x, p + "attention.self.qkv")
            for a, b in zip(bounds[:-1], bounds[1:]):  # attention stays inside each text
                q, k, v = (qkv[a:b, j * self.dim:(j + 1) * self.dim].reshape(b - a, self.heads, hd).transpose(1, 0, 2)
                           for j in range(3))
                scores = (q @ k.transpose(0, 2, 1)) * scale
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                ctx[a:b] = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(b - a, self.dim)
            x = self._norm(self._dense(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h * _SQRT_HALF))
            x = self._norm(self._dense(h, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = np.add.reduceat(x, bounds[:-1], axis=0) / np.diff(bounds)[:, None].astype(np.float32)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"] + self.w[name + ".bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]


_CONTROLLER = None


def _blas():
    """The process's BLAS thread-pool controller (scanning the loaded libraries once)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _erf(x: np.ndarray) -> np.ndarray:
    """erf within 1.5e-7 (Abramowitz & Stegun 7.1.26), in float32: numpy has no erf and scipy costs 0.4 s to import."""
    z = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * z)
    poly = t * (np.float32(0.254829592) + t * (np.float32(-0.284496736) + t * (np.float32(1.421413741)
               + t * (np.float32(-1.453152027) + t * np.float32(1.061405429)))))
    y = np.float32(1.0) - poly * np.exp(-z * z)
    return np.copysign(y, x)
