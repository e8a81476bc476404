"""What the API and the events show of a record: every field of a job, voice and speech, from the model.

Each record is filled with distinct values in every field, so a view that drops a field, swaps two
or shows one in the wrong status fails here, not only in a test of the whole stack.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from voiceclone.domain.api_models import JobSummary, JobView, SpeechView, UploadTarget, VoiceView
from voiceclone.domain.consent import ConsentKind, ConsentTerms, Requester
from voiceclone.domain.models import (
    Gender,
    Job,
    JobError,
    JobStatus,
    Language,
    Sentence,
    SentenceCheck,
    SentenceStatus,
    Speech,
    SpeechLabels,
    SpeechStatus,
    VendorErrorInfo,
    VendorVoice,
    Voice,
    VoiceState,
)
from voiceclone.domain.notifications import SpeechEvent, event_of_detail

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
UPLOAD = UploadTarget(
    url="https://bucket.example/", fields={"key": "uploads/a"}, expires_at=T0, max_bytes=1000
)
DOC_UPLOAD = UploadTarget(
    url="https://bucket.example/", fields={"key": "documents/id"}, expires_at=T0, max_bytes=9
)

TERMS = ConsentTerms(
    kind=ConsentKind.RECORDING,
    speaker_name="Ada Lovelace",
    organisation_name="Analytical Engines Ltd",
    vendor_name="Huawei Cloud MetaStudio",
    language="zh",
    statement="我是Ada Lovelace，同意……口令 五七三九。",
    phrase="五七三九",
    phrase_digits="5739",
    requested_by=Requester(tenant_id="tenant-1", api_key_id="key-1"),
    requested_at=T0,
)


def job(status: JobStatus) -> Job:
    return Job(
        job_id="job-1",
        tenant_id="tenant-1",
        vendor="huawei",
        voice_name="Ada",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        speaker_name="Ada Lovelace",
        consent=TERMS,
        status=status,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=5),
        vendor_task_id="task-9",
        voice_id="voice-7",
        vendor_voice=VendorVoice(vendor="huawei", voice_id="asset-3", details={"model": "m1"}),
        error=JobError(error="VendorRejected", code="E1", message="bad", vendor="huawei"),
        last_vendor_error=VendorErrorInfo(error="VendorThrottled", code="429", message="slow", at=T0),
        notify_url="https://hooks.example/x",
        note="cancel not offered",
        deadline_at=T0 + timedelta(days=1),
        documents={"id_card": "etag-1", "consent": ""},
        comparison_id="cmp-1",
    )


def sentences() -> list[Sentence]:
    def sentence(n: int, status: SentenceStatus) -> Sentence:
        check = SentenceCheck(passed=status is SentenceStatus.PASSED, code="C", source="local")
        return Sentence(
            job_id="job-1",
            tenant_id="tenant-1",
            text_id=f"0000{n}",
            text=f"text {n}",
            s3_key=f"k{n}",
            status=status,
            check=check if status in (SentenceStatus.PASSED, SentenceStatus.REJECTED) else None,
        )

    statuses = [
        SentenceStatus.PASSED,
        SentenceStatus.REJECTED,
        SentenceStatus.UPLOADED,
        SentenceStatus.PASSED,
    ]
    return [sentence(n, status) for n, status in enumerate(statuses, start=1)]


@pytest.mark.parametrize("status", list(JobStatus))
def test_a_job_view_shows_every_field_of_the_job(status: JobStatus) -> None:
    record, listed = job(status), sentences()
    view = JobView.of(record, listed, uploads={"00003": UPLOAD}, documents={"consent": DOC_UPLOAD})
    assert view.model_dump() == {
        "job_id": "job-1",
        "vendor": "huawei",
        "voice_name": "Ada",
        "language": Language.ZH_CN,
        "gender": Gender.FEMALE,
        "speaker_name": "Ada Lovelace",
        # The terms as the speaker sees them: not the phrase's digits, the vendor or who asked
        "consent": {
            "kind": ConsentKind.RECORDING,
            "language": "zh",
            "speaker_name": "Ada Lovelace",
            "organisation_name": "Analytical Engines Ltd",
            "statement": TERMS.statement,
            "phrase": "五七三九",
            "document_reference": "",
        },
        "status": status,
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=5),
        "vendor_task_id": "task-9",
        "voice_id": "voice-7",
        # What a TTS call needs, once the voice is there
        "voice": {"vendor_voice_id": "asset-3", "model": "m1"} if status is JobStatus.SUCCEEDED else None,
        "error": record.error.model_dump() if record.error else None,
        "last_vendor_error": record.last_vendor_error.model_dump() if record.last_vendor_error else None,
        "notify_url": "https://hooks.example/x",
        "note": "cancel not offered",
        # The deadline only while the job waits for recordings
        "expires_at": (
            T0 + timedelta(days=1) if status in (JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED) else None
        ),
        "sentences": [
            {
                "text_id": s.text_id,
                "text": s.text,
                "status": s.status,
                "check": s.check.model_dump() if s.check else None,
                "upload": UPLOAD.model_dump() if s.text_id == "00003" else None,
            }
            for s in listed
        ],
        "documents": [
            {"name": "id_card", "uploaded": True, "upload": None},
            {"name": "consent", "uploaded": False, "upload": DOC_UPLOAD.model_dump()},
        ],
        # Checked: passed or rejected (an upload still being checked is not)
        "checks_done": 3,
        "checks_total": 4,
        # The comparison the job is one vendor of
        "comparison_id": "cmp-1",
    }


def test_a_job_view_without_uploads_documents_or_voice() -> None:
    record = job(JobStatus.SUCCEEDED).model_copy(update={"vendor_voice": None, "documents": {}})
    view = JobView.of(record, [])
    assert view.voice is None and view.documents == [] and view.sentences == []
    assert (view.checks_done, view.checks_total) == (0, 0)


def test_a_job_summary_is_the_jobs_list_entry() -> None:
    assert JobSummary.of(job(JobStatus.TRAINING)).model_dump() == {
        "job_id": "job-1",
        "vendor": "huawei",
        "voice_name": "Ada",
        "status": JobStatus.TRAINING,
        "created_at": T0,
        "voice_id": "voice-7",
    }


def test_a_voice_view_shows_the_voice_and_what_a_tts_call_needs() -> None:
    voice = Voice(
        voice_id="voice-7",
        tenant_id="tenant-1",
        job_id="job-1",
        vendor="volcengine",
        name="Ada",
        language=Language.ZH_CN,
        gender=Gender.MALE,
        state=VoiceState.DELETED,
        vendor_voice=VendorVoice(vendor="volcengine", voice_id="S_1", details={"cluster": "c"}),
        created_at=T0,
        updated_at=T0 + timedelta(hours=1),
        deleted_at=T0 + timedelta(hours=2),
        note="deleted at the vendor",
    )
    assert VoiceView.of(voice).model_dump() == {
        "voice_id": "voice-7",
        "name": "Ada",
        "vendor": "volcengine",
        "job_id": "job-1",
        "language": Language.ZH_CN,
        "gender": Gender.MALE,
        "state": VoiceState.DELETED,
        "created_at": T0,
        "updated_at": T0 + timedelta(hours=1),
        "deleted_at": T0 + timedelta(hours=2),
        "vendor_voice_id": "S_1",
        "tts": {"vendor_voice_id": "S_1", "cluster": "c"},
        "note": "deleted at the vendor",
    }


LABELS = SpeechLabels(explicit_label=True, aigc='{"AIGC":{"Label":"1"}}', aigc_in_file=True, c2pa=True)


def speech(status: SpeechStatus, **changes: object) -> Speech:
    fields: dict[str, object] = {
        "speech_id": "sp-1",
        "tenant_id": "tenant-1",
        "voice_id": "voice-7",
        "vendor": "tencent_gateway",
        "characters": 42,
        "format": "mp3",
        "sample_rate": 24000,
        "duration_seconds": 3.5,
        "vendor_calls": 2,
        "vendor_request_id": "r1,r2",
        "status": status,
        "created_at": T0,
        "updated_at": T0 + timedelta(seconds=30),
        "version": 3,
        "error": JobError(error="VendorRejected", code="SynthesisFailed", message="no")
        if status == "FAILED"
        else None,
        "notify_url": "https://hooks.example/s",
        # Labels are recorded once the audio is stored
        "labels": LABELS if status == "SUCCEEDED" else None,
        **changes,
    }
    return Speech.model_validate(fields)


@pytest.mark.parametrize("status", list(SpeechStatus))
def test_a_speech_view_shows_the_speech_and_its_audio_link(status: SpeechStatus) -> None:
    record = speech(status)
    assert SpeechView.of(record, "https://bucket.example/audio", 300).model_dump() == {
        "speech_id": "sp-1",
        "voice_id": "voice-7",
        "vendor": "tencent_gateway",
        "status": status,
        "format": "mp3",
        "sample_rate": 24000,
        "duration_seconds": 3.5,
        "characters": 42,
        "vendor_calls": 2,
        "vendor_request_id": "r1,r2",
        "audio_url": "https://bucket.example/audio",
        "audio_url_expires_in": 300,
        "created_at": T0,
        "error": record.error.model_dump() if record.error else None,
        "labels": LABELS.model_dump() if status is SpeechStatus.SUCCEEDED else None,
    }
    bare = SpeechView.of(record)
    assert (bare.audio_url, bare.audio_url_expires_in) == ("", 0)


@pytest.mark.parametrize(
    ("status", "detail_type"),
    [(SpeechStatus.SUCCEEDED, "Speech Succeeded"), (SpeechStatus.FAILED, "Speech Failed")],
)
def test_a_speech_event_names_its_end_and_round_trips(status: SpeechStatus, detail_type: str) -> None:
    record = speech(status)
    event = SpeechEvent.of(record)
    assert event.model_dump() == {
        "schema_version": "1",
        "event_id": "sp-1:3",
        "detail_type": detail_type,
        "speech_id": "sp-1",
        "tenant_id": "tenant-1",
        "voice_id": "voice-7",
        "vendor": "tencent_gateway",
        "status": status,
        "sequence": 3,
        "occurred_at": T0 + timedelta(seconds=30),
        "characters": 42,
        "format": "mp3",
        "duration_seconds": 3.5,
        "error": record.error.model_dump() if record.error else None,
        "has_webhook": True,
    }
    assert event.subject_id == "sp-1"
    assert event_of_detail(event.model_dump(mode="json")) == event


def test_a_speech_event_without_an_end_time_or_webhook() -> None:
    event = SpeechEvent.of(speech(SpeechStatus.SUCCEEDED, updated_at=None, notify_url=None))
    assert event.occurred_at == T0 and event.has_webhook is False


# ----- what a request is told when a field is refused ----------------------------------------------


def refusal_of(model: type, **fields: object) -> dict[str, object]:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        model.model_validate(fields)  # type: ignore[attr-defined]
    (error,) = caught.value.errors()
    return {"type": error["type"], "msg": error["msg"], "loc": error["loc"]}


def test_a_notify_url_may_be_http_or_https() -> None:
    from voiceclone.domain.api_models import CreateJobRequest

    for url in ("http://hooks.example/x", "https://hooks.example:8443/x?y=1"):
        job = CreateJobRequest.model_validate(
            {
                "vendor": "qiniu",
                "voice_name": "Ada",
                "gender": "female",
                "speaker_name": "Ada L",
                "notify_url": url,
            }
        )
        assert job.notify_url == url


def test_a_voice_name_with_control_characters_names_them() -> None:
    from voiceclone.domain.api_models import CreateJobRequest

    refused = refusal_of(
        CreateJobRequest, vendor="qiniu", voice_name="A\x1b[2Jda\u202e", gender="female", speaker_name="Ada L"
    )
    assert refused["msg"] == (
        "Value error, must not hold control characters, line separators or bidi overrides; "
        "found U+001B, U+202E"
    )
    assert refused["loc"] == ("voice_name",)


@pytest.mark.parametrize("field", ["sample_rate", "speed"])
def test_a_boolean_is_not_a_number(field: str) -> None:
    from voiceclone.domain.api_models import SpeechRequest

    refused = refusal_of(SpeechRequest, text="你好", **{field: True})
    assert refused == {
        "type": "number_type",
        "msg": "Input should be a number, not a boolean",
        "loc": (field,),
    }


def test_a_fresh_clock_is_the_systems() -> None:
    from voiceclone.domain.models import Clock

    clock = Clock()
    assert clock.ahead == timedelta(0)
    before = datetime.now(UTC)
    now = clock.now()
    assert before <= now <= datetime.now(UTC) and now.tzinfo is UTC
