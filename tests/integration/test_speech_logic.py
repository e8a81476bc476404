"""Speech logic on moto with a fake vendor registered at run time: rules, splitting, retries, storage, usage.

The vendor side is a fake adapter (registry.register) that makes a tone whose length grows with the
text, so these tests pin the service's part (which voice may speak, how text is split and joined,
what is stored and counted) whatever the real adapters and sandboxes do.
"""

from __future__ import annotations

import math
import struct
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError
from voiceclone.domain.api_models import SpeechRequest
from voiceclone.domain.audio import pcm_of, wav_file
from voiceclone.domain.errors import (
    TIMEOUT_CODE,
    Conflict,
    InvalidField,
    InvalidRequest,
    NotFound,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import (
    Gender,
    Job,
    JobStatus,
    Language,
    VendorVoice,
    Voice,
    VoiceState,
    utcnow,
)
from voiceclone.logic.account import usage
from voiceclone.logic.core.services import Services
from voiceclone.logic.speech import service as speech
from voiceclone.provenance import LabelError, parse_aigc, rhythm, verify
from voiceclone.provenance.rhythm import LABEL_SECONDS
from voiceclone.settings import Settings
from voiceclone.store import Store
from voiceclone.vendors import registry
from voiceclone.vendors.base import Capabilities, TrainingStatus, VendorAdapter
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult
from voiceclone_local.stack import LocalStack

from tests.helpers import TABLE_SCHEMA, label_settings

SPEAKER = "fake_speaker"
MUTE = "fake_mute"
SECONDS_PER_CHAR = 0.02


class FakeSpeaker(VendorAdapter):
    """A synchronous vendor: 50 characters a call, two calls at once; a tone as long as the text."""

    vendor_id = SPEAKER
    capabilities = Capabilities(
        audio_transport="inline",
        speech="sync",
        speech_speeds=(0.5, 2.0),
        speech_formats=("wav", "pcm"),
        speech_sample_rates=(16000, 8000),
        speech_text_limit=50,
        speech_text_unit="chars",
        speech_concurrency=2,
    )
    default_endpoint = "http://127.0.0.1:1"
    credential_fields = ()
    throttle_first: ClassVar[int] = 0
    # Passing outages to answer before speaking: each a VendorUnavailable with this code.
    outage_first: ClassVar[int] = 0
    outage_code: ClassVar[str] = "InternalError"

    def __init__(self) -> None:  # no HTTP: nothing is called but synthesize
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.throttled = 0
        self.outages = 0

    def create_task(self, request: Any, audio: Any) -> str:
        raise NotImplementedError

    def get_status(self, task_id: str) -> TrainingStatus:
        raise NotImplementedError

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        assert len(request.text) <= self.capabilities.speech_text_limit
        with self.lock:
            if self.throttled < self.throttle_first:
                self.throttled += 1
                raise VendorThrottled(SPEAKER, "RequestLimitExceeded", "too many requests")
            if self.outages < self.outage_first:
                self.outages += 1
                raise VendorUnavailable(SPEAKER, self.outage_code, "the vendor is having a moment")
            self.calls.append(request.text)
            n = len(self.calls)
        frames = int(len(request.text) * SECONDS_PER_CHAR * request.sample_rate)
        pcm = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / request.sample_rate)))
            for i in range(frames)
        )
        audio = pcm if request.format == "pcm" else wav_file(request.sample_rate, pcm)
        return SynthesisResult(
            audio=audio, format=request.format, sample_rate=request.sample_rate, request_id=f"req-{n}"
        )


class FakeMute(FakeSpeaker):
    vendor_id = MUTE
    capabilities = Capabilities(
        audio_transport="url", speech="none", speech_note="fake_mute voices speak only in its own app"
    )


@pytest.fixture
def svc(stack: LocalStack) -> Iterator[tuple[Services, FakeSpeaker]]:
    """Services on a fresh table and bucket of the session's moto server, with the fake vendors."""
    ddb, s3 = stack.client("dynamodb"), stack.client("s3")
    table, bucket = f"speech-{uuid.uuid4().hex[:12]}", f"speech-{uuid.uuid4().hex[:12]}"
    ddb.create_table(TableName=table, **TABLE_SCHEMA)
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    registry.register(SPEAKER, FakeSpeaker)
    registry.register(MUTE, FakeMute)
    speaker, mute = FakeSpeaker(), FakeMute()
    kms = stack.client("kms")
    settings = Settings.model_validate(
        {"VOICECLONE_TABLE_NAME": table, "VOICECLONE_BUCKET_NAME": bucket, **label_settings(kms)}
    )
    services = Services(
        settings=settings,
        adapter_for=lambda v: {SPEAKER: speaker, MUTE: mute}[v],
        overrides={"s3": s3, "kms": kms},
    )
    services.__dict__["store"] = Store(table, ddb)
    original_sleep = speech.sleep
    speech.sleep = lambda _s: None
    yield services, speaker
    speech.sleep = original_sleep
    FakeSpeaker.throttle_first = FakeSpeaker.outage_first = 0
    FakeSpeaker.outage_code = "InternalError"
    registry.unregister(SPEAKER)
    registry.unregister(MUTE)
    ddb.delete_table(TableName=table)


