"""A tenant's settings: the organisation name its speakers' consent names, and the operator's consent policy.

The tenant changes its organisation name with its API key (PATCH /v1/settings); whether it may
name a consent document kept elsewhere instead of a recorded statement is the operator's call
alone (``voiceclone admin tenant``, which writes the table with AWS credentials, not an API key).
"""

from __future__ import annotations

from voiceclone.domain.api_models import TenantSettingsView
from voiceclone.domain.models import TenantSettings
from voiceclone.store.tenants import TenantStore


def settings_of(tenants: TenantStore, tenant_id: str) -> TenantSettingsView:
    return TenantSettingsView.of(tenants.settings(tenant_id))


def set_organisation(tenants: TenantStore, tenant_id: str, organisation_name: str) -> TenantSettingsView:
    """The organisation name new jobs' consent statements give (a job keeps the name it was made with)."""

    def change(current: TenantSettings) -> TenantSettings | None:
        if current.version and current.organisation_name == organisation_name:
            return None
        return current.model_copy(update={"organisation_name": organisation_name})

    return TenantSettingsView.of(tenants.change(tenant_id, change))


def set_policy(
    tenants: TenantStore,
    tenant_id: str,
    *,
    organisation_name: str | None = None,
    document_consent_allowed: bool | None = None,
) -> TenantSettingsView:
    """What an operator sets for a tenant: its organisation name, and whether document consent is allowed."""
    update: dict[str, object] = {}
    if organisation_name is not None:
        update["organisation_name"] = organisation_name
    if document_consent_allowed is not None:
        update["document_consent_allowed"] = document_consent_allowed

    def change(current: TenantSettings) -> TenantSettings | None:
        if current.version and all(getattr(current, k) == v for k, v in update.items()):
            return None
        return current.model_copy(update=update)

    return TenantSettingsView.of(tenants.change(tenant_id, change))
