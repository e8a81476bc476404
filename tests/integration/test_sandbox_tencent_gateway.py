"""The real Tencent gateway adapter against the gateway sandbox over HTTP: training, callback, faults."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState, TrainingStatus
from voiceclone.vendors.tencent_gateway import TencentGatewayAdapter, custom_id, model_name
from voiceclone_local.sandboxes.tencent_gateway import (
    DEFAULT_SECRET_ID,
    DEFAULT_SECRET_KEY,
    TencentGatewaySandbox,
    TencentGatewaySandboxConfig,
)

from tests.helpers import LocalAudioSource as SampleFolder
from tests.helpers import wait_for, wav_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


class LocalAudioSource(SampleFolder):
    """The helper's folder-backed AudioSource; the gateway needs no documents."""

    def document(self, name: str) -> bytes:
        raise AssertionError("read")


class ClipAudio(LocalAudioSource):
    """Serves one given file as the assembled recording, as is (even when it is not a WAV)."""

    def __init__(self, clip: bytes) -> None:
        super().__init__(SAMPLES, ["00001"])
        self.clip = clip

    def assembled_wav(self) -> bytes:
        return self.clip


@pytest.fixture
def sandbox() -> Iterator[TencentGatewaySandbox]:
    config = TencentGatewaySandboxConfig(
        secret_id=DEFAULT_SECRET_ID, secret_key=DEFAULT_SECRET_KEY, training_seconds=0.3
    )
    server = TencentGatewaySandbox(config).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def adapter(sandbox: TencentGatewaySandbox) -> TencentGatewayAdapter:
    return TencentGatewayAdapter(sandbox.url, DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY)


@pytest.fixture(scope="module")
def audio() -> Iterator[LocalAudioSource]:
    """The 20 sample sentences, assembled and served once for the module (the file never changes)."""
    source = LocalAudioSource(SAMPLES)
    try:
        yield source
    finally:
        source.close()


class Receiver:
    """A tiny callback endpoint: keeps each (path, JSON body) it is sent and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


class Unreachable:
    """An assembled file at a URL where nothing listens (a port taken and let go again)."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{probe.getsockname()[1]}/voice.wav"

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        raise AssertionError("read")

    def document(self, name: str) -> bytes:
        raise AssertionError("read")

    def assembled_url(self) -> str:
        return self.url


def training_request(callback_url: str | None = None) -> TrainingRequest:
    return TrainingRequest(
        job_id=uuid.uuid4().hex,
        session_id=uuid.uuid4().hex,
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id=f"{n:05d}", s3_key=f"jobs/{n:05d}.wav") for n in range(1, 21)],
        callback_url=callback_url,
    )


def finished(adapter: TencentGatewayAdapter, task_id: str) -> TrainingStatus:
    def done() -> TrainingStatus | None:
        status = adapter.get_status(task_id)
        return status if status.state.finished else None

    return wait_for(done, timeout=10, interval=0.05, what="training to finish")


def raw(
    sandbox: TencentGatewaySandbox, path: str, action: str, params: dict[str, Any], **credentials: str
) -> tuple[int, dict[str, Any]]:
    """One request straight to the sandbox (not through the adapter): (HTTP status, answer)."""
    key = action[0].lower() + action[1:]
    body = {
        "action": action,
        "secretId": credentials.get("secret_id", DEFAULT_SECRET_ID),
        "secretKey": credentials.get("secret_key", DEFAULT_SECRET_KEY),
        f"{key}Request": params,
    }
    response = httpx.post(sandbox.url + path, json=body, timeout=10)
    answer: dict[str, Any] = response.json()
    assert answer["requestId"]
    return response.status_code, answer


def training_job(
    model: str = "demo", url: str = "http://127.0.0.1:9/voice.wav", **extra: Any
) -> dict[str, Any]:
    """A createJobRequest like the doc's training example."""
    return {
        "inputs": [{"url": url}],
        "outputs": [
            {
                "inputSelectors": [0],
                "smartContentDescriptor": {"voiceCloning": {"type": 2, "modelName": model}},
            }
        ],
        **extra,
    }


# ----- the happy path ------------------------------------------------------------------------


