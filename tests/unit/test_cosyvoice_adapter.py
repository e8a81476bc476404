"""The Aliyun CosyVoice adapter against recorded DashScope answers, and its WebSocket frames (no network).

The frames are compared with the ones the official SDK builds (``dashscope.audio.tts_v2``'s
``Request.get_start_request`` / ``get_continue_request`` / ``get_finish_request``, dashscope 2.0.2).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from voiceclone.domain.audio import SPEECH_MARGIN_SECONDS
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.logic.training.audio_source import PAUSE_SECONDS
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.cosyvoice import (
    DEFAULT_TARGET_MODEL,
    ENROLLMENT_PATH,
    ERRORS,
    QUOTA_ADVICE,
    URL_ADVICE,
    CosyVoiceAdapter,
    explained,
    model_of_voice_id,
    script,
    voice_prefix,
)
from voiceclone.vendors.streaming.base import Audio, End, Failure, Send
from voiceclone.vendors.streaming.cosyvoice_tts import CosyVoiceStreamProtocol

from tests.unit.conftest import Recorder

API_KEY = "sk-test-cosyvoice"
ENDPOINT = "https://dashscope.aliyuncs.com"
JOB_ID = "3f2a9c1e7b6d4a0f8e5c2b1a9d8e7f60"
VOICE_ID = "cosyvoice-v3-plus-vc3f2a9c1-0123456789abcdef"
AUDIO_URL = "https://bucket.example/training/voice.wav?X-Amz-Signature=abc"


class Audio_:
    """The AudioSource the workflow gives: only the joined recording's URL is used."""

    def assembled_url(self) -> str:
        return AUDIO_URL


def ok(output: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 200, {"output": output, "usage": {"count": 1}, "request_id": "req-ok"}


def err(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"request_id": "req-err", "code": code, "message": message}


def by_action(table: dict[str, Any]) -> Any:
    """Answer by the body's input.action; a list is served in turn, a callable gets the request."""
    served: dict[str, int] = {}

    def answer(request: httpx.Request) -> Any:
        assert request.url.path == ENROLLMENT_PATH
        action = json.loads(request.content)["input"]["action"]
        value = table[action]
        if callable(value):
            return value(request)
        if isinstance(value, list):
            index = served.get(action, 0)
            served[action] = index + 1
            return value[min(index, len(value) - 1)]
        return value

    return answer


def adapter_with(table: dict[str, Any], **settings: Any) -> tuple[CosyVoiceAdapter, Recorder]:
    recorder = Recorder(by_action(table))
    return CosyVoiceAdapter(ENDPOINT, API_KEY, transport=recorder.transport, **settings), recorder


def training_request(**options: str) -> TrainingRequest:
    return TrainingRequest(
        job_id=JOB_ID,
        session_id="session-1",
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id=t.text_id, s3_key=f"k/{t.text_id}.wav") for t in script()],
        options=options,
    )


# ----- the recording and the job ----------------------------------------------------------------------


def test_the_pause_between_joined_takes_stays_under_cosyvoices_two_seconds() -> None:
    # The service trims each take to SPEECH_MARGIN_SECONDS around its speech (20 ms frames) and joins
    # them with PAUSE_SECONDS of silence: the longest silence between two takes is their sum.
    worst = PAUSE_SECONDS + 2 * (SPEECH_MARGIN_SECONDS + 0.02)
    assert worst < 2.0


def test_the_script_is_the_longest_sentences_and_each_take_carries_five_seconds() -> None:
    caps = CosyVoiceAdapter.capabilities
    texts = script()
    assert len(texts) == caps.sentence_count == 4
    shortest_kept = min(len(t.text.replace(" ", "")) for t in texts)
    assert all(len(t.text.replace(" ", "")) <= shortest_kept for t in STANDARD_SCRIPT if t not in texts)
    assert [t.text_id for t in texts] == sorted(t.text_id for t in texts)
    assert caps.min_sentence_seconds == 5.0 and caps.joined_seconds == (5.0, 20.0)
    assert caps.audio_transport == "url" and caps.audio_files == "single"


