"""The one place that builds the Anthropic client."""
from __future__ import annotations

from core.config import Settings
from core.tenant import Tenant


def make_client(settings: Settings, tenant: Tenant | None = None):
    """An Anthropic client with the tenant's timeout and retry budget (base URL overridable for tests)."""
    import anthropic

    llm = tenant.config.llm if tenant else None
    return anthropic.Anthropic(api_key=settings.anthropic_api_key or None,
                               base_url=settings.anthropic_base_url or None,
                               timeout=llm.timeout_s if llm else 30.0,
                               max_retries=llm.max_retries if llm else 2)
