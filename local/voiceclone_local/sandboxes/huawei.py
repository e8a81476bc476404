"""A local Huawei Cloud MetaStudio voice-training API: AK/SK signature, OBS-style uploads, real zip audit.

It lets the adapter and the workflow run a Huawei clone without an enterprise
account. Paths, bodies, states and the error envelope follow docs/vendors/huawei.md#sandbox.
The API and the presigned "OBS" upload URLs share one port: uploads go to
``/obs/<job_id>/<object>?signature=<token>`` and, as on OBS, need the documented
Content-Type and no API signature. The commit opens the zip for real and audits
each file with the vendor's own check (``check_wav``); a bad upload (or the ``audit_fail`` knob) ends
in AUDIT_FAILED with per-file errors at ``audit-result``. Audit and training are
simulated by elapsed time: SYSTEM_AUDITING → WAITING → PROCESSING → SUCCEED/FAILED.

Async TTS (``POST /v1/{project_id}/ttsc/async-jobs``, ``GET …/async-jobs/{job_id}``) speaks
with a trained job's ``asset_id``, from the recordings that job was trained on: WAITING, then
PROCESSING for ``speech_seconds``, then SUCCEED with an ``audio_file_url`` (a presigned-style
``/obs/tts/<job>.<ext>?signature=…`` GET on this port) or FAILED with ``code``/``message``
(``fail_speech``). The docs state no text limit: the sandbox takes at most ``max_tts_chars``.
A job created with ``callback_config.callback_url`` is called back when it ends with the SDK's
unsigned ``{status: FINISHED|ERROR, job_id, audio_file_download_url, …}`` (``tts_callbacks``).

``DELETE …/user/jobs/{job_id}`` removes a job in any state, which also stops its
audit or training; the job then answers 404 (``MSS.00000004``) everywhere.

Where the docs are silent the sandbox chooses, and says so here: the audit error
codes other than MSS.20020011 (wrong audio format), the object names of the
upload URLs, HTTP 204 for delete, 401 ``APIGW.0301`` for any auth failure, and
that a job may be deleted while it is audited or trained (the docs do not say;
``refuse_delete_while_training`` makes such a delete fail with a 400 instead).
"""

from __future__ import annotations

import hmac
import io
import secrets
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field
from voiceclone.vendors.signing import huawei as signer
from werkzeug.routing import Map, Rule, Submount

from voiceclone_local.sandboxes.audio import SPEECH_DELAY_SECONDS, check_wav, speak, voice_sample
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
from voiceclone_local.sandboxes.training import SimulatedTask, TrainingState, delivery_outcomes

VENDOR_ID = "huawei"

# Public, fixed sandbox credentials (not secrets): the local stack and tests use them by default.
DEFAULT_PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
DEFAULT_ACCESS_KEY = "SANDBOXHUAWEIAK0000"
DEFAULT_SECRET_KEY = "sandbox-huawei-secret-key"  # noqa: S105

SERVICE = "voice-training-manage"
API_ROOT = f"/v1/<project_id>/{SERVICE}"
TTS_ROOT = "/v1/<project_id>/ttsc"
OBS_PREFIX = "/obs/"
TTS_FILES = "/obs/tts/"
TTS_FORMATS = {"WAV": "wav", "MP3": "mp3"}
# An unknown or untrained voice asset: MetaStudio's documented "Asset not found" (400).
VOICE_ASSET_ERROR = "MSS.10001001"
# The sandbox's own codes (Huawei documents none): a failed training's job_failed_code, and a failed
# async TTS job's code.
TRAINING_FAILED_ERROR = "MSS.20030001"
TTS_FAILED_ERROR = "MSS.20030002"
DATA_OBJECT, LETTER_OBJECT = "training-data.zip", "authorization-letter"
# The Content-Type each upload URL was "presigned" with.
OBJECT_TYPES = {DATA_OBJECT: "application/zip", LETTER_OBJECT: "application/pdf"}
EDITIONS = {"basic-jobs": "BASIC", "advance-jobs": "ADVANCE"}
BASIC_SENTENCES = 20
SAMPLE_RATE = 16000
MAX_CLOCK_SKEW_SECONDS = 15 * 60

