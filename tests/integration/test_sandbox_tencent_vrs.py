"""The Tencent VRS sandbox over HTTP: TC3 checks, real audio checks, training, callbacks, fault knobs."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
import uuid
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from voiceclone.vendors.signing import tc3
from voiceclone_local.sandboxes.tencent_vrs import (
    TRAINING_TEXTS,
    TencentVrsSandbox,
    TencentVrsSandboxConfig,
)

from tests.helpers import wait_for

SECRET_ID = "AKIDintegrationtest000000000000000"
SECRET_KEY = "integration-test-key"
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


# ----- a minimal signing client (deliberately not the adapter) ---------------------------------------


class Vrs:
    """Signs and posts one action at a time, with knobs to break each part of the signature."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=10.0)
        # The Host httpx sends, port included: what Tencent's SDK signs too.
        self.host = httpx.URL(url).netloc.decode()

    def call(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        secret_id: str = SECRET_ID,
        secret_key: str = SECRET_KEY,
        timestamp: int | None = None,
        version: str = "2020-08-24",
        host_header: str | None = None,
        signed_host: str | None = None,
        authorization: str | None = None,
        send_body: bytes | None = None,
    ) -> dict[str, Any]:
        body = json.dumps(params or {}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        ts = int(time.time()) if timestamp is None else timestamp
        signed_host = signed_host or host_header or self.host
        sig = tc3.signature(secret_key=secret_key, service="vrs", timestamp=ts, host=signed_host, body=body)
        headers = {
            "Content-Type": "application/json",
            "X-TC-Action": action,
            "X-TC-Version": version,
            "X-TC-Timestamp": str(ts),
            "Authorization": authorization
            or tc3.authorization(secret_id=secret_id, service="vrs", timestamp=ts, sig=sig),
        }
        if host_header:
            headers["Host"] = host_header
        response = self.http.post("/", content=body if send_body is None else send_body, headers=headers)
        # Tencent answers everything, errors included, with HTTP 200 and a RequestId.
        assert response.status_code == 200
        envelope: dict[str, Any] = response.json()["Response"]
        assert envelope["RequestId"]
        return envelope

    def data(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        envelope = self.call(action, params)
        assert "Error" not in envelope, envelope
        result: dict[str, Any] = envelope["Data"]
        return result

    def error_code(self, action: str, params: dict[str, Any] | None = None, **kwargs: Any) -> str:
        envelope = self.call(action, params, **kwargs)
        assert "Data" not in envelope
        return str(envelope["Error"]["Code"])

    def check(self, text_id: str, audio: bytes, type_id: int = 2, **extra: Any) -> dict[str, Any]:
        params = {
            "TextId": text_id,
            "AudioData": base64.b64encode(audio).decode(),
            "TypeId": type_id,
            "Codec": "wav",
            "SampleRate": 16000,
            **extra,
        }
        return self.call("DetectEnvAndSoundQuality", params)

    def issued_audio_ids(self, count: int = 20) -> list[str]:
        ids = []
        for text_id, _ in TRAINING_TEXTS[:count]:
            envelope = self.check(text_id, sample(text_id))
            ids.append(envelope["Data"]["AudioId"])
        return ids

    def create_task(self, audio_ids: list[str], **extra: Any) -> dict[str, Any]:
        params = {
            "SessionId": uuid.uuid4().hex,
            "VoiceName": "测试",
            "VoiceGender": 2,
            "VoiceLanguage": 1,
            "SampleRate": 16000,
            "Codec": "wav",
            "AudioIdList": audio_ids,
            **extra,
        }
        return self.call("CreateVRSTask", params)

    def status(self, task_id: str) -> dict[str, Any]:
        return self.data("DescribeVRSTaskStatus", {"TaskId": task_id})


def sample(text_id: str) -> bytes:
    return (SAMPLES / f"{text_id}.wav").read_bytes()


def tone_wav(seconds: float, amplitude: float = 0.3, rate: int = 16000) -> bytes:
    step = 2 * math.pi * 220 / rate
    frames = b"".join(
        int(amplitude * 32767 * math.sin(step * i)).to_bytes(2, "little", signed=True)
        for i in range(int(seconds * rate))
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return buf.getvalue()


# ----- a callback receiver -------------------------------------------------------------


class Receiver:
    """A tiny HTTP server that records POSTs and answers with the next status from a script (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.statuses = list(statuses or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append((self.path, json.loads(body)))
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----- fixtures -------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[TencentVrsSandbox]:
    config = TencentVrsSandboxConfig(
        secret_id=SECRET_ID, secret_key=SECRET_KEY, training_seconds=0.3, callback_retry_seconds=0.05
    )
    with TencentVrsSandbox(config) as running:
        yield running


@pytest.fixture
def vrs(sandbox: TencentVrsSandbox) -> Iterator[Vrs]:
    client = Vrs(sandbox.url)
    yield client
    client.http.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


# ----- training texts and signatures -------------------------------------------------------------


def test_get_training_text_returns_the_twenty_seed_sentences(vrs: Vrs) -> None:
    # Given a running sandbox / When the texts are requested
    data = vrs.data("GetTrainingText")

    # Then the 20 sentences come back in order, as the module constant has them
    texts = [(t["TextId"], t["Text"]) for t in data["TrainingTextList"]]
    assert texts == TRAINING_TEXTS
    assert [t[0] for t in texts] == [f"{i:05d}" for i in range(1, 21)]
    assert texts[0][1] == "在很久很久以前 鸟群中有一只小鸟"
    assert texts[-1][1] == "后来人们也用百鸟朝凤来比喻德高望重者众望所归"


def test_a_host_header_with_a_port_is_signed_with_it(vrs: Vrs) -> None:
    # Given a request whose Host carries the sandbox's port, signed as sent (as Tencent's SDK does; the
    # sandbox answers loopback Hosts only)
    envelope = vrs.call("GetTrainingText", host_header=f"localhost:{vrs.http.base_url.port}")

    # Then it is accepted
    assert "Data" in envelope, envelope


def test_a_host_signed_without_the_port_it_was_sent_with_fails(vrs: Vrs) -> None:
    # Given a request sent to host:port but signed for the bare host / When sent / Then the signature fails
    bare = vrs.host.split(":")[0]
    assert vrs.error_code("GetTrainingText", signed_host=bare) == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"secret_key": "not-the-key"}, "AuthFailure.SignatureFailure"),
        ({"send_body": b'{"TaskType":0}'}, "AuthFailure.SignatureFailure"),  # body changed after signing
        ({"secret_id": "AKIDnobody"}, "AuthFailure.SecretIdNotFound"),
        ({"clock_offset": -400}, "AuthFailure.SignatureExpire"),
        ({"clock_offset": 400}, "AuthFailure.SignatureExpire"),
        ({"authorization": "Bearer abc"}, "AuthFailure.InvalidAuthorization"),
        ({"version": "2019-08-23"}, "NoSuchVersion"),
    ],
    ids=["wrong-key", "tampered-body", "unknown-id", "expired", "future", "malformed", "bad-version"],
)
def test_authentication_failures_have_tencents_codes(vrs: Vrs, kwargs: dict[str, Any], code: str) -> None:
    # Given a request broken in one way / When sent / Then Tencent's error code comes back (HTTP 200)
    kwargs = dict(kwargs)
    if "clock_offset" in kwargs:  # the clock is read when the test runs, not when it is collected
        kwargs["timestamp"] = int(time.time()) + kwargs.pop("clock_offset")
    assert vrs.error_code("GetTrainingText", **kwargs) == code


def test_a_timestamp_within_five_minutes_is_accepted(vrs: Vrs) -> None:
    # Given a client clock 4 minutes behind / When it signs / Then the request passes
    assert "Data" in vrs.call("GetTrainingText", timestamp=int(time.time()) - 240)


@pytest.mark.parametrize("action", ["GetVrsTrainingText", "DetectionEnvAndSoundQuality", "DeleteVoice"])
def test_unknown_actions_are_invalid(vrs: Vrs, action: str) -> None:
    # Given a correctly signed request for an action the API lacks
    # (incl. the misspellings in docs/vendors/tencent_vrs.md#where-other-descriptions-of-the-api-differ)
    # When sent / Then InvalidAction
    assert vrs.error_code(action) == "InvalidAction"


@pytest.mark.parametrize("action", ["GetVrsTrainingText", "GetTrainingText"])
def test_a_wrong_key_is_refused_before_the_action_is_looked_up(vrs: Vrs, action: str) -> None:
    # Given a wrong key, on an action that does not exist and on one that does
    # When sent / Then both say the signature failed: the caller learns nothing about the API
    assert vrs.error_code(action, secret_key="not-the-key") == "AuthFailure.SignatureFailure"


def test_requests_are_counted_by_action(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given two calls / When they are served / Then each action is counted
    vrs.call("GetTrainingText")
    vrs.call("GetVRSVoiceTypes")
    assert sandbox.requests_by_action == {"GetTrainingText": 1, "GetVRSVoiceTypes": 1}


# ----- quality checks -------------------------------------------------------------


def test_a_good_recording_gets_an_audio_id(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given the generated reading of sentence 00001 / When quality-checked (TypeId 2)
    data = vrs.check("00001", sample("00001"))["Data"]

    # Then it passes with a fresh AudioId that the sandbox remembers with its TextId
    assert data["DetectionCode"] == 0
    assert data["DetectionMsg"] == "Success"
    assert data["DetectionTip"] == []
    assert data["AudioId"].startswith("audio") and len(data["AudioId"]) == 5 + 32
    assert sandbox.audio_ids[data["AudioId"]] == "00001"


def test_an_environment_check_issues_no_audio_id(vrs: Vrs) -> None:
    # Given a good recording / When checked with TypeId 1 / Then it passes without an AudioId
    data = vrs.check("00002", sample("00002"), type_id=1)["Data"]
    assert (data["DetectionCode"], data["AudioId"]) == (0, "")


def test_a_silent_recording_is_not_passed_with_every_word_missing(vrs: Vrs) -> None:
    # Given 3 s of near silence for sentence 00014
    data = vrs.check("00014", tone_wav(3.0, amplitude=0.0005))["Data"]

    # Then DetectionCode -2, no AudioId, and one Tag-2 (missing) tip per character of the text
    assert data["DetectionCode"] == -2
    assert data["AudioId"] == ""
    assert "silent" in data["DetectionMsg"]
    text = dict(TRAINING_TEXTS)["00014"]
    assert [w["Word"] for w in data["DetectionTip"]] == [c for c in text if c != " "]
    assert {w["Tag"] for w in data["DetectionTip"]} == {2}
    assert all({"PronAccuracy", "PronFluency"} <= w.keys() for w in data["DetectionTip"])


def test_a_too_short_recording_is_not_passed(vrs: Vrs) -> None:
    # Given half a second of tone / When checked / Then -2 (words missing)
    assert vrs.check("00001", tone_wav(0.5))["Data"]["DetectionCode"] == -2


def test_a_clipped_recording_is_too_noisy(vrs: Vrs) -> None:
    # Given a tone driven far past full scale (clipped flat)
    pcm = b"".join(
        max(-32768, min(32767, int(3 * 32767 * math.sin(2 * math.pi * 220 * i / 16000)))).to_bytes(
            2, "little", signed=True
        )
        for i in range(32000)
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)

    # When checked / Then DetectionCode -3
    data = vrs.check("00001", buf.getvalue())["Data"]
    assert (data["DetectionCode"], data["AudioId"]) == (-3, "")


@pytest.mark.parametrize(
    ("audio", "extra", "code"),
    [
        (tone_wav(20.0), {}, "InvalidParameterValue.AudioDurationExceedsLimit"),
        (tone_wav(2.0, rate=8000), {}, "InvalidParameterValue.SampleRate"),
        (b"definitely not a wav", {}, "InvalidParameterValue.AudioData"),
        (tone_wav(2.0)[:5000], {}, "InvalidParameterValue.AudioData"),  # cut-off upload
        (b"", {}, "InvalidParameterValue.AudioData"),
        (tone_wav(2.0), {"Codec": "mp3"}, "InvalidParameterValue.Codec"),
        (tone_wav(2.0), {"SampleRate": 24000}, "InvalidParameterValue.SampleRate"),
        (tone_wav(2.0), {"TextId": "00021"}, "InvalidParameterValue"),
        (tone_wav(2.0), {"TypeId": 3}, "InvalidParameterValue"),
    ],
    ids=["too-long", "8khz", "not-wav", "truncated", "empty", "mp3", "24k", "bad-text", "bad-type"],
)
def test_unusable_audio_and_parameters_are_errors(
    vrs: Vrs, audio: bytes, extra: dict[str, Any], code: str
) -> None:
    # Given audio or parameters the API refuses / When checked / Then Tencent's error code
    envelope = vrs.check("00001", audio, **extra)
    assert envelope.get("Error", {}).get("Code") == code, envelope


def test_bad_base64_is_an_audio_data_error(vrs: Vrs) -> None:
    # Given AudioData that is not base64 / When checked / Then InvalidParameterValue.AudioData
    params = {"TextId": "00001", "AudioData": "%%% not base64 %%%", "TypeId": 2}
    assert vrs.error_code("DetectEnvAndSoundQuality", params) == "InvalidParameterValue.AudioData"


def test_twenty_checks_are_served_concurrently(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given a vendor that takes 200 ms per check
    sandbox.config.check_latency_ms = 200
    audio = {text_id: sample(text_id) for text_id, _ in TRAINING_TEXTS}

    # When the 20 sentences are checked at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda tid: vrs.check(tid, audio[tid]), audio))

    # Then all pass, and the sandbox served them side by side rather than one after another
    assert all(r["Data"]["DetectionCode"] == 0 for r in results)
    assert sandbox.max_concurrent_checks > 1


# ----- training -------------------------------------------------------------


def test_create_task_rejects_audio_ids_it_never_issued(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given one issued AudioId and two made up
    issued = vrs.issued_audio_ids(1)

    # When a task is created with them
    envelope = vrs.create_task([*issued, "audioforged1", "audioforged2"])

    # Then InvalidParameter naming the unknown ids (and not the issued one), and no task exists
    assert envelope["Error"]["Code"] == "InvalidParameter"
    assert "audioforged1" in envelope["Error"]["Message"] and "audioforged2" in envelope["Error"]["Message"]
    assert issued[0] not in envelope["Error"]["Message"]
    assert sandbox.tasks_created == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"AudioIdList": []}, "InvalidParameter"),
        ({"VoiceGender": 3}, "InvalidParameterValue.VoiceGender"),
        ({"VoiceLanguage": 2}, "InvalidParameterValue.VoiceLanguage"),
        ({"VoiceName": ""}, "InvalidParameterValue.VoiceName"),
        ({"SessionId": None}, "MissingParameter"),
    ],
)
def test_create_task_validates_its_parameters(vrs: Vrs, extra: dict[str, Any], code: str) -> None:
    # Given a task request with one bad field / When sent / Then the matching error
    issued = vrs.issued_audio_ids(1)
    assert vrs.create_task(issued, **extra)["Error"]["Code"] == code


def test_a_task_goes_waiting_doing_success_and_is_listed(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given 20 passed checks and a 1 s training (0.2 s of it waiting in the queue)
    audio_ids = vrs.issued_audio_ids()
    sandbox.config.training_seconds = 1.0

    # When a task is created
    task_id = vrs.create_task(audio_ids)["Data"]["TaskId"]

    # Then it was created once and moves waiting -> doing -> success, with a VoiceType only at the end
    assert sandbox.tasks_created == 1
    first = vrs.status(task_id)
    assert (first["Status"], first["StatusStr"], first["VoiceType"]) == (0, "waiting", 0)
    doing = wait_for(lambda: (s := vrs.status(task_id))["Status"] == 1 and s, timeout=2, interval=0.05)
    assert (doing["StatusStr"], doing["VoiceType"]) == ("doing", 0)
    final = wait_for(lambda: (s := vrs.status(task_id))["Status"] == 2 and s, timeout=5, interval=0.05)
    assert final["StatusStr"] == "success"
    assert final["VoiceType"] >= 100000
    assert final["ErrorMsg"] == ""
    # And the voice is listed, Tencent style
    voices = vrs.data("GetVRSVoiceTypes")["VoiceTypeList"]
    assert len(voices) == 1
    voice = voices[0]
    assert (voice["VoiceType"], voice["TaskID"], voice["VoiceName"]) == (final["VoiceType"], task_id, "测试")
    assert (voice["VoiceGender"], voice["TaskType"], voice["IsDeployed"]) == (2, 1, True)
    assert voice["DateCreated"].endswith("+08:00")
    assert datetime.fromisoformat(voice["DateCreated"]).utcoffset() is not None
    # And it stays created once: describing and listing created nothing
    assert sandbox.tasks_created == 1


def test_voice_types_are_distinct_and_count_from_100000(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given instant training / When two tasks are created
    sandbox.config.training_seconds = 0
    ids = vrs.issued_audio_ids(1)
    tasks = [vrs.create_task(ids)["Data"]["TaskId"] for _ in range(2)]

    # Then they get VoiceTypes 100000 and 100001
    assert sorted(vrs.status(t)["VoiceType"] for t in tasks) == [100000, 100001]
    assert sandbox.tasks_created == 2


def test_a_repeated_session_id_returns_the_same_task(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given a create whose answer the client never saw
    ids = vrs.issued_audio_ids(1)
    first = vrs.create_task(ids, SessionId="job-42")["Data"]["TaskId"]
    # When the client sends the same request again
    again = vrs.create_task(ids, SessionId="job-42")["Data"]["TaskId"]
    # Then it is recognised by its SessionId: one task, not two
    assert again == first and sandbox.tasks_created == 1


def test_an_unknown_task_is_no_such_task(vrs: Vrs) -> None:
    # Given a TaskId nobody created / When described / Then FailedOperation.NoSuchTask
    assert vrs.error_code("DescribeVRSTaskStatus", {"TaskId": "nope"}) == "FailedOperation.NoSuchTask"


def test_fail_training_ends_in_status_3_with_the_message(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given training configured to fail
    sandbox.config.fail_training = "音频质量不合格"

    # When a task is created and trained
    task_id = vrs.create_task(vrs.issued_audio_ids(2))["Data"]["TaskId"]
    final = wait_for(lambda: (s := vrs.status(task_id))["Status"] >= 2 and s, timeout=5, what="done")

    # Then it failed with the configured message and no voice
    assert (final["Status"], final["StatusStr"]) == (3, "failed")
    assert final["ErrorMsg"] == "音频质量不合格"
    assert final["VoiceType"] == 0
    assert vrs.data("GetVRSVoiceTypes")["VoiceTypeList"] == []


# ----- callbacks -------------------------------------------------------------


def test_the_result_is_posted_to_the_callback_url(
    vrs: Vrs, sandbox: TencentVrsSandbox, receiver: Receiver
) -> None:
    # Given a task with a CallbackUrl carrying a token
    url = f"{receiver.url}/v1/callbacks/tencent_vrs/job-1?token=s3cret"
    task_id = vrs.create_task(vrs.issued_audio_ids(1), CallbackUrl=url)["Data"]["TaskId"]

    # When training finishes
    assert sandbox.wait_settled(task_id, timeout=5)

    # Then one POST arrived with the status fields, at the full URL
    assert len(receiver.received) == 1
    path, body = receiver.received[0]
    assert path == "/v1/callbacks/tencent_vrs/job-1?token=s3cret"
    assert body == vrs.status(task_id)
    assert body["Status"] == 2 and body["StatusStr"] == "success"
    # And the sandbox recorded the attempt without the token
    assert [(c.url, c.status_code) for c in sandbox.callbacks] == [
        (f"{receiver.url}/v1/callbacks/tencent_vrs/job-1", 200)
    ]


def test_a_failed_training_is_posted_too(vrs: Vrs, sandbox: TencentVrsSandbox, receiver: Receiver) -> None:
    # Given training that fails / When a task with a callback finishes
    sandbox.config.fail_training = "bad audio"
    task_id = vrs.create_task(vrs.issued_audio_ids(1), CallbackUrl=receiver.url + "/cb")["Data"]["TaskId"]
    assert sandbox.wait_settled(task_id, timeout=5)

    # Then the callback says failed, with the message
    _, body = receiver.received[0]
    assert (body["Status"], body["StatusStr"], body["ErrorMsg"]) == (3, "failed", "bad audio")


def test_no_callback_when_callbacks_are_disabled(
    vrs: Vrs, sandbox: TencentVrsSandbox, receiver: Receiver
) -> None:
    # Given callbacks switched off
    sandbox.config.callback_enabled = False

    # When a task with a CallbackUrl finishes
    task_id = vrs.create_task(vrs.issued_audio_ids(1), CallbackUrl=receiver.url + "/cb")["Data"]["TaskId"]
    assert sandbox.wait_settled(task_id, timeout=5)

    # Then training succeeded but nothing was posted
    assert vrs.status(task_id)["Status"] == 2
    assert receiver.received == []
    assert sandbox.callbacks == []


def test_a_refused_callback_is_retried(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given a receiver that answers 500, then 503, then 200
    flaky = Receiver(statuses=[500, 503])
    try:
        # When a task with a callback to it finishes
        task_id = vrs.create_task(vrs.issued_audio_ids(1), CallbackUrl=flaky.url + "/cb")["Data"]["TaskId"]
        assert sandbox.wait_settled(task_id, timeout=5)

        # Then three attempts were made, the last one accepted
        assert [c.status_code for c in sandbox.callbacks] == [500, 503, 200]
        assert len(flaky.received) == 3
    finally:
        flaky.close()


def test_an_unreachable_callback_gives_up_after_three_attempts(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given a CallbackUrl where nothing listens
    gone = Receiver()
    dead_url = gone.url + "/cb"
    gone.close()

    # When a task with it finishes
    task_id = vrs.create_task(vrs.issued_audio_ids(1), CallbackUrl=dead_url)["Data"]["TaskId"]
    assert sandbox.wait_settled(task_id, timeout=5)

    # Then exactly three attempts were recorded, all connection errors
    assert [(c.attempt, c.status_code) for c in sandbox.callbacks] == [(1, None), (2, None), (3, None)]
    assert all(c.error for c in sandbox.callbacks)


# ----- fault injection -------------------------------------------------------------


def test_throttle_first_answers_request_limit_exceeded_then_recovers(
    vrs: Vrs, sandbox: TencentVrsSandbox
) -> None:
    # Given the next two requests are throttled
    sandbox.config.throttle_first = 2

    # When three requests are made
    codes = [vrs.call("GetTrainingText").get("Error", {}).get("Code") for _ in range(3)]

    # Then two RequestLimitExceeded, then success
    assert codes == ["RequestLimitExceeded", "RequestLimitExceeded", None]
    # And it can be armed again
    sandbox.config.throttle_first = 1
    assert vrs.error_code("GetVRSVoiceTypes") == "RequestLimitExceeded"
    assert "Data" in vrs.call("GetVRSVoiceTypes")


def test_internal_error_first_answers_internal_error(vrs: Vrs, sandbox: TencentVrsSandbox) -> None:
    # Given one injected internal error / When two requests are made / Then InternalError, then success
    sandbox.config.internal_error_first = 1
    assert vrs.error_code("GetTrainingText") == "InternalError"
    assert "Data" in vrs.call("GetTrainingText")


def test_an_unauthenticated_request_does_not_use_up_the_throttle(
    vrs: Vrs, sandbox: TencentVrsSandbox
) -> None:
    # Given one throttled request armed
    sandbox.config.throttle_first = 1

    # When a badly signed request comes first / Then it is an auth failure and the throttle is still armed
    assert vrs.error_code("GetTrainingText", secret_key="wrong") == "AuthFailure.SignatureFailure"
    assert vrs.error_code("GetTrainingText") == "RequestLimitExceeded"