def make_voice(
    svc: Services, tenant: str = "t1", vendor: str = SPEAKER, status: JobStatus = JobStatus.SUCCEEDED
) -> Voice:
    """A voice and the job that trained it (in `status`), written as the workflow writes them."""
    job_id = uuid.uuid4().hex
    job = Job(
        job_id=job_id,
        tenant_id=tenant,
        vendor=vendor,
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=JobStatus.TRAINING,
    )
    svc.store.jobs.create(job, [])
    voice = Voice(
        voice_id=f"v-{job_id}",
        tenant_id=tenant,
        job_id=job_id,
        vendor=vendor,
        name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        vendor_voice=VendorVoice(vendor=vendor, voice_id="vv1"),
    )
    if status is JobStatus.SUCCEEDED:
        svc.store.jobs.complete(job, voice)
    else:
        svc.store.table.client.put_item(TableName=svc.store.table.name, Item=svc.store.voices.item(voice))
        if status is not JobStatus.TRAINING:
            svc.store.jobs.transition(job_id, status)
    return voice


def spoken(svc: Services, voice: Voice) -> list[Any]:
    return svc.store.speech.list(voice.tenant_id, voice.voice_id, 100, None)[0]


def test_a_short_text_is_one_call_stored_under_the_tenant_with_a_url(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, speaker = svc
    voice = make_voice(services)
    # When the tenant speaks a sentence
    view, audio = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好，世界。"))
    # Then one vendor call made it, stored under speech/<tenant>/, at the vendor's default rate
    assert speaker.calls == ["你好，世界。"]
    stored = services.store.speech.get(view.speech_id, "t1")
    assert stored.s3_key == f"speech/t1/{voice.voice_id}/{view.speech_id}.wav"
    body = services.s3.get_object(Bucket=services.settings.bucket_name, Key=stored.s3_key)["Body"].read()
    assert body == audio
    rate, _ = pcm_of(audio)
    assert rate == view.sample_rate == 16000
    # (its duration counts the audible label at its start)
    assert view.duration_seconds == pytest.approx(6 * SECONDS_PER_CHAR + LABEL_SECONDS, abs=0.01)
    assert (view.characters, view.vendor_calls, view.vendor_request_id) == (6, 1, "req-1")
    assert view.audio_url.startswith("http") and stored.s3_key in view.audio_url
    assert view.format == "wav" and view.status == "SUCCEEDED"


def test_long_text_is_split_spoken_in_order_and_joined_into_one_file(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, speaker = svc
    voice = make_voice(services)
    sentences = [f"这是第{i}句话，用来测试长文本的切分与拼接。" for i in range(40)]
    text = "".join(sentences)
    # When a text far over the vendor's 50 characters is spoken
    view, audio = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text=text, sample_rate=8000))
    # Then each call stayed within the limit, the calls cover the text in order, and one file came back
    assert len(speaker.calls) > 10 and view.vendor_calls == len(speaker.calls)
    assert all(len(c) <= 50 for c in speaker.calls)
    assert "".join(sorted(speaker.calls, key=text.index)) == text
    ids = view.vendor_request_id.split(",")
    assert len(ids) == len(speaker.calls)
    rate, pcm = pcm_of(audio)
    assert rate == 8000
    assert len(pcm) / 2 / rate == pytest.approx(view.duration_seconds, abs=0.01)
    assert view.duration_seconds == pytest.approx(len(text) * SECONDS_PER_CHAR + LABEL_SECONDS, rel=0.02)
    assert view.characters == len(text)
    # And the one file was labelled once: one label, one manifest, every one holding
    report = verify(audio, services.settings.c2pa_trust_anchors)
    assert report.ok and report.aigc.count == 1 and report.explicit_label, report.findings


def test_duration_grows_with_the_text(svc: tuple[Services, FakeSpeaker]) -> None:
    services, _ = svc
    voice = make_voice(services)
    short, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="短句。"))
    long, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="长一些的句子。" * 5))
    assert long.duration_seconds - LABEL_SECONDS > (short.duration_seconds - LABEL_SECONDS) * 5


