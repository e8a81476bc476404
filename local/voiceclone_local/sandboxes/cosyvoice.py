"""A local Aliyun CosyVoice: DashScope's voice enrollment and WebSocket speech, real audio checks, a review.

It lets the adapter, the workflow and Alibaba's own ``dashscope`` SDK clone and speak without an
account. The enrollment API is one path (``POST /api/v1/services/audio/tts/customization``) taking
``{"model": "voice-enrollment", "input": {"action": ...}}`` with ``Authorization: Bearer <key>``;
answers are ``{output, usage, request_id}``, refusals a status with ``{request_id, code, message}``
(docs/vendors/cosyvoice.md#sandbox). ``create_voice`` downloads the URL as the vendor does and
checks the file for real: WAV (16-bit), MP3 or M4A, at most 10 MB and 60 s, at least 16 kHz; then
the voice is reviewed (``DEPLOYING`` for ``training_seconds``) and ends ``OK``, or ``UNDEPLOYED``
when the recording breaks the content rule as far as a machine can tell without a speech model:
a stretch of at least 5 s of continuous speech (no silence over ``continuity_gap_seconds`` in it)
and no silence anywhere over 2 s. An account holds at most ``voice_quota`` (1000) voices, and a
voice speaks only with the model it was created for.

Speech is DashScope's duplex task on the WebSocket port (``stream_url``, ``/api-ws/v1/inference``):
run-task → task-started, continue-task (the text) and finish-task → result-generated
(sentence-begin), the audio in binary frames, result-generated (sentence-end), task-finished; any
refusal is a task-failed event. The stream knobs of voiceclone_local.sandboxes.streaming apply.

Where the docs are silent the sandbox chooses, and says so here: the voice quota is answered as
DashScope's error page describes resource-count limits (HTTP 429 ``Throttling.AllocationQuota``);
other refusals are HTTP 400 ``InvalidParameter`` (an unknown model ``ModelNotFound``) with words
that say which rule; an unknown voice is ``InvalidParameter`` "does not exist"; a review that fails
carries a ``reason`` in ``query_voice`` (the doc names none); a bad key on the WebSocket is refused
at the handshake (HTTP 401, the DashScope error body); list_voice shows the newest voice first.
"""

from __future__ import annotations

import hmac
import io
import json
import math
import re
import time
import uuid
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field
from voiceclone.domain.audio import wav_file
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection
from werkzeug.routing import Map, Rule

