"""What every adapter inherits: its state table, its stream limits, its options, the refusals of what it
lacks, and the download of an asynchronous job's audio; the error taxonomy's own rules with them."""

# ruff: noqa: E501 - one case a line reads as a table

from __future__ import annotations

import io
import json
import wave

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorRejected,
    VendorUnavailable,
    VoicecloneError,
    parse_cause,
)
from voiceclone.domain.models import ALLOWED_TRANSITIONS, JobStatus, VendorVoice, check_transition
from voiceclone.vendors.base import Capabilities, TrainingState, VendorAdapter, state_table
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest

from tests.unit.conftest import offline_adapter


def test_a_state_table_maps_each_named_state_and_nothing_else() -> None:
    table = state_table(pending=("Q", 0), running=("R",), succeeded=("OK", 2), failed=("X",))
    assert table == {
        "Q": TrainingState.PENDING,
        0: TrainingState.PENDING,
        "R": TrainingState.RUNNING,
        "OK": TrainingState.SUCCEEDED,
        2: TrainingState.SUCCEEDED,
        "X": TrainingState.FAILED,
    }
    assert state_table() == {}


def adapter_with(capabilities: Capabilities, vendor: str = "qiniu") -> VendorAdapter:
    adapter = offline_adapter(vendor)
    adapter.capabilities = capabilities  # type: ignore[misc]
    return adapter


def caps(**fields: object) -> Capabilities:
    """A vendor's capabilities (Qiniu's) with `fields` changed."""
    return offline_adapter("qiniu").capabilities.model_copy(update=fields)


STREAMING = caps(
    speech="sync",
    speech_stream=True,
    speech_stream_formats=("pcm", "mp3"),
    speech_stream_sample_rates=(16000, 24000),
    speech_stream_text_limit=10,
    speech_text_unit="bytes",
)


def request(text: str = "hello", fmt: str = "pcm", rate: int = 16000) -> SynthesisRequest:
    return SynthesisRequest(text=text, format=fmt, sample_rate=rate)  # type: ignore[arg-type]


def refusal(adapter: VendorAdapter, req: SynthesisRequest) -> VendorRejected:
    with pytest.raises(VendorRejected) as caught:
        adapter.check_stream_request(req)
    return caught.value


def test_a_stream_request_within_the_limits_passes() -> None:
    adapter = adapter_with(STREAMING)
    adapter.check_stream_request(request("0123456789"))  # exactly the limit, in bytes
    adapter.check_stream_request(request(fmt="mp3", rate=24000))


def test_a_stream_refuses_another_format_naming_its_own() -> None:
    error = refusal(adapter_with(STREAMING), request(fmt="wav"))
    assert (error.vendor, error.code) == ("qiniu", "InvalidFormat")
    assert (
        error.message
        == "qiniu streams pcm or mp3 audio, not wav (a stream carries raw audio, no file header)"
    )


def test_a_stream_refuses_another_rate_naming_its_own() -> None:
    error = refusal(adapter_with(STREAMING), request(rate=8000))
    assert error.code == "InvalidSampleRate"
    assert error.message == "qiniu streams at 16000, 24000 Hz, not 8000 Hz"


def test_a_stream_refuses_text_past_its_limit_counted_in_its_unit() -> None:
    # Four Chinese characters are twelve bytes of UTF-8: over a ten-byte limit, not over ten characters
    error = refusal(adapter_with(STREAMING), request("你好你好"))
    assert error.code == "TextTooLong"
    assert error.message == (
        "qiniu streams at most 10 bytes of text per call, not 12: split the text and stream the parts "
        "one after another"
    )
    assert refusal(adapter_with(STREAMING), request("01234567890")).message.startswith(
        "qiniu streams at most 10 bytes of text per call, not 11"
    )
    in_chars = adapter_with(STREAMING.model_copy(update={"speech_text_unit": "chars"}))
    in_chars.check_stream_request(request("你好你好"))
    unlimited = adapter_with(STREAMING.model_copy(update={"speech_stream_text_limit": 0}))
    unlimited.check_stream_request(request("x" * 10000))


