"""Each kind of event, field by field from its record, and back from the detail EventBridge carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from voiceclone.domain.consent import ConsentChecks, ConsentKind, ConsentRecord, Requester, Verification
from voiceclone.domain.models import (
    Gender,
    Job,
    JobError,
    JobStatus,
    Language,
    Speech,
    SpeechStatus,
    VendorVoice,
    Voice,
    VoiceState,
)
from voiceclone.domain.notifications import ConsentEvent, JobEvent, SpeechEvent, VoiceEvent, event_of_detail

T0 = datetime(2030, 4, 5, 6, 7, 8, tzinfo=UTC)
T1 = T0 + timedelta(minutes=7)
T2 = T0 + timedelta(hours=2)


def succeeded_job() -> Job:
    return Job(
        job_id="job-1",
        tenant_id="tenant-1",
        vendor="huawei",
        voice_name="Ada",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=JobStatus.SUCCEEDED,
        created_at=T0,
        updated_at=T1,
        voice_id="voice-7",
        error=JobError(error="VendorRejected", code="E1", message="bad", vendor="huawei"),
        notify_url="https://hooks.example/j",
        version=5,
    )


def consent(kind: ConsentKind, notify_url: str | None) -> ConsentRecord:
    return ConsentRecord(
        voice_id="voice-7",
        job_id="job-1",
        tenant_id="tenant-1",
        vendor="tencent_vrs",
        kind=kind,
        speaker_name="Li Hua",
        audio_sha256="a" * 64 if kind is ConsentKind.RECORDING else "",
        statement_sha256="b" * 64,
        checks=ConsentChecks(audio_checks=Verification.PASSED),
        requested_by=Requester(tenant_id="tenant-1", api_key_id="key-1"),
        requested_at=T0,
        recorded_at=T1,
        notify_url=notify_url,
        version=4,
    )


def voice(deleted_at: datetime | None, note: str | None, notify_url: str | None) -> Voice:
    return Voice(
        voice_id="voice-7",
        tenant_id="tenant-1",
        job_id="job-1",
        vendor="qiniu",
        name="Ada",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        state=VoiceState.DELETED,
        vendor_voice=VendorVoice(vendor="qiniu", voice_id="q-1"),
        created_at=T0,
        updated_at=T1,
        deleted_at=deleted_at,
        note=note,
        notify_url=notify_url,
        version=9,
    )


def test_a_job_event_carries_the_voice_the_job_made_and_its_error() -> None:
    event = JobEvent.of(succeeded_job(), JobStatus.TRAINING)
    assert event.model_dump(mode="json") == {
        "schema_version": "1",
        "event_id": "job-1:5",
        "detail_type": "Job Succeeded",
        "job_id": "job-1",
        "tenant_id": "tenant-1",
        "vendor": "huawei",
        "voice_name": "Ada",
        "status": "SUCCEEDED",
        "previous_status": "TRAINING",
        "sequence": 5,
        "occurred_at": "2030-04-05T06:14:08Z",
        "voice_id": "voice-7",
        "error": {"error": "VendorRejected", "code": "E1", "message": "bad", "vendor": "huawei"},
        "has_webhook": True,
    }
    assert event.subject_id == "job-1"


@pytest.mark.parametrize(
    ("kind", "notify_url"), [(ConsentKind.RECORDING, "https://h.example/c"), (ConsentKind.DOCUMENT, None)]
)
def test_a_consent_event_is_hashes_and_ids_of_the_record(kind: ConsentKind, notify_url: str | None) -> None:
    event = ConsentEvent.of(consent(kind, notify_url))
    assert event.model_dump(mode="json") == {
        "schema_version": "1",
        "event_id": "voice-7:consent:4",
        "detail_type": "Consent Recorded",
        "voice_id": "voice-7",
        "job_id": "job-1",
        "tenant_id": "tenant-1",
        "vendor": "tencent_vrs",
        "kind": kind.value,
        "audio_sha256": "a" * 64 if kind is ConsentKind.RECORDING else "",
        "statement_sha256": "b" * 64,
        "sequence": 4,
        "occurred_at": "2030-04-05T06:14:08Z",
        "has_webhook": notify_url is not None,
    }
    assert event.subject_id == "voice-7"


def test_a_voice_event_is_when_the_voice_was_deleted_and_what_the_vendor_did() -> None:
    event = VoiceEvent.of(voice(T2, "the vendor keeps the voice", "https://h.example/v"))
    assert event.model_dump(mode="json") == {
        "schema_version": "1",
        "event_id": "voice-7:9",
        "detail_type": "Voice Deleted",
        "voice_id": "voice-7",
        "job_id": "job-1",
        "tenant_id": "tenant-1",
        "vendor": "qiniu",
        "sequence": 9,
        "occurred_at": "2030-04-05T08:07:08Z",
        "note": "the vendor keeps the voice",
        "has_webhook": True,
    }
    assert event.subject_id == "voice-7"


def test_a_voice_event_without_a_deletion_time_is_dated_by_its_last_update() -> None:
    event = VoiceEvent.of(voice(None, None, None))
    assert (event.occurred_at, event.note, event.has_webhook) == (T1, None, False)


def speech() -> Speech:
    return Speech(
        speech_id="sp-1",
        tenant_id="tenant-1",
        voice_id="voice-7",
        vendor="volcengine",
        characters=12,
        format="mp3",
        sample_rate=24000,
        duration_seconds=3.5,
        status=SpeechStatus.SUCCEEDED,
        created_at=T0,
        updated_at=T1,
        notify_url="https://h.example/s",
        version=2,
    )


def details() -> list[dict[str, Any]]:
    return [
        JobEvent.of(succeeded_job(), JobStatus.TRAINING).model_dump(mode="json"),
        SpeechEvent.of(speech()).model_dump(mode="json"),
        ConsentEvent.of(consent(ConsentKind.RECORDING, None)).model_dump(mode="json"),
        VoiceEvent.of(voice(T2, "kept", None)).model_dump(mode="json"),
    ]


@pytest.mark.parametrize("index", range(4), ids=["job", "speech", "consent", "voice"])
def test_every_kind_of_event_comes_back_from_its_detail_as_itself(index: int) -> None:
    detail = details()[index]
    event = event_of_detail(detail)
    assert type(event) is (JobEvent, SpeechEvent, ConsentEvent, VoiceEvent)[index]
    assert event.model_dump(mode="json") == detail


def test_the_detail_type_tells_the_kinds_apart_before_the_fields_do() -> None:
    # A voice's events carry a voice_id like a job's does: only their detail type says which they are
    consent_detail, voice_detail = details()[2], details()[3]
    assert isinstance(event_of_detail(consent_detail), ConsentEvent)
    assert isinstance(event_of_detail(voice_detail), VoiceEvent)
    with pytest.raises(ValueError):  # a detail type that is no kind's is not taken for a job's
        event_of_detail({**voice_detail, "detail_type": "voice deleted"})
