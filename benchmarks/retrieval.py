"""Retrieval benchmark: facet search alone and value lookup on paraphrased phrases.

Facet recall@5 / @10: for every row of the tenant's probe set (requests written from the catalog) and
dev ground truth, the share of expected facets that `FacetIndex.search_facets(request)` ranks in its
top 5 / 10. Value hit@3: for each paraphrase in `benchmarks/data/value_paraphrases.csv` (everyday
wording, never the value name or a listed synonym), whether `search_values(phrase)` returns the value
in its top 3 - with the facet given (how the tool is called) and across all facets. Latency: p50/p95
of each search call, warm (model and index loaded once before timing).

Run: `python benchmarks/retrieval.py [--json] [--build]` (part of `make bench`); `--build` also times
a cold index build into a temporary directory.
"""
from __future__ import annotations

import argparse
import csv
import inspect
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import Settings  # noqa: E402
from core.retrieval import FacetIndex, build_index, get_index  # noqa: E402
from core.tenant import load_ground_truth, load_tenant  # noqa: E402

PARAPHRASES = Path(__file__).parent / "data" / "value_paraphrases.csv"


def reader_fused() -> bool:
    """True while facet search still adds the request reader's own picks to its ranking."""
    code = inspect.getsource(FacetIndex.search_facets).replace(FacetIndex.search_facets.__doc__ or "", "")
    return bool(re.search(r"\._read\(|Understander|reader\.", code))


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def paraphrases(tenant) -> tuple[list[dict], list[str]]:
    """The tenant's paraphrase rows; rows that are a value name or listed synonym are set aside (named)."""
    with PARAPHRASES.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["tenant"] == tenant.id]
    keep, dropped = [], []
    for r in rows:
        f = tenant.catalog.get(r["facet"])
        if f is None or r["value"] not in f.value_list:
            raise SystemExit(f"{PARAPHRASES}: {r['facet']} / {r['value']} is not in the {tenant.id} catalog")
        names = {_norm(v) for v in f.value_list} | {_norm(a) for al in f.value_synonyms.values() for a in al}
        (dropped if _norm(r["phrase"]) in names else keep).append(r)
    return keep, [r["phrase"] for r in dropped]


def _pct(times: list[float], q: float) -> float:
    times = sorted(times)
    return round(times[min(len(times) - 1, int(q * len(times)))], 2) if times else 0.0


def facet_recall(index: FacetIndex, rows, times: list[float]) -> tuple[float, float]:
    r5 = r10 = n = 0
    for row in rows:
        expected = {c.facet for c in row.expected.all_conditions()}
        t0 = time.perf_counter()
        got = [h.facet for h in index.search_facets(row.query, k=10)]
        times.append((time.perf_counter() - t0) * 1000)
        r5 += len(expected & set(got[:5]))
        r10 += len(expected & set(got[:10]))
        n += len(expected)
    return round(r5 / max(n, 1), 3), round(r10 / max(n, 1), 3)


def value_hits(index: FacetIndex, rows: list[dict], times: list[float]) -> tuple[float, float, list[str]]:
    with_facet = any_facet = 0
    misses = []
    for r in rows:
        t0 = time.perf_counter()
        hits = [h.value for h in index.search_values(r["phrase"], facet=r["facet"], k=3)]
        times.append((time.perf_counter() - t0) * 1000)
        with_facet += r["value"] in hits
        if r["value"] not in hits:
            misses.append(f"{r['phrase']!r} -> {r['value']} (got {', '.join(hits) or 'nothing'})")
        anywhere = index.search_values(r["phrase"], k=3)
        any_facet += any(h.value == r["value"] for h in anywhere)
    n = max(len(rows), 1)
    return round(with_facet / n, 3), round(any_facet / n, 3), misses


def bench(tenant_id: str, settings: Settings, build: bool) -> dict:
    tenant = load_tenant(tenant_id, settings)
    out: dict = {"tenant": tenant_id}
    if build:
        t0 = time.perf_counter()
        build_index(tenant, force=True)
        out["build_s"] = round(time.perf_counter() - t0, 2)
    index = get_index(tenant)
    index.search_facets("warm up", k=10)
    facet_ms: list[float] = []
    probe_path = ROOT / "tests" / "probes" / f"{tenant_id}_probe.csv"
    if probe_path.is_file():
        out["probe_recall@5"], out["probe_recall@10"] = facet_recall(index, load_ground_truth(probe_path), facet_ms)
    out["dev_recall@5"], out["dev_recall@10"] = facet_recall(index, tenant.ground_truth, facet_ms)
    value_ms: list[float] = []
    rows, dropped = paraphrases(tenant)
    out["paraphrases"] = len(rows)
    out["value_hit@3"], out["value_hit@3_any_facet"], misses = value_hits(index, rows, value_ms)
    out["facet_ms_p50"], out["facet_ms_p95"] = _pct(facet_ms, 0.5), _pct(facet_ms, 0.95)
    out["value_ms_p50"], out["value_ms_p95"] = _pct(value_ms, 0.5), _pct(value_ms, 0.95)
    out["_misses"], out["_not_paraphrases"] = misses, dropped
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="one JSON object per tenant, one per line")
    ap.add_argument("--build", action="store_true", help="also time a cold index build (temporary index directory)")
    ap.add_argument("--misses", action="store_true", help="list the paraphrases whose value was not in the top 3")
    ap.add_argument("--tenants", nargs="*", default=["northstar", "harbor"])
    args = ap.parse_args()
    fused = reader_fused()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load()
        if args.build:
            settings = settings.with_overrides(index_dir=Path(tmp) / "index")
        rows = [bench(t, settings, args.build) for t in args.tenants]
    if args.json:
        for r in rows:
            print(json.dumps({**{k: v for k, v in r.items() if not k.startswith("_")}, "reader_fused": fused}))
        return 0
    note = ("NOTE: search_facets still fuses the request reader's own picks into its ranking, so facet recall\n"
            "      measures reader + retrieval, not retrieval alone." if fused else
            "search_facets ranks by retrieval alone (no reader picks fused).")
    print(note)
    cols = [c for c in rows[0] if not c.startswith("_")]
    width = max(len(c) for c in cols) + 1
    print(f"{'':<{width}}" + "".join(f"{r['tenant']:>12}" for r in rows))
    for c in cols[1:]:
        print(f"{c:<{width}}" + "".join(f"{str(r.get(c, '')):>12}" for r in rows))
    for r in rows:
        if r["_not_paraphrases"]:
            print(f"{r['tenant']}: set aside (value names or listed synonyms, not paraphrases): {r['_not_paraphrases']}")
        if args.misses:
            print(f"{r['tenant']} value misses:\n  " + "\n  ".join(r["_misses"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
