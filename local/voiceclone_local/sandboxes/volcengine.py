"""A local Volcengine voice clone: both API planes on one port, real auth and audio checks, fake training.

It lets the adapter and the workflow clone a voice without an account and without
spending any of a speaker slot's ten uploads. The wire format follows
docs/vendors/volcengine.md#sandbox (not #where-other-descriptions-of-the-api-differ): the speech data
plane (``/api/v1/mega_tts/...``) takes ``Authorization: Bearer;{token}`` (with or
without a space after the semicolon: the vendor's demos write both) and a
``Resource-Id``, the upload is JSON with one base64 audio that is decoded and
inspected for real, and the status is a POST answering integers 0–4. The console OpenAPI
(``/?Action=...&Version=2023-11-07``) verifies the V4 signature with its own key,
lists the slots page by page (``BatchListMegaTTSTrainStatus``) or at once
(``ListMegaTTSTrainStatus``), and activates trained slots (``ActivateMegaTTSTrainStatus``).

Where the docs are silent the sandbox chooses, and says so here: parameter errors
are HTTP 400 and audio errors HTTP 200, both with a non-zero ``BaseResp.StatusCode``;
a bad token is HTTP 401 and an app id or Resource-Id the token does not cover is
HTTP 403; throttling and internal errors repeat the HTTP status as ``StatusCode``;
a failed training shows as ``Unknown`` in the console (it has no failed state);
an upload without ``model_type`` trains the legacy model 0 (the API's default);
and every upload that reaches the audio check spends
one of the slot's uploads, whether the audio passes or not.

The V1 TTS is served over HTTP and, on a WebSocket port of its own (``stream_url``), over the
binary protocol (``/api/v1/tts/ws_binary``): the same audio in 100 ms audio-only frames, the
last one numbered negative, with the stream knobs of voiceclone_local.sandboxes.streaming
(docs/vendors/volcengine.md#streaming-speech).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import json
import os
import struct
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field
from voiceclone.domain.audio import AudioProblem
from voiceclone.vendors.config import env_name
from voiceclone.vendors.signing import volc_v4
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection
from werkzeug.routing import Map, Rule

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
    CLIENT_WAIT_SECONDS,
    StreamingSandbox,
    StreamingSandboxConfig,
    StreamRecord,
    chunk_audio,
    client_closes,
    json_refusal,
)
from voiceclone_local.sandboxes.training import SimulatedTask, TrainingState

VENDOR_ID = "volcengine"

# Public, fixed sandbox credentials (not secrets): the local stack and tests use them by default.
DEFAULT_APPID = "2100000001"
DEFAULT_ACCESS_TOKEN = "sandbox-volcengine-access-token"  # noqa: S105
DEFAULT_ACCESS_KEY_ID = "AKLTsandboxvoiceclone000000000"
DEFAULT_SECRET_ACCESS_KEY = "sandbox-volcengine-secret-access-key"  # noqa: S105
DEFAULT_SPEAKER_IDS: tuple[str, ...] = ("S_sandbox001", "S_sandbox002", "S_sandbox003")
DEFAULT_RESOURCE_IDS: tuple[str, ...] = ("seed-icl-1.0", "seed-icl-2.0", "volc.megatts.voiceclone")

UPLOAD_PATH = "/api/v1/mega_tts/audio/upload"
# Speech with a cloned voice: the V1 HTTP TTS (docs/vendors/volcengine.md, Operations), its own
# answer shape and codes.
TTS_PATH = "/api/v1/tts"
TTS_CLUSTERS = ("volcano_icl", "volcano_icl_concurr")
TTS_ENCODINGS = ("pcm", "wav", "mp3")  # ogg_opus too at Volcengine; the sandbox does not make it
TTS_RATES = (24000, 16000, 8000)
TTS_MAX_TEXT_BYTES = 1024
TTS_SPEED_RANGE = (0.2, 3.0)
TTS_OK, TTS_INVALID, TTS_CONCURRENCY, TTS_BUSY, TTS_REQID_REUSED = 3000, 3001, 3003, 3005, 3006
TTS_TEXT_TOO_LONG, TTS_INVALID_TEXT, TTS_INTERNAL, TTS_VOICE_NOT_FOUND = 3010, 3011, 3031, 3050
STATUS_PATH = "/api/v1/mega_tts/status"
# The same TTS over WebSocket, binary protocol v1 (docs/vendors/volcengine.md, Streaming speech), on the
# sandbox's WebSocket port: the request of the HTTP TTS in a gzip-or-plain JSON frame, audio-only frames
# back. WAV does not stream.
WS_PATH = "/api/v1/tts/ws_binary"
WS_ENCODINGS = ("pcm", "mp3")
WS_FULL_CLIENT_REQUEST, WS_AUDIO_ONLY, WS_ERROR = 0b0001, 0b1011, 0b1111
WS_POSITIVE_SEQUENCE, WS_NEGATIVE_SEQUENCE = 0b0001, 0b0011
WS_JSON, WS_GZIP = 0b0001, 0b0001
CONSOLE_ROUTE = "/?Action"
LIST_ACTION = "BatchListMegaTTSTrainStatus"
CONSOLE_VERSION = "2023-11-07"
# The console actions served (docs/vendors/volcengine.md, Sandbox): the paginated list, the unpaged
# list and the activation that the doc's Python demo calls. Any other is an unknown action.
CONSOLE_ACTIONS = {
    LIST_ACTION: "_batch_list",
    "ListMegaTTSTrainStatus": "_list",
    "ActivateMegaTTSTrainStatus": "_activate",
}
SAMPLE_RATE = 16000
SOURCE = 2
AUDIO_FORMATS = ("wav", "mp3", "ogg", "m4a", "aac", "pcm")
# 0 is the legacy model (MEGA), the API's default when an upload names none; 1 ICL 1.0, 2 DiT standard,
# 3 DiT restore, 4 ICL 2.0.
MODEL_TYPES = (0, 1, 2, 3, 4)
DEFAULT_MODEL_TYPE = 0
# Languages by model_type (docs/vendors/volcengine.md#limits): 0 zh, 1 en, 2 ja, 3 es, 4 id, 5 pt, 6 de, 7 fr.
_LANGUAGES: dict[int, tuple[int, ...]] = {
    0: tuple(range(6)),
    1: tuple(range(6)),
    2: tuple(range(8)),
    3: (0, 1),
    4: (0, 1),
}
# Volcengine's answers to the injected faults. The speech plane repeats the HTTP status as StatusCode
# (its code list has none for these); the console uses the OpenAPI gateway's codes.
_SPEECH_FAULTS = {
    Fault.THROTTLE: Refusal(429, 429, "too many requests: rate limit exceeded, retry later"),
    Fault.INTERNAL: Refusal(500, 500, "internal error: retry later"),
    Fault.UNAVAILABLE: Refusal(503, 503, "service unavailable: retry later"),
}
_TTS_FAULTS = {
    Fault.THROTTLE: Refusal(429, TTS_CONCURRENCY, "concurrency quota exceeded, retry later"),
    Fault.INTERNAL: Refusal(500, TTS_INTERNAL, "internal error, retry later"),
    Fault.UNAVAILABLE: Refusal(503, TTS_BUSY, "server busy, retry later"),
}
_CONSOLE_FAULTS = {
    Fault.THROTTLE: Refusal(429, "AccountFlowLimitExceeded", "Request was denied due to flow limit."),
    Fault.INTERNAL: Refusal(500, "InternalError", "Service has some internal Error. Retry later."),
    Fault.UNAVAILABLE: Refusal(503, "ServiceUnavailable", "Service is temporarily unavailable. Retry later."),
}
# Which model types a Resource-Id serves (the old id serves them all).
_RESOURCE_MODELS: dict[str, tuple[int, ...]] = {"seed-icl-1.0": (0, 1, 2, 3), "seed-icl-2.0": (4,)}
LOG_ID_HEADER = "X-Tt-Logid"
CONSOLE_REQUEST_ID_HEADER = "X-Top-Request-Id"

STATUS_NOT_FOUND, STATUS_TRAINING, STATUS_SUCCESS, STATUS_FAILED, STATUS_ACTIVE = 0, 1, 2, 3, 4
BAD_REQUEST = 1001
# Data-plane codes by name (docs/vendors/volcengine.md#errors).
GET_AUDIO_DATA_ERROR, SPEAKER_NOT_FOUND, AUDIO_CONVERT_ERROR = 1105, 1107, 1108
AED_ERROR, AUDIO_QUALITY_ERROR, UPLOAD_LIMIT = 1111, 1114, 1123
CODE_NAMES: dict[int, str] = {
    1001: "BadRequestError",
    1101: "AudioUploadError",
    1102: "ASRError",
    1103: "SIDError",
    1104: "SIDFailError",
    1105: "GetAudioDataError",
    1106: "SpeakerIDDuplicationError",
    1107: "SpeakerIDNotFoundError",
    1108: "AudioConvertError",
    1109: "WERError",
    1111: "AEDError",
    1112: "SNRError",
    1113: "DenoiseError",
    1114: "AudioQualityError",
    1122: "ASRNoSpeakerError",
    1123: "UploadLimitError",
}
# What the inspection finds -> the code Volcengine answers, most fundamental first.
_AUDIO_CODES: tuple[tuple[AudioProblem, int], ...] = (
    (AudioProblem.EMPTY, GET_AUDIO_DATA_ERROR),
    (AudioProblem.NOT_WAV, GET_AUDIO_DATA_ERROR),
    (AudioProblem.TRUNCATED, GET_AUDIO_DATA_ERROR),
    (AudioProblem.UNSUPPORTED_ENCODING, AUDIO_CONVERT_ERROR),
    (AudioProblem.SAMPLE_RATE_MISMATCH, AUDIO_CONVERT_ERROR),
    (AudioProblem.SILENT, AED_ERROR),
    (AudioProblem.TOO_SHORT, AUDIO_QUALITY_ERROR),
    (AudioProblem.TOO_LONG, AUDIO_QUALITY_ERROR),
    (AudioProblem.CLIPPED, AUDIO_QUALITY_ERROR),
)


def _default_speaker_ids() -> list[str]:
    configured = os.environ.get(env_name(VENDOR_ID, "speaker_ids"), "")
    ids = [s.strip() for s in configured.split(",") if s.strip()]
    return ids or list(DEFAULT_SPEAKER_IDS)


class VolcengineSandboxConfig(StreamingSandboxConfig):
    """Credentials, the app's speaker slots, limits and the shared fault knobs; changeable while running."""

    appid: str = Field(default_factory=env_or(VENDOR_ID, "appid", DEFAULT_APPID))
    # repr=False: the config may end up in a log line or a test failure message.
    access_token: str = Field(
        default_factory=env_or(VENDOR_ID, "access_token", DEFAULT_ACCESS_TOKEN), repr=False
    )
    access_key_id: str = Field(default_factory=env_or(VENDOR_ID, "access_key_id", DEFAULT_ACCESS_KEY_ID))
    secret_access_key: str = Field(
        default_factory=env_or(VENDOR_ID, "secret_access_key", DEFAULT_SECRET_ACCESS_KEY),
        repr=False,
    )
    # The slots "bought in the console" for the app; adding one here makes it exist at once.
    speaker_ids: list[str] = Field(default_factory=_default_speaker_ids)
    resource_ids: list[str] = Field(default_factory=lambda: list(DEFAULT_RESOURCE_IDS))
    uploads_per_speaker: int = Field(default=10, ge=1)
    min_seconds: float = Field(default=5.0, ge=0)
    max_seconds: float = Field(default=600.0, gt=0)
    max_audio_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # The console's PageSize/MaxResults ceiling; lower it to make a client walk several pages.
    max_page_size: int = Field(default=100, ge=1, le=100)
    # How far X-Date may be from the sandbox clock (InvalidTimestamp beyond).
    clock_skew_seconds: int = Field(default=900, ge=0)
    # When set, uploads that pass the checks answer this StatusCode instead (e.g. 1109, 1112).
    force_upload_status: int | None = None
    # TTS: calls at once for the app (more answer 3003) and a pause added to each (a caller's fan-out shows).
    tts_concurrency: int = Field(default=2, ge=1)
    tts_latency_ms: int = Field(default=0, ge=0)