def test_raw_pcm_is_refused_before_the_vendor_or_labelled_beside_as_the_deployment_says(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, speaker = svc
    voice = make_voice(services)
    # By default raw PCM is refused (it cannot carry the labels), before any vendor call
    with pytest.raises(InvalidField) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="短句。", format="pcm"))
    assert caught.value.code == "PcmNotLabelled" and caught.value.details["formats"] == ["wav"]
    assert speaker.calls == [] and spoken(services, voice) == []
    # Under the "header" rule: the rhythm in the samples, the AIGC label beside them in the object's metadata
    services.settings = services.settings.model_copy(update={"label_pcm": "header"})
    view, audio = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="短句。", format="pcm"))
    assert view.format == "pcm" and view.labels is not None
    assert (view.labels.aigc_in_file, view.labels.c2pa, view.labels.explicit_label) == (False, False, True)
    stored = services.s3.get_object(
        Bucket=services.settings.bucket_name, Key=spoken(services, voice)[0].s3_key
    )
    assert stored["Body"].read() == audio and stored["Metadata"] == {"aigc": view.labels.aigc}
    assert parse_aigc(view.labels.aigc).produce_id == view.speech_id
    assert rhythm.detect_pcm(audio, view.sample_rate).found


def test_speech_that_cannot_be_labelled_is_never_handed_out(svc: tuple[Services, FakeSpeaker]) -> None:
    services, speaker = svc
    voice = make_voice(services)
    labelled = services.settings
    # No content producer configured: refused before the vendor is called
    services.settings = labelled.model_copy(update={"aigc_content_producer": ""})
    with pytest.raises(LabelError) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert caught.value.code == "NotConfigured" and speaker.calls == []
    # KMS failing to sign: the vendor spoke, but nothing is stored, recorded or counted
    services.settings = labelled
    services.__dict__["kms"] = BrokenKms()
    with pytest.raises(LabelError) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert caught.value.code == "SigningFailed" and "KMSInternalException" in caught.value.message
    assert speaker.calls == ["你好。"] and spoken(services, voice) == []
    assert "Contents" not in services.s3.list_objects_v2(Bucket=services.settings.bucket_name)


class BrokenKms:
    def sign(self, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "KMSInternalException", "Message": "try later"}}, "Sign")


def test_throttling_is_retried_then_surfaces_with_the_vendors_code(svc: tuple[Services, FakeSpeaker]) -> None:
    services, speaker = svc
    voice = make_voice(services)
    # Given a vendor that throttles twice: the call succeeds after the retries
    FakeSpeaker.throttle_first = 2
    view, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert speaker.throttled == 2 and view.vendor_calls == 1
    # Given a vendor that keeps throttling: the error names its code, and nothing is recorded
    FakeSpeaker.throttle_first = 100
    with pytest.raises(VendorThrottled) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert caught.value.code == "RequestLimitExceeded" and caught.value.retryable
    assert speaker.throttled == 2 + speech.THROTTLE_ATTEMPTS
    assert len(spoken(services, voice)) == 1


def test_a_passing_outage_is_tried_again_once_and_a_timeout_is_not(svc: tuple[Services, FakeSpeaker]) -> None:
    services, speaker = svc
    voice = make_voice(services)
    # Given a vendor whose first answer is its internal error: the second try speaks
    FakeSpeaker.outage_first, FakeSpeaker.outage_code = 1, "InternalError"
    view, _ = speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert speaker.outages == 1 and view.vendor_calls == 1
    # Given a vendor that stays down: OUTAGE_ATTEMPTS tries, then its code reaches the caller
    speaker.outages, FakeSpeaker.outage_first = 0, 100
    with pytest.raises(VendorUnavailable) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert caught.value.code == "InternalError" and speaker.outages == speech.OUTAGE_ATTEMPTS == 2
    # Given a call that waited the vendor's whole timeout: it is not made to wait that long again
    speaker.outages, FakeSpeaker.outage_code = 0, TIMEOUT_CODE
    with pytest.raises(VendorUnavailable) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。"))
    assert caught.value.code == TIMEOUT_CODE and speaker.outages == 1
    assert len(spoken(services, voice)) == 1


