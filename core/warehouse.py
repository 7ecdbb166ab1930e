"""Synthetic customer warehouse, generated in vectorised DuckDB SQL from the tenant's bindings.

No facet is special-cased: every column comes from a binding's `gen` hints in tenant.yaml:
  categorical  {weights: {value: w}} | {zipf: s} | {uniform: true} | {from_parent: {column, map}}
               (no hint: gently decreasing weights in catalog order)
  multi        {p: 0.1} or {p: {value: p}}: each value independently
  boolean      {p: 0.3}
  numeric      {dist: lognormal, median, sigma} | {dist: beta, a, b, scale} | {dist: uniform, min, max};
               `round` digits, clamped to the facet's range
  date         {days_ago: [lo, hi], skew} | {days_ahead: [lo, hi]}; `p` = share of customers with a date
  event        {p, per_customer, days_ago: [lo, hi]}
Purchases follow `warehouse.products` (catalog hierarchy maps); propensity percentiles are
uniform per value and boosted for customers who bought that value (`warehouse.propensity_links`).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import duckdb
from sqlglot import exp

from core.catalog import Facet
from core.errors import TenantError, WorkbenchError
from core.tenant import MAX_CUSTOMERS, Binding, Tenant
from core.process import pid_alive

Progress = Callable[[str, float], None]


@dataclass
class GenerateReport:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    as_of: dt.date = field(default_factory=dt.date.today)

    def summary(self) -> str:
        counts = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        return f"{self.path}: {counts} in {self.seconds:.1f} s (as of {self.as_of})"


def lit(value: Any) -> str:
    """A SQL literal built by sqlglot (never pasted text)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return exp.Literal.number(value).sql("duckdb")
    return exp.Literal.string(str(value)).sql("duckdb")


class _Salt:
    """Hands out a distinct salt per random draw so columns are independent.

    Customer-level draws become named columns (r0, r1, ...) computed once per row, so a CASE over
    many values reads one column instead of re-hashing in every arm.
    """

    def __init__(self, seed: int) -> None:
        self.n = seed * 1_000_003
        self.columns: list[str] = []

    def u(self, key: str = "customer_id") -> str:
        self.n += 7919
        expr = f"((hash({key}, {self.n}) % 1000000007)::DOUBLE / 1000000007)"
        if key != "customer_id":
            return expr
        self.columns.append(f"{expr} AS r{len(self.columns)}")
        return f"r{len(self.columns) - 1}"


def generate(tenant: Tenant, customers: int | None = None, seed: int | None = None,
             out: Path | None = None, progress: Progress | None = None,
             as_of: dt.date | None = None, propensity_max_pct: int = 50,
             propensity_levels: list[str] | None = None, events: bool = True) -> GenerateReport:
    """Write the tenant's warehouse (atomically: temp file, then rename)."""
    wh = tenant.config.warehouse
    n = wh.customers if customers is None else customers
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CUSTOMERS:
        raise WorkbenchError(f"customers must be a whole number 1-{MAX_CUSTOMERS:,}, not {n!r}.")
    seed = wh.seed if seed is None else seed
    out = Path(out or tenant.warehouse_path)
    as_of = as_of or dt.date.today()
    say = progress or (lambda msg, frac: None)
    if out.is_dir():
        raise WorkbenchError(f"{out} is a folder; give the warehouse a file name such as {tenant.id}.duckdb.")
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(out)
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
        con.execute("SET memory_limit = '3GB'")
        salt = _Salt(seed)
        say(f"customers: {n:,}", 0.05)
        _customers(con, tenant, n, salt, as_of)
        say("purchases", 0.35)
        _purchases(con, tenant, n, salt, as_of)
        say("propensity scores", 0.6)
        _propensity(con, tenant, salt, propensity_max_pct, propensity_levels)
        say("engagement events", 0.85)
        _events(con, tenant, salt, as_of, enabled=events)
        meta = {"as_of": as_of.isoformat(), "tenant": tenant.id, "customers": str(n), "seed": str(seed),
                "fingerprint": tenant.fingerprint(), "propensity_max_pct": str(propensity_max_pct)}
        con.execute("CREATE TABLE meta(key VARCHAR, value VARCHAR)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("customers", "purchases", "propensity", "events")}
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, out)
    report = GenerateReport(path=out, rows=rows, seconds=time.perf_counter() - started, as_of=as_of)
    say("done", 1.0)
    return report


