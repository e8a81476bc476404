"""A local Qiniu 灵矽 (xrobo) voice-clone API: Bearer key, voice slots, real audio download and checks.

It lets the adapter and the workflow run a Qiniu clone without an account or quota.
Paths, bodies, envelope and codes follow the current doc revision (NOTES.md
section 5), not the older seed: create takes ``{language, tier}``, ``name`` is
required on PUT, a slot's language is fixed, and ``pro`` slots cannot be deleted
(403). A PUT with a ``key`` downloads that URL and inspects the WAV for real; a
bad file makes the training fail with a reason a person can act on. Training is
simulated by elapsed time. A PUT with an empty ``key`` only renames: it starts
no training and leaves the state as it was (also while training). DELETE removes
a free slot in any state; deleting a slot that is training stops that training,
and the slot answers 404 afterwards (Qiniu has no cancel: this is the only way).
Where the doc is silent the sandbox chooses, and says so: failed voices carry a
``reason`` field (the doc has none), renaming is allowed in every state, and
whether codes are also HTTP statuses is a knob (``errors_as_http_status``).
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from voiceclone.domain.audio import inspect_wav

from voiceclone_local.sandboxes.base import (
    DropConnection,
    Fault,
    Faults,
    SandboxBase,
    SandboxConfig,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    SimulatedTask,
    TrainingSimulator,
    TrainingState,
    env_or,
    fetch_audio,
)

logger = logging.getLogger(__name__)

# A public, fixed sandbox key (not a secret): the local stack and tests use it by default.
DEFAULT_API_KEY = "sandbox-qiniu-api-key"
VOICES_PATH = "/v1/voice-clones"
VOICE_PATH = VOICES_PATH + "/{id}"
NAME_MAX_CHARS = 20
DEFAULT_NAME_PREFIX = "复刻音色-"
TIERS = ("free", "pro")
FREE_LANGUAGES = ("zh", "en")
PRO_LANGUAGES = (*FREE_LANGUAGES, "ja", "ko", "es", "pt", "id", "de", "fr", "ar", "hi", "it", "tr", "yue")
SAMPLE_RATE = 16000

STATE_INIT, STATE_TRAINING, STATE_SUCCESS, STATE_FAILED = "Init", "Training", "Success", "Failed"
_STATES = {
    TrainingState.PENDING: STATE_TRAINING,
    TrainingState.RUNNING: STATE_TRAINING,
    TrainingState.SUCCEEDED: STATE_SUCCESS,
    TrainingState.FAILED: STATE_FAILED,
}


class QiniuSandboxConfig(SandboxConfig):
    """The key, the audio limits and the shared fault knobs; tests change them while the sandbox runs."""

    # repr=False: the config may end up in a log line or a test failure message.
    api_key: str = Field(default_factory=env_or("VOICECLONE_QINIU_API_KEY", DEFAULT_API_KEY), repr=False)
    # Qiniu asks for 10–60 s of training audio.
    min_seconds: float = Field(default=10.0, ge=0)
    max_seconds: float = Field(default=60.0, gt=0)
    # The doc does not say whether error codes are HTTP statuses too: True sends them as both,
    # False answers every request with HTTP 200 and the code only in the envelope.
    errors_as_http_status: bool = True


class QiniuApiError(Exception):
    """An answer with a non-zero envelope code."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


@dataclass
class Slot:
    """One voice slot; its state follows the training started on it, if any."""

    id: str
    name: str
    language: str
    tier: str
    task: SimulatedTask | None = None

    def state(self) -> str:
        if self.task is None:
            return STATE_INIT
        return _STATES[self.task.state()]

    def describe(self) -> dict[str, Any]:
        state = self.state()
        voice: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "language": self.language,
            "demo_url": "",  # the sandbox synthesises no demo
            "state": state,
            "tier": self.tier,
        }
        if state == STATE_FAILED and self.task is not None:
            voice["reason"] = self.task.failure or ""
        return voice


