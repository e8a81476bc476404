"""Deployment settings from CDK context (cdk.json, `-c key=value`, or App(context=...) locally)."""

from __future__ import annotations

from typing import Any

from constructs import Construct
from pydantic import BaseModel, Field

PREFIX = "voiceclone:"


class StackSettings(BaseModel):
    map_max_concurrency: int = Field(10, alias="mapMaxConcurrency", ge=1, le=40)
    callback_timeout_seconds: int = Field(7200, alias="callbackTimeoutSeconds", ge=1)
    poll_initial_seconds: int = Field(60, alias="pollInitialSeconds", ge=1)
    poll_max_seconds: int = Field(900, alias="pollMaxSeconds", ge=1)
    poll_backoff: float = Field(1.5, alias="pollBackoff", ge=1.0)
    training_deadline_seconds: int = Field(172800, alias="trainingDeadlineSeconds", ge=60)
    upload_url_expiry_seconds: int = Field(900, alias="uploadUrlExpirySeconds", ge=60)
    max_upload_bytes: int = Field(5 * 1024 * 1024, alias="maxUploadBytes", ge=1024)
    upload_retention_days: int = Field(30, alias="uploadRetentionDays", ge=1)
    tencent_vrs_endpoint: str = Field("https://vrs.tencentcloudapi.com", alias="tencentVrsEndpoint")
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