def _remove_stale_temps(out: Path) -> None:
    """Temp files left by generators that were killed (their process is gone)."""
    for tmp in out.parent.glob(out.name + ".tmp*"):
        pid = tmp.name.rsplit(".tmp", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)



def check_schema(con: duckdb.DuckDBPyConnection, tenant: Tenant) -> None:
    """Every binding's table and column exist in the opened warehouse; TenantError naming each one missing."""
    cols: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall():
        cols.setdefault(table, set()).add(column)
    problems = []
    for name, b in tenant.config.bindings.items():
        table, column = _bound_column(b)
        if table not in cols:
            problems.append(f"facet {name}: table {table} not in the warehouse")
        elif column not in cols[table]:
            problems.append(f"facet {name}: column {column} not in {table}")
    if problems:
        raise TenantError(str(tenant.root / "tenant.yaml"), "bindings",
                          "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
                          + f". Fix the binding, or regenerate the warehouse with `segwork data generate --tenant {tenant.id}`")


def _bound_column(b: Binding) -> tuple[str, str]:
    if b.source == "customer":
        return "customers", b.column or ""
    if b.source == "purchase":
        return "purchases", b.column or ""
    if b.source == "propensity":
        return "propensity", "level"
    return "events", "event"


# ---- customers -----------------------------------------------------------------------------

def _customer_bindings(tenant: Tenant) -> dict[str, tuple[Facet, Binding]]:
    """One entry per customer column (deprecated facets share their replacement's column)."""
    cols: dict[str, tuple[Facet, Binding]] = {}
    for name, b in tenant.config.bindings.items():
        facet = tenant.catalog.get(name)
        if b.source != "customer" or facet is None:
            continue
        if b.column not in cols or (b.gen and not cols[b.column][1].gen):
            cols[b.column] = (facet, b)
    return cols


def _customers(con: duckdb.DuckDBPyConnection, tenant: Tenant, n: int, salt: _Salt, as_of: dt.date) -> None:
    cols = _customer_bindings(tenant)
    base, derived = [], []
    for column, (facet, b) in cols.items():
        if b.gen.get("from_parent"):
            derived.append(f"{_from_parent(tenant, b.gen['from_parent'], facet)} AS {column}")
        else:
            base.append(f"{_column_expr(facet, b, salt, as_of)} AS {column}")
    draws = ", ".join(salt.columns)
    salt.columns = []
    extra = (", " + ", ".join(derived)) if derived else ""
    con.execute(f"""CREATE TABLE customers AS
        WITH draws AS (SELECT range AS customer_id, {draws} FROM range({n})),
             base AS (SELECT customer_id, {', '.join(base)} FROM draws)
        SELECT *{extra} FROM base ORDER BY customer_id""")


def _column_expr(facet: Facet, b: Binding, salt: _Salt, as_of: dt.date) -> str:
    g = b.gen
    if facet.kind == "boolean":
        return f"({salt.u()} < {lit(float(g.get('p', 0.5)))})"
    if facet.kind == "numeric":
        return _numeric(facet, g, salt)
    if facet.kind == "date":
        return _date(g, salt, as_of)
    if b.multi:
        return _multi(facet, g, salt)
    return _choice(facet.value_list, _weights(facet.value_list, g), salt.u())


def _weights(values: list[str], g: dict) -> list[float]:
    if "weights" in g:
        return [float(g["weights"].get(v, 0.0)) for v in values]
    if g.get("uniform"):
        return [1.0] * len(values)
    s = float(g.get("zipf", 0.5))
    return [1.0 / (i + 1) ** s for i in range(len(values))]


def _choice(values: list[str], weights: list[float], u: str) -> str:
    total = sum(weights) or 1.0
    acc, arms = 0.0, []
    for v, w in zip(values[:-1], weights[:-1]):
        if w <= 0:
            continue
        acc += w / total
        arms.append(f"WHEN r < {acc:.6f} THEN {lit(v)}")
    return f"CASE {' '.join(arms)} ELSE {lit(values[-1])} END".replace("WHEN r <", f"WHEN {u} <")


