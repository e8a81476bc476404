"""A local Tencent Cloud VRS: its wire format, TC3 verification, real audio checks and simulated training.

It exists so the adapter, the workflow and the local stack can be exercised end to
end without an account and without spending quota: the envelope, action names and
error codes follow docs/vendors/tencent_vrs.md#sandbox (the official SDK spellings,
not the typos of #where-other-descriptions-of-the-api-differ), signatures are verified exactly as Tencent
does, and recordings are inspected for real by the vendor's own check (sandboxes.audio.check_wav).
Training is simulated by elapsed time. Knobs on :class:`TencentVrsSandboxConfig` inject the
failures a client must survive (throttling, internal errors, failed training,
slow checks, no callback); tests change them at runtime. Tencent answers every
error, throttling and outages included, with HTTP 200 and ``Response.Error``.

Beside the HTTP API it serves Tencent TTS's streaming synthesis (``stream_ws``) on a
WebSocket port of its own (``stream_url``): the signed URL verified as Tencent does, the
same audio as TextToVoice in 100 ms chunks, and the stream knobs of
voiceclone_local.sandboxes.streaming (docs/vendors/tencent_vrs.md#streaming-speech).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field
from voiceclone.domain.audio import AudioProblem
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.vendors.signing import tc3
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from voiceclone_local.sandboxes.audio import check_wav, reading_seconds, speak, voice_sample
from voiceclone_local.sandboxes.base import CheckedCredential, Refusal, Route
from voiceclone_local.sandboxes.knobs import Fault, SandboxConfig, env_or
from voiceclone_local.sandboxes.server import (
    DropConnection,
    SandboxApiError,
    SandboxRequest,
    SandboxResponse,
    json_object,
    json_response,
    optional_int,
)
from voiceclone_local.sandboxes.streaming import (
    StreamingSandbox,
    StreamingSandboxConfig,
    StreamRecord,
    chunk_audio,
    client_closes,
)
from voiceclone_local.sandboxes.training import CallbackAttempt, SimulatedTask, TrainingState, state_map

__all__ = ["CallbackAttempt", "TencentVrsSandbox", "TencentVrsSandboxConfig"]

VENDOR_ID = "tencent_vrs"
API_VERSION = "2020-08-24"
SERVICE = "vrs"
# Tencent rejects an X-TC-Timestamp further than this from its clock (AuthFailure.SignatureExpire).
MAX_CLOCK_SKEW_SECONDS = 300
# A TC3-signed POST body may be up to 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
SAMPLE_RATE = 16000
FIRST_VOICE_TYPE = 100000
# Speech with a cloned voice: Tencent Cloud TTS's TextToVoice (docs/vendors/tencent_vrs.md,
# Operations), its own service and version; this sandbox serves it at the same URL as VRS
# (Tencent: tts.tencentcloudapi.com).
TTS_SERVICE = "tts"
TTS_VERSION = "2019-08-23"
TTS_ACTION = "TextToVoice"
TTS_CODECS = ("wav", "mp3", "pcm")
TTS_SAMPLE_RATES = (16000, 8000)
# 150 Chinese characters, or 500 letters of a text that has no Chinese.
TTS_MAX_CJK_CHARS, TTS_MAX_LETTERS = 150, 500
# Tencent's speed scale and the factor each named value means; linear in between.
TTS_SPEEDS = ((-2.0, 0.6), (-1.0, 0.8), (0.0, 1.0), (1.0, 1.2), (2.0, 1.5), (6.0, 2.5))
# Tencent reports times in Beijing time (DateCreated "2023-10-23T10:25:54+08:00").
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# Public, fixed sandbox credentials (not secrets): the local stack and tests sign with them by default.
DEFAULT_SECRET_ID = "AKIDsandboxvoiceclone000000000000000"  # noqa: S105
DEFAULT_SECRET_KEY = "sandbox-secret-key-voiceclone"  # noqa: S105
# The account's AppId, which only the streaming API's signature carries.
DEFAULT_APP_ID = "1300000000"

# Streaming speech, Tencent Cloud TTS's real-time synthesis over WebSocket (docs/vendors/tencent_vrs.md,
# Streaming speech), on the sandbox's WebSocket port: the request in the signed query string, audio in
# binary frames, JSON text frames for the rest. Its codes are the speech SDKs' (10001 parameters,
# 10002 concurrency, 10003 authentication, 20002 a failed synthesis).
STREAM_PATH = "/stream_ws"
STREAM_ACTION = "TextToStreamAudioWS"
STREAM_CODECS = ("pcm", "mp3")
STREAM_MAX_CJK_CHARS, STREAM_MAX_LETTERS = 600, 1800
STREAM_SPEED_RANGE = (-2.0, 2.0)
STREAM_VOLUME_RANGE = (0.0, 10.0)
STREAM_MAX_VALIDITY_SECONDS = 90 * 86400
STREAM_REQUIRED = ("Action", "AppId", "SecretId", "Timestamp", "Expired", "SessionId", "Text", "Signature")
STREAM_INVALID, STREAM_CONCURRENCY, STREAM_AUTH, STREAM_SYNTHESIS_FAILED = 10001, 10002, 10003, 20002

# The 20 sentences of the standard clone, verbatim as GetTrainingText answers them
# (docs/vendors/tencent_vrs.md#operations).
# Tencent's 20 training texts; voiceclone's standard script was taken from them.
TRAINING_TEXTS: list[tuple[str, str]] = [(t.text_id, t.text) for t in STANDARD_SCRIPT]
_TEXTS: dict[str, str] = dict(TRAINING_TEXTS)

STATUS_WAITING, STATUS_DOING, STATUS_SUCCESS, STATUS_FAILED = 0, 1, 2, 3
STATUS_STR = {
    STATUS_WAITING: "waiting",
    STATUS_DOING: "doing",
    STATUS_SUCCESS: "success",
    STATUS_FAILED: "failed",
}
_STATUS = state_map(STATUS_WAITING, STATUS_DOING, STATUS_SUCCESS, STATUS_FAILED)
# Each service's actions (X-TC-Action -> the operation serving it): every action of
# tencentcloud-sdk-python-vrs, and TTS's TextToVoice (docs/vendors/tencent_vrs.md, Sandbox).
ACTIONS: dict[str, dict[str, str]] = {
    SERVICE: {
        "GetTrainingText": "_get_training_text",
        "DetectEnvAndSoundQuality": "_detect_env_and_sound_quality",
        "CreateVRSTask": "_create_vrs_task",
        "DescribeVRSTaskStatus": "_describe_vrs_task_status",
        "GetVRSVoiceTypes": "_get_vrs_voice_types",
        "GetVRSVoiceTypeInfo": "_get_vrs_voice_type_info",
        "CancelVRSTask": "_not_open",
        "DownloadVRSModel": "_not_open",
    },
    TTS_SERVICE: {TTS_ACTION: "_text_to_voice"},
}
VERSIONS = {SERVICE: API_VERSION, TTS_SERVICE: TTS_VERSION}

# Audio problems that make the file itself unusable: Tencent answers these with an Error, not a Data.
_BAD_AUDIO = (
    AudioProblem.EMPTY,
    AudioProblem.NOT_WAV,
    AudioProblem.TRUNCATED,
    AudioProblem.UNSUPPORTED_ENCODING,
)
# Tencent's answers to the injected faults, all with HTTP 200 (common error codes:
# docs/vendors/tencent_vrs.md#errors).
_FAULTS = {
    Fault.THROTTLE: Refusal(200, "RequestLimitExceeded", "The request frequency exceeds the limit."),
    Fault.INTERNAL: Refusal(200, "InternalError", "An internal error occurred (injected by the sandbox)."),
    Fault.UNAVAILABLE: Refusal(
        200,
        "ResourceUnavailable",
        "The resource is unavailable, retry later (injected by the sandbox).",
    ),
}


class TencentVrsSandboxConfig(StreamingSandboxConfig):
    """Credentials and failure knobs; mutable while the sandbox runs (tests flip them between jobs)."""

    secret_id: str = Field(default_factory=env_or(VENDOR_ID, "secret_id", DEFAULT_SECRET_ID))
    # repr=False: the config may end up in a log line or a test failure message.
    secret_key: str = Field(default_factory=env_or(VENDOR_ID, "secret_key", DEFAULT_SECRET_KEY), repr=False)
    app_id: str = Field(default_factory=env_or(VENDOR_ID, "app_id", DEFAULT_APP_ID))
    # Added to every DetectEnvAndSoundQuality, to see how a client copes with a slow vendor.
    check_latency_ms: int = Field(default=0, ge=0)
    # TextToVoice: calls at once per account (more answer LimitExceeded.AccessLimit; cloned voices
    # default to 10) and a pause added to each (so a test sees a caller's concurrency).
    tts_concurrency: int = Field(default=10, ge=1)
    tts_latency_ms: int = Field(default=0, ge=0)


def _error(code: str, message: str) -> SandboxApiError:
    """Tencent sends every error with HTTP 200."""
    return SandboxApiError(200, code, message)


def _describe(task: SimulatedTask, now: float | None = None) -> dict[str, Any]:
    status = _STATUS[task.state(now)]
    return {
        "TaskId": task.task_id,
        "Status": status,
        "StatusStr": STATUS_STR[status],
        "VoiceType": task.meta["voice_type"] if status == STATUS_SUCCESS else 0,
        "ErrorMsg": (task.failure or "") if status == STATUS_FAILED else "",
    }


def _voice_info(task: SimulatedTask) -> dict[str, Any]:
    """A trained voice as GetVRSVoiceTypes and GetVRSVoiceTypeInfo answer it (``TaskID``, sic)."""
    return {
        "VoiceType": task.meta["voice_type"],
        "VoiceName": task.meta["voice_name"],
        "VoiceGender": task.meta["voice_gender"],
        "TaskType": 1,
        "TaskID": task.task_id,
        "DateCreated": task.meta["created_at"].astimezone(BEIJING).isoformat(timespec="seconds"),
        "IsDeployed": True,
    }


# ----- parameter helpers ---------------------------------------------------------------------------


def _missing(name: str) -> SandboxApiError:
    return _error("MissingParameter", f"The request is missing a required parameter `{name}`.")


def _require_str(params: Mapping[str, Any], name: str) -> str:
    if name not in params or params[name] is None:
        raise _missing(name)
    value = params[name]
    if not isinstance(value, str):
        raise _error("InvalidParameter", f"`{name}` must be a string.")
    return value


def _int_param(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = optional_int(params, name, lambda message: _error("InvalidParameter", f"{message}."))
    if value is None:
        if default is None:
            raise _missing(name)
        return default
    return value


def _standard_clone_only(params: Mapping[str, Any]) -> None:
    """The sandbox implements the 20-sentence clone; the one-sentence clone (TaskType 5) is out of scope."""
    if _int_param(params, "TaskType", 0) != 0:
        raise _error(
            "InvalidParameterValue", "The sandbox implements only the standard clone (`TaskType` 0)."
        )


def _check_codec_and_rate(params: Mapping[str, Any]) -> None:
    codec = params.get("Codec", "wav")
    if not isinstance(codec, str) or codec.lower() != "wav":
        raise _error("InvalidParameterValue.Codec", f"`Codec` {codec!r} is not supported here: use wav.")
    rate = _int_param(params, "SampleRate", SAMPLE_RATE)
    if rate != SAMPLE_RATE:
        raise _error("InvalidParameterValue.SampleRate", f"`SampleRate` {rate} is not supported: use 16000.")


def _tts_speed(value: Any) -> float:
    """Tencent's Speed (-2…6, two decimals) as a factor of the natural pace."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not -2 <= value <= 6:
        raise _error("InvalidParameterValue.Speed", "`Speed` must be a number from -2 to 6.")
    for (s0, f0), (s1, f1) in pairwise(TTS_SPEEDS):
        if value <= s1:
            return f0 + (value - s0) * (f1 - f0) / (s1 - s0)
    return TTS_SPEEDS[-1][1]