# Audit error codes: MSS.20020011 is documented; the others are the sandbox's own.
AUDIO_FORMAT_ERROR = "MSS.20020011"
MISSING_FILE_ERROR = "MSS.20020012"
TEXT_ERROR = "MSS.20020013"
LETTER_ERROR = "MSS.20020014"
REJECTED_ERROR = "MSS.20020015"
DELETE_REFUSED_ERROR = "MSS.00000007"  # the sandbox's own: the docs name no such error
# Huawei's answers to the injected faults: API Gateway's throttling code (its docs), MetaStudio's internal
# error, and the gateway's "backend unavailable" for a 503 (the sandbox's choice: the docs list no 503 code).
_FAULTS = {
    Fault.THROTTLE: Refusal(429, "APIGW.0308", "The throttling threshold has been reached"),
    Fault.INTERNAL: Refusal(500, "MSS.00000001", "internal error"),
    Fault.UNAVAILABLE: Refusal(503, "APIGW.0201", "Backend unavailable, retry later"),
}
# States in which a job is being audited or trained (refuse_delete_while_training applies).
_BUSY_STATES = ("SYSTEM_AUDITING", "WAITING", "PROCESSING")


class HuaweiSandboxConfig(SandboxConfig):
    """The project, the AK/SK pair, the audit knob and the shared fault knobs; tests change them live."""

    project_id: str = Field(default_factory=env_or(VENDOR_ID, "project_id", DEFAULT_PROJECT_ID))
    # repr=False: the config may end up in a log line or a test failure message.
    access_key: str = Field(default_factory=env_or(VENDOR_ID, "access_key", DEFAULT_ACCESS_KEY))
    secret_key: str = Field(default_factory=env_or(VENDOR_ID, "secret_key", DEFAULT_SECRET_KEY), repr=False)
    # When set, every commit fails its audit with this reason (as a human reviewer might).
    audit_fail: str | None = None
    # File name in the package -> the reviewer's reason: the next commit's audit rejects just those
    # files (then the knob is spent), as a reviewer who finds a sentence unusable would.
    audit_reject_files: dict[str, str] = Field(default_factory=dict)
    # The docs do not say whether a job may be deleted while it is audited or trained: False (the
    # default) allows it and stops the training; True refuses it with 400 DELETE_REFUSED_ERROR.
    refuse_delete_while_training: bool = False
    # Async TTS: how long a job takes, the reason the next ones fail (None: they work), the longest text.
    speech_seconds: float = Field(default=SPEECH_DELAY_SECONDS, ge=0)
    fail_speech: str | None = None
    max_tts_chars: int = Field(default=1000, ge=1)


def _error(status: int, code: str, msg: str) -> SandboxApiError:
    """An answer with Huawei's error envelope {error_code, error_msg}."""
    return SandboxApiError(status, code, msg)


