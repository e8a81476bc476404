"""Alibaba's own client against the CosyVoice sandbox: dashscope's VoiceEnrollmentService, SpeechSynthesizer.

The SDK (dashscope 2.0.2, a test-only dependency) is pointed at the sandbox through its module
settings ``base_http_api_url`` / ``base_websocket_api_url`` / ``api_key``: what it sends is what
the real service takes, so the sandbox must take it too, and refuse it the way the SDK expects.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dashscope
import pytest
from dashscope.audio.tts_v2 import (
    AudioFormat,
    ResultCallback,
    SpeechSynthesizer,
    VoiceEnrollmentException,
    VoiceEnrollmentService,
)
from dashscope.common.error import RequestFailure
from voiceclone.vendors.speech import mp3_frame_spans
from voiceclone_local.sandboxes.cosyvoice import CosyVoiceSandbox, CosyVoiceSandboxConfig

from tests.helpers import LocalAudioSource, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
TEXT = "你好，欢迎使用语音克隆服务。"
MODEL = "cosyvoice-v3-plus"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[CosyVoiceSandbox]:
    started = CosyVoiceSandbox(CosyVoiceSandboxConfig(training_seconds=0.2)).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def recording() -> Iterator[str]:
    audio = LocalAudioSource(SAMPLES, ["00013"])
    yield audio.assembled_url()
    audio.close()


@pytest.fixture
def sdk(sandbox: CosyVoiceSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[CosyVoiceSandbox]:
    """The SDK's module settings pointed at the sandbox (and put back after the test)."""
    monkeypatch.setattr(dashscope, "base_http_api_url", sandbox.url + "/api/v1")
    monkeypatch.setattr(dashscope, "base_websocket_api_url", sandbox.stream_url)
    monkeypatch.setattr(dashscope, "api_key", sandbox.config.api_key)
    saved = sandbox.config.model_copy()
    yield sandbox
    sandbox.config = saved


@pytest.fixture(scope="module")
def voice(sandbox: CosyVoiceSandbox, recording: str) -> str:
    service = VoiceEnrollmentService(api_key=sandbox.config.api_key)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dashscope, "base_http_api_url", sandbox.url + "/api/v1")
        voice_id = service.create_voice(target_model=MODEL, prefix="sdkvoice", url=recording)
        wait_for(lambda: service.query_voice(voice_id)["status"] == "OK", timeout=10, what="the review")
    return str(voice_id)


def failure(error: VoiceEnrollmentException) -> tuple[int, str, str]:
    """(status, code, message) of the SDK's exception (it keeps them in private fields)."""
    return error._status_code, error._code, error._error_message


def test_the_enrollment_service_creates_queries_lists_updates_and_deletes(
    sdk: CosyVoiceSandbox, recording: str
) -> None:
    service = VoiceEnrollmentService()
    voice_id = service.create_voice(
        target_model="cosyvoice-v3-flash", prefix="sdklife", url=recording, language_hints=["zh"]
    )
    assert voice_id.startswith("cosyvoice-v3-flash-sdklife-")
    assert service.get_last_request_id()
    first = service.query_voice(voice_id)
    assert first["status"] == "DEPLOYING" and first["target_model"] == "cosyvoice-v3-flash"
    assert first["resource_link"] == recording
    wait_for(lambda: service.query_voice(voice_id)["status"] == "OK", timeout=10, what="the review")
    listed = service.list_voices(prefix="sdklife", page_index=0, page_size=10)
    assert [v["voice_id"] for v in listed] == [voice_id] and listed[0]["status"] == "OK"
    service.update_voice(voice_id, recording)
    assert service.query_voice(voice_id)["status"] == "DEPLOYING"  # reviewed again
    service.delete_voice(voice_id)
    with pytest.raises(VoiceEnrollmentException) as gone:
        service.query_voice(voice_id)
    assert failure(gone.value)[:2] == (400, "InvalidParameter") and "does not exist" in failure(gone.value)[2]


def test_a_wrong_key_is_the_sdks_invalid_api_key(sdk: CosyVoiceSandbox, voice: str) -> None:
    with pytest.raises(VoiceEnrollmentException) as refused:
        VoiceEnrollmentService(api_key="sk-wrong").query_voice(voice)
    assert failure(refused.value) == (401, "InvalidApiKey", "Invalid API-key provided.")


