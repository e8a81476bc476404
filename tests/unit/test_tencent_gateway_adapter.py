"""The Tencent smart-content gateway adapter against recorded gateway responses (no network)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.tencent_gateway import (
    DEFAULT_ENDPOINT,
    TencentGatewayAdapter,
    custom_id,
    model_name,
)

from tests.unit.conftest import Recorder

SECRET_ID, SECRET_KEY = "gw-test-id", "gw-test-key"
JOB_ID = "3f2a9c1e7b6d4a0f8e5c2b1a9d8e7f60"
SESSION_ID = "0c1d2e3f405162738495a6b7c8d9eaf1"
MODEL = model_name(JOB_ID)
AUDIO_URL = "https://bucket.example/assembled.wav?X-Amz-Signature=abc"
CALLBACK = "https://api.example/v1/callbacks/tencent_gateway/j1?token=t"

Answer = Callable[[str, dict[str, Any]], tuple[int, Any]]


class UrlAudio:
    """The gateway downloads the audio itself: only the URL may be asked for."""

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        raise AssertionError("read")

    def document(self, name: str) -> bytes:
        raise AssertionError("read")

    def assembled_url(self) -> str:
        return AUDIO_URL


def job(state: int = 1, **fields: Any) -> dict[str, Any]:
    """A training Job as the doc's examples show it (with the result once COMPLETED)."""
    output: dict[str, Any] = {
        "inputSelectors": [0],
        "smartContentDescriptor": {"voiceCloning": {"type": 2, "modelName": MODEL}},
    }
    if state == 3:
        output["smartContentResult"] = {"voiceCloning": {"modelName": MODEL}}
    return {
        "id": "13f342e4-6866-450e-b44e-3151431c578b",
        "state": state,
        "customId": SESSION_ID,
        "callback": CALLBACK,
        "inputs": [{"url": AUDIO_URL}],
        "outputs": [output],
        "timing": {"createdAt": "1603432763000", "startedAt": "0", "completedAt": "0"},
        **fields,
    }


def ok(action: str, result: dict[str, Any]) -> dict[str, Any]:
    key = action[0].lower() + action[1:]
    return {"requestId": "req-ok", f"{key}Response": result}


def err(code: str, message: str = "boom") -> dict[str, Any]:
    return {"requestId": "req-err", "error": {"code": code, "message": message}}


def action_of(request: httpx.Request) -> str:
    return str(json.loads(request.content)["action"])


def adapter_with(answer: Answer) -> tuple[TencentGatewayAdapter, Recorder]:
    """The adapter, answered by ``answer(action, body)`` through the shared recording transport."""
    recorder = Recorder(
        lambda request: answer(action_of(request), json.loads(request.content)), route=action_of
    )
    adapter = TencentGatewayAdapter(DEFAULT_ENDPOINT, SECRET_ID, SECRET_KEY, transport=recorder.transport)
    return adapter, recorder


def training_request(callback_url: str | None = CALLBACK, job_id: str = JOB_ID) -> TrainingRequest:
    return TrainingRequest(
        job_id=job_id,
        session_id=SESSION_ID,
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id="00001", s3_key="k")],
        callback_url=callback_url,
    )


# ----- request shapes ------------------------------------------------------------------------


def test_create_task_sends_a_type_2_training_job_with_credentials_in_the_body() -> None:
    # Given a gateway that accepts the job
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, {"job": job()})))

    # When training is started
    task_id = adapter.create_task(training_request(), UrlAudio())

    # Then the job id is returned, and the doc's training request was POSTed to /release/job
    assert task_id == job()["id"]
    request = recorder.requests[0]
    assert (request.method, str(request.url)) == ("POST", DEFAULT_ENDPOINT + "/release/job")
    assert request.headers["Content-Type"] == "application/json"
    assert recorder.bodies()[0] == {
        "action": "CreateJob",
        "secretId": SECRET_ID,
        "secretKey": SECRET_KEY,
        "createJobRequest": {
            "customId": SESSION_ID,
            "callback": CALLBACK,
            "inputs": [{"url": AUDIO_URL}],
            "outputs": [
                {
                    "inputSelectors": [0],
                    "smartContentDescriptor": {"voiceCloning": {"type": 2, "modelName": MODEL}},
                }
            ],
        },
    }
    # And no credential travels in a header or the URL
    assert SECRET_KEY not in str(request.url) and SECRET_KEY not in str(request.headers)


