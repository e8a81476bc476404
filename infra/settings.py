"""Deployment settings read from CDK context (cdk.json, `cdk -c key=value`, or `App(context=...)`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field, field_validator

from infra import constants as c

CTX_STUDIO = "voiceclone:studio"
CTX_STUDIO_EXTRA_ORIGINS = "voiceclone:studioExtraOrigins"


class StackSettings(BaseModel):
    """Every tunable of the stack, validated once at synthesis.

    Each field's validation alias is its context key, so the local stack can synthesize the very
    same stack with seconds-long waits just by passing different context. A bad value
    fails the synthesis with pydantic's message instead of deploying a broken stack.
    """

    # By context key (from_context) or by field name (StackSettings(map_max_concurrency=3)).
    model_config = ConfigDict(frozen=True, validate_by_alias=True, validate_by_name=True)

    map_max_concurrency: int = Field(10, validation_alias=c.CTX_MAP_MAX_CONCURRENCY, ge=1, le=40)
    callback_timeout_seconds: int = Field(7200, validation_alias=c.CTX_CALLBACK_TIMEOUT_SECONDS, ge=1)
    # Unset (the default): each vendor polls at its own pace (Capabilities in the vendor adapter,
    # 60 s growing to 900 s unless the vendor says otherwise); set: every vendor uses these.
    poll_initial_seconds: int | None = Field(None, validation_alias=c.CTX_POLL_INITIAL_SECONDS, ge=1)
    poll_max_seconds: int | None = Field(None, validation_alias=c.CTX_POLL_MAX_SECONDS, ge=1)
    poll_backoff: float = Field(1.5, validation_alias=c.CTX_POLL_BACKOFF, ge=1.0)
    training_deadline_seconds: int = Field(172800, validation_alias=c.CTX_TRAINING_DEADLINE_SECONDS, ge=1)
    # A presigned POST is valid for at most 7 days.
    upload_url_expiry_seconds: int = Field(
        900, validation_alias=c.CTX_UPLOAD_URL_EXPIRY_SECONDS, ge=1, le=604800
    )
    max_upload_bytes: int = Field(5 * 1024 * 1024, validation_alias=c.CTX_MAX_UPLOAD_BYTES, ge=1)
    upload_retention_days: int = Field(30, validation_alias=c.CTX_UPLOAD_RETENTION_DAYS, ge=1)
    # VOICECLONE_<KEY> variables for the adapters, e.g. {"QINIU_ENDPOINT": "https://..."} (the local
    # stack points the adapters at its sandboxes this way). A vendor's endpoint not set here is its
    # adapter's default_endpoint, or whatever the environment says where the functions run.
    # Credentials of a deployed stack belong in the vendor's secret, not here: these are plain text.
    vendor_settings: dict[str, str] = Field(default_factory=dict, validation_alias=c.CTX_VENDOR_SETTINGS)
    # Seconds one vendor call may take; unset, the adapters' default (voiceclone.vendors.config).
    vendor_timeout_seconds: float | None = Field(None, validation_alias=c.CTX_VENDOR_TIMEOUT_SECONDS, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias=c.CTX_LOG_LEVEL
    )
    # Webhook retries (docs/events.md): attempt n+1 waits base * 2**(n-1) s, at most max (SQS allows 12 h);
    # after max attempts the delivery goes to the webhook dead-letter queue.
    webhook_backoff_base_seconds: int = Field(30, validation_alias=c.CTX_WEBHOOK_BACKOFF_BASE_SECONDS, ge=0)
    webhook_backoff_max_seconds: int = Field(
        3600, validation_alias=c.CTX_WEBHOOK_BACKOFF_MAX_SECONDS, ge=0, le=43200
    )
    webhook_max_attempts: int = Field(8, validation_alias=c.CTX_WEBHOOK_MAX_ATTEMPTS, ge=1, le=1000)
    # Only for the local stack, whose receivers are on 127.0.0.1: deployed, such targets are refused.
    webhook_allow_private_targets: bool = Field(False, validation_alias=c.CTX_WEBHOOK_ALLOW_PRIVATE_TARGETS)

    # Labels on speech (infra/labels.py, docs/labels.md). No default producer: the operator's registered
    # name or 27-character provider code; without one, speech is refused (never handed out unlabelled).
    aigc_content_producer: str = Field("", validation_alias=c.CTX_AIGC_CONTENT_PRODUCER, max_length=256)
    label_explicit: bool = Field(True, validation_alias=c.CTX_LABEL_EXPLICIT)
    label_pcm: Literal["refuse", "header"] = Field("refuse", validation_alias=c.CTX_LABEL_PCM)
    label_sign: bool = Field(True, validation_alias=c.CTX_LABEL_SIGN)
    # PEM: the certificate the operator's CA issued for the stack's KMS key (then any intermediates), and
    # the CA's root, which POST /v1/provenance trusts. Kept in SSM parameters (infra/labels.py).
    c2pa_certificate_chain: str = Field("", validation_alias=c.CTX_C2PA_CERTIFICATE_CHAIN)
    c2pa_trust_anchors: str = Field("", validation_alias=c.CTX_C2PA_TRUST_ANCHORS)

    def label_environment(self) -> dict[str, str]:
        """The label settings of a function that labels speech (the certificates are parameters)."""
        env = {
            c.ENV_LABEL_EXPLICIT: str(self.label_explicit).lower(),
            c.ENV_LABEL_PCM: self.label_pcm,
            c.ENV_LABEL_SIGN: str(self.label_sign).lower(),
        }
        if self.aigc_content_producer:
            env[c.ENV_AIGC_CONTENT_PRODUCER] = self.aigc_content_producer
        return env

    def webhook_environment(self) -> dict[str, str]:
        """The variables of deliver_webhook alone."""
        env = {
            c.ENV_WEBHOOK_BACKOFF_BASE_SECONDS: str(self.webhook_backoff_base_seconds),
            c.ENV_WEBHOOK_BACKOFF_MAX_SECONDS: str(self.webhook_backoff_max_seconds),
        }
        if self.webhook_allow_private_targets:
            env[c.ENV_WEBHOOK_ALLOW_PRIVATE_TARGETS] = "true"
        return env

    # A job still waiting for recordings this long ends EXPIRED (infra/schedules.py); the local stack's tests
    # shorten it to seconds.
    job_expiry_seconds: int = Field(604800, validation_alias=c.CTX_JOB_EXPIRY_SECONDS, ge=1)
    swagger_ui: bool = Field(False, validation_alias=c.CTX_SWAGGER_UI)
    authorizer_cache_seconds: int = Field(300, validation_alias=c.CTX_AUTHORIZER_CACHE_SECONDS, ge=0, le=3600)
    # The browser studio (infra/studio.py): S3 + CloudFront, and the API's CORS limited to its origin
    # plus these extra https origins (e.g. the studio on a custom domain, or a customer's own page).
    # cdk.json turns it on for `cdk deploy`; the local stack's gateway serves studio/ itself.
    studio: bool = Field(False, validation_alias=CTX_STUDIO)
    studio_extra_origins: list[str] = Field(default_factory=list, validation_alias=CTX_STUDIO_EXTRA_ORIGINS)

    @field_validator("studio_extra_origins", mode="before")
    @classmethod
    def _origins_from_cli(cls, value: Any) -> Any:
        """`cdk -c voiceclone:studioExtraOrigins=https://a.example,https://b.example` is one string."""
        return [o.strip() for o in value.split(",") if o.strip()] if isinstance(value, str) else value

    @field_validator("studio_extra_origins")
    @classmethod
    def _https_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(f"{origin!r} is no https origin (https://host[:port], no path)")
        return value

    @field_validator("vendor_settings", mode="before")
    @classmethod
    def _vendor_settings_from_cli(cls, value: Any) -> Any:
        """`cdk -c voiceclone:vendorSettings='{...}'` arrives as a string of JSON."""
        return json.loads(value) if isinstance(value, str) else value

    @classmethod
    def from_context(cls, scope: Construct) -> StackSettings:
        """The settings as the context of `scope` has them; absent keys keep their defaults."""
        keys = [str(field.validation_alias) for field in cls.model_fields.values()]
        return cls.from_mapping({key: scope.node.try_get_context(key) for key in keys})

    @classmethod
    def from_mapping(cls, context: Mapping[str, Any]) -> StackSettings:
        """Same as from_context, from a plain dict (None means absent)."""
        return cls.model_validate({k: v for k, v in context.items() if v is not None})

    def function_environment(self) -> dict[str, str]:
        """The VOICECLONE_* variables every function gets from context (the stack adds resource names)."""
        env = {
            c.ENV_POLL_BACKOFF: str(self.poll_backoff),
            c.ENV_TRAINING_DEADLINE_SECONDS: str(self.training_deadline_seconds),
            c.ENV_UPLOAD_URL_EXPIRY_SECONDS: str(self.upload_url_expiry_seconds),
            c.ENV_MAX_UPLOAD_BYTES: str(self.max_upload_bytes),
            c.ENV_JOB_EXPIRY_SECONDS: str(self.job_expiry_seconds),
        }
        if self.vendor_timeout_seconds is not None:
            env[c.ENV_VENDOR_TIMEOUT_SECONDS] = str(self.vendor_timeout_seconds)
        if self.poll_initial_seconds is not None:
            env[c.ENV_POLL_INITIAL_SECONDS] = str(self.poll_initial_seconds)
        if self.poll_max_seconds is not None:
            env[c.ENV_POLL_MAX_SECONDS] = str(self.poll_max_seconds)
        env.update({f"VOICECLONE_{key.upper()}": value for key, value in self.vendor_settings.items()})
        return env
