"""The Tencent VRS adapter against recorded vendor responses (no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Gender, Language
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState
from voiceclone.vendors.signing import tc3
from voiceclone.vendors.tencent_vrs import TencentVrsAdapter

from tests.unit.conftest import Recorder

SECRET_ID, SECRET_KEY = "AKIDtest", "test-key"


class NoAudio:
    """Tencent VRS never needs the audio at create time: reading it is a bug."""

    def sentence_audio(self, text_id: str) -> bytes:
        raise AssertionError("read")

    def assembled_wav(self) -> bytes:
        raise AssertionError("read")

    def assembled_url(self) -> str:
        raise AssertionError("read")


NO_AUDIO = NoAudio()


def ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"Response": {"Data": data, "RequestId": "req-1"}}


def err(code: str, message: str = "boom") -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "req-2"}}


def adapter_with(
    answer: Callable[[str, dict[str, Any]], tuple[int, Any]],
) -> tuple[TencentVrsAdapter, Recorder]:
    """The adapter, answered by ``answer(action, body)`` through the shared recording transport."""
    recorder = Recorder(lambda request: answer(request.headers["X-TC-Action"], json.loads(request.content)))
    adapter = TencentVrsAdapter(
        "https://vrs.tencentcloudapi.com", SECRET_ID, SECRET_KEY, transport=recorder.transport
    )
    return adapter, recorder


def test_requests_use_the_sdk_action_names_and_a_valid_tc3_signature() -> None:
    # Given a vendor that lists its sentences
    texts = [{"TextId": "00001", "Text": "在很久很久以前"}]
    adapter, recorder = adapter_with(lambda action, body: (200, ok({"TrainingTextList": texts})))
    # When the adapter asks for them
    result = adapter.training_texts()
    # Then the request names the official action, signs the bytes it sent, and the texts are parsed
    request = recorder.requests[0]
    assert request.headers["X-TC-Action"] == "GetTrainingText"
    assert request.headers["X-TC-Version"] == "2020-08-24"
    assert request.headers["Host"] == "vrs.tencentcloudapi.com"
    parsed = tc3.parse_authorization(request.headers["Authorization"])
    assert parsed is not None and parsed.secret_id == SECRET_ID and parsed.service == "vrs"
    expected = tc3.signature(
        secret_key=SECRET_KEY,
        service="vrs",
        timestamp=int(request.headers["X-TC-Timestamp"]),
        host="vrs.tencentcloudapi.com",
        body=request.content,
    )
    assert parsed.signature == expected
    assert [(t.text_id, t.text) for t in result] == [("00001", "在很久很久以前")]


def test_a_passed_check_keeps_the_audio_id() -> None:
    adapter, recorder = adapter_with(
        lambda action, body: (200, ok({"AudioId": "audio123", "DetectionCode": 0, "DetectionMsg": "Success"}))
    )
    verdict = adapter.check_sentence("00001", b"RIFF....WAVE")
    assert verdict.passed and verdict.vendor_audio_id == "audio123"
    sent = json.loads(recorder.requests[0].content)
    assert recorder.requests[0].headers["X-TC-Action"] == "DetectEnvAndSoundQuality"
    assert sent["TypeId"] == 2 and sent["TextId"] == "00001" and sent["Codec"] == "wav"


def test_a_failed_check_gives_the_reason_and_the_words() -> None:
    tips = [{"Word": "鸟", "Tag": 2, "PronAccuracy": 0, "PronFluency": 0}, {"Word": "在", "Tag": 0}]
    adapter, _ = adapter_with(
        lambda action, body: (
            200,
            ok({"AudioId": "", "DetectionCode": -2, "DetectionMsg": "少读", "DetectionTip": tips}),
        )
    )
    verdict = adapter.check_sentence("00001", b"x")
    assert not verdict.passed
    assert verdict.code == "DetectionCode-2"
    assert "read the sentence exactly" in verdict.message
    assert verdict.tips == ["鸟: missing"]


def test_a_too_long_recording_is_a_sentence_rejection_not_a_job_failure() -> None:
    adapter, _ = adapter_with(
        lambda a, b: (200, err("InvalidParameterValue.AudioDurationExceedsLimit", "too long"))
    )
    verdict = adapter.check_sentence("00001", b"x")
    assert not verdict.passed and verdict.code == "InvalidParameterValue.AudioDurationExceedsLimit"
    assert "longer than 15 s" in verdict.message


def test_detection_failure_is_retryable() -> None:
    adapter, _ = adapter_with(lambda a, b: (200, ok({"DetectionCode": -1, "DetectionMsg": "retry"})))
    with pytest.raises(VendorUnavailable):
        adapter.check_sentence("00001", b"x")


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code"),
    [
        (200, err("RequestLimitExceeded"), VendorThrottled, "RequestLimitExceeded"),
        (200, err("InternalError.FailAccessDatabase"), VendorUnavailable, "InternalError.FailAccessDatabase"),
        (200, err("AuthFailure.SignatureFailure"), VendorAuthError, "AuthFailure.SignatureFailure"),
        (200, err("AuthFailure.SecretIdNotFound"), VendorAuthError, "AuthFailure.SecretIdNotFound"),
        (
            200,
            err("UnsupportedOperation.VRSQuotaExhausted"),
            VendorRejected,
            "UnsupportedOperation.VRSQuotaExhausted",
        ),
        (502, "bad gateway", VendorUnavailable, "HTTP502"),
        (429, "slow down", VendorThrottled, "HTTP429"),
        (200, "<html>not the api</html>", VendorUnavailable, "HTTP200"),
    ],
)
def test_errors_map_to_the_taxonomy_with_the_vendor_code(
    status: int, body: Any, error_type: type[Exception], code: str
) -> None:
    adapter, _ = adapter_with(lambda a, b: (status, body))
    with pytest.raises(error_type) as info:
        adapter.get_status("task-1")
    assert info.value.code == code  # type: ignore[attr-defined]
    assert json.loads(str(info.value))["code"] == code


def test_network_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter = TencentVrsAdapter(
        "https://vrs.tencentcloudapi.com", SECRET_ID, SECRET_KEY, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(VendorUnavailable):
        adapter.get_status("task-1")


def test_create_task_sends_audio_ids_session_and_callback() -> None:
    adapter, recorder = adapter_with(lambda a, b: (200, ok({"TaskId": "task-9"})))
    request = TrainingRequest(
        job_id="j1",
        session_id="s1",
        voice_name="demo",
        gender=Gender.FEMALE,
        language=Language.ZH_CN,
        sentences=[CheckedSentence(text_id="00001", s3_key="k", vendor_audio_id="audioA")],
        callback_url="https://api.example/v1/callbacks/tencent_vrs/j1?token=t",
    )
    assert adapter.create_task(request, NO_AUDIO) == "task-9"  # the AudioIds stand for the audio
    sent = json.loads(recorder.requests[0].content)
    assert recorder.requests[0].headers["X-TC-Action"] == "CreateVRSTask"
    assert sent["AudioIdList"] == ["audioA"] and sent["SessionId"] == "s1"
    assert sent["VoiceGender"] == 2 and sent["VoiceLanguage"] == 1 and sent["CallbackUrl"].endswith("token=t")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (0, TrainingState.PENDING),
        (1, TrainingState.RUNNING),
        (2, TrainingState.SUCCEEDED),
        (3, TrainingState.FAILED),
    ],
)
def test_status_enum(status: int, state: TrainingState) -> None:
    data = {
        "TaskId": "t",
        "Status": status,
        "StatusStr": "x",
        "VoiceType": 100001 if status == 2 else 0,
        "ErrorMsg": "bad audio" if status == 3 else "",
    }
    adapter, recorder = adapter_with(lambda a, b: (200, ok(data)))
    result = adapter.get_status("t")
    assert recorder.requests[0].headers["X-TC-Action"] == "DescribeVRSTaskStatus"
    assert result.state is state
    if state is TrainingState.SUCCEEDED:
        assert result.voice is not None and result.voice.details == {"VoiceType": 100001}
    if state is TrainingState.FAILED:
        assert result.error_message == "bad audio"


def test_callback_body_is_parsed_and_bad_bodies_are_rejected() -> None:
    adapter, _ = adapter_with(lambda a, b: (200, ok({})))
    body = json.dumps(
        {"TaskId": "t", "Status": 2, "StatusStr": "success", "VoiceType": 100002, "ErrorMsg": ""}
    )
    status = adapter.parse_callback(body.encode())
    assert status.task_id == "t" and status.state is TrainingState.SUCCEEDED
    for bad in (b"not json", b"[]", b"{}"):
        with pytest.raises(VendorRejected):
            adapter.parse_callback(bad)
