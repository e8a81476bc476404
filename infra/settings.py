"""Deployment settings from CDK context (cdk.json, `-c key=value`, or App(context=...) locally)."""

from __future__ import annotations

from typing import Any

from constructs import Construct
from pydantic import BaseModel, Field

PREFIX = "voiceclone:"


class StackSettings(BaseModel):
    map_max_concurrency: int = Field(10, alias="mapMaxConcurrency", ge=1, le=40)
    callback_timeout_seconds: int = Field(7200, alias="callbackTimeoutSeconds", ge=1)
    # Unset: each vendor polls at its own pace (seconds for Volcengine, minutes for Huawei).
    poll_initial_seconds: int | None = Field(None, alias="pollInitialSeconds", ge=1)
    poll_max_seconds: int | None = Field(None, alias="pollMaxSeconds", ge=1)
    poll_backoff: float = Field(1.5, alias="pollBackoff", ge=1.0)
    training_deadline_seconds: int = Field(172800, alias="trainingDeadlineSeconds", ge=60)
    upload_url_expiry_seconds: int = Field(900, alias="uploadUrlExpirySeconds", ge=60)
    max_upload_bytes: int = Field(5 * 1024 * 1024, alias="maxUploadBytes", ge=1024)
    upload_retention_days: int = Field(30, alias="uploadRetentionDays", ge=1)
    # Non-secret vendor settings as VOICECLONE_<KEY> variables, e.g. {"TENCENT_VRS_ENDPOINT": "https://..."};
    # the adapters default to the vendors' public endpoints.
    vendor_settings: dict[str, str] = Field(default_factory=dict, alias="vendorSettings")
    log_level: str = Field("INFO", alias="logLevel")

    @classmethod
    def from_context(cls, scope: Construct) -> StackSettings:
        values: dict[str, Any] = {}
        for field in cls.model_fields.values():
            alias = str(field.alias)
            value = scope.node.try_get_context(PREFIX + alias)
            if value is not None:
                values[alias] = value
        return cls.model_validate(values)