@dataclass
class Job:
    """One voice-training job; after commit its state follows the simulated audit and training."""

    job_id: str
    edition: str
    voice_name: str
    sex: str
    language: str
    batch_name: str
    create_time: int
    state: str = "CREATING"  # until commit; AUDIT_FAILED after a failed audit
    uploads: dict[str, bytes] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    audit_errors: list[dict[str, str]] = field(default_factory=list)
    audit_time: int = 0
    task: SimulatedTask | None = None
    asset_id: str = ""

    def current_state(self, now: float | None = None) -> str:
        task = self.task
        if task is None:
            return self.state
        final = task.state(now)
        if final is TrainingState.SUCCEEDED:
            return "SUCCEED"
        if final is TrainingState.FAILED:
            return "FAILED"
        elapsed = (now if now is not None else time.monotonic()) - task.created
        if elapsed < 0.1 * task.training_seconds:
            return "SYSTEM_AUDITING"
        if elapsed < 0.3 * task.training_seconds:
            return "WAITING"
        return "PROCESSING"

    def describe(self) -> dict[str, Any]:
        state = self.current_state()
        info: dict[str, Any] = {
            "job_id": self.job_id,
            "job_type": self.edition,
            "voice_name": self.voice_name,
            "sex": self.sex,
            "language": self.language,
            "state": state,
            "create_type": "PACKAGE",
            "batch_name": self.batch_name,
            "create_time": self.create_time,
            "lastupdate_time": self.create_time,
            "reject_times": 1 if state == "AUDIT_FAILED" else 0,
        }
        if state == "SUCCEED":
            info["asset_id"] = self.asset_id
        if state == "FAILED" and self.task is not None:
            info["job_failed_code"] = TRAINING_FAILED_ERROR
            info["job_failed_reason"] = self.task.failure or "training failed"
        return info


@dataclass
class TtsJob:
    """One async TTS job: the asset and text, and the audio file once it SUCCEEDs."""

    job_id: str
    asset_id: str
    text: str
    fmt: str
    speed: float
    task: SimulatedTask
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    audio: bytes = b""
    # callback_config.callback_url: POSTed {status, job_id, audio_file_download_url} when the job ends.
    callback_url: str | None = None

    def describe(self, base_url: str) -> dict[str, Any]:
        if self.task.failure and self.task.finished:
            return {
                "job_id": self.job_id,
                "state": "FAILED",
                "code": TTS_FAILED_ERROR,
                "message": self.task.failure,
            }
        if not self.audio:
            queued = self.task.state() is TrainingState.PENDING and not self.task.finished
            return {"job_id": self.job_id, "state": "WAITING" if queued else "PROCESSING"}
        url = f"{base_url}{TTS_FILES}{self.job_id}.{self.fmt}?signature={self.token}"
        return {"job_id": self.job_id, "state": "SUCCEED", "audio_file_url": url}


