"""A local Tencent smart-content voice-cloning gateway: body credentials, training jobs, real audio checks.

It lets the adapter and the workflow run a gateway clone without an account. Paths,
actions, bodies, job states and timing (epoch-ms strings) follow NOTES.md section 3.
CreateJob (type 2, train a model) downloads the input URL and inspects the WAV for
real; a bad file makes the job end ERROR with a reason a person can act on.
Training is simulated by elapsed time, and a finished job is POSTed whole to its
``callback``. Where the doc is silent the sandbox chooses, and says so here:

* errors are ``{"requestId", "error": {"code", "message"}}`` with the HTTP status
  (401 AuthFailure, 400 InvalidParameter…, 404 ResourceNotFound, 429
  RequestLimitExceeded, 500 InternalError); the ``errors_as_http_status`` knob sends
  them with HTTP 200 instead;
* a failed job carries ``"error": {"code", "message"}``;
* the callback body is the bare Job (``callback_wrapped`` sends ``{"job": {...}}``);
* training audio must be a 16 kHz 16-bit mono WAV of 10–600 s; only type 2 is served.

Request bodies carry the caller's secretKey: they are never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
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
    post_callback,
)

logger = logging.getLogger(__name__)

# Public, fixed sandbox credentials (not secrets): the local stack and tests use them by default.
DEFAULT_SECRET_ID = "sandbox-gateway-secret-id"  # noqa: S105
DEFAULT_SECRET_KEY = "sandbox-gateway-secret-key"  # noqa: S105

JOB_PATH = "/release/job"
MODEL_PATH = "/release/music_model"
ACTIONS: dict[str, tuple[str, ...]] = {
    JOB_PATH: ("CreateJob", "GetJob", "ListJobs"),
    MODEL_PATH: ("ListModels",),
}
SAMPLE_RATE = 16000
GENERATE_AUDIO, TRAIN_MODEL = 1, 2
MODEL_NAME = re.compile(r"[A-Za-z0-9_]+")
MAX_MODEL_NAME_CHARS = 63  # "小于64字符"
MAX_CUSTOM_ID_CHARS = 63
MAX_OUTPUT_PREFIX_CHARS = 19
MAX_SOURCE_DATA_CHARS = 512
MAX_TOTAL_EPOCH = 50
MAX_LIST_LIMIT = 100

STATE_SUBMITTED, STATE_PROCESSING, STATE_COMPLETED, STATE_ERROR, STATE_CANCELED = 1, 2, 3, 4, 5
_STATES = {
    TrainingState.PENDING: STATE_SUBMITTED,
    TrainingState.RUNNING: STATE_PROCESSING,
    TrainingState.SUCCEEDED: STATE_COMPLETED,
    TrainingState.FAILED: STATE_ERROR,
}
# Share of the training time a job spends SUBMITTED (TrainingSimulator's PENDING share).
_SUBMITTED_SHARE = 0.2

# The sandbox's codes for a failed job (the doc names none).
INPUT_DOWNLOAD_FAILED = "InputDownloadFailed"
INVALID_AUDIO = "InvalidAudio"
JOB_TIMEOUT = "JobTimeout"
TRAINING_FAILED = "TrainingFailed"


class TencentGatewaySandboxConfig(SandboxConfig):
    """Credentials, audio limits and the shared fault knobs; tests change them while the sandbox runs."""

    secret_id: str = Field(default_factory=env_or("VOICECLONE_TENCENT_GATEWAY_SECRET_ID", DEFAULT_SECRET_ID))
    # repr=False: the config may end up in a log line or a test failure message.
    secret_key: str = Field(
        default_factory=env_or("VOICECLONE_TENCENT_GATEWAY_SECRET_KEY", DEFAULT_SECRET_KEY), repr=False
    )
    # The doc states no audio limits; these are the sandbox's.
    min_seconds: float = Field(default=10.0, ge=0)
    max_seconds: float = Field(default=600.0, gt=0)
    # The doc shows no error format: True sends the HTTP status with the error body, False HTTP 200.
    errors_as_http_status: bool = True
    # The doc does not show whether the callback body is the bare Job or {"job": Job}.
    callback_wrapped: bool = False


class GatewayApiError(Exception):
    """An answer of the form {"requestId", "error": {"code", "message"}} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message: str, code: str = "InvalidParameter") -> GatewayApiError:
    return GatewayApiError(400, code, message)