def _multi(facet: Facet, g: dict, salt: _Salt) -> str:
    p = g.get("p", 0.1)
    arms = []
    for v in facet.value_list:
        pv = float(p.get(v, 0.0)) if isinstance(p, dict) else float(p)
        arms.append(f"CASE WHEN {salt.u()} < {pv} THEN {lit(v)} END")
    return f"list_filter([{', '.join(arms)}], lambda x: x IS NOT NULL)"


def _numeric(facet: Facet, g: dict, salt: _Salt) -> str:
    rng = facet.numeric_range
    lo = float(g.get("min", rng.min if rng else 0))
    hi = float(g.get("max", rng.max if rng else 1e9))
    dist = g.get("dist", "uniform")
    if dist == "lognormal":
        z = f"(sqrt(-2 * ln(greatest({salt.u()}, 1e-9))) * cos(2 * pi() * {salt.u()}))"
        raw = f"({float(g.get('median', 1))} * exp({float(g.get('sigma', 1))} * {z}))"
    elif dist == "beta":  # Kumaraswamy: a beta-like shape with a closed-form inverse
        a, b_ = float(g.get("a", 2)), float(g.get("b", 2))
        raw = f"({float(g.get('scale', 1))} * pow(1 - pow(1 - {salt.u()}, {1 / b_}), {1 / a}))"
    else:
        raw = f"({lo} + ({hi} - {lo}) * {salt.u()})"
    digits = int(g.get("round", 2))
    return f"round(least(greatest({raw}, {lo}), {hi}), {digits})"


def _date(g: dict, salt: _Salt, as_of: dt.date) -> str:
    base = f"DATE {lit(as_of.isoformat())}"
    if "days_ahead" in g:
        lo, hi = g["days_ahead"]
        expr = f"({base} + CAST(floor({lo} + ({hi} - {lo}) * {salt.u()}) AS INTEGER))"
    else:
        lo, hi = g.get("days_ago", [0, 1095])
        skew = float(g.get("skew", 1.0))
        expr = f"({base} - CAST(floor({lo} + ({hi} - {lo}) * pow({salt.u()}, {skew})) AS INTEGER))"
    p = float(g.get("p", 1.0))
    return expr if p >= 1 else f"CASE WHEN {salt.u()} < {p} THEN {expr} END"


def _from_parent(tenant: Tenant, spec: dict, facet: Facet) -> str:
    """A value derived from another column through a hierarchy map (e.g. state -> region)."""
    hmap = tenant.catalog.hierarchy_map(spec["map"])
    if not hmap:
        raise WorkbenchError(f"{tenant.root / 'tenant.yaml'}: bindings.{facet.name}.gen.from_parent.map: "
                             f"{spec['map']!r} is not a hierarchy map of the catalog")
    arms = [f"WHEN {lit(child)} THEN {lit(parent)}" for parent, kids in hmap.items() for child in kids]
    return f"CASE {spec['column']} {' '.join(arms)} END"


# ---- purchases -----------------------------------------------------------------------------

