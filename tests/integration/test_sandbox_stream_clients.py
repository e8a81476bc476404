"""The streaming sandboxes, driven by clients written from the vendors' own code, not by our adapters.

* Tencent: the URL and signature as the official Python speech SDK builds them
  (``TencentCloud/tencentcloud-speech-sdk-python``, ``tts/speech_synthesizer_ws.py``:
  ``__gen_params``, ``__gen_signature``, ``__create_query_string``; values rendered with ``str()``,
  only ``Text`` and the signature URL-quoted) and as the official Go SDK builds them
  (``tencentcloud-speech-sdk-go``, ``tts/speechwssynthesizer.go``: ``buildURL``, ``genWsSignature``;
  every field sent, booleans ``true``/``false``, ``url.QueryEscape``). Both must be accepted.
* Volcengine: the official Python WebSocket demo (``tts_websocket_demo.py`` from the console):
  ``default_header = b"\\x11\\x10\\x11\\x00"``, ``json.dumps`` then gzip, ``Authorization: Bearer; <token>``,
  and its ``parse_response`` reading of every frame.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from voiceclone.vendors.speech import SynthesisRequest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.integration.conftest import StreamCase as Case
from tests.integration.test_sandbox_speech import LONG, SHORT

# ----- Tencent: the SDKs' URL ---------------------------------------------------------------------------

TENCENT_PATH = "/stream_ws"


def python_sdk_url(case: Case, text: str, *, expired_in: int = 86400, **overrides: Any) -> str:
    """What ``SpeechSynthesizer.start`` of the Python SDK connects to (host signed without a port)."""
    settings = case.sandbox.credentials()
    params: dict[str, Any] = {
        "Action": "TextToStreamAudioWS",
        "AppId": int(settings["app_id"]),
        "SecretId": settings["secret_id"],
        "ModelType": 1,
        "VoiceType": int(case.voice.voice_id),
        "Codec": "pcm",
        "SampleRate": 16000,
        "Speed": 0,
        "Volume": 0,
        "SessionId": str(uuid.uuid1()),
        "Text": text,
        "EnableSubtitle": True,
    }
    timestamp = int(time.time())
    params["Timestamp"] = timestamp
    params["Expired"] = timestamp + expired_in
    params.update(overrides)
    sign_str = "GET" + "127.0.0.1" + TENCENT_PATH + "?"
    for key in sorted(params.keys()):
        sign_str = sign_str + key + "=" + str(params[key]) + "&"
    sign_str = sign_str[:-1]
    digest = hmac.new(settings["secret_key"].encode("utf-8"), sign_str.encode("utf-8"), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode("utf-8")
    params["Text"] = quote(params["Text"])
    query = "&".join(f"{key}={value}" for key, value in sorted(params.items()))
    return f"{case.sandbox.stream_url}?{query}&Signature={quote(signature)}"


def go_sdk_url(case: Case, text: str) -> str:
    """What ``SpeechWsSynthesizer.Synthesis`` of the Go SDK dials: every field, QueryEscape'd."""
    settings = case.sandbox.credentials()
    timestamp = int(time.time())
    fields = {
        "Action": "TextToStreamAudioWS",
        "AppId": settings["app_id"],
        "SecretId": settings["secret_id"],
        "Timestamp": str(timestamp),
        "Expired": str(timestamp + 86400),
        "Text": text,
        "FastVoiceType": "",
        "SessionId": str(uuid.uuid4()),
        "ModelType": "1",
        "VoiceType": case.voice.voice_id,
        "SampleRate": "16000",
        "Speed": "0",
        "Volume": "0",
        "Codec": "pcm",
        "EnableSubtitle": "false",
        "EmotionCategory": "",
        "EmotionIntensity": "0",
        "SegmentRate": "0",
    }

    def build(escape: bool) -> str:
        shown = {**fields, "Text": quote_plus(text, safe="") if escape else text}
        return "&".join(f"{key}={shown[key]}" for key in sorted(shown))

    signed = "GET" + "127.0.0.1" + TENCENT_PATH + "?" + build(False)
    digest = hmac.new(settings["secret_key"].encode(), signed.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    return f"{case.sandbox.stream_url}?{build(True)}&Signature={quote_plus(signature, safe='')}"


@dataclass
class TencentSession:
    """What a listener of the SDKs receives, in order."""

    events: list[str] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    texts: list[dict[str, Any]] = field(default_factory=list)


def listen(url: str) -> TencentSession:
    """Read as the SDKs' receive loops do: binary is audio, text is JSON; code != 0 fails, final ends."""
    session = TencentSession()
    with connect(url, compression=None) as ws:
        while True:
            message = ws.recv(timeout=10)
            if isinstance(message, bytes):
                session.events.append("audio")
                session.audio += message
                continue
            response = json.loads(message)
            session.texts.append(response)
            if response["code"] != 0:
                session.events.append(f"fail {response['code']}")
                return session
            if response.get("final") == 1:
                session.events.append("final")
                return session  # the client closes, as the doc asks
            subtitles = (response.get("result") or {}).get("subtitles")
            session.events.append("subtitles" if subtitles else "text")


def sync_pcm(case: Case, text: str, rate: int = 16000) -> bytes:
    request = SynthesisRequest(text=text, format="pcm", sample_rate=rate)
    return case.adapter.synthesize(case.voice, request).audio


def test_the_python_sdks_url_is_served_the_same_audio_with_subtitles(tencent: Case) -> None:
    # When the Python SDK's client asks for a text with a space in it (quoted as %20)
    text = "你好 voice clone，今天天气很好。"
    session = listen(python_sdk_url(tencent, text))
    # Then Tencent's order: the handshake's code 0, audio (subtitles after the first), the final frame
    assert session.events[0] == "text" and session.events[-1] == "final"
    assert session.events[1] == "audio" and "subtitles" in session.events
    assert set(session.events[1:-1]) == {"audio", "subtitles"}
    # And the audio is the voice's TextToVoice audio for that text, and the ids echo the session
    assert bytes(session.audio) == sync_pcm(tencent, text)
    first, *_, last = session.texts
    assert first["session_id"] == last["session_id"] and first["request_id"] == last["request_id"]
    subtitles = next(t for t in session.texts if (t.get("result") or {}).get("subtitles"))
    assert [s["Text"] for s in subtitles["result"]["subtitles"]][:2] == ["你", "好"]
    # And the sandbox saw the client close after the final frame
    record = tencent.sandbox.streams[-1]
    assert record.done.wait(10) and record.closed_by_client


def test_the_go_sdks_url_with_every_field_and_query_escaping_is_accepted(tencent: Case) -> None:
    text = "A cloned voice + a plus/slash=equals test."
    session = listen(go_sdk_url(tencent, text))
    assert session.events[0] == "text" and session.events[-1] == "final"
    assert "subtitles" not in session.events  # EnableSubtitle=false
    assert bytes(session.audio) == sync_pcm(tencent, text)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"expired_in": -10}, 10003),  # Expired before Timestamp
        ({"SecretId": "AKIDsomeoneelse"}, 10003),
        ({"Action": "TextToStreamAudioWSv2"}, 10001),
        ({"Codec": "wav"}, 10001),
        ({"Speed": 3}, 10001),  # stream_ws takes -2…2
        ({"VoiceType": 424242}, 10001),
    ],
)
def test_tencent_refuses_with_one_error_frame(tencent: Case, change: dict[str, Any], code: int) -> None:
    session = listen(python_sdk_url(tencent, SHORT, **change))
    assert session.events == [f"fail {code}"]
    assert session.texts[0]["message"]


