"""Process settings: defaults, then environment, then explicit overrides."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    tenants_dir: Path = PROJECT_ROOT / "tenants"
    data_dir: Path = PROJECT_ROOT / "sample_data"
    index_dir: Path = PROJECT_ROOT / ".index"
    runs_dir: Path = PROJECT_ROOT / "runs"
    store_path: Path = PROJECT_ROOT / "sample_data" / "workbench.sqlite"
    milvus_uri: str = ""  # empty: Milvus Lite on a local file under index_dir
    milvus_token: str = ""
    anthropic_api_key: str = ""
    anthropic_base_url: str = ""

    @classmethod
    def load(cls, **overrides: object) -> "Settings":
        env = os.environ
        values: dict[str, object] = {}
        for key, var in _ENV.items():
            if env.get(var):
                field_type = cls.__dataclass_fields__[key].type
                values[key] = Path(env[var]) if "Path" in str(field_type) else env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_overrides(self, **overrides: object) -> "Settings":
        return dataclasses.replace(self, **overrides)


_ENV = {
    "tenants_dir": "SEGWORK_TENANTS_DIR",
    "data_dir": "SEGWORK_DATA_DIR",
    "index_dir": "SEGWORK_INDEX_DIR",
    "runs_dir": "SEGWORK_RUNS_DIR",
    "store_path": "SEGWORK_STORE",
    "milvus_uri": "MILVUS_URI",
    "milvus_token": "MILVUS_TOKEN",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "anthropic_base_url": "ANTHROPIC_BASE_URL",
}
