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
        # Dense weights stored transposed and contiguous once, so each product is one plain GEMM.
        self.w = {k: np.ascontiguousarray(v.T) if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k else v
                  for k, v in w.items()}
        self.tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        # As sentence-transformers calls it: pad to the longest text of the batch, truncate at max_seq_length.
        self.tok.enable_truncation(min(int(max_len), int(config["max_position_embeddings"])))
        self.tok.enable_padding(pad_id=int(config.get("pad_token_id", 0)), pad_token="[PAD]")

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text. Each text runs alone: no padding to compute, and a text's vector never depends
        on which texts it was sent with (a batch pads every text to the longest, several times the work for queries)."""
        out = np.empty((len(texts), self.dim), np.float32)
        with _blas().limit(limits=1, user_api="blas"):  # products of a few rows: threads cost more than they give
            for i, text in enumerate(texts):
                out[i] = self._forward([text])[0]
        return out

    def _forward(self, texts: list[str]) -> np.ndarray:
        """The model on a padded batch (padding masked out of attention and pooling)."""
        enc = self.tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        w = self.w
        n, t = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]  # padded keys get no attention
        hd = self.dim // self.heads
        scale = np.float32(1.0 / np.sqrt(hd))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (self._dense(x, p + f"attention.self.{n_}").reshape(n, t, self.heads, hd).transpose(0, 2, 1, 3)
                       for n_ in ("query", "key", "value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            ctx = (scores / scores.sum(-1, keepdims=True)) @ v
            ctx = ctx.transpose(0, 2, 1, 3).reshape(n, t, self.dim)
            x = self._norm(self._dense(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h * _SQRT_HALF))
            x = self._norm(self._dense(h, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        w = self.w[name + ".weight"]
        return (x.reshape(-1, x.shape[-1]) @ w + self.w[name + ".bias"]).reshape(*x.shape[:-1], w.shape[1])

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
