"""The CosyVoice adapter against its sandbox: enrollment by URL, review, quota, the model binding, speech.

The sandbox downloads each recording from a local HTTP server (as CosyVoice downloads the presigned
S3 URL) and checks it for real; speech runs over its WebSocket task. Every refusal must reach the
caller as the taxonomy's error with DashScope's code and a message that says what to do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from voiceclone.domain.audio import wav_file
from voiceclone.domain.audio_decode import encode
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.vendors.base import (
    AudioSource,
    CheckedSentence,
    TrainingRequest,
    TrainingState,
    TrainingStatus,
)
from voiceclone.vendors.cosyvoice import QUOTA_ADVICE, URL_ADVICE, CosyVoiceAdapter, voice_prefix
from voiceclone.vendors.speech import SynthesisRequest
from voiceclone_local.sandboxes.cosyvoice import CosyVoiceSandbox, CosyVoiceSandboxConfig

from tests.helpers import sample_speech, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
TEXT = "你好，欢迎使用语音克隆服务。"
RATE = 16000


class Files:
    """Recordings served over HTTP on 127.0.0.1, as S3 serves the presigned joined recording."""

    def __init__(self) -> None:
        files: dict[str, bytes] = {}
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, name: str, data: bytes | None = None) -> str:
        if data is not None:
            self.files[f"/{name}"] = data
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Source:
    """An AudioSource whose joined recording is one served file."""

    def __init__(self, url: str) -> None:
        self.url = url

    def assembled_url(self) -> str:
        return self.url


def speech(seconds: float, text_id: str = "00013") -> bytes:
    """Real speech (a sample recording), cut to ``seconds``: 16-bit mono PCM at 16 kHz."""
    return sample_speech(RATE, text_id)[: int(seconds * RATE) * 2]


GOOD = wav_file(RATE, sample_speech(RATE, "00013"))


@pytest.fixture(scope="module")
def files() -> Iterator[Files]:
    served = Files()
    yield served
    served.close()


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[CosyVoiceSandbox]:
    sandbox = CosyVoiceSandbox(CosyVoiceSandboxConfig(training_seconds=0.2)).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(module_sandbox: CosyVoiceSandbox) -> Iterator[CosyVoiceSandbox]:
    saved = module_sandbox.config.model_copy()
    yield module_sandbox
    module_sandbox.release_streams()
    for record in list(module_sandbox.streams):
        record.done.wait(10)
    module_sandbox.config = saved
    module_sandbox.hold_streams()


@pytest.fixture
def adapter(sandbox: CosyVoiceSandbox) -> CosyVoiceAdapter:
    return CosyVoiceAdapter(sandbox.url, sandbox.config.api_key, stream_endpoint=sandbox.stream_url)


def request(job_id: str, **options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=job_id,
        session_id=job_id,
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id="00013", s3_key="k")],
        options=options,
    )


def clone(adapter: CosyVoiceAdapter, url: str, job_id: str, **options: str) -> TrainingStatus:
    job = request(job_id, **options)
    job = job.model_copy(update={"options": adapter.prepare_options(job)})
    task = adapter.create_task(job, cast("AudioSource", Source(url)))
    return wait_for(lambda: s if (s := adapter.get_status(task)).state.finished else None, timeout=10)


@pytest.fixture(scope="module")
def voice(module_sandbox: CosyVoiceSandbox, files: Files) -> VendorVoice:
    adapter = CosyVoiceAdapter(
        module_sandbox.url, module_sandbox.config.api_key, stream_endpoint=module_sandbox.stream_url
    )
    status = clone(adapter, files.url("good.wav", GOOD), "a1" * 16)
    assert status.state is TrainingState.SUCCEEDED and status.voice is not None
    return status.voice


def say(text: str = TEXT, fmt: str = "pcm", rate: int = 16000, speed: float = 1.0) -> SynthesisRequest:
    return SynthesisRequest(text=text, format=fmt, sample_rate=rate, speed=speed)  # type: ignore[arg-type]


# ----- enrollment -------------------------------------------------------------------------------------


def test_a_clone_is_reviewed_then_ok_with_its_model(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, files: Files
) -> None:
    job = request("b2" * 16, target_model="cosyvoice-v2")
    task = adapter.create_task(job, cast("AudioSource", Source(files.url("good.wav", GOOD))))
    assert task.startswith("cosyvoice-v2-" + voice_prefix(job.job_id) + "-")
    assert adapter.get_status(task).state is TrainingState.RUNNING  # DEPLOYING: under review
    done = wait_for(lambda: s if (s := adapter.get_status(task)).state.finished else None, timeout=10)
    assert done.state is TrainingState.SUCCEEDED and done.vendor_state == "OK"
    assert done.voice is not None and done.voice.details["target_model"] == "cosyvoice-v2"
    assert any(v.voice_id == task for v in adapter.list_voices())


@pytest.mark.parametrize("fmt", ["mp3", "m4a"])
def test_mp3_and_m4a_recordings_are_taken(adapter: CosyVoiceAdapter, files: Files, fmt: str) -> None:
    data = encode(sample_speech(RATE, "00013"), RATE, fmt, out_rate=24000)
    status = clone(adapter, files.url(f"good.{fmt}", data), "c3" * 16)
    assert status.state is TrainingState.SUCCEEDED, status


def test_a_lost_create_answer_finds_the_voice_it_made(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, files: Files
) -> None:
    sandbox.config.drop_create_response_first = 1
    job = request("d4" * 16)
    before = sandbox.tasks_created
    with pytest.raises(VendorUnavailable):
        adapter.create_task(job, cast("AudioSource", Source(files.url("good.wav", GOOD))))
    found = adapter.find_existing_task(job)
    assert found is not None and found in sandbox.voices and sandbox.tasks_created == before + 1
    assert adapter.find_existing_task(request("e5" * 16)) is None


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("8k.wav", wav_file(8000, speech(8.0)[: 8 * 8000 * 2]), "at least 16000 Hz"),
        ("long.wav", wav_file(RATE, speech(10.0) * 7), "at most 60 s"),
        ("text.wav", b"this is no audio at all" * 40, "not audio"),
        ("float.wav", encode(speech(8.0), RATE, "flac"), "WAV (16-bit), MP3 or M4A"),
    ],
)
def test_a_file_the_vendor_cannot_take_is_refused_at_create(
    adapter: CosyVoiceAdapter, files: Files, name: str, data: bytes, words: str
) -> None:
    with pytest.raises(VendorRejected) as refused:
        adapter.create_task(request("f6" * 16), cast("AudioSource", Source(files.url(name, data))))
    assert refused.value.code == "InvalidParameter" and words in refused.value.message


@pytest.mark.parametrize(
    ("pcm", "words"),
    [
        (speech(4.0) + b"\x00\x00" * int(2.6 * RATE) + speech(6.0, "00006"), "pauses of at most 2 s are"),
        (speech(3.5), "longest stretch of continuous speech lasts 3.5 s"),
    ],
    ids=["a pause over 2 s", "under 5 s of continuous speech"],
)
def test_the_review_refuses_long_pauses_and_short_reading(
    adapter: CosyVoiceAdapter, files: Files, pcm: bytes, words: str
) -> None:
    status = clone(adapter, files.url(f"content-{len(pcm)}.wav", wav_file(RATE, pcm)), "a7" * 16)
    assert status.state is TrainingState.FAILED and status.vendor_state == "UNDEPLOYED"
    assert words in status.error_message


def test_a_url_the_vendor_cannot_download_says_so(adapter: CosyVoiceAdapter, files: Files) -> None:
    with pytest.raises(VendorRejected) as refused:
        adapter.create_task(request("b8" * 16), cast("AudioSource", Source(files.url("missing.wav"))))
    assert refused.value.message == URL_ADVICE and "HTTP 404" in refused.value.details["vendor_message"]


def test_the_voice_quota_is_a_final_refusal_that_says_what_to_do(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, files: Files
) -> None:
    # Given a sandbox whose voices fill its quota (one of them made here: the test may run alone)
    adapter.create_task(request("c8" * 16), cast("AudioSource", Source(files.url("good.wav", GOOD))))
    sandbox.config.voice_quota = len(sandbox.voices)
    with pytest.raises(VendorRejected) as refused:
        adapter.create_task(request("c9" * 16), cast("AudioSource", Source(files.url("good.wav", GOOD))))
    assert refused.value.code == "Throttling.AllocationQuota" and refused.value.message == QUOTA_ADVICE
    # Deleting a voice makes room again.
    victim = next(iter(sandbox.voices))
    adapter.delete_voice(VendorVoice(vendor="cosyvoice", voice_id=victim))
    adapter.delete_voice(VendorVoice(vendor="cosyvoice", voice_id=victim))  # already gone: done
    assert adapter.create_task(request("c9" * 16), cast("AudioSource", Source(files.url("good.wav", GOOD))))


def test_cancel_deletes_the_voice_under_review(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, files: Files
) -> None:
    sandbox.config.training_seconds = 30
    task = adapter.create_task(request("da" * 16), cast("AudioSource", Source(files.url("good.wav", GOOD))))
    adapter.cancel_task(task)
    assert task not in sandbox.voices
    with pytest.raises(VendorRejected):
        adapter.get_status(task)


def test_a_wrong_key_and_the_vendors_faults_keep_their_codes(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, voice: VendorVoice
) -> None:
    wrong = CosyVoiceAdapter(sandbox.url, "sk-wrong", stream_endpoint=sandbox.stream_url)
    with pytest.raises(VendorAuthError) as refused:
        wrong.get_status(voice.voice_id)
    assert refused.value.code == "InvalidApiKey"
    with pytest.raises(VendorAuthError) as refused:
        wrong.stream_synthesis(voice, say())
    assert refused.value.code == "InvalidApiKey"
    sandbox.config.throttle_first, sandbox.config.internal_error_first = 1, 1
    with pytest.raises(VendorThrottled) as throttled:
        adapter.get_status(voice.voice_id)
    with pytest.raises(VendorUnavailable) as failed:
        adapter.get_status(voice.voice_id)
    assert (throttled.value.code, failed.value.code) == ("Throttling.RateQuota", "InternalError")


# ----- speech -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "rate"), [("wav", 16000), ("mp3", 22050), ("pcm", 24000), ("mp3", 48000)])
def test_sync_speech_is_the_whole_stream_in_the_format_asked(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, voice: VendorVoice, fmt: str, rate: int
) -> None:
    result = adapter.synthesize(voice, say(fmt=fmt, rate=rate))
    assert result.format == fmt and result.sample_rate == rate
    assert 1.0 < result.duration_seconds() < 10.0
    record = sandbox.streams[-1]
    assert record.outcome == "final" and record.params["model"] == "cosyvoice-v3-plus"
    assert record.params["format"] == ("pcm" if fmt == "wav" else fmt)
    assert result.request_id and len(result.request_id) == 32
    if fmt == "wav":
        assert result.audio[:4] == b"RIFF"


def test_the_stream_hands_on_the_first_audio_before_the_rest_and_joins_to_the_sync_audio(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, voice: VendorVoice
) -> None:
    whole = adapter.synthesize(voice, say(TEXT * 3)).audio
    sandbox.config.stream_hold_after_chunks = 1
    with adapter.stream_synthesis(voice, say(TEXT * 3)) as stream:
        first = next(stream)
        record = sandbox.streams[-1]
        assert record.chunks_sent == 1 < record.chunks_total  # the rest is held at the vendor
        sandbox.release_streams()
        rest = b"".join(stream)
    assert first + rest == whole
    record.done.wait(10)
    assert record.outcome == "final" and record.closed_by_client


def test_a_voice_spoken_with_another_model_is_refused_with_what_to_do(
    adapter: CosyVoiceAdapter, voice: VendorVoice
) -> None:
    other = voice.model_copy(update={"details": {**voice.details, "target_model": "cosyvoice-v2"}})
    with pytest.raises(VendorRejected) as refused:
        adapter.synthesize(other, say())
    assert refused.value.code == "InvalidParameter"
    assert "only with the model it was enrolled for" in refused.value.message
    assert "does not match" in refused.value.details["vendor_message"]
    # Without the model in its details, the voice's own is asked of query_voice.
    bare = VendorVoice(vendor="cosyvoice", voice_id=voice.voice_id)
    assert adapter.synthesize(bare, say()).audio


@pytest.mark.parametrize(
    ("knobs", "kind", "code", "before_audio"),
    [
        ({"stream_fail_after_chunks": 0}, VendorUnavailable, "InternalError", True),
        ({"stream_fail_after_chunks": 1}, VendorUnavailable, "InternalError", False),
        ({"stream_drop_after_chunks": 1}, VendorUnavailable, "StreamTruncated", False),
        (
            {"stream_concurrency": 1, "stream_hold_after_chunks": 1},
            VendorThrottled,
            "Throttling.RateQuota",
            True,
        ),
    ],
    ids=["task-failed before audio", "task-failed after audio", "cut without task-finished", "busy"],
)
def test_stream_failures_become_the_taxonomys_errors(
    sandbox: CosyVoiceSandbox,
    adapter: CosyVoiceAdapter,
    voice: VendorVoice,
    knobs: dict[str, Any],
    kind: type,
    code: str,
    before_audio: bool,
) -> None:
    for name, value in knobs.items():
        setattr(sandbox.config, name, value)
    held = adapter.stream_synthesis(voice, say(TEXT * 3)) if "stream_concurrency" in knobs else None
    try:
        with pytest.raises(kind) as raised:
            if before_audio:
                adapter.stream_synthesis(voice, say(TEXT * 3))
            else:
                with adapter.stream_synthesis(voice, say(TEXT * 3)) as stream:
                    b"".join(stream)
        assert raised.value.code == code
    finally:
        if held is not None:
            sandbox.release_streams()
            held.close()


def test_what_the_stream_cannot_make_is_refused_before_connecting(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, voice: VendorVoice
) -> None:
    streams = len(sandbox.streams)
    for bad, code in ((say(fmt="wav"), "InvalidFormat"), (say(rate=12000), "InvalidSampleRate")):
        with pytest.raises(VendorRejected) as refused:
            adapter.stream_synthesis(voice, bad)
        assert refused.value.code == code
    with pytest.raises(VendorRejected) as refused:
        adapter.stream_synthesis(voice, say("好" * 7000))
    assert refused.value.code == "TextTooLong"
    with pytest.raises(VendorRejected) as refused:
        adapter.synthesize(voice, say(speed=2.5))
    assert refused.value.code == "InvalidSpeed"
    assert len(sandbox.streams) == streams


def test_a_voice_under_review_cannot_speak_yet(
    sandbox: CosyVoiceSandbox, adapter: CosyVoiceAdapter, files: Files
) -> None:
    sandbox.config.training_seconds = 30
    task = adapter.create_task(request("eb" * 16), cast("AudioSource", Source(files.url("good.wav", GOOD))))
    try:
        pending = VendorVoice(
            vendor="cosyvoice", voice_id=task, details={"target_model": "cosyvoice-v3-plus"}
        )
        with pytest.raises(VendorRejected) as refused:
            adapter.synthesize(pending, say())
        assert "DEPLOYING" in refused.value.message
    finally:
        adapter.delete_voice(VendorVoice(vendor="cosyvoice", voice_id=task))