def test_no_callback_field_without_a_callback_url() -> None:
    # Given a request without a callback URL / When created / Then the field is left out
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, {"job": job()})))
    adapter.create_task(training_request(callback_url=None), UrlAudio())
    assert "callback" not in recorder.bodies()[0]["createJobRequest"]


def test_create_without_a_job_id_is_retryable() -> None:
    # Given a gateway that answers CreateJob without a job / When created / Then retryable
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"job": {}})))
    with pytest.raises(VendorUnavailable):
        adapter.create_task(training_request(), UrlAudio())


@pytest.mark.parametrize(
    "job_id",
    [JOB_ID, "job-42/ä", "x" * 200, "a" * 60, "a" * 61, ""],
    ids=["uuid-hex", "odd-chars", "very-long", "60-chars", "61-chars", "empty"],
)
def test_model_names_follow_the_gateway_rules(job_id: str) -> None:
    # Given any job id / When its model name is made
    name = model_name(job_id)
    # Then only digits, letters and underscores, under 64 characters, and the same every time
    assert re.fullmatch(r"[A-Za-z0-9_]{1,63}", name)
    assert model_name(job_id) == name


def test_model_names_are_readable_and_distinct_between_jobs() -> None:
    # Given a uuid4-hex job id / Then it shows in the name
    assert model_name(JOB_ID) == "vc_" + JOB_ID
    # And different jobs never share a model, even when their ids differ only in disallowed characters
    names = {model_name(j) for j in ("a-b", "a.b", "a_b", "A-B", "x" * 61, "x" * 62)}
    assert len(names) == 6


def test_custom_ids_stay_under_64_characters() -> None:
    # Given a usual session id and a long one / Then the usual is kept and the long one shortened stably
    assert custom_id(SESSION_ID) == SESSION_ID
    long = custom_id("s" * 64)
    assert len(long) < 64 and long == custom_id("s" * 64) and long != custom_id("s" * 65)


# ----- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected", "name"),
    [
        (1, TrainingState.PENDING, "SUBMITTED"),
        (2, TrainingState.RUNNING, "PROCESSING"),
        (3, TrainingState.SUCCEEDED, "COMPLETED"),
        (4, TrainingState.FAILED, "ERROR"),
        (5, TrainingState.FAILED, "CANCELED"),
        (9, TrainingState.RUNNING, "9"),
    ],
)
def test_job_states_map_to_training_states(state: int, expected: TrainingState, name: str) -> None:
    # Given a job in a state / When its status is read with GetJob
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, {"job": job(state)})))
    status = adapter.get_status("13f342e4-6866-450e-b44e-3151431c578b")

    # Then the request asked for that job, and the state is mapped
    sent = recorder.bodies()[0]
    assert (sent["action"], sent["getJobRequest"]) == (
        "GetJob",
        {"id": "13f342e4-6866-450e-b44e-3151431c578b"},
    )
    assert (status.state, status.vendor_state) == (expected, name)
    if expected is TrainingState.SUCCEEDED:
        assert status.voice is not None
        assert (status.voice.vendor, status.voice.voice_id) == ("tencent_gateway", MODEL)
        assert status.voice.details == {"modelName": MODEL}
    else:
        assert status.voice is None


def test_a_completed_job_without_a_result_falls_back_to_the_requested_model() -> None:
    # Given a COMPLETED job whose output lacks smartContentResult
    completed = job(3)
    del completed["outputs"][0]["smartContentResult"]
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"job": completed})))
    # When read / Then the voice is the model the job asked for
    voice = adapter.get_status(completed["id"]).voice
    assert voice is not None and voice.voice_id == MODEL