from voiceclone_local.sandboxes.audio import fetch_audio, speak, voice_sample
from voiceclone_local.sandboxes.base import CheckedCredential, Refusal, Route
from voiceclone_local.sandboxes.knobs import Fault, SandboxConfig, env_or
from voiceclone_local.sandboxes.server import (
    DropConnection,
    SandboxApiError,
    SandboxRequest,
    SandboxResponse,
    json_object,
    json_response,
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

VENDOR_ID = "cosyvoice"
# A public, fixed sandbox key (not a secret): the local stack and tests use it by default.
DEFAULT_API_KEY = "sk-sandbox-cosyvoice"
ENROLLMENT_PATH = "/api/v1/services/audio/tts/customization"
WS_PATH = "/api-ws/v1/inference"
ENROLLMENT_MODEL = "voice-enrollment"
TARGET_MODELS = ("cosyvoice-v1", "cosyvoice-v2", "cosyvoice-v3-flash", "cosyvoice-v3-plus")
V3_MODELS = ("cosyvoice-v3-flash", "cosyvoice-v3-plus")
LANGUAGES = ("zh", "en", "fr", "de", "ja", "ko", "ru")
PREFIX = re.compile(r"[a-z0-9]{1,9}")
# FFmpeg's container and codec names of the formats CosyVoice takes: WAV (16-bit), MP3, M4A.
AUDIO_FORMATS = {"wav": ("pcm_s16le",), "mp3": ("mp3", "mp3float"), "mov": ("aac",)}
# The rate the content is judged at and the voice sample kept (16 kHz, the least CosyVoice takes).
ANALYSIS_RATE = 16000
STATUS_DEPLOYING, STATUS_OK, STATUS_UNDEPLOYED = "DEPLOYING", "OK", "UNDEPLOYED"
_STATUSES = {
    TrainingState.PENDING: STATUS_DEPLOYING,
    TrainingState.RUNNING: STATUS_DEPLOYING,
    TrainingState.SUCCEEDED: STATUS_OK,
    TrainingState.FAILED: STATUS_UNDEPLOYED,
}
INVALID, QUOTA, MODEL_NOT_FOUND = "InvalidParameter", "Throttling.AllocationQuota", "ModelNotFound"
_FAULTS = {
    Fault.THROTTLE: Refusal(
        429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
    ),
    Fault.INTERNAL: Refusal(
        500,
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    ),
    Fault.UNAVAILABLE: Refusal(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable, try again later.",
    ),
}

# Speech (docs/vendors/cosyvoice.md, Streaming speech): formats the sandbox makes (opus: not here),
# the rates, the ranges, and the text a continue-task and a task take (a Chinese character counts 2).
SPEECH_FORMATS = ("pcm", "wav", "mp3")
SPEECH_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
# The SDK's AudioFormat.DEFAULT: the server chooses.
DEFAULT_FORMAT, DEFAULT_RATE = "mp3", 22050
CONTINUE_TEXT_LIMIT, TASK_TEXT_LIMIT = 20000, 200000
_TAG = re.compile(r"<[^<>]*>")


class CosyVoiceSandboxConfig(StreamingSandboxConfig):
    """The key, the audio and content rules, the voice quota and the shared knobs; changeable at runtime."""

    # repr=False: the config may end up in a log line or a test failure message.
    api_key: str = Field(default_factory=env_or(VENDOR_ID, "api_key", DEFAULT_API_KEY), repr=False)
    voice_quota: int = Field(default=1000, ge=0)
    max_audio_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    max_seconds: float = Field(default=60.0, gt=0)
    min_sample_rate: int = Field(default=16000, ge=1)
    min_continuous_seconds: float = Field(default=5.0, ge=0)
    max_pause_seconds: float = Field(default=2.0, gt=0)
    # A silence at most this long does not break a stretch of continuous speech (a breath).
    continuity_gap_seconds: float = Field(default=0.5, ge=0)


class TaskFailed(Exception):
    """A speech task refused: the task-failed event's code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _invalid(message: str) -> SandboxApiError:
    return SandboxApiError(400, INVALID, message)


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Voice:
    """One cloned voice; its status follows its review."""

    voice_id: str
    prefix: str
    target_model: str
    url: str
    created: str
    modified: str
    review: SimulatedTask
    sample: bytes

    def status(self) -> str:
        return _STATUSES[self.review.state()]

    def summary(self) -> dict[str, Any]:
        """A row of list_voice."""
        return {
            "voice_id": self.voice_id,
            "gmt_create": self.created,
            "gmt_modified": self.modified,
            "status": self.status(),
        }

    def details(self) -> dict[str, Any]:
        """query_voice's output (with the sandbox's own ``reason`` when the review failed)."""
        found: dict[str, Any] = {
            "gmt_create": self.created,
            "gmt_modified": self.modified,
            "resource_link": self.url,
            "target_model": self.target_model,
            "status": self.status(),
        }
        if found["status"] == STATUS_UNDEPLOYED:
            found["reason"] = self.review.failure or ""
        return found


@dataclass(frozen=True)
class Checked:
    """A recording that passed the file checks: what the review will say, and the voice to speak from."""

    problem: str | None
    sample: bytes


def frame_levels(pcm: bytes, rate: int, frame_seconds: float = 0.02) -> list[float]:
    """Each frame's RMS level in dBFS (16-bit mono PCM)."""
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    size = max(1, int(rate * frame_seconds))
    levels = []
    for start in range(0, len(samples), size):
        chunk = samples[start : start + size]
        rms = math.hypot(*chunk) / math.sqrt(len(chunk))
        levels.append(20 * math.log10(rms / 32768) if rms > 0 else -120.0)
    return levels


