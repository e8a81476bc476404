"""Vendor endpoints and credentials: environment variables first, else the vendor's Secrets Manager secret.

For vendor ``tencent_vrs`` and field ``secret_key`` the variable is
``VOICECLONE_TENCENT_VRS_SECRET_KEY``; ``VOICECLONE_TENCENT_VRS_SECRET_ARN``
names a JSON secret holding the fields by their lower-case names (in AWS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from voiceclone.domain.errors import VendorAuthError

SECRET_CACHE_SECONDS = 300


def env_name(vendor_id: str, field: str) -> str:
    return f"VOICECLONE_{vendor_id.upper()}_{field.upper()}"


def _secret_fields(vendor_id: str, environ: Mapping[str, str]) -> dict[str, str]:
    arn = environ.get(env_name(vendor_id, "secret_arn"))
    if not arn:
        return {}
    from aws_lambda_powertools.utilities import (
        parameters,
    )  # lazy: only functions that call vendors pay for it

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
