"""Each adapter's synthesize against recorded vendor responses: the exact request, the audio, the errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import VendorVoice
from voiceclone.vendors.signing import tc3
from voiceclone.vendors.speech import SynthesisRequest
from voiceclone.vendors.tencent_vrs import DEFAULT_TTS_ENDPOINT, TencentVrsAdapter, tencent_speed
from voiceclone.vendors.volcengine import VolcengineAdapter

from tests.unit.conftest import Recorder, offline_adapter, respond

AUDIO = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40  # what the vendor sent, passed through as is
AUDIO_B64 = base64.b64encode(AUDIO).decode()


def request(**fields: Any) -> SynthesisRequest:
    return SynthesisRequest(**{"text": "你好，世界。", "format": "wav", "sample_rate": 16000, **fields})


# ----- Tencent VRS: TextToVoice ------------------------------------------------------------------------


def tencent(answer: Any) -> tuple[TencentVrsAdapter, Recorder]:
    recorder = Recorder(answer)
    adapter = TencentVrsAdapter(
        "https://vrs.tencentcloudapi.com", "AKIDtest", "test-key", transport=recorder.transport
    )
    return adapter, recorder


def tts_ok(request: httpx.Request) -> httpx.Response:
    session = json.loads(request.content)["SessionId"]
    return respond(200, {"Response": {"Audio": AUDIO_B64, "SessionId": session, "RequestId": "tts-req-1"}})


def tts_error(code: str, message: str = "no") -> httpx.Response:
    return respond(200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "tts-req-2"}})


def test_tencent_speaks_with_text_to_voice_on_the_tts_host_signed_for_service_tts() -> None:
    # Given a trained voice (VoiceType 100001)
    adapter, recorder = tencent(tts_ok)
    voice = adapter.voice("100001", VoiceType=100001)
    # When it speaks
    result = adapter.synthesize(voice, request(format="mp3", speed=1.2))
    # Then one TextToVoice went to tts.tencentcloudapi.com, TC3-signed for "tts", version 2019-08-23
    sent = recorder.requests[0]
    assert str(sent.url) == DEFAULT_TTS_ENDPOINT + "/"
    assert sent.headers["X-TC-Action"] == "TextToVoice" and sent.headers["X-TC-Version"] == "2019-08-23"
    assert sent.headers["Host"] == "tts.tencentcloudapi.com"
    parsed = tc3.parse_authorization(sent.headers["Authorization"])
    assert parsed is not None and parsed.service == "tts" and parsed.secret_id == "AKIDtest"
    assert parsed.signature == tc3.signature(
        secret_key="test-key",
        service="tts",
        timestamp=int(sent.headers["X-TC-Timestamp"]),
        host="tts.tencentcloudapi.com",
        body=sent.content,
    )
    body = json.loads(sent.content)
    assert body == {
        "Text": "你好，世界。",
        "SessionId": body["SessionId"],
        "VoiceType": 100001,
        "Codec": "mp3",
        "SampleRate": 16000,
        "Speed": 1.0,
    }
    assert len(body["SessionId"]) >= 32
    # And the audio is the vendor's, with its request id
    assert result.audio == AUDIO and result.format == "mp3" and result.sample_rate == 16000
    assert result.request_id == "tts-req-1"


def test_a_one_sentence_voice_is_spoken_by_its_fast_voice_type() -> None:
    adapter, recorder = tencent(tts_ok)
    voice = adapter.voice("200000000", VoiceType=200000000, FastVoiceType="WCHN-abc")
    adapter.synthesize(voice, request())
    body = json.loads(recorder.requests[0].content)
    assert body["VoiceType"] == 200000000 and body["FastVoiceType"] == "WCHN-abc"


def test_the_tts_endpoint_is_a_setting(clean_vendor_env: pytest.MonkeyPatch) -> None:
    # Given Tencent's own VRS API: TextToVoice goes to Tencent's TTS host
    clean_vendor_env.setenv("VOICECLONE_TENCENT_VRS_SECRET_ID", "id")
    clean_vendor_env.setenv("VOICECLONE_TENCENT_VRS_SECRET_KEY", "key")
    assert TencentVrsAdapter.from_environment().tts_endpoint == DEFAULT_TTS_ENDPOINT
    clean_vendor_env.setenv("VOICECLONE_TENCENT_VRS_ENDPOINT", "https://vrs.ap-guangzhou.tencentcloudapi.com")
    assert TencentVrsAdapter.from_environment().tts_endpoint == DEFAULT_TTS_ENDPOINT
    # A sandbox or proxy in front of VRS serves TextToVoice too, unless the setting says where
    clean_vendor_env.setenv("VOICECLONE_TENCENT_VRS_ENDPOINT", "http://127.0.0.1:8/")
    assert TencentVrsAdapter.from_environment().tts_endpoint == "http://127.0.0.1:8"
    clean_vendor_env.setenv("VOICECLONE_TENCENT_VRS_TTS_ENDPOINT", "http://127.0.0.1:9/")
    assert TencentVrsAdapter.from_environment().tts_endpoint == "http://127.0.0.1:9"
    assert "tts_endpoint" in TencentVrsAdapter.settings_fields()


@pytest.mark.parametrize(
    ("factor", "speed"),
    [(0.6, -2.0), (0.7, -1.5), (1.0, 0.0), (1.1, 0.5), (1.2, 1.0), (1.5, 2.0), (2.0, 4.0), (2.5, 6.0)],
)
def test_speed_factors_map_onto_tencents_scale(factor: float, speed: float) -> None:
    assert tencent_speed(factor) == pytest.approx(speed)


@pytest.mark.parametrize("factor", [0.5, 2.6])
def test_a_speed_tencent_cannot_do_is_refused_before_calling(factor: float) -> None:
    adapter, recorder = tencent(lambda r: (500, {}))
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesize(adapter.voice("100001", VoiceType=100001), request(speed=factor))
    assert caught.value.code == "InvalidSpeed" and not recorder.requests


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("LimitExceeded.AccessLimit", VendorThrottled),
        ("RequestLimitExceeded", VendorThrottled),
        ("InternalError.ExceedMaxLimit", VendorThrottled),
        ("InternalError.InternalError", VendorUnavailable),
        ("AuthFailure.SignatureFailure", VendorAuthError),
        ("UnsupportedOperation.AuthorizationFailed", VendorAuthError),
        ("InvalidParameterValue.VoiceType", VendorRejected),
        ("InvalidParameterValue.TextTooLong", VendorRejected),
        ("InvalidParameterValue.InvalidText", VendorRejected),
        ("UnsupportedOperation.AccountArrears", VendorRejected),
    ],
)
def test_tencent_tts_errors_are_classified(code: str, kind: type[VendorError]) -> None:
    adapter, _ = tencent(lambda r: tts_error(code))
    with pytest.raises(VendorError) as caught:
        adapter.synthesize(adapter.voice("100001", VoiceType=100001), request())
    assert type(caught.value) is kind
    assert caught.value.code == code and caught.value.details["request_id"] == "tts-req-2"


def test_an_unknown_voice_says_so() -> None:
    adapter, _ = tencent(lambda r: tts_error("InvalidParameterValue.VoiceType", "VoiceType invalid"))
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesize(adapter.voice("999"), request())
    assert "does not know this voice" in caught.value.message
    assert caught.value.details["vendor_message"] == "VoiceType invalid"


def test_an_answer_without_audio_is_the_vendors_trouble() -> None:
    adapter, _ = tencent(lambda r: respond(200, {"Response": {"Audio": "", "RequestId": "r"}}))
    with pytest.raises(VendorUnavailable) as caught:
        adapter.synthesize(adapter.voice("100001"), request())
    assert caught.value.code == "NoAudio"


# ----- Volcengine: /api/v1/tts -------------------------------------------------------------------------


def volcengine(answer: Any) -> tuple[VolcengineAdapter, Recorder]:
    recorder = Recorder(answer, headers=lambda r: {"X-Tt-Logid": "log-123"})
    adapter = VolcengineAdapter(
        endpoint="https://openspeech.bytedance.com",
        appid="9476442538",
        access_token="test-token",
        access_key_id="AK",
        secret_access_key="SK",
        transport=recorder.transport,
    )
    return adapter, recorder


def volc_ok(request: httpx.Request) -> tuple[int, Any]:
    reqid = json.loads(request.content)["request"]["reqid"]
    return 200, {
        "reqid": reqid,
        "code": 3000,
        "message": "Success",
        "sequence": -1,
        "data": AUDIO_B64,
        "addition": {"duration": "1200"},
    }


def test_volcengine_speaks_with_the_v1_tts_and_the_slot_as_voice_type() -> None:
    # Given a trained slot as get_status records it
    adapter, recorder = volcengine(volc_ok)
    voice = VendorVoice(
        vendor="volcengine",
        voice_id="S_abc",
        details={"speaker_id": "S_abc", "cluster": "volcano_icl", "resource_id": "seed-icl-1.0"},
    )
    # When it speaks
    result = adapter.synthesize(voice, request(format="pcm", sample_rate=24000, speed=1.5))
    # Then the request has the documented shape, with Bearer;token
    sent = recorder.requests[0]
    assert sent.method == "POST" and sent.url.path == "/api/v1/tts"
    assert sent.headers["Authorization"] == "Bearer;test-token"
    body = json.loads(sent.content)
    assert body == {
        "app": {"appid": "9476442538", "token": "test-token", "cluster": "volcano_icl"},
        "user": {"uid": "voiceclone"},
        "audio": {"voice_type": "S_abc", "encoding": "pcm", "rate": 24000, "speed_ratio": 1.5},
        "request": {"reqid": body["request"]["reqid"], "text": "你好，世界。", "operation": "query"},
    }
    # And the audio is decoded, identified by the log id
    assert result.audio == AUDIO and result.format == "pcm" and result.sample_rate == 24000
    assert result.request_id == "log-123"


def test_each_call_has_a_new_reqid() -> None:
    adapter, recorder = volcengine(volc_ok)
    voice = adapter.voice("S_abc", speaker_id="S_abc", cluster="volcano_icl")
    adapter.synthesize(voice, request())
    adapter.synthesize(voice, request())
    reqids = {b["request"]["reqid"] for b in recorder.bodies()}
    assert len(reqids) == 2


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (200, 3003, VendorThrottled),
        (429, 3003, VendorThrottled),
        (200, 3005, VendorUnavailable),
        (500, 3031, VendorUnavailable),
        (200, 3030, VendorUnavailable),
        (401, 3001, VendorAuthError),
        (400, 3001, VendorRejected),
        (400, 3010, VendorRejected),
        (400, 3011, VendorRejected),
        (400, 3050, VendorRejected),
        (200, 3006, VendorRejected),
    ],
)
def test_volcengine_tts_errors_are_classified(status: int, code: int, kind: type[VendorError]) -> None:
    adapter, _ = volcengine(lambda r: (status, {"reqid": "x", "code": code, "message": "m"}))
    with pytest.raises(VendorError) as caught:
        adapter.synthesize(adapter.voice("S_abc", speaker_id="S_abc"), request())
    assert type(caught.value) is kind and caught.value.code == str(code)
    assert caught.value.details["request_id"] == "log-123"


def test_an_unknown_slot_says_so() -> None:
    adapter, _ = volcengine(lambda r: (400, {"reqid": "x", "code": 3050, "message": "voice not found"}))
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesize(adapter.voice("S_gone"), request())
    assert "does not know this voice" in caught.value.message


@pytest.mark.parametrize("factor", [0.1, 3.5])
def test_a_speed_volcengine_cannot_do_is_refused_before_calling(factor: float) -> None:
    adapter, recorder = volcengine(volc_ok)
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesize(adapter.voice("S_abc"), request(speed=factor))
    assert caught.value.code == "InvalidSpeed" and not recorder.requests


def test_a_proxy_page_is_not_audio() -> None:
    adapter, _ = volcengine(lambda r: (200, "<html>gateway</html>"))
    with pytest.raises(VendorUnavailable):
        adapter.synthesize(adapter.voice("S_abc"), request())


# ----- capabilities ------------------------------------------------------------------------------------


def test_the_synchronous_vendors_declare_what_one_call_does() -> None:
    vrs = TencentVrsAdapter.capabilities
    assert (vrs.speech, vrs.speech_text_limit, vrs.speech_text_unit) == ("sync", 150, "chars")
    assert set(vrs.speech_formats) == {"wav", "mp3", "pcm"} and vrs.speech_sample_rates[0] == 16000
    volc = VolcengineAdapter.capabilities
    assert (volc.speech, volc.speech_text_limit, volc.speech_text_unit) == ("sync", 1024, "bytes")
    assert set(volc.speech_formats) == {"wav", "mp3", "pcm"} and volc.speech_sample_rates[0] == 24000


@pytest.mark.parametrize(
    ("vendor_id", "says"),
    [
        ("qiniu", "agent runtime"),
        ("tencent_gateway", "CreateJob type 1"),
        ("huawei", "ttsc async jobs"),
    ],
)
def test_vendors_without_sync_speech_refuse_with_their_note(vendor_id: str, says: str) -> None:
    # Given a vendor whose speech is not one synchronous call (none, or async jobs; nothing may be sent)
    adapter = offline_adapter(vendor_id)
    assert adapter.capabilities.speech != "sync" and says in adapter.capabilities.speech_note
    # When asked to speak, it refuses with NotSupported and says how the voice is used instead
    with pytest.raises(VendorRejected) as caught:
        adapter.synthesize(adapter.voice("v1"), request())
    assert caught.value.code == "NotSupported"
    assert adapter.capabilities.speech_note in caught.value.message
