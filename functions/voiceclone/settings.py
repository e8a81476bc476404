"""Configuration, read once at cold start into a typed object (never os.environ in the logic)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import Field

from voiceclone.domain.base import BaseModel


class Settings(BaseModel):
    table_name: str = Field(alias="VOICECLONE_TABLE_NAME")
    bucket_name: str = Field(alias="VOICECLONE_BUCKET_NAME")
    state_machine_arn: str = Field("", alias="VOICECLONE_STATE_MACHINE_ARN")
    # The speech workflow (asynchronous vendors), and how long one speech may take there in all.
    speech_state_machine_arn: str = Field("", alias="VOICECLONE_SPEECH_STATE_MACHINE_ARN")
    # The comparison workflow (a Map over one comparison's vendor jobs): intake starts it.
    comparison_state_machine_arn: str = Field("", alias="VOICECLONE_COMPARISON_STATE_MACHINE_ARN")
    speech_deadline_seconds: int = Field(1800, alias="VOICECLONE_SPEECH_DEADLINE_SECONDS", ge=1)
    # Base URL of the REST API, where vendors send their callbacks.
    api_url: str = Field("", alias="VOICECLONE_API_URL")
    # Unset: each vendor's own pace (Capabilities); set: every vendor (the local stack runs in seconds).
    poll_initial_seconds: int | None = Field(None, alias="VOICECLONE_POLL_INITIAL_SECONDS", ge=1)
    poll_max_seconds: int | None = Field(None, alias="VOICECLONE_POLL_MAX_SECONDS", ge=1)
    poll_backoff: float = Field(1.5, alias="VOICECLONE_POLL_BACKOFF", ge=1.0)
    training_deadline_seconds: int = Field(172800, alias="VOICECLONE_TRAINING_DEADLINE_SECONDS", ge=1)
    upload_url_expiry_seconds: int = Field(900, alias="VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS", ge=1)
    max_upload_bytes: int = Field(5 * 1024 * 1024, alias="VOICECLONE_MAX_UPLOAD_BYTES", ge=1)
    # Job events (docs/events.md): the EventBridge bus publish_events puts them on.
    event_bus_name: str = Field("", alias="VOICECLONE_EVENT_BUS_NAME")
    # Webhook deliveries: the receiver's time to answer, and the pause before retry n (base * 2**(n-1),
    # at most max) that deliver_webhook sets as the message's visibility timeout.
    webhook_timeout_seconds: float = Field(5.0, alias="VOICECLONE_WEBHOOK_TIMEOUT_SECONDS", gt=0)
    webhook_backoff_base_seconds: int = Field(30, alias="VOICECLONE_WEBHOOK_BACKOFF_BASE_SECONDS", ge=0)
    webhook_backoff_max_seconds: int = Field(
        3600, alias="VOICECLONE_WEBHOOK_BACKOFF_MAX_SECONDS", ge=0, le=43200
    )
    # A job still waiting for recordings this long after its creation (or its last CHECK_FAILED) ends
    # EXPIRED (voiceclone.logic.training.expiry), fired by a one-time EventBridge Scheduler schedule per job:
    # its group, its target (the expire_job function) and the role Scheduler invokes it with.
    job_expiry_seconds: int = Field(604800, alias="VOICECLONE_JOB_EXPIRY_SECONDS", ge=1)
    expiry_schedule_group: str = Field("", alias="VOICECLONE_EXPIRY_SCHEDULE_GROUP")
    expiry_function_arn: str = Field("", alias="VOICECLONE_EXPIRY_FUNCTION_ARN")
    expiry_role_arn: str = Field("", alias="VOICECLONE_EXPIRY_ROLE_ARN")
    # Off in AWS: a notify_url on a loopback/private address (Lambda's runtime API!) is refused.
    webhook_allow_private_targets: bool = Field(False, alias="VOICECLONE_WEBHOOK_ALLOW_PRIVATE_TARGETS")
    # Labels on generated audio (voiceclone.provenance, docs/labels.md). The operator's registered name
    # or 27-character provider code, written as the GB 45438 label's ContentProducer: none by default,
    # and labelling refuses to run without one. Whether speech starts with the audible rhythm; what raw
    # PCM gets ("refuse", or "header": the label beside the audio); whether files are C2PA-signed.
    aigc_content_producer: str = Field("", alias="VOICECLONE_AIGC_CONTENT_PRODUCER")
    label_explicit: bool = Field(True, alias="VOICECLONE_LABEL_EXPLICIT")
    label_pcm: Literal["refuse", "header"] = Field("refuse", alias="VOICECLONE_LABEL_PCM")
    label_sign: bool = Field(True, alias="VOICECLONE_LABEL_SIGN")
    # C2PA signing: the ECC_NIST_P256 SIGN_VERIFY KMS key, and the PEM chain of its certificate (leaf
    # first, then intermediates; the root is the readers' trust anchor) issued by the operator's CA.
    c2pa_kms_key_id: str = Field("", alias="VOICECLONE_C2PA_KMS_KEY_ID")
    c2pa_certificate_chain: str = Field("", alias="VOICECLONE_C2PA_CERTIFICATE_CHAIN")
    # POST /v1/provenance: the root certificate(s), PEM, a manifest must chain to for "Trusted" (the
    # operator's CA; locally the development CA the stack makes). Nothing else is trusted.
    c2pa_trust_anchors: str = Field("", alias="VOICECLONE_C2PA_TRUST_ANCHORS")
    # The stack keeps both PEMs in SSM parameters (Lambda's 4 KB of variables would not hold a chain with
    # its intermediates) and names them here: where a name is set, the PEM is read from it (cached).
    c2pa_certificate_chain_parameter: str = Field("", alias="VOICECLONE_C2PA_CERTIFICATE_CHAIN_PARAMETER")
    c2pa_trust_anchors_parameter: str = Field("", alias="VOICECLONE_C2PA_TRUST_ANCHORS_PARAMETER")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