def _speech_error(http_status: int, code: int, message: str) -> SandboxApiError:
    """A data-plane answer with a non-zero BaseResp.StatusCode."""
    return SandboxApiError(http_status, code, message)


def _console_error(http_status: int, code: str, message: str) -> SandboxApiError:
    """A console answer with ResponseMetadata.Error."""
    return SandboxApiError(http_status, code, message)


def _bad_request(message: str) -> SandboxApiError:
    return _speech_error(400, BAD_REQUEST, message)


def _audio_error(code: int, message: str) -> SandboxApiError:
    return _speech_error(200, code, f"{CODE_NAMES.get(code, 'Error')}: {message}")


@dataclass
class Slot:
    """One speaker slot; its status follows its latest training, if any."""

    speaker_id: str
    resource_id: str
    uploads: int = 0
    trainings: int = 0
    task: SimulatedTask | None = None
    created_ms: int = 0
    activated: bool = False
    order_ms: int = 0
    # The voiced part of the latest upload: what the trained voice speaks from.
    voice: bytes = b""

    def status(self) -> int:
        if self.task is None:
            return STATUS_NOT_FOUND
        state = self.task.state()
        if state is TrainingState.SUCCEEDED:
            return STATUS_ACTIVE if self.activated else STATUS_SUCCESS
        if state is TrainingState.FAILED:
            return STATUS_FAILED
        return STATUS_TRAINING

    def console_state(self) -> str:
        status = self.status()
        if status == STATUS_TRAINING:
            return "Training"
        if status == STATUS_SUCCESS:
            return "Success"
        if status == STATUS_ACTIVE:
            return "Active"
        return "Unknown"  # never trained, or the training failed: the console has no failed state

    def version(self) -> str:
        return f"V{self.trainings}" if self.trainings else ""

    def describe(self) -> dict[str, Any]:
        """The status call's answer fields."""
        status = self.status()
        usable = status in (STATUS_SUCCESS, STATUS_ACTIVE)
        return {
            "speaker_id": self.speaker_id,
            "status": status,
            "create_time": self.created_ms,
            "version": self.version(),
            "demo_audio": f"https://sandbox.invalid/demo/{self.speaker_id}.wav" if usable else "",
        }

    def console_row(self, uploads_per_speaker: int) -> dict[str, Any]:
        """The listing row: an untouched slot shows only its id and state, as Volcengine's do."""
        state = self.console_state()
        left = max(0, uploads_per_speaker - self.uploads)
        if self.trainings == 0:
            row: dict[str, Any] = {"SpeakerID": self.speaker_id, "State": state}
            if self.uploads:
                row["AvailableTrainingTimes"] = left
            return row
        return {
            "SpeakerID": self.speaker_id,
            "State": state,
            "CreateTime": self.created_ms,
            "DemoAudio": self.describe()["demo_audio"],
            "InstanceNO": f"Model_storage_sandbox_{self.speaker_id}",
            "IsActivable": state == "Success",
            "Version": self.version(),
            "ExpireTime": self.order_ms + 365 * 86400 * 1000,
            "OrderTime": self.order_ms,
            "Alias": "",
            "AvailableTrainingTimes": left,
            "ResourceID": self.resource_id,
        }


