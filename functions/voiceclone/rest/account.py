"""Routes of the tenant's account: its settings, its usage per vendor, the secret that signs its webhooks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from voiceclone.domain.api_models import TenantSettingsView, UpdateTenantSettings, UsageView, WebhookSecret
from voiceclone.domain.errors import InvalidRequest
from voiceclone.logic.account import settings, usage
from voiceclone.logic.core.services import services
from voiceclone.observability import metrics
from voiceclone.rest.openapi import ERRORS, JSON_ONLY, answers, tenant_of

router = Router()  # type: ignore[no-untyped-call]


# A day as YYYY-MM-DD and nothing else (a date type would also take a Unix time such as "0").
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


@router.get(
    "/v1/usage",
    summary="What the tenant used per vendor: characters synthesized and voices cloned",
    description="Whole days (UTC), both ends included; `from` defaults to the first of `to`'s month, "
    "`to` to today. At most 366 days.",
    tags=["usage"],
    responses=answers(UsageView, {400: ERRORS}),
)
def get_usage(
    start: Annotated[str | None, Query(alias="from", pattern=DAY_PATTERN, description="YYYY-MM-DD")] = None,
    end: Annotated[str | None, Query(alias="to", pattern=DAY_PATTERN, description="YYYY-MM-DD")] = None,
) -> UsageView:
    return usage.usage(services(), tenant_of(router), _day(start), _day(end), datetime.now(tz=UTC).date())


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest("InvalidDate", f"{value} is no day of the calendar (YYYY-MM-DD)") from exc


@router.get(
    "/v1/webhooks/secret",
    summary="The secret that signs this tenant's webhooks",
    description="Made on first use. Verify each delivery's Voiceclone-Signature with it (docs/events.md).",
    tags=["webhooks"],
    responses=answers(WebhookSecret),
)
def get_webhook_secret() -> WebhookSecret:
    secret, created_at = services().store.account.webhook_secret(tenant_of(router))
    return WebhookSecret(secret=secret, created_at=created_at)


@router.post(
    "/v1/webhooks/secret/rotate",
    summary="Replace the webhook signing secret",
    description="Deliveries from now on are signed with the new secret only.",
    tags=["webhooks"],
    responses=answers(WebhookSecret),
)
def rotate_webhook_secret() -> WebhookSecret:
    secret, created_at = services().store.account.rotate_webhook_secret(tenant_of(router))
    metrics.add_metric(name="WebhookSecretRotated", unit="Count", value=1)
    return WebhookSecret(secret=secret, created_at=created_at)


@router.get(
    "/v1/settings",
    summary="The tenant's settings",
    description="The organisation name your speakers' consent statements give, and whether the operator "
    "allows naming a signed consent document instead of a recorded statement.",
    tags=["settings"],
    responses=answers(TenantSettingsView),
)
def get_settings() -> TenantSettingsView:
    return settings.settings_of(services().store.tenants, tenant_of(router))


@router.patch(
    "/v1/settings",
    summary="Set the organisation name the consent statements give",
    description="New jobs' statements name it; a job keeps the name it was created with. The consent "
    "policy (document_consent_allowed) is the operator's to set, not the tenant's.",
    tags=["settings"],
    responses=answers(TenantSettingsView, JSON_ONLY),
)
def update_settings(body: Annotated[UpdateTenantSettings, Body()]) -> TenantSettingsView:
    return settings.set_organisation(services().store.tenants, tenant_of(router), body.organisation_name)