def test_a_full_clone_succeeds_and_the_model_is_listed(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given a job with the 20 recorded sentences (about two and a half minutes once assembled)
    request = training_request()

    # When training is started and polled with GetJob to the end
    task_id = adapter.create_task(request, audio)
    status = finished(adapter, task_id)

    # Then the clone succeeded once, with the job's model as the voice
    name = model_name(request.job_id)
    assert (status.task_id, status.state, status.vendor_state) == (
        task_id,
        TrainingState.SUCCEEDED,
        "COMPLETED",
    )
    assert status.voice is not None
    assert (status.voice.vendor, status.voice.voice_id, status.voice.details) == (
        "tencent_gateway",
        name,
        {"modelName": name},
    )
    assert sandbox.tasks_created == 1
    # And the job carries the customId, and timing as epoch-ms strings in order
    job = raw(sandbox, "/release/job", "GetJob", {"id": task_id})[1]["getJobResponse"]["job"]
    assert job["customId"] == custom_id(request.session_id)
    timing = job["timing"]
    assert all(isinstance(v, str) for v in timing.values())
    assert 0 < int(timing["createdAt"]) <= int(timing["startedAt"]) <= int(timing["completedAt"])
    # And ListModels lists the trained model
    voices = adapter.list_voices()
    assert [v.voice_id for v in voices] == [name]
    assert voices[0].details["createdAt"] == timing["completedAt"]


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare-job", "wrapped-job"])
def test_the_callback_delivers_the_whole_job(
    adapter: TencentGatewayAdapter,
    sandbox: TencentGatewaySandbox,
    audio: LocalAudioSource,
    receiver: Receiver,
    wrapped: bool,
) -> None:
    # Given a callback URL with a token, and a gateway that sends the Job bare or as {"job": ...}
    sandbox.config.callback_wrapped = wrapped
    request = training_request(f"{receiver.url}/v1/callbacks/tencent_gateway/job-1?token=s3cret")

    # When a job is trained
    task_id = adapter.create_task(request, audio)
    assert sandbox.wait_settled(task_id)

    # Then one POST arrived at the full URL, holding the whole Job exactly as GetJob shows it
    assert len(receiver.received) == 1
    path, body = receiver.received[0]
    assert path == "/v1/callbacks/tencent_gateway/job-1?token=s3cret"
    job = body["job"] if wrapped else body
    assert job == raw(sandbox, "/release/job", "GetJob", {"id": task_id})[1]["getJobResponse"]["job"]
    assert job["state"] == 3
    assert job["outputs"][0]["smartContentResult"] == {
        "voiceCloning": {"modelName": model_name(request.job_id)}
    }
    # And the adapter reads it as the same result that get_status confirms
    hint = adapter.parse_callback(json.dumps(body).encode())
    assert hint == adapter.get_status(task_id)
    assert sandbox.callbacks == [(task_id, 200)]


def test_a_failed_training_is_called_back_too(
    adapter: TencentGatewayAdapter,
    sandbox: TencentGatewaySandbox,
    audio: LocalAudioSource,
    receiver: Receiver,
) -> None:
    # Given training configured to fail / When a job with a callback finishes
    sandbox.config.fail_training = "模型训练失败"
    task_id = adapter.create_task(training_request(receiver.url + "/cb"), audio)
    assert sandbox.wait_settled(task_id)

    # Then the callback carries the ERROR job and its reason
    status = adapter.parse_callback(json.dumps(receiver.received[0][1]).encode())
    assert (status.state, status.vendor_state, status.error_message) == (
        TrainingState.FAILED,
        "ERROR",
        "模型训练失败",
    )


def test_no_callback_when_callbacks_are_disabled(
    adapter: TencentGatewayAdapter,
    sandbox: TencentGatewaySandbox,
    audio: LocalAudioSource,
    receiver: Receiver,
) -> None:
    # Given callbacks switched off / When a job with a callback finishes
    sandbox.config.callback_enabled = False
    task_id = adapter.create_task(training_request(receiver.url + "/cb"), audio)
    assert sandbox.wait_settled(task_id)

    # Then training succeeded and nothing was posted
    assert adapter.get_status(task_id).state is TrainingState.SUCCEEDED
    assert receiver.received == [] and sandbox.callbacks == []


# ----- errors and faults ---------------------------------------------------------------------


@pytest.mark.parametrize("as_http_status", [True, False], ids=["http-401", "in-200-body"])
@pytest.mark.parametrize("wrong", ["secret_id", "secret_key"])
def test_wrong_credentials_are_an_auth_error_with_the_vendor_code(
    sandbox: TencentGatewaySandbox, as_http_status: bool, wrong: str
) -> None:
    # Given an adapter with one wrong credential, and errors sent with their status or inside HTTP 200
    sandbox.config.errors_as_http_status = as_http_status
    credentials = {"secret_id": DEFAULT_SECRET_ID, "secret_key": DEFAULT_SECRET_KEY, wrong: "not-it"}
    wrong_adapter = TencentGatewayAdapter(sandbox.url, credentials["secret_id"], credentials["secret_key"])

    # When it calls the gateway / Then an auth error with the gateway's code, message and request id
    with pytest.raises(VendorAuthError) as info:
        wrong_adapter.list_voices()
    assert info.value.code == "AuthFailure"
    assert "secretKey" in info.value.message
    assert info.value.details["request_id"]
    assert sandbox.tasks_created == 0


@pytest.mark.parametrize(
    ("as_http_status", "code"), [(True, "RequestLimitExceeded"), (False, "RequestLimitExceeded")]
)
def test_throttling_is_retryable_and_the_retry_succeeds(
    adapter: TencentGatewayAdapter,
    sandbox: TencentGatewaySandbox,
    audio: LocalAudioSource,
    as_http_status: bool,
    code: str,
) -> None:
    # Given the next request throttled
    sandbox.config.errors_as_http_status = as_http_status
    sandbox.config.throttle_first = 1
    request = training_request()

    # When training is started / Then throttled, retryable, and nothing was created
    with pytest.raises(VendorThrottled) as info:
        adapter.create_task(request, audio)
    assert info.value.code == code and info.value.retryable
    assert sandbox.tasks_created == 0

    # And the retry trains the model, once
    assert finished(adapter, adapter.create_task(request, audio)).state is TrainingState.SUCCEEDED
    assert sandbox.tasks_created == 1


@pytest.mark.parametrize(("as_http_status", "code"), [(True, "InternalError"), (False, "InternalError")])
def test_an_internal_error_is_retryable(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, as_http_status: bool, code: str
) -> None:
    # Given one injected server error / When listing twice / Then unavailable, then an answer
    sandbox.config.errors_as_http_status = as_http_status
    sandbox.config.internal_error_first = 1
    with pytest.raises(VendorUnavailable) as info:
        adapter.list_voices()
    assert info.value.code == code and info.value.retryable
    assert adapter.list_voices() == []


def test_a_failed_training_gives_the_reason(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given training configured to fail / When a job is trained
    sandbox.config.fail_training = "音色训练失败：音频质量不合格"
    status = finished(adapter, adapter.create_task(training_request(), audio))

    # Then FAILED with the gateway's reason, and no model
    assert (status.state, status.vendor_state) == (TrainingState.FAILED, "ERROR")
    assert (status.error_code, status.error_message) == ("TrainingFailed", "音色训练失败：音频质量不合格")
    assert status.voice is None
    assert adapter.list_voices() == []


@pytest.mark.parametrize(
    ("clip", "problem"),
    [
        (wav_bytes(seconds=12.0, amplitude=0.0), "silent"),
        (wav_bytes(seconds=3.0), "at least 10 s"),
        (wav_bytes(seconds=12.0, rate=8000), "8000 Hz"),
        (b"not a wav at all", "not a WAV"),
    ],
    ids=["silent", "too-short", "8khz", "not-wav"],
)
def test_an_unusable_assembled_file_fails_the_job_with_a_reason_naming_it(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, clip: bytes, problem: str
) -> None:
    # Given an assembled recording that cannot train a model
    bad = ClipAudio(clip)
    try:
        # When it is trained
        status = finished(adapter, adapter.create_task(training_request(), bad))
    finally:
        bad.close()

    # Then the job was created, then ended ERROR with a reason that names the problem
    assert sandbox.tasks_created == 1
    assert (status.state, status.error_code) == (TrainingState.FAILED, "InvalidAudio")
    assert problem in status.error_message


def test_an_unreachable_audio_url_fails_the_job(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox
) -> None:
    # Given an audio URL where nothing listens / When training is started
    status = finished(adapter, adapter.create_task(training_request(), Unreachable()))

    # Then the job ends ERROR saying the audio could not be downloaded
    assert (status.state, status.error_code) == (TrainingState.FAILED, "InputDownloadFailed")
    assert "could not be downloaded" in status.error_message


def test_a_lost_create_response_is_found_and_not_created_twice(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given a job never created, and the answer to its CreateJob about to be lost
    request = training_request()
    assert adapter.find_existing_task(request) is None
    sandbox.config.drop_create_response_first = 1

    # When training is started / Then the caller sees a retryable failure
    with pytest.raises(VendorUnavailable):
        adapter.create_task(request, audio)

    # And the retry finds the job the lost CreateJob made: one training job, which succeeds
    task_id = adapter.find_existing_task(request)
    assert task_id is not None and task_id in sandbox.jobs
    assert sandbox.tasks_created == 1
    assert finished(adapter, task_id).state is TrainingState.SUCCEEDED


def test_a_repeated_create_is_refused_because_the_model_name_is_taken(
    adapter: TencentGatewayAdapter, sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given a job already created / When the same job is created again without looking first
    request = training_request()
    adapter.create_task(request, audio)
    with pytest.raises(VendorRejected) as info:
        adapter.create_task(request, audio)

    # Then the gateway refuses the duplicate model name: still one training job
    assert info.value.code == "InvalidParameterValue.ModelNameExists"
    assert sandbox.tasks_created == 1


def test_model_listing_pages(sandbox: TencentGatewaySandbox, adapter: TencentGatewayAdapter) -> None:
    # Given three trained models (instant training, from an audio URL nobody checks here)
    sandbox.config.training_seconds = 0
    source = LocalAudioSource(SAMPLES, ["00001", "00002"])
    try:
        ids = [
            raw(sandbox, "/release/job", "CreateJob", training_job(f"m{n}", source.assembled_url()))
            for n in range(3)
        ]
    finally:
        source.close()
    assert all(status == 200 for status, _ in ids)
    for _, answer in ids:
        assert sandbox.wait_settled(answer["createJobResponse"]["job"]["id"])

    # When listed two at a time / Then pages by offset and limit, with the total
    _, first = raw(sandbox, "/release/music_model", "ListModels", {"offset": 0, "limit": 2})
    _, second = raw(sandbox, "/release/music_model", "ListModels", {"offset": 2, "limit": 2})
    names = [
        m["name"] for m in first["listModelsResponse"]["models"] + second["listModelsResponse"]["models"]
    ]
    assert sorted(names) == ["m0", "m1", "m2"] and len(first["listModelsResponse"]["models"]) == 2
    assert first["listModelsResponse"]["total"] == 3
    # And the adapter lists all of them
    assert sorted(v.voice_id for v in adapter.list_voices()) == ["m0", "m1", "m2"]


def test_credentials_and_audio_urls_stay_out_of_the_logs(
    adapter: TencentGatewayAdapter, audio: LocalAudioSource, caplog: pytest.LogCaptureFixture
) -> None:
    # Given every logger at DEBUG / When a job is trained and listed
    caplog.set_level(logging.DEBUG)
    finished(adapter, adapter.create_task(training_request(), audio))
    adapter.list_voices()
    # Then the secret key was logged nowhere, and the audio URL not by our code
    assert DEFAULT_SECRET_KEY not in caplog.text
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("voiceclone")]
    assert ours and not any(audio.assembled_url() in line for line in ours)


# ----- the sandbox's validations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "code"),
    [
        (training_job("has-dash"), "InvalidParameterValue"),
        (training_job("x" * 64), "InvalidParameterValue"),
        (training_job(""), "MissingParameter"),
        ({**training_job(), "inputs": [{"sourceData": "你好"}]}, "InvalidParameterValue"),
        ({**training_job(), "inputs": [{"url": "http://h/a.wav", "sourceData": "x"}]}, "InvalidParameter"),
        ({**training_job(), "inputs": []}, "MissingParameter"),
        (training_job(url="ftp://host/a.wav"), "InvalidParameterValue"),
        (training_job(customId="c" * 64), "InvalidParameterValue"),
        (training_job(callback="not a url"), "InvalidParameterValue"),
        (
            {
                **training_job(),
                "outputs": [
                    {
                        "inputSelectors": [0],
                        "smartContentDescriptor": {"voiceCloning": {"type": 1, "modelName": "default"}},
                    }
                ],
            },
            "UnsupportedOperation",
        ),
        (
            {
                **training_job(),
                "outputs": [
                    {
                        "inputSelectors": [1],
                        "smartContentDescriptor": {"voiceCloning": {"type": 2, "modelName": "ok"}},
                    }
                ],
            },
            "InvalidParameterValue",
        ),
    ],
    ids=[
        "dash-in-name",
        "64-char-name",
        "no-name",
        "text-input",
        "two-sources",
        "no-inputs",
        "ftp-url",
        "long-custom-id",
        "bad-callback",
        "generate-audio",
        "bad-selector",
    ],
)
def test_create_job_validates_its_request(
    sandbox: TencentGatewaySandbox, job: dict[str, Any], code: str
) -> None:
    # Given a createJobRequest with one bad field / When sent / Then HTTP 400 with the code, and no job
    status, answer = raw(sandbox, "/release/job", "CreateJob", job)
    assert (status, answer["error"]["code"]) == (400, code), answer
    assert sandbox.tasks_created == 0


def test_a_63_character_model_name_is_accepted(
    sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given the longest allowed model name / When a job trains it / Then it is created
    status, answer = raw(
        sandbox, "/release/job", "CreateJob", training_job("A_9" * 21, audio.assembled_url())
    )
    assert status == 200 and answer["createJobResponse"]["job"]["state"] == 1
    assert sandbox.tasks_created == 1


@pytest.mark.parametrize(
    ("path", "action", "params", "status", "code"),
    [
        ("/release/music_model", "ListModels", {"offset": 0, "limit": 101}, 400, "InvalidParameterValue"),
        ("/release/music_model", "ListModels", {"offset": 0}, 400, "MissingParameter"),
        ("/release/music_model", "GetJob", {"id": "x"}, 400, "InvalidAction"),
        ("/release/job", "ListModels", {"offset": 0, "limit": 1}, 400, "InvalidAction"),
        ("/release/job", "GetJob", {"id": "nope"}, 404, "ResourceNotFound"),
        ("/release/nothing", "GetJob", {"id": "x"}, 404, "InvalidPath"),
    ],
)
def test_actions_and_paths_are_checked(
    sandbox: TencentGatewaySandbox, path: str, action: str, params: dict[str, Any], status: int, code: str
) -> None:
    # Given a request to the wrong place or with bad paging / When sent / Then the status and code
    got, answer = raw(sandbox, path, action, params)
    assert (got, answer["error"]["code"]) == (status, code)


def test_list_jobs_finds_every_job_of_a_custom_id(
    sandbox: TencentGatewaySandbox, audio: LocalAudioSource
) -> None:
    # Given two jobs sharing a customId (the gateway does not keep them unique) and one other
    for name, cid in (("a1", "same"), ("a2", "same"), ("a3", "other")):
        assert (
            raw(
                sandbox, "/release/job", "CreateJob", training_job(name, audio.assembled_url(), customId=cid)
            )[0]
            == 200
        )

    # When listed by customId / Then both, as an array with a total
    answer = raw(sandbox, "/release/job", "ListJobs", {"customId": "same"})[1]["listJobsResponse"]
    assert answer["total"] == 2
    assert {j["customId"] for j in answer["jobs"]} == {"same"}


def test_an_unauthenticated_request_does_not_use_up_a_fault(
    sandbox: TencentGatewaySandbox, adapter: TencentGatewayAdapter
) -> None:
    # Given one throttled request armed / When a request with a wrong key comes first
    sandbox.config.throttle_first = 1
    with pytest.raises(VendorAuthError):
        TencentGatewayAdapter(sandbox.url, DEFAULT_SECRET_ID, "wrong").list_voices()
    # Then the throttle still applies to the next authenticated request
    with pytest.raises(VendorThrottled):
        adapter.list_voices()


def test_stop_before_start_releases_the_port() -> None:
    # Given a sandbox never started / When stopped (twice) / Then it returns
    sandbox = TencentGatewaySandbox()
    sandbox.stop()
    sandbox.stop()


def test_the_config_does_not_show_the_key() -> None:
    assert DEFAULT_SECRET_KEY not in repr(TencentGatewaySandboxConfig(secret_key=DEFAULT_SECRET_KEY))