def _tts_invalid(message: str) -> SandboxApiError:
    return _speech_error(400, TTS_INVALID, message)


def _section(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if not isinstance(value, dict):
        raise _tts_invalid(f"{name} must be an object")
    return value


def _reqid_of(body: bytes) -> str:
    """The request's reqid, for an error answer (empty when the body is not the TTS request)."""
    try:
        value = json.loads(body)
    except ValueError:
        return ""
    request = value.get("request") if isinstance(value, dict) else None
    reqid = request.get("reqid") if isinstance(request, dict) else None
    return reqid if isinstance(reqid, str) else ""


@dataclass(frozen=True)
class TtsAsk:
    """A checked TTS request: what to say, how, and the voice to say it with."""

    reqid: str
    operation: str
    text: str
    encoding: str
    rate: int
    speed: float
    sample: bytes

    def speak(self) -> bytes:
        return speak(self.sample, self.text, fmt=self.encoding, sample_rate=self.rate, speed=self.speed)


def _ws_request(message: str | bytes) -> tuple[dict[str, Any], bool]:
    """The full client request (header, payload size, JSON maybe gzip) and whether it was compressed."""
    if not isinstance(message, bytes):
        raise _tts_invalid("send the request in a binary frame: this is the binary protocol")
    if len(message) < 8 or message[0] >> 4 != 1 or message[0] & 0x0F < 1:
        raise _tts_invalid("the frame does not start with a protocol version 1 header")
    body = message[(message[0] & 0x0F) * 4 :]
    if message[1] >> 4 != WS_FULL_CLIENT_REQUEST or message[1] & 0x0F:
        raise _tts_invalid("the first frame must be a full client request (message type 0b0001, no flags)")
    serialization, compression = message[2] >> 4, message[2] & 0x0F
    if serialization != WS_JSON or compression not in (0, WS_GZIP):
        raise _tts_invalid("the request must be JSON, plain or gzip")
    if len(body) < 4 or struct.unpack_from(">I", body)[0] != len(body) - 4:
        raise _tts_invalid("the payload size does not match the payload")
    payload = body[4:]
    if compression == WS_GZIP:
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError):
            raise _tts_invalid("the payload is not gzip") from None
    return json_object(payload, _tts_invalid, empty=False), compression == WS_GZIP


