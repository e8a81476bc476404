"""The consent statement, its phrase, the audit entry, the events it makes, and the stand-in's take."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from voiceclone.domain.audio import RecordingLimits
from voiceclone.domain.consent import (
    CONSENT_MAX_SECONDS,
    CONSENT_MIN_SECONDS,
    ConsentChecks,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    Requester,
    Verification,
    script_language,
    sha256_hex,
    spoken_phrase,
    statement,
)
from voiceclone.domain.models import Gender, Language, VendorVoice, Voice, VoiceState
from voiceclone.domain.notifications import ConsentEvent, VoiceEvent
from voiceclone.domain.recording import inspect_recording
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.logic.notifications.bus import event_of_change
from voiceclone.store.consent import ConsentStore
from voiceclone.store.table import from_attrs
from voiceclone.store.voices import VoiceStore
from voiceclone_cli.stand_in import read_aloud

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def record(**changes: Any) -> ConsentRecord:
    said = statement("zh", "李华", "示例公司", "腾讯云声音复刻", spoken_phrase("37914265", "zh"))
    return ConsentRecord(
        voice_id="v-j1",
        job_id="j1",
        tenant_id="acme",
        vendor="tencent_vrs",
        kind=ConsentKind.RECORDING,
        speaker_name="李华",
        organisation_name="示例公司",
        statement=said,
        phrase=spoken_phrase("37914265", "zh"),
        statement_sha256=sha256_hex(said),
        audio_key="consent/acme/v-j1/abc.wav",
        audio_sha256="ab" * 32,
        audio_bytes=1000,
        checks=ConsentChecks(audio_checks=Verification.PASSED),
        requested_by=Requester(tenant_id="acme", api_key_id="key_1"),
        requested_at=NOW,
        recorded_at=NOW,
        notify_url="https://example.com/hook",
        **changes,
    )


def test_the_statement_is_in_the_scripts_language_with_the_phrase_read_as_words() -> None:
    assert script_language(t.text for t in STANDARD_SCRIPT) == "zh"
    assert script_language(["Please read this sentence."]) == "en"
    assert spoken_phrase("37914265", "zh") == "三七九一，四二六五"
    assert spoken_phrase("05000001", "en") == "zero five zero zero, zero zero zero one"
    said = statement("en", "Li Hua", "Example Ltd", "Volcengine", spoken_phrase("05000001", "en"))
    assert said.startswith("I, Li Hua, agree that Example Ltd records my voice")
    assert "through Volcengine" in said and said.endswith("zero five zero zero, zero zero zero one.")


def test_the_audit_entry_keeps_hashes_and_times_and_no_personal_data() -> None:
    kept = record()
    audit = kept.forgotten(NOW)
    assert audit.state is ConsentState.DELETED and audit.deleted_at == NOW
    assert (audit.audio_sha256, audit.statement_sha256) == (kept.audio_sha256, kept.statement_sha256)
    assert (audit.requested_at, audit.recorded_at, audit.requested_by) == (
        kept.requested_at,
        kept.recorded_at,
        kept.requested_by,
    )
    personal = ("speaker_name", "organisation_name", "statement", "phrase", "document_reference", "audio_key")
    assert all(getattr(audit, field) == "" for field in personal)
    assert audit.measurements is None and audit.notify_url is None


def test_a_consent_record_written_makes_consent_recorded_once() -> None:
    # Given the stream's image of a consent record as the store writes it
    image = from_attrs(ConsentStore.item(record()))
    # Then its INSERT is Consent Recorded, with hashes only; a later change of it is no event
    event = event_of_change("INSERT", None, image)
    assert isinstance(event, ConsentEvent) and event.detail_type == "Consent Recorded"
    assert event.audio_sha256 == "ab" * 32 and event.has_webhook and event.voice_id == "v-j1"
    assert "李华" not in event.model_dump_json()
    assert event_of_change("MODIFY", image, image) is None


def voice_image(state: VoiceState) -> dict[str, Any]:
    voice = Voice(
        voice_id="v-j1",
        tenant_id="acme",
        job_id="j1",
        vendor="tencent_vrs",
        name="n",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        state=state,
        vendor_voice=VendorVoice(vendor="tencent_vrs", voice_id="1"),
        deleted_at=NOW if state is VoiceState.DELETED else None,
        notify_url="https://example.com/hook",
        version=3 if state is VoiceState.DELETED else 2,
    )
    return from_attrs(VoiceStore.item(voice))


def test_a_voice_entering_deleted_makes_voice_deleted_once() -> None:
    ready, deleted = voice_image(VoiceState.READY), voice_image(VoiceState.DELETED)
    event = event_of_change("MODIFY", ready, deleted)
    assert isinstance(event, VoiceEvent) and event.event_id == "v-j1:3" and event.has_webhook
    assert event.occurred_at == NOW
    assert event_of_change("MODIFY", deleted, deleted) is None  # deleting again changes nothing
    assert event_of_change("MODIFY", ready, ready) is None  # a rename is no event
    assert event_of_change("INSERT", None, ready) is None  # a new voice: Job Succeeded says so


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "zh",
            statement("zh", "李华", "示例科技有限公司", "腾讯云声音复刻", spoken_phrase("37914265", "zh")),
        ),
        (
            "en",
            statement("en", "Li Hua", "Example Ltd", "Tencent Cloud VRS", spoken_phrase("37914265", "en")),
        ),
    ],
)
def test_the_stand_ins_reading_passes_the_checks_a_consent_take_gets(language: str, text: str) -> None:
    # When eSpeak NG reads a statement (what the demo and the tests upload in place of a person)
    wav = read_aloud(text, language)
    # Then it is speech the service's own check passes with the consent statement's limits
    recording = inspect_recording(
        wav, RecordingLimits(16000, CONSENT_MIN_SECONDS, CONSENT_MAX_SECONDS), "wav"
    )
    assert recording.report.ok, recording.report.findings
    assert recording.measurements is not None and recording.measurements.duration_seconds > 5.0
