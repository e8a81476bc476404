"""Volcengine (ByteDance Doubao speech) voice clone: one base64 JSON upload per speaker slot, then polling.

Wire format: see docs/vendors/volcengine.md (Endpoints, Operations): the speech data
plane takes ``Authorization: Bearer;{token}`` (a semicolon, no space)
plus a ``Resource-Id`` header, the upload is JSON with the assembled recording in
base64 and an explicit ``model_type``, and the status is a POST whose integer
``status`` is 0 NotFound, 1 Training, 2 Success, 3 Failed, 4 Active (2 and 4 are
both usable). The console OpenAPI (V4-signed) lists the speaker slots bought for
the app; a job trains one slot, and the slot id is also the task id.

Errors come as a non-2xx status, or as HTTP 200 with a non-zero
``BaseResp.StatusCode`` (data plane) or ``ResponseMetadata.Error`` (console); the two
envelopes below read them and the two rule tables classify them through the shared
pipeline (voiceclone.vendors.errors), with the audio codes 1102–1123 turned into
reasons a speaker can act on (docs/vendors/volcengine.md, Errors).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import urlsplit

import httpx

from voiceclone.domain.errors import VendorAuthError, VendorError, VendorRejected, VendorUnavailable
from voiceclone.domain.models import Language, VendorVoice
from voiceclone.lazy import lazy_module
from voiceclone.vendors.base import (
    DEFAULT_TIMEOUT_SECONDS,
    AudioSource,
    Capabilities,
    TrainingRequest,
    TrainingStatus,
    VendorAdapter,
    state_table,
)
from voiceclone.vendors.config import settings_of, timeout_seconds
from voiceclone.vendors.errors import ErrorRules, codes
from voiceclone.vendors.http import Envelope, NotTheApi, Reply
from voiceclone.vendors.signing import volc_v4
from voiceclone.vendors.speech import SynthesisRequest, SynthesisResult

if TYPE_CHECKING:
    from voiceclone.vendors.streaming import base as streaming
    from voiceclone.vendors.streaming import volcengine_tts
    from voiceclone.vendors.streaming.base import AudioStream
else:  # the WebSocket stack (websockets): loaded when a voice first streams
    streaming = lazy_module("voiceclone.vendors.streaming.base")
    volcengine_tts = lazy_module("voiceclone.vendors.streaming.volcengine_tts")

VENDOR_ID = "volcengine"
DEFAULT_ENDPOINT = "https://openspeech.bytedance.com"
DEFAULT_CONSOLE_ENDPOINT = "https://open.volcengineapi.com"
DEFAULT_RESOURCE_ID = "seed-icl-1.0"
# ICL 1.0; the API's own default is 0 (legacy MEGA, "not recommended"), so it is always sent.
DEFAULT_MODEL_TYPE = 1
UPLOAD_PATH = "/api/v1/mega_tts/audio/upload"
STATUS_PATH = "/api/v1/mega_tts/status"
CONSOLE_VERSION = "2023-11-07"
LIST_ACTION = "BatchListMegaTTSTrainStatus"
# The TTS cluster of cloned voices billed per character (volcano_icl_concurr: billed by concurrency).
CLUSTER = "volcano_icl"
SOURCE = 2
AUDIO_FORMAT = "wav"
# The current doc's limit for the one file of an upload.
MAX_AUDIO_BYTES = 10 * 1024 * 1024
UPLOADS_PER_SLOT = 10
PAGE_SIZE = 100
MAX_PAGES = 100
LOG_ID_HEADER = "X-Tt-Logid"
CONSOLE_REQUEST_ID_HEADER = "X-Top-Request-Id"

# Speech with a cloned voice: the V1 HTTP TTS (docs/vendors/volcengine.md, Operations), answered in one call.
TTS_PATH = "/api/v1/tts"
TTS_OK = 3000
TTS_TEXT_LIMIT_BYTES = 1024
# The per-character cluster's concurrency is not documented: stay low (volcano_icl_concurr is bought by it).
TTS_CONCURRENCY = 2
TTS_SPEED_RANGE = (0.2, 3.0)
TTS_UID = "voiceclone"
# Streaming speech: the V1 WebSocket TTS, binary protocol (voiceclone.vendors.streaming.volcengine_tts);
# the same request as the HTTP TTS with operation "submit". WAV does not stream (no length to write).
DEFAULT_STREAM_ENDPOINT = "wss://openspeech.bytedance.com/api/v1/tts/ws_binary"
STREAM_FORMATS = ("pcm", "mp3")

OPTION_SPEAKER_ID = "speaker_id"
# A speaker slot as the console sells it: "S_" and letters or digits (e.g. S_r3YGBCoB1).
SPEAKER_ID_FORMAT = r"S_[A-Za-z0-9]{1,62}"
SPEAKER_ID_WORDS = "a speaker slot id from the Volcengine console: S_ and letters or digits, e.g. S_r3YGBCoB1"
# Set when the chosen slot was already trained before the job: its status then, to tell a new training apart.
OPTION_BASELINE = "speaker_baseline"

STATUS_NOT_FOUND, STATUS_TRAINING, STATUS_SUCCESS, STATUS_FAILED, STATUS_ACTIVE = 0, 1, 2, 3, 4
# NotFound right after an upload can mean "not registered yet": keep polling until the deadline.
STATES = state_table(
    pending=(STATUS_NOT_FOUND,),
    running=(STATUS_TRAINING,),
    succeeded=(STATUS_SUCCESS, STATUS_ACTIVE),
    failed=(STATUS_FAILED,),
)
_STATUS_NAMES = {0: "NotFound", 1: "Training", 2: "Success", 3: "Failed", 4: "Active"}
# Statuses an upload leads to: the slot holds (or is making) a voice.
_TRAINED = (STATUS_TRAINING, STATUS_SUCCESS, STATUS_ACTIVE)
CONSOLE_UNKNOWN = "Unknown"
_USABLE_CONSOLE_STATES = ("Success", "Active")
_LANGUAGES = {Language.ZH_CN: 0}

# Data-plane BaseResp.StatusCode -> what the speaker (or operator) should do. 1102–1123 are about the audio.
AUDIO_REASONS: dict[int, str] = {
    1102: "the speech in the recording could not be transcribed: record again clearly, "
    "close to the microphone, in a quiet room",
    1103: "the voiceprint check failed (more than one voice, or an unsteady one): "
    "record again with only the speaker talking",
    1104: "the voice is too similar to a public figure's and may not be cloned",
    1105: "the recording could not be read: upload a 16-bit PCM mono WAV",
    1106: "this speaker slot id is already in use: use another slot",
    1107: "this speaker slot does not exist for the app: check the slot id in the Volcengine console "
    "(options.speaker_id or the speaker_ids setting)",
    1108: "the recording could not be converted: upload a 16-bit PCM mono WAV",
    1109: "the recording does not match the script: read the sentences exactly as written and record again",
    1111: "no speech was detected in the recording: record again closer to the microphone",
    1112: "too much background noise: record again in a quiet room, away from fans and traffic",
    1113: "the background noise could not be removed: record again in a quieter place",
    1114: "the audio quality is too low: record again with a better microphone in a quiet room",
    1122: "no human voice was found in the recording: record the speaker reading the script",
    1123: f"this speaker slot has used all {UPLOADS_PER_SLOT} training uploads: use another slot",
}
FIRST_AUDIO_CODE, LAST_AUDIO_CODE = 1102, 1123
_AUDIO_CODES = range(FIRST_AUDIO_CODE, LAST_AUDIO_CODE + 1)

# Data-plane BaseResp.StatusCode: the audio codes are the recording's fault (never the words' kind);
# 1101 (the upload could not be stored) is the vendor's trouble and is retried.
SPEECH_ERRORS = ErrorRules(
    codes={**codes("rejected", *_AUDIO_CODES), **codes("unavailable", 1101)},
    words={
        "throttled": re.compile(
            r"rate.?limit|too many requests|throttl|qps|concurrency|限流|频繁|过快", re.I
        ),
        "auth": re.compile(
            r"token|unauthori[sz]ed|authenticat|permission|not granted|grant|access denied|鉴权|权限|授权",
            re.I,
        ),
    },
    messages={
        "1001": "Volcengine refused the request parameters",
        "1101": "Volcengine could not store the upload",
        **{str(c): "Volcengine rejected the recording: record it again" for c in _AUDIO_CODES},
        "auth": "Volcengine refused the access token, app id or Resource-Id: check the volcengine "
        "access_token, appid and resource_id settings",
    },
    advice={str(code): reason for code, reason in AUDIO_REASONS.items()},
)

# Console ResponseMetadata.Error codes (docs/vendors/volcengine.md, Errors; Volcengine's common codes).
CONSOLE_ERRORS = ErrorRules(
    prefixes={
        **codes(
            "throttled",
            "FlowLimitExceeded",
            "AccountFlowLimitExceeded",
            "Throttling",
            "RequestLimitExceeded",
            "TooManyRequests",
            "Forbidden.LimitedTradingFrequency",
        ),
        **codes(
            "unavailable",
            "InternalError",
            "InternalServiceTimeout",
            "InternalServiceError",
            "FailToConnect",
            "ServiceUnavailable",
        ),
        **codes(
            "auth",
            "MissingAuthenticationToken",
            "MissingSignature",
            "InvalidAccessKey",
            "SignatureDoesNotMatch",
            "InvalidSecretToken",
            "InvalidAuthorization",
            "InvalidCredential",
            "InvalidTimestamp",
            "AccessDenied",
            "LackPolicy",
            "LackProjectPolicy",
            "Forbidden.ErrAccountNotPermission",
            # Voice cloning is not enabled for the account, or the app id is not the account's: configuration.
            "Forbidden.InvalidService",
            "InvalidParameter.AppID",
        ),
    },
    messages={
        "auth": "the Volcengine console refused the access key: check the volcengine access_key_id and "
        "secret_access_key settings",
    },
)


# TTS ``code``: 3003 (concurrency) is throttling, 3005 (busy) and 3030–3040 the server's trouble, both
# retried; 3001 (invalid request: by the HTTP status, so a 401 stays auth, else by its words), 3006
# (reqid reused), 3010 (text too long), 3011 (invalid text) and 3050 (no such voice) are the request's fault.
TTS_ERRORS = ErrorRules(
    codes={
        **codes("throttled", 3003),
        **codes("unavailable", 3005, 3030, 3031, 3032, 3040),
        **codes("rejected", 3006, 3010, 3011, 3050),
    },
    # A 3001 carries Volcengine's words when the credentials are the problem ("authenticate request:
    # load grant: requested grant not found", "... access denied"): over WebSocket, where an error
    # frame has no HTTP status, the words are all there is to tell it from a bad parameter.
    words={"auth": re.compile(r"authenticat|grant not found|not granted|access denied|鉴权|授权", re.I)},
    messages={
        "auth": "Volcengine TTS refused the access token or app id: check the volcengine access_token, appid",
    },
    advice={
        "3050": "Volcengine does not know this voice (speaker id): its slot may have expired or been "
        "trained by another app",
        "3010": f"the text is longer than Volcengine's {TTS_TEXT_LIMIT_BYTES} bytes per call",
    },
)


class SpeechEnvelope(Envelope):
    """The data plane: the whole body, with ``BaseResp {StatusCode, StatusMessage}``; the log id header."""

    request_id_headers = (LOG_ID_HEADER,)
    not_api_code = "BadResponse"
    rules = SPEECH_ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        base = reply.json_object.get("BaseResp")
        if not isinstance(base, dict) or _int(base.get("StatusCode")) == 0:
            return None
        return str(_int(base.get("StatusCode"))), str(base.get("StatusMessage") or "")

    def payload(self, reply: Reply) -> Any:
        if not isinstance(reply.json_object.get("BaseResp"), dict):
            raise NotTheApi("the vendor answered something that is not its API")
        return reply.json_object


class TtsEnvelope(Envelope):
    """The V1 TTS: ``{reqid, code, message, data, addition}``, code 3000 a success; the log id header."""

    request_id_headers = (LOG_ID_HEADER,)
    not_api_code = "BadResponse"
    rules = TTS_ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        code = reply.json_object.get("code")
        if code is None or _int(code) == TTS_OK:
            return None
        return str(_int(code)), str(reply.json_object.get("message") or "")

    def payload(self, reply: Reply) -> Any:
        if "code" not in reply.json_object:
            raise NotTheApi("the vendor answered something that is not its TTS API")
        return {**reply.json_object, LOG_ID_HEADER: reply.headers.get(LOG_ID_HEADER, "")}


class ConsoleEnvelope(Envelope):
    """The console OpenAPI: ``{ResponseMetadata: {RequestId, Error: {Code, Message}}, Result}``."""

    request_id_headers = (CONSOLE_REQUEST_ID_HEADER,)
    not_api_code = "BadResponse"
    rules = CONSOLE_ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        error = _metadata(reply).get("Error")
        if not isinstance(error, dict) or not (error.get("Code") or error.get("Message")):
            return None
        return str(error.get("Code") or ""), str(error.get("Message") or "")

    def request_id(self, reply: Reply) -> str | None:
        return str(_metadata(reply).get("RequestId") or "") or super().request_id(reply)

    def payload(self, reply: Reply) -> Any:
        result = reply.json_object.get("Result")
        if not isinstance(result, dict):
            raise NotTheApi(f"the console answered {reply.context} without a Result")
        return result


def _metadata(reply: Reply) -> dict[str, Any]:
    meta = reply.json_object.get("ResponseMetadata")
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class SpeakerStatus:
    """One slot as the data plane's status call reports it."""

    speaker_id: str
    status: int
    create_time: int | None = None
    version: str = ""
    demo_audio: str = ""

    @property
    def name(self) -> str:
        return _STATUS_NAMES.get(self.status, str(self.status))

    @property
    def marker(self) -> str:
        """What changes when the slot is trained again (create time and training count)."""
        return f"{self.create_time if self.create_time is not None else ''}/{self.version}"


