"""Policies decide each step of a turn; one place chooses which one runs."""
from __future__ import annotations

from typing import Callable

from core.config import Settings
from core.tenant import Tenant


def active_policy_name(settings: Settings | None = None) -> str:
    """'claude' when an API key is configured, else 'offline'."""
    return "claude" if (settings or Settings.load()).anthropic_api_key else "offline"


def make_policy_factory(tenant: Tenant, name: str | None = None, settings: Settings | None = None,
                        client=None) -> Callable[[], object]:
    """A factory of fresh policies for one tenant (a new one per turn and per cohort worker)."""
    settings = settings or tenant.settings
    name = name or active_policy_name(settings)
    if name == "offline":
        from core.policies.offline import OfflinePolicy
        return lambda: OfflinePolicy(tenant)
    if name == "claude":
        from core.policies.claude import ClaudePolicy, FallbackPolicy
        from core.policies.offline import OfflinePolicy
        from core.llm import make_client

        shared = client or make_client(settings, tenant)
        return lambda: FallbackPolicy(ClaudePolicy(tenant, shared), lambda: OfflinePolicy(tenant))
    raise ValueError(f"Unknown policy {name!r}; use 'offline' or 'claude'.")