def test_a_text_changed_after_signing_fails_the_signature(tencent: Case) -> None:
    url = python_sdk_url(tencent, SHORT).replace(quote(SHORT), quote(LONG))
    assert listen(url).events == ["fail 10003"]


def test_tencent_refuses_a_text_longer_than_600_characters(tencent: Case) -> None:
    assert listen(python_sdk_url(tencent, "长" * 601)).events == ["fail 10001"]


# ----- Volcengine: the official demo --------------------------------------------------------------------

DEFAULT_HEADER = bytearray(b"\x11\x10\x11\x00")


def demo_request(case: Case, text: str, operation: str = "submit", **audio: Any) -> bytes:
    """The demo's ``test_submit``/``test_query`` request: its JSON, gzip, the 4-byte size, the payload."""
    settings = case.sandbox.credentials()
    request_json: dict[str, Any] = {
        "app": {"appid": settings["appid"], "token": "access_token", "cluster": "volcano_icl"},
        "user": {"uid": "388808087185088"},
        "audio": {
            "voice_type": case.voice.voice_id,
            "encoding": "pcm",
            "rate": 16000,
            "speed_ratio": 1.0,
            "volume_ratio": 1.0,
            "pitch_ratio": 1.0,
            **audio,
        },
        "request": {"reqid": str(uuid.uuid4()), "text": text, "text_type": "plain", "operation": operation},
    }
    payload_bytes = gzip.compress(str.encode(json.dumps(copy.deepcopy(request_json))))
    full_client_request = bytearray(DEFAULT_HEADER)
    full_client_request.extend(len(payload_bytes).to_bytes(4, "big"))
    full_client_request.extend(payload_bytes)
    return bytes(full_client_request)


@dataclass
class DemoResult:
    audio: bytearray = field(default_factory=bytearray)
    sequences: list[int] = field(default_factory=list)
    headers: list[bytes] = field(default_factory=list)
    error: tuple[int, str] | None = None


