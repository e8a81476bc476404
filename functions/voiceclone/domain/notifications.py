"""The events: what each status change publishes (EventBridge detail, webhook body), and their schema.

One event per status change of a job, the creation included (a `JobEvent`), one when a
speech ends (a `SpeechEvent`: Speech Succeeded / Speech Failed), one when a voice's consent is put
on record (a `ConsentEvent`: Consent Recorded), one when a voice is deleted (a `VoiceEvent`:
Voice Deleted), and a comparison's (a `ComparisonEvent`): one vendor's voice ready, one vendor
failed, the comparison completed. The JSON schema of all (one of the five) is committed at
docs/events.schema.json
and checked by
a test. Regenerate it with ``python -m voiceclone.domain.notifications > docs/events.schema.json``
(or ``python scripts/gen_event_schema.py``). docs/events.md describes the contract.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from voiceclone.domain.base import BaseModel
from voiceclone.domain.comparison import Comparison, ComparisonStatus, ComparisonVendor, VendorOutcome
from voiceclone.domain.consent import ConsentKind, ConsentRecord
from voiceclone.domain.models import Job, JobError, JobStatus, Speech, SpeechStatus, Voice

# The EventBridge `source` of every event the service publishes.
EVENT_SOURCE = "voiceclone"
SCHEMA_VERSION: Literal["1"] = "1"

DetailType = Literal[
    "Job Created",
    "Job Checking",
    "Job Check Failed",
    "Job Training",
    "Job Succeeded",
    "Job Failed",
    "Job Cancelled",
    "Job Expired",
]
# The EventBridge `detail-type` of the event a job publishes when it enters a status.
DETAIL_TYPES: dict[JobStatus, DetailType] = {
    JobStatus.AWAITING_AUDIO: "Job Created",
    JobStatus.CHECKING: "Job Checking",
    JobStatus.CHECK_FAILED: "Job Check Failed",
    JobStatus.TRAINING: "Job Training",
    JobStatus.SUCCEEDED: "Job Succeeded",
    JobStatus.FAILED: "Job Failed",
    JobStatus.CANCELLED: "Job Cancelled",
    JobStatus.EXPIRED: "Job Expired",
}


class JobEvent(BaseModel):
    """A job entered a new status (the `detail` of an EventBridge event, and the body of a webhook)."""

    model_config = ConfigDict(
        title="JobEvent",
        extra="forbid",
        # Every field is always sent (null where it does not apply): the schema says so.
        json_schema_serialization_defaults_required=True,
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
        },
    )

    schema_version: Literal["1"] = Field(SCHEMA_VERSION, description="Changes when a field changes meaning")
    event_id: str = Field(
        description="Unique per event and the same on every redelivery (`<job_id>:<sequence>`): "
        "deduplicate on it",
        examples=["4f1c0d7e9b2a4c55a0e1f3b2c4d5e6f7:3"],
    )
    detail_type: DetailType = Field(
        description="The EventBridge detail-type, also sent as the webhook's Voiceclone-Event-Type header",
        examples=["Job Succeeded"],
    )
    job_id: str
    tenant_id: str
    vendor: str = Field(examples=["tencent_vrs"])
    voice_name: str
    status: JobStatus = Field(description="The status the job entered")
    previous_status: JobStatus | None = Field(description="The status it left; null for Job Created")
    sequence: int = Field(
        ge=0,
        description="The job's version at the change: grows with every change of the job, so a consumer "
        "orders a job's events by it (it is not contiguous: other updates of the job count too)",
    )
    occurred_at: datetime = Field(description="When the job entered the status (UTC, ISO 8601)")
    voice_id: str | None = Field(None, description="The cloned voice, set on Job Succeeded")
    error: JobError | None = Field(
        None, description="Why the job failed or expired, set on Job Failed and Job Expired"
    )
    has_webhook: bool = Field(
        False, description="Whether the job has a notify_url (the webhook rule routes on it)"
    )

    @property
    def subject_id(self) -> str:
        """What the event is about (a job here; a speech for SpeechEvent): its events go out in order."""
        return self.job_id

    @classmethod
    def of(cls, job: Job, previous_status: JobStatus | None) -> JobEvent:
        """The event of `job` having just entered its status (as stored: its version is the sequence)."""
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=event_id(job.job_id, job.version),
            detail_type=DETAIL_TYPES[job.status],
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            vendor=job.vendor,
            voice_name=job.voice_name,
            status=job.status,
            previous_status=previous_status,
            sequence=job.version,
            occurred_at=job.updated_at,
            voice_id=job.voice_id,
            error=job.error,
            has_webhook=bool(job.notify_url),
        )


SpeechDetailType = Literal["Speech Succeeded", "Speech Failed"]
SPEECH_DETAIL_TYPES: dict[SpeechStatus, SpeechDetailType] = {
    SpeechStatus.SUCCEEDED: "Speech Succeeded",
    SpeechStatus.FAILED: "Speech Failed",
}


class SpeechEvent(BaseModel):
    """A speech ended (SUCCEEDED or FAILED): the `detail` of an EventBridge event and a webhook's body."""

    model_config = ConfigDict(
        title="SpeechEvent",
        extra="forbid",
        json_schema_serialization_defaults_required=True,
    )

    schema_version: Literal["1"] = Field(SCHEMA_VERSION, description="Changes when a field changes meaning")
    event_id: str = Field(
        description="Unique per event and the same on every redelivery (`<speech_id>:<sequence>`)",
        examples=["sp-4f1c0d7e9b2a4c55a0e1f3b2c4d5e6f7:3"],
    )
    detail_type: SpeechDetailType = Field(
        description="The EventBridge detail-type, also sent as the webhook's Voiceclone-Event-Type header",
        examples=["Speech Succeeded"],
    )
    speech_id: str
    tenant_id: str
    voice_id: str
    vendor: str = Field(examples=["huawei"])
    status: SpeechStatus = Field(description="SUCCEEDED or FAILED")
    sequence: int = Field(ge=0, description="The speech's version at the change")
    occurred_at: datetime = Field(description="When the speech ended (UTC, ISO 8601)")
    characters: int = Field(description="Characters of the text")
    format: str
    duration_seconds: float = Field(description="Seconds of audio (0 for a failed speech)")
    error: JobError | None = Field(None, description="Why the speech failed, set on Speech Failed")
    has_webhook: bool = Field(
        False, description="Whether the speech has a notify_url (the webhook rule routes on it)"
    )

    @property
    def subject_id(self) -> str:
        return self.speech_id

    @classmethod
    def of(cls, speech: Speech) -> SpeechEvent:
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=event_id(speech.speech_id, speech.version),
            detail_type=SPEECH_DETAIL_TYPES[speech.status],
            speech_id=speech.speech_id,
            tenant_id=speech.tenant_id,
            voice_id=speech.voice_id,
            vendor=speech.vendor,
            status=speech.status,
            sequence=speech.version,
            occurred_at=speech.updated_at or speech.created_at,
            characters=speech.characters,
            format=speech.format,
            duration_seconds=speech.duration_seconds,
            error=speech.error,
            has_webhook=bool(speech.notify_url),
        )


