"""Jobs, sentences and voices, and the one place that says which status may follow which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field

from voiceclone.domain.audio import AudioMeasurements
from voiceclone.domain.base import BaseModel
from voiceclone.domain.consent import ConsentTerms
from voiceclone.domain.errors import InvalidTransition


class Clock:
    """The time every record's timestamps and deadlines are taken from: the system's, in UTC.

    ``ahead`` stays zero in AWS. The local stack moves it forward (LocalStack.advance_clock) so that
    a job's expiry, days away, comes at once: the functions and its scheduler read this same clock.
    """

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(tz=UTC) + self.ahead


CLOCK = Clock()


def utcnow() -> datetime:
    return CLOCK.now()


class JobStatus(StrEnum):
    AWAITING_AUDIO = "AWAITING_AUDIO"
    CHECKING = "CHECKING"
    CHECK_FAILED = "CHECK_FAILED"
    TRAINING = "TRAINING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # The recordings did not arrive in time (voiceclone.logic.training.expiry): the job is closed, they
    # are deleted.
    EXPIRED = "EXPIRED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED})
# The statuses in which a job takes recordings and documents; an upload at any other time (being
# checked, training, or ended in any way, EXPIRED included once it exists) is never recorded.
UPLOAD_STATUSES = frozenset({JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED})

# The job lifecycle. Every status change goes through `check_transition`; the
# store turns it into a conditional write so a racing writer cannot skip a step.
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.AWAITING_AUDIO: frozenset(
        {JobStatus.CHECKING, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
    ),
    JobStatus.CHECKING: frozenset(
        {JobStatus.TRAINING, JobStatus.CHECK_FAILED, JobStatus.FAILED, JobStatus.CANCELLED}
    ),
    # A client re-records the rejected sentences and the job is checked again.
    JobStatus.CHECK_FAILED: frozenset(
        {JobStatus.CHECKING, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
    ),
    # ...or back to CHECK_FAILED when the vendor rejects recordings after training began (Huawei's audit).
    JobStatus.TRAINING: frozenset(
        {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.CHECK_FAILED}
    ),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
    JobStatus.EXPIRED: frozenset(),
}


def check_transition(current: JobStatus, new: JobStatus) -> None:
    if new not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransition(
            "InvalidTransition", f"a job in {current.value} cannot move to {new.value}", current=current.value
        )


class SentenceStatus(StrEnum):
    PENDING_UPLOAD = "PENDING_UPLOAD"
    UPLOADED = "UPLOADED"
    PASSED = "PASSED"
    REJECTED = "REJECTED"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Language(StrEnum):
    ZH_CN = "zh-CN"


class SentenceCheck(BaseModel):
    """Why a sentence passed or not, in words a speaker can act on."""

    passed: bool
    code: str = ""
    message: str = ""
    tips: list[str] = Field(default_factory=list)
    source: str = ""  # "local" (our own audio inspection) or the vendor id
    vendor_audio_id: str | None = None
    # Measured on the converted, trimmed audio the vendor gets (None when the file could not be read).
    measurements: AudioMeasurements | None = None


class Sentence(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    job_id: str
    tenant_id: str
    text_id: str
    text: str
    s3_key: str
    status: SentenceStatus = SentenceStatus.PENDING_UPLOAD
    upload_etag: str | None = None
    upload_size: int | None = None
    uploaded_at: datetime | None = None
    check: SentenceCheck | None = None
    checked_at: datetime | None = None
    check_count: int = 0
    version: int = 0


class JobError(BaseModel):
    """What went wrong, with the vendor's own code and message where there is one."""

    error: str
    code: str = ""
    message: str = ""
    vendor: str | None = None


class VendorErrorInfo(BaseModel):
    """A vendor error the workflow waited out (throttling, an outage).

    It is shown on the job until the vendor answers again.
    """

    error: str = Field(description="The error class, e.g. VendorUnavailable or VendorThrottled")
    code: str = Field(default="", description="The vendor's own error code")
    message: str = ""
    at: datetime = Field(default_factory=utcnow, description="When the vendor answered so")


class VendorVoice(BaseModel):
    """What a speech-synthesis call at the vendor needs to use the cloned voice."""

    vendor: str
    voice_id: str
    details: dict[str, Any] = Field(default_factory=dict)

    def tts(self) -> dict[str, Any]:
        """What the API shows a client for its TTS call: the vendor's voice id and the details."""
        return {"vendor_voice_id": self.voice_id, **self.details}