def test_options_are_checked_by_name_choice_and_format() -> None:
    declared = caps(
        options=("model", "prefix"),
        option_choices={"model": ("Fast", "Plus")},
        option_formats={"prefix": (r"[a-z]{1,4}", "1 to 4 lower-case letters")},
    )
    assert declared.validate_options({"model": " plus ", "prefix": "ab"}) == []
    assert declared.validate_options({"model": "FAST"}) == []
    assert declared.validate_options({"colour": "red", "model": "slow", "prefix": "ABCDE"}) == [
        "unknown option 'colour' (this vendor takes: model, prefix)",
        "option 'model' cannot be 'slow': choose one of Fast, Plus",
        "option 'prefix' cannot be 'ABCDE': it must be 1 to 4 lower-case letters",
    ]
    assert caps(options=()).validate_options({"a": "1", "b": "2"}) == [
        "unknown option 'a' (this vendor takes: none)",
        "unknown option 'b' (this vendor takes: none)",
    ]


@pytest.mark.parametrize(
    ("call", "code", "what"),
    [
        (lambda a, v: a.start_synthesis(v, request(), tag="t"), "NotSupported", "synthesize speech asynchronously"),
        (lambda a, v: a.get_synthesis("job"), "NotSupported", "synthesize speech asynchronously"),
        (lambda a, v: a.synthesize(v, request(fmt="wav")), "NotSupported", "synthesize speech through voiceclone"),
        (lambda a, v: a.stream_synthesis(v, request()), "NotSupported", "stream speech"),
        (lambda a, v: a.parse_synthesis_callback(b"{}"), "NoCallback", "send speech callbacks: its jobs are polled"),
        (lambda a, v: a.parse_callback(b"{}"), "NoCallback", "send training callbacks: its status is polled"),
    ],
)  # fmt: skip
def test_what_a_vendor_lacks_is_refused_by_name(call: object, code: str, what: str) -> None:
    adapter = adapter_with(caps(speech="none", speech_note="clone it in the console instead"))
    voice = VendorVoice(vendor="qiniu", voice_id="v1")
    with pytest.raises(VendorRejected) as caught:
        call(adapter, voice)  # type: ignore[operator]
    error = caught.value
    assert (error.vendor, error.code) == ("qiniu", code)
    assert error.message.startswith(f"qiniu cannot {what}")
    if code == "NotSupported":
        assert error.message == f"qiniu cannot {what}: clone it in the console instead"
    else:
        assert error.message == f"qiniu cannot {what}"
    assert adapter.find_synthesis("t") is None


# ----- an asynchronous job's audio -----------------------------------------------------------------


def wav_at(rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * 100)
    return buf.getvalue()