class ConsentEvent(BaseModel):
    """A voice's consent was put on record, before its vendor task: a webhook's body and an event's detail.

    Hashes and ids only: the statement and the speaker's name are read at GET /v1/voices/{id}/consent.
    """

    model_config = ConfigDict(
        title="ConsentEvent", extra="forbid", json_schema_serialization_defaults_required=True
    )

    schema_version: Literal["1"] = Field(SCHEMA_VERSION, description="Changes when a field changes meaning")
    event_id: str = Field(
        description="Unique per event and the same on every redelivery (`<voice_id>:consent:<sequence>`)",
        examples=["v-4f1c0d7e9b2a4c55a0e1f3b2c4d5e6f7:consent:0"],
    )
    detail_type: Literal["Consent Recorded"] = Field(
        description="The EventBridge detail-type, also sent as the webhook's Voiceclone-Event-Type header"
    )
    voice_id: str = Field(description="The voice the consent is for (it exists once the job succeeds)")
    job_id: str
    tenant_id: str
    vendor: str = Field(examples=["tencent_vrs"])
    kind: ConsentKind = Field(
        description="recording: the speaker read the statement; document: a signed form"
    )
    audio_sha256: str = Field(description="SHA-256 of the consent take as uploaded ('' for a document)")
    statement_sha256: str = Field(description="SHA-256 of the statement (or the document reference)")
    sequence: int = Field(ge=0, description="The record's version when it was written")
    occurred_at: datetime = Field(description="When the consent was put on record (UTC, ISO 8601)")
    has_webhook: bool = Field(
        False, description="Whether the job has a notify_url (the webhook rule routes on it)"
    )

    @property
    def subject_id(self) -> str:
        return self.voice_id

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentEvent:
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=f"{record.voice_id}:consent:{record.version}",
            detail_type="Consent Recorded",
            voice_id=record.voice_id,
            job_id=record.job_id,
            tenant_id=record.tenant_id,
            vendor=record.vendor,
            kind=record.kind,
            audio_sha256=record.audio_sha256,
            statement_sha256=record.statement_sha256,
            sequence=record.version,
            occurred_at=record.recorded_at,
            has_webhook=bool(record.notify_url),
        )