def _bad_request(msg: str) -> QiniuApiError:
    return QiniuApiError(400, msg)


def _json_object(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise _bad_request("the request body is not JSON") from exc
    if not isinstance(value, dict):
        raise _bad_request("the request body must be a JSON object")
    return value


def _str_field(params: dict[str, Any], name: str, default: str) -> str:
    value = params.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad_request(f"{name} must be a string")
    return value


def audio_problem(data: bytes, config: QiniuSandboxConfig) -> str | None:
    """Why this training audio cannot make a voice, in words a person can act on; None if it can."""
    report = inspect_wav(
        data, expected_sample_rate=SAMPLE_RATE, min_seconds=config.min_seconds, max_seconds=config.max_seconds
    )
    if report.ok:
        return None
    return "training audio rejected: " + "; ".join(f.message for f in report.findings)


class QiniuSandbox(SandboxBase):
    """The API state and behaviour on a SandboxServer (which only moves bytes in and out)."""

    def __init__(
        self, config: QiniuSandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or QiniuSandboxConfig()
        self._lock = threading.Lock()
        self._slots: dict[str, Slot] = {}
        self._faults = Faults(lambda: self.config)
        self._trainer = TrainingSimulator(lambda: self.config)
        # Bound now, so `url` is known (and the port taken) before start().
        self._server = SandboxServer(self.handle, host=host, port=port)

    # ----- lifecycle ------------------------------------------------------------------------------

    @property
    def slots(self) -> dict[str, Slot]:
        """A snapshot of the slots by id (the Slot objects are live)."""
        with self._lock:
            return dict(self._slots)

    def local_settings(self) -> dict[str, str]:
        """Vendor settings the local stack gives the adapter (the public sandbox key)."""
        return {"QINIU_API_KEY": self.config.api_key}

    # ----- request handling -----------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """One request in, the Qiniu envelope out; keys, bodies and audio URLs are never logged."""
        reqid = uuid.uuid4().hex[:16]
        route, voice_id = self._route(request.path)
        with self._lock:
            self._server.requests[f"{request.method} {route}"] += 1
        try:
            self._authenticate(request)
            fault = self._faults.next()
            if fault is Fault.THROTTLE:
                raise QiniuApiError(429, "too many requests: rate limit exceeded, retry later")
            if fault is Fault.INTERNAL:
                raise QiniuApiError(500, "internal error")
            data = self._dispatch(request, route, voice_id)
        except QiniuApiError as exc:
            logger.debug("qiniu sandbox %s %s -> %s", request.method, route, exc.code)
            status = exc.code if self.config.errors_as_http_status else 200
            return self._answer(status, {"code": exc.code, "msg": exc.msg, "reqid": reqid, "data": {}}, reqid)
        logger.debug("qiniu sandbox %s %s ok", request.method, route)
        return self._answer(200, {"code": 0, "msg": "", "reqid": reqid, "data": data}, reqid)

    def _dispatch(self, request: SandboxRequest, route: str, voice_id: str) -> dict[str, Any]:
        method = request.method
        if route == VOICES_PATH and method == "POST":
            return self._create(request.body)
        if route == VOICES_PATH and method == "GET":
            return self._list()
        if route == VOICE_PATH and method == "GET":
            return self._get(voice_id)
        if route == VOICE_PATH and method == "PUT":
            return self._put(voice_id, request.body)
        if route == VOICE_PATH and method == "DELETE":
            return self._delete(voice_id)
        raise QiniuApiError(404, f"no such API: {method} {request.path}")

    @staticmethod
    def _answer(status: int, envelope: dict[str, Any], reqid: str) -> SandboxResponse:
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        return SandboxResponse(status=status, body=body, headers={"X-Reqid": reqid})

    @staticmethod
    def _route(path: str) -> tuple[str, str]:
        """("/v1/voice-clones", voice id or "") for the API's paths, ("", "") for anything else."""
        if path.rstrip("/") == VOICES_PATH:
            return VOICES_PATH, ""
        prefix = VOICES_PATH + "/"
        if path.startswith(prefix) and "/" not in path[len(prefix) :].rstrip("/"):
            return VOICE_PATH, path[len(prefix) :].rstrip("/")
        return "", ""

    def _authenticate(self, request: SandboxRequest) -> None:
        """Before any fault knob, so an unauthenticated request does not use one up."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = self.config.api_key.encode("utf-8")
        if scheme != "Bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), expected):
            raise QiniuApiError(401, "unauthorized: the token is missing, invalid or expired")

    def _slot(self, voice_id: str) -> Slot:
        slot = self._slots.get(voice_id)
        if slot is None:
            raise QiniuApiError(404, f"voice {voice_id} not found")
        return slot

    # ----- operations -----------------------------------------------------------------------------

    def _create(self, body: bytes) -> dict[str, Any]:
        params = _json_object(body)
        # model_id was required by the old revision, then deprecated and removed: accepted and ignored.
        tier = _str_field(params, "tier", "free")
        if tier not in TIERS:
            raise _bad_request(f"tier must be one of {', '.join(TIERS)}")
        language = _str_field(params, "language", "zh")
        allowed = PRO_LANGUAGES if tier == "pro" else FREE_LANGUAGES
        if language not in allowed:
            raise _bad_request(
                f"language {language!r} is not available for {tier} voices: {', '.join(allowed)}"
            )
        voice_id = uuid.uuid4().hex
        slot = Slot(id=voice_id, name=DEFAULT_NAME_PREFIX + voice_id[-5:], language=language, tier=tier)
        with self._lock:
            self._slots[voice_id] = slot
        return slot.describe()

    def _list(self) -> dict[str, Any]:
        with self._lock:
            return {"voices": [s.describe() for s in self._slots.values()]}

    def _get(self, voice_id: str) -> dict[str, Any]:
        with self._lock:
            return self._slot(voice_id).describe()

    def _put(self, voice_id: str, body: bytes) -> dict[str, Any]:
        """Rename (empty key), or download the key's audio, check it and start training on the slot."""
        params = _json_object(body)
        name = _str_field(params, "name", "")
        if not name.strip():
            raise _bad_request("name is required")
        if len(name) > NAME_MAX_CHARS:
            raise _bad_request(f"name must be at most {NAME_MAX_CHARS} characters, got {len(name)}")
        key = _str_field(params, "key", "").strip()
        with self._lock:
            slot = self._slot(voice_id)
            self._check_language(params, slot)
            if key:
                self._check_trainable(slot)
        if key and urlsplit(key).scheme not in ("http", "https"):
            raise _bad_request("key must be an http(s) URL of the training audio, or empty to rename")
        failure = None
        if key:
            try:
                audio = fetch_audio(key)
            except ValueError as exc:
                raise _bad_request(f"cannot fetch the audio at key: {exc}") from exc
            failure = audio_problem(audio, self.config)
        with self._lock:
            slot = self._slot(voice_id)  # it may have been deleted during the download
            slot.name = name
            if key:
                self._check_trainable(slot)
                task = self._trainer.create(slot_id=voice_id)
                if failure:
                    task.failure = failure  # the audio's problem outranks the configured one
                slot.task = task
            described = slot.describe()
        if key and self._faults.drop_create_response():
            raise DropConnection
        return described

    @staticmethod
    def _check_language(params: dict[str, Any], slot: Slot) -> None:
        language = params.get("language")
        if language is not None and language != slot.language:
            raise _bad_request(f"the language of a voice is fixed when it is created ({slot.language})")

    @staticmethod
    def _check_trainable(slot: Slot) -> None:
        if slot.state() == STATE_TRAINING:
            raise _bad_request(f"voice {slot.id} is training: wait until it finishes")

    def _delete(self, voice_id: str) -> dict[str, Any]:
        with self._lock:
            slot = self._slot(voice_id)
            if slot.tier == "pro":
                raise QiniuApiError(403, "paid voices cannot be deleted")
            del self._slots[voice_id]
        return {}
