"""Vendor endpoints and credentials: environment variables first, else the vendor's Secrets Manager secret.

For vendor ``tencent_vrs`` and field ``secret_key`` the variable is
``VOICECLONE_TENCENT_VRS_SECRET_KEY`` (built by :func:`env_name`, nowhere else);
``VOICECLONE_TENCENT_VRS_SECRET_ARN`` names a JSON secret holding the fields by their
lower-case names (in AWS). A vendor's fields are those its adapter declares:
``endpoint``, ``credential_fields`` and ``optional_fields``.

Every vendor also takes a price, read the same way by :func:`price`:
``VOICECLONE_<VENDOR>_PRICE_PER_1K_CHARS`` (the operator's price of 1,000 characters of speech, a
decimal number) with ``VOICECLONE_<VENDOR>_PRICE_CURRENCY`` (ISO 4217, e.g. ``CNY``). Absent, the
price is not configured: nothing here knows a vendor's price list, and no price is made up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from voiceclone.domain.errors import VendorAuthError
from voiceclone.lazy import lazy_module

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities import parameters

    from voiceclone.domain import facts
    from voiceclone.vendors.base import VendorAdapter
else:  # Powertools Parameters (it brings boto3): loaded by the first vendor call that reads a secret
    parameters = lazy_module("aws_lambda_powertools.utilities.parameters")
    # The facts' models (with the probe set) load for whoever reads a price, not for every adapter.
    facts = lazy_module("voiceclone.domain.facts")

SECRET_CACHE_SECONDS = 300
# How long one vendor call may take (seconds), for every vendor; uploads allow more (the adapters').
TIMEOUT_VARIABLE = "VOICECLONE_VENDOR_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 10.0
# A vendor's price of speech (voiceclone.domain.facts.Price): both set, or neither.
PRICE_FIELDS = ("price_per_1k_chars", "price_currency")


def env_name(vendor_id: str, field: str) -> str:
    """The environment variable of one vendor setting: ``VOICECLONE_<VENDOR>_<FIELD>``."""
    return f"VOICECLONE_{vendor_id.upper()}_{field.upper()}"


def timeout_seconds(environ: Mapping[str, str] | None = None) -> float:
    """``VOICECLONE_VENDOR_TIMEOUT_SECONDS`` (infra's ``voiceclone:vendorTimeoutSeconds``), else 10 s."""
    environ = os.environ if environ is None else environ
    raw = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{TIMEOUT_VARIABLE} must be a positive number of seconds, not {raw!r}")
    return value


def settings_of(
    adapter: type[VendorAdapter],
    environ: Mapping[str, str] | None = None,
    *,
    defaults: Mapping[str, str] | None = None,
    optional: tuple[str, ...] | None = None,
) -> dict[str, str]:
    """An adapter's declared settings: endpoint (default: its ``default_endpoint``), credentials, options.

    ``credential_fields`` are required unless named in ``optional`` (an adapter whose
    credentials come in alternatives, like Huawei's AK/SK or IAM token, checks them itself).
    """
    return vendor_settings(
        adapter.vendor_id,
        adapter.settings_fields(),
        defaults={"endpoint": adapter.default_endpoint, **(defaults or {})},
        environ=environ,
        optional=(*adapter.optional_fields, *(optional or ())),
    )


def _secret_fields(vendor_id: str, environ: Mapping[str, str]) -> dict[str, str]:
    arn = environ.get(env_name(vendor_id, "secret_arn"))
    if not arn:
        return {}
    raw = parameters.get_secret(arn, max_age=SECRET_CACHE_SECONDS)
    value = json.loads(raw) if isinstance(raw, str) else json.loads(raw.decode())
    return {str(k): str(v) for k, v in value.items()}


def vendor_settings(
    vendor_id: str,
    fields: tuple[str, ...],
    defaults: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    optional: tuple[str, ...] = (),
) -> dict[str, str]:
    """The vendor's configuration: environment variable, else secret, else default; missing → clear error.

    Fields in `optional` may be absent and come back as "".
    """
    environ = os.environ if environ is None else environ
    secret = _secret_fields(vendor_id, environ)
    resolved: dict[str, str] = {}
    for field in fields:
        value = environ.get(env_name(vendor_id, field)) or secret.get(field) or defaults.get(field) or ""
        if not value and field not in optional:
            raise VendorAuthError(
                vendor_id,
                "MissingConfiguration",
                f"set {env_name(vendor_id, field)} (or the '{field}' key of the vendor's secret)",
            )
        resolved[field] = value
    return resolved


def price(vendor_id: str, environ: Mapping[str, str] | None = None) -> facts.Price | None:
    """The configured price of 1,000 characters of the vendor's speech; None when none is configured.

    A half-configured or unreadable price is a configuration error (ValueError naming the variable),
    not "no price": a comparison must not show a vendor as free or unpriced by a typo.
    """
    values = vendor_settings(vendor_id, PRICE_FIELDS, defaults={}, environ=environ, optional=PRICE_FIELDS)
    amount, currency = values["price_per_1k_chars"].strip(), values["price_currency"].strip().upper()
    if not amount and not currency:
        return None
    amount_name, currency_name = (env_name(vendor_id, f) for f in PRICE_FIELDS)
    if not amount or not currency:
        missing = amount_name if not amount else currency_name
        raise ValueError(f"{missing} is not set: a price needs both {amount_name} and {currency_name}")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{amount_name} must be a positive decimal number, not {amount!r}")
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise ValueError(f"{currency_name} must be a three-letter currency code (ISO 4217), not {currency!r}")
    return facts.Price(per_1k_chars=value, currency=currency)