def _ws_audio(sequence: int, chunk: bytes) -> bytes:
    """An audio-only response: positive sequence numbers, the last one negative; raw, uncompressed."""
    flags = WS_NEGATIVE_SEQUENCE if sequence < 0 else WS_POSITIVE_SEQUENCE
    header = bytes([0x11, (WS_AUDIO_ONLY << 4) | flags, 0x00, 0x00])
    return header + struct.pack(">iI", sequence, len(chunk)) + chunk


def _ws_error(code: int, message: str, compress: bool) -> bytes:
    """An error message frame: the code, the message's size, the message (gzip when the request was)."""
    payload = message.encode("utf-8")
    if compress:
        payload = gzip.compress(payload)
    header = bytes([0x11, WS_ERROR << 4, WS_GZIP if compress else 0x00, 0x00])
    return header + struct.pack(">II", code, len(payload)) + payload


def _int_field(params: dict[str, Any], name: str) -> int | None:
    return optional_int(params, name, _bad_request)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _bearer_token(header: str) -> bytes:
    """The token of ``Bearer;{token}``, with or without a space after the semicolon.

    The doc's header table and HTTP demo write ``Bearer;{token}``, its prose and
    WebSocket demo ``Bearer; {token}``: the vendor's own clients send both.
    """
    scheme, separator, token = header.partition(";")
    if scheme.strip() != "Bearer" or not separator:
        return b""
    return token.strip().encode("utf-8", "replace")