class VoiceEvent(BaseModel):
    """A voice was deleted (its recordings and consent take with it): a webhook's body, an event's detail."""

    model_config = ConfigDict(
        title="VoiceEvent", extra="forbid", json_schema_serialization_defaults_required=True
    )

    schema_version: Literal["1"] = Field(SCHEMA_VERSION, description="Changes when a field changes meaning")
    event_id: str = Field(
        description="Unique per event and the same on every redelivery (`<voice_id>:<sequence>`)",
        examples=["v-4f1c0d7e9b2a4c55a0e1f3b2c4d5e6f7:3"],
    )
    detail_type: Literal["Voice Deleted"] = Field(
        description="The EventBridge detail-type, also sent as the webhook's Voiceclone-Event-Type header"
    )
    voice_id: str
    job_id: str
    tenant_id: str
    vendor: str = Field(examples=["tencent_vrs"])
    sequence: int = Field(ge=0, description="The voice's version at the change")
    occurred_at: datetime = Field(description="When the voice was deleted (UTC, ISO 8601)")
    note: str | None = Field(None, description="What happened at the vendor, e.g. a voice it cannot delete")
    has_webhook: bool = Field(False, description="Whether the voice's job had a notify_url")

    @property
    def subject_id(self) -> str:
        return self.voice_id

    @classmethod
    def of(cls, voice: Voice) -> VoiceEvent:
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=event_id(voice.voice_id, voice.version),
            detail_type="Voice Deleted",
            voice_id=voice.voice_id,
            job_id=voice.job_id,
            tenant_id=voice.tenant_id,
            vendor=voice.vendor,
            sequence=voice.version,
            occurred_at=voice.deleted_at or voice.updated_at,
            note=voice.note,
            has_webhook=bool(voice.notify_url),
        )


ComparisonDetailType = Literal["Comparison Voice Ready", "Comparison Vendor Failed", "Comparison Completed"]


