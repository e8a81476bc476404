"""Tencent Cloud VRS (声音复刻): TC3-signed JSON actions, per-sentence quality check, callback.

Wire format: see docs/vendors/tencent_vrs.md (Operations), with the official SDK's action
names. Errors arrive as ``Response.Error`` (HTTP 200, or a 4xx/5xx with the same body);
the rules below classify them through the shared pipeline (voiceclone.vendors.errors).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from itertools import pairwise
from typing import TYPE_CHECKING, Any, ClassVar, Unpack
from urllib.parse import urlsplit

from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorUnavailable
from voiceclone.domain.models import Gender, SentenceCheck, TrainingText, VendorVoice
from voiceclone.lazy import lazy_module
from voiceclone.vendors.base import (
    DEFAULT_TIMEOUT_SECONDS,
    AudioSource,
    Capabilities,
    Connection,
    TrainingRequest,
    TrainingStatus,
    state_table,
)
from voiceclone.vendors.errors import ErrorRules
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult
from voiceclone.vendors.tencent_cloud import (
    TencentCloudEnvelope,
    TencentCloudResponseEnvelope,
    TencentKeyPairAdapter,
    tc3_signer,
)

if TYPE_CHECKING:
    from voiceclone.vendors.streaming import base as streaming
    from voiceclone.vendors.streaming import tencent_tts
    from voiceclone.vendors.streaming.base import AudioStream
else:  # the WebSocket stack (websockets): loaded when a voice first streams
    streaming = lazy_module("voiceclone.vendors.streaming.base")
    tencent_tts = lazy_module("voiceclone.vendors.streaming.tencent_tts")

VENDOR_ID = "tencent_vrs"
SERVICE = "vrs"
API_VERSION = "2020-08-24"
DEFAULT_ENDPOINT = "https://vrs.tencentcloudapi.com"
# Speech with the cloned voice is Tencent Cloud TTS's TextToVoice, on its own host
# (docs/vendors/tencent_vrs.md, Operations).
TTS_SERVICE = "tts"
TTS_VERSION = "2019-08-23"
TTS_ACTION = "TextToVoice"
DEFAULT_TTS_ENDPOINT = "https://tts.tencentcloudapi.com"
# Streaming speech is Tencent Cloud TTS's WebSocket API (voiceclone.vendors.streaming.tencent_tts).
DEFAULT_STREAM_ENDPOINT = "wss://tts.cloud.tencent.com/stream_ws"
# 150 Chinese characters (500 English letters) per call: the Chinese limit holds for any text.
TTS_TEXT_LIMIT = 150
# Cloned voices take 10 concurrent requests by default (one-sentence clones; the most documented).
TTS_CONCURRENCY = 10
# A one-sentence clone's VoiceType is this constant; its identity is the string FastVoiceType.
FAST_VOICE_TYPE = 200000000
# Speed: Tencent's scale (-2…6) at the factors its doc names; between them the scale is linear.
SPEED_POINTS = ((0.6, -2.0), (0.8, -1.0), (1.0, 0.0), (1.2, 1.0), (1.5, 2.0), (2.5, 6.0))
# Streaming speech (TextToStreamAudioWS, docs/vendors/tencent_vrs.md, Streaming speech): raw audio
# only, 16 or 8 kHz, 600 Chinese characters (1800 letters) per call, speeds -2…2 (0.6× to 1.5×).
STREAM_FORMATS = ("pcm", "mp3")
STREAM_SAMPLE_RATES = (16000, 8000)
STREAM_TEXT_LIMIT = 600
STREAM_SPEED_POINTS = SPEED_POINTS[:5]

# TextToVoice (the TTS SDK's errorcodes.py): rate and concurrency limits are retried, its internal
# errors too; authorization, an unknown voice, bad or too long text are the request's fault.
TTS_ERRORS = ErrorRules(
    codes={"InternalError.ExceedMaxLimit": "throttled"},
    prefixes={
        "AuthFailure": "auth",
        "UnsupportedOperation.AuthorizationFailed": "auth",
        "UnsupportedOperation.AuthorizationExpired": "auth",
        "RequestLimitExceeded": "throttled",
        "LimitExceeded": "throttled",
        "InternalError": "unavailable",
        "ResourceUnavailable": "unavailable",
    },
    messages={"auth": "Tencent TTS refused the credentials: check the tencent_vrs secret_id and secret_key"},
    advice={
        "InvalidParameterValue.VoiceType": "Tencent does not know this voice (VoiceType): "
        "it may have been deleted or belong to another account",
    },
)
# Code families (see docs/vendors/tencent_vrs.md, Errors): "try again later" is the SDK's
# StandardRetryer list plus internal errors; anything else is the request's fault.
ERRORS = ErrorRules(
    prefixes={
        "AuthFailure": "auth",
        "RequestLimitExceeded": "throttled",
        "InternalError": "unavailable",
        "FailedOperation.VoiceEvaluateFailed": "unavailable",
        "ResourceUnavailable": "unavailable",
    },
    messages={"auth": "Tencent refused the credentials: check the tencent_vrs secret_id and secret_key"},
)
# Codes about one recording: the sentence is rejected with the vendor's reason, the job goes on.
_AUDIO_CODES = (
    "InvalidParameterValue.AudioData",
    "InvalidParameterValue.AudioDurationExceedsLimit",
    "InvalidParameterValue.Codec",
    "InvalidParameterValue.SampleRate",
    "FailedOperation.VoiceNotQualified",
)
_AUDIO_ADVICE = {
    "InvalidParameterValue.AudioData": "the file is not usable audio: record it again as a 16 kHz mono WAV",
    "InvalidParameterValue.AudioDurationExceedsLimit": "the recording is longer than 15 s: record it again",
    "InvalidParameterValue.Codec": "use WAV",
    "InvalidParameterValue.SampleRate": "record at 16 kHz",
    "FailedOperation.VoiceNotQualified": "the audio quality is too poor: record it again in a quiet room",
}
_DETECTION_ADVICE = {
    -2: "words were missing, wrong or extra: read the sentence exactly as written and record it again",
    -3: "too much noise: record it again in a quieter place",
}
_TAGS = {1: "extra", 2: "missing", 3: "misread", 4: "unknown word", 5: "unclear"}
_GENDERS = {Gender.MALE: 1, Gender.FEMALE: 2}
# DescribeVRSTaskStatus Status (docs/vendors/tencent_vrs.md, States).
STATES = state_table(pending=(0,), running=(1,), succeeded=(2,), failed=(3,))


class TencentVrsAdapter(TencentKeyPairAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {"en": "Tencent Cloud VRS", "zh": "腾讯云声音复刻"}
    default_endpoint = DEFAULT_ENDPOINT
    # TextToVoice's host (VOICECLONE_TENCENT_VRS_TTS_ENDPOINT); by default see default_tts_endpoint.
    # Streaming speech: its WebSocket URL (VOICECLONE_TENCENT_VRS_STREAM_ENDPOINT, default Tencent's)
    # and the account's AppId (VOICECLONE_TENCENT_VRS_APP_ID), which only the stream's signature needs.
    optional_fields = ("tts_endpoint", "stream_endpoint", "app_id")
    capabilities = Capabilities(
        sentence_check="vendor",
        # Fixed texts: the script is the vendor's (GetTrainingText), and DetectEnvAndSoundQuality checks
        # each take against its TextId, so another vendor's take cannot stand in for one of these.
        reads_any_text=False,
        completion="callback",
        audio_transport="inline",
        audio_files="per_sentence",
        speech="sync",
        speech_formats=("wav", "mp3", "pcm"),
        speech_sample_rates=(16000, 8000),
        speech_text_limit=TTS_TEXT_LIMIT,
        speech_text_unit="chars",
        speech_concurrency=TTS_CONCURRENCY,
        speech_speeds=(SPEED_POINTS[0][0], SPEED_POINTS[-1][0]),
        speech_stream=True,
        speech_stream_formats=STREAM_FORMATS,
        speech_stream_sample_rates=STREAM_SAMPLE_RATES,
        speech_stream_text_limit=STREAM_TEXT_LIMIT,
        speech_stream_speeds=(STREAM_SPEED_POINTS[0][0], STREAM_SPEED_POINTS[-1][0]),
    )
    envelope = TencentCloudEnvelope(ERRORS)
    training_states = STATES

    def __init__(
        self,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        *,
        tts_endpoint: str = "",
        stream_endpoint: str = "",
        app_id: str = "",
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(endpoint, secret_id, secret_key, **connection)
        self.tts_endpoint = (tts_endpoint or default_tts_endpoint(self.endpoint)).rstrip("/")
        self.stream_endpoint = stream_endpoint or DEFAULT_STREAM_ENDPOINT
        self.app_id = app_id.strip()
        self._timeout_seconds = connection.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        self._tts = self.connect(
            self.tts_endpoint,
            connection.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
            connection.get("transport"),
            envelope=TencentCloudResponseEnvelope(TTS_ERRORS),
        )

    # ----- transport -------------------------------------------------------------------------

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """One signed action; returns ``Response.Data`` or raises the classified error."""
        # Signed over the bytes sent, right before sending (docs/vendors/tencent_vrs.md, Authentication).
        sign = tc3_signer(
            secret_id=self._secret_id,
            secret_key=self._secret_key,
            service=SERVICE,
            host=self.host,
            action=action,
            version=API_VERSION,
        )
        data: dict[str, Any] = self._http.call("POST", "/", json_body=params, sign=sign, context=action)
        return data

    # ----- operations ------------------------------------------------------------------------

    def training_texts(self) -> list[TrainingText]:
        data = self.call("GetTrainingText", {})
        return [TrainingText(text_id=t["TextId"], text=t["Text"]) for t in data.get("TrainingTextList") or []]

    def check_sentence(self, text_id: str, audio: bytes) -> SentenceCheck:
        params = {
            "TextId": text_id,
            "AudioData": base64.b64encode(audio).decode("ascii"),
            "TypeId": 2,
            "Codec": "wav",
            "SampleRate": self.capabilities.sample_rate,
        }
        try:
            data = self.call("DetectEnvAndSoundQuality", params)
        except VendorRejected as exc:
            if exc.code.startswith(_AUDIO_CODES):
                advice = _AUDIO_ADVICE.get(exc.code, "record the sentence again")
                return SentenceCheck(
                    passed=False, code=exc.code, message=f"{exc.message} ({advice})", source=VENDOR_ID
                )
            raise
        code = int(data.get("DetectionCode") or 0)
        if code == 0 and data.get("AudioId"):
            return SentenceCheck(
                passed=True, code="0", message="passed", source=VENDOR_ID, vendor_audio_id=data["AudioId"]
            )
        if code == -1 or code == 0:
            # -1: the vendor could not evaluate this time; the workflow retries the check.
            raise VendorUnavailable(VENDOR_ID, f"DetectionCode{code}", data.get("DetectionMsg") or "retry")
        tips = [
            f"{w.get('Word', '')}: {_TAGS.get(int(w.get('Tag') or 0), 'check')}"
            for w in data.get("DetectionTip") or []
            if int(w.get("Tag") or 0) != 0
        ]
        advice = _DETECTION_ADVICE.get(code, "record the sentence again")
        return SentenceCheck(
            passed=False,
            code=f"DetectionCode{code}",
            message=f"{data.get('DetectionMsg') or 'not passed'} ({advice})",
            tips=tips[:20],
            source=VENDOR_ID,
        )

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        # The audio already reached Tencent with each check; its AudioIds stand for it. The
        # SessionId is the job's, the same on every retry, so a repeated create is recognised.
        params: dict[str, Any] = {
            "SessionId": request.session_id,
            "VoiceName": request.voice_name,
            "VoiceGender": _GENDERS[request.gender],
            "VoiceLanguage": 1,
            "SampleRate": self.capabilities.sample_rate,
            "Codec": "wav",
            "AudioIdList": [s.vendor_audio_id for s in request.sentences],
        }
        if request.callback_url:
            params["CallbackUrl"] = request.callback_url
        data = self.call("CreateVRSTask", params)
        task_id = data.get("TaskId")
        if not task_id:
            raise VendorUnavailable(VENDOR_ID, "NoTaskId", "CreateVRSTask answered without a TaskId")
        return str(task_id)

    def get_status(self, task_id: str) -> TrainingStatus:
        return self._status(self.call("DescribeVRSTaskStatus", {"TaskId": task_id}), task_id)

    def parse_callback(self, body: bytes) -> TrainingStatus:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body is not JSON") from exc
        if not isinstance(data, dict) or not data.get("TaskId"):
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body has no TaskId")
        return self._status(data, str(data["TaskId"]))

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        """One TextToVoice call: the clone's VoiceType (or FastVoiceType), audio in base64."""

        params: dict[str, Any] = {
            "Text": request.text,
            "SessionId": str(uuid.uuid4()),
            "VoiceType": _voice_type(voice),
            "Codec": request.format,
            "SampleRate": request.sample_rate,
            "Speed": tencent_speed(request.speed),
        }
        fast = voice.details.get("FastVoiceType")
        if fast:
            params["VoiceType"] = FAST_VOICE_TYPE
            params["FastVoiceType"] = str(fast)
        host = urlsplit(self.tts_endpoint).hostname or ""
        sign = tc3_signer(
            secret_id=self._secret_id,
            secret_key=self._secret_key,
            service=TTS_SERVICE,
            host=host,
            action=TTS_ACTION,
            version=TTS_VERSION,
        )
        data: dict[str, Any] = self._tts.call("POST", "/", json_body=params, sign=sign, context=TTS_ACTION)
        request_id = str(data.get("RequestId") or "")
        try:
            audio = base64.b64decode(str(data.get("Audio") or ""), validate=True)
        except (binascii.Error, ValueError):
            audio = b""
        if not audio:
            raise VendorUnavailable(
                VENDOR_ID, "NoAudio", "TextToVoice answered without audio", request_id=request_id
            )
        return SynthesisResult(
            audio=audio, format=request.format, sample_rate=request.sample_rate, request_id=request_id
        )

    def stream_synthesis(self, voice: VendorVoice, request: SynthesisRequest) -> AudioStream:
        """One TextToStreamAudioWS call: the text in the signed URL, the clone's VoiceType (or
        FastVoiceType), the audio in binary frames until Tencent's ``final`` frame."""
        self.check_stream_request(request)
        if not self.app_id.isdigit():
            raise VendorAuthError(
                VENDOR_ID,
                "MissingConfiguration",
                "streaming speech signs with the account's AppId: set VOICECLONE_TENCENT_VRS_APP_ID "
                "(or the 'app_id' key of the vendor's secret) to the number shown under Account Info",
            )
        params: dict[str, str | int | float | bool] = {
            "Text": request.text,
            "SessionId": str(uuid.uuid4()),
            "ModelType": 1,
            "VoiceType": _voice_type(voice),
            "Codec": request.format,
            "SampleRate": request.sample_rate,
            "Speed": tencent_speed(request.speed, STREAM_SPEED_POINTS),
            "Volume": 0,
            "EnableSubtitle": False,
        }
        fast = voice.details.get("FastVoiceType")
        if fast:
            params["VoiceType"] = FAST_VOICE_TYPE
            params["FastVoiceType"] = str(fast)
        protocol = tencent_tts.TencentStreamProtocol(
            self.stream_endpoint,
            app_id=int(self.app_id),
            secret_id=self._secret_id,
            secret_key=self._secret_key,
            params=params,
        )
        return streaming.open_stream(
            protocol,
            timeout_seconds=self._timeout_seconds,
            audio_format=request.format,
            sample_rate=request.sample_rate,
        )

    # Voice management: Tencent VRS offers none of it (capabilities keep the three flags False;
    # CancelVRSTask is listed as not yet open): the base class refuses them.

    def _status(self, data: dict[str, Any], task_id: str) -> TrainingStatus:
        status = data.get("Status")
        voice = None
        if data.get("VoiceType") is not None:
            details: dict[str, Any] = {"VoiceType": int(data["VoiceType"])}
            if data.get("FastVoiceType"):
                details["FastVoiceType"] = data["FastVoiceType"]
            voice = self.voice(str(data["VoiceType"]), **details)
        return self.status_of(
            str(data.get("TaskId") or task_id),
            _int_or_none(status),
            label=str(data.get("StatusStr") or status),
            voice=voice,
            error_message=str(data.get("ErrorMsg") or ""),
        )