def content_problem(
    pcm: bytes,
    rate: int,
    *,
    min_continuous: float,
    max_pause: float,
    continuity_gap: float,
    frame_seconds: float = 0.02,
) -> str | None:
    """Why a recording breaks CosyVoice's content rule, or None: silence over ``max_pause`` anywhere
    (edges included), or no stretch of ``min_continuous`` seconds of speech.

    A frame is speech when its level is within 30 dB of the loud frames (the 95th percentile) and
    above the middle between them and the quiet ones (the 10th): the background of the recording
    does not count, whatever its level.
    """
    levels = frame_levels(pcm, rate, frame_seconds)
    ordered = sorted(levels)
    if not levels or ordered[int(len(ordered) * 0.95)] < -60:
        return "no speech was found in the recording"
    loud, quiet = ordered[int(len(ordered) * 0.95)], ordered[int(len(ordered) * 0.10)]
    threshold = max(loud - 30.0, (loud + quiet) / 2)
    speech = [level >= threshold for level in levels]
    # Runs of equal frames: (is speech, first frame, frames).
    runs: list[tuple[bool, int, int]] = []
    for index, flag in enumerate(speech):
        if runs and runs[-1][0] == flag:
            runs[-1] = (flag, runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((flag, index, 1))
    for flag, first, count in runs:
        if not flag and count * frame_seconds > max_pause:
            return (
                f"the recording is silent for {count * frame_seconds:.1f} s from "
                f"{first * frame_seconds:.1f} s on: pauses of at most {max_pause:g} s are allowed"
            )
    longest = stretch = 0.0
    for flag, _, count in runs:
        seconds = count * frame_seconds
        if flag or seconds <= continuity_gap:
            stretch += seconds
        else:
            stretch = 0.0
        longest = max(longest, stretch)
    if longest < min_continuous:
        return (
            f"the longest stretch of continuous speech lasts {longest:.1f} s: at least {min_continuous:g} s "
            "of continuous reading is needed"
        )
    return None


def weighted_length(text: str) -> int:
    """The text as CosyVoice counts it: a Chinese character 2, anything else 1."""
    return sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in text)


def _event(name: str, task_id: str, payload: dict[str, Any] | None = None, **header: Any) -> str:
    frame = {
        "header": {"task_id": task_id, "event": name, "attributes": {}, **header},
        "payload": payload or {},
    }
    return json.dumps(frame, ensure_ascii=False)


def _failed(task_id: str, code: str, message: str) -> str:
    return _event("task-failed", task_id, error_code=code, error_message=message)


