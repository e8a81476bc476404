"""The real adapters speak through the Tencent VRS and Volcengine sandboxes over HTTP, signed as each wants.

Each sandbox trains a voice from the sample recordings, then answers its vendor's synthesis
API with audio of that voice: the right header and rate, not silent, longer for a longer
text, made of the recordings it was trained on; and refuses what the vendor refuses.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import wave
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from voiceclone.domain.audio import AudioProblem, inspect_wav, pcm_of
from voiceclone.domain.errors import VendorAuthError, VendorError, VendorRejected, VendorThrottled
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.vendors.base import AudioSource, CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.signing import tc3
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult, join_audio, split_text
from voiceclone.vendors.tencent_vrs import TencentVrsAdapter
from voiceclone.vendors.volcengine import VolcengineAdapter
from voiceclone_local.sandboxes.tencent_vrs import TencentVrsSandbox, TencentVrsSandboxConfig
from voiceclone_local.sandboxes.volcengine import (
    DEFAULT_SPEAKER_IDS,
    VolcengineSandbox,
    VolcengineSandboxConfig,
)

from tests.helpers import LocalAudioSource, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
TEXT_IDS = [f"{n:05d}" for n in range(1, 21)]
SHORT = "你好，世界。"
LONG = "你好，世界。今天天气很好，我们一起去公园散步吧！公园里的花都开了，红的黄的紫的，真好看。"


def training_request(**options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=uuid.uuid4().hex,
        session_id=uuid.uuid4().hex,
        voice_name="speaker",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id=t, s3_key=f"jobs/{t}.wav") for t in TEXT_IDS],
        options=options,
    )


def speak(
    adapter: Any, voice: VendorVoice, text: str, fmt: str = "wav", rate: int = 16000
) -> SynthesisResult:
    result: SynthesisResult = adapter.synthesize(
        voice,
        SynthesisRequest(text=text, format=fmt, sample_rate=rate),  # type: ignore[arg-type]
    )
    return result


def assert_audio_of_the_voice(result: SynthesisResult, rate: int, training_pcm: bytes) -> float:
    """A 16-bit mono WAV at ``rate``, not silent, made of the training recordings; returns its seconds."""
    found_rate, pcm = pcm_of(result.audio)
    assert found_rate == rate == result.sample_rate
    report = inspect_wav(result.audio, expected_sample_rate=rate, min_seconds=0.1, max_seconds=60)
    assert not report.has(AudioProblem.SILENT)
    # ...and so says the standard library's reader, with the level worked out here
    with wave.open(io.BytesIO(result.audio)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2)
        samples = array("h", w.readframes(w.getnframes()))
    assert samples.tobytes() == pcm and max(map(abs, samples)) > 32768 * 10 ** (-40 / 20)
    if rate == 16000:  # not resampled: 4 ms blocks of it are found in what the speaker recorded
        blocks = [pcm[i : i + 128] for i in range(0, len(pcm) - 128, 3200)]
        assert blocks and sum(block in training_pcm for block in blocks) >= 0.7 * len(blocks)
    return len(pcm) / 2 / rate


def decoded_seconds(audio: bytes, rate: int) -> float:
    import av

    with av.open(io.BytesIO(audio), mode="r") as container:
        stream = container.streams.audio[0]
        assert container.format.name.startswith("mp3") and stream.codec_context.sample_rate == rate
        samples = sum(frame.samples for frame in container.decode(stream))
    return samples / rate


# ----- Tencent VRS: TextToVoice --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vrs_sandbox() -> Iterator[TencentVrsSandbox]:
    server = TencentVrsSandbox(TencentVrsSandboxConfig(training_seconds=0.2, callback_enabled=False)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def vrs(vrs_sandbox: TencentVrsSandbox) -> TencentVrsAdapter:
    # As the local stack configures it: the sandbox's URL and keys; TextToVoice then goes there too.
    settings = vrs_sandbox.credentials()
    adapter = TencentVrsAdapter(vrs_sandbox.url, settings["secret_id"], settings["secret_key"])
    assert adapter.tts_endpoint == vrs_sandbox.url
    return adapter


@pytest.fixture(scope="module")
def vrs_voice(vrs: TencentVrsAdapter) -> VendorVoice:
    """A voice trained on the 20 sample recordings, as the workflow does it."""
    audio = LocalAudioSource(SAMPLES, TEXT_IDS)
    request = training_request()
    sentences = []
    for sentence in request.sentences:
        check = vrs.check_sentence(sentence.text_id, audio.sentence_audio(sentence.text_id))
        assert check.passed, check
        sentences.append(sentence.model_copy(update={"vendor_audio_id": check.vendor_audio_id}))
    task_id = vrs.create_task(request.model_copy(update={"sentences": sentences}), cast("AudioSource", audio))
    status = wait_for(
        lambda: s if (s := vrs.get_status(task_id)).state.finished else None, timeout=10, interval=0.05
    )
    assert status.state is TrainingState.SUCCEEDED and status.voice is not None
    return status.voice


@pytest.fixture(scope="module")
def recorded_pcm() -> bytes:
    return b"".join(pcm_of((SAMPLES / f"{t}.wav").read_bytes())[1] for t in TEXT_IDS)


@pytest.fixture
def fresh_vrs(vrs_sandbox: TencentVrsSandbox) -> Iterator[TencentVrsSandbox]:
    """The sandbox with its TTS knobs put back after the test."""
    yield vrs_sandbox
    vrs_sandbox.config.tts_concurrency = 10
    vrs_sandbox.config.tts_latency_ms = 0
    vrs_sandbox.config.throttle_first = 0


def test_tencent_speaks_the_trained_voice_longer_for_longer_text(
    vrs: TencentVrsAdapter, vrs_voice: VendorVoice, vrs_sandbox: TencentVrsSandbox, recorded_pcm: bytes
) -> None:
    # When the trained voice speaks a short and a long text
    short = speak(vrs, vrs_voice, SHORT)
    long = speak(vrs, vrs_voice, LONG)
    # Then both are WAVs of that voice, the longer text the longer audio, with Tencent's request ids
    short_seconds = assert_audio_of_the_voice(short, 16000, recorded_pcm)
    long_seconds = assert_audio_of_the_voice(long, 16000, recorded_pcm)
    assert long_seconds > 2 * short_seconds > 0
    assert short.request_id and short.request_id != long.request_id
    # And the sandbox saw TextToVoice with Tencent's fields
    sent = vrs_sandbox.tts_requests[-1]
    assert sent["VoiceType"] == int(vrs_voice.voice_id) and sent["Text"] == LONG
    assert (sent["Codec"], sent["SampleRate"], sent["Speed"]) == ("wav", 16000, 0)
    assert vrs_sandbox.requests_by_action["TextToVoice"] >= 2


def test_tencent_makes_mp3_and_pcm_at_8_khz(vrs: TencentVrsAdapter, vrs_voice: VendorVoice) -> None:
    mp3 = speak(vrs, vrs_voice, LONG, fmt="mp3", rate=8000)
    pcm = speak(vrs, vrs_voice, LONG, fmt="pcm", rate=8000)
    wav = speak(vrs, vrs_voice, LONG, fmt="wav", rate=8000)
    wav_seconds = len(pcm_of(wav.audio)[1]) / 2 / 8000
    assert len(pcm.audio) / 2 / 8000 == pytest.approx(wav_seconds, abs=0.01)
    assert decoded_seconds(mp3.audio, 8000) == pytest.approx(wav_seconds, abs=0.3)
    assert (
        max(abs(int.from_bytes(pcm.audio[i : i + 2], "little", signed=True)) for i in range(0, 16000, 2)) > 0
    )


def test_a_long_text_is_spoken_in_parts_joined_in_order(
    vrs: TencentVrsAdapter, vrs_voice: VendorVoice
) -> None:
    # Given a text over Tencent's 150 characters per call
    text = LONG * 6
    limit = vrs.capabilities.speech_text_limit
    parts = split_text(text, limit, vrs.capabilities.speech_text_unit)
    assert len(parts) >= 2 and "".join(parts) == text
    # When each part is spoken and the audio joined
    spoken = [speak(vrs, vrs_voice, part) for part in parts]
    joined = join_audio(spoken)
    # Then one WAV holds every part's audio in order
    pcm = pcm_of(joined.audio)[1]
    assert pcm == b"".join(pcm_of(s.audio)[1] for s in spoken)
    assert joined.duration_seconds() == pytest.approx(sum(s.duration_seconds() for s in spoken))


@pytest.mark.parametrize(
    ("voice", "fields", "code"),
    [
        (None, {"text": "长" * 151}, "InvalidParameterValue.TextTooLong"),
        (None, {"sample_rate": 24000}, "InvalidParameterValue.SampleRate"),
        (None, {"text": "。。。"}, "InvalidParameterValue.InvalidText"),
        ("424242", {}, "InvalidParameterValue.VoiceType"),
    ],
)
def test_tencent_refuses_what_tencent_refuses(
    vrs: TencentVrsAdapter, vrs_voice: VendorVoice, voice: str | None, fields: dict[str, Any], code: str
) -> None:
    used = vrs.voice(voice, VoiceType=int(voice)) if voice else vrs_voice
    request = SynthesisRequest(**{"text": SHORT, "format": "wav", "sample_rate": 16000, **fields})
    with pytest.raises(VendorRejected) as caught:
        vrs.synthesize(used, request)
    assert caught.value.code == code


def test_text_to_voice_must_be_signed_for_the_tts_service(
    vrs_sandbox: TencentVrsSandbox, vrs: TencentVrsAdapter, vrs_voice: VendorVoice
) -> None:
    # A request signed as the adapter's VRS calls are (service vrs) goes to VRS, which has no TextToVoice
    body = json.dumps({"Text": SHORT, "SessionId": "s", "VoiceType": int(vrs_voice.voice_id)}).encode()
    now = int(time.time())
    key = vrs_sandbox.config.secret_key
    host = httpx.URL(vrs_sandbox.url).netloc.decode()
    sig = tc3.signature(secret_key=key, service="vrs", timestamp=now, host=host, body=body)
    headers = {
        "Content-Type": "application/json",
        "X-TC-Action": "TextToVoice",
        "X-TC-Version": "2019-08-23",
        "X-TC-Timestamp": str(now),
        "Authorization": tc3.authorization(
            secret_id=vrs_sandbox.config.secret_id, service="vrs", timestamp=now, sig=sig
        ),
    }
    answer = httpx.post(vrs_sandbox.url + "/", content=body, headers=headers, timeout=10).json()
    assert answer["Response"]["Error"]["Code"] == "InvalidAction"
    # And with the VRS API version too: the action is not VRS's
    headers["X-TC-Version"] = "2020-08-24"
    answer = httpx.post(vrs_sandbox.url + "/", content=body, headers=headers, timeout=10).json()
    assert answer["Response"]["Error"]["Code"] == "InvalidAction"
    # A wrong key is an auth error for the adapter
    wrong = TencentVrsAdapter(
        vrs_sandbox.url, vrs_sandbox.config.secret_id, "wrong-key", tts_endpoint=vrs_sandbox.url
    )
    with pytest.raises(VendorAuthError):
        speak(wrong, vrs_voice, SHORT)


def test_tencent_concurrency_and_rate_limits_are_throttling(
    fresh_vrs: TencentVrsSandbox, vrs: TencentVrsAdapter, vrs_voice: VendorVoice
) -> None:
    # Given a sandbox taking two calls at once, each 300 ms
    fresh_vrs.config.tts_concurrency = 2
    fresh_vrs.config.tts_latency_ms = 300
    fresh_vrs.max_concurrent_tts = 0

    def attempt(_: int) -> str:
        try:
            speak(vrs, vrs_voice, SHORT)
        except VendorError as exc:
            return f"{type(exc).__name__}:{exc.code}"
        return "ok"

    # When five calls come at once
    with ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(attempt, range(5)))
    # Then at most two were served together and the others were told to retry later
    assert fresh_vrs.max_concurrent_tts == 2
    assert outcomes.count("ok") >= 2
    assert set(outcomes) <= {"ok", "VendorThrottled:LimitExceeded.AccessLimit"}
    assert "VendorThrottled:LimitExceeded.AccessLimit" in outcomes
    # And an injected rate limit is Tencent's RequestLimitExceeded
    fresh_vrs.config.tts_latency_ms = 0
    fresh_vrs.config.throttle_first = 1
    with pytest.raises(VendorThrottled) as caught:
        speak(vrs, vrs_voice, SHORT)
    assert caught.value.code == "RequestLimitExceeded"


# ----- Volcengine: /api/v1/tts ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def volc_sandbox() -> Iterator[VolcengineSandbox]:
    server = VolcengineSandbox(
        VolcengineSandboxConfig(training_seconds=0.2, speaker_ids=list(DEFAULT_SPEAKER_IDS))
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def volc(volc_sandbox: VolcengineSandbox) -> VolcengineAdapter:
    settings = volc_sandbox.credentials()
    return VolcengineAdapter(
        endpoint=volc_sandbox.url,
        console_endpoint=settings["console_endpoint"],
        appid=settings["appid"],
        access_token=settings["access_token"],
        access_key_id=settings["access_key_id"],
        secret_access_key=settings["secret_access_key"],
        speaker_ids=settings["speaker_ids"].split(","),
    )


@pytest.fixture(scope="module")
def volc_audio() -> LocalAudioSource:
    return LocalAudioSource(SAMPLES, TEXT_IDS)


@pytest.fixture(scope="module")
def volc_voice(volc: VolcengineAdapter, volc_audio: LocalAudioSource) -> VendorVoice:
    request = training_request()
    request = request.model_copy(update={"options": volc.prepare_options(request)})
    task_id = volc.create_task(request, cast("AudioSource", volc_audio))
    status = wait_for(
        lambda: s if (s := volc.get_status(task_id)).state.finished else None, timeout=10, interval=0.05
    )
    assert status.state is TrainingState.SUCCEEDED and status.voice is not None
    return status.voice


@pytest.fixture
def fresh_volc(volc_sandbox: VolcengineSandbox) -> Iterator[VolcengineSandbox]:
    yield volc_sandbox
    volc_sandbox.config.tts_concurrency = 2
    volc_sandbox.config.tts_latency_ms = 0
    volc_sandbox.config.throttle_first = 0
    volc_sandbox.config.unavailable_first = 0


def test_volcengine_speaks_the_trained_slot_longer_for_longer_text(
    volc: VolcengineAdapter,
    volc_voice: VendorVoice,
    volc_sandbox: VolcengineSandbox,
    volc_audio: LocalAudioSource,
) -> None:
    trained = pcm_of(volc_audio.assembled_wav())[1]
    short = speak(volc, volc_voice, SHORT)
    long = speak(volc, volc_voice, LONG)
    short_seconds = assert_audio_of_the_voice(short, 16000, trained)
    long_seconds = assert_audio_of_the_voice(long, 16000, trained)
    assert long_seconds > 2 * short_seconds > 0
    assert short.request_id and short.request_id != long.request_id
    # The sandbox saw the documented request: app, user, audio, request with operation query
    sent = volc_sandbox.tts_requests[-1]
    assert sent["app"] == {
        "appid": volc_sandbox.config.appid,
        "token": volc_sandbox.config.access_token,
        "cluster": "volcano_icl",
    }
    assert sent["audio"] == {
        "voice_type": volc_voice.voice_id,
        "encoding": "wav",
        "rate": 16000,
        "speed_ratio": 1.0,
    }
    assert sent["request"]["text"] == LONG and sent["request"]["operation"] == "query"


def test_volcengine_makes_mp3_at_24_khz_and_pcm(volc: VolcengineAdapter, volc_voice: VendorVoice) -> None:
    mp3 = speak(volc, volc_voice, LONG, fmt="mp3", rate=24000)
    pcm = speak(volc, volc_voice, LONG, fmt="pcm", rate=24000)
    seconds = len(pcm.audio) / 2 / 24000
    assert seconds > 1
    assert decoded_seconds(mp3.audio, 24000) == pytest.approx(seconds, abs=0.3)


def test_volcengine_refuses_what_volcengine_refuses(
    volc: VolcengineAdapter, volc_voice: VendorVoice, volc_sandbox: VolcengineSandbox
) -> None:
    too_long = "长" * 342  # 1026 bytes
    with pytest.raises(VendorRejected) as caught:
        speak(volc, volc_voice, too_long)
    assert caught.value.code == "3010"
    with pytest.raises(VendorRejected) as caught:
        untrained = next(s for s in DEFAULT_SPEAKER_IDS if s != volc_voice.voice_id)
        speak(volc, volc.voice(untrained, speaker_id=untrained), SHORT)
    assert caught.value.code == "3050"
    with pytest.raises(VendorRejected) as caught:
        speak(volc, volc_voice, SHORT, rate=44100)
    assert caught.value.code == "3001"
    wrong = VolcengineAdapter(
        endpoint=volc_sandbox.url,
        appid=volc.appid,
        access_token="wrong",
        access_key_id="a",
        secret_access_key="s",
    )
    with pytest.raises(VendorAuthError):
        speak(wrong, volc_voice, SHORT)
    # A reqid is used once: the same request sent twice is refused the second time (3006)
    body = {
        "app": {"appid": volc.appid, "token": "t", "cluster": "volcano_icl"},
        "user": {"uid": "u"},
        "audio": {"voice_type": volc_voice.voice_id, "encoding": "wav"},
        "request": {"reqid": uuid.uuid4().hex, "text": SHORT, "operation": "query"},
    }
    headers = {"Authorization": f"Bearer;{volc_sandbox.config.access_token}"}
    first = httpx.post(volc_sandbox.url + "/api/v1/tts", json=body, headers=headers, timeout=10)
    again = httpx.post(volc_sandbox.url + "/api/v1/tts", json=body, headers=headers, timeout=10)
    assert first.status_code == 200 and first.json()["code"] == 3000 and first.headers["X-Tt-Logid"]
    assert again.json()["code"] == 3006 and again.json()["reqid"] == body["request"]["reqid"]


def test_volcengine_concurrency_and_busy_are_retryable(
    fresh_volc: VolcengineSandbox, volc: VolcengineAdapter, volc_voice: VendorVoice
) -> None:
    fresh_volc.config.tts_latency_ms = 300
    fresh_volc.max_concurrent_tts = 0

    def attempt(_: int) -> str:
        try:
            speak(volc, volc_voice, SHORT)
        except VendorError as exc:
            return f"{type(exc).__name__}:{exc.code}"
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))
    assert fresh_volc.max_concurrent_tts == 2
    assert "VendorThrottled:3003" in outcomes and outcomes.count("ok") >= 2
    fresh_volc.config.tts_latency_ms = 0
    fresh_volc.config.unavailable_first = 1
    with pytest.raises(VendorError) as caught:
        speak(volc, volc_voice, SHORT)
    assert caught.value.retryable and caught.value.code == "3005"
