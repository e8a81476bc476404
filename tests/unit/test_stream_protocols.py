"""The streaming protocols' own parts, without a network: Tencent's URL signature, Volcengine's frames.

Tencent's official Python speech SDK is not on PyPI (it is installed from its repository), and its
sources publish no signature example. So the reference below is the SDK's algorithm as its file
writes it (``TencentCloud/tencentcloud-speech-sdk-python``, ``tts/speech_synthesizer_ws.py``,
``SpeechSynthesizer.__gen_signature``: every parameter as ``key=str(value)``, keys sorted, joined
with ``&`` after ``"GET" + _HOST + _PATH + "?"``, HMAC-SHA1 with the SecretKey, Base64), checked
against ours for arbitrary texts and numbers, plus one vector frozen from it. Volcengine's frames
are checked byte for byte against the layouts of its WebSocket doc and official demo.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import struct
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorThrottled, VendorUnavailable
from voiceclone.vendors.streaming.base import Audio, End, Failure
from voiceclone.vendors.streaming.tencent_tts import (
    STREAM_ERRORS,
    TencentStreamProtocol,
    query_value,
    signature,
    signed_url,
    string_to_sign,
)
from voiceclone.vendors.streaming.volcengine_tts import (
    VolcengineStreamProtocol,
    parse_frame,
    request_frame,
)
from voiceclone.vendors.volcengine import TTS_ERRORS

HOST, PATH = "tts.cloud.tencent.com", "/stream_ws"
SECRET_KEY = "test-secret-key"  # made up


def sdk_signature(secret_key: str, params: dict[str, Any]) -> str:
    """``SpeechSynthesizer.__gen_signature`` of the Python speech SDK, step by step."""
    sort_dict = sorted(params.keys())
    sign_str = "GET" + HOST + PATH + "?"
    for key in sort_dict:
        sign_str = sign_str + key + "=" + str(params[key]) + "&"
    sign_str = sign_str[:-1]
    hmacstr = hmac.new(secret_key.encode("utf-8"), sign_str.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(hmacstr).decode("utf-8")


def sdk_params(text: str, voice_type: int, timestamp: int) -> dict[str, Any]:
    """``__gen_params`` with the SDK's defaults (EnableSubtitle left out: the SDK renders it ``True``)."""
    return {
        "Action": "TextToStreamAudioWS",
        "AppId": 1300000000,
        "SecretId": "AKIDtest",
        "ModelType": 1,
        "VoiceType": voice_type,
        "Codec": "pcm",
        "SampleRate": 16000,
        "Speed": 0,
        "Volume": 0,
        "SessionId": "s1",
        "Text": text,
        "Timestamp": timestamp,
        "Expired": timestamp + 86400,
    }


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=1, max_size=40),
    voice_type=st.integers(min_value=0, max_value=2**31),
    timestamp=st.integers(min_value=1_600_000_000, max_value=2_000_000_000),
)
def test_our_signature_is_the_sdks_for_any_text_and_numbers(
    text: str, voice_type: int, timestamp: int
) -> None:
    params = sdk_params(text, voice_type, timestamp)
    ours = signature(SECRET_KEY, HOST, PATH, {k: query_value(v) for k, v in params.items()})
    assert ours == sdk_signature(SECRET_KEY, params)


def test_a_frozen_vector_of_the_sdks_algorithm() -> None:
    params = {
        k: query_value(v) for k, v in sdk_params("欢迎使用腾讯云实时语音合成", 101001, 1700000000).items()
    }
    assert string_to_sign(HOST, PATH, params) == (
        "GETtts.cloud.tencent.com/stream_ws?Action=TextToStreamAudioWS&AppId=1300000000&Codec=pcm"
        "&Expired=1700086400&ModelType=1&SampleRate=16000&SecretId=AKIDtest&SessionId=s1&Speed=0"
        "&Text=欢迎使用腾讯云实时语音合成&Timestamp=1700000000&VoiceType=101001&Volume=0"
    )
    assert signature(SECRET_KEY, HOST, PATH, params) == "KeF0+mdBpe5Dk5EMsjzDD9gk2kU="


