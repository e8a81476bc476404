"""Volcengine (ByteDance Doubao speech) voice clone: one base64 JSON upload per speaker slot, then polling.

Wire format per NOTES.md section 4 (section 4.13 says where the seed is wrong): the
speech data plane takes ``Authorization: Bearer;{token}`` (a semicolon, no space)
plus a ``Resource-Id`` header, the upload is JSON with the assembled recording in
base64 and an explicit ``model_type``, and the status is a POST whose integer
``status`` is 0 NotFound, 1 Training, 2 Success, 3 Failed, 4 Active (2 and 4 are
both usable). The console OpenAPI (V4-signed) lists the speaker slots bought for
the app; a job trains one slot, and the slot id is also the task id.

Errors come as a non-2xx status, or as HTTP 200 with a non-zero
``BaseResp.StatusCode`` (data plane) or ``ResponseMetadata.Error`` (console); they
are mapped to the shared taxonomy here and nowhere else, with the audio codes
1102–1123 turned into reasons a speaker can act on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import httpx

from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.domain.models import Language, VendorVoice
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    TrainingRequest,
    TrainingState,
    TrainingStatus,
    VendorAdapter,
)
from voiceclone.vendors.config import vendor_settings
from voiceclone.vendors.http import VendorHttp
from voiceclone.vendors.signing import volc_v4

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
JSON_TYPE = "application/json"
LOG_ID_HEADER = "X-Tt-Logid"
CONSOLE_REQUEST_ID_HEADER = "X-Top-Request-Id"

_SETTINGS = (
    "endpoint",
    "console_endpoint",
    "appid",
    "access_token",
    "access_key_id",
    "secret_access_key",
    "resource_id",
    "model_type",
    "speaker_ids",
)

OPTION_SPEAKER_ID = "speaker_id"
# Set when the chosen slot was already trained before the job: its status then, to tell a new training apart.
OPTION_BASELINE = "speaker_baseline"

STATUS_NOT_FOUND, STATUS_TRAINING, STATUS_SUCCESS, STATUS_FAILED, STATUS_ACTIVE = 0, 1, 2, 3, 4
_STATUS_NAMES = {0: "NotFound", 1: "Training", 2: "Success", 3: "Failed", 4: "Active"}
_STATES = {
    # NotFound right after an upload can mean "not registered yet": keep polling until the deadline.
    STATUS_NOT_FOUND: TrainingState.PENDING,
    STATUS_TRAINING: TrainingState.RUNNING,
    STATUS_SUCCESS: TrainingState.SUCCEEDED,
    STATUS_FAILED: TrainingState.FAILED,
    STATUS_ACTIVE: TrainingState.SUCCEEDED,
}
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
_OTHER_REASONS: dict[int, str] = {
    1001: "Volcengine refused the request parameters",
    1101: "Volcengine could not store the upload",
}
# 1101 (the upload could not be stored) is the vendor's trouble: retried.
_UNAVAILABLE_CODES = (1101,)
_THROTTLE_TEXT = re.compile(r"rate.?limit|too many requests|throttl|qps|concurrency|限流|频繁|过快", re.I)
_AUTH_TEXT = re.compile(
    r"token|unauthori[sz]ed|authenticat|permission|not granted|grant|access denied|鉴权|权限|授权", re.I
)

# Console ResponseMetadata.Error codes (NOTES.md 4.3 and Volcengine's common error codes).
_CONSOLE_THROTTLED = (
    "FlowLimitExceeded",
    "AccountFlowLimitExceeded",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequests",
    "Forbidden.LimitedTradingFrequency",
)
_CONSOLE_UNAVAILABLE = (
    "InternalError",
    "InternalServiceTimeout",
    "InternalServiceError",
    "FailToConnect",
    "ServiceUnavailable",
)
_CONSOLE_AUTH = (
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
)


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
    vendor_id: ClassVar[str] = VENDOR_ID
    default_endpoint: ClassVar[str] = DEFAULT_ENDPOINT
    credential_fields: ClassVar[tuple[str, ...]] = (
        "appid",
        "access_token",
        "access_key_id",
        "secret_access_key",
    )
    optional_fields: ClassVar[tuple[str, ...]] = (
        "console_endpoint",
        "resource_id",
        "model_type",
        "speaker_ids",
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        # Volcengine checks the recording when it is uploaded (codes 1102–1123); before that, only ours.
        sentence_check="local",
        completion="polling",
        audio_transport="inline",
        audio_files="single",
        sentence_count=20,
        sample_rate=16000,
        # Training takes seconds to minutes.
        poll_initial_seconds=10,
        poll_max_seconds=60,
        options=(OPTION_SPEAKER_ID,),
    )

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
        timeout_seconds: float = 10.0,
        upload_timeout_seconds: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.console_endpoint = console_endpoint.rstrip("/")
        self.console_host = urlsplit(self.console_endpoint).netloc
        self.appid = appid
        self.resource_id = resource_id
        self.model_type = model_type
        self.speaker_ids = tuple(dict.fromkeys(s.strip() for s in speaker_ids if s.strip()))
        self._access_token = access_token
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self._speech = VendorHttp(VENDOR_ID, self.endpoint, timeout_seconds, transport)
        # The upload carries megabytes and Volcengine checks the audio before it answers.
        self._upload = VendorHttp(VENDOR_ID, self.endpoint, upload_timeout_seconds, transport)
        self._console = VendorHttp(VENDOR_ID, self.console_endpoint, timeout_seconds, transport)

    @classmethod
    def from_environment(cls) -> Self:
        # vendor_settings refuses empty values: the optional pool defaults to a blank, read as "no pool".
        conf = vendor_settings(
            VENDOR_ID,
            _SETTINGS,
            defaults={
                "endpoint": DEFAULT_ENDPOINT,
                "console_endpoint": DEFAULT_CONSOLE_ENDPOINT,
                "resource_id": DEFAULT_RESOURCE_ID,
                "model_type": str(DEFAULT_MODEL_TYPE),
                "speaker_ids": " ",
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
        )

    # ----- transport: speech data plane ------------------------------------------------------

    def speech_call(self, path: str, body: dict[str, Any], *, upload: bool = False) -> dict[str, Any]:
        """One data-plane POST; returns the JSON body or raises the mapped error."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": JSON_TYPE,
            # A semicolon and no space: the doc's prose shows a space, its header table and HTTP demo do not.
            "Authorization": f"Bearer;{self._access_token}",
            "Resource-Id": self.resource_id,
        }
        # 429 and 5xx are raised as retryable errors by VendorHttp before we get here.
        http = self._upload if upload else self._speech
        response = http.request("POST", path, content=content, headers=headers)
        details = {"request_id": response.headers[LOG_ID_HEADER]} if LOG_ID_HEADER in response.headers else {}
        data = _json(response)
        base = data.get("BaseResp") if data is not None else None
        status = response.status_code
        code, message = 0, ""
        if isinstance(base, dict):
            code, message = _int(base.get("StatusCode")), str(base.get("StatusMessage") or "")
        if status in (401, 403):
            raise VendorAuthError(
                VENDOR_ID,
                str(code) if code else f"HTTP{status}",
                message
                or "Volcengine refused the access token, app id or Resource-Id: check the volcengine "
                "access_token, appid and resource_id settings",
                **details,
            )
        if data is None or not isinstance(base, dict):
            if 200 <= status < 300:
                raise VendorUnavailable(
                    VENDOR_ID, "BadResponse", "the vendor answered something that is not its API", **details
                )
            raise VendorRejected(
                VENDOR_ID, f"HTTP{status}", response.text[:200] or "request refused", **details
            )
        if code != 0:
            raise self.map_speech_error(code, message, **details)
        if not 200 <= status < 300:
            raise VendorRejected(VENDOR_ID, f"HTTP{status}", message or "request refused", **details)
        return data

    @staticmethod
    def map_speech_error(code: int, message: str, **details: Any) -> VendorError:
        """A non-zero BaseResp.StatusCode to the taxonomy; the vendor's own words stay in vendor_message."""
        if message:
            details = {**details, "vendor_message": message}
        text = str(code)
        if FIRST_AUDIO_CODE <= code <= LAST_AUDIO_CODE:
            reason = AUDIO_REASONS.get(
                code, f"Volcengine rejected the recording: {message or 'record again'}"
            )
            return VendorRejected(VENDOR_ID, text, reason, **details)
        if code in _UNAVAILABLE_CODES:
            return VendorUnavailable(VENDOR_ID, text, message or _OTHER_REASONS[code], **details)
        if _THROTTLE_TEXT.search(message):
            return VendorThrottled(VENDOR_ID, text, message, **details)
        if _AUTH_TEXT.search(message):
            return VendorAuthError(VENDOR_ID, text, message, **details)
        reason = message or _OTHER_REASONS.get(code, f"Volcengine answered StatusCode {code}")
        return VendorRejected(VENDOR_ID, text, reason, **details)

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
        """One V4-signed console action; returns ``Result`` or raises the mapped error."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        query = {"Action": action, "Version": CONSOLE_VERSION}
        # Signed right before sending: the server checks X-Date against its clock.
        headers = volc_v4.signed_request_headers(
            access_key_id=self._access_key_id,
            secret_access_key=self._secret_access_key,
            host=self.console_host,
            method="POST",
            path="/",
            query=query,
            body=content,
        )
        path = "/?" + volc_v4.canonical_query(query)
        response = self._console.request("POST", path, content=content, headers=headers)
        data = _json(response)
        meta = data.get("ResponseMetadata") if data is not None else None
        meta = meta if isinstance(meta, dict) else {}
        request_id = str(meta.get("RequestId") or response.headers.get(CONSOLE_REQUEST_ID_HEADER) or "")
        details = {"request_id": request_id} if request_id else {}
        error = meta.get("Error")
        status = response.status_code
        if isinstance(error, dict) and (error.get("Code") or error.get("Message")):
            code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
            raise self.map_console_error(code, message, status, **details)
        if status in (401, 403):
            raise VendorAuthError(
                VENDOR_ID,
                f"HTTP{status}",
                "the Volcengine console refused the access key: check the volcengine access_key_id and "
                "secret_access_key settings",
                **details,
            )
        if not 200 <= status < 300:
            raise VendorRejected(
                VENDOR_ID, f"HTTP{status}", response.text[:200] or "request refused", **details
            )
        result = data.get("Result") if data is not None else None
        if not isinstance(result, dict):
            raise VendorUnavailable(
                VENDOR_ID, "BadResponse", f"the console answered {action} without a Result", **details
            )
        return result

    @staticmethod
    def map_console_error(code: str, message: str, http_status: int = 200, **details: Any) -> VendorError:
        """A console ResponseMetadata.Error to the taxonomy, keeping code, message and request id."""
        text = message or f"the Volcengine console answered {code or f'HTTP {http_status}'}"
        if code.startswith(_CONSOLE_THROTTLED) or http_status == 429:
            return VendorThrottled(VENDOR_ID, code or "HTTP429", text, **details)
        if code.startswith(_CONSOLE_UNAVAILABLE) or http_status >= 500:
            return VendorUnavailable(VENDOR_ID, code or f"HTTP{http_status}", text, **details)
        if code.startswith(_CONSOLE_AUTH) or http_status in (401, 403):
            return VendorAuthError(VENDOR_ID, code or f"HTTP{http_status}", text, **details)
        return VendorRejected(VENDOR_ID, code or f"HTTP{http_status}", text, **details)

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
            total = _int(result.get("TotalCount", result.get("Total")))  # the seed says "Total"
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
        # An unknown status is taken as "not finished yet": polling goes on until the deadline.
        state = _STATES.get(current.status, TrainingState.RUNNING)
        voice = None
        if state is TrainingState.SUCCEEDED:
            voice = VendorVoice(
                vendor=VENDOR_ID,
                voice_id=current.speaker_id,
                details={
                    "speaker_id": current.speaker_id,
                    "cluster": CLUSTER,
                    "resource_id": self.resource_id,
                },
            )
        failed = state is TrainingState.FAILED
        return TrainingStatus(
            task_id=current.speaker_id,
            state=state,
            vendor_state=current.name,
            voice=voice,
            error_code="TrainingFailed" if failed else "",
            error_message=(
                f"Volcengine reports the training of speaker slot {current.speaker_id} as failed and gives "
                f"no reason: check the recording and train again (a slot allows {UPLOADS_PER_SLOT} uploads)"
            )
            if failed
            else "",
        )

    def parse_callback(self, body: bytes) -> TrainingStatus:
        raise VendorRejected(
            VENDOR_ID, "NoCallback", "Volcengine voice cloning has no training callback: the status is polled"
        )

    def list_voices(self) -> list[VendorVoice]:
        """The app's slots that hold a usable voice (Success or Active), as TTS needs them."""
        return [
            VendorVoice(
                vendor=VENDOR_ID,
                voice_id=row.speaker_id,
                details={
                    "speaker_id": row.speaker_id,
                    "cluster": CLUSTER,
                    "resource_id": row.resource_id or self.resource_id,
                    "state": row.state,
                    "alias": row.alias,
                    "version": row.version,
                    "expire_time": row.expire_time,
                    "available_training_times": row.available_training_times,
                },
            )
            for row in self.list_speakers()
            if row.state in _USABLE_CONSOLE_STATES
        ]

    # Voice management: Volcengine offers none of it (capabilities keep the three flags False).

    def rename_voice(self, voice: VendorVoice, name: str) -> None:
        raise VendorRejected(
            VENDOR_ID,
            "NotSupported",
            "Volcengine documents no action to rename a speaker slot (the listing's Alias cannot be set)",
        )

    def delete_voice(self, voice: VendorVoice) -> None:
        raise VendorRejected(
            VENDOR_ID,
            "NotSupported",
            "Volcengine speaker slots cannot be deleted: they expire, or are retrained with a new upload",
        )

    def cancel_task(self, task_id: str) -> None:
        raise VendorRejected(
            VENDOR_ID,
            "NotSupported",
            "Volcengine has no action to stop a training: it runs to its end (seconds to minutes)",
        )


def _json(response: httpx.Response) -> dict[str, Any] | None:
    if not response.content:
        return None
    try:
        value = response.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