def test_the_quota_and_a_bad_url_reach_the_sdk_as_dashscope_errors(
    sdk: CosyVoiceSandbox, recording: str
) -> None:
    service = VoiceEnrollmentService()
    with pytest.raises(VoiceEnrollmentException) as fetch:
        service.create_voice(target_model=MODEL, prefix="sdkurl", url="http://127.0.0.1:9/gone.wav")
    assert (
        failure(fetch.value)[:2] == (400, "InvalidParameter")
        and "Download audio failed" in failure(fetch.value)[2]
    )
    with pytest.raises(VoiceEnrollmentException) as prefix:
        service.create_voice(target_model=MODEL, prefix="Has_Upper", url=recording)
    assert failure(prefix.value)[:2] == (400, "InvalidParameter")
    sdk.config.voice_quota = len(sdk.voices)
    with pytest.raises(VoiceEnrollmentException) as quota:
        service.create_voice(target_model=MODEL, prefix="sdkfull", url=recording)
    assert failure(quota.value)[:2] == (429, "Throttling.AllocationQuota")


def test_the_synthesizer_speaks_the_cloned_voice_in_the_formats_it_asks(
    sdk: CosyVoiceSandbox, voice: str
) -> None:
    # AudioFormat.DEFAULT lets the server choose: MP3 at 22050 Hz.
    mp3 = SpeechSynthesizer(model=MODEL, voice=voice).call(TEXT)
    assert isinstance(mp3, bytes) and mp3_frame_spans(mp3)
    pcm = SpeechSynthesizer(model=MODEL, voice=voice, format=AudioFormat.PCM_16000HZ_MONO_16BIT).call(TEXT)
    assert isinstance(pcm, bytes) and len(pcm) % 2 == 0 and len(pcm) > 16000
    wav = SpeechSynthesizer(model=MODEL, voice=voice, format=AudioFormat.WAV_24000HZ_MONO_16BIT).call(TEXT)
    assert isinstance(wav, bytes) and wav[:4] == b"RIFF"
    params = [s.params for s in sdk.streams[-3:]]
    assert [(p["format"], p["sample_rate"]) for p in params] == [
        ("Default", 0),
        ("pcm", 16000),
        ("wav", 24000),
    ]
    assert all(s.outcome == "final" for s in sdk.streams[-3:])


class Events(ResultCallback):
    """What the SDK hands its callback, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.audio = b""
        self.done = threading.Event()

    def on_open(self) -> None:
        self.seen.append("open")

    def on_event(self, message: str) -> None:
        self.seen.append(json.loads(message)["payload"]["output"]["type"])

    def on_data(self, data: bytes) -> None:
        if not self.seen or self.seen[-1] != "data":
            self.seen.append("data")
        self.audio += data

    def on_complete(self) -> None:
        self.seen.append("complete")
        self.done.set()

    def on_error(self, message: Any) -> None:
        self.seen.append("error")
        self.done.set()


def test_streamed_text_in_and_audio_out_follow_the_event_order(sdk: CosyVoiceSandbox, voice: str) -> None:
    events = Events()
    synthesizer = SpeechSynthesizer(
        model=MODEL, voice=voice, format=AudioFormat.PCM_22050HZ_MONO_16BIT, callback=events
    )
    synthesizer.streaming_call("你好，")
    synthesizer.streaming_call("欢迎使用语音克隆服务。")
    synthesizer.streaming_complete()
    assert events.done.wait(10)
    assert events.seen == ["open", "sentence-begin", "data", "sentence-end", "complete"]
    assert len(events.audio) > 22050


def test_a_model_mismatch_and_a_failed_task_raise_the_sdks_request_failure(
    sdk: CosyVoiceSandbox, voice: str
) -> None:
    with pytest.raises(RequestFailure) as mismatch:
        SpeechSynthesizer(model="cosyvoice-v2", voice=voice).call(TEXT)
    assert mismatch.value.name == "InvalidParameter" and "does not match" in mismatch.value.message
    sdk.config.stream_fail_after_chunks = 1
    with pytest.raises(RequestFailure) as failed:
        SpeechSynthesizer(model=MODEL, voice=voice, format=AudioFormat.PCM_16000HZ_MONO_16BIT).call(TEXT * 4)
    assert failed.value.name == "InternalError"


def test_a_wrong_key_never_opens_the_synthesis_socket(
    sdk: CosyVoiceSandbox, voice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handshake is refused (HTTP 401): the SDK waits its 5 s for a connection, then gives up.
    monkeypatch.setattr(dashscope, "api_key", "sk-wrong")
    streams = len(sdk.streams)
    with pytest.raises(TimeoutError):
        SpeechSynthesizer(model=MODEL, voice=voice).call(TEXT)
    assert len(sdk.streams) == streams