def test_values_are_rendered_as_signed_and_sent() -> None:
    assert [query_value(v) for v in (True, False, 0.0, 1.0, 1.25, -2, "x y")] == [
        "true",
        "false",
        "0",
        "1",
        "1.25",
        "-2",
        "x y",
    ]


def test_the_signed_url_carries_the_signed_values_and_the_signature_last() -> None:
    # Given a text with what a URL must escape
    params = {"Action": "TextToStreamAudioWS", "Text": "你好 a+b&c=d/e", "AppId": "1", "SecretId": "AKID"}
    url = signed_url("wss://tts.cloud.tencent.com:443/stream_ws", SECRET_KEY, params)
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    # Then the address is the endpoint's, the pairs are sorted, decoded they are what was signed
    assert (parts.scheme, parts.netloc, parts.path) == ("wss", "tts.cloud.tencent.com:443", "/stream_ws")
    assert [k for k, _ in pairs] == [*sorted(params), "Signature"]
    assert dict(pairs[:-1]) == params
    # And the signature signs the host without its port, as the SDKs sign tts.cloud.tencent.com
    assert pairs[-1][1] == signature(SECRET_KEY, "tts.cloud.tencent.com", "/stream_ws", params)
    assert "你" not in parts.query and " " not in parts.query


def test_the_protocol_signs_a_day_from_now_with_the_account() -> None:
    protocol = TencentStreamProtocol(
        "ws://127.0.0.1:9/stream_ws",
        app_id=1300000000,
        secret_id="AKIDtest",
        secret_key=SECRET_KEY,
        params={"Text": "你好", "VoiceType": 100000, "Codec": "pcm", "EnableSubtitle": False},
    )
    query = dict(parse_qsl(urlsplit(protocol.url()).query))
    assert query["Action"] == "TextToStreamAudioWS" and query["AppId"] == "1300000000"
    assert int(query["Expired"]) - int(query["Timestamp"]) == 86400
    assert query["EnableSubtitle"] == "false" and query["Text"] == "你好"
    signed = {k: v for k, v in query.items() if k != "Signature"}
    assert query["Signature"] == signature(SECRET_KEY, "127.0.0.1", "/stream_ws", signed)


def test_tencent_frames_mean_what_the_sdks_read_in_them() -> None:
    protocol = TencentStreamProtocol("ws://h/stream_ws", app_id=1, secret_id="a", secret_key="b", params={})

    def text(**fields: Any) -> str:
        return json.dumps({"code": 0, "message": "success", "session_id": "s", "result": {}, **fields})

    assert protocol.read(text(request_id="r-1")) is None  # the handshake's acknowledgement
    assert protocol.request_id == "r-1"
    assert protocol.read(b"\x01\x02") == Audio(b"\x01\x02")
    assert protocol.read(text(result={"subtitles": [{"Text": "你"}]})) is None
    assert protocol.read(text(final=1)) == End()
    assert protocol.read(text(code=10003, message="auth failed")) == Failure("10003", "auth failed")
    with pytest.raises(VendorUnavailable) as caught:
        protocol.read("not json")
    assert caught.value.code == "BadFrame"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("10001", VendorRejected),
        ("10002", VendorThrottled),
        ("10003", VendorAuthError),
        ("10005", VendorUnavailable),
        ("20000", VendorUnavailable),
        ("20003", VendorUnavailable),
        ("10007", VendorRejected),
    ],
)
def test_tencent_stream_codes_are_classified_as_the_sdk_describes_them(code: str, kind: type) -> None:
    protocol = TencentStreamProtocol("ws://h/stream_ws", app_id=1, secret_id="a", secret_key="b", params={})
    protocol.request_id = "r-9"
    error = protocol.error(code, "")
    assert type(error) is kind and error.code == code and error.details["request_id"] == "r-9"
    assert (
        STREAM_ERRORS.kind(200, code, "")
        == {
            VendorRejected: "rejected",
            VendorThrottled: "throttled",
            VendorAuthError: "auth",
            VendorUnavailable: "unavailable",
        }[kind]
    )