def _package_sample(edition: str, package: bytes) -> bytes:
    """The voice a committed package trains: the voiced part of each recording, in order (30 s at most)."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = sorted(
            (n for n in archive.namelist() if n.lower().endswith(".wav")),
            key=lambda n: (len(n), n),
        )
        seconds = 30.0 if edition == "ADVANCE" else 1.5
        joined = b"".join(voice_sample(archive.read(n), seconds=seconds) for n in names)
    return joined[: int(30 * SAMPLE_RATE) * 2]


def _tts_callback_url(config: object) -> str | None:
    """callback_config.callback_url of a TTS job (absent: no callback); an http(s) URL or 400."""
    if config is None:
        return None
    url = config.get("callback_url") if isinstance(config, dict) else None
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _bad_request("MSS.00000003", "callback_config.callback_url must be an http(s) URL")
    return url


def _bad_request(code: str, msg: str) -> SandboxApiError:
    return _error(400, code, msg)


def _auth_error(msg: str) -> SandboxApiError:
    return _error(401, "APIGW.0301", f"Incorrect IAM authentication information: {msg}")


def _audit_error(code: str, message: str, audio_name: str = "", text_name: str = "") -> dict[str, str]:
    return {"audio_name": audio_name, "text_name": text_name, "error_code": code, "error_message": message}


def _wav_errors(name: str, data: bytes, max_seconds: float) -> list[dict[str, str]]:
    findings = check_wav(data, sample_rate=SAMPLE_RATE, min_seconds=1, max_seconds=max_seconds)
    if not findings:
        return []
    problems = ", ".join(f.problem.value for f in findings)
    detail = "; ".join(f.message for f in findings)
    return [_audit_error(AUDIO_FORMAT_ERROR, f"{problems}: {detail}", audio_name=name)]


def audit_package(edition: str, package: bytes, letter: bytes) -> list[dict[str, str]]:
    """Every problem with the uploaded zip and letter, file by file; empty when they pass."""
    errors: list[dict[str, str]] = []
    if not letter:
        errors.append(_audit_error(LETTER_ERROR, "the authorization letter is empty: upload the signed PDF"))
    try:
        archive = zipfile.ZipFile(io.BytesIO(package))
    except zipfile.BadZipFile:
        return [*errors, _audit_error(AUDIO_FORMAT_ERROR, "the training data is not a zip", DATA_OBJECT)]
    with archive:
        files = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        if edition == "ADVANCE":
            wavs = [name for name in files if name.lower().endswith(".wav")]
            if len(wavs) != 1:
                return [
                    *errors,
                    _audit_error(
                        MISSING_FILE_ERROR,
                        f"the premium edition needs one long .wav, the zip has {len(wavs)}",
                    ),
                ]
            return [*errors, *_wav_errors(wavs[0], archive.read(wavs[0]), max_seconds=7200)]
        for index in range(BASIC_SENTENCES):
            wav, txt = f"{index}.wav", f"{index}.txt"
            if wav not in files:
                errors.append(_audit_error(MISSING_FILE_ERROR, f"{wav} is missing", audio_name=wav))
            else:
                errors.extend(_wav_errors(wav, archive.read(wav), max_seconds=15))
            if txt not in files:
                errors.append(_audit_error(MISSING_FILE_ERROR, f"{txt} is missing", text_name=txt))
                continue
            try:
                text = archive.read(txt).decode("utf-8").strip()
            except UnicodeDecodeError:
                text = ""
            if not text:
                errors.append(_audit_error(TEXT_ERROR, f"{txt} is empty or not UTF-8", text_name=txt))
    return errors


class HuaweiSandbox(SandboxBase):
    """MetaStudio's voice-training operations, and the OBS uploads, on the shared request skeleton."""

    vendor_id: ClassVar[str] = VENDOR_ID
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {"": _FAULTS}
    # A wrong SK fails the SDK-HMAC-SHA256 signature.
    checked_credential: ClassVar[CheckedCredential | None] = CheckedCredential("secret_key", "APIGW.0301")
    config_class: ClassVar[type[SandboxConfig]] = HuaweiSandboxConfig
    routes: ClassVar[Map] = Map(
        [
            Submount(
                API_ROOT,
                [
                    Rule("/user/<kind>", methods=["POST"], endpoint="_create"),
                    Rule("/user/jobs", methods=["GET"], endpoint="_list"),
                    Rule("/user/jobs/<job_id>", methods=["GET"], endpoint="_show"),
                    Rule("/user/jobs/<job_id>", methods=["POST"], endpoint="_commit"),
                    Rule("/user/jobs/<job_id>", methods=["DELETE"], endpoint="_delete"),
                    Rule("/user/jobs/<job_id>/audit-result", methods=["GET"], endpoint="_audit_result"),
                    Rule(
                        "/user/jobs/<job_id>/uploading-address-url",
                        methods=["GET"],
                        endpoint="_uploading_address",
                    ),
                ],
            ),
            Submount(
                TTS_ROOT,
                [
                    Rule("/async-jobs", methods=["POST"], endpoint="_tts_create"),
                    Rule("/async-jobs/<job_id>", methods=["GET"], endpoint="_tts_show"),
                ],
            ),
        ]
    )
    config: HuaweiSandboxConfig

    def _init_state(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._jobs_created = 0
        # Async TTS: the voice each trained asset speaks with, and the TTS jobs.
        self._samples: dict[str, bytes] = {}
        self.tts_jobs: dict[str, TtsJob] = {}
        # (TTS job id, the status our callback answered) for each TTS callback POSTed.
        self.tts_callbacks: list[tuple[str, int | None]] = []

    @property
    def tasks_created(self) -> int:
        """How many jobs were created (each allocates a paid training resource): tests hold a job to one."""
        return self._jobs_created

    @property
    def jobs(self) -> dict[str, Job]:
        """A snapshot of the jobs by id (the Job objects are live)."""
        with self._lock:
            return dict(self._jobs)

    def credentials(self) -> dict[str, str]:
        return {
            "project_id": self.config.project_id,
            "access_key": self.config.access_key,
            "secret_key": self.config.secret_key,
        }

    # ----- the request skeleton's vendor parts ----------------------------------------------------

    def route(self, request: SandboxRequest) -> Route:
        """API routes are counted as ``METHOD /user/jobs/{job_id}/...``; every upload as ``METHOD /obs``."""
        if request.path.startswith(TTS_FILES):
            return Route(f"{request.method} /obs/tts", "_tts_file", authenticated=False)
        if request.path.startswith(OBS_PREFIX):
            parts = request.path[len(OBS_PREFIX) :].split("/")
            args = {"job_id": parts[0], "name": parts[1]} if len(parts) == 2 else {}
            return Route(f"{request.method} /obs", "_obs", args, authenticated=False)
        route = super().route(request)
        if route.endpoint == "_create" and route.args["kind"] not in EDITIONS:
            # MIDDLE and THIRD_PARTY jobs (and any other kind): not served, as an API the gateway lacks.
            return Route(route.name, None)
        name = route.name.replace(API_ROOT.replace("<project_id>", "{project_id}"), "")
        name = name.replace(TTS_ROOT.replace("<project_id>", "{project_id}"), "/ttsc")
        if route.endpoint == "_create":
            name = name.replace("{kind}", route.args["kind"])
        return Route(name, route.endpoint, route.args)

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        return _error(404, "APIGW.0101", f"the API does not exist: {request.method} {request.path}")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        status, data = result if isinstance(result, tuple) else (200, result)
        return self._answer(status, data)

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        return self._answer(error.status, {"error_code": error.code, "error_msg": error.message})

    @staticmethod
    def _answer(status: int, data: dict[str, Any] | None) -> SandboxResponse:
        response = json_response(status, data, {"X-Request-Id": uuid.uuid4().hex})
        if data is None:
            response.body = b""
        return response

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        """AK/SK signature, its freshness and the project; before any fault knob, which it must not use up."""
        parsed = signer.parse_authorization(request.headers.get("authorization", ""))
        if parsed is None:
            raise _auth_error("the Authorization header is missing or not SDK-HMAC-SHA256")
        if not hmac.compare_digest(parsed.access_key.encode(), self.config.access_key.encode()):
            raise _auth_error("the access key is unknown")
        names = set(parsed.signed_headers)
        if not names >= set(signer.REQUIRED_SIGNED_HEADERS):
            raise _auth_error("host and x-sdk-date must be signed")
        if any(name not in request.headers for name in names):
            raise _auth_error("a signed header is missing from the request")
        signed = sorted(names)
        when = signer.parse_sdk_date(request.headers["x-sdk-date"])
        if when is None or abs((datetime.now(UTC) - when).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
            raise _auth_error("X-Sdk-Date is malformed or too far from the server's clock")
        canonical = signer.canonical_request(
            method=request.method,
            path=request.path,
            # Every pair, a repeated key included, as Huawei's gateway signs them.
            query=request.query_pairs,
            headers={name: request.headers[name] for name in signed},
            body=request.body,
        )
        expected = signer.signature(
            self.config.secret_key, signer.string_to_sign(canonical, request.headers["x-sdk-date"])
        )
        if not hmac.compare_digest(expected.encode(), parsed.signature.encode()):
            raise _auth_error("verify aksk signature fail")
        project = request.headers.get("x-project-id", "")
        if project != self.config.project_id or route.args.get("project_id") != self.config.project_id:
            raise _auth_error("the project id in X-Project-Id or the path is not this account's")

    def _job(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise _error(404, "MSS.00000004", f"job {job_id} does not exist")
        return job

    # ----- operations -----------------------------------------------------------------------------

    def _create(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        edition = EDITIONS[route.args["kind"]]  # route() let only these through
        params = json_object(request.body, _invalid_body)
        voice_name = params.get("voice_name")
        if not isinstance(voice_name, str) or not voice_name.strip():
            raise _bad_request("MSS.00000003", "voice_name is required")
        sex = params.get("sex", "FEMALE")
        if sex not in ("FEMALE", "MALE"):
            raise _bad_request("MSS.00000003", "sex must be FEMALE or MALE")
        language = params.get("language", "CN")
        if language not in ("CN", "EN"):
            raise _bad_request("MSS.00000003", "language must be CN or EN")
        if params.get("create_type", "PACKAGE") != "PACKAGE":
            raise _bad_request("MSS.00000003", "the sandbox simulates only create_type PACKAGE")
        job = Job(
            job_id=uuid.uuid4().hex,
            edition=edition,
            voice_name=voice_name,
            sex=sex,
            language=language,
            batch_name=str(params.get("batch_name") or ""),
            create_time=int(time.time() * 1000),
        )
        with self._lock:
            self._jobs[job.job_id] = job
            self._jobs_created += 1
            urls = self._issue_urls(job)
        if self.drop_create_response():
            raise DropConnection
        return {"job_id": job.job_id, **urls}

    def _issue_urls(self, job: Job) -> dict[str, Any]:
        """Fresh upload URLs (the previous ones stop working, as expired presigned URLs do)."""
        job.tokens = {name: secrets.token_urlsafe(16) for name in OBJECT_TYPES}
        base = f"{self.url}{OBS_PREFIX}{job.job_id}/"
        data, letter = (f"{base}{name}?signature={job.tokens[name]}" for name in (DATA_OBJECT, LETTER_OBJECT))
        return {"training_data_uploading_url": data, "authorization_letter_uploading_url": letter}

    def _uploading_address(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        job = self._job(route.args["job_id"])
        with self._lock:
            urls = self._issue_urls(job)
        return {
            "package_url": {"training_data_uploading_url": urls["training_data_uploading_url"]},
            "authorization_letter_uploading_url": urls["authorization_letter_uploading_url"],
        }

    def _obs(self, request: SandboxRequest, route: Route) -> SandboxResponse:
        """A presigned PUT: the token and the Content-Type it was signed with, and no other auth."""
        job_id, name = route.args.get("job_id", ""), route.args.get("name", "")
        if request.method != "PUT" or name not in OBJECT_TYPES:
            return _obs_error(405, "MethodNotAllowed", "only PUT to an upload URL is allowed")
        if "authorization" in request.headers or "x-sdk-date" in request.headers:
            return _obs_error(400, "InvalidArgument", "Only one auth mechanism allowed")
        with self._lock:
            job = self._jobs.get(job_id)
            token = job.tokens.get(name, "") if job is not None else ""
            given = request.query.get("signature", "")
            if job is None or not token or not hmac.compare_digest(token.encode(), given.encode()):
                return _obs_error(403, "AccessDenied", "the upload URL is invalid or has expired")
            content_type = request.headers.get("content-type", "")
            if content_type != OBJECT_TYPES[name]:
                return _obs_error(
                    403,
                    "SignatureDoesNotMatch",
                    f"the URL was signed for Content-Type {OBJECT_TYPES[name]}, got {content_type!r}",
                )
            if job.task is not None:
                return _obs_error(409, "OperationAborted", "the job is committed")
            job.uploads[name] = request.body
            if job.state == "CREATING":
                job.state = "UPLOADING"
        return SandboxResponse(status=200, body=b"", content_type="application/xml", headers={"ETag": '"0"'})

    def _show(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        return self._job(route.args["job_id"]).describe()

    def _commit(self, request: SandboxRequest, route: Route) -> tuple[int, None]:
        """Audit the uploads for real, then start (simulated) training; an empty 200 as documented."""
        job_id = route.args["job_id"]
        job = self._job(job_id)
        with self._lock:
            if job.state not in ("CREATING", "UPLOADING", "AUDIT_FAILED") or job.task is not None:
                raise _bad_request("MSS.00000005", f"job {job_id} is already committed")
            missing = [name for name in OBJECT_TYPES if name not in job.uploads]
            if missing:
                raise _bad_request("MSS.00000006", f"upload {' and '.join(missing)} before committing")
            package, letter = job.uploads[DATA_OBJECT], job.uploads[LETTER_OBJECT]
        errors = audit_package(job.edition, package, letter)
        if not errors and self.config.audit_fail:
            errors = [_audit_error(REJECTED_ERROR, self.config.audit_fail)]
        if not errors and self.config.audit_reject_files:
            rejected, self.config.audit_reject_files = self.config.audit_reject_files, {}
            errors = [
                _audit_error(REJECTED_ERROR, reason, audio_name=name) for name, reason in rejected.items()
            ]
        # The voice the asset will speak with (computed before the training clock starts).
        sample = b"" if errors else _package_sample(job.edition, package)
        with self._lock:
            job.audit_time = int(time.time() * 1000)
            job.audit_errors = errors
            if errors:
                job.state = "AUDIT_FAILED"
            else:
                job.asset_id = uuid.uuid4().hex
                job.task = self._trainer.create(job_id=job.job_id)
                self._samples[job.asset_id] = sample
        return 200, None

    # ----- async TTS ------------------------------------------------------------------------------

    def _tts_create(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        """POST ttsc/async-jobs: text, a trained voice asset, WAV or MP3, speed 50..200; answers job_id."""
        params = json_object(request.body, _invalid_body, empty=False)
        with self._lock:
            self.tts_requests.append(dict(params))
        text, asset_id = params.get("text"), params.get("voice_asset_id")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("MSS.00000003", "text is required")
        if len(text) > self.config.max_tts_chars:
            raise _bad_request("MSS.00000003", f"text is longer than {self.config.max_tts_chars} characters")
        audio_format = params.get("audio_format", "WAV")
        if audio_format not in TTS_FORMATS:
            raise _bad_request("MSS.00000003", "audio_format must be WAV or MP3")
        speed = params.get("speed", 100)
        if isinstance(speed, bool) or not isinstance(speed, int) or not 50 <= speed <= 200:
            raise _bad_request("MSS.00000003", "speed must be an integer from 50 to 200")
        if not isinstance(asset_id, str) or not asset_id:
            raise _bad_request("MSS.00000003", "voice_asset_id is required")
        callback_url = _tts_callback_url(params.get("callback_config"))
        with self._lock:
            trained = any(
                j.asset_id == asset_id and j.current_state() == "SUCCEED" for j in self._jobs.values()
            )
            if not trained or asset_id not in self._samples:
                raise _bad_request(
                    VOICE_ASSET_ERROR, f"the voice asset {asset_id} does not exist or is not active"
                )
            job_id = uuid.uuid4().hex
            task = self._trainer.create(
                on_finish=self._tts_finished,
                task_id=job_id,
                seconds=self.config.speech_seconds,
                failure=self.config.fail_speech,
            )
            self.tts_jobs[job_id] = TtsJob(
                job_id,
                asset_id,
                text,
                TTS_FORMATS[audio_format],
                speed / 100,
                task,
                callback_url=callback_url,
            )
        return {"job_id": job_id}

    def _tts_finished(self, task: SimulatedTask) -> None:
        with self._lock:
            job = self.tts_jobs.get(task.task_id)
            if job is None:
                return
            sample = None if task.failure else self._samples[job.asset_id]
        if sample is not None:
            audio = speak(
                sample, job.text, fmt=job.fmt, sample_rate=SAMPLE_RATE, speed=job.speed, rate=SAMPLE_RATE
            )
            with self._lock:
                job.audio = audio
        self._tts_call_back(job)

    def _tts_call_back(self, job: TtsJob) -> None:
        """The TTS callback as the SDK's tts_call_back_config shows it: unsigned {status, job_id, ...}."""
        if not job.callback_url or not self.config.callback_enabled:
            return
        with self._lock:
            shown = job.describe(self.url)
        payload: dict[str, Any] = {
            "status": "FINISHED" if shown.get("state") == "SUCCEED" else "ERROR",
            "job_id": job.job_id,
            "audio_file_download_url": str(shown.get("audio_file_url") or ""),
            "subtitle_file_download_url": "",
        }
        attempts = self.post_callback(job.job_id, job.callback_url, payload)
        with self._lock:
            self.tts_callbacks.extend((job.job_id, status) for status in delivery_outcomes(attempts))

    def _tts_show(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        with self._lock:
            job = self.tts_jobs.get(route.args["job_id"])
            if job is None:
                raise _error(404, "MSS.00000004", f"TTS job {route.args['job_id']} does not exist")
            return job.describe(self.url)

    def _tts_file(self, request: SandboxRequest, route: Route) -> SandboxResponse:
        """The audio file of a finished TTS job: a presigned GET (the token, no API signature)."""
        name = request.path[len(TTS_FILES) :]
        with self._lock:
            job = self.tts_jobs.get(name.rsplit(".", 1)[0])
            given = request.query.get("signature", "")
            if (
                request.method != "GET"
                or job is None
                or not job.audio
                or not hmac.compare_digest(job.token.encode(), given.encode())
            ):
                return _obs_error(403, "AccessDenied", "the download URL is invalid or has expired")
            audio, fmt = job.audio, job.fmt
        return SandboxResponse(200, audio, content_type="audio/mpeg" if fmt == "mp3" else "audio/wav")

    def _audit_result(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        job = self._job(route.args["job_id"])
        with self._lock:
            return {"system_audit_result": {"audit_time": job.audit_time, "errors": list(job.audit_errors)}}

    def _list(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        query = request.query
        try:
            offset = int(query.get("offset", "0"))
            limit = int(query.get("limit", "10"))
        except ValueError as exc:
            raise _bad_request("MSS.00000003", "offset and limit must be integers") from exc
        if offset < 0 or not 1 <= limit <= 100:
            raise _bad_request("MSS.00000003", "offset must be ≥ 0 and limit 1–100")
        # `state` may be comma-separated, repeated, or both.
        states = {s for value in request.query_lists().get("state", []) for s in value.split(",") if s}
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: j.create_time, reverse=True)
            described = [j.describe() for j in jobs]
        selected = [
            d
            for d in described
            if (not states or d["state"] in states)
            and all(d.get(k) == query[k] for k in ("batch_name", "job_id", "voice_name") if k in query)
        ]
        return {"count": len(selected), "jobs": selected[offset : offset + limit]}

    def _delete(self, request: SandboxRequest, route: Route) -> tuple[int, None]:
        """Remove the job in any state (its simulated training stops with it); then it is a 404 (HTTP 204)."""
        job_id = route.args["job_id"]
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise _error(404, "MSS.00000004", f"job {job_id} does not exist")
            if self.config.refuse_delete_while_training and job.current_state() in _BUSY_STATES:
                raise _bad_request(
                    DELETE_REFUSED_ERROR, f"job {job_id} is {job.current_state()}: it cannot be deleted now"
                )
            del self._jobs[job_id]
        return 204, None


def _obs_error(status: int, code: str, message: str) -> SandboxResponse:
    body = f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code><Message>{message}</Message>"
    body += "</Error>"
    return SandboxResponse(status=status, body=body.encode("utf-8"), content_type="application/xml")


def _invalid_body(message: str) -> SandboxApiError:
    return _bad_request("MSS.00000003", message)