def _purchases(con: duckdb.DuckDBPyConnection, tenant: Tenant, n: int, salt: _Salt, as_of: dt.date) -> None:
    wh = tenant.config.warehouse
    products = getattr(wh, "products", None) or {}
    levels = products.get("levels", [])
    if not levels:
        con.execute("CREATE TABLE purchases(customer_id BIGINT, purchase_date DATE, amount DECIMAL(10,2))")
        return
    _product_dim(con, tenant, products)
    leaves = con.execute("SELECT count(*) FROM product_dim").fetchone()[0]
    rows = int(n * float(wh.purchases_per_customer))
    history = int(getattr(wh, "history_days", 1095))
    amount = products.get("amount", {})
    attrs = products.get("attributes", {}) or {}
    attr_cols = []
    for col, spec in attrs.items():
        facet = tenant.catalog.get(spec["facet"])
        values = facet.value_list if facet else list(spec.get("weights", {}))
        attr_cols.append(f"{_choice(values, _weights(values, spec), salt.u('i'))} AS {col}")
    level_cols = ", ".join(f"d.{lv['column']}" for lv in levels)
    brand = products.get("brand")
    brand_col = (f", CASE WHEN len(d.brands) > 0 THEN d.brands[1 + CAST(floor({salt.u('i')} * len(d.brands)) AS INTEGER)] END"
                 f" AS {brand['column']}") if brand else ""
    z = f"(sqrt(-2 * ln(greatest({salt.u('i')}, 1e-9))) * cos(2 * pi() * {salt.u('i')}))"
    # Written clustered by the top product level, then date, as fact tables are in real warehouses:
    # DuckDB's per-row-group min/max then skips most of the table for one top-level value or a
    # recent window (at 10M: one department spans 43 of 407 row groups, the last 90 days 81).
    # Only the physical order changes; every row, and so every count, stays the same.
    con.execute(f"""
        CREATE TABLE purchases AS
        WITH lines AS (
            SELECT range AS i,
                   CAST(floor({n} * pow({salt.u('range')}, 1.6)) AS BIGINT) AS customer_id,
                   CAST(floor({leaves} * pow({salt.u('range')}, 1.3)) AS INTEGER) AS leaf
            FROM range({rows})
        )
        SELECT l.customer_id,
               DATE {lit(as_of.isoformat())} - CAST(floor({history} * pow({salt.u('i')}, 1.4)) AS INTEGER) AS purchase_date,
               CAST(round(least({float(amount.get('median', 40))} * exp({float(amount.get('sigma', 0.8))} * {z}), 5000), 2) AS DECIMAL(10,2)) AS amount,
               {level_cols}{brand_col}{', ' if attr_cols else ''}{', '.join(attr_cols)}
        FROM lines l JOIN product_dim d ON d.idx = l.leaf
        ORDER BY {levels[0]['column']}, purchase_date
    """)
    con.execute("DROP TABLE product_dim")


def _product_dim(con: duckdb.DuckDBPyConnection, tenant: Tenant, products: dict) -> None:
    """One row per leaf product value with its ancestors and the brands that sell it."""
    levels = products["levels"]
    leaf = levels[-1]
    leaf_facet = tenant.catalog.get(leaf["facet"])
    rows = []
    for value in leaf_facet.value_list:
        chain = {leaf["column"]: value}
        child = value
        for i in range(len(levels) - 1, 0, -1):
            parents = tenant.catalog.parents_of(levels[i]["parent_map"], child)
            child = parents[0] if parents else None
            chain[levels[i - 1]["column"]] = child
        rows.append(chain)
    brand = products.get("brand")
    by_level: dict[str, list[str]] = {}
    if brand:
        for b, places in tenant.catalog.hierarchy_map(brand["map"]).items():
            for place in places:
                by_level.setdefault(place, []).append(b)
    cols = [lv["column"] for lv in levels]
    con.execute(f"CREATE TEMP TABLE product_dim(idx INTEGER, {', '.join(c + ' VARCHAR' for c in cols)}, brands VARCHAR[])")
    data = []
    for idx, chain in enumerate(rows):
        key = chain.get(brand["level"]) if brand else None
        data.append([idx, *[chain.get(c) for c in cols], by_level.get(key, [])])
    con.executemany(f"INSERT INTO product_dim VALUES ({', '.join('?' * (len(cols) + 2))})", data)


# ---- propensity ------------------------------------------------------------------------------

def _propensity(con: duckdb.DuckDBPyConnection, tenant: Tenant, salt: _Salt, max_pct: int,
                only_levels: list[str] | None) -> None:
    con.execute("CREATE TABLE propensity(customer_id BIGINT, level VARCHAR, value VARCHAR, pct SMALLINT)")
    links = getattr(tenant.config.warehouse, "propensity_links", None) or {}
    rho = float(getattr(tenant.config.warehouse, "propensity_correlation", 0.6))
    shared = _normal(salt, "c.customer_id, 17")  # one factor per customer, shared by every level
    purchase_cols = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'purchases'").fetchall()}
    for level, values in _propensity_levels(tenant).items():
        if only_levels and level not in only_levels:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE vals(vidx INTEGER, value VARCHAR)")
        con.executemany("INSERT INTO vals VALUES (?, ?)", list(enumerate(values)))
        link = links.get(level)
        bought = (f"SELECT DISTINCT customer_id, {link} AS value FROM purchases WHERE {link} IS NOT NULL"
                  if link in purchase_cols else "SELECT NULL::BIGINT AS customer_id, NULL::VARCHAR AS value WHERE false")
        u = _correlated_u(shared, _normal(salt, "c.customer_id, v.vidx"), rho)
        ub = u.replace("c.customer_id", "b.customer_id")
        boost = salt.u("b.customer_id, v.vidx, 1")
        # A quarter of a value's buyers rank higher; the rest are uniform, so TOP N stays near N%
        # of customers even for values most customers bought. Only rows within max_pct are built.
        con.execute(f"""
            INSERT INTO propensity
            WITH bought AS ({bought}),
            boosted AS (
                SELECT b.customer_id, v.value, greatest(1, CAST(ceil(100 * {ub} * 0.35) AS SMALLINT)) AS pct
                FROM bought b JOIN vals v ON v.value = b.value WHERE {boost} < 0.25),
            uniform AS (
                SELECT c.customer_id, v.value, CAST(1 + floor(100 * {u}) AS SMALLINT) AS pct
                FROM customers c CROSS JOIN vals v WHERE {u} < {int(max_pct) / 100})
            SELECT customer_id, {lit(level)}, value, pct FROM boosted WHERE pct <= {int(max_pct)}
            UNION ALL
            SELECT customer_id, {lit(level)}, value, pct FROM uniform
            ANTI JOIN boosted USING (customer_id, value)
        """)


