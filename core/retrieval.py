"""Retrieval over a tenant's facet catalog, values and past segments, in Milvus.

Hybrid search: dense (sentence embeddings) + BM25 full text fused with RRF inside Milvus, run per
clause of the request and fused again with exact synonym / value-name matches from the catalog.

Milvus Lite locks its data directory to one process, so the index is built once per catalog
fingerprint into a master directory (under a file lock) and every process searches its own copy.
`MILVUS_URI` switches to a Milvus server, where no copying is needed.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
from pydantic import BaseModel
from rapidfuzz import fuzz, process, utils

from core.catalog import Catalog, Facet
from core.config import Settings
from core.embeddings import Embedder, get_embedder
from core.segment import Cohort, Segment
from core.tenant import Tenant
from core.text.normalise import norm
from core.process import pid_alive

Progress = Callable[[str, float], None]
RRF_K = 60
VALUE_FUZZY_FLOOR = 82


class FacetHit(BaseModel):
    facet: str
    group: str
    kind: str
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    matched_synonym: str | None = None
    deprecated: bool = False
    replaced_by: str | None = None
    description: str = ""


class ValueHit(BaseModel):
    facet: str
    value: str
    score: float
    method: str  # exact | synonym | fuzzy | dense
    matched_synonym: str | None = None
    support: float | None = None  # dense hits: mean of the value's three nearest names or items

    @property
    def rank(self) -> float:
        """Nearest name, tempered by the value's other near items when known."""
        return self.score if self.support is None else (self.score + self.support) / 2


class SimilarSegment(BaseModel):
    id: str
    query: str
    segment: Segment
    score: float


def collection_names(tenant_id: str) -> dict[str, str]:
    t = re.sub(r"[^A-Z0-9_]", "_", tenant_id.upper())
    return {k: f"SEGMENT_AI_{t}_{k}" for k in ("FACET_NAME", "FACET_VALUE", "VALUE_NAME", "FACET_TERM",
                                                             "GROUND_TRUTH")}


# ---- the Milvus connection (one per process) ----------------------------------------------------

class _Milvus:
    """The process's MilvusClient: a private copy of the Lite master, or a server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.client = None
        self.remote = bool(settings.milvus_uri)

    @property
    def master(self) -> Path:
        return self.settings.index_dir / "master" / "milvus.db"

    @property
    def manifest_path(self) -> Path:
        return self.settings.index_dir / "manifest.json"

    def manifest(self) -> dict[str, str]:
        try:
            return json.loads(self.manifest_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def build_lock(self):
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.settings.index_dir / "build.lock", "w")
        fcntl.flock(fh, fcntl.LOCK_EX)
        return fh

    def master_client(self):
        from pymilvus import MilvusClient

        if self.remote:
            return self.open()
        self.master.parent.mkdir(parents=True, exist_ok=True)
        return MilvusClient(str(self.master))

    def open(self):
        """This process's client (opened lazily; re-copied after a rebuild)."""
        from pymilvus import MilvusClient

        with self.lock:
            if self.client is None:
                if self.remote:
                    self.client = MilvusClient(uri=self.settings.milvus_uri, token=self.settings.milvus_token)
                else:
                    self.client = MilvusClient(str(self._private_copy()))
            return self.client

    def reopen(self) -> None:
        with self.lock:
            if self.client is not None and not self.remote:
                self.client.close()
                self.client = None

    def _private_copy(self) -> Path:
        base = self.settings.index_dir / "proc"
        base.mkdir(parents=True, exist_ok=True)
        for stale in base.iterdir():
            if stale.name.isdigit() and not pid_alive(int(stale.name)):
                shutil.rmtree(stale, ignore_errors=True)
        mine = base / str(os.getpid())
        shutil.rmtree(mine, ignore_errors=True)
        fh = self.build_lock()
        try:
            shutil.copytree(self.master, mine / "milvus.db") if self.master.exists() else (mine / "milvus.db").mkdir(parents=True)
        finally:
            fh.close()
        return mine / "milvus.db"



_MILVUS: dict[str, _Milvus] = {}
_MILVUS_LOCK = threading.Lock()


def _milvus(settings: Settings) -> _Milvus:
    key = f"{settings.index_dir}|{settings.milvus_uri}"
    with _MILVUS_LOCK:
        if key not in _MILVUS:
            _MILVUS[key] = _Milvus(settings)
        return _MILVUS[key]


