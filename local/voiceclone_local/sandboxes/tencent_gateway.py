"""A local Tencent smart-content voice-cloning gateway: body credentials, training jobs, real audio checks.

It lets the adapter and the workflow run a gateway clone without an account. Paths,
actions, bodies, job states and timing (epoch-ms strings) follow docs/vendors/tencent_gateway.md#sandbox.
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
* training audio must be a 16 kHz 16-bit mono WAV of 10–600 s;
* type 1 (generate audio) is served from text (``sourceData``) with ``default`` or a model
  this sandbox trained; the file (16 kHz 16-bit mono WAV spoken from the model's training
  audio) lands in the repository ``contentId`` at ``<destination>/<outputPrefix>out.wav`` and
  is read back with ``GET /cos/<contentId><destination>/<file>`` (the COS path the doc says
  to build); voice conversion (a ``url`` input to type 1) is ``UnsupportedOperation``.

Request bodies carry the caller's secretKey: they are never logged.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from voiceclone_local.sandboxes.audio import (
    SPEECH_DELAY_SECONDS,
    audio_problem,
    fetch_audio,
    speak,
    voice_sample,
)
from voiceclone_local.sandboxes.base import CheckedCredential, Refusal, Route, SandboxBase
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
from voiceclone_local.sandboxes.training import SimulatedTask, delivery_outcomes, state_map

VENDOR_ID = "tencent_gateway"

# Public, fixed sandbox credentials (not secrets): the local stack and tests use them by default.
DEFAULT_SECRET_ID = "sandbox-gateway-secret-id"  # noqa: S105
DEFAULT_SECRET_KEY = "sandbox-gateway-secret-key"  # noqa: S105
# The repository (contentId) that receives generated audio, and where its files are read.
DEFAULT_CONTENT_ID = "sandbox-repository"
COS_PATH = "/cos/"
GENERATED_FILE = "out.wav"

JOB_PATH = "/release/job"
MODEL_PATH = "/release/music_model"
# The gateway's answers to the injected faults (the doc shows no error format: see above).
_FAULTS = {
    Fault.THROTTLE: Refusal(429, "RequestLimitExceeded", "too many requests: retry later"),
    Fault.INTERNAL: Refusal(500, "InternalError", "internal error, retry later"),
    Fault.UNAVAILABLE: Refusal(
        503, "ServiceUnavailable", "the service is temporarily unavailable, retry later"
    ),
}
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
_STATES = state_map(STATE_SUBMITTED, STATE_PROCESSING, STATE_COMPLETED, STATE_ERROR)
# Share of the training time a job spends SUBMITTED (TrainingSimulator's PENDING share).
_SUBMITTED_SHARE = 0.2

# The sandbox's codes for a failed job (the doc names none).
INPUT_DOWNLOAD_FAILED = "InputDownloadFailed"
INVALID_AUDIO = "InvalidAudio"
JOB_TIMEOUT = "JobTimeout"
TRAINING_FAILED = "TrainingFailed"


class TencentGatewaySandboxConfig(SandboxConfig):
    """Credentials, audio limits and the shared fault knobs; tests change them while the sandbox runs."""

    secret_id: str = Field(default_factory=env_or(VENDOR_ID, "secret_id", DEFAULT_SECRET_ID))
    # repr=False: the config may end up in a log line or a test failure message.
    secret_key: str = Field(default_factory=env_or(VENDOR_ID, "secret_key", DEFAULT_SECRET_KEY), repr=False)
    # The doc states no audio limits; these are the sandbox's.
    min_seconds: float = Field(default=10.0, ge=0)
    max_seconds: float = Field(default=600.0, gt=0)
    # The doc shows no error format: True sends the HTTP status with the error body, False HTTP 200.
    errors_as_http_status: bool = True
    # The doc does not show whether the callback body is the bare Job or {"job": Job}.
    callback_wrapped: bool = False
    # Generation jobs (type 1): how long one takes, and the reason the next ones fail (None: they work).
    speech_seconds: float = Field(default=SPEECH_DELAY_SECONDS, ge=0)
    fail_speech: str | None = None


def _error(status: int, code: str, message: str) -> SandboxApiError:
    """An answer of the form {"requestId", "error": {"code", "message"}} with an HTTP status."""
    return SandboxApiError(status, code, message)


def _key(action: str) -> str:
    """The body key of an action's request and response: CreateJob -> createJob(Request|Response)."""
    return action[0].lower() + action[1:] if action else ""