def default_tts_endpoint(endpoint: str) -> str:
    """Where TextToVoice goes unless configured: Tencent's TTS host when VRS is Tencent's own API,
    else the VRS endpoint itself (a sandbox or a proxy in front of Tencent serves both APIs)."""
    host = urlsplit(endpoint).hostname or ""
    if host == "tencentcloudapi.com" or host.endswith(".tencentcloudapi.com"):
        return DEFAULT_TTS_ENDPOINT
    return endpoint


def tencent_speed(factor: float, points: tuple[tuple[float, float], ...] = SPEED_POINTS) -> float:
    """A speed factor (1.0 natural) on Tencent's scale, two decimals as it takes them.

    ``points`` are the API's (factor, value) pairs: TextToVoice's -2…6 (0.6× to 2.5×) by default,
    the stream's -2…2 (0.6× to 1.5×) for it.
    """
    low, high = points[0][0], points[-1][0]
    if not low <= factor <= high:
        raise VendorRejected(
            VENDOR_ID, "InvalidSpeed", f"Tencent speaks at {low}× to {high}× the natural speed, not {factor}×"
        )
    for (f0, s0), (f1, s1) in pairwise(points):
        if factor <= f1:
            return round(s0 + (factor - f0) * (s1 - s0) / (f1 - f0), 2)
    return points[-1][1]


def _voice_type(voice: VendorVoice) -> int:
    raw = voice.details.get("VoiceType", voice.voice_id)
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise VendorRejected(
            VENDOR_ID, "InvalidVoiceType", f"{voice.voice_id!r} is not a Tencent VoiceType (an integer)"
        ) from None


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
