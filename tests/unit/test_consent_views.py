"""What the API shows of consent and a tenant's settings, field by field; the webhook URL rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from voiceclone.domain.api_models import ConsentTermsView, ConsentView, JobView, TenantSettingsView, _http_url
from voiceclone.domain.audio import AudioMeasurements
from voiceclone.domain.consent import (
    ConsentChecks,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ConsentTerms,
    Requester,
    Verification,
)
from voiceclone.domain.models import Gender, Job, Language, Sentence, TenantSettings

T0 = datetime(2030, 4, 5, 6, 7, 8, tzinfo=UTC)
REQUESTER = Requester(tenant_id="tenant-1", api_key_id="key-1")
MEASURED = AudioMeasurements(
    duration_seconds=12.5, speech_dbfs=-21.0, original="wav/pcm_s16le, 48000 Hz, 1 channel"
)
CHECKS = ConsentChecks(
    audio_checks=Verification.PASSED,
    phrase_heard=Verification.NOT_VERIFIED,
    same_speaker=Verification.NOT_APPLICABLE,
)


def consent_record(**changes: object) -> ConsentRecord:
    """Every field set, each to a value no other field has, so that a swap shows."""
    fields: dict[str, object] = {
        "voice_id": "voice-1",
        "job_id": "job-1",
        "tenant_id": "tenant-1",
        "vendor": "volcengine",
        "kind": ConsentKind.RECORDING,
        "speaker_name": "Ada Lovelace",
        "organisation_name": "Analytical Engines Ltd",
        "language": "en",
        "statement": "I, Ada Lovelace, agree ...",
        "phrase": "one two three four, five six seven eight",
        "document_reference": "form-77",
        "audio_key": "consent/tenant-1/voice-1/take.wav",
        "audio_sha256": "a" * 64,
        "audio_bytes": 4321,
        "audio_content_type": "audio/wav",
        "measurements": MEASURED,
        "statement_sha256": "b" * 64,
        "checks": CHECKS,
        "requested_by": REQUESTER,
        "requested_at": T0,
        "recorded_at": T0 + timedelta(minutes=3),
        "notify_url": "https://hooks.example/c",
        "version": 2,
    }
    return ConsentRecord.model_validate({**fields, **changes})


def test_a_consent_view_shows_every_field_of_the_record_and_the_takes_link() -> None:
    view = ConsentView.of(consent_record(), "https://bucket.example/take?sig=1", 300)
    assert view.model_dump() == {
        "voice_id": "voice-1",
        "job_id": "job-1",
        "vendor": "volcengine",
        "kind": ConsentKind.RECORDING,
        "state": ConsentState.KEPT,
        "speaker_name": "Ada Lovelace",
        "organisation_name": "Analytical Engines Ltd",
        "language": "en",
        "statement": "I, Ada Lovelace, agree ...",
        "phrase": "one two three four, five six seven eight",
        "document_reference": "form-77",
        "audio_sha256": "a" * 64,
        "audio_bytes": 4321,
        "audio_content_type": "audio/wav",
        "audio_url": "https://bucket.example/take?sig=1",
        "audio_url_expires_in": 300,
        "measurements": MEASURED.model_dump(),
        "statement_sha256": "b" * 64,
        "checks": {
            "audio_checks": "passed",
            "phrase_heard": "not_verified",
            "same_speaker": "not_applicable",
        },
        "requested_by": {"tenant_id": "tenant-1", "api_key_id": "key-1"},
        "requested_at": T0,
        "recorded_at": T0 + timedelta(minutes=3),
        "deleted_at": None,
    }


def test_the_consent_view_of_a_deleted_voice_is_its_audit_without_a_link() -> None:
    view = ConsentView.of(consent_record().forgotten(T0 + timedelta(days=9)))
    shown = view.model_dump()
    assert shown["state"] is ConsentState.DELETED and shown["deleted_at"] == T0 + timedelta(days=9)
    assert (shown["audio_url"], shown["audio_url_expires_in"], shown["measurements"]) == ("", 0, None)
    personal = ("speaker_name", "organisation_name", "statement", "phrase", "document_reference")
    assert {name: shown[name] for name in personal} == dict.fromkeys(personal, "")
    # What stays: hashes, size, times, who asked
    assert (shown["audio_sha256"], shown["statement_sha256"], shown["audio_bytes"]) == (
        "a" * 64,
        "b" * 64,
        4321,
    )
    assert (shown["requested_at"], shown["recorded_at"]) == (T0, T0 + timedelta(minutes=3))


@pytest.mark.parametrize("kind", list(ConsentKind))
def test_the_consent_terms_view_is_what_the_speaker_reads_or_the_document_named(kind: ConsentKind) -> None:
    recording = kind is ConsentKind.RECORDING
    terms = ConsentTerms(
        kind=kind,
        speaker_name="Li Hua",
        organisation_name="Example Ltd",
        vendor_name="Tencent Cloud VRS",
        language="zh",
        statement="我，李华，同意……" if recording else "",
        phrase="三七九一，四二六五" if recording else "",
        phrase_digits="37914265" if recording else "",
        document_reference="" if recording else "signed-form-2030-04",
        requested_by=REQUESTER,
        requested_at=T0,
    )
    assert ConsentTermsView.of(terms).model_dump() == {
        "kind": kind,
        "language": "zh",
        "speaker_name": "Li Hua",
        "organisation_name": "Example Ltd",
        "statement": terms.statement,
        "phrase": terms.phrase,
        "document_reference": terms.document_reference,
    }


def test_a_job_made_before_consent_shows_no_terms_and_the_consent_sentence_is_listed_first() -> None:
    made = Job(
        job_id="job-1",
        tenant_id="tenant-1",
        vendor="qiniu",
        voice_name="Ada",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        created_at=T0,
        updated_at=T0,
    )
    listed = [
        Sentence(job_id="job-1", tenant_id="tenant-1", text_id=text_id, text=text_id, s3_key=text_id)
        for text_id in ("00002", "00001", "consent", "00003")
    ]
    view = JobView.of(made, listed)
    assert view.consent is None
    # The statement first (it is read before anything else), the rest in the order given
    assert [s.text_id for s in view.sentences] == ["consent", "00002", "00001", "00003"]


def test_tenant_settings_show_when_they_were_last_set_only_once_set() -> None:
    never = TenantSettings(tenant_id="tenant-1", updated_at=T0)
    assert TenantSettingsView.of(never).model_dump() == {
        "organisation_name": "",
        "document_consent_allowed": False,
        "updated_at": None,
    }
    assert TenantSettingsView.of(
        TenantSettings(
            tenant_id="tenant-1",
            organisation_name="Example Ltd",
            document_consent_allowed=True,
            updated_at=T0,
            version=1,
        )
    ).model_dump() == {"organisation_name": "Example Ltd", "document_consent_allowed": True, "updated_at": T0}


@pytest.mark.parametrize(
    "url", ["http://hooks.example", "https://hooks.example/x?y=1", "https://10.0.0.1:8443/#frag"]
)
def test_an_absolute_http_or_https_url_is_a_webhook_target(url: str) -> None:
    assert _http_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example/x",  # a host, the wrong scheme
        "hooks.example/x",  # no scheme
        "//hooks.example/x",  # no scheme
        "https:///x",  # the right scheme, no host
        "http://",
        "https://:8443/x",
    ],
)
def test_anything_else_is_refused_with_what_is_wanted(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        _http_url(url)
    assert str(refused.value) == "must be an absolute http(s) URL"