def test_the_result_model_name_wins_over_the_requested_one() -> None:
    # Given a COMPLETED job whose result names the model differently / Then the result is trusted
    completed = job(3)
    completed["outputs"][0]["smartContentResult"] = {"voiceCloning": {"modelName": "renamed"}}
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"job": completed})))
    voice = adapter.get_status(completed["id"]).voice
    assert voice is not None and voice.voice_id == "renamed"


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        (
            {"error": {"code": "InvalidAudio", "message": "the audio is silent"}},
            "InvalidAudio",
            "the audio is silent",
        ),
        ({"error": "download failed"}, "TrainingFailed", "download failed"),
        ({"errorCode": "E1", "errorMessage": "bad input"}, "E1", "bad input"),
        ({"message": "训练失败"}, "TrainingFailed", "训练失败"),
        ({}, "TrainingFailed", "Tencent ended the job in ERROR without a reason"),
    ],
    ids=["error-object", "error-string", "error-fields", "message", "no-reason"],
)
def test_a_failed_job_carries_its_reason(fields: dict[str, Any], code: str, message: str) -> None:
    # Given an ERROR job with its reason in one of the shapes a gateway might use
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"job": job(4, **fields)})))
    # When read / Then FAILED with that code and message
    status = adapter.get_status("j")
    assert (status.state, status.error_code, status.error_message) == (TrainingState.FAILED, code, message)


def test_a_canceled_job_says_so() -> None:
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"job": job(5)})))
    status = adapter.get_status("j")
    assert (status.error_code, status.error_message) == ("JobCanceled", "the job was canceled at Tencent")


# ----- callbacks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wrap",
    [lambda j: j, lambda j: {"job": j}, lambda j: {"requestId": "r", "getJobResponse": {"job": j}}],
    ids=["bare", "job-wrapper", "getjob-wrapper"],
)
def test_a_callback_body_is_read_bare_or_wrapped(wrap: Callable[[dict[str, Any]], Any]) -> None:
    # Given the whole COMPLETED job, as sent to the callback
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, {})))
    body = json.dumps(wrap(job(3))).encode()
    # When parsed / Then a SUCCEEDED hint for that job, without calling the gateway
    status = adapter.parse_callback(body)
    assert (status.task_id, status.state) == (job()["id"], TrainingState.SUCCEEDED)
    assert status.voice is not None and status.voice.voice_id == MODEL
    assert recorder.requests == []


def test_an_error_callback_gives_the_reason() -> None:
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {})))
    body = json.dumps(job(4, error={"code": "InvalidAudio", "message": "silent"})).encode()
    status = adapter.parse_callback(body)
    assert (status.state, status.error_code, status.error_message) == (
        TrainingState.FAILED,
        "InvalidAudio",
        "silent",
    )


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"job": {"state": 3}}'])
def test_bad_callback_bodies_are_rejected(body: bytes) -> None:
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {})))
    with pytest.raises(VendorRejected) as info:
        adapter.parse_callback(body)
    assert info.value.code == "BadCallback"


# ----- finding an earlier create -------------------------------------------------------------


def test_find_existing_task_lists_by_custom_id_and_deduplicates() -> None:
    # Given ListJobs answering the same job twice
    listed = {"jobs": [job(2), job(2)], "total": 2}
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, listed)))
    # When the earlier create is looked for / Then that one job, found by the request's customId
    assert adapter.find_existing_task(training_request()) == job()["id"]
    sent = recorder.bodies()[0]
    assert (sent["action"], sent["listJobsRequest"]) == ("ListJobs", {"customId": SESSION_ID})
    assert str(recorder.requests[0].url).endswith("/release/job")


def test_find_existing_task_is_none_without_a_job() -> None:
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"jobs": [], "total": 0})))
    assert adapter.find_existing_task(training_request()) is None


def test_find_existing_task_ignores_jobs_that_are_not_this_requests() -> None:
    # Given jobs of another customId and of another model, listed under this customId
    other_custom = job(2, id="other-1", customId="someone-else")
    other_model = job(2, id="other-2")
    other_model["outputs"][0]["smartContentDescriptor"]["voiceCloning"]["modelName"] = "another_model"
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"jobs": [other_custom, other_model]})))
    # When looked for / Then none of them is taken for this request's
    assert adapter.find_existing_task(training_request()) is None


