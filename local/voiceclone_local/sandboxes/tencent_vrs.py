"""A local Tencent Cloud VRS: its wire format, TC3 verification, real audio checks and simulated training.

It exists so the adapter, the workflow and the local stack can be exercised end to
end without an account and without spending quota: the envelope, action names and
error codes follow NOTES.md section 2 (the official SDK spellings, not the seed's
typos), signatures are verified exactly as Tencent does, and recordings are
inspected for real with :func:`voiceclone.domain.audio.inspect_wav`. Training is
simulated by elapsed time. Knobs on :class:`TencentVrsSandboxConfig` inject the
failures a client must survive (throttling, internal errors, failed training,
slow checks, no callback); tests change them at runtime.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field
from voiceclone.domain.audio import AudioProblem, inspect_wav
from voiceclone.domain.script import STANDARD_SCRIPT
from voiceclone.vendors.signing import tc3

from voiceclone_local.sandboxes.base import DropConnection, env_or

logger = logging.getLogger(__name__)

API_VERSION = "2020-08-24"
SERVICE = "vrs"
# Tencent rejects an X-TC-Timestamp further than this from its clock (AuthFailure.SignatureExpire).
MAX_CLOCK_SKEW_SECONDS = 300
# A TC3-signed POST body may be up to 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024
SAMPLE_RATE = 16000
FIRST_VOICE_TYPE = 100000
# Tencent reports times in Beijing time (DateCreated "2023-10-23T10:25:54+08:00").
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# Public, fixed sandbox credentials (not secrets): the local stack and tests sign with them by default.
DEFAULT_SECRET_ID = "AKIDsandboxvoiceclone000000000000000"  # noqa: S105
DEFAULT_SECRET_KEY = "sandbox-secret-key-voiceclone"  # noqa: S105

# The 20 sentences of the standard clone, verbatim from seeds/000_tencent_vrs.txt (GetTrainingText).
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
# Share of training_seconds a task spends waiting in the queue before it is "doing".
_WAITING_SHARE = 0.2

# Audio problems that make the file itself unusable: Tencent answers these with an Error, not a Data.
_BAD_AUDIO = (
    AudioProblem.EMPTY,
    AudioProblem.NOT_WAV,
    AudioProblem.TRUNCATED,
    AudioProblem.UNSUPPORTED_ENCODING,
)


class TencentVrsSandboxConfig(BaseModel):
    """Credentials and failure knobs; mutable while the sandbox runs (tests flip them between jobs)."""

    model_config = ConfigDict(validate_assignment=True)

    secret_id: str = Field(default_factory=env_or("VOICECLONE_TENCENT_VRS_SECRET_ID", DEFAULT_SECRET_ID))
    # repr=False: the config may end up in a log line or a test failure message.
    secret_key: str = Field(
        default_factory=env_or("VOICECLONE_TENCENT_VRS_SECRET_KEY", DEFAULT_SECRET_KEY), repr=False
    )
    # Time from CreateVRSTask to success/failure; the first fifth of it is "waiting".
    training_seconds: float = Field(default=2.0, ge=0)
    # When set, tasks created from now on fail with this ErrorMsg.
    fail_training: str | None = None
    # The next N requests (any action, after authentication) answer RequestLimitExceeded; set again to re-arm.
    throttle_first: int = Field(default=0, ge=0)
    # The next N requests (after any throttling) answer InternalError.
    internal_error_first: int = Field(default=0, ge=0)
    # Checked when a task finishes, so turning it off also silences tasks already running.
    callback_enabled: bool = True
    # Delivery attempts per callback (first try included) and the base of the exponential pause between them.
    callback_attempts: int = Field(default=3, ge=1)
    callback_retry_seconds: float = Field(default=0.2, ge=0)
    # Added to every DetectEnvAndSoundQuality, to see how a client copes with a slow vendor.
    check_latency_ms: int = Field(default=0, ge=0)
    # The next N CreateVRSTask calls create the task and then drop the connection unanswered.
    drop_create_response_first: int = Field(default=0, ge=0)


class SandboxApiError(Exception):
    """An answer of the form {"Error": {"Code", "Message"}}; Tencent sends these with HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CallbackAttempt:
    """One POST of a training result to a CallbackUrl; the URL is kept without its query (a token)."""

    task_id: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None = None