def _invalid(message: str, code: str = "InvalidParameter") -> SandboxApiError:
    return _error(400, code, message)


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
    # Generation jobs: the text, and the file the finished job wrote to the repository.
    kind: int = TRAIN_MODEL
    text: str = ""
    voice_name: str = ""
    written: bool = False  # a generation job is COMPLETED only once its file is in the repository

    def state(self) -> int:
        if self.kind == GENERATE_AUDIO and not self.written and not self.task.failure:
            queued = self.task.state().value == "PENDING" and not self.task.finished
            return STATE_SUBMITTED if queued else STATE_PROCESSING
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
            generated = self.kind == GENERATE_AUDIO
            result = {"voiceName": self.voice_name} if generated else {"modelName": self.model_name}
            for output in outputs:
                output["smartContentResult"] = {"voiceCloning": result}
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
    return optional_int(params, name, _invalid)


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
    """One Output; returns its (modelName, totalEpoch); a generation output's totalEpoch is None."""
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
        return _check_generation(where, item, cloning, [inputs[s] for s in selectors]), None
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


def _check_generation(
    where: str, output: dict[str, Any], cloning: dict[str, Any], inputs: list[dict[str, Any]]
) -> str:
    """A generation (type 1) output: text in, a model to speak with, a repository to write to."""
    if len(inputs) != 1 or not inputs[0].get("sourceData"):
        raise _error(
            400,
            "UnsupportedOperation",
            "the sandbox generates audio from text (one sourceData input) only, not voice conversion",
        )
    if not _opt_str(output, "contentId"):
        raise _invalid(f"`{where}.contentId` is required to generate audio", "MissingParameter")
    name = _opt_str(cloning, "modelName")
    if not name:
        raise _invalid("`voiceCloning.modelName` is required to generate audio", "MissingParameter")
    return name


# ----- the sandbox ---------------------------------------------------------------------------------