# ----- Volcengine ws_binary ---------------------------------------------------------------------------


def audio_frame(flags: int, sequence: int, payload: bytes, header_words: int = 1) -> bytes:
    extension = b"\x00" * 4 * (header_words - 1)
    head = bytes([0x10 | header_words, 0xB0 | flags, 0x00, 0x00]) + extension
    return head + struct.pack(">iI", sequence, len(payload)) + payload


def test_the_request_frame_is_the_demos_header_size_and_gzip_json() -> None:
    body = {"app": {"appid": "1"}, "request": {"text": "你好", "operation": "submit"}}
    frame = request_frame(body)
    assert frame[:4] == b"\x11\x10\x11\x00"
    (size,) = struct.unpack(">I", frame[4:8])
    assert size == len(frame) - 8
    assert json.loads(gzip.decompress(frame[8:])) == body
    plain = request_frame(body, compress=False)
    assert plain[:4] == b"\x11\x10\x10\x00" and json.loads(plain[8:]) == body


def test_audio_frames_are_read_with_their_signed_sequence() -> None:
    assert parse_frame(audio_frame(0b0001, 1, b"abc")).sequence == 1
    last = parse_frame(audio_frame(0b0011, -7, b"xyz"))
    assert (last.sequence, last.payload) == (-7, b"xyz")
    assert parse_frame(audio_frame(0b0010, -2, b"")).sequence == -2
    ack = parse_frame(bytes([0x11, 0xB0, 0x00, 0x00]))
    assert ack.sequence is None and ack.payload == b""
    # A header with an extension word is skipped by its size
    assert parse_frame(audio_frame(0b0001, 3, b"ext", header_words=2)).payload == b"ext"


def test_error_and_frontend_frames_are_read_and_unzipped() -> None:
    message = gzip.compress(b'{"message": "quota exceeded for types: concurrency"}')
    error = parse_frame(bytes([0x11, 0xF0, 0x11, 0x00]) + struct.pack(">II", 3003, len(message)) + message)
    assert error.error_code == 3003 and b"concurrency" in error.payload
    plain = parse_frame(bytes([0x11, 0xF0, 0x00, 0x00]) + struct.pack(">II", 3050, 4) + b"oops")
    assert (plain.error_code, plain.payload) == (3050, b"oops")
    timing = gzip.compress(b'{"phonemes": []}')
    front = parse_frame(bytes([0x11, 0xC0, 0x11, 0x00]) + struct.pack(">I", len(timing)) + timing)
    assert front.message_type == 0b1100 and json.loads(front.payload) == {"phonemes": []}


@pytest.mark.parametrize(
    "data",
    [
        b"\x11\xb1",  # no whole header
        bytes([0x21, 0xB1, 0, 0]) + struct.pack(">iI", 1, 0),  # protocol version 2
        bytes([0x11, 0xB1, 0, 0]) + struct.pack(">iI", 1, 5) + b"abc",  # size says 5, carries 3
        bytes([0x11, 0xB1, 0, 0]) + b"\x00\x00",  # ends inside its fields
        bytes([0x11, 0x90, 0x10, 0]) + struct.pack(">I", 0),  # full server response: not for TTS v1
    ],
)
def test_bytes_that_are_not_a_frame_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_frame(data)