@dataclass
class _Task:
    task_id: str
    session_id: str
    voice_name: str
    voice_gender: int
    callback_url: str | None
    created_monotonic: float
    created_at: datetime
    training_seconds: float
    error_msg: str  # non-empty: the task fails with it
    voice_type: int  # 0 for a task that fails
    finished: bool = False  # set by the completion timer so status and callback agree
    # Set once completion is fully handled (callback delivered, given up on, or not wanted).
    settled: threading.Event = field(default_factory=threading.Event)

    def status(self, now: float) -> int:
        elapsed = now - self.created_monotonic
        if self.finished or elapsed >= self.training_seconds:
            return STATUS_FAILED if self.error_msg else STATUS_SUCCESS
        if elapsed < self.training_seconds * _WAITING_SHARE:
            return STATUS_WAITING
        return STATUS_DOING

    def describe(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        return {
            "TaskId": self.task_id,
            "Status": status,
            "StatusStr": STATUS_STR[status],
            "VoiceType": self.voice_type if status == STATUS_SUCCESS else 0,
            "ErrorMsg": self.error_msg if status == STATUS_FAILED else "",
        }


# ----- parameter helpers ---------------------------------------------------------------------------


def _missing(name: str) -> SandboxApiError:
    return SandboxApiError("MissingParameter", f"The request is missing a required parameter `{name}`.")


def _require_str(params: Mapping[str, Any], name: str) -> str:
    if name not in params or params[name] is None:
        raise _missing(name)
    value = params[name]
    if not isinstance(value, str):
        raise SandboxApiError("InvalidParameter", f"`{name}` must be a string.")
    return value


def _int_param(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None:
        if default is None:
            raise _missing(name)
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SandboxApiError("InvalidParameter", f"`{name}` must be an integer.")
    return value


def _standard_clone_only(params: Mapping[str, Any]) -> None:
    """The sandbox implements the 20-sentence clone; the one-sentence clone (TaskType 5) is out of scope."""
    if _int_param(params, "TaskType", 0) != 0:
        raise SandboxApiError(
            "InvalidParameterValue", "The sandbox implements only the standard clone (`TaskType` 0)."
        )


def _check_codec_and_rate(params: Mapping[str, Any]) -> None:
    codec = params.get("Codec", "wav")
    if not isinstance(codec, str) or codec.lower() != "wav":
        raise SandboxApiError(
            "InvalidParameterValue.Codec", f"`Codec` {codec!r} is not supported here: use wav."
        )
    rate = _int_param(params, "SampleRate", SAMPLE_RATE)
    if rate != SAMPLE_RATE:
        raise SandboxApiError(
            "InvalidParameterValue.SampleRate", f"`SampleRate` {rate} is not supported: use 16000."
        )


def _canonical_host(host_header: str) -> str:
    """The Host header without its port: Tencent signs the bare host name."""
    host = host_header.strip()
    if host.startswith("["):  # [::1]:8080
        return host[: host.find("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


# ----- the sandbox ---------------------------------------------------------------------------------


class TencentVrsSandbox:
    """The API state and behaviour; :class:`_Handler` only moves bytes in and out of it."""

    def __init__(
        self, config: TencentVrsSandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or TencentVrsSandboxConfig()
        self.requests_by_action: Counter[str] = Counter()
        self.callbacks: list[CallbackAttempt] = []
        # Issued AudioId -> the TextId it was checked against.
        self.audio_ids: dict[str, str] = {}
        self.tasks: dict[str, _Task] = {}
        self._tasks_created = 0
        # Quality checks in flight now, and the most seen at once (shows a caller's fan-out).
        self._checks_in_flight = 0
        self.max_concurrent_checks = 0
        self._next_voice_type = FIRST_VOICE_TYPE
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._timers: list[threading.Timer] = []
        self._thread: threading.Thread | None = None
        self._actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "GetTrainingText": self._get_training_text,
            "DetectEnvAndSoundQuality": self._detect_env_and_sound_quality,
            "CreateVRSTask": self._create_vrs_task,
            "DescribeVRSTaskStatus": self._describe_vrs_task_status,
            "GetVRSVoiceTypes": self._get_vrs_voice_types,
        }
        # Bound now, so `url` is known (and the port taken) before start().
        self._server = _Server((host, port), _Handler, self)

    # ----- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else str(host)
        return f"http://{shown}:{port}"

    @property
    def tasks_created(self) -> int:
        """How many CreateVRSTask calls succeeded: tests hold a job to exactly one."""
        return self._tasks_created

    def wait_settled(self, task_id: str, timeout: float = 10.0) -> bool:
        """Block until a task has finished and its callback (if any) is done: lets tests assert absence."""
        with self._lock:
            task = self.tasks.get(task_id)
        return task is not None and task.settled.wait(timeout)

    def start(self) -> Self:
        """Serve from a daemon thread; returns self so `TencentVrsSandbox().start()` reads naturally."""
        # A short poll interval keeps stop(), which waits for the serve loop to notice, quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tencent-vrs-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's `voiceclone sandbox`)."""
        try:
            self._server.serve_forever()
        finally:
            self._stopped.set()
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and drop pending callbacks; safe to call twice."""
        self._stopped.set()
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----- request handling -----------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """One HTTP request in, the JSON envelope out. ``headers`` keys are lower-case."""
        request_id = str(uuid.uuid4())
        action = headers.get("x-tc-action", "")
        with self._lock:
            self.requests_by_action[action] += 1
        try:
            data = self._dispatch(method, path, action, headers, body)
            response: dict[str, Any] = {"Data": data, "RequestId": request_id}
            logger.debug("tencent_vrs sandbox %s ok", action)
        except SandboxApiError as exc:
            response = {"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id}
            logger.debug("tencent_vrs sandbox %s -> %s", action, exc.code)
        return {"Response": response}

    def _dispatch(
        self, method: str, path: str, action: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, Any]:
        if method != "POST" or urlsplit(path).path != "/":
            raise SandboxApiError("UnsupportedProtocol", "The sandbox serves the API as `POST /` only.")
        if not action:
            raise _missing("X-TC-Action")
        version = headers.get("x-tc-version")
        if not version:
            raise _missing("X-TC-Version")
        if version != API_VERSION:
            raise SandboxApiError(
                "NoSuchVersion", f"The API version `{version}` does not exist: use {API_VERSION}."
            )
        self._authenticate(headers, body)
        handler = self._actions.get(action)
        if handler is None:
            raise SandboxApiError("InvalidAction", f"The action `{action}` does not exist.")
        self._injected_failures()
        params = self._params(body)
        return handler(params)

    def _authenticate(self, headers: Mapping[str, str], body: bytes) -> None:
        """TC3 verification in Tencent's order: header shape, key id, clock, then the signature itself."""
        parsed = tc3.parse_authorization(headers.get("authorization", ""))
        if parsed is None:
            raise SandboxApiError(
                "AuthFailure.InvalidAuthorization", "The `Authorization` header is not TC3."
            )
        if parsed.service != SERVICE or parsed.signed_headers != tc3.SIGNED_HEADERS:
            raise SandboxApiError(
                "AuthFailure.InvalidAuthorization",
                f"The credential scope must name service `{SERVICE}` "
                f"and SignedHeaders must be `{tc3.SIGNED_HEADERS}`.",
            )
        if not hmac.compare_digest(parsed.secret_id, self.config.secret_id):
            raise SandboxApiError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        raw_timestamp = headers.get("x-tc-timestamp", "")
        if not raw_timestamp:
            raise _missing("X-TC-Timestamp")
        if not raw_timestamp.isdigit():
            raise SandboxApiError("InvalidParameter", "`X-TC-Timestamp` must be unix seconds.")
        timestamp = int(raw_timestamp)
        if abs(time.time() - timestamp) > MAX_CLOCK_SKEW_SECONDS:
            raise SandboxApiError(
                "AuthFailure.SignatureExpire",
                f"The signature expired: X-TC-Timestamp is more than {MAX_CLOCK_SKEW_SECONDS} s "
                "from server time.",
            )
        if parsed.date != tc3.scope_date(timestamp):
            raise SandboxApiError(
                "AuthFailure.SignatureFailure",
                "The credential scope date is not the UTC date of X-TC-Timestamp.",
            )
        expected = tc3.signature(
            secret_key=self.config.secret_key,
            service=SERVICE,
            timestamp=timestamp,
            host=_canonical_host(headers.get("host", "")),
            body=body,
            content_type=headers.get("content-type", ""),
        )
        if not hmac.compare_digest(expected, parsed.signature):
            raise SandboxApiError(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated: check the SecretKey and the signing steps.",
            )

    def _injected_failures(self) -> None:
        with self._lock:
            if self.config.throttle_first > 0:
                self.config.throttle_first -= 1
                raise SandboxApiError("RequestLimitExceeded", "The request frequency exceeds the limit.")
            if self.config.internal_error_first > 0:
                self.config.internal_error_first -= 1
                raise SandboxApiError(
                    "InternalError", "An internal error occurred (injected by the sandbox)."
                )

    @staticmethod
    def _params(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            params = json.loads(body)
        except ValueError:
            raise SandboxApiError("InvalidParameter", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise SandboxApiError("InvalidParameter", "The request body must be a JSON object.")
        return params

    # ----- actions --------------------------------------------------------------------------------

    def _get_training_text(self, params: dict[str, Any]) -> dict[str, Any]:
        _standard_clone_only(params)
        return {"TrainingTextList": [{"TextId": text_id, "Text": text} for text_id, text in TRAINING_TEXTS]}

    def _detect_env_and_sound_quality(self, params: dict[str, Any]) -> dict[str, Any]:
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
            raise SandboxApiError(
                "InvalidParameterValue",
                f"`TextId` {text_id!r} is not one of the training texts (00001..00020).",
            )
        type_id = _int_param(params, "TypeId")
        if type_id not in (1, 2):
            raise SandboxApiError("InvalidParameterValue", "`TypeId` must be 1 (environment) or 2 (quality).")
        _check_codec_and_rate(params)
        try:
            audio = base64.b64decode(_require_str(params, "AudioData"), validate=True)
        except (binascii.Error, ValueError):
            raise SandboxApiError(
                "InvalidParameterValue.AudioData", "`AudioData` is not valid base64."
            ) from None

        report = inspect_wav(audio, expected_sample_rate=SAMPLE_RATE)
        by_problem = {f.problem: f.message for f in report.findings}
        for problem in _BAD_AUDIO:
            if problem in by_problem:
                raise SandboxApiError(
                    "InvalidParameterValue.AudioData", f"Invalid audio: {by_problem[problem]}."
                )
        if AudioProblem.SAMPLE_RATE_MISMATCH in by_problem:
            raise SandboxApiError(
                "InvalidParameterValue.SampleRate",
                f"Invalid sample rate: {by_problem[AudioProblem.SAMPLE_RATE_MISMATCH]}.",
            )
        if AudioProblem.TOO_LONG in by_problem:
            raise SandboxApiError(
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
            with self._lock:
                self.audio_ids[audio_id] = text_id
        return {"AudioId": audio_id, "DetectionCode": 0, "DetectionMsg": "Success", "DetectionTip": []}

    def _create_vrs_task(self, params: dict[str, Any]) -> dict[str, Any]:
        _standard_clone_only(params)
        session_id = _require_str(params, "SessionId")
        voice_name = _require_str(params, "VoiceName")
        if not voice_name.strip():
            raise SandboxApiError("InvalidParameterValue.VoiceName", "`VoiceName` must not be empty.")
        gender = _int_param(params, "VoiceGender")
        if gender not in (1, 2):
            raise SandboxApiError(
                "InvalidParameterValue.VoiceGender", "`VoiceGender` must be 1 (male) or 2 (female)."
            )
        if _int_param(params, "VoiceLanguage") != 1:
            raise SandboxApiError(
                "InvalidParameterValue.VoiceLanguage", "`VoiceLanguage` must be 1 (Chinese)."
            )
        audio_ids = params.get("AudioIdList")
        if audio_ids is None:
            raise _missing("AudioIdList")
        if not isinstance(audio_ids, list) or not audio_ids or not all(isinstance(a, str) for a in audio_ids):
            raise SandboxApiError("InvalidParameter", "`AudioIdList` must be a non-empty list of AudioIds.")
        _check_codec_and_rate(params)
        callback_url = params.get("CallbackUrl") or None
        if callback_url is not None and (
            not isinstance(callback_url, str) or urlsplit(callback_url).scheme not in ("http", "https")
        ):
            raise SandboxApiError("InvalidParameter", "`CallbackUrl` must be an http(s) URL.")

        config = self.config
        with self._lock:
            # SessionId identifies the request: a repeated create (its answer lost) gets the same task.
            for existing in self.tasks.values():
                if existing.session_id == session_id:
                    return {"TaskId": existing.task_id}
            unknown = [a for a in audio_ids if a not in self.audio_ids]
            if unknown:
                raise SandboxApiError(
                    "InvalidParameter",
                    f"`AudioIdList` holds ids that no quality check issued: {', '.join(unknown)}.",
                )
            voice_type = 0
            if not config.fail_training:
                voice_type = self._next_voice_type
                self._next_voice_type += 1
            task = _Task(
                task_id=str(uuid.uuid4()),
                session_id=session_id,
                voice_name=voice_name,
                voice_gender=gender,
                callback_url=callback_url,
                created_monotonic=time.monotonic(),
                created_at=datetime.now(UTC),
                training_seconds=config.training_seconds,
                error_msg=config.fail_training or "",
                voice_type=voice_type,
            )
            self.tasks[task.task_id] = task
            self._tasks_created += 1
            timer = threading.Timer(task.training_seconds, self._finish, args=(task,))
            timer.daemon = True
            self._timers.append(timer)
        timer.start()
        with self._lock:
            if config.drop_create_response_first:
                config.drop_create_response_first -= 1
                raise DropConnection
        return {"TaskId": task.task_id}

    def _describe_vrs_task_status(self, params: dict[str, Any]) -> dict[str, Any]:
        task_id = _require_str(params, "TaskId")
        with self._lock:
            task = self.tasks.get(task_id)
        if task is None:
            raise SandboxApiError("FailedOperation.NoSuchTask", f"No task with TaskId {task_id!r}.")
        return task.describe(time.monotonic())

    def _get_vrs_voice_types(self, params: dict[str, Any]) -> dict[str, Any]:
        task_type = _int_param(params, "TaskType", 0)
        now = time.monotonic()
        with self._lock:
            tasks = list(self.tasks.values())
        voices = [
            {
                "VoiceType": t.voice_type,
                "VoiceName": t.voice_name,
                "VoiceGender": t.voice_gender,
                "TaskType": 1,
                "TaskID": t.task_id,
                "DateCreated": t.created_at.astimezone(BEIJING).isoformat(timespec="seconds"),
                "IsDeployed": True,
            }
            for t in tasks
            if task_type == 0 and t.status(now) == STATUS_SUCCESS
        ]
        return {"VoiceTypeList": voices}

    # ----- training completion and callbacks ------------------------------------------------------

    def _finish(self, task: _Task) -> None:
        """Runs on a timer when training ends: fixes the final status, then tells the CallbackUrl."""
        task.finished = True
        with self._lock:
            self._timers = [t for t in self._timers if t.is_alive() and t is not threading.current_thread()]
        try:
            if task.callback_url and self.config.callback_enabled and not self._stopped.is_set():
                self._deliver_callback(task, task.callback_url)
        finally:
            task.settled.set()

    def _deliver_callback(self, task: _Task, url: str) -> None:
        described = task.describe(time.monotonic())
        body = json.dumps(described, ensure_ascii=False).encode("utf-8")
        shown_url = _without_query(url)
        attempts = self.config.callback_attempts
        with httpx.Client(timeout=5.0) as client:
            for attempt in range(1, attempts + 1):
                status_code: int | None = None
                error: str | None = None
                try:
                    response = client.post(url, content=body, headers={"Content-Type": "application/json"})
                    status_code = response.status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                with self._lock:
                    self.callbacks.append(
                        CallbackAttempt(task.task_id, shown_url, attempt, status_code, error)
                    )
                if status_code is not None and 200 <= status_code < 300:
                    return
                if attempt < attempts and self._stopped.wait(
                    self.config.callback_retry_seconds * 2 ** (attempt - 1)
                ):
                    return
        logger.warning("tencent_vrs sandbox: callback for task %s to %s failed", task.task_id, shown_url)


# ----- HTTP plumbing -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when 20 checks arrive at once, and each drop costs a 1 s retransmit.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sandbox: TencentVrsSandbox
    ) -> None:
        self.sandbox = sandbox
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients pool connections
    timeout = 30  # an idle kept-alive connection is closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle holds the body ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _respond(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        length_header = headers.get("content-length", "0") or "0"
        length = int(length_header) if length_header.isdigit() else -1
        if length < 0 or length > MAX_BODY_BYTES:
            # Do not read an unbounded body; answer and close the connection instead.
            self.close_connection = True
            message = f"The request body must declare a Content-Length of at most {MAX_BODY_BYTES} bytes."
            payload: dict[str, Any] = {
                "Response": {
                    "Error": {"Code": "RequestSizeLimitExceeded", "Message": message},
                    "RequestId": str(uuid.uuid4()),
                }
            }
        else:
            body = self.rfile.read(length) if length else b""
            try:
                payload = self.server.sandbox.handle(self.command, self.path, headers, body)
            except DropConnection:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        out = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = _respond
    do_GET = _respond
    do_PUT = _respond
    do_DELETE = _respond
    do_PATCH = _respond

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: access logs would be noise in tests, and request lines are all this would add."""