@dataclass
class GatewayJob:
    """One CreateJob: what was asked, and the simulated training behind it."""

    id: str
    custom_id: str | None
    callback: str | None
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    model_name: str
    created_ms: int
    task: SimulatedTask
    error_code: str = ""
    # Set once completion is fully handled (callback delivered, given up on, or not wanted).
    settled: threading.Event = field(default_factory=threading.Event)

    def state(self) -> int:
        if self.task.finished:
            return STATE_ERROR if self.task.failure else STATE_COMPLETED
        return _STATES[self.task.state()]

    def describe(self) -> dict[str, Any]:
        """The Job as GetJob, ListJobs and the callback show it; timing is epoch ms as strings."""
        state = self.state()
        training_ms = int(self.task.training_seconds * 1000)
        started = self.created_ms + int(training_ms * _SUBMITTED_SHARE) if state != STATE_SUBMITTED else 0
        completed = self.created_ms + training_ms if state in (STATE_COMPLETED, STATE_ERROR) else 0
        outputs = [dict(o) for o in self.outputs]
        if state == STATE_COMPLETED:
            for output in outputs:
                output["smartContentResult"] = {"voiceCloning": {"modelName": self.model_name}}
        job: dict[str, Any] = {"id": self.id, "state": state}
        if self.custom_id is not None:
            job["customId"] = self.custom_id
        if self.callback is not None:
            job["callback"] = self.callback
        job.update(
            inputs=self.inputs,
            outputs=outputs,
            timing={
                "createdAt": str(self.created_ms),
                "startedAt": str(started),
                "completedAt": str(completed),
            },
        )
        if state == STATE_ERROR:
            job["error"] = {"code": self.error_code or TRAINING_FAILED, "message": self.task.failure or ""}
        return job


# ----- parameter helpers ---------------------------------------------------------------------------


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else None
    except ValueError as exc:
        raise _invalid("the request body is not JSON") from exc
    if not isinstance(value, dict):
        raise _invalid("the request body must be a JSON object")
    return value


def _opt_str(params: dict[str, Any], name: str, max_chars: int | None = None) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"`{name}` must be a string")
    if max_chars is not None and len(value) > max_chars:
        raise _invalid(f"`{name}` must be shorter than {max_chars + 1} characters", "InvalidParameterValue")
    return value


def _opt_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"`{name}` must be an integer")
    return value


def _int(params: dict[str, Any], name: str) -> int:
    value = _opt_int(params, name)
    if value is None:
        raise _invalid(f"`{name}` is required", "MissingParameter")
    return value


def _http_url(value: str, name: str) -> str:
    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise _invalid(f"`{name}` must be an http(s) URL", "InvalidParameterValue")
    return value


def _check_input(index: int, item: Any) -> dict[str, Any]:
    """One Input: exactly one of sourceData, url and source."""
    if not isinstance(item, dict):
        raise _invalid(f"`inputs[{index}]` must be an object")
    given = [k for k in ("sourceData", "url", "source") if item.get(k) not in (None, "")]
    if len(given) != 1:
        raise _invalid(f"`inputs[{index}]` needs exactly one of sourceData, url and source")
    if "url" in given:
        _http_url(_opt_str(item, "url") or "", f"inputs[{index}].url")
    elif "sourceData" in given:
        _opt_str(item, "sourceData", MAX_SOURCE_DATA_CHARS)
    else:
        source = item["source"]
        if not isinstance(source, dict) or not all(
            isinstance(source.get(k), str) for k in ("contentId", "path")
        ):
            raise _invalid(f"`inputs[{index}].source` needs contentId and path")
    return item