def test_the_prefix_is_from_the_job_short_lowercase_and_stable() -> None:
    assert voice_prefix(JOB_ID) == "vc3f2a9c1" == voice_prefix(JOB_ID.upper())
    other = voice_prefix("job/with-odd-chars")
    assert other == voice_prefix("job/with-odd-chars") and other.isalnum() and other.islower()
    assert len(other) == 9


def test_the_target_model_is_an_option_with_choices_and_a_default() -> None:
    caps = CosyVoiceAdapter.capabilities
    assert caps.validate_options({"target_model": " CosyVoice-V2 "}) == []
    assert caps.validate_options({"target_model": "cosyvoice-v9"})
    adapter, _ = adapter_with({})
    assert adapter.prepare_options(training_request()) == {"target_model": DEFAULT_TARGET_MODEL}
    assert adapter.prepare_options(training_request(target_model=" CosyVoice-V2 ")) == {
        "target_model": "cosyvoice-v2"
    }


def test_create_voice_sends_the_url_the_prefix_and_the_model_with_the_key() -> None:
    adapter, recorder = adapter_with({"create_voice": ok({"voice_id": VOICE_ID})}, workspace="ws-1")
    assert adapter.create_task(training_request(), Audio_()) == VOICE_ID
    (request,) = recorder.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-dashscope-workspace"] == "ws-1"
    assert json.loads(request.content) == {
        "model": "voice-enrollment",
        "input": {
            "action": "create_voice",
            "target_model": "cosyvoice-v3-plus",
            "prefix": "vc3f2a9c1",
            "url": AUDIO_URL,
            "language_hints": ["zh"],
        },
    }


def test_a_v2_voice_gets_no_language_hints() -> None:
    adapter, recorder = adapter_with({"create_voice": ok({"voice_id": "cosyvoice-v2-vc3f2a9c1-x"})})
    adapter.create_task(training_request(target_model="cosyvoice-v2"), Audio_())
    body = recorder.bodies()[0]["input"]
    assert body["target_model"] == "cosyvoice-v2" and "language_hints" not in body


def test_a_lost_create_is_found_by_the_jobs_prefix_the_newest_first() -> None:
    rows = [
        {"voice_id": "cosyvoice-v3-plus-vc3f2a9c1-old", "gmt_create": "2026-01-01 10:00:00", "status": "OK"},
        {"voice_id": "cosyvoice-v3-plus-vc3f2a9c1-new", "gmt_create": "2026-01-01 10:00:05", "status": "OK"},
    ]
    adapter, recorder = adapter_with({"list_voice": ok({"voice_list": rows})})
    assert adapter.find_existing_task(training_request()) == "cosyvoice-v3-plus-vc3f2a9c1-new"
    assert recorder.bodies()[0]["input"] == {
        "action": "list_voice",
        "page_index": 0,
        "page_size": 100,
        "prefix": "vc3f2a9c1",
    }
    nothing, _ = adapter_with({"list_voice": ok({"voice_list": []})})
    assert nothing.find_existing_task(training_request()) is None


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("DEPLOYING", TrainingState.RUNNING),
        ("OK", TrainingState.SUCCEEDED),
        ("UNDEPLOYED", TrainingState.FAILED),
        ("SOMETHING_NEW", TrainingState.RUNNING),
    ],
)
def test_query_voice_states_map_to_the_shared_ones(status: str, state: TrainingState) -> None:
    answer = ok({"status": status, "target_model": "cosyvoice-v3-plus", "gmt_create": "2026-01-01 10:00:00"})
    adapter, recorder = adapter_with({"query_voice": answer})
    found = adapter.get_status(VOICE_ID)
    assert found.state is state and found.vendor_state == status
    assert recorder.bodies()[0]["input"] == {"action": "query_voice", "voice_id": VOICE_ID}
    if state is TrainingState.SUCCEEDED:
        assert found.voice == VendorVoice(
            vendor="cosyvoice",
            voice_id=VOICE_ID,
            details={"voice_id": VOICE_ID, "target_model": "cosyvoice-v3-plus"},
        )
    if state is TrainingState.FAILED:
        assert found.error_code == "TrainingFailed" and "gives no reason" in found.error_message


