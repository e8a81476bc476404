"""A local Qiniu 灵矽 (xrobo) voice-clone API: Bearer key, voice slots, real audio download and checks.

It lets the adapter and the workflow run a Qiniu clone without an account or quota.
Paths, bodies, envelope and codes follow the current doc revision
(docs/vendors/qiniu.md#sandbox), not the older one (#where-other-descriptions-of-the-api-differ):
create takes ``{language, tier}``, ``name`` is required on PUT, a slot's language is
fixed, paid (``lite``, ``pro``) slots cannot be deleted (403), and
``GET /v1/voice-clones/quota?tier=`` answers the trainings a tier has left. A PUT with a ``key`` downloads
that URL and inspects the WAV for real; a bad file makes the training fail with a
reason a person can act on. Training is simulated by elapsed time. A PUT with an
empty ``key`` only renames: it starts no training and leaves the state as it was
(also while training). DELETE removes a free slot in any state; deleting a slot that
is training stops that training, and the slot answers 404 afterwards (Qiniu has no
cancel: this is the only way). Where the doc is silent the sandbox chooses, and says
so: failed voices carry a ``reason`` field (the doc has none), renaming is allowed
in every state, and whether codes are also HTTP statuses is a knob
(``errors_as_http_status``).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field
from werkzeug.routing import Map, Rule

from voiceclone_local.sandboxes.audio import audio_problem, fetch_audio
from voiceclone_local.sandboxes.base import CheckedCredential, Refusal, Route, SandboxBase
from voiceclone_local.sandboxes.knobs import Fault, SandboxConfig, env_or
from voiceclone_local.sandboxes.server import (
    DropConnection,
    SandboxApiError,
    SandboxRequest,
    SandboxResponse,
    json_object,
    json_response,
)
from voiceclone_local.sandboxes.training import SimulatedTask, state_map

VENDOR_ID = "qiniu"
# A public, fixed sandbox key (not a secret): the local stack and tests use it by default.
DEFAULT_API_KEY = "sandbox-qiniu-api-key"
VOICES_PATH = "/v1/voice-clones"
VOICE_PATH = VOICES_PATH + "/{id}"
QUOTA_PATH = VOICES_PATH + "/quota"
NAME_MAX_CHARS = 20
DEFAULT_NAME_PREFIX = "复刻音色-"
TIERS = ("free", "lite", "pro")
# Paid tiers: training one spends that tier's quota, and its slots cannot be deleted (403).
PAID_TIERS = ("lite", "pro")
FREE_LANGUAGES = ("zh", "en")
PRO_LANGUAGES = (*FREE_LANGUAGES, "ja", "ko", "es", "pt", "id", "de", "fr", "ar", "hi", "it", "tr", "yue")
SAMPLE_RATE = 16000

STATE_INIT, STATE_TRAINING, STATE_SUCCESS, STATE_FAILED = "Init", "Training", "Success", "Failed"
_STATES = state_map(STATE_TRAINING, STATE_TRAINING, STATE_SUCCESS, STATE_FAILED)
# Qiniu's envelope codes double as HTTP statuses; 429 and 503 are not in its list (500 is), so the
# sandbox answers them with the HTTP status as the code, as its documented codes are.
_FAULTS = {
    Fault.THROTTLE: Refusal(429, 429, "too many requests: rate limit exceeded, retry later"),
    Fault.INTERNAL: Refusal(500, 500, "internal error"),
    Fault.UNAVAILABLE: Refusal(503, 503, "service unavailable, retry later"),
}


class QiniuSandboxConfig(SandboxConfig):
    """The key, the audio limits and the shared fault knobs; tests change them while the sandbox runs."""

    # repr=False: the config may end up in a log line or a test failure message.
    api_key: str = Field(default_factory=env_or(VENDOR_ID, "api_key", DEFAULT_API_KEY), repr=False)
    # Qiniu asks for 10–60 s of training audio.
    min_seconds: float = Field(default=10.0, ge=0)
    max_seconds: float = Field(default=60.0, gt=0)
    # The doc does not say whether error codes are HTTP statuses too: True sends them as both,
    # False answers every request with HTTP 200 and the code only in the envelope.
    errors_as_http_status: bool = True
    # Trainings left per tier (GET /v1/voice-clones/quota answers them as available_count); each
    # training with a key spends one of its slot's tier, and none left refuses it with 400.
    clone_quota: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(TIERS, 1000))


def _error(code: int, msg: str) -> SandboxApiError:
    """An answer with a non-zero envelope code (also its HTTP status, unless configured otherwise)."""
    return SandboxApiError(code, code, msg)


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


def _bad_request(msg: str) -> SandboxApiError:
    return _error(400, msg)


def _str_field(params: dict[str, Any], name: str, default: str) -> str:
    value = params.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _bad_request(f"{name} must be a string")
    return value


class QiniuSandbox(SandboxBase):
    """Qiniu's voice-slot operations on the shared request skeleton."""

    vendor_id: ClassVar[str] = VENDOR_ID
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {"": _FAULTS}
    # Qiniu's envelope code repeats the HTTP status.
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential("api_key", "401")
    config_class: ClassVar[type[SandboxConfig]] = QiniuSandboxConfig
    routes: ClassVar[Map] = Map(
        [
            Rule(VOICES_PATH, methods=["POST"], endpoint="_create"),
            Rule(VOICES_PATH, methods=["GET"], endpoint="_list"),
            Rule(QUOTA_PATH, methods=["GET"], endpoint="_quota"),
            Rule(VOICES_PATH + "/<id>", methods=["GET"], endpoint="_get"),
            Rule(VOICES_PATH + "/<id>", methods=["PUT"], endpoint="_put"),
            Rule(VOICES_PATH + "/<id>", methods=["DELETE"], endpoint="_delete"),
        ],
        strict_slashes=False,
    )
    config: QiniuSandboxConfig

    def _init_state(self) -> None:
        self._slots: dict[str, Slot] = {}

    @property
    def slots(self) -> dict[str, Slot]:
        """A snapshot of the slots by id (the Slot objects are live)."""
        with self._lock:
            return dict(self._slots)

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.config.api_key}

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def route(self, request: SandboxRequest) -> Route:
        """Every path is served after authentication: an unknown one answers 404 once the key is good."""
        route = super().route(request)
        return route if route.endpoint is not None else Route(route.name, "_no_such_api")

    def _no_such_api(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        raise self.not_found(request, route)

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = self.config.api_key.encode("utf-8")
        if scheme != "Bearer" or not hmac.compare_digest(token.strip().encode("utf-8"), expected):
            raise _error(401, "unauthorized: the token is missing, invalid or expired")

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        return _error(404, f"no such API: {request.method} {request.path}")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        reqid = uuid.uuid4().hex[:16]
        return json_response(200, {"code": 0, "msg": "", "reqid": reqid, "data": result}, {"X-Reqid": reqid})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        reqid = uuid.uuid4().hex[:16]
        status = error.status if self.config.errors_as_http_status else 200
        envelope: dict[str, Any] = {"code": error.code, "msg": error.message, "reqid": reqid, "data": {}}
        return json_response(status, envelope, {"X-Reqid": reqid})

    def _slot(self, voice_id: str) -> Slot:
        slot = self._slots.get(voice_id)
        if slot is None:
            raise _error(404, f"voice {voice_id} not found")
        return slot

    # ----- operations -----------------------------------------------------------------------------

    def _create(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = json_object(request.body, _bad_request)
        # model_id was required by the old revision, then deprecated and removed: accepted and ignored.
        tier = _str_field(params, "tier", "free")
        if tier not in TIERS:
            raise _bad_request(f"tier must be one of {', '.join(TIERS)}")
        language = _str_field(params, "language", "zh")
        # The doc names the languages of free and pro; lite is read as free's (other languages need pro).
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

    def _list(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        with self._lock:
            return {"voices": [s.describe() for s in self._slots.values()]}

    def _get(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        with self._lock:
            return self._slot(route.args["id"]).describe()

    def _put(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """Rename (empty key), or download the key's audio, check it and start training on the slot."""
        voice_id = route.args["id"]
        params = json_object(request.body, _bad_request)
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
            problem = audio_problem(
                audio, min_seconds=self.config.min_seconds, max_seconds=self.config.max_seconds
            )
            failure = f"training audio rejected: {problem}" if problem else None
        with self._lock:
            slot = self._slot(voice_id)  # it may have been deleted during the download
            slot.name = name
            if key:
                self._check_trainable(slot)
                self._spend_quota(slot.tier)
                task = self._trainer.create(slot_id=voice_id)
                if failure:
                    task.failure = failure  # the audio's problem outranks the configured one
                slot.task = task
            described = slot.describe()
        if key and self.drop_create_response():
            raise DropConnection
        return described

    @staticmethod
    def _check_language(params: dict[str, Any], slot: Slot) -> None:
        language = params.get("language")
        if language is not None and language != slot.language:
            raise _bad_request(f"the language of a voice is fixed when it is created ({slot.language})")

    def _spend_quota(self, tier: str) -> None:
        """One training of ``tier``; call with the lock held."""
        left = self.config.clone_quota.get(tier, 0)
        if left <= 0:
            raise _bad_request(f"no {tier} voice-clone quota left")
        self.config.clone_quota = {**self.config.clone_quota, tier: left - 1}

    def _quota(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """How many trainings a tier has left; ``tier`` (free, lite or pro) is required."""
        tier = request.query.get("tier", "")
        if tier not in TIERS:
            raise _bad_request(f"tier must be one of {', '.join(TIERS)}")
        with self._lock:
            return {"available_count": self.config.clone_quota.get(tier, 0)}

    @staticmethod
    def _check_trainable(slot: Slot) -> None:
        if slot.state() == STATE_TRAINING:
            raise _bad_request(f"voice {slot.id} is training: wait until it finishes")

    def _delete(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        voice_id = route.args["id"]
        with self._lock:
            slot = self._slot(voice_id)
            if slot.tier in PAID_TIERS:
                raise _error(403, "paid voices cannot be deleted")
            del self._slots[voice_id]
        return {}