# ---- building ----------------------------------------------------------------------------------

INDEX_LAYOUT = 4  # bump when the collections' contents change shape, so built indexes are rebuilt


def index_key(tenant: Tenant) -> str:
    # Only what the index holds: a dry-run or policy setting in tenant.yaml must not force a rebuild.
    content = tenant.fingerprint(("catalog.yaml", "ground_truth.csv"))
    return f"{content}|{tenant.config.embedding.model}|{tenant.config.embedding.query_prefix}|layout{INDEX_LAYOUT}"


def index_is_current(tenant: Tenant) -> bool:
    """True when the built index matches the tenant's files and model."""
    return _milvus(tenant.settings).manifest().get(tenant.id) == index_key(tenant)


def build_index(tenant: Tenant, force: bool = False, progress: Progress | None = None) -> bool:
    """Build the tenant's collections unless the fingerprint is unchanged; True when built."""
    say = progress or (lambda msg, frac: None)
    mv = _milvus(tenant.settings)
    key = index_key(tenant)
    if not force and mv.manifest().get(tenant.id) == key:
        return False
    fh = mv.build_lock()
    try:
        if not force and mv.manifest().get(tenant.id) == key:
            return False
        embedder = _embedder(tenant)
        client = mv.master_client()
        try:
            _write_collections(client, tenant, embedder, say)
        finally:
            if not mv.remote:
                client.close()
        manifest = mv.manifest()
        manifest[tenant.id] = key
        mv.manifest_path.write_text(json.dumps(manifest, indent=2))
    finally:
        fh.close()
    mv.reopen()
    say("index ready", 1.0)
    return True


def _entries(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    cat = tenant.catalog
    facets, values, names, terms, truth = [], [], [], [], []
    for f in cat.facets:
        syn = "; ".join(f.synonyms)
        text = f"{f.name}. {f.description} Also called: {syn}." if syn else f"{f.name}. {f.description}"
        facets.append(_row(tenant, text, f, payload={"replaced_by": f.replaced_by}))
        if f.deprecated:
            continue
        # Each name, synonym and description alone: a short phrase is compared with short texts.
        terms += [_row(tenant, t, f) for t in dict.fromkeys([f.name, *f.synonyms, f.description]) if t]
        for v in f.value_list:
            aliases = f.value_synonyms.get(v, [])
            vtext = f"{v} ({f.name})" + (f"; also: {', '.join(aliases)}" if aliases else "")
            values.append(_row(tenant, vtext, f, value=v, payload={"aliases": aliases}))
            # Bare names and aliases: an everyday word is compared with '<value>', not '<value> (<facet>)'.
            gloss = [f.value_glosses[v]] if v in f.value_glosses else []  # the description's own definition
            names += [_row(tenant, text, f, value=v)
                      for text in dict.fromkeys([v, *aliases, *gloss, *f.value_examples.get(v, [])])]
    for r in tenant.ground_truth:
        truth.append({"text": r.query, "tenant_id": tenant.id, "facet": "", "group": "", "kind": "segment",
                      "deprecated": False, "value": r.id,
                      "payload": json.dumps({"segment": r.expected.spec(), "asked": r.needs_clarification})})
    return {"FACET_NAME": facets, "FACET_VALUE": values, "VALUE_NAME": names, "FACET_TERM": terms, "GROUND_TRUTH": truth}


def _other(text: str | None, value: str) -> str | None:
    """The alias or item a hit matched, when it is not the value's own name."""
    return text if text and text != value else None


def _row(tenant: Tenant, text: str, f: Facet, value: str = "", payload: dict | None = None) -> dict[str, Any]:
    return {"text": text[:4000], "tenant_id": tenant.id, "facet": f.name, "group": f.group, "kind": f.kind,
            "deprecated": f.deprecated, "value": value, "payload": json.dumps(payload or {})}


def _write_collections(client, tenant: Tenant, embedder: Embedder, say: Progress) -> None:
    names = collection_names(tenant.id)
    entries = _entries(tenant)
    total = sum(len(v) for v in entries.values()) or 1
    done = 0
    for kind, rows in entries.items():
        name = names[kind]
        if client.has_collection(name):
            client.drop_collection(name)
        client.create_collection(name, schema=_schema(client, embedder.dim), index_params=_index_params(client))
        for start in range(0, len(rows), 256):
            chunk = rows[start:start + 256]
            vecs = embedder.encode([r["text"] for r in chunk])
            for i, (r, v) in enumerate(zip(chunk, vecs)):
                r["id"] = start + i
                r["dense"] = v.tolist()
            client.insert(name, chunk)
            done += len(chunk)
            say(f"{tenant.id}: indexed {done}/{total} entries", 0.05 + 0.9 * done / total)
        client.flush(name)  # searches are ~15x faster on flushed segments
        client.load_collection(name)


def _schema(client, dim: int):
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=4096, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    for field in ("tenant_id", "facet", "group", "kind", "value"):
        schema.add_field(field, DataType.VARCHAR, max_length=512)
    schema.add_field("deprecated", DataType.BOOL)
    schema.add_field("payload", DataType.VARCHAR, max_length=8192)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["text"], output_field_names=["sparse"]))
    return schema