def test_find_existing_task_prefers_a_live_job_to_a_failed_one() -> None:
    # Given an older failed job and a newer running one for the same request
    failed = job(4, id="failed", timing={"createdAt": "1000", "startedAt": "0", "completedAt": "0"})
    running = job(2, id="running", timing={"createdAt": "2000", "startedAt": "0", "completedAt": "0"})
    adapter, _ = adapter_with(lambda action, body: (200, ok(action, {"jobs": [failed, running]})))
    # When looked for / Then the running one
    assert adapter.find_existing_task(training_request()) == "running"


# ----- listing and deleting ------------------------------------------------------------------


def test_list_voices_pages_through_list_models() -> None:
    # Given 101 models: a full page of 100, then one
    names = [f"m{n}" for n in range(101)]

    def answer(action: str, body: dict[str, Any]) -> tuple[int, Any]:
        paging = body["listModelsRequest"]
        page = names[paging["offset"] : paging["offset"] + paging["limit"]]
        return 200, ok(
            action, {"total": len(names), "models": [{"name": n, "createdAt": "1610513575000"} for n in page]}
        )

    adapter, recorder = adapter_with(answer)
    # When listed / Then every model, in two ListModels calls on /release/music_model
    voices = adapter.list_voices()
    assert [v.voice_id for v in voices] == names
    assert voices[0].details == {"modelName": "m0", "createdAt": "1610513575000"}
    assert [b["listModelsRequest"] for b in recorder.bodies()] == [
        {"offset": 0, "limit": 100},
        {"offset": 100, "limit": 100},
    ]
    assert {str(r.url) for r in recorder.requests} == {DEFAULT_ENDPOINT + "/release/music_model"}
    assert {b["action"] for b in recorder.bodies()} == {"ListModels"}


def test_delete_voice_is_not_supported() -> None:
    adapter, recorder = adapter_with(lambda action, body: (200, ok(action, {})))
    with pytest.raises(VendorRejected) as info:
        adapter.delete_voice(VendorVoice(vendor="tencent_gateway", voice_id=MODEL))
    assert info.value.code == "NotSupported" and recorder.requests == []


# ----- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code", "request_id"),
    [
        (
            401,
            err("AuthFailure", "the secretId or secretKey is wrong"),
            VendorAuthError,
            "AuthFailure",
            "req-err",
        ),
        (
            200,
            err("AuthFailure", "the secretId or secretKey is wrong"),
            VendorAuthError,
            "AuthFailure",
            "req-err",
        ),
        (
            400,
            {"code": 1001, "message": "invalid secretKey", "requestId": "r3"},
            VendorAuthError,
            "1001",
            "r3",
        ),
        (403, "forbidden", VendorAuthError, "HTTP403", None),
        (
            200,
            {
                "Response": {
                    "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"},
                    "RequestId": "r4",
                }
            },
            VendorAuthError,
            "AuthFailure.SignatureFailure",
            "r4",
        ),
        (200, err("RequestLimitExceeded", "slow down"), VendorThrottled, "RequestLimitExceeded", "req-err"),
        (400, {"code": 42, "message": "请求过于频繁"}, VendorThrottled, "42", None),
        (429, "slow down", VendorThrottled, "HTTP429", None),
        (200, err("InternalError", "oops"), VendorUnavailable, "InternalError", "req-err"),
        (502, "bad gateway", VendorUnavailable, "HTTP502", None),
        (
            400,
            err("InvalidParameterValue.ModelNameExists", "taken"),
            VendorRejected,
            "InvalidParameterValue.ModelNameExists",
            "req-err",
        ),
        (404, err("ResourceNotFound", "no job"), VendorRejected, "ResourceNotFound", "req-err"),
        (404, "<html>no route</html>", VendorRejected, "HTTP404", None),
        (200, {"requestId": "r5"}, VendorUnavailable, "HTTP200", "r5"),
        (200, "<html>not the api</html>", VendorUnavailable, "HTTP200", None),
        (200, {"code": "E7", "msg": "quota exhausted"}, VendorRejected, "E7", None),
    ],
    ids=[
        "401-auth",
        "200-auth",
        "code-secretkey-message",
        "403-text",
        "tencent-cloud-envelope",
        "200-throttled",
        "throttle-message",
        "429",
        "200-internal",
        "502",
        "rejected",
        "404-error",
        "404-text",
        "no-response-object",
        "not-json",
        "nonzero-code",
    ],
)
def test_errors_map_to_the_taxonomy_with_the_vendor_code_and_request_id(
    status: int, body: Any, error_type: type[Exception], code: str, request_id: str | None
) -> None:
    # Given a gateway answering with an error in some shape / When a job is read
    adapter, _ = adapter_with(lambda action, sent: (status, body))
    with pytest.raises(error_type) as info:
        adapter.get_status("j")
    # Then the taxonomy class, with the vendor's code (and request id when it sent one)
    error: Any = info.value
    assert error.code == code
    assert error.vendor == "tencent_gateway"
    assert error.details.get("request_id") == request_id
    assert json.loads(str(error))["code"] == code