def test_a_failed_review_shows_a_reason_when_the_answer_has_one() -> None:
    answer = ok({"status": "UNDEPLOYED", "target_model": "cosyvoice-v2", "reason": "music in the background"})
    adapter, _ = adapter_with({"query_voice": answer})
    assert adapter.get_status(VOICE_ID).error_message == "music in the background"


def test_list_voices_walks_pages_until_a_short_one() -> None:
    def page(request: httpx.Request) -> Any:
        index = json.loads(request.content)["input"]["page_index"]
        count = 100 if index < 2 else 7
        return ok(
            {"voice_list": [{"voice_id": f"cosyvoice-v2-p{index}-{n}", "status": "OK"} for n in range(count)]}
        )

    adapter, recorder = adapter_with({"list_voice": page})
    voices = adapter.list_voices()
    assert len(voices) == 207 and len(recorder.requests) == 3
    assert voices[0].details["target_model"] == "cosyvoice-v2" and voices[0].details["status"] == "OK"


def test_delete_and_cancel_delete_the_voice_and_a_voice_already_gone_is_done() -> None:
    gone = err(400, "InvalidParameter", f"voice_id {VOICE_ID} does not exist")
    adapter, recorder = adapter_with({"delete_voice": [ok({}), gone]})
    adapter.delete_voice(VendorVoice(vendor="cosyvoice", voice_id=VOICE_ID))
    adapter.cancel_task(VOICE_ID)
    assert [b["input"] for b in recorder.bodies()] == [{"action": "delete_voice", "voice_id": VOICE_ID}] * 2
    with pytest.raises(VendorRejected) as refused:
        adapter.rename_voice(VendorVoice(vendor="cosyvoice", voice_id=VOICE_ID), "new")
    assert refused.value.code == "NotSupported"


# ----- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "kind", "code"),
    [
        (err(401, "InvalidApiKey", "Invalid API-key provided."), VendorAuthError, "InvalidApiKey"),
        (err(403, "AccessDenied", "Access denied."), VendorAuthError, "AccessDenied"),
        (
            err(400, "Arrearage", "Access denied, please make sure your account is in good standing."),
            VendorAuthError,
            "Arrearage",
        ),
        (
            err(429, "Throttling.RateQuota", "Requests rate limit exceeded"),
            VendorThrottled,
            "Throttling.RateQuota",
        ),
        (err(500, "InternalError", "An internal error has occured"), VendorUnavailable, "InternalError"),
        (err(400, "InvalidParameter", "prefix is invalid"), VendorRejected, "InvalidParameter"),
        ((502, "<html>Bad Gateway</html>"), VendorUnavailable, "HTTP502"),
        ((200, {"request_id": "r"}), VendorUnavailable, "BadResponse"),
    ],
)
def test_dashscope_errors_map_to_the_taxonomy_with_the_vendor_code(
    answer: Any, kind: type, code: str
) -> None:
    adapter, _ = adapter_with({"query_voice": answer})
    with pytest.raises(kind) as raised:
        adapter.get_status(VOICE_ID)
    assert raised.value.code == code


@pytest.mark.parametrize(
    "answer",
    [
        err(
            429,
            "Throttling.AllocationQuota",
            "Voice quota exceeded: the account holds 1000 voices, the limit is 1000",
        ),
        err(400, "InvalidParameter", "The number of voices exceeds the limit"),
        err(400, "InvalidParameter", "复刻音色数量已达上限"),
    ],
)
def test_the_voice_quota_is_final_and_says_what_to_do(answer: Any) -> None:
    adapter, _ = adapter_with({"create_voice": answer})
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(), Audio_())
    error = raised.value
    assert error.code == answer[1]["code"] and error.message == QUOTA_ADVICE
    assert (
        error.details["vendor_message"] == answer[1]["message"] and error.details["request_id"] == "req-err"
    )


def test_an_audio_url_the_vendor_cannot_fetch_says_so() -> None:
    adapter, _ = adapter_with(
        {"create_voice": err(400, "InvalidParameter", "Download audio failed: HTTP 403")}
    )
    with pytest.raises(VendorRejected) as raised:
        adapter.create_task(training_request(), Audio_())
    assert raised.value.message == URL_ADVICE and raised.value.code == "InvalidParameter"