def _index_params(client):
    params = client.prepare_index_params()
    params.add_index(field_name="dense", index_type="FLAT", metric_type="COSINE")
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params


def _embedder(tenant: Tenant) -> Embedder:
    return get_embedder(tenant.config.embedding.model, tenant.config.embedding.query_prefix)


# ---- searching ---------------------------------------------------------------------------------

_SPLIT = re.compile(r",|;| - | and | or | who | whose | with | but | excluding | minus | that | from | in the | for ", re.I)
OUT_FIELDS = ["facet", "group", "kind", "deprecated", "value", "payload", "text"]


class FacetIndex:
    """Search one tenant's facets, values and past segments."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.catalog: Catalog = tenant.catalog
        self.names = collection_names(tenant.id)
        self._mv = _milvus(tenant.settings)
        self.embedder = _embedder(tenant)
        self._lexicon = _lexicon(self.catalog)

    @property
    def client(self):
        """This process's client, with every collection loaded."""
        for kind in self.names:
            self._client_for(kind)
        return self._mv.open()

    def _client_for(self, kind: str):
        """The client with the `kind` collection loaded; a copied database starts released, and a cold
        `segwork ask` searches two of the four collections, so each is loaded on its first search."""
        with self._mv.lock:
            client = self._mv.open()
            if getattr(self, "_loaded_on", None) is not client:
                self._loaded_on, self._loaded = client, set()
            if kind not in self._loaded:
                client.load_collection(self.names[kind])
                self._loaded.add(kind)
            return client

    def _search(self, method: str, kind: str, *args, **kwargs):
        """One search call on the `kind` collection; a dropped connection to the embedded server is reopened
        and the call tried once more."""
        for attempt in (1, 2):
            try:
                with self._mv.lock:
                    return getattr(self._client_for(kind), method)(self.names[kind], *args, **kwargs)
            except Exception as e:  # noqa: BLE001 - pymilvus raises MilvusException or raw grpc errors
                if attempt == 2 or not _connection_lost(e):
                    raise
                self._mv.reopen()

    def _filter(self, filters: dict[str, Any] | None) -> str:
        parts = [f'tenant_id == "{_quote(self.tenant.id)}"']
        for key, val in (filters or {}).items():
            if key not in ("facet", "group", "kind", "deprecated"):
                continue
            parts.append(f"{key} == {str(val).lower()}" if isinstance(val, bool) else f'{key} == "{_quote(str(val))}"')
        return " and ".join(parts)

    def _hybrid(self, collection: str, texts: list[str], limit: int, filters: dict | None = None) -> list[list[dict]]:
        from pymilvus import AnnSearchRequest, RRFRanker

        vecs = self.embedder.encode_queries(texts).tolist()  # every chunk in one model call
        expr = self._filter(filters)
        reqs = [AnnSearchRequest(data=vecs, anns_field="dense", param={"metric_type": "COSINE"}, limit=limit, expr=expr),
                AnnSearchRequest(data=texts, anns_field="sparse", param={"metric_type": "BM25"}, limit=limit, expr=expr)]
        return self._search("hybrid_search", collection, reqs, RRFRanker(RRF_K), limit=limit, output_fields=OUT_FIELDS)

    def search_facets(self, query: str, k: int = 10, filters: dict[str, Any] | None = None) -> list[FacetHit]:
        """Ranked facets for a request: per-clause hybrid search fused with catalog phrase matches (no reader inside)."""
        chunks = search_chunks(query)
        results = self._hybrid("FACET_NAME", chunks, limit=max(k, 10), filters=filters)
        scores: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        for hits in results:
            for rank, h in enumerate(hits, 1):
                name = self._active(h["entity"]["facet"])
                scores[name] = scores.get(name, 0.0) + 1.0 / (RRF_K + rank)
                dense_rank[name] = min(dense_rank.get(name, rank), rank)
        lexical = self._lexical(query)
        for rank, (name, phrase) in enumerate(lexical, 1):
            scores[name] = scores.get(name, 0.0) + 2.0 / (RRF_K + rank)
        syn = dict(lexical)
        lex_rank = {name: r for r, (name, _) in enumerate(lexical, 1)}
        ranked = sorted(scores, key=lambda n: -scores[n])
        allowed = self._allowed(filters)
        out = []
        for name in ranked:
            f = self.catalog.get(name)
            if f is None or (allowed is not None and name not in allowed):
                continue
            orig = self._replaced.get(name)
            out.append(FacetHit(facet=f.name, group=f.group, kind=f.kind, score=round(scores[name], 5),
                                dense_rank=dense_rank.get(name), lexical_rank=lex_rank.get(name),
                                matched_synonym=syn.get(name), deprecated=orig is not None,
                                replaced_by=f.name if orig else None, description=f.description))
            if len(out) >= k:
                break
        return out

    @property
    def _replaced(self) -> dict[str, str]:
        """Replacement facet -> deprecated name seen in the last query (for evidence)."""
        return getattr(self, "_last_replaced", {})

    def _active(self, name: str) -> str:
        f = self.catalog.get(name)
        if f is not None and f.deprecated:
            repl = self.catalog.resolve(name)
            if repl is not None:
                self._last_replaced = {**self._replaced, repl.name: name}
                return repl.name
        return name

    def _allowed(self, filters: dict | None) -> set[str] | None:
        if not filters:
            return None
        keep = set()
        for f in self.catalog.active_facets:
            if all(str(getattr(f, k, "")) == str(v) for k, v in filters.items() if k in ("group", "kind", "facet")):
                keep.add(f.name)
        return keep

    def _lexical(self, query: str) -> list[tuple[str, str]]:
        """Facets whose name, synonym or value appears verbatim in the query, longest phrase first."""
        self._last_replaced = {}
        q = f" {_norm(query)} "
        found: dict[str, str] = {}
        for phrase, facet in self._lexicon:
            if f" {phrase} " in q and facet not in found:
                found[self._active(facet)] = phrase
        return sorted(found.items(), key=lambda kv: -len(kv[1]))

    def search_values(self, phrase: str, facet: str | None = None, k: int = 5) -> list[ValueHit]:
        """Values for a phrase: exact, then value synonym, then fuzzy, then dense."""
        facets = self._value_facets(facet)
        hits = self._lexical_values(phrase, facets, k)
        if hits:
            return hits
        results = self._hybrid("FACET_VALUE", [phrase], limit=k, filters={"facet": facets[0].name} if facet else None)
        for h in results[0]:
            e = h["entity"]
            hits.append(ValueHit(facet=e["facet"], value=e["value"], score=round(float(h["distance"]), 4), method="dense"))
        return hits[:k]

    def expect_value_search(self, phrase: str, facet: str | None = None) -> None:
        """A `search_values` call is coming: when no name matches the phrase, it is embedded with the next model call."""
        if not self._lexical_values(phrase, self._value_facets(facet), 1):
            self.embedder.expect([phrase])

    def _value_facets(self, facet: str | None) -> list[Facet]:
        facets = [self.catalog.resolve(facet)] if facet else [f for f in self.catalog.active_facets if f.value_list]
        return [f for f in facets if f is not None]

    def _lexical_values(self, phrase: str, facets: list[Facet], k: int) -> list[ValueHit]:
        """Exact, value-synonym, then fuzzy matches of the phrase among the facets' values (no model)."""
        want = _norm(phrase)
        hits: list[ValueHit] = []
        for f in facets:
            for v in f.value_list:
                if _norm(v) == want:
                    hits.append(ValueHit(facet=f.name, value=v, score=1.0, method="exact"))
            for v, aliases in f.value_synonyms.items():
                for a in aliases:
                    if _norm(a) == want:
                        hits.append(ValueHit(facet=f.name, value=v, score=0.97, method="synonym", matched_synonym=a))
        if hits:
            return _dedupe(hits)[:k]
        for f in facets:
            choices = {v: v for v in f.value_list} | {a: v for v, al in f.value_synonyms.items() for a in al}
            for text, score, _ in process.extract(want, list(choices), scorer=fuzz.WRatio, processor=utils.default_process, limit=k):
                if score >= VALUE_FUZZY_FLOOR:
                    hits.append(ValueHit(facet=f.name, value=choices[text], score=round(score / 100, 3), method="fuzzy",
                                         matched_synonym=text if text != choices[text] else None))
        return _dedupe(sorted(hits, key=lambda h: -h.score))[:k] if hits else []

    def nearest_values(self, phrases: list[str], facets: list[str], k: int = 3) -> list[list[ValueHit]]:
        """For each phrase, the closest values of the given facets by meaning (one encode call, one search)."""
        if not phrases or not facets:
            return [[] for _ in phrases]
        vecs = self.embedder.encode_queries(phrases)
        names = ", ".join(f'"{_quote(f)}"' for f in facets)
        res = self._search("search", "VALUE_NAME", data=[v.tolist() for v in vecs], limit=k * VALUE_NEIGHBOURS,
                           anns_field="dense", filter=f"{self._filter(None)} and facet in [{names}]",
                           output_fields=["facet", "value", "text"], search_params={"metric_type": "COSINE"})
        return [_by_value(hits)[:k] for hits in res]

    def nearest_terms(self, phrases: list[str], facets: list[str], k: int = 4) -> list[list[ValueHit]]:
        """For each phrase, the facets (value '') and values of the given facets nearest in meaning to it, by
        their names, synonyms, descriptions and value aliases (one encode call, two searches)."""
        if not phrases or not facets:
            return [[] for _ in phrases]
        data = [v.tolist() for v in self.embedder.encode_queries(phrases)]
        names = ", ".join(f'"{_quote(f)}"' for f in facets)
        where = f"{self._filter(None)} and facet in [{names}]"
        out: list[list[ValueHit]] = []
        found = [self._search("search", kind, data=data, limit=k * VALUE_NEIGHBOURS, anns_field="dense", filter=where,
                              output_fields=["facet", "value", "text"], search_params={"metric_type": "COSINE"})
                 for kind in ("FACET_TERM", "VALUE_NAME")]
        for term_hits, value_hits in zip(*found):
            best: dict[tuple[str, str], ValueHit] = {}
            for h in [*term_hits, *value_hits]:
                e, score = h["entity"], round(float(h["distance"]), 4)
                key = (e["facet"], e["value"])
                if key not in best or score > best[key].score:
                    best[key] = ValueHit(facet=e["facet"], value=e["value"], score=score, method="dense",
                                         matched_synonym=e.get("text"))
            out.append(sorted(best.values(), key=lambda h: -h.score)[:k * 2])
        return out

    def values_near_term(self, facet: str, term: str, k: int = 3, named_facet_ok: bool = False) -> list[ValueHit]:
        """A facet's values nearest in meaning to one of its own catalog phrases (a synonym), from the vectors
        stored at indexing: no model call. Empty when the synonym is nearer the facet itself than any value,
        unless `named_facet_ok`."""
        where = f'{self._filter(None)} and facet == "{_quote(facet)}"'
        rows = self._search("query", "FACET_TERM", filter=where, output_fields=["text", "dense"], limit=64)
        vec = next((np.asarray(r["dense"]) for r in rows if r["text"] == term), None)
        if vec is None:
            return []
        res = self._search("search", "VALUE_NAME", data=[vec.tolist()], limit=k * VALUE_NEIGHBOURS,
                           anns_field="dense", filter=where, output_fields=["facet", "value", "text"],
                           search_params={"metric_type": "COSINE"})
        hits = sorted(_by_value(res[0]), key=lambda h: -h.score)[:k]
        # A synonym nearer the facet's own name or description than to any value names the facet, not a value.
        own = [float(np.asarray(r["dense"]) @ vec) for r in rows if r["text"] in (facet, self._description(facet))]
        return hits if hits and (named_facet_ok or hits[0].score > max(own, default=0.0)) else []

    def _description(self, facet: str) -> str:
        f = self.catalog.get(facet)
        return f.description if f else ""

    def expect_request(self, request: str) -> None:
        """A turn on this request is starting: the chunks its facet search will embed join the turn's first model call."""
        self.embedder.expect(search_chunks(request))

    def similar_segments(self, query: str, k: int = 3) -> list[SimilarSegment]:
        """Past segments of this tenant whose request reads most like this one (few-shot)."""
        vec = self.embedder.encode_query(query).tolist()
        res = self._search("search", "GROUND_TRUTH", data=[vec], limit=k, anns_field="dense",
                           filter=self._filter(None), output_fields=["text", "value", "payload"],
                           search_params={"metric_type": "COSINE"})
        out = []
        for h in res[0]:
            e = h["entity"]
            seg = Segment.from_spec(json.loads(e["payload"])["segment"])
            out.append(SimilarSegment(id=e["value"], query=e["text"], segment=seg, score=round(float(h["distance"]), 4)))
        return out