def _normal(salt: _Salt, key: str) -> str:
    """A standard normal draw (Box-Muller) for a key."""
    return f"(sqrt(-2 * ln(greatest({salt.u(key)}, 1e-12))) * cos(2 * pi() * {salt.u(key)}))"


def _correlated_u(z_customer: str, z_pair: str, rho: float) -> str:
    """A uniform draw per (customer, value) that shares a per-customer factor across values.

    Gaussian copula Phi(rho * z_customer + sqrt(1 - rho^2) * z_pair), with Phi approximated by the
    logistic 1 / (1 + exp(-1.702 x)): each value's tiers keep about their share, while a customer
    who ranks high for one value tends to rank high for related ones, as real scores do.
    """
    return f"(1.0 / (1.0 + exp(-1.702 * ({rho} * {z_customer} + {(1 - rho * rho) ** 0.5:.6f} * {z_pair}))))"


def _propensity_levels(tenant: Tenant) -> dict[str, list[str]]:
    levels: dict[str, list[str]] = {}
    for name, b in tenant.config.bindings.items():
        facet = tenant.catalog.get(name)
        if b.source == "propensity" and facet is not None and b.level not in levels:
            levels[b.level] = facet.value_list
    return levels


# ---- events ----------------------------------------------------------------------------------

def _events(con: duckdb.DuckDBPyConnection, tenant: Tenant, salt: _Salt, as_of: dt.date, enabled: bool = True) -> None:
    con.execute("CREATE TABLE events(customer_id BIGINT, event VARCHAR, event_date DATE)")
    seen = set() if enabled else {b.event for b in tenant.config.bindings.values()}
    for name, b in tenant.config.bindings.items():
        if b.source != "event" or b.event in seen:
            continue
        seen.add(b.event)
        g = b.gen
        p, k = float(g.get("p", 0.3)), int(g.get("per_customer", 2))
        lo, hi = g.get("days_ago", [0, 365])
        con.execute(f"""
            INSERT INTO events
            SELECT customer_id, {lit(b.event)},
                   DATE {lit(as_of.isoformat())} - CAST(floor({lo} + ({hi} - {lo}) * pow({salt.u('customer_id, k')}, 1.3)) AS INTEGER)
            FROM (SELECT customer_id FROM customers WHERE {salt.u("customers.customer_id")} < {p}) c
            CROSS JOIN range({k}) t(k)
            WHERE k = 0 OR {salt.u('customer_id, k')} < 0.6
        """)


# ---- CLI -------------------------------------------------------------------------------------

def generate_cli(tenant: Tenant, args: Any) -> int:
    """`segwork data generate`: print progress and a summary."""
    out = Path(args.out) if args.out else tenant.warehouse_path
    if args.if_missing and out.exists():
        print(f"{out} exists; keeping it (drop --if-missing to regenerate).")
        return 0
    n = args.customers if args.customers is not None else tenant.config.warehouse.customers
    print(f"Generating {tenant.display_name} sample warehouse: {n:,} customers -> {out}", flush=True)
    report = generate(tenant, customers=n, seed=args.seed, out=out,
                      progress=lambda msg, frac: print(f"  [{frac:4.0%}] {msg}", flush=True))
    print(report.summary())
    return 0