def parse_response(res: bytes, result: DemoResult) -> bool:
    """The demo's ``parse_response``: True when done (a negative sequence or an error message)."""
    header_size = res[0] & 0x0F
    message_type = res[1] >> 4
    message_type_specific_flags = res[1] & 0x0F
    message_compression = res[2] & 0x0F
    payload = res[header_size * 4 :]
    result.headers.append(res[:4])
    if message_type == 0xB:
        if message_type_specific_flags == 0:
            return False
        sequence_number = int.from_bytes(payload[:4], "big", signed=True)
        payload_size = int.from_bytes(payload[4:8], "big", signed=False)
        payload = payload[8:]
        assert payload_size == len(payload)
        result.sequences.append(sequence_number)
        result.audio += payload
        return sequence_number < 0
    if message_type == 0xF:
        code = int.from_bytes(payload[:4], "big", signed=False)
        error_msg = payload[8:]
        if message_compression == 1:
            error_msg = gzip.decompress(error_msg)
        result.error = (code, str(error_msg, "utf-8"))
        return True
    raise AssertionError(f"undefined message type {message_type}")


def run_demo(case: Case, frame: bytes | str, authorization: str | None = None) -> DemoResult:
    token = case.sandbox.credentials()["access_token"]
    headers = {"Authorization": authorization or f"Bearer; {token}"}
    result = DemoResult()
    with connect(case.sandbox.stream_url, additional_headers=headers, compression=None) as ws:
        ws.send(frame)
        while not parse_response(ws.recv(timeout=10), result):
            pass
    return result


@pytest.fixture
def volc(volcengine: Case) -> Iterator[Case]:
    saved = volcengine.sandbox.config.model_copy()
    yield volcengine
    volcengine.sandbox.config = saved


def test_the_demos_submit_streams_numbered_audio_ending_negative(volc: Case) -> None:
    result = run_demo(volc, demo_request(volc, LONG))
    n = len(result.sequences)
    assert result.error is None and n > 5
    assert result.sequences == [*range(1, n), -n]
    assert {h[:1] + h[2:] for h in result.headers} == {b"\x11\x00\x00"}
    assert {h[1] for h in result.headers} == {0xB1, 0xB3}
    assert bytes(result.audio) == sync_pcm(volc, LONG)


@pytest.mark.parametrize("spelling", ["Bearer;{token}", "Bearer; {token}", " Bearer ;  {token} "])
def test_both_bearer_spellings_of_the_docs_are_accepted(volc: Case, spelling: str) -> None:
    token = volc.sandbox.credentials()["access_token"]
    result = run_demo(volc, demo_request(volc, SHORT), spelling.format(token=token))
    assert result.error is None and result.sequences[-1] < 0


@pytest.mark.parametrize("spelling", ["Bearer {token}", "{token}", "Bearer; wrong", "Bearer;"])
def test_a_header_without_the_semicolon_or_the_token_is_refused_at_the_upgrade(
    volc: Case, spelling: str
) -> None:
    token = volc.sandbox.credentials()["access_token"]
    with pytest.raises(InvalidStatus) as caught:
        run_demo(volc, demo_request(volc, SHORT), spelling.format(token=token))
    response = caught.value.response
    assert response.status_code == 401
    assert json.loads(response.body or b"{}")["code"] == 3001 and response.headers.get("X-Tt-Logid")


def test_the_demos_query_answers_all_audio_in_one_negative_frame(volc: Case) -> None:
    result = run_demo(volc, demo_request(volc, SHORT, operation="query"))
    assert result.sequences == [-1] and bytes(result.audio) == sync_pcm(volc, SHORT)


def test_an_error_message_is_gzip_when_the_request_was(volc: Case) -> None:
    volc.sandbox.config.stream_fail_after_chunks = 0
    result = run_demo(volc, demo_request(volc, SHORT))
    assert result.error is not None and result.error[0] == 3031 and "error" in result.error[1]
    assert result.headers[-1][1] >> 4 == 0xF and result.headers[-1][2] & 0x0F == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("a text frame", 3001),
        (b"\x21\x10\x11\x00\x00\x00\x00\x00", 3001),  # protocol version 2
        (b"\x11\x10\x11\x00\x00\x00\x00\x09notgzip!!", 3001),
    ],
)
def test_what_is_not_a_full_client_request_gets_an_error_message(
    volc: Case, frame: bytes | str, code: int
) -> None:
    result = run_demo(volc, frame)
    assert result.error is not None and result.error[0] == code


@pytest.mark.parametrize(
    ("audio", "text", "code"),
    [
        ({"encoding": "wav"}, SHORT, 3001),
        ({"voice_type": "S_unknown"}, SHORT, 3050),
        ({}, "。。。", 3011),
        ({}, "长" * 400, 3010),
    ],
)
def test_volcengine_refuses_what_its_tts_refuses(
    volc: Case, audio: dict[str, Any], text: str, code: int
) -> None:
    result = run_demo(volc, demo_request(volc, text, **audio))
    assert result.error is not None and result.error[0] == code