class ComparisonEvent(BaseModel):
    """One vendor of a comparison ended (its voice ready, or failed), or the whole comparison did."""

    model_config = ConfigDict(
        title="ComparisonEvent", extra="forbid", json_schema_serialization_defaults_required=True
    )

    schema_version: Literal["1"] = Field(SCHEMA_VERSION, description="Changes when a field changes meaning")
    event_id: str = Field(
        description="Unique per event and the same on every redelivery "
        "(`<comparison_id>:<vendor>:<outcome>`, `<comparison_id>:completed`)",
        examples=["cmp-4f1c0d7e9b2a4c55a0e1f3b2c4d5e6f7:qiniu:READY"],
    )
    detail_type: ComparisonDetailType = Field(
        description="The EventBridge detail-type, also sent as the webhook's Voiceclone-Event-Type header: "
        "comparison.voice_ready, comparison.vendor_failed, comparison.completed"
    )
    comparison_id: str
    tenant_id: str
    vendor: str | None = Field(None, description="The vendor that ended (none on Comparison Completed)")
    job_id: str | None = Field(None, description="That vendor's job (GET /v1/jobs/{job_id})")
    voice_id: str | None = Field(None, description="Comparison Voice Ready: the vendor's cloned voice")
    error: JobError | None = Field(
        None,
        description="Comparison Vendor Failed: why, with the vendor's code; Comparison Completed of an "
        "EXPIRED comparison: the takes and documents that did not arrive",
    )
    status: ComparisonStatus = Field(description="The comparison's status when the event was made")
    outcomes: dict[str, VendorOutcome] = Field(
        default_factory=dict,
        description="Comparison Completed: each vendor's outcome (READY or FAILED; PENDING for every vendor "
        "of an EXPIRED comparison, which trained none)",
    )
    occurred_at: datetime = Field(description="When it happened (UTC, ISO 8601)")
    has_webhook: bool = Field(False, description="Whether the comparison has a notify_url")

    @property
    def subject_id(self) -> str:
        return self.comparison_id

    @classmethod
    def vendor_ended(cls, comparison: Comparison, entry: ComparisonVendor) -> ComparisonEvent:
        ready = entry.outcome is VendorOutcome.READY
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=f"{comparison.comparison_id}:{entry.vendor}:{entry.outcome.value}",
            detail_type="Comparison Voice Ready" if ready else "Comparison Vendor Failed",
            comparison_id=comparison.comparison_id,
            tenant_id=comparison.tenant_id,
            vendor=entry.vendor,
            job_id=entry.job_id,
            voice_id=entry.voice_id if ready else None,
            error=None if ready else entry.error,
            status=comparison.status,
            occurred_at=entry.ended_at or comparison.updated_at,
            has_webhook=bool(comparison.notify_url),
        )

    @classmethod
    def completed(cls, comparison: Comparison) -> ComparisonEvent:
        return cls(
            schema_version=SCHEMA_VERSION,
            event_id=f"{comparison.comparison_id}:completed",
            detail_type="Comparison Completed",
            comparison_id=comparison.comparison_id,
            tenant_id=comparison.tenant_id,
            vendor=None,
            job_id=None,
            voice_id=None,
            error=comparison.error,
            status=comparison.status,
            outcomes={v.vendor: v.outcome for v in comparison.vendors},
            occurred_at=comparison.ended_at or comparison.updated_at,
            has_webhook=bool(comparison.notify_url),
        )


# Every event the service publishes.
Event = JobEvent | SpeechEvent | ConsentEvent | VoiceEvent | ComparisonEvent


def event_of_detail(detail: dict[str, Any]) -> Event:
    """The event an EventBridge detail (or a webhook body) holds, told apart by its detail type."""
    kind = detail.get("detail_type")
    if "comparison_id" in detail:
        return ComparisonEvent.model_validate(detail)
    if kind == "Consent Recorded":
        return ConsentEvent.model_validate(detail)
    if kind == "Voice Deleted":
        return VoiceEvent.model_validate(detail)
    if "speech_id" in detail:
        return SpeechEvent.model_validate(detail)
    return JobEvent.model_validate(detail)


def event_id(job_id: str, sequence: int) -> str:
    return f"{job_id}:{sequence}"


def json_schema() -> dict[str, Any]:
    """The JSON schema of the events (one of the five kinds) as committed at docs/events.schema.json."""
    schema = TypeAdapter(Event).json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "VoicecloneEvent",
        "description": "An event voiceclone publishes: a job's status change (JobEvent), a speech's "
        "end (SpeechEvent), a voice's consent put on record (ConsentEvent), a voice deleted (VoiceEvent) "
        "or a comparison's vendor or whole ending (ComparisonEvent); detail_type tells which",
        **schema,
    }


def json_schema_text() -> str:
    """The committed file's exact text."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(json_schema_text(), end="")