def test_a_model_mismatch_names_the_voice_and_the_model() -> None:
    raw = VendorRejected(
        "cosyvoice",
        "InvalidParameter",
        "voice x was created for target_model cosyvoice-v3-plus, which does not match the task's model "
        "cosyvoice-v2",
    )
    error = explained(raw, model="cosyvoice-v2", voice_id="x")
    assert isinstance(error, VendorRejected)
    assert "refused voice x with model cosyvoice-v2" in error.message and "enrolled for" in error.message
    # Credentials and outages keep their kind, whatever their words.
    auth = VendorAuthError("cosyvoice", "InvalidApiKey", "voice quota exceeded")
    assert explained(auth) is auth


def test_the_model_is_read_from_a_voice_id() -> None:
    assert model_of_voice_id("cosyvoice-v3-flash-abc-123") == "cosyvoice-v3-flash"
    assert model_of_voice_id("cosyvoice-v3-plus-abc-123") == "cosyvoice-v3-plus"
    assert model_of_voice_id("cosyvoice-prefix-0123") is None


# ----- the WebSocket task, frame by frame --------------------------------------------------------------


def protocol(text: str = "你好") -> CosyVoiceStreamProtocol:
    parameters = {
        "text_type": "PlainText",
        "voice": VOICE_ID,
        "format": "pcm",
        "sample_rate": 16000,
        "volume": 50,
        "rate": 1.0,
        "pitch": 1.0,
    }
    return CosyVoiceStreamProtocol(
        "wss://dashscope.aliyuncs.com/api-ws/v1/inference",
        api_key=API_KEY,
        model="cosyvoice-v3-plus",
        parameters=parameters,
        text=text,
        rules=ERRORS,
    )


def sdk_request(task_id: str) -> Any:
    from dashscope.audio.tts_v2.speech_synthesizer import Request

    request = Request(API_KEY, "cosyvoice-v3-plus", VOICE_ID, format="pcm", sample_rate=16000)
    request.task_id = task_id
    return request


def test_run_task_is_the_sdks_and_the_text_waits_for_task_started() -> None:
    ours = protocol("你好，世界")
    assert ours.headers() == {"Authorization": f"Bearer {API_KEY}"}
    (opening,) = ours.opening()
    sent = json.loads(opening)
    sdk = json.loads(sdk_request(ours.task_id).get_start_request())
    assert sent["header"] == sdk["header"]
    assert {k: v for k, v in sent["payload"].items() if k != "parameters"} == {
        k: v for k, v in sdk["payload"].items() if k != "parameters"
    }
    # The SDK's extra synthesis parameters are left out: the vendor's defaults apply.
    assert sent["payload"]["parameters"].items() <= sdk["payload"]["parameters"].items()
    # Nothing more goes out until the vendor started the task; then the text and the finish.
    started = json.dumps({"header": {"task_id": ours.task_id, "event": "task-started"}, "payload": {}})
    answer = ours.read(started)
    assert isinstance(answer, Send)
    text, finish = (json.loads(f) for f in answer.frames)
    assert text == json.loads(sdk_request(ours.task_id).get_continue_request("你好，世界"))
    assert finish == json.loads(sdk_request(ours.task_id).get_finish_request())


def test_events_become_audio_the_end_or_the_vendors_failure() -> None:
    ours = protocol()
    assert ours.read(b"\x01\x02") == Audio(b"\x01\x02")
    generated = {"header": {"event": "result-generated"}, "payload": {"output": {"type": "sentence-end"}}}
    assert ours.read(json.dumps(generated)) is None
    assert ours.read(json.dumps({"header": {"event": "task-finished"}, "payload": {}})) == End()
    failed = {
        "header": {"event": "task-failed", "error_code": "InvalidParameter", "error_message": "bad voice"}
    }
    assert ours.read(json.dumps(failed)) == Failure("InvalidParameter", "bad voice")
    with pytest.raises(VendorUnavailable) as bad:
        ours.read("not json")
    assert bad.value.code == "BadFrame" and bad.value.details["request_id"] == ours.task_id