def _check_output(index: int, item: Any, inputs: list[dict[str, Any]]) -> tuple[str, int | None]:
    """One training Output; returns its (modelName, totalEpoch)."""
    where = f"outputs[{index}]"
    if not isinstance(item, dict):
        raise _invalid(f"`{where}` must be an object")
    _opt_str(item, "contentId")
    _opt_str(item, "destination")
    selectors = item.get("inputSelectors")
    if (
        not isinstance(selectors, list)
        or not selectors
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in selectors)
    ):
        raise _invalid(f"`{where}.inputSelectors` must be a non-empty list of input indexes")
    if any(not 0 <= s < len(inputs) for s in selectors):
        raise _invalid(
            f"`{where}.inputSelectors` names an input that does not exist", "InvalidParameterValue"
        )
    descriptor = item.get("smartContentDescriptor")
    if not isinstance(descriptor, dict):
        raise _invalid(f"`{where}.smartContentDescriptor` is required", "MissingParameter")
    _opt_str(descriptor, "outputPrefix", MAX_OUTPUT_PREFIX_CHARS)
    cloning = descriptor.get("voiceCloning")
    if not isinstance(cloning, dict):
        raise _invalid(f"`{where}.smartContentDescriptor.voiceCloning` is required", "MissingParameter")
    kind = _int(cloning, "type")
    if kind == GENERATE_AUDIO:
        raise GatewayApiError(
            400,
            "UnsupportedOperation",
            "the sandbox serves model training (type 2) only, not audio generation",
        )
    if kind != TRAIN_MODEL:
        raise _invalid(
            "`voiceCloning.type` must be 1 (generate audio) or 2 (train a model)", "InvalidParameterValue"
        )
    name = _opt_str(cloning, "modelName")
    if not name:
        raise _invalid("`voiceCloning.modelName` is required to train a model", "MissingParameter")
    if not MODEL_NAME.fullmatch(name):
        raise _invalid(
            "`voiceCloning.modelName` may hold only digits, letters and underscores", "InvalidParameterValue"
        )
    if len(name) > MAX_MODEL_NAME_CHARS:
        raise _invalid(
            f"`voiceCloning.modelName` must be shorter than {MAX_MODEL_NAME_CHARS + 1} characters",
            "InvalidParameterValue",
        )
    epoch = _opt_int(cloning, "totalEpoch")
    if epoch is not None and not 1 <= epoch <= MAX_TOTAL_EPOCH:
        raise _invalid(f"`voiceCloning.totalEpoch` must be 1 to {MAX_TOTAL_EPOCH}", "InvalidParameterValue")
    if len(selectors) != 1 or not inputs[selectors[0]].get("url"):
        raise _invalid("training needs exactly one input, the audio as a `url`", "InvalidParameterValue")
    return name, epoch


def audio_problem(data: bytes, config: TencentGatewaySandboxConfig) -> str | None:
    """Why this training audio cannot make a model, in words a person can act on; None if it can."""
    report = inspect_wav(
        data, expected_sample_rate=SAMPLE_RATE, min_seconds=config.min_seconds, max_seconds=config.max_seconds
    )
    if report.ok:
        return None
    return "the training audio cannot be used: " + "; ".join(f.message for f in report.findings)


# ----- the sandbox ---------------------------------------------------------------------------------