class TencentGatewaySandbox(SandboxBase):
    """The gateway's actions on the shared request skeleton: two paths, the action in the JSON body."""

    vendor_id: ClassVar[str] = VENDOR_ID
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {"": _FAULTS}
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential("secret_key", "AuthFailure")
    config_class: ClassVar[type[SandboxConfig]] = TencentGatewaySandboxConfig
    config: TencentGatewaySandboxConfig

    def _init_state(self) -> None:
        # (job id, HTTP status of the last delivery attempt, None when nobody answered).
        self.callbacks: list[tuple[str, int | None]] = []
        self._jobs: dict[str, GatewayJob] = {}
        # The training audio each trained model speaks from, and the repository's files by path.
        self._samples: dict[str, bytes] = {}
        self.files: dict[str, bytes] = {}

    @property
    def tasks_created(self) -> int:
        """Training jobs created (type 2); the simulator also runs the generation jobs, which are speech."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if job.kind == TRAIN_MODEL)

    @property
    def jobs(self) -> dict[str, GatewayJob]:
        """A snapshot of the jobs by id (the GatewayJob objects are live)."""
        with self._lock:
            return dict(self._jobs)

    def credentials(self) -> dict[str, str]:
        return {
            "secret_id": self.config.secret_id,
            "secret_key": self.config.secret_key,
            "content_id": DEFAULT_CONTENT_ID,
            "output_url": f"{self.url}{COS_PATH}{DEFAULT_CONTENT_ID}",
        }

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def route(self, request: SandboxRequest) -> Route:
        """POST to one of two paths, the action named in the body (which also holds the credentials).

        ``GET /cos/<contentId>/<path>`` reads a generated file (the repository, not the gateway).
        """
        if request.method == "GET" and request.path.startswith(COS_PATH):
            return Route(name="GET /cos", endpoint="_read_file", authenticated=False)
        if request.method != "POST":
            raise _error(405, "UnsupportedProtocol", "the gateway serves its API as POST only")
        path = request.path.rstrip("/")
        actions = ACTIONS.get(path)
        if actions is None:
            raise _error(404, "InvalidPath", f"no API at {request.path}")
        named = json_object(request.body, _invalid, empty=False).get("action")
        action = named if isinstance(named, str) else ""
        # An unknown or missing action is refused after the credentials are checked: a caller
        # without them learns nothing about the API (docs/vendors/tencent_gateway.md, Sandbox).
        endpoint = (
            f"_{re.sub(r'(?<!^)(?=[A-Z])', '_', action).lower()}" if action in actions else "_no_such_action"
        )
        return Route(name=action or "?", endpoint=endpoint, args={"path": path})

    def _no_such_action(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        raise self.not_found(request, route)

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        if route.name == "?":
            return _invalid("`action` is required", "MissingParameter")
        return _error(
            400, "InvalidAction", f"the action {route.name!r} does not exist at {route.args['path']}"
        )

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        """The body's secretId/secretKey; checked before any fault knob, so a bad request uses none up."""
        body = json_object(request.body, _invalid)
        secret_id, secret_key = body.get("secretId"), body.get("secretKey")
        if (
            not isinstance(secret_id, str)
            or not isinstance(secret_key, str)
            or not secret_id
            or not secret_key
        ):
            raise _error(401, "AuthFailure", "secretId and secretKey are required")
        id_ok = hmac.compare_digest(secret_id.encode("utf-8"), self.config.secret_id.encode("utf-8"))
        key_ok = hmac.compare_digest(secret_key.encode("utf-8"), self.config.secret_key.encode("utf-8"))
        if not (id_ok and key_ok):
            raise _error(401, "AuthFailure", "the secretId or secretKey is wrong")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        action = route.name
        return self._answer(200, {"requestId": str(uuid.uuid4()), f"{_key(action)}Response": result})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        status = error.status if self.config.errors_as_http_status else 200
        envelope = {"requestId": str(uuid.uuid4()), "error": {"code": error.code, "message": error.message}}
        return self._answer(status, envelope)

    @staticmethod
    def _answer(status: int, envelope: dict[str, Any]) -> SandboxResponse:
        return json_response(status, envelope, {"X-Api-RequestId": envelope["requestId"]})

    @staticmethod
    def _params(request: SandboxRequest, route: Route) -> dict[str, Any]:
        key = _key(route.name)
        params = json_object(request.body, _invalid).get(f"{key}Request")
        if not isinstance(params, dict):
            raise _invalid(f"`{key}Request` is required", "MissingParameter")
        return params

    def _job(self, job_id: str) -> GatewayJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise _error(404, "ResourceNotFound", f"job {job_id} does not exist")
        return job

    def _name_taken(self, name: str) -> bool:
        """A model name is taken by a job that did not fail (a failed job made no model)."""
        return any(j.model_name == name and j.state() != STATE_ERROR for j in self._jobs.values())

    # ----- operations -----------------------------------------------------------------------------

    def _create_job(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request, route)
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
        if _int(raw_outputs[0]["smartContentDescriptor"]["voiceCloning"], "type") == GENERATE_AUDIO:
            return self._create_generation(params, inputs, raw_outputs[0], name)
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
        error_code, failure, audio = self._audio_failure(url)
        # The voice the model will speak with (computed before the job's clock starts).
        sample = voice_sample(audio, seconds=30.0) if failure is None and audio else b""
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
            if sample:
                self._samples[name] = sample
            described = job.describe()
        if self.drop_create_response():
            raise DropConnection
        return {"job": described}

    def _create_generation(
        self, params: dict[str, Any], inputs: list[dict[str, Any]], output: dict[str, Any], model: str
    ) -> dict[str, Any]:
        """CreateJob type 1: the model speaks the text; the file is written when the job completes."""
        text = str(inputs[output["inputSelectors"][0]]["sourceData"])
        custom_id = _opt_str(params, "customId", MAX_CUSTOM_ID_CHARS)
        callback = _opt_str(params, "callback")
        if callback:
            _http_url(callback, "callback")
        with self._lock:
            asked = {"customId": custom_id, "inputs": inputs, "outputs": [output]}
            self.tts_requests.append({**asked, "callback": callback} if callback else asked)
            if model != "default" and model not in self._samples:
                raise _invalid(f"the model {model!r} does not exist", "InvalidParameterValue.ModelNotFound")
            job_id = str(uuid.uuid4())
            task = self._trainer.create(
                on_finish=self._finished,
                task_id=job_id,
                seconds=self.config.speech_seconds,
                failure=self.config.fail_speech,
            )
            prefix = str(output["smartContentDescriptor"].get("outputPrefix") or "")
            job = GatewayJob(
                id=job_id,
                custom_id=custom_id,
                callback=callback or None,
                inputs=inputs,
                outputs=[output],
                model_name=model,
                created_ms=int(time.time() * 1000),
                task=task,
                error_code="SynthesisFailed" if task.failure else "",
                kind=GENERATE_AUDIO,
                text=text,
                voice_name=prefix + GENERATED_FILE,
            )
            self._jobs[job_id] = job
            return {"job": job.describe()}

    def _write_generated(self, job: GatewayJob) -> None:
        """A completed generation job's file, in its repository folder: the model's voice saying the text."""
        output = job.outputs[0]
        folder = str(output.get("destination") or "/").rstrip("/")
        sample = self._samples.get(job.model_name) or self._default_voice()
        audio = speak(sample, job.text, fmt="wav", sample_rate=SAMPLE_RATE, rate=SAMPLE_RATE)
        self.files[f"{output['contentId']}{folder}/{job.voice_name}"] = audio
        job.written = True

    def _default_voice(self) -> bytes:
        """The "default" model: the first trained voice (the sandbox has no stock voice of its own)."""
        if not self._samples:
            raise ValueError("the sandbox has no trained voice to speak the default model with")
        return next(iter(self._samples.values()))

    def _read_file(self, request: SandboxRequest, route: Route) -> SandboxResponse:
        path = request.path[len(COS_PATH) :]
        with self._lock:
            audio = self.files.get(path)
        if audio is None:
            return SandboxResponse(404, b"NoSuchKey", content_type="text/plain")
        return SandboxResponse(200, audio, content_type="audio/wav")

    def _audio_failure(self, url: str) -> tuple[str, str | None, bytes]:
        """(error code, reason, audio) when the input cannot train a model, else ("", None, audio)."""
        try:
            audio = fetch_audio(url)
        except ValueError as exc:
            return INPUT_DOWNLOAD_FAILED, f"the input audio could not be downloaded: {exc}", b""
        problem = audio_problem(
            audio, min_seconds=self.config.min_seconds, max_seconds=self.config.max_seconds
        )
        if problem:
            return INVALID_AUDIO, f"the training audio cannot be used: {problem}", audio
        return "", None, audio

    def _get_job(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request, route)
        job_id = _opt_str(params, "id")
        if not job_id:
            raise _invalid("`id` is required", "MissingParameter")
        with self._lock:
            return {"job": self._job(job_id).describe()}

    def _list_jobs(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request, route)
        custom_id = _opt_str(params, "customId")
        with self._lock:
            jobs = [
                j.describe() for j in self._jobs.values() if custom_id is None or j.custom_id == custom_id
            ]
        return {"jobs": jobs, "total": len(jobs)}

    def _list_models(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        params = self._params(request, route)
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
        """Runs once per job when it ends: a generation job writes its file; the Job goes to its callback."""
        with self._lock:
            job = self._jobs.get(task.task_id)
            if job is not None and job.kind == GENERATE_AUDIO and not task.failure:
                self._write_generated(job)
            described = job.describe() if job is not None else None
        if job is None or described is None or not (job.callback and self.config.callback_enabled):
            return
        payload = {"job": described} if self.config.callback_wrapped else described
        attempts = self.post_callback(job.id, job.callback, payload)
        with self._lock:
            self.callbacks.extend((job.id, status) for status in delivery_outcomes(attempts))