def test_voices_that_cannot_speak_get_a_reason_and_nothing_is_made(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, speaker = svc
    request = SpeechRequest(text="你好。")
    deleted = make_voice(services)
    services.store.voices.save(
        deleted.model_copy(update={"state": VoiceState.DELETED, "deleted_at": utcnow()}), deleted.version
    )
    with pytest.raises(Conflict) as caught:
        speech.speak(services, "t1", deleted.voice_id, request)
    assert caught.value.code == "VoiceDeleted"

    failed = make_voice(services, status=JobStatus.FAILED)
    with pytest.raises(Conflict) as caught:
        speech.speak(services, "t1", failed.voice_id, request)
    assert caught.value.code == "VoiceNotReady" and "FAILED" in caught.value.message

    mute = make_voice(services, vendor=MUTE)
    with pytest.raises(Conflict) as caught:
        speech.speak(services, "t1", mute.voice_id, request)
    assert caught.value.code == "SpeechNotOffered"
    assert caught.value.message == "fake_mute voices speak only in its own app"

    with pytest.raises(NotFound):
        speech.speak(services, "another-tenant", make_voice(services).voice_id, request)
    assert speaker.calls == []
    for voice in (deleted, failed, mute):
        assert spoken(services, voice) == []


def test_a_format_or_rate_the_vendor_lacks_is_a_422_naming_what_it_takes(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, speaker = svc
    voice = make_voice(services)
    with pytest.raises(InvalidField) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。", format="mp3"))
    assert caught.value.loc == ("body", "format") and "wav, pcm" in caught.value.message
    with pytest.raises(InvalidField) as caught:
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text="你好。", sample_rate=24000))
    assert caught.value.loc == ("body", "sample_rate") and "16000, 8000" in caught.value.message
    assert speaker.calls == [] and spoken(services, voice) == []


def test_empty_and_over_long_text_are_refused_by_the_model() -> None:
    for text in ("", "   \n\u3000", "字" * 5001):
        with pytest.raises(ValidationError):
            SpeechRequest(text=text)
    with pytest.raises(ValidationError):
        SpeechRequest.model_validate({"text": "hi", "voice": "x"})  # extra="forbid"
    assert SpeechRequest(text="字" * 5000).format == "wav"


def test_speech_is_listed_per_voice_and_paged_and_read_by_its_tenant_only(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, _ = svc
    voice, other = make_voice(services), make_voice(services)
    said = [SpeechRequest(text=f"第{i}句。") for i in range(3)]
    made = [speech.speak(services, "t1", voice.voice_id, request)[0] for request in said]
    speech.speak(services, "t1", other.voice_id, SpeechRequest(text="别的。"))
    first = speech.list_speech(services, "t1", voice.voice_id, 2, None)
    second = speech.list_speech(services, "t1", voice.voice_id, 2, first.next_cursor)
    listed = [s.speech_id for s in first.items + second.items]
    assert listed == [m.speech_id for m in reversed(made)]
    assert second.next_cursor is None
    assert all(s.audio_url for s in first.items)
    assert speech.get_speech(services, "t1", made[0].speech_id).speech_id == made[0].speech_id
    with pytest.raises(NotFound):
        speech.get_speech(services, "t2", made[0].speech_id)
    with pytest.raises(NotFound):
        speech.list_speech(services, "t2", voice.voice_id, 2, None)
    with pytest.raises(NotFound):  # a cursor of another voice's list is no page of this one
        speech.list_speech(services, "t1", other.voice_id, 2, first.next_cursor)


def test_usage_counts_characters_per_vendor_and_day_and_the_clones(
    svc: tuple[Services, FakeSpeaker],
) -> None:
    services, _ = svc
    voice = make_voice(services)
    make_voice(services, vendor=MUTE)
    make_voice(services, tenant="t2")
    for text in ("你好。", "再见，朋友。"):
        speech.speak(services, "t1", voice.voice_id, SpeechRequest(text=text))
    today = utcnow().date()
    used = usage.usage(services, "t1", None, None, today)
    by_vendor = {v.vendor: v for v in used.vendors}
    assert (by_vendor[SPEAKER].characters, by_vendor[SPEAKER].speech_requests) == (9, 2)
    assert (by_vendor[SPEAKER].clones, by_vendor[MUTE].clones, by_vendor[MUTE].characters) == (1, 1, 0)
    assert used.start == today.replace(day=1) and used.end == today
    # A period before today holds nothing; a period backwards or too long is refused
    yesterday = today - timedelta(days=1)
    assert usage.usage(services, "t1", yesterday - timedelta(days=3), yesterday, today).vendors == []
    with pytest.raises(InvalidRequest):
        usage.usage(services, "t1", today, yesterday, today)
    with pytest.raises(InvalidRequest):
        usage.usage(services, "t1", today - timedelta(days=400), today, today)