class Job(BaseModel):
    job_id: str
    tenant_id: str
    vendor: str
    voice_name: str
    language: Language
    gender: Gender
    # Whose voice it is, and the consent they give (voiceclone.domain.consent); a job made before
    # consent existed has none, and the workflow creates no vendor task for it.
    speaker_name: str = ""
    consent: ConsentTerms | None = None
    status: JobStatus = JobStatus.AWAITING_AUDIO
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sentence_count: int = 0
    vendor_task_id: str | None = None
    vendor_status: str | None = None
    execution_name: str | None = None
    # The per-job secret in the vendor's callback URL. Kept so a retried SubmitTraining sends the
    # same URL; never returned by the API and never logged.
    callback_token: str | None = None
    # Stable across retries of SubmitTraining, so a repeated create can be recognised.
    session_id: str | None = None
    # Vendor options: the client's (POST /v1/jobs "options") and the adapter's one-time choices.
    vendor_options: dict[str, str] = Field(default_factory=dict)
    options_prepared: bool = False
    # Creates started at the vendor; above zero, a retry first looks for the earlier task.
    create_attempts: int = 0
    # How often the checks rejected sentences: names the execution that checks the re-recordings.
    check_failures: int = 0
    # Documents the vendor requires (Capabilities.documents): name -> ETag of the upload, "" until uploaded.
    documents: dict[str, str] = Field(default_factory=dict)
    # The Step Functions task token while the workflow waits for the vendor's callback.
    task_token: str | None = None
    callback_received_at: datetime | None = None
    # The vendor's confirmed result, recorded by the callback or the poller, used by Finalize.
    vendor_voice: VendorVoice | None = None
    voice_id: str | None = None
    error: JobError | None = None
    # The vendor's last retryable error while the workflow keeps asking (cleared when it answers again).
    last_vendor_error: VendorErrorInfo | None = None
    # Where the job's events are POSTed as signed webhooks (docs/events.md); None: no webhooks.
    notify_url: str | None = None
    # What the service could not do at the vendor, in words (e.g. a cancel the vendor's API lacks).
    note: str | None = None
    # While the job waits for recordings: when it ends EXPIRED without them
    # (voiceclone.logic.training.expiry); the API shows it as expires_at. Not named so here:
    # `expires_at` is the table's TTL attribute.
    deadline_at: datetime | None = None
    # The comparison this job is one vendor of (its takes come from the comparison's uploads).
    comparison_id: str | None = None
    version: int = 0


class VoiceState(StrEnum):
    READY = "READY"
    DELETED = "DELETED"


class Voice(BaseModel):
    voice_id: str
    tenant_id: str
    job_id: str
    vendor: str
    name: str
    language: Language
    gender: Gender
    state: VoiceState = VoiceState.READY
    vendor_voice: VendorVoice
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None
    # What happened at the vendor on the last rename or delete, when it is not the obvious.
    note: str | None = None
    # The job's notify_url: where the voice's Voice Deleted event is POSTed (docs/events.md).
    notify_url: str | None = None
    version: int = 0


class TrainingText(BaseModel):
    text_id: str
    text: str


class SpeechStatus(StrEnum):
    # An asynchronous vendor is making it (the speech workflow); it ends SUCCEEDED or FAILED.
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self is not SpeechStatus.RUNNING


# The media type of each speech format as it is served (the stored object, the API's audio answer),
# and the format each accepted audio media type asks for.
SPEECH_CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "pcm": "application/octet-stream"}
FORMAT_OF_MEDIA_TYPE = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3"}


class SpeechLabels(BaseModel):
    """What the speech's file was labelled with before it was stored (voiceclone.provenance, docs/labels.md).

    A record of what was written, kept with the speech; what a file carries now is for
    POST /v1/provenance to say (a copy may have been stripped or altered since).
    """

    explicit_label: bool = Field(
        description="The audible AI rhythm (GB 45438 short-long-short-short) is at the start of the audio"
    )
    aigc: str = Field(description="The GB 45438 implicit label (Annex E JSON), as written")
    aigc_in_file: bool = Field(
        description="The AIGC label is in the file's metadata; false for raw PCM, where it travels beside "
        "the audio as the stored object's metadata (x-amz-meta-aigc on the audio_url GET)"
    )
    c2pa: bool = Field(description="A C2PA manifest, signed with the operator's KMS key, is in the file")


class Speech(BaseModel):
    """Audio spoken with a cloned voice (POST /v1/voices/{voice_id}/speech), stored in S3 at `s3_key`."""

    speech_id: str
    tenant_id: str
    voice_id: str
    vendor: str
    characters: int
    format: str
    sample_rate: int
    speed: float = 1.0
    duration_seconds: float = 0.0
    s3_key: str = ""
    # How many vendor calls the text took (split at the vendor's limit), and the vendor's request ids.
    vendor_calls: int = 1
    vendor_request_id: str = ""
    status: SpeechStatus = SpeechStatus.SUCCEEDED
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 0
    # When it ended (async vendors: the workflow's last step), and why it failed (vendor code kept).
    updated_at: datetime | None = None
    error: JobError | None = None
    # Where its Speech Succeeded / Speech Failed events are POSTed (docs/events.md).
    notify_url: str | None = None
    # Async vendors: the vendor's job of each piece of the text, in order ("" not started yet).
    vendor_jobs: list[str] = Field(default_factory=list)
    # Async vendors: the secret in the callback URL each vendor job is given
    # (voiceclone.logic.speech.callbacks), the task token AwaitSpeechCallback parked, and a
    # confirmed callback that came while none was parked (the next await resumes at once).
    callback_token: str | None = None
    task_token: str | None = None
    callback_pending: bool = False
    # The labels its file was given (None until the audio is stored).
    labels: SpeechLabels | None = None


class TenantSettings(BaseModel):
    """A tenant's own settings (``TENANT#<tenant_id>``/``SETTINGS``), and the operator's policy for it.

    The tenant sets ``organisation_name`` (PATCH /v1/settings), the name its speakers' consent
    statements give; the operator alone (``voiceclone admin tenant``) decides whether the tenant may
    name a consent document kept elsewhere instead of having the speaker read the statement.
    """

    tenant_id: str
    organisation_name: str = ""
    document_consent_allowed: bool = False
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0
