"""The consent statement word for word, its phrase digit by digit, the script's language, the audit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from voiceclone.domain.audio import AudioMeasurements
from voiceclone.domain.consent import (
    ConsentChecks,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ConsentTerms,
    Requester,
    Verification,
    script_language,
    sha256_hex,
    spoken_phrase,
    statement,
)

T0 = datetime(2030, 4, 5, 6, 7, 8, tzinfo=UTC)
REQUESTER = Requester(tenant_id="tenant-1", api_key_id="key-1")


def test_every_digit_is_read_as_its_word_in_two_groups_of_four() -> None:
    assert spoken_phrase("01234567", "en") == "zero one two three, four five six seven"
    assert spoken_phrase("89012345", "en") == "eight nine zero one, two three four five"
    assert spoken_phrase("01234567", "zh") == "零一二三，四五六七"
    assert spoken_phrase("89012345", "zh") == "八九零一，二三四五"


def test_the_statements_are_word_for_word() -> None:
    assert statement("zh", "李华", "示例公司", "腾讯云声音复刻", "三七九一，四二六五") == (
        "我，李华，同意示例公司录制我的声音，并通过腾讯云声音复刻用它制作合成声音。"
        "本次同意的确认码是：三七九一，四二六五。"
    )
    assert statement(
        "en", "Li Hua", "Example Ltd", "Volcengine", "three seven nine one, four two six five"
    ) == (
        "I, Li Hua, agree that Example Ltd records my voice to create a synthetic voice with it "
        "through Volcengine. The one-time code of this consent is three seven nine one, four two six five."
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("\u3400", "zh"),  # CJK Extension A, first and last
        ("\u4dbf", "zh"),
        ("\u4e00", "zh"),  # CJK Unified Ideographs, first and last
        ("\u9fff", "zh"),
        ("Read this: \u4f60\u597d", "zh"),
        ("\u33ff", "en"),  # just outside each range
        ("\u4dc0", "en"),  # (the Yijing hexagram symbols between the two)
        ("\u4dff", "en"),
        ("\ua000", "en"),
        ("\u3002\uff0c", "en"),  # Chinese punctuation alone is no Chinese text
        ("Please read this sentence.", "en"),
    ],
)
def test_a_script_is_read_in_chinese_when_any_text_holds_an_ideograph(text: str, language: str) -> None:
    assert script_language(["An English sentence.", text]) == language
    assert script_language([text, "An English sentence."]) == language


def test_a_script_without_texts_is_read_in_english() -> None:
    assert script_language([]) == "en"


def test_the_hash_kept_is_the_sha256_of_the_utf8_text_or_the_bytes() -> None:
    assert sha256_hex("我，李华") == hashlib.sha256("我，李华".encode()).hexdigest()
    assert sha256_hex(b"\x00\xff") == hashlib.sha256(b"\x00\xff").hexdigest()
    assert sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_terms_made_now_are_dated_now_in_utc() -> None:
    before = datetime.now(tz=UTC)
    terms = ConsentTerms(
        kind=ConsentKind.DOCUMENT,
        speaker_name="Li Hua",
        organisation_name="Example Ltd",
        vendor_name="Qiniu",
        language="en",
        document_reference="form-1",
        requested_by=REQUESTER,
    )
    after = datetime.now(tz=UTC)
    assert terms.requested_at.utcoffset() == timedelta(0)
    assert before <= terms.requested_at <= after


def test_the_audit_entry_is_the_record_without_its_personal_fields() -> None:
    kept = ConsentRecord(
        voice_id="voice-1",
        job_id="job-1",
        tenant_id="tenant-1",
        vendor="qiniu",
        kind=ConsentKind.DOCUMENT,
        speaker_name="Li Hua",
        organisation_name="Example Ltd",
        language="en",
        statement="I, Li Hua, agree ...",
        phrase="one two three four, five six seven eight",
        document_reference="form-1",
        audio_key="consent/k.wav",
        audio_sha256="a" * 64,
        audio_bytes=99,
        audio_content_type="audio/wav",
        measurements=AudioMeasurements(duration_seconds=9.5, speech_dbfs=-20.0),
        statement_sha256="b" * 64,
        checks=ConsentChecks(audio_checks=Verification.NOT_APPLICABLE),
        requested_by=REQUESTER,
        requested_at=T0,
        recorded_at=T0 + timedelta(minutes=1),
        notify_url="https://hooks.example/c",
        version=3,
    )
    audit = kept.forgotten(T0 + timedelta(days=2))
    assert audit.model_dump() == {
        **kept.model_dump(),
        "state": ConsentState.DELETED,
        "speaker_name": "",
        "organisation_name": "",
        "statement": "",
        "phrase": "",
        "document_reference": "",
        "audio_key": "",
        "measurements": None,
        "notify_url": None,
        "deleted_at": T0 + timedelta(days=2),
    }
    assert kept.state is ConsentState.KEPT and kept.deleted_at is None  # the record itself is unchanged
