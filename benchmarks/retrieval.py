"""Retrieval benchmark: facet recall@5/@10, value hit@3, search latency, index build time.

Run: `python benchmarks/retrieval.py [--json]` (part of `make bench`).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import Settings  # noqa: E402
from core.embeddings import get_embedder  # noqa: E402
from core.retrieval import FacetIndex, build_index, get_index  # noqa: E402
from core.tenant import load_tenant  # noqa: E402


def _value_phrase(query: str, value: str, aliases: list[str]) -> str:
    """The words of the query that name the value, when they can be found."""
    for cand in [value, *aliases]:
        m = re.search(re.escape(cand), query, re.I)
        if m:
            return m.group(0)
    return value


def bench(tenant_id: str, settings: Settings) -> dict:
    tenant = load_tenant(tenant_id, settings)
    get_embedder(tenant.config.embedding.model, tenant.config.embedding.query_prefix)
    t0 = time.perf_counter()
    build_index(tenant, force=True)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_index(tenant)
    noop_s = time.perf_counter() - t0
    index: FacetIndex = get_index(tenant)
    r5 = r10 = n = 0
    v_hit = v_n = 0
    for row in tenant.ground_truth:
        expected = {c.facet for c in row.expected.all_conditions()}
        got = [h.facet for h in index.search_facets(row.query, k=10)]
        r5 += len(expected & set(got[:5]))
        r10 += len(expected & set(got[:10]))
        n += len(expected)
        for c in row.expected.all_conditions():
            facet = tenant.catalog.get(c.facet)
            for v in c.values or []:
                phrase = _value_phrase(row.query, v, facet.value_synonyms.get(v, []))
                hits = [h.value for h in index.search_values(phrase, facet=c.facet, k=3)]
                v_hit += v in hits
                v_n += 1
    times = []
    for _ in range(3):
        for row in tenant.ground_truth:
            t0 = time.perf_counter()
            index.search_facets(row.query, k=10)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"tenant": tenant_id, "recall_at_5": round(r5 / n, 3), "recall_at_10": round(r10 / n, 3),
            "value_hit_at_3": round(v_hit / max(v_n, 1), 3), "search_ms_p50": round(statistics.median(times), 2),
            "search_ms_p95": round(times[int(0.95 * (len(times) - 1))], 2), "build_s": round(build_s, 2),
            "noop_build_s": round(noop_s, 3)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", action="store_true", help="one JSON object per tenant, one per line")
    ap.add_argument("--tenants", nargs="*", default=["northstar", "harbor"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load().with_overrides(index_dir=Path(tmp) / "index")
        rows = [bench(t, settings) for t in args.tenants]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return 0
    cols = list(rows[0])
    print(" | ".join(f"{c:>14}" for c in cols))
    for r in rows:
        print(" | ".join(f"{str(r[c]):>14}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
