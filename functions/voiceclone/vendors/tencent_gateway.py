"""Tencent smart-content voice cloning (API gateway): JSON actions with the credentials in the body.

Wire format: see docs/vendors/tencent_gateway.md (Operations: type 2 trains a model and
yields ``modelName``). One CreateJob of type 2 trains a model from the assembled
recording's URL; the job's ``customId`` is the request's session id, so a create whose
answer was lost is found again with ListJobs. The error format is undocumented
(docs/vendors/tencent_gateway.md, Errors): the envelope below reads every plausible shape,
and the rules classify them through the shared pipeline (voiceclone.vendors.errors).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Unpack

import httpx

from voiceclone.domain.errors import VendorRejected, VendorUnavailable
from voiceclone.domain.models import VendorVoice
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    Connection,
    TrainingRequest,
    TrainingStatus,
    state_table,
)
from voiceclone.vendors.errors import ErrorRules
from voiceclone.vendors.http import Envelope, NotTheApi, Reply
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisState
from voiceclone.vendors.tencent_cloud import TencentKeyPairAdapter

VENDOR_ID = "tencent_gateway"
DEFAULT_ENDPOINT = "https://service-mqk0mc83-1257411467.bj.apigw.tencentcs.com"
JOB_PATH = "/release/job"
MODEL_PATH = "/release/music_model"

# voiceCloning.type: 1 generates audio with a model, 2 trains one.
GENERATE_AUDIO = 1
TRAIN_MODEL = 2
# Input sourceData (text): at most 512 characters.
SOURCE_DATA_MAX_CHARS = 512
# Where a generation job's file goes in the repository: <destination>/<voiceName>, one folder per piece.
SPEECH_DESTINATION_PREFIX = "/voiceclone/"
# modelName: digits, letters and underscores, fewer than 64 characters, unique in the account.
MODEL_NAME_PREFIX = "vc_"
MODEL_NAME_MAX_CHARS = 63
_PLAIN_JOB_ID = re.compile(rf"[A-Za-z0-9_]{{1,{MODEL_NAME_MAX_CHARS - len(MODEL_NAME_PREFIX)}}}")
# customId: fewer than 64 characters.
CUSTOM_ID_MAX_CHARS = 63
# ListModels answers at most 100 models per page; the cap stops a gateway that pages forever.
LIST_MODELS_LIMIT = 100
LIST_MODELS_MAX_PAGES = 100

STATE_SUBMITTED, STATE_PROCESSING, STATE_COMPLETED, STATE_ERROR, STATE_CANCELED = 1, 2, 3, 4, 5
STATES = state_table(
    pending=(STATE_SUBMITTED,),
    running=(STATE_PROCESSING,),
    succeeded=(STATE_COMPLETED,),
    failed=(STATE_ERROR, STATE_CANCELED),
)
_STATE_NAMES = {
    STATE_SUBMITTED: "SUBMITTED",
    STATE_PROCESSING: "PROCESSING",
    STATE_COMPLETED: "COMPLETED",
    STATE_ERROR: "ERROR",
    STATE_CANCELED: "CANCELED",
}

# The error format is not documented, so codes and messages are also recognised by their words.
ERRORS = ErrorRules(
    prefixes={
        "InternalError": "unavailable",
        "ResourceUnavailable": "unavailable",
        "ServiceUnavailable": "unavailable",
    },
    words={
        "auth": re.compile(
            r"auth|secret.?id|secret.?key|signature|credential|unauthori[sz]ed|forbidden|鉴权|认证|密钥",
            re.IGNORECASE,
        ),
        "throttled": re.compile(
            r"RequestLimitExceeded|rate.?limit|too many requests|throttl|限流|频率|频繁", re.IGNORECASE
        ),
    },
    messages={
        "auth": "the gateway refused the credentials: check the tencent_gateway secret_id and secret_key",
    },
)
# Envelope "code" values that mean success.
_OK_CODES = (0, "0", "", None)


class GatewayEnvelope(Envelope):
    """Successes carry ``<action>Response`` (the call's context); errors come in several shapes."""

    rules = ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        return _error_of(reply.body)

    def request_id(self, reply: Reply) -> str | None:
        return _request_id(reply.body, reply.headers)

    def payload(self, reply: Reply) -> Any:
        result = reply.json_object.get(reply.context)
        if not isinstance(result, dict):
            raise NotTheApi(f"the gateway answered without {reply.context}: not its API")
        return result


def model_name(job_id: str) -> str:
    """The model a job trains: allowed characters, under 64 chars, the same on every retry, one per job.

    Job ids are uuid4 hex, kept readable so an operator can find the job from the
    model list; anything else is hashed to stay within the allowed characters.
    """
    if _PLAIN_JOB_ID.fullmatch(job_id):
        return MODEL_NAME_PREFIX + job_id
    return MODEL_NAME_PREFIX + hashlib.sha256(job_id.encode("utf-8")).hexdigest()[:40]


def speech_destination(tag: str) -> str:
    """The repository folder of one generation job: ours alone, so its voiceName cannot collide."""
    return SPEECH_DESTINATION_PREFIX + hashlib.sha256(tag.encode("utf-8")).hexdigest()[:32]


def custom_id(session_id: str) -> str:
    """The job's customId: the session id (stable across retries), hashed if it is 64 characters or more."""
    if len(session_id) <= CUSTOM_ID_MAX_CHARS:
        return session_id
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:48]