def _connection_lost(e: Exception) -> bool:
    text = f"{type(e).__name__} {e}".lower()
    return any(w in text for w in ("unavailable", "fail connecting", "goaway", "too_many_pings", "connection"))


VALUE_NEIGHBOURS = 8  # hits fetched per wanted value: a value's support is judged on its several nearest items


def _by_value(hits: list[dict]) -> list[ValueHit]:
    """One hit per value, its nearest name or item; ranked by that and by how many of its items are near too
    ('fish': many seafood items against one 'fish food'), so one stray item does not decide alone."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for h in sorted(hits, key=lambda h: -float(h["distance"])):
        groups.setdefault((h["entity"]["facet"], h["entity"]["value"]), []).append(h)
    out = []
    for (facet, value), hs in groups.items():
        top = [float(h["distance"]) for h in hs[:3]] + [0.0] * (3 - min(3, len(hs)))
        out.append(ValueHit(facet=facet, value=value, score=round(top[0], 4), method="dense",
                            support=round(sum(top) / 3, 4),
                            matched_synonym=_other(hs[0]["entity"].get("text"), value)))
    return sorted(out, key=lambda h: -h.rank)


def _dedupe(hits: list[ValueHit]) -> list[ValueHit]:
    seen, out = set(), []
    for h in hits:
        if (h.facet, h.value) not in seen:
            seen.add((h.facet, h.value))
            out.append(h)
    return out


_norm = norm


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def search_chunks(query: str) -> list[str]:
    """The texts `search_facets` embeds for a query: the whole query, then its clauses (at most 8)."""
    parts = [p.strip() for p in _SPLIT.split(query) if p and len(p.strip()) > 2]
    seen: list[str] = [query.strip()]
    for p in parts:
        if p not in seen:
            seen.append(p)
    return seen[:8]


def _lexicon(catalog: Catalog) -> list[tuple[str, str]]:
    """(normalised phrase, facet) for names, synonyms, values and value synonyms; longest first."""
    pairs: list[tuple[str, str]] = []
    for f in catalog.facets:
        for phrase in [f.name, *f.synonyms]:
            pairs.append((_norm(phrase), f.name))
        if f.deprecated:
            continue
        for v in f.value_list:
            if len(v) > 3:
                pairs.append((_norm(v), f.name))
        for aliases in f.value_synonyms.values():
            for a in aliases:
                if len(a) > 3:
                    pairs.append((_norm(a), f.name))
    return sorted(set(pairs), key=lambda p: -len(p[0]))


_INDEXES: dict[tuple[str, str], FacetIndex] = {}
_INDEX_LOCK = threading.Lock()


def get_index(tenant: Tenant, progress: Progress | None = None) -> FacetIndex:
    """The tenant's index for this process, built first if its fingerprint changed."""
    with _INDEX_LOCK:
        key = (tenant.id, index_key(tenant) + str(tenant.settings.index_dir))
        if key not in _INDEXES:
            build_index(tenant, progress=progress)
            _INDEXES[key] = FacetIndex(tenant)
        return _INDEXES[key]


def index_cli(tenant: Tenant, args: Any) -> int:
    """`segwork index`: build or confirm the tenant's index, with progress."""
    started = time.perf_counter()
    print(f"Indexing {tenant.display_name} ({tenant.id})…", flush=True)
    last = [-1]

    def progress(msg: str, frac: float) -> None:
        step = int(frac * 10)
        if step != last[0]:
            last[0] = step
            print(f"  [{frac:4.0%}] {msg}", flush=True)

    built = build_index(tenant, force=args.force, progress=progress)
    took = time.perf_counter() - started
    print(("Built" if built else "Up to date (fingerprint unchanged)") + f" in {took:.1f} s.")
    return 0
