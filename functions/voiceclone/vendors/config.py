"""Vendor endpoints and credentials: environment variables first, else the vendor's Secrets Manager secret.

For vendor ``tencent_vrs`` and field ``secret_key`` the variable is
``VOICECLONE_TENCENT_VRS_SECRET_KEY`` (built by :func:`env_name`, nowhere else);
``VOICECLONE_TENCENT_VRS_SECRET_ARN`` names a JSON secret holding the fields by their
lower-case names (in AWS). A vendor's fields are those its adapter declares:
``endpoint``, ``credential_fields`` and ``optional_fields``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from voiceclone.domain.errors import VendorAuthError
from voiceclone.lazy import lazy_module

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities import parameters

    from voiceclone.vendors.base import VendorAdapter
else:  # Powertools Parameters (it brings boto3): loaded by the first vendor call that reads a secret
    parameters = lazy_module("aws_lambda_powertools.utilities.parameters")

SECRET_CACHE_SECONDS = 300
# How long one vendor call may take (seconds), for every vendor; uploads allow more (the adapters').
TIMEOUT_VARIABLE = "VOICECLONE_VENDOR_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 10.0


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