def downloading(answer: httpx.Response) -> tuple[VendorAdapter, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def transport(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return answer

    return offline_adapter("tencent_gateway", httpx.MockTransport(transport)), seen


JOB = SynthesisJob(job_id="j1", audio_url="https://files.example/j1.wav?sig=abc", request_id="rq-9")


def test_a_finished_jobs_audio_is_fetched_with_a_plain_get_and_keeps_its_rate() -> None:
    adapter, seen = downloading(httpx.Response(200, content=wav_at(22050)))
    result = adapter.synthesis_audio(JOB, request(fmt="wav", rate=16000))
    # The WAV says its rate; nothing of ours travels with the presigned URL
    assert (result.format, result.sample_rate, result.request_id) == ("wav", 22050, "rq-9")
    assert result.audio == wav_at(22050)
    ((sent),) = seen
    assert sent.method == "GET" and str(sent.url) == JOB.audio_url
    assert "authorization" not in {k.lower() for k in sent.headers}
    # Another format keeps the rate asked for; the same client serves the next download
    mp3, _ = downloading(httpx.Response(200, content=b"\xff\xfb\x90\x00" * 10))
    assert mp3.synthesis_audio(JOB, request(fmt="mp3", rate=24000)).sample_rate == 24000
    adapter.synthesis_audio(JOB, request(fmt="wav"))
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("job", "answer", "code"),
    [
        (JOB.model_copy(update={"audio_url": ""}), httpx.Response(200, content=b"x"), "NoAudioUrl"),
        (JOB, httpx.Response(200, content=b""), "EmptyAudio"),
        (JOB, httpx.Response(200, content=b"not a wav at all"), "InvalidAudio"),
    ],
)
def test_a_job_without_usable_audio_is_refused(job: SynthesisJob, answer: httpx.Response, code: str) -> None:
    adapter, _ = downloading(answer)
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesis_audio(job, request(fmt="wav"))
    assert (caught.value.vendor, caught.value.code) == ("tencent_gateway", code)
    assert "j1" in caught.value.message


def test_a_vanished_file_is_final_and_a_server_error_is_retried() -> None:
    gone, _ = downloading(httpx.Response(404, text="NoSuchKey"))
    with pytest.raises(VendorRejected) as caught:
        gone.synthesis_audio(JOB, request(fmt="wav"))
    assert not caught.value.retryable
    busy, _ = downloading(httpx.Response(503, text="busy"))
    with pytest.raises(VendorUnavailable) as unavailable:
        busy.synthesis_audio(JOB, request(fmt="wav"))
    assert unavailable.value.retryable


# ----- the taxonomy ---------------------------------------------------------------------------------


def test_an_errors_text_is_its_json_with_the_vendors_words_intact() -> None:
    error = VendorRejected("huawei", "MSS.1", "音频不合格", request_id="r1")
    assert (error.code, error.message, error.vendor) == ("MSS.1", "音频不合格", "huawei")
    assert error.details == {"vendor": "huawei", "request_id": "r1"}
    assert str(error) == (
        '{"code": "MSS.1", "error": "VendorRejected", "message": "音频不合格", "request_id": "r1", "vendor": "huawei"}'
    )
    assert error.args == ("MSS.1", "音频不合格")
    assert str(VoicecloneError("C", "m")) == '{"code": "C", "error": "VoicecloneError", "message": "m"}'


@pytest.mark.parametrize(
    ("cause", "parsed"),
    [
        (None, {}),
        ("", {}),
        ("plain words", {"message": "plain words"}),
        ("[1, 2]", {"message": "[1, 2]"}),
        (json.dumps({"errorType": "VendorThrottled", "errorMessage": str(VendorRejected("v", "C", "m"))}),
         {"error": "VendorRejected", "code": "C", "message": "m", "vendor": "v"}),
        (json.dumps({"errorType": "KeyError", "errorMessage": "'job_id'"}), {"error": "KeyError", "message": "'job_id'"}),
        (json.dumps({"errorType": "ValueError", "errorMessage": "[1]"}), {"error": "ValueError", "message": "[1]"}),
        (json.dumps({"errorType": "X", "errorMessage": 5}), {"errorType": "X", "errorMessage": 5}),
        (json.dumps({"error": "States.Timeout"}), {"error": "States.Timeout"}),
    ],
)  # fmt: skip
def test_a_step_functions_cause_gives_back_the_error(cause: str | None, parsed: dict[str, object]) -> None:
    assert parse_cause(cause) == parsed


@pytest.mark.parametrize("current", list(JobStatus))
@pytest.mark.parametrize("new", list(JobStatus))
def test_only_the_lifecycles_transitions_are_allowed(current: JobStatus, new: JobStatus) -> None:
    if new in ALLOWED_TRANSITIONS[current]:
        check_transition(current, new)
        return
    with pytest.raises(VoicecloneError) as caught:
        check_transition(current, new)
    assert caught.value.code == "InvalidTransition"
    assert caught.value.message == f"a job in {current.value} cannot move to {new.value}"
    assert caught.value.details == {"current": current.value}


def test_the_defaults_of_what_a_vendor_need_not_implement() -> None:
    from voiceclone.domain.models import Gender, Language
    from voiceclone.vendors.base import CheckedSentence, TrainingRequest

    adapter = offline_adapter("qiniu")
    request = TrainingRequest(
        job_id="j1",
        session_id="s1",
        voice_name="Ada",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id="00001", text="t", s3_key="k")],
        options={"speaker_id": "S_1"},
    )
    # The client's options, as they are, unless the vendor makes choices of its own
    prepared = VendorAdapter.prepare_options(adapter, request)
    assert prepared == {"speaker_id": "S_1"} and prepared is not request.options
    with pytest.raises(VendorRejected) as caught:
        VendorAdapter.resubmit(adapter, "task-1", request, None)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.message) == ("NotSupported", "qiniu cannot take new recordings")
    with pytest.raises(NotImplementedError, match="qiniu has no per-sentence check"):
        VendorAdapter.check_sentence(adapter, "00001", b"")