@dataclass(frozen=True)
class ConsoleSpeaker:
    """One row of BatchListMegaTTSTrainStatus; an ``Unknown`` row carries little more than its id."""

    speaker_id: str
    state: str
    available_training_times: int | None = None
    resource_id: str = ""
    alias: str = ""
    version: str = ""
    create_time: int | None = None
    expire_time: int | None = None

    @property
    def free(self) -> bool:
        """Never trained, and not out of training uploads (when the console says how many are left)."""
        return self.state == CONSOLE_UNKNOWN and (
            self.available_training_times is None or self.available_training_times > 0
        )


class VolcengineAdapter(VendorAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {"en": "Volcengine", "zh": "火山引擎"}
    default_endpoint = DEFAULT_ENDPOINT
    credential_fields = ("appid", "access_token", "access_key_id", "secret_access_key")
    # The console's own endpoint (VOICECLONE_VOLCENGINE_CONSOLE_ENDPOINT), the TTS resource and model,
    # and the pool of speaker slots bought for the app (comma-separated; blank: no pool).
    # Streaming speech's WebSocket URL (VOICECLONE_VOLCENGINE_STREAM_ENDPOINT, default Volcengine's).
    optional_fields = ("console_endpoint", "resource_id", "model_type", "speaker_ids", "stream_endpoint")
    capabilities = Capabilities(
        # Volcengine checks the recording when it is uploaded (codes 1102–1123); before that, only ours.
        audio_transport="inline",
        # Any text: the upload's `text` is whatever was read (the service sends the takes' own texts),
        # and Volcengine compares the audio with it (1109) rather than with a script of its own.
        reads_any_text=True,
        # Training takes seconds to minutes.
        poll_initial_seconds=10,
        poll_max_seconds=60,
        options=(OPTION_SPEAKER_ID,),
        option_formats={OPTION_SPEAKER_ID: (SPEAKER_ID_FORMAT, SPEAKER_ID_WORDS)},
        # Default processing crops at 25 s (docs/vendors/volcengine.md, Limits): send what fits in it.
        joined_seconds=(5.0, 25.0),
        speech="sync",
        speech_formats=("wav", "mp3", "pcm"),
        speech_sample_rates=(24000, 16000, 8000),
        speech_text_limit=TTS_TEXT_LIMIT_BYTES,
        speech_text_unit="bytes",
        speech_concurrency=TTS_CONCURRENCY,
        speech_speeds=TTS_SPEED_RANGE,
        speech_stream=True,
        speech_stream_formats=STREAM_FORMATS,
        speech_stream_sample_rates=(24000, 16000, 8000),
        speech_stream_text_limit=TTS_TEXT_LIMIT_BYTES,
    )
    envelope = SpeechEnvelope()
    training_states = STATES

    def __init__(
        self,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        console_endpoint: str = DEFAULT_CONSOLE_ENDPOINT,
        appid: str,
        access_token: str,
        access_key_id: str,
        secret_access_key: str,
        resource_id: str = DEFAULT_RESOURCE_ID,
        model_type: int = DEFAULT_MODEL_TYPE,
        speaker_ids: tuple[str, ...] | list[str] = (),
        stream_endpoint: str = DEFAULT_STREAM_ENDPOINT,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        upload_timeout_seconds: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(endpoint, timeout_seconds=timeout_seconds, transport=transport)
        self.console_endpoint = console_endpoint.rstrip("/")
        self.console_host = urlsplit(self.console_endpoint).netloc
        self.appid = appid
        self.resource_id = resource_id
        self.model_type = model_type
        self.speaker_ids = tuple(dict.fromkeys(s.strip() for s in speaker_ids if s.strip()))
        self.stream_endpoint = stream_endpoint or DEFAULT_STREAM_ENDPOINT
        self._timeout_seconds = timeout_seconds
        self._access_token = access_token
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        # The upload carries megabytes and Volcengine checks the audio before it answers.
        self._upload = self.connect(self.endpoint, max(upload_timeout_seconds, timeout_seconds), transport)
        self._console = self.connect(
            self.console_endpoint, timeout_seconds, transport, envelope=ConsoleEnvelope()
        )
        self._tts = self.connect(self.endpoint, timeout_seconds, transport, envelope=TtsEnvelope())

    @classmethod
    def from_environment(cls) -> Self:
        """The declared settings, with the optional ones converted (an empty speaker pool is no pool)."""
        conf = settings_of(
            cls,
            defaults={
                "console_endpoint": DEFAULT_CONSOLE_ENDPOINT,
                "resource_id": DEFAULT_RESOURCE_ID,
                "model_type": str(DEFAULT_MODEL_TYPE),
                "stream_endpoint": DEFAULT_STREAM_ENDPOINT,
            },
        )
        try:
            model_type = int(conf["model_type"])
        except ValueError:
            raise VendorAuthError(
                VENDOR_ID,
                "InvalidConfiguration",
                f"VOICECLONE_VOLCENGINE_MODEL_TYPE must be an integer (1 ICL 1.0 … 4 ICL 2.0), "
                f"not {conf['model_type']!r}",
            ) from None
        return cls(
            endpoint=conf["endpoint"],
            console_endpoint=conf["console_endpoint"],
            appid=conf["appid"].strip(),
            access_token=conf["access_token"].strip(),
            access_key_id=conf["access_key_id"].strip(),
            secret_access_key=conf["secret_access_key"].strip(),
            resource_id=conf["resource_id"].strip(),
            model_type=model_type,
            speaker_ids=conf["speaker_ids"].split(","),
            stream_endpoint=conf["stream_endpoint"],
            timeout_seconds=timeout_seconds(),
        )

    # ----- transport -------------------------------------------------------------------------

    def speech_call(self, path: str, body: dict[str, Any], *, upload: bool = False) -> dict[str, Any]:
        """One data-plane POST; returns the JSON body or raises the classified error."""
        headers = {
            # A semicolon and no space: the doc's prose shows a space, its header table and HTTP demo do not.
            "Authorization": f"Bearer;{self._access_token}",
            "Resource-Id": self.resource_id,
        }
        http = self._upload if upload else self._http
        data: dict[str, Any] = http.call("POST", path, json_body=body, headers=headers)
        return data

    def speaker_status(self, speaker_id: str) -> SpeakerStatus:
        data = self.speech_call(STATUS_PATH, {"appid": self.appid, "speaker_id": speaker_id})
        create_time = data.get("create_time", data.get("creaet_time"))  # the doc's example misspells it
        return SpeakerStatus(
            speaker_id=str(data.get("speaker_id") or speaker_id),
            status=_int(data.get("status")),
            create_time=_int(create_time) if create_time is not None else None,
            version=str(data.get("version") or ""),
            demo_audio=str(data.get("demo_audio") or ""),
        )

    # ----- transport: console OpenAPI --------------------------------------------------------

    def console_call(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """One V4-signed console action; returns ``Result`` or raises the classified error."""
        query = {"Action": action, "Version": CONSOLE_VERSION}

        def sign(content: bytes) -> dict[str, str]:
            # Signed right before sending: the server checks X-Date against its clock.
            return volc_v4.signed_request_headers(
                access_key_id=self._access_key_id,
                secret_access_key=self._secret_access_key,
                host=self.console_host,
                method="POST",
                path="/",
                query=query,
                body=content,
            )

        path = "/?" + volc_v4.canonical_query(query)
        result: dict[str, Any] = self._console.call("POST", path, json_body=body, sign=sign, context=action)
        return result

    def list_speakers(self, speaker_ids: tuple[str, ...] = ()) -> list[ConsoleSpeaker]:
        """Every slot of the app (or those named), across pages: by NextToken when given, else by page."""
        base: dict[str, Any] = {"AppID": self.appid}
        if speaker_ids:
            base["SpeakerIDs"] = list(speaker_ids)
        rows: list[ConsoleSpeaker] = []
        page, token = 1, ""
        seen_tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            if token:
                body = {**base, "NextToken": token, "MaxResults": PAGE_SIZE}
            else:
                body = {**base, "PageNumber": page, "PageSize": PAGE_SIZE}
            result = self.console_call(LIST_ACTION, body)
            statuses = result.get("Statuses") or []
            rows.extend(_console_speaker(row) for row in statuses if isinstance(row, dict))
            next_token = str(result.get("NextToken") or "")
            if next_token:
                if next_token in seen_tokens:
                    raise VendorUnavailable(VENDOR_ID, "BadPagination", "the console repeated a NextToken")
                seen_tokens.add(next_token)
                token = next_token
                continue
            if token:
                return rows  # the last page of a NextToken walk
            total = _int(result.get("TotalCount", result.get("Total")))  # older docs: "Total"
            size = _int(result.get("PageSize")) or PAGE_SIZE
            if not statuses or page * size >= total:
                return rows
            page += 1
        raise VendorUnavailable(VENDOR_ID, "TooManyPages", f"the speaker listing ran past {MAX_PAGES} pages")

    # ----- operations ------------------------------------------------------------------------

    def prepare_options(self, request: TrainingRequest) -> dict[str, str]:
        """The job's speaker slot: the client's ``speaker_id``, else a free slot of the configured pool.

        Slots are bought in the console and cannot be made here. A pool slot is free when
        the console says it was never trained and has uploads left. Concurrent jobs each
        rank the free slots by a hash of their own job id, so they rarely pick the same
        one; create_task checks again right before uploading. A client's slot that
        already holds a voice (a retraining) is recorded with its status, so that a
        retried create can tell the new training from the old voice.
        """
        options = {k: v for k, v in request.options.items() if k != OPTION_BASELINE}
        speaker_id = options.get(OPTION_SPEAKER_ID, "").strip()
        if not speaker_id:
            return {**options, OPTION_SPEAKER_ID: self._free_speaker(request.job_id)}
        current = self.speaker_status(speaker_id)
        if current.status == STATUS_ACTIVE:
            raise VendorRejected(
                VENDOR_ID,
                "SpeakerActivated",
                f"the speaker slot {speaker_id} is activated and can no longer be trained: "
                "pass another options.speaker_id, or leave it out to use a free slot of the pool",
            )
        if current.status == STATUS_TRAINING:
            raise VendorRejected(
                VENDOR_ID,
                "SpeakerBusy",
                f"the speaker slot {speaker_id} is training right now: wait until it finishes "
                "or pass another options.speaker_id",
            )
        options[OPTION_SPEAKER_ID] = speaker_id
        if current.status == STATUS_SUCCESS:
            options[OPTION_BASELINE] = current.marker
        return options

    def _free_speaker(self, job_id: str) -> str:
        if not self.speaker_ids:
            raise VendorRejected(
                VENDOR_ID,
                "NoFreeSpeakerId",
                "no Volcengine speaker slot is configured: buy a voice-clone slot in the Volcengine "
                "console and list it in VOICECLONE_VOLCENGINE_SPEAKER_IDS, or pass options.speaker_id",
            )
        rows = {row.speaker_id: row for row in self.list_speakers(self.speaker_ids)}
        free = [sid for sid in self.speaker_ids if sid in rows and rows[sid].free]
        if not free:
            states = ", ".join(
                f"{sid}: {rows[sid].state if sid in rows else 'not in this app'}" for sid in self.speaker_ids
            )
            raise VendorRejected(
                VENDOR_ID,
                "NoFreeSpeakerId",
                f"none of the {len(self.speaker_ids)} configured Volcengine speaker slots is free "
                "(untrained, with training uploads left): buy another voice-clone slot in the Volcengine "
                "console and add it to VOICECLONE_VOLCENGINE_SPEAKER_IDS, or pass options.speaker_id",
                slots=states,
            )
        return min(free, key=lambda sid: hashlib.sha256(f"{job_id}/{sid}".encode()).hexdigest())

    def _trained_since_prepare(self, request: TrainingRequest, current: SpeakerStatus) -> bool:
        """Whether the slot holds or makes a voice that was not there when the job chose it."""
        if current.status not in _TRAINED:
            return False
        baseline = request.options.get(OPTION_BASELINE)
        return current.status == STATUS_TRAINING or baseline is None or current.marker != baseline

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """Upload the assembled recording to the job's slot; that starts training. Returns the slot id.

        Each upload spends one of the slot's ten, so the slot is checked first: if it was
        trained since the job chose it, someone else took it, and uploading would replace
        their voice (or ours would be replaced).
        """
        speaker_id = _speaker_id(request)
        if self._trained_since_prepare(request, self.speaker_status(speaker_id)):
            raise VendorRejected(
                VENDOR_ID,
                "SpeakerTaken",
                f"the speaker slot {speaker_id} was trained by someone else after this job chose it: "
                "start the job again (it will pick another slot)",
                speaker_id=speaker_id,
            )
        wav = audio.assembled_wav()
        if len(wav) > MAX_AUDIO_BYTES:
            raise VendorRejected(
                VENDOR_ID,
                "AudioTooLarge",
                f"the assembled recording is {len(wav) / 1048576:.1f} MB and Volcengine accepts at most "
                f"{MAX_AUDIO_BYTES // 1048576} MB: record fewer or shorter sentences",
            )
        entry: dict[str, Any] = {
            "audio_bytes": base64.b64encode(wav).decode("ascii"),
            "audio_format": AUDIO_FORMAT,
        }
        text = self._script_text(request)
        if text:
            entry["text"] = text
        body: dict[str, Any] = {
            "appid": self.appid,
            "speaker_id": speaker_id,
            "audios": [entry],
            "source": SOURCE,
            "language": _LANGUAGES.get(request.language, 0),
            "model_type": self.model_type,
            # A JSON-encoded string in V1 (an object only in the V3 API).
            "extra_params": "{}",
        }
        try:
            data = self.speech_call(UPLOAD_PATH, body, upload=True)
        except VendorError as exc:
            exc.details.setdefault("speaker_id", speaker_id)
            raise
        return str(data.get("speaker_id") or speaker_id)

    def _script_text(self, request: TrainingRequest) -> str:
        """What the speaker read, in recording order; Volcengine compares it with the audio (error 1109)."""
        script = {t.text_id: t.text for t in super().training_texts()}
        texts = [s.text or script.get(s.text_id, "") for s in request.sentences]
        return "\n".join(t for t in texts if t)

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The slot, if an earlier upload of this job reached Volcengine (its answer may have been lost)."""
        speaker_id = request.options.get(OPTION_SPEAKER_ID)
        if not speaker_id:
            return None
        if self._trained_since_prepare(request, self.speaker_status(speaker_id)):
            return speaker_id
        return None

    def get_status(self, task_id: str) -> TrainingStatus:
        current = self.speaker_status(task_id)
        voice = self.voice(
            current.speaker_id, speaker_id=current.speaker_id, cluster=CLUSTER, resource_id=self.resource_id
        )
        return self.status_of(
            current.speaker_id,
            current.status,
            label=current.name,
            voice=voice,
            error_message=(
                f"Volcengine reports the training of speaker slot {current.speaker_id} as failed and gives "
                f"no reason: check the recording and train again (a slot allows {UPLOADS_PER_SLOT} uploads)"
            ),
        )

    def list_voices(self) -> list[VendorVoice]:
        """The app's slots that hold a usable voice (Success or Active), as TTS needs them."""
        return [
            self.voice(
                row.speaker_id,
                speaker_id=row.speaker_id,
                cluster=CLUSTER,
                resource_id=row.resource_id or self.resource_id,
                state=row.state,
                alias=row.alias,
                version=row.version,
                expire_time=row.expire_time,
                available_training_times=row.available_training_times,
            )
            for row in self.list_speakers()
            if row.state in _USABLE_CONSOLE_STATES
        ]

    def synthesize(self, voice: VendorVoice, request: SynthesisRequest) -> SynthesisResult:
        """One V1 TTS call with the slot's voice (cluster volcano_icl); the audio comes back in base64."""

        body = self._tts_body(voice, request, operation="query")
        reqid = str(body["request"]["reqid"])
        headers = {"Authorization": f"Bearer;{self._access_token}"}
        data: dict[str, Any] = self._tts.call(
            "POST", TTS_PATH, json_body=body, headers=headers, context="tts"
        )
        request_id = str(data.get(LOG_ID_HEADER) or data.get("reqid") or reqid)
        try:
            audio = base64.b64decode(str(data.get("data") or ""), validate=True)
        except (binascii.Error, ValueError):
            audio = b""
        if not audio:
            raise VendorUnavailable(
                VENDOR_ID, "NoAudio", "the TTS answered without audio", request_id=request_id
            )
        return SynthesisResult(
            audio=audio, format=request.format, sample_rate=request.sample_rate, request_id=request_id
        )

    def stream_synthesis(self, voice: VendorVoice, request: SynthesisRequest) -> AudioStream:
        """One V1 WebSocket TTS call (binary protocol): the request of ``synthesize`` with operation
        ``submit``, the audio in numbered frames until the negative one."""
        self.check_stream_request(request)
        protocol = volcengine_tts.VolcengineStreamProtocol(
            self.stream_endpoint,
            access_token=self._access_token,
            body=self._tts_body(voice, request, operation="submit"),
            rules=TTS_ERRORS,
        )
        return streaming.open_stream(
            protocol,
            timeout_seconds=self._timeout_seconds,
            audio_format=request.format,
            sample_rate=request.sample_rate,
        )

    def _tts_body(self, voice: VendorVoice, request: SynthesisRequest, *, operation: str) -> dict[str, Any]:
        """The V1 TTS request (HTTP and WebSocket alike) for the slot's voice: a fresh reqid each call."""
        low, high = TTS_SPEED_RANGE
        if not low <= request.speed <= high:
            raise VendorRejected(
                VENDOR_ID,
                "InvalidSpeed",
                f"Volcengine speaks at {low}× to {high}× the natural speed, not {request.speed}×",
            )
        return {
            "app": {
                "appid": self.appid,
                "token": self._access_token,
                "cluster": str(voice.details.get("cluster") or CLUSTER),
            },
            "user": {"uid": TTS_UID},
            "audio": {
                "voice_type": str(voice.details.get("speaker_id") or voice.voice_id),
                "encoding": request.format,
                "rate": request.sample_rate,
                "speed_ratio": request.speed,
            },
            "request": {"reqid": str(uuid.uuid4()), "text": request.text, "operation": operation},
        }

    # Voice management: Volcengine offers none of it (capabilities keep the three flags False): slots
    # cannot be renamed (the listing's Alias cannot be set) nor deleted (they expire, or are retrained
    # with a new upload), and a training runs to its end (seconds to minutes).


def _int(value: Any) -> int:
    """An integer field read tolerantly (the APIs send ints, some clients strings); junk is 0."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else _int(value)


def _console_speaker(row: dict[str, Any]) -> ConsoleSpeaker:
    return ConsoleSpeaker(
        speaker_id=str(row.get("SpeakerID") or ""),
        state=str(row.get("State") or ""),
        available_training_times=_optional_int(row.get("AvailableTrainingTimes")),
        resource_id=str(row.get("ResourceID") or ""),
        alias=str(row.get("Alias") or ""),
        version=str(row.get("Version") or ""),
        create_time=_optional_int(row.get("CreateTime")),
        expire_time=_optional_int(row.get("ExpireTime")),
    )


def _speaker_id(request: TrainingRequest) -> str:
    speaker_id = request.options.get(OPTION_SPEAKER_ID)
    if not speaker_id:
        raise VendorRejected(
            VENDOR_ID, "NoSpeakerId", "the job has no Volcengine speaker slot: prepare_options must run first"
        )
    return speaker_id