def _command(message: str | bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """A client command's header and payload; TaskFailed for anything else."""
    if not isinstance(message, str):
        raise TaskFailed(INVALID, "commands are JSON text frames")
    try:
        frame = json.loads(message)
    except ValueError:
        raise TaskFailed(INVALID, "the command is not valid JSON") from None
    header = frame.get("header") if isinstance(frame, dict) else None
    payload = frame.get("payload") if isinstance(frame, dict) else None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TaskFailed(INVALID, "a command is {header, payload}")
    return header, payload


@dataclass(frozen=True)
class SpeechTask:
    """A run-task that passed: what to make, and the voice to make it with."""

    task_id: str
    fmt: str
    rate: int
    speed: float
    sample: bytes
    ssml: bool


class CosyVoiceSandbox(StreamingSandbox):
    """DashScope's voice enrollment on the shared request skeleton, and its speech task over WebSocket."""

    vendor_id: ClassVar[str] = VENDOR_ID
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {"": _FAULTS}
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential("api_key", "InvalidApiKey")
    config_class: ClassVar[type[SandboxConfig]] = CosyVoiceSandboxConfig
    routes: ClassVar[Map] = Map([Rule(ENROLLMENT_PATH, methods=["POST"], endpoint="_enrollment")])
    config: CosyVoiceSandboxConfig
    stream_path: ClassVar[str] = WS_PATH

    def _init_state(self) -> None:
        self._voices: dict[str, Voice] = {}

    @property
    def voices(self) -> dict[str, Voice]:
        """A snapshot of the voices by id (the Voice objects are live)."""
        with self._lock:
            return dict(self._voices)

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.config.api_key}

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def _key_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        expected = self.config.api_key.encode("utf-8")
        return scheme == "Bearer" and hmac.compare_digest(token.strip().encode("utf-8"), expected)

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        if not self._key_ok(request.headers.get("authorization", "")):
            raise SandboxApiError(401, "InvalidApiKey", "Invalid API-key provided.")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        return json_response(200, {"output": result, "usage": {"count": 1}, "request_id": str(uuid.uuid4())})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        body = {"request_id": str(uuid.uuid4()), "code": str(error.code), "message": error.message}
        return json_response(error.status, body)

    # ----- enrollment ------------------------------------------------------------------------------

    def _enrollment(self, request: SandboxRequest, route: Route) -> Any:
        body = json_object(request.body, _invalid, empty=False)
        if body.get("model") != ENROLLMENT_MODEL:
            raise SandboxApiError(
                404, MODEL_NOT_FOUND, f"Model not exist: voice cloning is {ENROLLMENT_MODEL}"
            )
        params = body.get("input")
        if not isinstance(params, dict):
            raise _invalid("input must be an object")
        action = params.get("action")
        operations = {
            "create_voice": self._create_voice,
            "query_voice": self._query_voice,
            "list_voice": self._list_voice,
            "update_voice": self._update_voice,
            "delete_voice": self._delete_voice,
        }
        if action not in operations:
            raise _invalid(f"input.action must be one of {', '.join(operations)}")
        return operations[str(action)](params)

    def _voice(self, params: dict[str, Any]) -> Voice:
        """The voice ``voice_id`` names; call with the lock held."""
        voice_id = params.get("voice_id")
        if not isinstance(voice_id, str) or not voice_id:
            raise _invalid("voice_id is required")
        voice = self._voices.get(voice_id)
        if voice is None:
            raise _invalid(f"voice_id {voice_id} does not exist")
        return voice

    def _create_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        model = params.get("target_model")
        if model not in TARGET_MODELS:
            raise _invalid(f"target_model must be one of {', '.join(TARGET_MODELS)}")
        prefix = params.get("prefix")
        if not isinstance(prefix, str) or not PREFIX.fullmatch(prefix):
            raise _invalid("prefix must be 1 to 9 digits or lower-case letters")
        hints = params.get("language_hints")
        if hints is not None and (
            not isinstance(hints, list) or not hints or any(h not in LANGUAGES for h in hints)
        ):
            raise _invalid(f"language_hints must be a list of {', '.join(LANGUAGES)}")
        length = params.get("max_prompt_audio_length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int | float)):
            raise _invalid("max_prompt_audio_length must be a number of seconds")
        self._check_quota()
        url = self._url(params)
        checked = self._check_audio(url)
        with self._lock:
            self._check_quota()
            voice_id = f"{model}-{prefix}-{uuid.uuid4().hex}"
            voice = Voice(
                voice_id=voice_id,
                prefix=prefix,
                target_model=str(model),
                url=url,
                created=_now(),
                modified=_now(),
                review=self._review(voice_id, checked),
                sample=checked.sample,
            )
            self._voices[voice_id] = voice
        if self.drop_create_response():
            raise DropConnection
        return {"voice_id": voice_id}

    def _check_quota(self) -> None:
        if len(self._voices) >= self.config.voice_quota:
            raise SandboxApiError(
                429,
                QUOTA,
                f"Voice quota exceeded: the account holds {len(self._voices)} voices, the limit is "
                f"{self.config.voice_quota}; delete voices before creating more",
            )

    @staticmethod
    def _url(params: dict[str, Any]) -> str:
        url = params.get("url")
        if not isinstance(url, str) or not re.match(r"https?://", url):
            raise _invalid("url must be an http(s) URL of the audio that the service can download")
        return url

    def _review(self, voice_id: str, checked: Checked) -> SimulatedTask:
        """The review: the recording's content problem outranks the configured failure."""
        failure = checked.problem or self.config.fail_training
        return self._trainer.create(voice_id=voice_id, failure=failure)

    def _check_audio(self, url: str) -> Checked:
        """Download the recording as CosyVoice does and check the file; the content goes to the review."""
        try:
            data = fetch_audio(url)
        except ValueError as exc:
            raise _invalid(f"Download audio failed: {exc}") from None
        if len(data) > self.config.max_audio_bytes:
            raise _invalid(f"the audio file has {len(data)} bytes, more than {self.config.max_audio_bytes}")
        container, codec, rate, seconds = _probe(data)
        if codec not in AUDIO_FORMATS.get(container, ()):
            raise _invalid(f"the audio is {container}/{codec}: WAV (16-bit), MP3 or M4A is supported")
        if rate < self.config.min_sample_rate:
            raise _invalid(
                f"the audio is sampled at {rate} Hz, at least {self.config.min_sample_rate} Hz is needed"
            )
        if seconds > self.config.max_seconds:
            raise _invalid(
                f"the audio lasts {seconds:.1f} s, at most {self.config.max_seconds:g} s is allowed"
            )
        from voiceclone.domain.audio_decode import DecodeError, decode_pcm16

        try:
            pcm, _ = decode_pcm16(data, ANALYSIS_RATE)
        except DecodeError as exc:
            raise _invalid(f"the audio cannot be decoded: {exc}") from None
        config = self.config
        problem = content_problem(
            pcm,
            ANALYSIS_RATE,
            min_continuous=config.min_continuous_seconds,
            max_pause=config.max_pause_seconds,
            continuity_gap=config.continuity_gap_seconds,
        )
        sample = voice_sample(wav_file(ANALYSIS_RATE, pcm)) if problem is None else b""
        return Checked(problem=problem, sample=sample)

    def _query_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._voice(params).details()

    def _list_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("prefix")
        index, size = params.get("page_index", 0), params.get("page_size", 10)
        for name, value in (("page_index", index), ("page_size", size)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (1 if name == "page_size" else 0)
            ):
                raise _invalid(f"{name} must be a whole number")
        with self._lock:
            found = [v for v in self._voices.values() if prefix in (None, "") or v.prefix == prefix]
            found.reverse()  # the newest first
            page = found[index * size : (index + 1) * size]
            return {"voice_list": [v.summary() for v in page]}

    def _update_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._voice(params)
        url = self._url(params)
        checked = self._check_audio(url)
        with self._lock:
            voice = self._voice(params)  # it may have been deleted during the download
            voice.url, voice.modified, voice.sample = url, _now(), checked.sample
            voice.review = self._review(voice.voice_id, checked)
        return {}

    def _delete_voice(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            voice = self._voice(params)
            del self._voices[voice.voice_id]
        return {}

    # ----- speech over WebSocket ---------------------------------------------------------------------

    def stream_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """``Authorization: Bearer <key>``; anything else is refused before the upgrade (HTTP 401)."""
        refused = super().stream_upgrade(connection, request)
        if refused is not None:
            return refused
        if not self._key_ok(request.headers.get("Authorization", "")):
            body = {
                "request_id": str(uuid.uuid4()),
                "code": "InvalidApiKey",
                "message": "Invalid API-key provided.",
            }
            return json_refusal(connection, 401, body)
        return None

    def serve_stream(self, connection: ServerConnection) -> None:
        """One task: run-task, then the text until finish-task; the audio, then task-finished."""
        record: StreamRecord | None = None
        task_id = ""
        try:
            try:
                header, payload = _command(connection.recv(timeout=CLIENT_WAIT_SECONDS))
                task_id = str(header.get("task_id") or "")
                task = self._run_task(header, payload)
                record = self.begin_stream({"model": payload.get("model"), **payload.get("parameters", {})})
                if record is None:
                    raise TaskFailed("Throttling.RateQuota", "too many synthesis tasks at once")
                connection.send(_event("task-started", task_id))
                text, cancelled = self._read_text(connection, task_id)
                spoken = _TAG.sub("", text) if task.ssml else text
                if not cancelled and not spoken.strip():
                    raise TaskFailed(INVALID, "the task got no text to speak")
            except TaskFailed as exc:
                if record is not None:
                    record.outcome = f"failed {exc.code}"
                connection.send(_failed(task_id, exc.code, exc.message))
                return
            except TimeoutError:
                connection.send(_failed(task_id, INVALID, "no command came in time"))
                return
            if cancelled:
                record.outcome = "cancelled"
                connection.send(_event("task-finished", task_id, {"output": {}}))
                return
            self._speak_task(connection, record, task, spoken)
        except ConnectionClosed:
            if record is not None:
                record.outcome = record.outcome or "abandoned by the client"
        finally:
            if record is not None:
                self.end_stream(record)

    def _run_task(self, header: dict[str, Any], payload: dict[str, Any]) -> SpeechTask:
        """The first command, checked as DashScope checks it; the voice must be OK and of the task's model."""
        if header.get("action") != "run-task" or not header.get("task_id"):
            raise TaskFailed(INVALID, "the first command must be run-task, with a task_id")
        if header.get("streaming") != "duplex":
            raise TaskFailed(INVALID, "header.streaming must be duplex")
        where = (payload.get("task_group"), payload.get("task"), payload.get("function"))
        if where != ("audio", "tts", "SpeechSynthesizer"):
            raise TaskFailed(INVALID, "payload task_group/task/function must be audio/tts/SpeechSynthesizer")
        model = payload.get("model")
        if model not in TARGET_MODELS:
            raise TaskFailed(MODEL_NOT_FOUND, f"Model not exist: {model!r}")
        params = payload.get("parameters")
        if not isinstance(params, dict):
            raise TaskFailed(INVALID, "payload.parameters must be an object")
        fmt, rate = params.get("format", DEFAULT_FORMAT), params.get("sample_rate", DEFAULT_RATE)
        if fmt == "Default":
            fmt, rate = DEFAULT_FORMAT, rate or DEFAULT_RATE
        if fmt not in SPEECH_FORMATS:
            raise TaskFailed(INVALID, f"format {fmt!r}: the sandbox makes {', '.join(SPEECH_FORMATS)}")
        if rate not in SPEECH_RATES or isinstance(rate, bool):
            raise TaskFailed(INVALID, f"sample_rate must be one of {', '.join(map(str, SPEECH_RATES))}")
        speed = _number(params, "rate", 1.0, 0.5, 2.0)
        _number(params, "pitch", 1.0, 0.5, 2.0)
        _number(params, "volume", 50, 0, 100)
        voice_id = params.get("voice")
        with self._lock:
            voice = self._voices.get(voice_id) if isinstance(voice_id, str) else None
            status = voice.status() if voice is not None else ""
        if voice is None:
            raise TaskFailed(INVALID, f"voice {voice_id!r} does not exist")
        if status != STATUS_OK:
            raise TaskFailed(INVALID, f"voice {voice_id} is {status}, not OK: it cannot speak yet")
        if voice.target_model != model:
            raise TaskFailed(
                INVALID,
                f"voice {voice_id} was created for target_model {voice.target_model}, which does not match "
                f"the task's model {model}",
            )
        ssml = params.get("enable_ssml") is True
        return SpeechTask(str(header["task_id"]), str(fmt), int(rate), speed, voice.sample, ssml)

    def _read_text(self, connection: ServerConnection, task_id: str) -> tuple[str, bool]:
        """continue-task text until finish-task; (the text, whether the client cancelled)."""
        parts: list[str] = []
        while True:
            header, payload = _command(connection.recv(timeout=CLIENT_WAIT_SECONDS))
            if header.get("task_id") != task_id:
                raise TaskFailed(INVALID, "every command of a task carries its task_id")
            action = header.get("action")
            found = payload.get("input")
            given: dict[str, Any] = found if isinstance(found, dict) else {}
            if action == "finish-task":
                return "".join(parts), given.get("directive") == "cancel"
            if action != "continue-task":
                raise TaskFailed(INVALID, f"{action!r}: after run-task come continue-task and finish-task")
            if given.get("flush") is True:
                continue
            text = given.get("text")
            if not isinstance(text, str):
                raise TaskFailed(INVALID, "continue-task carries input.text")
            if weighted_length(text) > CONTINUE_TEXT_LIMIT:
                raise TaskFailed(INVALID, f"one continue-task takes at most {CONTINUE_TEXT_LIMIT} characters")
            parts.append(text)
            if weighted_length("".join(parts)) > TASK_TEXT_LIMIT:
                raise TaskFailed(INVALID, f"a task takes at most {TASK_TEXT_LIMIT} characters")

    def _speak_task(
        self, connection: ServerConnection, record: StreamRecord, task: SpeechTask, text: str
    ) -> None:
        audio = speak(task.sample, text, fmt=task.fmt, sample_rate=task.rate, speed=task.speed)
        if task.fmt == "wav":  # the header first (the sandbox knows the length), then the samples
            chunks = [audio[:44], *chunk_audio(audio[44:], "pcm", task.rate, self.config.stream_chunk_ms)]
        else:
            chunks = chunk_audio(audio, task.fmt, task.rate, self.config.stream_chunk_ms)
        usage = {"characters": weighted_length(text)}
        begin = {"output": {"type": "sentence-begin", "original_text": text, "sentence": {"index": 0}}}
        connection.send(_event("result-generated", task.task_id, begin))
        finished = self.play(
            record,
            chunks,
            send=lambda chunk, last: connection.send(chunk),
            fail=lambda code: connection.send(
                _failed(
                    task.task_id, str(code or "InternalError"), "synthesis failed (injected by the sandbox)"
                )
            ),
            drop=connection.close,
        )
        if finished:
            end = {"output": {"type": "sentence-end", "sentence": {"index": 0}}, "usage": usage}
            connection.send(_event("result-generated", task.task_id, end))
            record.outcome = "final"
            connection.send(_event("task-finished", task.task_id, {"output": {}, "usage": usage}))
            record.closed_by_client = client_closes(connection)


def _number(params: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise TaskFailed(INVALID, f"{name} must be from {low:g} to {high:g}")
    return float(value)


def _probe(data: bytes) -> tuple[str, str, int, float]:
    """(container, codec, sample rate, seconds) of an audio file, as FFmpeg reads it."""
    import av
    import av.error

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise _invalid("the file holds no audio")
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            seconds = 0.0
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000
            return container.format.name.split(",")[0], str(ctx.name), int(ctx.sample_rate or 0), seconds
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise _invalid(f"the file is not audio the service can read ({type(exc).__name__})") from None