def test_the_messages_of_errors_are_kept() -> None:
    adapter, _ = adapter_with(
        lambda action, sent: (400, err("InvalidParameterValue", "modelName is too long"))
    )
    with pytest.raises(VendorRejected) as info:
        adapter.get_status("j")
    assert info.value.message == "modelName is too long"


def test_the_gateway_request_id_header_is_kept_when_the_body_has_none() -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": "bad"}, headers={"X-Api-RequestId": "hdr-1"})

    adapter = TencentGatewayAdapter(
        DEFAULT_ENDPOINT, SECRET_ID, SECRET_KEY, transport=httpx.MockTransport(transport)
    )
    with pytest.raises(VendorRejected) as info:
        adapter.get_status("j")
    assert (info.value.code, info.value.details["request_id"]) == ("HTTP400", "hdr-1")


def test_network_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter = TencentGatewayAdapter(
        DEFAULT_ENDPOINT, SECRET_ID, SECRET_KEY, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(VendorUnavailable) as info:
        adapter.get_status("j")
    assert info.value.retryable


# ----- configuration -------------------------------------------------------------------------


def test_capabilities() -> None:
    caps = TencentGatewayAdapter.capabilities
    assert (caps.sentence_check, caps.completion, caps.audio_transport, caps.audio_files) == (
        "local",
        "callback",
        "url",
        "single",
    )
    assert (caps.sentence_count, caps.poll_initial_seconds, caps.poll_max_seconds) == (20, 30, 600)
    assert TencentGatewayAdapter.vendor_id == "tencent_gateway"


def test_from_environment_reads_the_credentials_and_defaults_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given credentials in the environment and no endpoint
    monkeypatch.delenv("VOICECLONE_TENCENT_GATEWAY_ENDPOINT", raising=False)
    monkeypatch.delenv("VOICECLONE_TENCENT_GATEWAY_SECRET_ARN", raising=False)
    monkeypatch.setenv("VOICECLONE_TENCENT_GATEWAY_SECRET_ID", "env-id")
    monkeypatch.setenv("VOICECLONE_TENCENT_GATEWAY_SECRET_KEY", "env-key")
    # When configured from it / Then the documented endpoint and those credentials
    adapter = TencentGatewayAdapter.from_environment()
    assert adapter.endpoint == DEFAULT_ENDPOINT
    assert (adapter._secret_id, adapter._secret_key) == ("env-id", "env-key")


def test_from_environment_names_a_missing_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECRET_ID", "SECRET_KEY", "SECRET_ARN", "ENDPOINT"):
        monkeypatch.delenv(f"VOICECLONE_TENCENT_GATEWAY_{name}", raising=False)
    with pytest.raises(VendorAuthError) as info:
        TencentGatewayAdapter.from_environment()
    assert "VOICECLONE_TENCENT_GATEWAY_SECRET_ID" in info.value.message