def test_volcengine_frames_mean_audio_end_or_the_vendors_error() -> None:
    protocol = VolcengineStreamProtocol(
        "ws://h/api/v1/tts/ws_binary", access_token="t", body={}, rules=TTS_ERRORS
    )
    assert protocol.headers() == {"Authorization": "Bearer; t"}
    assert protocol.opening()[0][:4] == b"\x11\x10\x11\x00"
    assert protocol.read(audio_frame(0b0001, 1, b"a")) == Audio(b"a")
    assert protocol.read(audio_frame(0b0011, -2, b"b")) == End(b"b")
    assert protocol.read(bytes([0x11, 0xB0, 0x00, 0x00])) is None
    raw = b'{"reqid": "r", "code": 3050, "message": "voice not found"}'
    error = bytes([0x11, 0xF0, 0x10, 0x00]) + struct.pack(">II", 3050, len(raw)) + raw
    assert protocol.read(error) == Failure("3050", "voice not found")
    for bad in ("text", bytes([0x11, 0xB1, 0, 0])):
        with pytest.raises(VendorUnavailable) as caught:
            protocol.read(bad)
        assert caught.value.code == "BadFrame"


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        ("3003", "quota exceeded for types: concurrency", VendorThrottled),
        ("3031", "processing error", VendorUnavailable),
        ("3050", "voice not found", VendorRejected),
        ("3001", "authenticate request: load grant: requested grant not found", VendorAuthError),
        ("3001", "invalid request: bad speed", VendorRejected),
    ],
)
def test_volcengine_stream_codes_are_the_http_tts_codes(code: str, message: str, kind: type) -> None:
    protocol = VolcengineStreamProtocol("ws://h/x", access_token="t", body={}, rules=TTS_ERRORS)
    assert type(protocol.error(code, message)) is kind


# ----- configuration ------------------------------------------------------------------------------------


def test_stream_settings_come_from_the_vendor_variables(clean_vendor_env: pytest.MonkeyPatch) -> None:
    from voiceclone.vendors.tencent_vrs import TencentVrsAdapter
    from voiceclone.vendors.volcengine import VolcengineAdapter

    env = clean_vendor_env
    for name, value in {
        "VOICECLONE_TENCENT_VRS_SECRET_ID": "AKIDx",
        "VOICECLONE_TENCENT_VRS_SECRET_KEY": "k",
        "VOICECLONE_VOLCENGINE_APPID": "1",
        "VOICECLONE_VOLCENGINE_ACCESS_TOKEN": "t",
        "VOICECLONE_VOLCENGINE_ACCESS_KEY_ID": "ak",
        "VOICECLONE_VOLCENGINE_SECRET_ACCESS_KEY": "sk",
    }.items():
        env.setenv(name, value)
    # By default the vendors' own WebSocket URLs, and no AppId (Tencent's stream then says so)
    tencent, volcengine = TencentVrsAdapter.from_environment(), VolcengineAdapter.from_environment()
    assert tencent.stream_endpoint == "wss://tts.cloud.tencent.com/stream_ws" and tencent.app_id == ""
    assert volcengine.stream_endpoint == "wss://openspeech.bytedance.com/api/v1/tts/ws_binary"
    # And VOICECLONE_<VENDOR>_STREAM_ENDPOINT (and Tencent's _APP_ID) when set
    env.setenv("VOICECLONE_TENCENT_VRS_STREAM_ENDPOINT", "ws://127.0.0.1:1/stream_ws")
    env.setenv("VOICECLONE_TENCENT_VRS_APP_ID", " 1300000000 ")
    env.setenv("VOICECLONE_VOLCENGINE_STREAM_ENDPOINT", "ws://127.0.0.1:2/api/v1/tts/ws_binary")
    tencent, volcengine = TencentVrsAdapter.from_environment(), VolcengineAdapter.from_environment()
    assert (tencent.stream_endpoint, tencent.app_id) == ("ws://127.0.0.1:1/stream_ws", "1300000000")
    assert volcengine.stream_endpoint == "ws://127.0.0.1:2/api/v1/tts/ws_binary"


def test_a_stream_endpoint_that_is_not_a_websocket_url_is_a_configuration_error() -> None:
    from voiceclone.vendors.speech import SynthesisRequest
    from voiceclone.vendors.volcengine import VolcengineAdapter

    adapter = VolcengineAdapter(
        appid="1",
        access_token="t",
        access_key_id="ak",
        secret_access_key="sk",
        stream_endpoint="https://openspeech.bytedance.com/api/v1/tts/ws_binary",
    )
    with pytest.raises(VendorAuthError) as caught:
        adapter.stream_synthesis(
            adapter.voice("S_1", speaker_id="S_1"),
            SynthesisRequest(text="你好", format="pcm", sample_rate=24000),
        )
    assert caught.value.code == "InvalidConfiguration" and "ws://" in caught.value.message
