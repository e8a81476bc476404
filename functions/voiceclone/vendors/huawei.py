"""Huawei Cloud MetaStudio voice training (声音制作): AK/SK-signed REST, zip upload to OBS, commit, polling.

Wire format: see docs/vendors/huawei.md (Operations). A job is created per edition (``BASIC``: 20
sentences as ``i.wav`` + ``i.txt`` in one zip; ``ADVANCE``, the "Premium
Edition": one long WAV in a zip), its zip and the signed authorization letter
are PUT to the presigned OBS URLs the create returns (no Huawei signature on
those), and a commit starts audit and training, which take working days.

Huawei has no idempotency key, so a job carries a ``batch_name`` derived from
the job's session id: a retried create finds the job an earlier attempt made,
and finishes its upload and commit instead of paying for a second one. Errors
arrive as HTTP 4xx/5xx with ``{error_code, error_msg}``; the rules below classify them
through the shared pipeline (voiceclone.vendors.errors; docs/vendors/huawei.md, Errors).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx

from voiceclone.domain.errors import VendorAuthError, VendorRejected, VendorUnavailable
from voiceclone.domain.models import Gender, Language, VendorVoice
from voiceclone.vendors.base import (
    DEFAULT_TIMEOUT_SECONDS,
    AudioSource,
    Capabilities,
    TrainingRequest,
    TrainingState,
    TrainingStatus,
    VendorAdapter,
    state_table,
)
from voiceclone.vendors.config import settings_of, timeout_seconds
from voiceclone.vendors.errors import ErrorRules, codes
from voiceclone.vendors.http import Envelope, Reply
from voiceclone.vendors.signing import huawei as signer
from voiceclone.vendors.speech import SynthesisJob, SynthesisRequest, SynthesisState

VENDOR_ID = "huawei"
DEFAULT_ENDPOINT = "https://metastudio.cn-north-4.myhuaweicloud.com"
JSON_TYPE = "application/json"
ZIP_TYPE = "application/zip"
PDF_TYPE = "application/pdf"
AUTHORIZATION_LETTER = "authorization_letter"
# Edition (job_type) -> the last segment of its create path. MIDDLE and THIRD_PARTY are not offered.
EDITIONS: dict[str, str] = {"BASIC": "basic-jobs", "ADVANCE": "advance-jobs"}
DEFAULT_EDITION = "BASIC"
BASIC_SENTENCES = 20
# The name of the one long recording inside an ADVANCE zip (the docs name none).
ADVANCE_WAV_NAME = "audio.wav"
BATCH_PREFIX = "voiceclone-"
_PLAIN_SESSION = re.compile(r"[A-Za-z0-9-]{1,48}")
LIST_LIMIT = 100
# Async TTS (ttsc/async-jobs): formats by our name, speed 100 = natural (50..200), job states.
TTS_FORMATS = {"wav": "WAV", "mp3": "MP3"}
TTS_SPEED_RANGE = (50, 200)
TTS_SUCCEEDED, TTS_FAILED = "SUCCEED", "FAILED"
# The API pages state no limit for `text`: one job takes at most this many characters (our choice).
TTS_TEXT_LIMIT = 1000
_SEXES = {Gender.MALE: "MALE", Gender.FEMALE: "FEMALE"}
_LANGUAGES = {Language.ZH_CN: "CN"}

# States before the commit: the job exists but has no (complete) training data yet.
UNCOMMITTED_STATES = ("CREATING", "UPLOADING")
_PENDING_STATES = (
    *UNCOMMITTED_STATES,
    "SYSTEM_AUDITING",
    "AUDITING",
    "WAITING_SPLIT",
    "SPLITTING",
    "ANNOTATING",
    "WAITING",
)
_FAILED_STATES = ("FAILED", "SPLIT_FAILED")
# SUCCEED counts only with its asset (see _status); AUDIT_FAILED is read apart; others keep polling.
STATES = state_table(pending=_PENDING_STATES, failed=_FAILED_STATES)
AUDIT_FAILED = "AUDIT_FAILED"
SUCCEED = "SUCCEED"
# The API gateway's codes: APIGW.03xx are authentication, but APIGW.0308 is throttling (an exact
# code beats a prefix); MetaStudio's own codes (MSS.*) are classified by the HTTP status.
ERRORS = ErrorRules(
    codes=codes("throttled", "APIGW.0308"),
    prefixes=codes("auth", "APIGW.03"),
    messages={
        "auth": "Huawei refused the credentials: check the huawei access_key, secret_key, project_id",
        "throttled": "rate limited by Huawei",
        "unavailable": "Huawei server error",
    },
)
# Presigned OBS uploads: a refused URL has most likely expired, and a retry fetches fresh ones.
UPLOAD_ERRORS = ErrorRules(codes={"UploadUrlRejected": "unavailable", "UploadRejected": "rejected"})


class MetaStudioEnvelope(Envelope):
    """``{error_code, error_msg}`` with a 4xx/5xx; the request id in ``X-Request-Id``."""

    request_id_headers = ("X-Request-Id",)
    rules = ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        if reply.status < 400 or reply.body is None:
            return None
        body = reply.json_object
        return str(body.get("error_code") or ""), str(body.get("error_msg") or "")

    def gone(self, reply: Reply, code: str) -> bool:
        # The API gateway's own 404 (APIGW.*: no such API, a wrong path) is an error, not a gone job.
        return reply.status == 404 and not code.startswith("APIGW.")


class UploadEnvelope(Envelope):
    """OBS answers uploads with XML; what counts is the status (``context`` names what was uploaded)."""

    rules = UPLOAD_ERRORS

    def error(self, reply: Reply) -> tuple[str, str] | None:
        if reply.ok or reply.status == 429 or reply.status >= 500:
            return None
        detail = f"uploading the {reply.context} answered HTTP {reply.status}: {reply.text[:200]}"
        return ("UploadUrlRejected" if reply.status in (401, 403) else "UploadRejected"), detail

    def payload(self, reply: Reply) -> Any:
        return None


# Keep the audio of a create whose upload or commit failed, so that the retry's find_existing_task
# (same warm process) can finish the job; a cold retry finishes it in create_task instead.
_PENDING_UPLOADS_KEPT = 8


def batch_name(session_id: str) -> str:
    """The job's batch label: the same on every retry of one job, distinct between jobs.

    Session ids are uuid4 hex, kept readable so an operator can find the job in the
    console; anything else is hashed to stay short and URL-safe.
    """
    key = (
        session_id
        if _PLAIN_SESSION.fullmatch(session_id)
        else hashlib.sha256(session_id.encode()).hexdigest()
    )
    return BATCH_PREFIX + key[:48]


def normalise_edition(value: str | None) -> str:
    """BASIC or ADVANCE (case-insensitive; absent means BASIC), else VendorRejected naming the editions."""
    edition = (value or DEFAULT_EDITION).strip().upper()
    if edition not in EDITIONS:
        raise VendorRejected(
            VENDOR_ID,
            "InvalidEdition",
            f"unknown Huawei edition {value!r}: choose one of {', '.join(EDITIONS)} "
            "(BASIC: 20 sentences; ADVANCE: the premium edition, one long recording)",
        )
    return edition


class HuaweiAdapter(VendorAdapter):
    vendor_id = VENDOR_ID
    display_names: ClassVar[Mapping[str, str]] = {"en": "Huawei Cloud MetaStudio", "zh": "华为云MetaStudio"}
    default_endpoint = DEFAULT_ENDPOINT
    # AK/SK sign requests; an IAM token (optional) replaces them, so from_environment checks the pair.
    credential_fields = ("project_id", "access_key", "secret_key")
    optional_fields = ("iam_token",)
    capabilities = Capabilities(
        audio_transport="upload",
        audio_files="per_sentence",
        sentence_count=BASIC_SENTENCES,
        # Any text: a BASIC package pairs each WAV with a .txt of what was read (the take's own text);
        # the edition fixes how many (20), not which sentences (docs/vendors/huawei.md).
        reads_any_text=True,
        # Audit and training take working days: poll every ten minutes, at most hourly.
        poll_initial_seconds=600,
        poll_max_seconds=3600,
        options=("edition",),
        option_choices={"edition": tuple(EDITIONS)},
        documents=(AUTHORIZATION_LETTER,),
        # DELETE …/user/jobs/{job_id} deletes a job; with no cancel action, deleting the job is
        # the only way offered to stop a training (cancel_task). The training API has no rename.
        delete_voice=True,
        cancel_task=True,
        # Speech: async TTS jobs (POST ttsc/async-jobs with voice_asset_id = the asset), polled every
        # few seconds; audio_format WAV or MP3, speed 50..200 (docs/vendors/huawei.md, Operations).
        # No sample rate is chosen by the API: the file says its own (the sandbox's is 16 kHz).
        speech="async",
        speech_formats=tuple(TTS_FORMATS),
        speech_sample_rates=(16000,),
        speech_text_limit=TTS_TEXT_LIMIT,
        speech_speeds=(TTS_SPEED_RANGE[0] / 100, TTS_SPEED_RANGE[1] / 100),
        speech_concurrency=4,
        speech_poll_seconds=3,
        speech_poll_max_seconds=30,
        speech_note="Huawei MetaStudio synthesizes asynchronously (ttsc async jobs with the voice asset): "
        "POST /v1/voices/{id}/speech answers 202 and the speech workflow finishes it",
    )
    envelope = MetaStudioEnvelope()
    training_states = STATES

    def __init__(
        self,
        endpoint: str,
        project_id: str,
        access_key: str,
        secret_key: str,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        upload_timeout_seconds: float = 300.0,
        transport: httpx.BaseTransport | None = None,
        iam_token: str = "",
    ) -> None:
        super().__init__(endpoint, timeout_seconds=timeout_seconds, transport=transport)
        self.project_id = project_id
        self._access_key = access_key
        self._secret_key = secret_key
        self._iam_token = iam_token
        self._base = f"/v1/{quote(project_id, safe='')}/voice-training-manage"
        self._tts_base = f"/v1/{quote(project_id, safe='')}/ttsc"
        # Presigned URLs are absolute: an empty base URL sends them as they are.
        upload_timeout = max(upload_timeout_seconds, timeout_seconds)
        self._uploads = self.connect("", upload_timeout, transport, envelope=UploadEnvelope())
        self._pending: OrderedDict[str, AudioSource] = OrderedDict()
        self._pending_lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> Self:
        """AK/SK signing, or an IAM token when ``VOICECLONE_HUAWEI_IAM_TOKEN`` (or ``iam_token``) is set."""
        conf = settings_of(cls, optional=("access_key", "secret_key"))
        if not conf["iam_token"] and not (conf["access_key"] and conf["secret_key"]):
            raise VendorAuthError(VENDOR_ID, "MissingConfiguration", "set the AK/SK or an IAM token")
        return cls(
            conf["endpoint"],
            conf["project_id"],
            conf["access_key"],
            conf["secret_key"],
            timeout_seconds=timeout_seconds(),
            iam_token=conf["iam_token"],
        )

    # ----- transport -------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: Sequence[tuple[str, str]] = (),
        *,
        gone_ok: bool = False,
        base: str | None = None,
    ) -> dict[str, Any]:
        """One signed API request (path after ``/v1/{project_id}/voice-training-manage``, or after
        ``base``); the JSON answer.

        With ``gone_ok`` a 404 for the resource answers ``{}`` instead of raising; the API
        gateway's own 404 (``APIGW.*``: no such API, a wrong path) is still an error.
        """
        full_path = (self._base if base is None else base) + path
        headers = {
            "Host": self.host,
            "Content-Type": JSON_TYPE,
            signer.PROJECT_HEADER: self.project_id,
        }

        def sign(content: bytes) -> dict[str, str]:
            # Sign exactly the bytes sent, right before sending (docs/vendors/huawei.md, Authentication).
            signed = {**headers, signer.DATE_HEADER: signer.sdk_date()}
            if self._iam_token:
                # The alternative to AK/SK: an IAM user token (from IAM's token API) instead of a signature.
                return {**signed, "X-Auth-Token": self._iam_token}
            authorization = signer.sign(
                access_key=self._access_key,
                secret_key=self._secret_key,
                method=method,
                path=full_path,
                query=query,
                headers=signed,
                body=content,
            )
            return {**signed, "Authorization": authorization}

        # The query goes out encoded exactly as it was signed.
        target = full_path + ("?" + signer.canonical_query(query) if query else "")
        data = self._http.call(method, target, json_body=body, headers=headers, sign=sign, gone_ok=gone_ok)
        return data if isinstance(data, dict) else {}

    # ----- speech: async TTS jobs -------------------------------------------------------------

    def start_synthesis(self, voice: VendorVoice, request: SynthesisRequest, *, tag: str) -> SynthesisJob:
        """POST ttsc/async-jobs: the voice asset speaks ``request.text``; polled, or called back."""

        audio_format = TTS_FORMATS.get(request.format)
        speed = round(request.speed * 100)
        if audio_format is None or not TTS_SPEED_RANGE[0] <= speed <= TTS_SPEED_RANGE[1]:
            raise VendorRejected(
                VENDOR_ID, "UnsupportedOutput", "MetaStudio speaks WAV or MP3 at 0.5x to 2x speed"
            )
        asset_id = str(voice.details.get("asset_id") or voice.voice_id)
        body: dict[str, Any] = {
            "text": request.text,
            "voice_asset_id": asset_id,
            "audio_format": audio_format,
            "speed": speed,
        }
        if request.callback_url:
            # Huawei POSTs {status, job_id, ...} there, unsigned: the callback re-queries the job.
            body["callback_config"] = {"callback_url": request.callback_url}
        data = self.call("POST", "/async-jobs", body, base=self._tts_base)
        job_id = str(data.get("job_id") or "")
        if not job_id:
            raise VendorUnavailable(VENDOR_ID, "NoJobId", "Huawei accepted the TTS job without a job_id")
        return SynthesisJob(job_id=job_id)

    def get_synthesis(self, job_id: str) -> SynthesisJob:
        """GET ttsc/async-jobs/{job_id}: state, and on SUCCEED the audio file's URL (valid one hour)."""

        data = self.call("GET", f"/async-jobs/{quote(job_id, safe='')}", base=self._tts_base)
        state = str(data.get("state") or "")
        job = SynthesisJob(job_id=job_id, vendor_state=state)
        if state == TTS_SUCCEEDED:
            url = str(data.get("audio_file_url") or "")
            if url:
                return job.model_copy(update={"state": SynthesisState.SUCCEEDED, "audio_url": url})
            return job.model_copy(
                update={
                    "state": SynthesisState.FAILED,
                    "error_code": "NoAudioUrl",
                    "error_message": "the TTS job SUCCEED without an audio_file_url",
                }
            )
        if state == TTS_FAILED:
            return job.model_copy(
                update={
                    "state": SynthesisState.FAILED,
                    "error_code": str(data.get("code") or "SynthesisFailed"),
                    "error_message": str(data.get("message") or "Huawei ended the TTS job FAILED"),
                }
            )
        return job

    def parse_synthesis_callback(self, body: bytes) -> str:
        """The TTS job's callback ``{status: FINISHED|ERROR|WAITING, job_id, ...}``: its job_id.

        Unsigned, so only the job id is taken; GET ttsc/async-jobs/{job_id} says how it stands.
        """
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body is not JSON") from exc
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not isinstance(job_id, str) or not job_id:
            raise VendorRejected(VENDOR_ID, "BadCallback", "callback body has no job_id")
        return job_id

    def _upload(self, url: str, content: bytes, content_type: str, what: str) -> None:
        """PUT to a presigned OBS URL: only the documented Content-Type, never our signature headers."""
        if not url:
            raise VendorUnavailable(VENDOR_ID, "NoUploadUrl", f"Huawei gave no upload URL for the {what}")
        self._uploads.call("PUT", url, content=content, headers={"Content-Type": content_type}, context=what)

    # ----- options and packages --------------------------------------------------------------

    def prepare_options(self, request: TrainingRequest) -> dict[str, str]:
        return {
            "edition": normalise_edition(request.options.get("edition")),
            "batch_name": batch_name(request.session_id),
        }

    def _options(self, request: TrainingRequest) -> tuple[str, str]:
        """(edition, batch_name), also when the workflow did not prepare them (they are deterministic)."""
        edition = normalise_edition(request.options.get("edition"))
        return edition, request.options.get("batch_name") or batch_name(request.session_id)

    def _text(self, text_id: str, text: str) -> str:
        if text.strip():
            return text
        script = {t.text_id: t.text for t in self.training_texts()}
        if not script.get(text_id):
            raise VendorRejected(
                VENDOR_ID, "MissingText", f"sentence {text_id} has no text for its .txt file"
            )
        return script[text_id]

    def build_package(self, request: TrainingRequest, audio: AudioSource) -> bytes:
        """The training zip: BASIC ``0.wav…19.wav`` + ``0.txt…19.txt`` (UTF-8), ADVANCE one long WAV."""
        edition, _ = self._options(request)
        buffer = io.BytesIO()
        # Stored, not deflated: WAV barely compresses and any unzip reads stored members.
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as package:
            if edition == "ADVANCE":
                package.writestr(ADVANCE_WAV_NAME, audio.assembled_wav())
            else:
                if len(request.sentences) != BASIC_SENTENCES:
                    raise VendorRejected(
                        VENDOR_ID,
                        "SentenceCount",
                        f"the BASIC edition needs exactly {BASIC_SENTENCES} sentences, "
                        f"the job has {len(request.sentences)}",
                    )
                for index, sentence in enumerate(request.sentences):
                    package.writestr(f"{index}.wav", audio.sentence_audio(sentence.text_id))
                    package.writestr(
                        f"{index}.txt", self._text(sentence.text_id, sentence.text).encode("utf-8")
                    )
        return buffer.getvalue()

    @staticmethod
    def _letter(audio: AudioSource) -> bytes:
        letter = audio.document(AUTHORIZATION_LETTER)
        if not letter:
            raise VendorRejected(
                VENDOR_ID,
                "MissingAuthorizationLetter",
                "Huawei needs the signed authorization letter (PDF): upload it with the job",
            )
        return letter

    # ----- operations ------------------------------------------------------------------------

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        """Create the job, upload its zip and letter, commit it; the job id.

        A job this request's batch already made is reused (and finished when it was
        never committed), so no retry ever pays for a second training resource.
        """
        edition, batch = self._options(request)
        # Build everything first: a request that cannot be served must not allocate a job.
        package = self.build_package(request, audio)
        letter = self._letter(audio)
        existing = self._find_job(batch)
        if existing is not None:
            job_id = str(existing["job_id"])
            if existing.get("state") in UNCOMMITTED_STATES:
                self._resume(job_id, package, letter)
            return job_id
        body = {
            "voice_name": request.voice_name,
            "sex": _SEXES[request.gender],
            "language": _LANGUAGES.get(request.language, "CN"),
            "create_type": "PACKAGE",
            "batch_name": batch,
        }
        self._remember(batch, audio)
        data = self.call("POST", f"/user/{EDITIONS[edition]}", body)
        job_id = str(data.get("job_id") or "")
        if not job_id:
            raise VendorUnavailable(VENDOR_ID, "NoJobId", "the create answered without a job_id")
        self._upload(str(data.get("training_data_uploading_url") or ""), package, ZIP_TYPE, "training data")
        self._upload(
            str(data.get("authorization_letter_uploading_url") or ""),
            letter,
            PDF_TYPE,
            "authorization letter",
        )
        self._commit(job_id)
        self._forget(batch)
        return job_id

    def resubmit(self, task_id: str, request: TrainingRequest, audio: AudioSource) -> None:
        """After AUDIT_FAILED: upload the package again with the re-recorded sentences, and commit."""
        self._resume(task_id, self.build_package(request, audio), self._letter(audio))

    def _resume(self, job_id: str, package: bytes, letter: bytes) -> None:
        """Finish a job an earlier attempt created: fresh upload URLs, upload, commit."""
        urls = self.call("GET", f"/user/jobs/{quote(job_id, safe='')}/uploading-address-url")
        package_url = (urls.get("package_url") or {}).get("training_data_uploading_url") or ""
        self._upload(str(package_url), package, ZIP_TYPE, "training data")
        self._upload(
            str(urls.get("authorization_letter_uploading_url") or ""),
            letter,
            PDF_TYPE,
            "authorization letter",
        )
        self._commit(job_id)

    def _commit(self, job_id: str) -> None:
        self.call("POST", f"/user/jobs/{quote(job_id, safe='')}", {})

    def _remember(self, batch: str, audio: AudioSource) -> None:
        with self._pending_lock:
            self._pending[batch] = audio
            self._pending.move_to_end(batch)
            while len(self._pending) > _PENDING_UPLOADS_KEPT:
                self._pending.popitem(last=False)

    def _forget(self, batch: str) -> None:
        with self._pending_lock:
            self._pending.pop(batch, None)

    def find_existing_task(self, request: TrainingRequest) -> str | None:
        """The job an earlier create for this request's batch made, committed; None if there is none.

        A job that was created but never committed (its create answer was lost, or the
        upload failed) is finished here with the audio that create was given, when this
        process still holds it. Otherwise None: the create_task that follows finds the
        same job by its batch name and finishes it, so it still never makes a second one.
        """
        _, batch = self._options(request)
        job = self._find_job(batch)
        if job is None:
            return None
        job_id = str(job["job_id"])
        if job.get("state") not in UNCOMMITTED_STATES:
            return job_id
        with self._pending_lock:
            audio = self._pending.get(batch)
        if audio is None:
            return None
        self._resume(job_id, self.build_package(request, audio), self._letter(audio))
        self._forget(batch)
        return job_id

    def release_strays(self, task_id: str) -> list[str]:
        """Delete the other jobs of ``task_id``'s batch: creates Huawei performed after our timeout.

        Each would be audited, trained and billed beside the job's own. A stray that cannot be
        deleted now (Huawei's error) is left for the next call, which finds it again.
        """
        job = self.call("GET", f"/user/jobs/{quote(task_id, safe='')}")
        batch = str(job.get("batch_name") or "")
        if not batch:
            return []
        strays = [
            str(j["job_id"])
            for j in self._list_jobs(("batch_name", batch))
            if j.get("batch_name") == batch and j.get("job_id") and str(j["job_id"]) != task_id
        ]
        for stray in strays:
            self._delete_job(stray)
        return strays

    def _find_job(self, batch: str) -> dict[str, Any] | None:
        """This batch's job: a committed one first (it is the one training), else the newest uncommitted."""
        jobs = self._list_jobs(("batch_name", batch))
        # Only an exact batch match: a job of another request must never be taken for this one's.
        mine = [j for j in jobs if j.get("batch_name") == batch and j.get("job_id")]
        mine.sort(key=lambda j: (j.get("state") not in UNCOMMITTED_STATES, int(j.get("create_time") or 0)))
        return mine[-1] if mine else None

    def _list_jobs(self, *filters: tuple[str, str]) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.call(
                "GET", "/user/jobs", query=[*filters, ("limit", str(LIST_LIMIT)), ("offset", str(offset))]
            )
            batch = [j for j in page.get("jobs") or [] if isinstance(j, dict)]
            jobs.extend(batch)
            offset += len(batch)
            if not batch or offset >= int(page.get("count") or 0):
                return jobs

    def get_status(self, task_id: str) -> TrainingStatus:
        job = self.call("GET", f"/user/jobs/{quote(task_id, safe='')}")
        return self._status(task_id, job)

    def _status(self, task_id: str, job: dict[str, Any]) -> TrainingStatus:
        """The job's state in the shared terms.

        AUDIT_FAILED is recoverable at Huawei (re-upload and commit again): it is reported
        as FAILED with the audit's reasons and, for the files that name a sentence
        (BASIC ``i.wav``/``i.txt``), ``rejected_items``, so the job asks the client to
        record those again and ``resubmit`` sends them to this same job.
        """
        state = str(job.get("state") or "")
        asset_id = str(job.get("asset_id") or "")
        if state == SUCCEED and asset_id:
            voice = self.voice(asset_id, asset_id=asset_id, job_id=task_id)
            return TrainingStatus(
                task_id=task_id, state=TrainingState.SUCCEEDED, vendor_state=state, voice=voice
            )
        if state in _FAILED_STATES:
            return TrainingStatus(
                task_id=task_id,
                state=TrainingState.FAILED,
                vendor_state=state,
                error_code=str(job.get("job_failed_code") or state),
                error_message=str(job.get("job_failed_reason") or f"Huawei reports the job {state}"),
            )
        if state == AUDIT_FAILED:
            findings = self._audit_findings(task_id)
            return TrainingStatus(
                task_id=task_id,
                state=TrainingState.FAILED,
                vendor_state=state,
                error_code=AUDIT_FAILED,
                error_message=self._describe(findings),
                rejected_items=self._rejected_sentences(findings),
            )
        # SUCCEED without an asset yet is still finishing; unknown states keep being polled.
        return self.status_of(task_id, state)

    def audit_reasons(self, job_id: str) -> str:
        """The audit's findings in one message, file by file, for the speaker to act on."""
        return self._describe(self._audit_findings(job_id))

    def _audit_findings(self, job_id: str) -> list[tuple[str, str]]:
        """(file name, reason) per audit finding; the reviewer's message under the name "reviewer"."""
        result = self.call("GET", f"/user/jobs/{quote(job_id, safe='')}/audit-result")
        findings: list[tuple[str, str]] = []
        system = result.get("system_audit_result") or {}
        for error in system.get("errors") or []:
            name = error.get("audio_name") or error.get("text_name") or "the upload"
            code = error.get("error_code") or ""
            text = error.get("error_message") or "rejected"
            findings.append((str(name), f"{text}" + (f" ({code})" if code else "")))
        admin = (result.get("admin_audit_result") or {}).get("message")
        if admin:
            findings.append(("reviewer", str(admin)))
        return findings

    @staticmethod
    def _rejected_sentences(findings: list[tuple[str, str]]) -> dict[int, str]:
        """BASIC packages name sentence i ``i.wav`` / ``i.txt``: those findings point at one sentence."""
        rejected: dict[int, str] = {}
        for name, reason in findings:
            stem, _, ext = name.rpartition(".")
            if ext in ("wav", "txt") and stem.isdigit():
                rejected[int(stem)] = reason
        return rejected

    @staticmethod
    def _describe(findings: list[tuple[str, str]]) -> str:
        reasons = [f"{name}: {reason}" for name, reason in findings]
        return "the audit failed: " + ("; ".join(reasons) if reasons else "Huawei gave no reason")

    def list_voices(self) -> list[VendorVoice]:
        """Voices of the jobs that succeeded; the voice id is the asset id TTS takes."""
        return [
            self.voice(
                str(job["asset_id"]),
                asset_id=str(job["asset_id"]),
                job_id=str(job.get("job_id") or ""),
                voice_name=str(job.get("voice_name") or ""),
                edition=str(job.get("job_type") or ""),
            )
            for job in self._list_jobs(("state", SUCCEED))
            if job.get("state", SUCCEED) == SUCCEED and job.get("asset_id")
        ]

    # rename_voice: the training API has no rename (the voice asset is managed by MetaStudio's asset
    # APIs, not used here): the base class refuses it.

    def delete_voice(self, voice: VendorVoice) -> None:
        """Delete the voice's training job: ``DELETE …/user/jobs/{job_id}``.

        ``voice.voice_id`` is the asset id TTS takes, not the job's id: the job id is read
        from ``voice.details["job_id"]`` (get_status and list_voices put it there). A voice
        without one is looked up among the succeeded jobs by its asset id; when no job has
        that asset it is taken as already deleted. A job already gone (404) counts as done.
        The voice asset itself is managed by Huawei's asset APIs (docs/vendors/huawei.md, Operations).
        """
        job_id = str(voice.details.get("job_id") or "")
        if not job_id:
            job_id = next(
                (
                    str(job["job_id"])
                    for job in self._list_jobs(("state", SUCCEED))
                    if str(job.get("asset_id") or "") == voice.voice_id and job.get("job_id")
                ),
                "",
            )
            if not job_id:
                return
        self._delete_job(job_id)

    def cancel_task(self, task_id: str) -> None:
        """Stop a training by deleting its job (``task_id`` is the job id create_task returned).

        MetaStudio has no cancel action; ``DELETE …/user/jobs/{job_id}`` removes the job.
        Huawei's docs and SDK (docs/vendors/huawei.md, Unverified) say nothing about whether a job may be
        deleted while it is being audited or trained, nor whether that stops the training
        or releases its resource: should Huawei refuse, its error is raised as it came
        (VendorRejected with Huawei's code). A job already gone (404) counts as cancelled.
        """
        self._delete_job(task_id)

    def _delete_job(self, job_id: str) -> None:
        """DELETE the job; one already gone (a retry whose first answer was lost) is done."""
        self.call("DELETE", f"/user/jobs/{quote(job_id, safe='')}", gone_ok=True)