class TencentGatewaySandbox(SandboxBase):
    """The API state and behaviour on a SandboxServer (which only moves bytes in and out)."""

    def __init__(
        self, config: TencentGatewaySandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or TencentGatewaySandboxConfig()
        # (job id, HTTP status of the last delivery attempt, None when nobody answered).
        self.callbacks: list[tuple[str, int | None]] = []
        self._lock = threading.Lock()
        self._jobs: dict[str, GatewayJob] = {}
        self._faults = Faults(lambda: self.config)
        self._trainer = TrainingSimulator(lambda: self.config)
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "CreateJob": self._create_job,
            "GetJob": self._get_job,
            "ListJobs": self._list_jobs,
            "ListModels": self._list_models,
        }
        # Bound now, so `url` is known (and the port taken) before start().
        self._server = SandboxServer(self.handle, host=host, port=port)

    # ----- lifecycle ------------------------------------------------------------------------------

    @property
    def jobs(self) -> dict[str, GatewayJob]:
        """A snapshot of the jobs by id (the GatewayJob objects are live)."""
        with self._lock:
            return dict(self._jobs)

    def local_settings(self) -> dict[str, str]:
        """Vendor settings the local stack gives the adapter (the public sandbox credentials)."""
        return {
            "TENCENT_GATEWAY_SECRET_ID": self.config.secret_id,
            "TENCENT_GATEWAY_SECRET_KEY": self.config.secret_key,
        }

    def wait_settled(self, job_id: str, timeout: float = 10.0) -> bool:
        """Block until a job has finished and its callback (if any) is done: lets tests assert absence."""
        with self._lock:
            job = self._jobs.get(job_id)
        return job is not None and job.settled.wait(timeout)

    # ----- request handling -----------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """One request in, the gateway's JSON out. Bodies hold the secretKey: only action names are logged."""
        request_id = str(uuid.uuid4())
        action = ""
        try:
            if request.method != "POST":
                raise GatewayApiError(405, "UnsupportedProtocol", "the gateway serves its API as POST only")
            actions = ACTIONS.get(request.path.rstrip("/"))
            if actions is None:
                raise GatewayApiError(404, "InvalidPath", f"no API at {request.path}")
            body = _json_object(request.body)
            named = body.get("action")
            action = named if isinstance(named, str) else ""
            with self._lock:
                self._server.requests[action or "?"] += 1
            self._authenticate(body)
            fault = self._faults.next()
            if fault is Fault.THROTTLE:
                raise GatewayApiError(429, "RequestLimitExceeded", "too many requests: retry later")
            if fault is Fault.INTERNAL:
                raise GatewayApiError(500, "InternalError", "internal error, retry later")
            if not action:
                raise _invalid("`action` is required", "MissingParameter")
            if action not in actions:
                raise GatewayApiError(
                    400,
                    "InvalidAction",
                    f"the action {action!r} does not exist at {request.path.rstrip('/')}",
                )
            key = action[0].lower() + action[1:]
            params = body.get(f"{key}Request")
            if not isinstance(params, dict):
                raise _invalid(f"`{key}Request` is required", "MissingParameter")
            result = self._handlers[action](params)
        except GatewayApiError as exc:
            logger.debug("tencent_gateway sandbox %s -> %s", action or request.path, exc.code)
            status = exc.status if self.config.errors_as_http_status else 200
            envelope = {"requestId": request_id, "error": {"code": exc.code, "message": exc.message}}
            return self._answer(status, envelope)
        logger.debug("tencent_gateway sandbox %s ok", action)
        return self._answer(200, {"requestId": request_id, f"{key}Response": result})

    @staticmethod
    def _answer(status: int, envelope: dict[str, Any]) -> SandboxResponse:
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        return SandboxResponse(status=status, body=body, headers={"X-Api-RequestId": envelope["requestId"]})

    def _authenticate(self, body: dict[str, Any]) -> None:
        """The body's secretId/secretKey; checked before any fault knob, so a bad request uses none up."""
        secret_id, secret_key = body.get("secretId"), body.get("secretKey")
        if (
            not isinstance(secret_id, str)
            or not isinstance(secret_key, str)
            or not secret_id
            or not secret_key
        ):
            raise GatewayApiError(401, "AuthFailure", "secretId and secretKey are required")
        id_ok = hmac.compare_digest(secret_id.encode("utf-8"), self.config.secret_id.encode("utf-8"))
        key_ok = hmac.compare_digest(secret_key.encode("utf-8"), self.config.secret_key.encode("utf-8"))
        if not (id_ok and key_ok):
            raise GatewayApiError(401, "AuthFailure", "the secretId or secretKey is wrong")

    def _job(self, job_id: str) -> GatewayJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise GatewayApiError(404, "ResourceNotFound", f"job {job_id} does not exist")
        return job

    def _name_taken(self, name: str) -> bool:
        """A model name is taken by a job that did not fail (a failed job made no model)."""
        return any(j.model_name == name and j.state() != STATE_ERROR for j in self._jobs.values())

    # ----- operations -----------------------------------------------------------------------------

    def _create_job(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate, download and inspect the audio, then start the (simulated) training."""
        raw_inputs = params.get("inputs")
        if not isinstance(raw_inputs, list) or not raw_inputs:
            raise _invalid("`inputs` must be a non-empty list", "MissingParameter")
        inputs = [_check_input(i, item) for i, item in enumerate(raw_inputs)]
        raw_outputs = params.get("outputs")
        if not isinstance(raw_outputs, list) or not raw_outputs:
            raise _invalid("`outputs` must be a non-empty list", "MissingParameter")
        if len(raw_outputs) != 1:
            raise _invalid("the sandbox trains one model per job: send one output", "InvalidParameterValue")
        name, _epoch = _check_output(0, raw_outputs[0], inputs)
        custom_id = _opt_str(params, "customId", MAX_CUSTOM_ID_CHARS)
        callback = _opt_str(params, "callback")
        if callback:
            _http_url(callback, "callback")
        timeout = _opt_int(params, "timeout")
        if timeout is not None and timeout <= 0:
            raise _invalid("`timeout` must be a positive number of seconds", "InvalidParameterValue")
        with self._lock:
            if self._name_taken(name):
                raise _invalid(
                    f"the model name {name!r} is already used", "InvalidParameterValue.ModelNameExists"
                )

        url = str(inputs[raw_outputs[0]["inputSelectors"][0]]["url"])
        error_code, failure = self._audio_failure(url)
        if failure is None and timeout is not None and self.config.training_seconds > timeout:
            error_code, failure = JOB_TIMEOUT, f"the job did not finish within its timeout of {timeout} s"

        job_id = str(uuid.uuid4())
        with self._lock:
            if self._name_taken(name):  # taken by another create during the download
                raise _invalid(
                    f"the model name {name!r} is already used", "InvalidParameterValue.ModelNameExists"
                )
            # Under the lock, so a completion firing at once (training_seconds 0) finds the job.
            task = self._trainer.create(on_finish=self._finished, task_id=job_id)
            if failure is not None:
                task.failure = failure  # the audio's problem outranks the configured one
            job = GatewayJob(
                id=job_id,
                custom_id=custom_id,
                callback=callback or None,
                inputs=inputs,
                outputs=[raw_outputs[0]],
                model_name=name,
                created_ms=int(time.time() * 1000),
                task=task,
                error_code=error_code if failure is not None else (TRAINING_FAILED if task.failure else ""),
            )
            self._jobs[job_id] = job
            described = job.describe()
        if self._faults.drop_create_response():
            raise DropConnection
        return {"job": described}

    def _audio_failure(self, url: str) -> tuple[str, str | None]:
        """(error code, reason) when the input cannot train a model, else ("", None)."""
        try:
            audio = fetch_audio(url)
        except ValueError as exc:
            return INPUT_DOWNLOAD_FAILED, f"the input audio could not be downloaded: {exc}"
        problem = audio_problem(audio, self.config)
        return (INVALID_AUDIO, problem) if problem else ("", None)

    def _get_job(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = _opt_str(params, "id")
        if not job_id:
            raise _invalid("`id` is required", "MissingParameter")
        with self._lock:
            return {"job": self._job(job_id).describe()}

    def _list_jobs(self, params: dict[str, Any]) -> dict[str, Any]:
        custom_id = _opt_str(params, "customId")
        with self._lock:
            jobs = [
                j.describe() for j in self._jobs.values() if custom_id is None or j.custom_id == custom_id
            ]
        return {"jobs": jobs, "total": len(jobs)}

    def _list_models(self, params: dict[str, Any]) -> dict[str, Any]:
        offset, limit = _int(params, "offset"), _int(params, "limit")
        if offset < 0:
            raise _invalid("`offset` must not be negative", "InvalidParameterValue")
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise _invalid(f"`limit` must be 1 to {MAX_LIST_LIMIT}", "InvalidParameterValue")
        with self._lock:
            trained = [
                (j.model_name, j.describe()) for j in self._jobs.values() if j.state() == STATE_COMPLETED
            ]
        models = sorted(
            ({"name": name, "createdAt": job["timing"]["completedAt"]} for name, job in trained),
            key=lambda m: (int(m["createdAt"]), m["name"]),
        )
        return {"total": len(models), "models": models[offset : offset + limit]}

    # ----- completion -----------------------------------------------------------------------------

    def _finished(self, task: SimulatedTask) -> None:
        """Runs once per job when training ends: POST the whole Job to its callback."""
        with self._lock:
            job = self._jobs.get(task.task_id)
            described = job.describe() if job is not None else None
        if job is None or described is None:
            return
        try:
            if not (job.callback and self.config.callback_enabled and not self._stopped):
                return
            payload = {"job": described} if self.config.callback_wrapped else described
            status = post_callback(job.callback, json.dumps(payload, ensure_ascii=False).encode("utf-8"))
            with self._lock:
                self.callbacks.append((job.id, status))
            logger.debug("tencent_gateway sandbox callback for %s -> %s", job.id, status)
        finally:
            job.settled.set()