class VolcengineSandbox(StreamingSandbox):
    """Both Volcengine planes on the shared request skeleton: speech API by path, console by Action."""

    vendor_id: ClassVar[str] = VENDOR_ID
    # By plane: the speech data plane (training), its TTS, and the console.
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {
        "speech": _SPEECH_FAULTS,
        "tts": _TTS_FAULTS,
        "console": _CONSOLE_FAULTS,
    }
    # The data plane's token (the console's AK/SK sign apart); its refusal is the generic 1001.
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential(
        "access_token", str(BAD_REQUEST)
    )
    config_class: ClassVar[type[SandboxConfig]] = VolcengineSandboxConfig
    routes: ClassVar[Map] = Map(
        [
            Rule(UPLOAD_PATH, methods=["POST"], endpoint="_upload"),
            Rule(STATUS_PATH, methods=["POST"], endpoint="_status"),
            Rule(TTS_PATH, methods=["POST"], endpoint="_tts"),
        ]
    )
    config: VolcengineSandboxConfig
    stream_path: ClassVar[str] = WS_PATH

    def _init_state(self) -> None:
        self._slots: dict[str, Slot] = {}
        self._uploads: Counter[str] = Counter()
        # TTS: the reqids seen (calls in flight and requests are counted by the base).
        self._reqids: set[str] = set()

    @classmethod
    def local_config(cls) -> VolcengineSandboxConfig:
        """Each cloned voice takes a speaker slot bought in the console: the local stack gets plenty."""
        return VolcengineSandboxConfig(speaker_ids=[f"S_local{i:03d}" for i in range(1, 201)])

    @property
    def uploads_by_speaker(self) -> dict[str, int]:
        """Uploads that reached the audio check, per slot, passed or not (each spends one of ten)."""
        with self._lock:
            return dict(self._uploads)

    def slot(self, speaker_id: str) -> Slot | None:
        """A configured slot (live object), or None for an id the app does not have."""
        with self._lock:
            return self._slot(speaker_id)

    def activate(self, speaker_id: str) -> None:
        """What the console's activation does: a trained slot becomes Active (status 4), no more training."""
        with self._lock:
            slot = self._slot(speaker_id)
            if slot is None or slot.status() != STATUS_SUCCESS:
                raise ValueError(f"{speaker_id} is not a slot with a finished training")
            slot.activated = True

    def credentials(self) -> dict[str, str]:
        """Both planes' credentials, the console's endpoint (this port too) and the app's speaker slots."""
        return {
            "console_endpoint": self.url,
            "appid": self.config.appid,
            "access_token": self.config.access_token,
            "access_key_id": self.config.access_key_id,
            "secret_access_key": self.config.secret_access_key,
            "speaker_ids": ",".join(self.config.speaker_ids),
        }

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def route(self, request: SandboxRequest) -> Route:
        """``/?Action=...&Version=...`` is the console plane; anything else the speech plane."""
        if request.path == "/" and "Action" in request.query:
            action, version = request.query["Action"], request.query.get("Version", "")
            known = request.method == "POST" and version == CONSOLE_VERSION
            endpoint = CONSOLE_ACTIONS.get(action, "_no_such_action") if known else "_no_such_action"
            return Route(f"{request.method} {CONSOLE_ROUTE}={action}", endpoint, plane="console")
        route = super().route(request)
        return Route(route.name, route.endpoint, plane="tts" if request.path == TTS_PATH else "speech")

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        return _speech_error(404, BAD_REQUEST, f"no such API: {request.method} {request.path}")

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        if route.plane == "console":
            self._authenticate_console(request)
        elif route.plane == "tts":
            self._authenticate_tts(request)
        else:
            self._authenticate_speech(request)

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        if route.plane == "console":
            metadata, headers = self._console_metadata(request)
            return json_response(200, {"ResponseMetadata": metadata, "Result": result}, headers)
        if route.plane == "tts":
            return json_response(200, result, {LOG_ID_HEADER: uuid.uuid4().hex})
        body = {"BaseResp": {"StatusCode": 0, "StatusMessage": ""}, **result}
        return json_response(200, body, {LOG_ID_HEADER: uuid.uuid4().hex})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        if route is not None and route.plane == "console":
            metadata, headers = self._console_metadata(request)
            metadata["Error"] = {"Code": error.code, "Message": error.message}
            return json_response(error.status, {"ResponseMetadata": metadata}, headers)
        if route is not None and route.plane == "tts":
            answer = {"reqid": _reqid_of(request.body), "code": error.code, "message": error.message}
            return json_response(error.status, answer, {LOG_ID_HEADER: uuid.uuid4().hex})
        body = {"BaseResp": {"StatusCode": error.code, "StatusMessage": error.message}}
        return json_response(error.status, body, {LOG_ID_HEADER: uuid.uuid4().hex})

    # ----- speech data plane ----------------------------------------------------------------------

    def _authenticate_speech(self, request: SandboxRequest) -> str:
        """``Bearer;{token}``, then a Resource-Id the token covers; before any fault knob."""
        given = _bearer_token(request.headers.get("authorization", ""))
        if not given or not hmac.compare_digest(given, self.config.access_token.encode()):
            raise _speech_error(
                401, BAD_REQUEST, "authentication failed: send Authorization: Bearer;{access token}"
            )
        resource_id = request.headers.get("resource-id", "")
        if not resource_id:
            raise _bad_request("the Resource-Id header is missing")
        if resource_id not in self.config.resource_ids:
            raise _speech_error(403, BAD_REQUEST, f"requested resource not granted: {resource_id}")
        return resource_id

    def _check_appid(self, params: dict[str, Any]) -> None:
        appid = params.get("appid")
        if not isinstance(appid, str) or not appid:
            raise _bad_request("appid is missing")
        if appid != self.config.appid:
            raise _speech_error(403, BAD_REQUEST, f"the access token does not cover appid {appid}")

    def _speaker_id(self, params: dict[str, Any]) -> str:
        speaker_id = params.get("speaker_id")
        if not isinstance(speaker_id, str) or not speaker_id:
            raise _bad_request("speaker_id is missing")
        return speaker_id

    def _slot(self, speaker_id: str) -> Slot | None:
        """The slot, made on first sight of a configured id; call with the lock held."""
        if speaker_id not in self.config.speaker_ids:
            return None
        slot = self._slots.get(speaker_id)
        if slot is None:
            slot = Slot(speaker_id=speaker_id, resource_id=self.config.resource_ids[0], order_ms=_now_ms())
            self._slots[speaker_id] = slot
        return slot

    def _upload(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = json_object(request.body, _bad_request, empty=False)
        resource_id = request.headers["resource-id"]  # authenticate checked it
        self._check_appid(params)
        speaker_id = self._speaker_id(params)
        audio, audio_format = self._audio(params)
        self._check_model(params, resource_id)
        extra = params.get("extra_params", "{}")
        if not isinstance(extra, str):
            raise _bad_request("extra_params must be a JSON-encoded string (an object only in the V3 API)")
        try:
            extra_value = json.loads(extra)
        except ValueError:
            extra_value = None
        if not isinstance(extra_value, dict):
            raise _bad_request("extra_params must encode a JSON object")
        config = self.config
        with self._lock:
            slot = self._slot(speaker_id)
            if slot is None:
                raise _audio_error(SPEAKER_NOT_FOUND, f"speaker_id {speaker_id} is not a slot of this app")
            status = slot.status()
            if status == STATUS_ACTIVE:
                raise _bad_request(f"speaker {speaker_id} is activated and cannot be trained again")
            if status == STATUS_TRAINING:
                raise _bad_request(f"speaker {speaker_id} is training: wait until it finishes")
            if slot.uploads >= config.uploads_per_speaker:
                raise _audio_error(
                    UPLOAD_LIMIT, f"speaker {speaker_id} has used all {config.uploads_per_speaker} uploads"
                )
            slot.uploads += 1
            self._uploads[speaker_id] += 1
        if len(audio) > config.max_audio_bytes:
            raise _audio_error(
                GET_AUDIO_DATA_ERROR, f"the audio is larger than {config.max_audio_bytes} bytes"
            )
        if audio_format != "wav":
            raise _audio_error(AUDIO_CONVERT_ERROR, f"the sandbox decodes only wav, not {audio_format}")
        findings = check_wav(
            audio, sample_rate=SAMPLE_RATE, min_seconds=config.min_seconds, max_seconds=config.max_seconds
        )
        for problem, code in _AUDIO_CODES:
            finding = next((f for f in findings if f.problem is problem), None)
            if finding is not None:
                raise _audio_error(code, finding.message)
        if config.force_upload_status:
            code = config.force_upload_status
            raise _audio_error(code, f"forced by the sandbox (force_upload_status={code})")
        sample = voice_sample(audio, seconds=30.0)
        with self._lock:
            slot = self._slot(speaker_id)
            if slot is None:  # removed from the configuration during the check
                raise _audio_error(SPEAKER_NOT_FOUND, f"speaker_id {speaker_id} is not a slot of this app")
            slot.trainings += 1
            slot.created_ms = _now_ms()
            slot.resource_id = resource_id
            slot.activated = False
            slot.voice = sample
            slot.task = self._trainer.create(task_id=f"{speaker_id}#{slot.trainings}", speaker_id=speaker_id)
        if self.drop_create_response():
            raise DropConnection
        return {"speaker_id": speaker_id}

    @staticmethod
    def _audio(params: dict[str, Any]) -> tuple[bytes, str]:
        """The one audio's bytes and format; exactly one entry, base64 that decodes."""
        audios = params.get("audios")
        if not isinstance(audios, list) or len(audios) != 1 or not isinstance(audios[0], dict):
            raise _bad_request("audios must be a list of exactly one audio object")
        entry = audios[0]
        encoded = entry.get("audio_bytes")
        if not isinstance(encoded, str) or not encoded:
            raise _bad_request("audios[0].audio_bytes is missing")
        try:
            audio = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _bad_request("audios[0].audio_bytes is not valid base64") from None
        audio_format = entry.get("audio_format", "wav")
        if not isinstance(audio_format, str) or audio_format not in AUDIO_FORMATS:
            raise _bad_request(f"audios[0].audio_format must be one of {', '.join(AUDIO_FORMATS)}")
        text = entry.get("text")
        if text is not None and not isinstance(text, str):
            raise _bad_request("audios[0].text must be a string")
        return audio, audio_format

    @staticmethod
    def _check_model(params: dict[str, Any], resource_id: str) -> None:
        if _int_field(params, "source") != SOURCE:
            raise _bad_request("source must be 2")
        model_type = _int_field(params, "model_type")
        if model_type is None:
            model_type = DEFAULT_MODEL_TYPE
        if model_type not in MODEL_TYPES:
            raise _bad_request(
                "model_type must be 0 (the legacy model, the default), 1 (ICL 1.0), 2 (DiT standard), "
                "3 (DiT restore) or 4 (ICL 2.0)"
            )
        served = _RESOURCE_MODELS.get(resource_id)
        if served is not None and model_type not in served:
            raise _bad_request(f"Resource-Id {resource_id} does not serve model_type {model_type}")
        language = _int_field(params, "language")
        if language is not None and language not in _LANGUAGES[model_type]:
            raise _bad_request(f"language {language} is not available for model_type {model_type}")

    def _status(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = json_object(request.body, _bad_request, empty=False)
        self._check_appid(params)
        speaker_id = self._speaker_id(params)
        with self._lock:
            slot = self._slot(speaker_id)
            if slot is None:
                raise _audio_error(SPEAKER_NOT_FOUND, f"speaker_id {speaker_id} is not a slot of this app")
            return slot.describe()

    # ----- TTS ---------------------------------------------------------------------------------------

    def _authenticate_tts(self, request: SandboxRequest) -> None:
        """``Bearer;{token}`` (no Resource-Id on the V1 TTS); before any fault knob."""
        given = _bearer_token(request.headers.get("authorization", ""))
        if not given or not hmac.compare_digest(given, self.config.access_token.encode()):
            raise _speech_error(
                401, TTS_INVALID, "authentication failed: send Authorization: Bearer;{access token}"
            )

    def _tts(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """The V1 TTS: the slot's trained voice reads the text, in the encoding and rate asked."""
        return self.synthesize_within_quota(
            json_object(request.body, _tts_invalid, empty=False),
            lambda quota: _speech_error(429, TTS_CONCURRENCY, f"concurrency quota exceeded: {quota} at once"),
            self._speak,
        )

    def _speak(self, params: dict[str, Any]) -> dict[str, Any]:
        ask = self._tts_ask(params, operations=("query",), encodings=TTS_ENCODINGS)
        return {
            "reqid": ask.reqid,
            "code": TTS_OK,
            "message": "Success",
            "sequence": -1,
            "data": base64.b64encode(ask.speak()).decode("ascii"),
            "addition": {"duration": str(round(reading_seconds(ask.text, ask.speed) * 1000))},
        }

    def _tts_ask(
        self, params: dict[str, Any], *, operations: tuple[str, ...], encodings: tuple[str, ...]
    ) -> TtsAsk:
        """A V1 TTS request checked as Volcengine checks it (HTTP and WebSocket alike), its reqid spent."""
        app, user, audio, req = (_section(params, name) for name in ("app", "user", "audio", "request"))
        if app.get("appid") != self.config.appid:
            raise _speech_error(
                403,
                TTS_INVALID,
                "authenticate request: load grant: requested grant not found "
                f"(the access token does not cover appid {app.get('appid')!r})",
            )
        if not isinstance(app.get("token"), str) or not app["token"]:
            raise _tts_invalid("app.token is missing")
        if app.get("cluster") not in TTS_CLUSTERS:
            raise _tts_invalid(f"app.cluster must be one of {', '.join(TTS_CLUSTERS)} for a cloned voice")
        if not isinstance(user.get("uid"), str) or not user["uid"]:
            raise _tts_invalid("user.uid is missing")
        reqid = req.get("reqid")
        if not isinstance(reqid, str) or not reqid:
            raise _tts_invalid("request.reqid is missing")
        if req.get("operation") not in operations:
            raise _tts_invalid(
                "request.operation must be query over HTTP; over WebSocket submit (streamed) or query"
            )
        text = req.get("text")
        if not isinstance(text, str) or not any(ch.isalnum() for ch in text):
            raise _speech_error(400, TTS_INVALID_TEXT, "request.text is empty or has nothing to read")
        if len(text.encode("utf-8")) > TTS_MAX_TEXT_BYTES:
            raise _speech_error(
                400, TTS_TEXT_TOO_LONG, f"request.text is longer than {TTS_MAX_TEXT_BYTES} bytes of UTF-8"
            )
        encoding = audio.get("encoding", "pcm")
        if encoding not in encodings:
            raise _tts_invalid(f"audio.encoding {encoding!r}: here the sandbox makes {', '.join(encodings)}")
        rate = audio.get("rate", TTS_RATES[0])
        if rate not in TTS_RATES or isinstance(rate, bool):
            raise _tts_invalid(f"audio.rate must be one of {', '.join(map(str, TTS_RATES))}")
        speed = audio.get("speed_ratio", 1.0)
        low, high = TTS_SPEED_RANGE
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not low <= speed <= high:
            raise _tts_invalid(f"audio.speed_ratio must be from {low} to {high}")
        voice_type = audio.get("voice_type")
        with self._lock:
            if reqid in self._reqids:
                raise _speech_error(400, TTS_REQID_REUSED, f"reqid {reqid} was already used")
            self._reqids.add(reqid)
            slot = self._slot(voice_type) if isinstance(voice_type, str) else None
            usable = slot is not None and slot.status() in (STATUS_SUCCESS, STATUS_ACTIVE) and slot.voice
            sample = slot.voice if slot is not None and usable else b""
        if not sample:
            raise _speech_error(
                400, TTS_VOICE_NOT_FOUND, f"voice_type {voice_type!r} is not a trained voice of this app"
            )
        return TtsAsk(
            reqid=reqid,
            operation=str(req["operation"]),
            text=text,
            encoding=str(encoding),
            rate=int(rate),
            speed=float(speed),
            sample=sample,
        )

    # ----- TTS over WebSocket (binary protocol v1) --------------------------------------------------

    def stream_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """``Bearer;{token}`` or ``Bearer; {token}`` (the doc writes both); anything else 401, unupgraded."""
        refused = super().stream_upgrade(connection, request)
        if refused is not None:
            return refused
        given = _bearer_token(request.headers.get("Authorization", ""))
        if not (given and hmac.compare_digest(given, self.config.access_token.encode())):
            return json_refusal(
                connection,
                401,
                {
                    "reqid": "",
                    "code": TTS_INVALID,
                    "message": "authenticate request: load grant: requested grant not found "
                    "(send Authorization: Bearer; {access token})",
                },
            )
        return None

    def stream_headers(self) -> dict[str, str]:
        return {LOG_ID_HEADER: uuid.uuid4().hex}

    def serve_stream(self, connection: ServerConnection) -> None:
        """One ws_binary call: a full client request in, audio-only frames (the last one negative) out."""
        compress = False
        record: StreamRecord | None = None
        try:
            try:
                params, compress = _ws_request(connection.recv(timeout=CLIENT_WAIT_SECONDS))
                record = self.begin_stream(params)
                if record is None:
                    raise _speech_error(429, TTS_CONCURRENCY, "quota exceeded for types: concurrency")
                ask = self._tts_ask(params, operations=("submit", "query"), encodings=WS_ENCODINGS)
            except SandboxApiError as exc:
                if record is not None:
                    record.outcome = f"failed {exc.code}"
                connection.send(_ws_error(int(exc.code), exc.message, compress))
                return
            except TimeoutError:
                connection.send(_ws_error(TTS_INVALID, "no request frame came", compress))
                return
            audio = ask.speak()
            chunks = chunk_audio(audio, ask.encoding, ask.rate, self.config.stream_chunk_ms)
            if ask.operation == "query":  # one answer, all of the audio
                chunks = [audio]
            sequence = iter(range(1, len(chunks) + 1))

            def send(chunk: bytes, last: bool) -> None:
                number = next(sequence)
                connection.send(_ws_audio(-number if last else number, chunk))

            finished = self.play(
                record,
                chunks,
                send=send,
                fail=lambda code: connection.send(
                    _ws_error(code or TTS_INTERNAL, "processing error (injected by the sandbox)", compress)
                ),
                drop=connection.close,
            )
            if finished:
                record.outcome = "final"
                record.closed_by_client = client_closes(connection)
        except ConnectionClosed:
            if record is not None:
                record.outcome = record.outcome or "abandoned by the client"
        finally:
            if record is not None:
                self.end_stream(record)

    # ----- console OpenAPI ------------------------------------------------------------------------

    @staticmethod
    def _console_metadata(request: SandboxRequest) -> tuple[dict[str, Any], dict[str, str]]:
        request_id = uuid.uuid4().hex
        metadata: dict[str, Any] = {
            "RequestId": request_id,
            "Action": request.query.get("Action", ""),
            "Version": request.query.get("Version", ""),
            "Service": volc_v4.SERVICE,
            "Region": volc_v4.REGION,
        }
        return metadata, {CONSOLE_REQUEST_ID_HEADER: request_id}

    def _no_such_action(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        action, version = request.query.get("Action", ""), request.query.get("Version", "")
        raise _console_error(
            404, "InvalidActionOrVersion", f"Could not find operation {action} for version {version}."
        )

    def _authenticate_console(self, request: SandboxRequest) -> None:
        """V4 verification in the gateway's order: header, key id, scope, clock, body hash, signature."""
        header = request.headers.get("authorization", "")
        if not header:
            raise _console_error(
                401, "MissingAuthenticationToken", "Request is missing Authentication Token."
            )
        parsed = volc_v4.parse_authorization(header)
        if parsed is None:
            raise _console_error(
                400, "InvalidAuthorization", "Invalid 'Authorization' header, Pls check authorization header."
            )
        config = self.config
        if not hmac.compare_digest(parsed.access_key_id.encode(), config.access_key_id.encode()):
            raise _console_error(
                401,
                "InvalidAccessKey",
                f"The accesskey [{parsed.access_key_id}] included in the request is invalid.",
            )
        if parsed.region != volc_v4.REGION or parsed.service != volc_v4.SERVICE:
            raise _console_error(
                400,
                "InvalidCredential",
                f"Invalid credential in 'Authorization': scope must be {volc_v4.REGION}/{volc_v4.SERVICE}.",
            )
        date = request.headers.get(volc_v4.DATE_HEADER.lower(), "")
        moment = volc_v4.parse_x_date(date)
        if moment is None:
            raise _console_error(400, "MissingRequestInfo", "The request is missing X-Date information.")
        if abs((datetime.now(UTC) - moment).total_seconds()) > config.clock_skew_seconds:
            raise _console_error(403, "InvalidTimestamp", "The Signature of the request is expired.")
        signed_names = set(parsed.signed_headers)
        body_sha256 = hashlib.sha256(request.body).hexdigest()
        sent_sha256 = request.headers.get(volc_v4.CONTENT_SHA256_HEADER.lower())
        if (
            parsed.date != date[:8]
            or not {"host", "x-date"} <= signed_names
            or (sent_sha256 is not None and sent_sha256 != body_sha256)
        ):
            raise self._signature_mismatch()
        signed = volc_v4.headers_to_sign(request.headers, parsed.signed_headers)
        canonical = volc_v4.canonical_request(
            method=request.method,
            path=request.path,
            # Every value of a repeated key, as the gateway signs them.
            query=request.query_lists(),
            signed=signed,
            body_sha256=body_sha256,
        )
        scope = volc_v4.credential_scope(date[:8])
        key = volc_v4.signing_key(config.secret_access_key, date[:8])
        expected = volc_v4.signature(key, volc_v4.string_to_sign(date, scope, canonical))
        if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
            raise self._signature_mismatch()

    @staticmethod
    def _signature_mismatch() -> SandboxApiError:
        return _console_error(
            401,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your Secret Access Key and signing method.",
        )

    def _batch_list(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._console_params(request)
        token = params.get("NextToken") or ""
        if token:
            offset = self._token_offset(token)
            size = self._page_size(params, "MaxResults")
        else:
            page = params.get("PageNumber", 1)
            if isinstance(page, bool) or not isinstance(page, int) or page < 1:
                raise _console_error(400, "InvalidParameter", "PageNumber must be an integer of at least 1.")
            size = self._page_size(params, "PageSize")
            offset = (page - 1) * size
        rows = self._rows(params)
        end = offset + size
        return {
            "AppID": self.config.appid,
            "TotalCount": len(rows),
            "NextToken": base64.urlsafe_b64encode(f"offset:{end}".encode()).decode()
            if end < len(rows)
            else "",
            "PageNumber": offset // size + 1,
            "PageSize": size,
            "Statuses": rows[offset:end],
        }

    def _list(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """ListMegaTTSTrainStatus: the same rows, filtered by SpeakerIDs and State, on one page."""
        params = self._console_params(request)
        return {"AppID": self.config.appid, "Statuses": self._rows(params)}

    def _activate(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """ActivateMegaTTSTrainStatus: trained slots become Active (status 4), never to be retrained.

        Every named slot must have a finished training, else nothing is activated; the
        answer lists the activated slots' rows (the doc shows no answer for this action).
        """
        params = self._console_params(request)
        wanted = params.get("SpeakerIDs")
        if not isinstance(wanted, list) or not wanted:
            raise _console_error(400, "InvalidParameter", "SpeakerIDs must name at least one slot.")
        with self._lock:
            trained: list[Slot] = []
            for speaker_id in wanted:
                slot = self._slot(speaker_id)
                if slot is None or slot.status() not in (STATUS_SUCCESS, STATUS_ACTIVE):
                    raise _console_error(
                        400,
                        "OperationDenied.InvalidSpeakerID",
                        f"{speaker_id} is not a slot of this app with a finished training.",
                    )
                trained.append(slot)
            for slot in trained:
                slot.activated = True
            rows = [slot.console_row(self.config.uploads_per_speaker) for slot in trained]
        return {"AppID": self.config.appid, "Statuses": rows}

    def _console_params(self, request: SandboxRequest) -> dict[str, Any]:
        """The console body, for this app, with its optional SpeakerIDs (strings) checked."""
        params = json_object(request.body, lambda message: _console_error(400, "InvalidParameter", message))
        if params.get("AppID") != self.config.appid:
            raise _console_error(
                400, "InvalidParameter.AppID", f"AppID {params.get('AppID')!r} is not yours."
            )
        wanted = params.get("SpeakerIDs") or []
        if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
            raise _console_error(400, "InvalidParameter", "SpeakerIDs must be a list of strings.")
        return params

    def _rows(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The app's slots as the console lists them, filtered by SpeakerIDs and State when given."""
        config = self.config
        wanted = params.get("SpeakerIDs") or []
        state = params.get("State") or ""
        with self._lock:
            slots = [s for s in (self._slot(sid) for sid in config.speaker_ids) if s is not None]
            return [
                slot.console_row(config.uploads_per_speaker)
                for slot in slots
                if (not wanted or slot.speaker_id in wanted) and (not state or slot.console_state() == state)
            ]

    def _page_size(self, params: dict[str, Any], name: str) -> int:
        size = params.get(name, 10)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
            raise _console_error(400, "InvalidParameter", f"{name} must be an integer from 1 to 100.")
        return min(size, self.config.max_page_size)

    @staticmethod
    def _token_offset(token: Any) -> int:
        try:
            text = base64.urlsafe_b64decode(str(token).encode()).decode()
            prefix, _, number = text.partition(":")
            if prefix != "offset":
                raise ValueError(text)
            return max(0, int(number))
        except (ValueError, binascii.Error):
            raise _console_error(400, "InvalidParameter", "NextToken is not one this API issued.") from None