class TencentGatewayAdapter(TencentKeyPairAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {
        "en": "Tencent's smart-content service",
        "zh": "腾讯智能内容服务",
    }
    default_endpoint = DEFAULT_ENDPOINT
    # Training time is not documented; the callback normally ends the wait, polling is the fallback.
    capabilities = Capabilities(
        completion="callback",
        audio_transport="url",
        # Any text: CreateJob type 2 takes the audio's URL and no script (docs/vendors/tencent_gateway.md);
        # the standard script's first twenty are only what a lone job asks for.
        reads_any_text=True,
        poll_initial_seconds=30,
        poll_max_seconds=600,
        # Undocumented by the vendor: the window its sandbox enforces (docs/vendors/tencent_gateway.md).
        joined_seconds=(10.0, 600.0),
        # Speech: CreateJob type 1 with the trained modelName and the text as sourceData (at most 512
        # characters); the file lands in the repository `content_id` (docs/vendors/tencent_gateway.md,
        # Operations). The doc names no format, rate or speed: its example file is out.wav, and the
        # sandbox answers 16 kHz 16-bit mono WAV at the natural pace.
        speech="async",
        speech_formats=("wav",),
        speech_sample_rates=(16000,),
        speech_text_limit=SOURCE_DATA_MAX_CHARS,
        speech_speeds=(1.0, 1.0),
        speech_concurrency=4,
        speech_poll_seconds=2,
        speech_poll_max_seconds=30,
        speech_note="the Tencent gateway synthesizes asynchronously (CreateJob type 1 with the modelName): "
        "POST /v1/voices/{id}/speech answers 202 and the speech workflow finishes it",
    )
    envelope = GatewayEnvelope()
    training_states = STATES
    # Speech only: the repository (contentId) that receives generated audio, and the base URL its
    # files are read from (<output_url><destination>/<voiceName>: the COS path the doc says to build).
    optional_fields = ("content_id", "output_url")

    def __init__(
        self,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        content_id: str = "",
        output_url: str = "",
        **connection: Unpack[Connection],
    ) -> None:
        super().__init__(endpoint, secret_id, secret_key, **connection)
        self.content_id = content_id
        self.output_url = output_url.rstrip("/")

    # ----- transport -------------------------------------------------------------------------

    def call(self, path: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """One action; returns its ``<action>Response`` object or raises the classified error."""
        key = action[0].lower() + action[1:]
        # The gateway has no request signing: secretId AND secretKey travel in this JSON body
        # (docs/vendors/tencent_gateway.md, Authentication). Request bodies are therefore never logged.
        body = {
            "action": action,
            "secretId": self._secret_id,
            "secretKey": self._secret_key,
            f"{key}Request": params,
        }
        result: dict[str, Any] = self._http.call("POST", path, json_body=body, context=f"{key}Response")
        return result

    # ----- operations ------------------------------------------------------------------------

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """CreateJob type 2: train this job's model from the assembled recording's URL."""
        job_request: dict[str, Any] = {
            "customId": custom_id(request.session_id),
            "inputs": [{"url": audio.assembled_url()}],
            "outputs": [
                {
                    "inputSelectors": [0],
                    "smartContentDescriptor": {
                        "voiceCloning": {"type": TRAIN_MODEL, "modelName": model_name(request.job_id)}
                    },
                }
            ],
        }
        if request.callback_url:
            job_request["callback"] = request.callback_url
        job = _job_of(self.call(JOB_PATH, "CreateJob", job_request), "CreateJob")
        return str(job["id"])

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The training job an earlier create for this request made (its answer may have been lost).

        ListJobs by customId may return several entries, repeated ones included: only
        jobs with this request's customId and model name count, de-duplicated on id; a
        job still alive is preferred to one that failed, then the oldest.
        """
        wanted_custom_id = custom_id(request.session_id)
        wanted_model = model_name(request.job_id)
        data = self.call(JOB_PATH, "ListJobs", {"customId": wanted_custom_id})
        jobs = data.get("jobs")
        mine: dict[str, dict[str, Any]] = {}
        for job in jobs if isinstance(jobs, list) else []:
            if not isinstance(job, dict) or not job.get("id"):
                continue
            if job.get("customId") not in (None, wanted_custom_id):
                continue
            if _requested_model(job) not in (None, wanted_model):
                continue
            mine.setdefault(str(job["id"]), job)
        if not mine:
            return None
        best = min(
            mine.values(),
            key=lambda j: (
                _int(j.get("state")) in (STATE_ERROR, STATE_CANCELED),
                _int(_dict(j.get("timing")).get("createdAt")) or 0,
                str(j["id"]),
            ),
        )
        return str(best["id"])

    def get_status(self, task_id: str) -> TrainingStatus:
        job = _job_of(self.call(JOB_PATH, "GetJob", {"id": task_id}), "GetJob")
        return self._status(job, task_id)

    def parse_callback(self, body: bytes) -> TrainingStatus:
        """The whole Job, bare or as ``{"job": {...}}`` (the doc does not show which)."""
        job = _callback_job(body)
        return self._status(job, str(job["id"]))

    def parse_synthesis_callback(self, body: bytes) -> str:
        """A generation job's callback is the same whole Job: its id (GetJob confirms it)."""
        return str(_callback_job(body)["id"])

    def list_voices(self) -> list[VendorVoice]:
        """Every trained model of the account (ListModels, paged with offset/limit)."""
        voices: list[VendorVoice] = []
        offset = 0
        for _ in range(LIST_MODELS_MAX_PAGES):
            data = self.call(MODEL_PATH, "ListModels", {"offset": offset, "limit": LIST_MODELS_LIMIT})
            models = data.get("models")
            page = [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []
            for model in page:
                name = str(model.get("name") or "")
                if not name:
                    continue
                details: dict[str, Any] = {"modelName": name}
                if model.get("createdAt") is not None:
                    details["createdAt"] = str(model["createdAt"])
                voices.append(self.voice(name, **details))
            offset += len(page)
            total = _int(data.get("total"))
            if len(page) < LIST_MODELS_LIMIT or (total is not None and offset >= total):
                break
        return voices

    # ----- speech: CreateJob type 1 --------------------------------------------------------------

    def start_synthesis(self, voice: VendorVoice, request: SynthesisRequest, *, tag: str) -> SynthesisJob:
        """CreateJob type 1: the model speaks ``request.text`` (sourceData) into the repository."""
        if not self.content_id or not self.output_url:
            raise VendorRejected(
                VENDOR_ID,
                "SpeechNotConfigured",
                "set the tencent_gateway content_id (the repository that receives generated audio) "
                "and output_url (where its files are read) to speak with gateway voices",
            )
        if request.format not in self.capabilities.speech_formats or request.speed != 1.0:
            raise VendorRejected(VENDOR_ID, "UnsupportedOutput", "the gateway makes WAV at the natural pace")
        model = str(voice.details.get("modelName") or voice.voice_id)
        job_request: dict[str, Any] = {
            "customId": custom_id(tag),
            "inputs": [{"sourceData": request.text}],
            "outputs": [
                {
                    "contentId": self.content_id,
                    "destination": speech_destination(tag),
                    "inputSelectors": [0],
                    "smartContentDescriptor": {"voiceCloning": {"type": GENERATE_AUDIO, "modelName": model}},
                }
            ],
        }
        if request.callback_url:
            # The whole Job is POSTed there on COMPLETED/ERROR, unsigned: the callback re-queries it.
            job_request["callback"] = request.callback_url
        job = _job_of(self.call(JOB_PATH, "CreateJob", job_request), "CreateJob")
        return self._synthesis(job)

    def find_synthesis(self, tag: str) -> SynthesisJob | None:
        """ListJobs by the piece's customId: its generation job into the piece's own folder, if one exists."""
        data = self.call(JOB_PATH, "ListJobs", {"customId": custom_id(tag)})
        jobs = data.get("jobs")
        folder = speech_destination(tag)
        mine = [
            job
            for job in (jobs if isinstance(jobs, list) else [])
            if isinstance(job, dict)
            and job.get("id")
            and job.get("customId") in (None, custom_id(tag))
            and any(o.get("destination") == folder for o in _training_outputs(job))
        ]
        if not mine:
            return None
        best = min(mine, key=lambda j: (_int(j.get("state")) in (STATE_ERROR, STATE_CANCELED), str(j["id"])))
        return self._synthesis(best)

    def get_synthesis(self, job_id: str) -> SynthesisJob:
        return self._synthesis(_job_of(self.call(JOB_PATH, "GetJob", {"id": job_id}), "GetJob"))

    def _synthesis(self, job: dict[str, Any]) -> SynthesisJob:
        """A generation job in the shared terms; on COMPLETED its file's URL from destination + voiceName."""

        code = _int(job.get("state"))
        label = _STATE_NAMES.get(code, str(job.get("state") or "")) if code is not None else ""
        found = SynthesisJob(job_id=str(job["id"]), vendor_state=label)
        if code in (STATE_ERROR, STATE_CANCELED):
            vendor_code, message = _job_error(job)
            return found.model_copy(
                update={
                    "state": SynthesisState.FAILED,
                    "error_code": vendor_code
                    or ("JobCanceled" if code == STATE_CANCELED else "SynthesisFailed"),
                    "error_message": message or f"Tencent ended the generation job in {label}",
                }
            )
        if code != STATE_COMPLETED:
            return found
        for output in _training_outputs(job):
            name = _dict(_dict(output.get("smartContentResult")).get("voiceCloning")).get("voiceName")
            if name:
                folder = str(output.get("destination") or "/").rstrip("/")
                url = f"{self.output_url}{folder}/{name}"
                return found.model_copy(update={"state": SynthesisState.SUCCEEDED, "audio_url": url})
        return found.model_copy(
            update={
                "state": SynthesisState.FAILED,
                "error_code": "NoVoiceName",
                "error_message": "the generation job COMPLETED without "
                "smartContentResult.voiceCloning.voiceName",
            }
        )

    # Voice management: the gateway documents none of it (capabilities keep the three flags False;
    # its job state 5 is CANCELED, but no action that cancels a job is documented).

    def _status(self, job: dict[str, Any], task_id: str) -> TrainingStatus:
        code = _int(job.get("state"))
        voice = None
        name = _trained_model(job) or _requested_model(job)
        if name:
            voice = self.voice(name, modelName=name)
        vendor_code, vendor_message = _job_error(job)
        canceled = code == STATE_CANCELED
        return self.status_of(
            str(job.get("id") or task_id),
            code,
            label=_STATE_NAMES.get(code, str(job.get("state"))) if code is not None else "",
            voice=voice,
            error_code=vendor_code or ("JobCanceled" if canceled else "TrainingFailed"),
            error_message=vendor_message
            or (
                "the job was canceled at Tencent"
                if canceled
                else "Tencent ended the job in ERROR without a reason"
            ),
        )


# ----- reading the gateway's answers ---------------------------------------------------------


def _int(value: Any) -> int | None:
    """Integers the gateway may send as numbers or strings (timing is epoch-ms strings)."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _error_of(body: Any) -> tuple[str, str] | None:
    """(code, message) when the body says something failed, in any shape a gateway might use."""
    if not isinstance(body, dict):
        return None
    error = body.get("error", body.get("Error"))
    if isinstance(error, dict):
        return (
            _text(error.get("code", error.get("Code"))),
            _text(error.get("message", error.get("Message"))),
        )
    if isinstance(error, str) and error:
        return "", error
    envelope = body.get("Response")
    if isinstance(envelope, dict) and isinstance(envelope.get("Error"), dict):
        inner = envelope["Error"]
        return _text(inner.get("Code")), _text(inner.get("Message"))
    for code_key, message_keys in (
        ("code", ("message", "msg", "Message")),
        ("Code", ("Message", "message")),
        ("errorCode", ("errorMessage", "message")),
    ):
        code = body.get(code_key)
        if code_key in body and code not in _OK_CODES:
            message = next((_text(body[k]) for k in message_keys if body.get(k)), "")
            return _text(code), message
    return None


def _request_id(body: Any, headers: httpx.Headers) -> str | None:
    if isinstance(body, dict):
        for key in ("requestId", "RequestId", "request_id"):
            if body.get(key):
                return str(body[key])
        envelope = body.get("Response")
        if isinstance(envelope, dict) and envelope.get("RequestId"):
            return str(envelope["RequestId"])
    # API Gateway's own request id, when the body carries none.
    header: str | None = headers.get("x-api-requestid")
    return header


def _job_of(result: dict[str, Any], action: str) -> dict[str, Any]:
    job = result.get("job")
    if not isinstance(job, dict) or not job.get("id"):
        raise VendorUnavailable(VENDOR_ID, "NoJob", f"{action} answered without a job id")
    return job


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _training_outputs(job: dict[str, Any]) -> list[dict[str, Any]]:
    outputs = job.get("outputs")
    return [o for o in outputs if isinstance(o, dict)] if isinstance(outputs, list) else []


def _requested_model(job: dict[str, Any]) -> str | None:
    """The modelName a training (type 2) output asked for, if the job shows one."""
    for output in _training_outputs(job):
        cloning = _dict(_dict(output.get("smartContentDescriptor")).get("voiceCloning"))
        if _int(cloning.get("type")) == TRAIN_MODEL and cloning.get("modelName"):
            return str(cloning["modelName"])
    return None


def _trained_model(job: dict[str, Any]) -> str | None:
    """smartContentResult.voiceCloning.modelName of a completed training job."""
    for output in _training_outputs(job):
        result = _dict(_dict(output.get("smartContentResult")).get("voiceCloning"))
        if result.get("modelName"):
            return str(result["modelName"])
    return None


def _job_error(job: dict[str, Any]) -> tuple[str, str]:
    """The reason a job failed; the doc names no field, so the likely ones are read in turn."""
    error = job.get("error")
    if isinstance(error, dict):
        code = _text(error.get("code", error.get("Code")))
        message = _text(error.get("message", error.get("Message")))
        if code or message:
            return code, message
    if isinstance(error, str) and error:
        return "", error
    code = _text(job.get("errorCode", job.get("errCode")))
    for key in ("errorMessage", "errorMsg", "errMsg", "message"):
        if job.get(key):
            return code, str(job[key])
    return code, ""


def _callback_job(body: bytes) -> dict[str, Any]:
    """The Job of a callback body: bare, ``{"job": {...}}`` or ``{"getJobResponse": {"job": {...}}}``."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise VendorRejected(VENDOR_ID, "BadCallback", "callback body is not JSON") from exc
    if not isinstance(data, dict):
        raise VendorRejected(VENDOR_ID, "BadCallback", "callback body is not a JSON object")
    job = data.get("job")
    if not isinstance(job, dict):
        wrapped = data.get("getJobResponse")
        job = wrapped.get("job") if isinstance(wrapped, dict) else data
    if not isinstance(job, dict) or not job.get("id"):
        raise VendorRejected(VENDOR_ID, "BadCallback", "callback body has no job id")
    return job