def _canonical_host(host_header: str) -> str:
    """The Host header without its port: Tencent signs the bare host name."""
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8080
        return host[: host.find("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


def _stream_error(code: int, message: str) -> SandboxApiError:
    """A streaming refusal: Tencent's integer code in a text frame (no HTTP status: the socket is open)."""
    return SandboxApiError(200, code, message)


def _number(params: Mapping[str, str], name: str, bounds: tuple[float, float]) -> float:
    """A decimal query parameter within ``bounds`` (0 when absent); else the parameter error."""
    raw = params.get(name, "0")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    low, high = bounds
    if not low <= value <= high:
        raise _stream_error(
            STREAM_INVALID, f"`{name}` must be a number from {low:g} to {high:g}, not {raw!r}."
        )
    return value


def _subtitles(text: str, speed: float) -> list[dict[str, Any]]:
    """Each readable character's place in the audio (ms), as the stream's ``result.subtitles`` has them."""
    out: list[dict[str, Any]] = []
    begin = 0
    for index, ch in enumerate(text):
        if not ch.isalnum():
            continue
        end = begin + round(reading_seconds(ch, speed) * 1000)
        out.append(
            {
                "Text": ch,
                "BeginTime": begin,
                "EndTime": end,
                "BeginIndex": index,
                "EndIndex": index + 1,
                "Phoneme": None,
            }
        )
        begin = end
    return out


class _StreamFrames:
    """The text frames of one stream: the envelope Tencent wraps each in, with the call's ids."""

    def __init__(self, connection: ServerConnection, session_id: str) -> None:
        self._connection = connection
        self._session_id = session_id
        self._request_id = str(uuid.uuid4())
        self.sent_audio = 0

    def _send(
        self, *, code: int = 0, message: str = "success", final: int = 0, subtitles: Any = None
    ) -> None:
        frame = {
            "code": code,
            "message": message,
            "session_id": self._session_id,
            "request_id": self._request_id,
            "message_id": uuid.uuid4().hex,
            "result": {"subtitles": subtitles},
            "final": final,
        }
        self._connection.send(json.dumps(frame, ensure_ascii=False))

    def acknowledge(self) -> None:
        self._send()

    def subtitles(self, subtitles: list[dict[str, Any]]) -> None:
        self._send(subtitles=subtitles)

    def final(self) -> None:
        self._send(final=1)

    def error(self, code: int, message: str) -> None:
        """The error frame; the sandbox closes the connection after it."""
        self._send(code=code, message=message)
        self._connection.close()


# ----- the sandbox ---------------------------------------------------------------------------------


class TencentVrsSandbox(StreamingSandbox):
    """Tencent VRS's actions on the shared request skeleton: one path, the action in X-TC-Action.

    Beside them, on its WebSocket port, Tencent TTS's streaming synthesis (``stream_url``).
    """

    vendor_id: ClassVar[str] = VENDOR_ID
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {"": _FAULTS}
    # A wrong SecretKey fails the TC3 signature (a wrong SecretId: AuthFailure.SecretIdNotFound).
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential(
        "secret_key", "AuthFailure.SignatureFailure"
    )
    config_class: ClassVar[type[SandboxConfig]] = TencentVrsSandboxConfig
    config: TencentVrsSandboxConfig
    stream_path: ClassVar[str] = STREAM_PATH

    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES

    def _init_state(self) -> None:
        self.callbacks: list[CallbackAttempt] = []
        # Issued AudioId -> the TextId it was checked against.
        self.audio_ids: dict[str, str] = {}
        # Quality checks in flight now, and the most seen at once (shows a caller's fan-out).
        self._checks_in_flight = 0
        self.max_concurrent_checks = 0
        self._next_voice_type = FIRST_VOICE_TYPE
        # Issued AudioId -> the voiced part of that recording: a trained voice speaks from its recordings.
        self.audio_samples: dict[str, bytes] = {}

    @property
    def tasks(self) -> dict[str, SimulatedTask]:
        """The training tasks by TaskId (live objects)."""
        return dict(self._trainer.tasks)

    @property
    def requests_by_action(self) -> dict[str, int]:
        """Requests served, by X-TC-Action."""
        return self.requests

    def credentials(self) -> dict[str, str]:
        """The key pair. TextToVoice is served at this URL too, where the adapter sends it by default
        when its endpoint is not Tencent's (voiceclone.vendors.tencent_vrs.default_tts_endpoint)."""
        return {
            "secret_id": self.config.secret_id,
            "secret_key": self.config.secret_key,
            "app_id": self.config.app_id,
        }

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def route(self, request: SandboxRequest) -> Route:
        """One path for the whole API; the action and version travel in headers.

        Whether the action and version exist is decided after authentication
        (``_serve``): a caller who cannot sign learns nothing about the API.
        """
        action = request.headers.get("x-tc-action", "")
        if request.method != "POST" or request.path != "/":
            raise _error("UnsupportedProtocol", "The sandbox serves the API as `POST /` only.")
        if not action:
            raise _missing("X-TC-Action")
        if not request.headers.get("x-tc-version"):
            raise _missing("X-TC-Version")
        return Route(name=action, endpoint="_serve")

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        return _error("InvalidAction", f"The action `{route.name}` does not exist.")

    def too_large(self, request: SandboxRequest) -> SandboxApiError:
        return _error(
            "RequestSizeLimitExceeded",
            f"The request body must declare a Content-Length of at most {MAX_BODY_BYTES} bytes.",
        )

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        if route.name in ACTIONS[TTS_SERVICE]:  # TTS answers its fields in Response itself
            return json_response(200, {"Response": {**result, "RequestId": str(uuid.uuid4())}})
        return json_response(200, {"Response": {"Data": result, "RequestId": str(uuid.uuid4())}})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        failure = {"Code": error.code, "Message": error.message}
        return json_response(error.status, {"Response": {"Error": failure, "RequestId": str(uuid.uuid4())}})

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        """TC3 verification in Tencent's order: header shape, key id, clock, then the signature itself."""
        headers = request.headers
        parsed = tc3.parse_authorization(headers.get("authorization", ""))
        if parsed is None:
            raise _error("AuthFailure.InvalidAuthorization", "The `Authorization` header is not TC3.")
        # The scope's service stands for the host a client signs for (vrs. or tts.tencentcloudapi.com):
        # this one port serves both.
        service = parsed.service
        if service not in ACTIONS or parsed.signed_headers != tc3.SIGNED_HEADERS:
            raise _error(
                "AuthFailure.InvalidAuthorization",
                f"The credential scope must name service {' or '.join(ACTIONS)} "
                f"and SignedHeaders must be `{tc3.SIGNED_HEADERS}`.",
            )
        if not hmac.compare_digest(parsed.secret_id, self.config.secret_id):
            raise _error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        raw_timestamp = headers.get("x-tc-timestamp", "")
        if not raw_timestamp:
            raise _missing("X-TC-Timestamp")
        if not raw_timestamp.isdigit():
            raise _error("InvalidParameter", "`X-TC-Timestamp` must be unix seconds.")
        timestamp = int(raw_timestamp)
        if abs(time.time() - timestamp) > MAX_CLOCK_SKEW_SECONDS:
            raise _error(
                "AuthFailure.SignatureExpire",
                f"The signature expired: X-TC-Timestamp is more than {MAX_CLOCK_SKEW_SECONDS} s "
                "from server time.",
            )
        if parsed.date != tc3.scope_date(timestamp):
            raise _error(
                "AuthFailure.SignatureFailure",
                "The credential scope date is not the UTC date of X-TC-Timestamp.",
            )
        expected = tc3.signature(
            secret_key=self.config.secret_key,
            service=service,
            timestamp=timestamp,
            # The Host header as sent, port included: Tencent's SDK signs exactly that.
            host=headers.get("host", "").strip(),
            body=request.body,
            content_type=headers.get("content-type", ""),
        )
        if not hmac.compare_digest(expected, parsed.signature):
            raise _error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated: check the SecretKey and the signing steps.",
            )

    @staticmethod
    def _params(request: SandboxRequest) -> dict[str, Any]:
        return json_object(request.body, lambda message: _error("InvalidParameter", message))

    def _serve(self, request: SandboxRequest, route: Route) -> Any:
        """The action of the signed service, in that service's version; else Tencent's refusal."""
        parsed = tc3.parse_authorization(request.headers.get("authorization", ""))
        service = parsed.service if parsed is not None else SERVICE  # authenticate() parsed it
        operation = ACTIONS[service].get(route.name)
        if operation is None:
            raise _error("InvalidAction", f"The action `{route.name}` does not exist.")
        version = request.headers["x-tc-version"]
        wanted = VERSIONS[service]
        if version != wanted:
            raise _error("NoSuchVersion", f"The API version `{version}` does not exist: use {wanted}.")
        return getattr(self, operation)(request, route)

    # ----- actions --------------------------------------------------------------------------------

    def _get_training_text(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        _standard_clone_only(self._params(request))
        return {"TrainingTextList": [{"TextId": text_id, "Text": text} for text_id, text in TRAINING_TEXTS]}

    def _detect_env_and_sound_quality(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request)
        with self._lock:
            self._checks_in_flight += 1
            self.max_concurrent_checks = max(self.max_concurrent_checks, self._checks_in_flight)
        try:
            return self._detect(params)
        finally:
            with self._lock:
                self._checks_in_flight -= 1

    def _detect(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.config.check_latency_ms:
            time.sleep(self.config.check_latency_ms / 1000)
        _standard_clone_only(params)
        text_id = _require_str(params, "TextId")
        text = _TEXTS.get(text_id)
        if text is None:
            raise _error(
                "InvalidParameterValue",
                f"`TextId` {text_id!r} is not one of the training texts (00001..00020).",
            )
        type_id = _int_param(params, "TypeId")
        if type_id not in (1, 2):
            raise _error("InvalidParameterValue", "`TypeId` must be 1 (environment) or 2 (quality).")
        _check_codec_and_rate(params)
        try:
            audio = base64.b64decode(_require_str(params, "AudioData"), validate=True)
        except (binascii.Error, ValueError):
            raise _error("InvalidParameterValue.AudioData", "`AudioData` is not valid base64.") from None

        by_problem = {f.problem: f.message for f in check_wav(audio, sample_rate=SAMPLE_RATE)}
        for problem in _BAD_AUDIO:
            if problem in by_problem:
                raise _error("InvalidParameterValue.AudioData", f"Invalid audio: {by_problem[problem]}.")
        if AudioProblem.SAMPLE_RATE_MISMATCH in by_problem:
            raise _error(
                "InvalidParameterValue.SampleRate",
                f"Invalid sample rate: {by_problem[AudioProblem.SAMPLE_RATE_MISMATCH]}.",
            )
        if AudioProblem.TOO_LONG in by_problem:
            raise _error(
                "InvalidParameterValue.AudioDurationExceedsLimit",
                f"Audio too long: {by_problem[AudioProblem.TOO_LONG]}.",
            )
        for problem in (AudioProblem.SILENT, AudioProblem.TOO_SHORT):
            if problem in by_problem:
                # Nothing recognisable was read: every character of the sentence is reported missing (Tag 2).
                missing = [
                    {"PronAccuracy": 0.0, "PronFluency": 0.0, "Tag": 2, "Word": ch}
                    for ch in text
                    if not ch.isspace()
                ]
                return {
                    "AudioId": "",
                    "DetectionCode": -2,
                    "DetectionMsg": f"Not passed: words are missing ({by_problem[problem]}).",
                    "DetectionTip": missing,
                }
        if AudioProblem.CLIPPED in by_problem:
            return {
                "AudioId": "",
                "DetectionCode": -3,
                "DetectionMsg": f"Too noisy: {by_problem[AudioProblem.CLIPPED]}.",
                "DetectionTip": [],
            }
        audio_id = ""
        if type_id == 2:
            audio_id = "audio" + uuid.uuid4().hex
            sample = voice_sample(audio)
            with self._lock:
                self.audio_ids[audio_id] = text_id
                self.audio_samples[audio_id] = sample
        return {"AudioId": audio_id, "DetectionCode": 0, "DetectionMsg": "Success", "DetectionTip": []}

    def _create_vrs_task(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request)
        _standard_clone_only(params)
        session_id = _require_str(params, "SessionId")
        voice_name = _require_str(params, "VoiceName")
        if not voice_name.strip():
            raise _error("InvalidParameterValue.VoiceName", "`VoiceName` must not be empty.")
        gender = _int_param(params, "VoiceGender")
        if gender not in (1, 2):
            raise _error("InvalidParameterValue.VoiceGender", "`VoiceGender` must be 1 (male) or 2 (female).")
        if _int_param(params, "VoiceLanguage") != 1:
            raise _error("InvalidParameterValue.VoiceLanguage", "`VoiceLanguage` must be 1 (Chinese).")
        audio_ids = params.get("AudioIdList")
        if audio_ids is None:
            raise _missing("AudioIdList")
        if not isinstance(audio_ids, list) or not audio_ids or not all(isinstance(a, str) for a in audio_ids):
            raise _error("InvalidParameter", "`AudioIdList` must be a non-empty list of AudioIds.")
        _check_codec_and_rate(params)
        callback_url = params.get("CallbackUrl") or None
        if callback_url is not None and (
            not isinstance(callback_url, str) or urlsplit(callback_url).scheme not in ("http", "https")
        ):
            raise _error("InvalidParameter", "`CallbackUrl` must be an http(s) URL.")

        with self._lock:
            # SessionId identifies the request: a repeated create (its answer lost) gets the same task.
            for existing in self._trainer.tasks.values():
                if existing.meta["session_id"] == session_id:
                    return {"TaskId": existing.task_id}
            unknown = [a for a in audio_ids if a not in self.audio_ids]
            if unknown:
                raise _error(
                    "InvalidParameter",
                    f"`AudioIdList` holds ids that no quality check issued: {', '.join(unknown)}.",
                )
            voice_type = 0
            if not self.config.fail_training:
                voice_type = self._next_voice_type
                self._next_voice_type += 1
            task = self._trainer.create(
                on_finish=self._finished,
                task_id=str(uuid.uuid4()),
                session_id=session_id,
                voice_name=voice_name,
                voice_gender=gender,
                callback_url=callback_url,
                created_at=datetime.now(UTC),
                voice_type=voice_type,
                # What the voice will speak from: its recordings, in the order given.
                voice_sample=b"".join(self.audio_samples[a] for a in audio_ids)[: int(30 * SAMPLE_RATE) * 2],
            )
        if self.drop_create_response():
            raise DropConnection
        return {"TaskId": task.task_id}

    def _describe_vrs_task_status(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        task_id = _require_str(self._params(request), "TaskId")
        task = self._trainer.tasks.get(task_id)
        if task is None:
            raise _error("FailedOperation.NoSuchTask", f"No task with TaskId {task_id!r}.")
        return _describe(task)

    def _get_vrs_voice_types(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        task_type = _int_param(self._params(request), "TaskType", 0)
        if task_type not in (0, 5):
            raise _error("InvalidParameterValue", "`TaskType` must be 0 (all but fast clones) or 5.")
        now = time.monotonic()
        # The sandbox makes no fast (one-sentence) clones: TaskType 5 lists none.
        voices = [_voice_info(t) for t in self._voices(now)] if task_type == 0 else []
        return {"VoiceTypeList": voices}

    def _get_vrs_voice_type_info(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """One trained voice by VoiceType (the fast clones' FastVoiceType finds none here)."""
        params = self._params(request)
        voice_type = _int_param(params, "VoiceType")
        task_type = _int_param(params, "TaskType", 0)
        if task_type not in (0, 5):
            raise _error("InvalidParameterValue", "`TaskType` must be 0 (all but fast clones) or 5.")
        if task_type == 0:
            for task in self._voices(time.monotonic()):
                if task.meta["voice_type"] == voice_type:
                    return _voice_info(task)
        raise _error("InvalidParameter", f"`VoiceType` {voice_type} is not a voice of this account.")

    def _voices(self, now: float) -> list[SimulatedTask]:
        """The tasks whose training succeeded: the account's voices."""
        return [t for t in list(self._trainer.tasks.values()) if t.state(now) is TrainingState.SUCCEEDED]

    def _not_open(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """CancelVRSTask and DownloadVRSModel: in the SDK, but not open (Tencent's API index says so)."""
        raise _error("UnsupportedOperation", f"The action `{route.name}` is not open yet.")

    def _text_to_voice(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """TextToVoice: the trained voice reads the text, in the codec and rate asked.

        See docs/vendors/tencent_vrs.md, Operations.
        """
        return self.synthesize_within_quota(
            self._params(request),
            lambda quota: _error(
                "LimitExceeded.AccessLimit", f"More than {quota} concurrent requests: retry later."
            ),
            self._speak,
        )

    def _speak(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("Text")
        if text is None:
            raise _error("InvalidParameterValue.Text", "The request is missing `Text`.")
        if not isinstance(text, str):
            raise _error("InvalidParameterValue.InvalidText", "`Text` must be a string.")
        if not text.strip():
            raise _error("InvalidParameterValue.TextEmpty", "`Text` is empty.")
        if not any(ch.isalnum() for ch in text):
            raise _error("InvalidParameterValue.InvalidText", "`Text` has no character that can be read.")
        chinese = any(ord(ch) > 0x7F for ch in text)
        limit = TTS_MAX_CJK_CHARS if chinese else TTS_MAX_LETTERS
        if len(text) > limit:
            raise _error(
                "InvalidParameterValue.TextTooLong",
                f"`Text` is {len(text)} characters: at most {TTS_MAX_CJK_CHARS} Chinese characters "
                f"or {TTS_MAX_LETTERS} English letters.",
            )
        session_id = params.get("SessionId")
        if not isinstance(session_id, str) or not session_id:
            raise _error("InvalidParameterValue.SessionId", "`SessionId` must be a non-empty string.")
        codec = params.get("Codec", "wav")
        if codec not in TTS_CODECS:
            raise _error("InvalidParameterValue.Codec", f"`Codec` {codec!r} is not one of wav, mp3, pcm.")
        rate = _int_param(params, "SampleRate", SAMPLE_RATE)
        if rate not in TTS_SAMPLE_RATES:
            raise _error(
                "InvalidParameterValue.SampleRate",
                f"`SampleRate` {rate} is not supported: use {' or '.join(map(str, TTS_SAMPLE_RATES))}.",
            )
        speed = _tts_speed(params.get("Speed", 0))
        volume = params.get("Volume", 0)
        if isinstance(volume, bool) or not isinstance(volume, int | float) or not -10 <= volume <= 10:
            raise _error("InvalidParameterValue.Volume", "`Volume` must be a number from -10 to 10.")
        voice_type = _int_param(params, "VoiceType")
        if params.get("FastVoiceType"):
            raise _error(
                "InvalidParameterValue.VoiceType",
                "The sandbox makes no one-sentence clones: this `FastVoiceType` is not one of its voices.",
            )
        sample = self._voice_sample(voice_type)
        if sample is None:
            raise _error(
                "InvalidParameterValue.VoiceType",
                f"`VoiceType` {voice_type} is not a voice of this account (or its training did not succeed).",
            )
        audio = speak(sample, text, fmt=codec, sample_rate=rate, speed=speed, rate=SAMPLE_RATE)
        return {"Audio": base64.b64encode(audio).decode("ascii"), "SessionId": session_id, "Subtitles": []}

    def _voice_sample(self, voice_type: int) -> bytes | None:
        now = time.monotonic()
        for task in list(self._trainer.tasks.values()):
            if task.meta["voice_type"] == voice_type and task.state(now) is TrainingState.SUCCEEDED:
                sample: bytes = task.meta["voice_sample"]
                return sample
        return None

    # ----- streaming speech (stream_ws) -------------------------------------------------------------

    def serve_stream(self, connection: ServerConnection) -> None:
        """One TextToStreamAudioWS call: verify the signed URL, acknowledge, audio frames, ``final``.

        Every refusal is one text frame with a non-zero ``code``, then the sandbox closes; after the
        final frame the client is expected to close (``StreamRecord.closed_by_client``).
        """
        request = connection.request
        assert request is not None  # the handler runs after the handshake
        params = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        frames = _StreamFrames(connection, params.get("SessionId", ""))
        record: StreamRecord | None = None
        try:
            try:
                self._verify_stream(params, _canonical_host(request.headers.get("Host", "")))
                record = self.begin_stream(params)
                if record is None:
                    raise _stream_error(
                        STREAM_CONCURRENCY, f"More than {self.config.stream_concurrency} streams at once."
                    )
                chunks, subtitles = self._stream_audio(params)
            except SandboxApiError as exc:
                if record is not None:
                    record.outcome = f"failed {exc.code}"
                frames.error(int(exc.code), exc.message)
                return
            frames.acknowledge()

            def send(chunk: bytes, last: bool) -> None:
                connection.send(chunk)
                if subtitles is not None and frames.sent_audio == 0:
                    frames.subtitles(subtitles)
                frames.sent_audio += 1

            finished = self.play(
                record,
                chunks,
                send=send,
                fail=lambda code: frames.error(
                    code or STREAM_SYNTHESIS_FAILED,
                    "Synthesis failed in the engine (injected by the sandbox).",
                ),
                drop=connection.close,
            )
            if finished:
                record.outcome = "final"
                frames.final()
                record.closed_by_client = client_closes(connection)
        except ConnectionClosed:
            if record is not None:
                record.outcome = record.outcome or "abandoned by the client"
        finally:
            if record is not None:
                self.end_stream(record)

    def _verify_stream(self, params: dict[str, str], host: str) -> None:
        """The URL's signature, in the SDKs' terms: sorted decoded parameters after ``GET<host><path>?``."""
        if params.get("Action") != STREAM_ACTION:
            raise _stream_error(STREAM_INVALID, f"`Action` must be {STREAM_ACTION} on {STREAM_PATH}.")
        missing = [name for name in STREAM_REQUIRED if not params.get(name)]
        if missing:
            raise _stream_error(STREAM_INVALID, f"Missing parameters: {', '.join(missing)}.")
        for name in ("AppId", "Timestamp", "Expired"):
            if not params[name].isdigit():
                raise _stream_error(STREAM_INVALID, f"`{name}` must be an integer.")
        config = self.config
        if params["AppId"] != config.app_id:
            raise _stream_error(
                STREAM_AUTH, "Authentication failed: the AppId is not this SecretId's account."
            )
        if not hmac.compare_digest(params["SecretId"].encode(), config.secret_id.encode()):
            raise _stream_error(STREAM_AUTH, "Authentication failed: the SecretId is not found.")
        timestamp, expired = int(params["Timestamp"]), int(params["Expired"])
        if not 0 < expired - timestamp < STREAM_MAX_VALIDITY_SECONDS:
            raise _stream_error(
                STREAM_AUTH, "Authentication failed: Expired must be after Timestamp, by less than 90 days."
            )
        if expired <= time.time():
            raise _stream_error(STREAM_AUTH, "Authentication failed: the signature has expired.")
        signed = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "Signature")
        digest = hmac.new(
            config.secret_key.encode(), f"GET{host}{STREAM_PATH}?{signed}".encode(), hashlib.sha1
        ).digest()
        if not hmac.compare_digest(base64.b64encode(digest), params["Signature"].encode()):
            raise _stream_error(STREAM_AUTH, "Authentication failed: the signature does not match.")

    def _stream_audio(self, params: dict[str, str]) -> tuple[list[bytes], list[dict[str, Any]] | None]:
        """The voice reading ``Text`` as TextToVoice would (the same audio), in chunks; and its subtitles
        when ``EnableSubtitle`` asks for them."""
        text = params["Text"]
        if not any(ch.isalnum() for ch in text):
            raise _stream_error(STREAM_INVALID, "`Text` has nothing that can be read.")
        chinese = any(ord(ch) > 0x7F for ch in text)
        if len(text) > (STREAM_MAX_CJK_CHARS if chinese else STREAM_MAX_LETTERS):
            raise _stream_error(
                STREAM_INVALID,
                f"`Text` is {len(text)} characters: at most {STREAM_MAX_CJK_CHARS} Chinese characters "
                f"or {STREAM_MAX_LETTERS} English letters.",
            )
        codec = params.get("Codec", "pcm")
        if codec not in STREAM_CODECS:
            raise _stream_error(STREAM_INVALID, f"`Codec` {codec!r} is not one of pcm, mp3.")
        rate = params.get("SampleRate", str(SAMPLE_RATE))
        if rate not in {str(r) for r in TTS_SAMPLE_RATES}:
            raise _stream_error(STREAM_INVALID, f"`SampleRate` {rate} is not supported: use 16000 or 8000.")
        speed = _number(params, "Speed", STREAM_SPEED_RANGE)
        _number(params, "Volume", STREAM_VOLUME_RANGE)
        if params.get("FastVoiceType"):
            raise _stream_error(
                STREAM_INVALID, "The sandbox makes no one-sentence clones: `FastVoiceType` is not its voice."
            )
        voice_type = params.get("VoiceType", "0")
        sample = self._voice_sample(int(voice_type)) if voice_type.isdigit() else None
        if sample is None:
            raise _stream_error(
                STREAM_INVALID, f"`VoiceType` {voice_type} is not a voice of this account (or not trained)."
            )
        factor = _tts_speed(speed)
        audio = speak(sample, text, fmt=codec, sample_rate=int(rate), speed=factor, rate=SAMPLE_RATE)
        chunks = chunk_audio(audio, codec, int(rate), self.config.stream_chunk_ms)
        wanted = params.get("EnableSubtitle", "false").lower() in ("true", "1")
        return chunks, _subtitles(text, factor) if wanted else None

    # ----- training completion and callbacks ------------------------------------------------------

    def _finished(self, task: SimulatedTask) -> None:
        """Runs when training ends: POST the status fields (as DescribeVRSTaskStatus has them)."""
        url = task.meta["callback_url"]
        if url and self.config.callback_enabled:
            attempts = self.post_callback(task.task_id, url, _describe(task))
            with self._lock:
                self.callbacks.extend(attempts)
