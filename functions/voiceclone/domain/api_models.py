"""What the REST API takes and returns: the public shape of jobs, kept apart from the stored records."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from voiceclone.domain.audio import AudioMeasurements
from voiceclone.domain.base import BaseModel
from voiceclone.domain.comparison import Comparison, ComparisonStatus, ComparisonVendor
from voiceclone.domain.consent import (
    CONSENT_TEXT_ID,
    ConsentChecks,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ConsentTerms,
    Requester,
    StatementLanguage,
)
from voiceclone.domain.models import (
    Gender,
    Job,
    JobError,
    JobStatus,
    Language,
    Sentence,
    SentenceCheck,
    SentenceStatus,
    Speech,
    SpeechLabels,
    SpeechStatus,
    TenantSettings,
    TrainingText,
    VendorErrorInfo,
    Voice,
    VoiceState,
)
from voiceclone.domain.text import UNREADABLE_MESSAGE, readable


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


# Where a job's events are POSTed (signed webhooks, docs/events.md).
NotifyUrl = Annotated[
    str,
    Field(min_length=1, max_length=2048, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"),
    AfterValidator(_http_url),
]


# Characters a name must not hold: they move a terminal's cursor, recolour or clear it, reorder the
# text around them (bidi overrides) or break lines where the name is shown. Category Cc is the C0
# and C1 controls (ESC starts an ANSI sequence), Cs lone surrogates (not text at all), Zl/Zp line
# and paragraph separators.
UNSAFE_CATEGORIES = frozenset(("Cc", "Cs", "Zl", "Zp"))
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_characters(value: str) -> list[str]:
    """The characters of `value` that must not reach a terminal or a log raw, as U+XXXX."""
    found = {c for c in value if c in BIDI_CONTROLS or unicodedata.category(c) in UNSAFE_CATEGORIES}
    return [f"U+{ord(c):04X}" for c in sorted(found)]


def _display_name(value: str) -> str:
    unsafe = unsafe_characters(value)
    if unsafe:
        raise ValueError(
            "must not hold control characters, line separators or bidi overrides; found " + ", ".join(unsafe)
        )
    return value


# The same rule as a JSON-schema pattern, for the OpenAPI document (and clients generated from it);
# _display_name enforces it, with a message that names the characters found.
DISPLAY_NAME_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]*$"

# A name people read: a voice's display name. The vendor may allow fewer characters (Capabilities).
DisplayName = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": DISPLAY_NAME_PATTERN}),
    AfterValidator(_display_name),
]


class RequestModel(BaseModel):
    """A request body: a field the model does not have is an error, as an unknown query parameter is."""

    model_config = ConfigDict(extra="forbid")


# A reference to a consent document kept elsewhere (a signed form's number, a file in the tenant's
# records): text people read, like a name, a little longer.
DocumentReference = Annotated[
    str,
    Field(min_length=1, max_length=256, json_schema_extra={"pattern": DISPLAY_NAME_PATTERN}),
    AfterValidator(_display_name),
]


class CreateJobRequest(RequestModel):
    vendor: str = Field(description="Vendor id, e.g. tencent_vrs", examples=["tencent_vrs"], max_length=32)
    voice_name: DisplayName = Field(description="A display name for the voice")
    speaker_name: DisplayName = Field(
        description="The person whose voice is cloned, as the consent statement they read names them",
        examples=["Li Hua"],
    )
    consent_document: DocumentReference | None = Field(
        None,
        description="Only where the operator allows it for the tenant: a reference to the speaker's "
        "signed consent kept elsewhere (a paper form), recorded instead of a spoken statement",
    )
    language: Language = Language.ZH_CN
    gender: Gender
    options: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=dict,
        max_length=32,
        description="Vendor-specific options, e.g. volcengine's speaker_id (a slot bought in its console)",
    )
    notify_url: NotifyUrl | None = Field(
        None,
        description="An http(s) URL that receives each status change of the job as a signed POST "
        "(docs/events.md); https is strongly recommended",
        examples=["https://example.com/hooks/voiceclone"],
    )


class UploadTarget(BaseModel):
    """A presigned S3 POST: send the file as multipart/form-data with `fields` first, then `file`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int
    content_type: str = "audio/wav"


class SentenceView(BaseModel):
    text_id: str
    text: str
    status: SentenceStatus
    check: SentenceCheck | None = None
    upload: UploadTarget | None = None


class DocumentView(BaseModel):
    name: str
    uploaded: bool
    upload: UploadTarget | None = None


class ConsentTermsView(BaseModel):
    """The consent a job asks for: the statement the speaker reads (the sentence `consent`), or a document."""

    kind: ConsentKind
    language: StatementLanguage = Field(description="The statement's language: the vendor script's")
    speaker_name: str
    organisation_name: str
    statement: str = Field("", description="What the speaker reads and records as the sentence `consent`")
    phrase: str = Field("", description="The statement's one-time phrase, issued to this job alone")
    document_reference: str = Field("", description="The consent document named instead (kind document)")

    @classmethod
    def of(cls, terms: ConsentTerms) -> ConsentTermsView:
        return cls(
            kind=terms.kind,
            language=terms.language,
            speaker_name=terms.speaker_name,
            organisation_name=terms.organisation_name,
            statement=terms.statement,
            phrase=terms.phrase,
            document_reference=terms.document_reference,
        )


class JobView(BaseModel):
    job_id: str
    vendor: str
    voice_name: str
    language: Language
    gender: Gender
    speaker_name: str = ""
    consent: ConsentTermsView | None = Field(
        None, description="The speaker's consent this job asks for (none on a job made before consent)"
    )
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    vendor_task_id: str | None = None
    voice_id: str | None = None
    voice: dict[str, Any] | None = Field(None, description="What a TTS call at the vendor needs")
    error: JobError | None = None
    last_vendor_error: VendorErrorInfo | None = Field(
        None,
        description=(
            "While training: the vendor's last throttling or outage error, which the service waits out"
        ),
    )
    notify_url: str | None = Field(None, description="Where the job's events are POSTed")
    note: str | None = Field(None, description="What the service could not do at the vendor, e.g. on cancel")
    expires_at: datetime | None = Field(
        None,
        description="While the job waits for recordings (AWAITING_AUDIO, CHECK_FAILED): when it ends EXPIRED "
        "without them",
    )
    sentences: list[SentenceView] = Field(default_factory=list)
    documents: list[DocumentView] = Field(default_factory=list, description="Documents the vendor requires")
    checks_done: int = 0
    checks_total: int = 0
    comparison_id: str | None = Field(
        None, description="The comparison this job is one vendor of (GET /v1/comparisons/{id})"
    )

    @classmethod
    def of(
        cls,
        job: Job,
        sentences: list[Sentence],
        uploads: dict[str, UploadTarget] | None = None,
        documents: dict[str, UploadTarget] | None = None,
    ) -> JobView:
        uploads, documents = uploads or {}, documents or {}
        return cls(
            job_id=job.job_id,
            vendor=job.vendor,
            voice_name=job.voice_name,
            language=job.language,
            gender=job.gender,
            speaker_name=job.speaker_name,
            consent=ConsentTermsView.of(job.consent) if job.consent else None,
            status=job.status,
            created_at=job.created_at,
            updated_at=job.updated_at,
            vendor_task_id=job.vendor_task_id,
            voice_id=job.voice_id,
            voice=(
                job.vendor_voice.tts() if job.vendor_voice and job.status is JobStatus.SUCCEEDED else None
            ),
            error=job.error,
            last_vendor_error=job.last_vendor_error,
            notify_url=job.notify_url,
            note=job.note,
            expires_at=(
                job.deadline_at if job.status in (JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED) else None
            ),
            sentences=[
                SentenceView(
                    text_id=s.text_id,
                    text=s.text,
                    status=s.status,
                    check=s.check,
                    upload=uploads.get(s.text_id),
                )
                for s in _consent_first(sentences)
            ],
            documents=[
                DocumentView(name=name, uploaded=bool(etag), upload=documents.get(name))
                for name, etag in job.documents.items()
            ],
            checks_done=sum(
                1 for s in sentences if s.status in (SentenceStatus.PASSED, SentenceStatus.REJECTED)
            ),
            checks_total=len(sentences),
            comparison_id=job.comparison_id,
        )


def _consent_first(sentences: list[Sentence]) -> list[Sentence]:
    """The consent statement first: it is read before anything else."""
    return sorted(sentences, key=lambda s: s.text_id != CONSENT_TEXT_ID)


class JobSummary(BaseModel):
    job_id: str
    vendor: str
    voice_name: str
    status: JobStatus
    created_at: datetime
    voice_id: str | None = None

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        return cls(
            job_id=job.job_id,
            vendor=job.vendor,
            voice_name=job.voice_name,
            status=job.status,
            created_at=job.created_at,
            voice_id=job.voice_id,
        )


class JobPage(BaseModel):
    items: list[JobSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page")


class TrainingTexts(BaseModel):
    vendor: str
    texts: list[TrainingText]
    documents: list[str] = Field(default_factory=list, description="Documents to upload with the recordings")
    options: list[str] = Field(
        default_factory=list, description="Options POST /v1/jobs accepts for the vendor"
    )


class VoiceView(BaseModel):
    """A cloned voice, with what a speech-synthesis call at its vendor needs (`tts`)."""

    voice_id: str
    name: str
    vendor: str
    job_id: str
    language: Language
    gender: Gender
    state: VoiceState
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    vendor_voice_id: str = Field(description="The vendor's own id of the voice")
    tts: dict[str, Any] = Field(
        default_factory=dict,
        description="What a TTS call at the vendor takes: VoiceType, speaker id and cluster, model name...",
    )
    note: str | None = Field(None, description="What happened at the vendor on the last rename or delete")

    @classmethod
    def of(cls, voice: Voice) -> VoiceView:
        return cls(
            voice_id=voice.voice_id,
            name=voice.name,
            vendor=voice.vendor,
            job_id=voice.job_id,
            language=voice.language,
            gender=voice.gender,
            state=voice.state,
            created_at=voice.created_at,
            updated_at=voice.updated_at,
            deleted_at=voice.deleted_at,
            vendor_voice_id=voice.vendor_voice.voice_id,
            tts=voice.vendor_voice.tts(),
            note=voice.note,
        )


class VoicePage(BaseModel):
    items: list[VoiceView]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page")


class RenameVoiceRequest(RequestModel):
    name: DisplayName = Field(description="The voice's new display name")


class GatewayMessage(BaseModel):
    """What API Gateway itself answers (401 before the API runs, 403 for a route it does not have)."""

    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class WebhookSecret(BaseModel):
    """The tenant's webhook signing secret: HMAC-SHA256 key of the Voiceclone-Signature header."""

    secret: str = Field(description="Keep it private; rotate it if it leaks")
    created_at: datetime


# The longest text one speech request takes (characters); the service splits it at each vendor's limit.
MAX_SPEECH_CHARS = 5000


# The OpenAPI pattern of a speech text: a letter or digit of the common scripts somewhere in it. The rule
# itself is voiceclone.domain.text.readable (any script's letters and digits, outside markup tags); a
# JSON-schema pattern cannot say "outside tags", so this one is its documented approximation.
READABLE_PATTERN = (
    "[0-9A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
    "\u0600-\u06ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"
)


def _no_bool(value: Any) -> Any:
    """A JSON true or false is no number (pydantic would read it as 1 or 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "Input should be a number, not a boolean")
    return value


def _readable(value: str) -> str:
    if not readable(value):
        raise PydanticCustomError("unreadable_text", UNREADABLE_MESSAGE)
    return value


class SpeechRequest(RequestModel):
    """What to say with a cloned voice."""

    text: Annotated[str, AfterValidator(_readable)] = Field(
        min_length=1,
        max_length=MAX_SPEECH_CHARS,
        json_schema_extra={"pattern": READABLE_PATTERN},
        description=f"The text to speak, at most {MAX_SPEECH_CHARS} characters; longer than the vendor takes "
        "in one call, it is split at sentence boundaries and the pieces joined into one file. It must have "
        "something to read: at least one letter or digit outside markup tags (`<...>`); text of only white "
        "space, punctuation, emoji, invisible or control characters is refused (422 `unreadable_text`) "
        "before any vendor is called, and nothing is counted",
    )
    format: Literal["wav", "mp3", "pcm"] = Field(default="wav", description="The audio format")
    sample_rate: Annotated[int, Field(ge=8000, le=48000), BeforeValidator(_no_bool)] | None = Field(
        default=None, description="Samples per second; the vendor's default when left out"
    )
    speed: Annotated[float, BeforeValidator(_no_bool)] = Field(
        default=1.0,
        ge=0.5,
        le=2.0,
        description="Speaking rate, 1.0 normal; each vendor speaks within a range of its own (a speed "
        "outside it is refused with 422 `UnsupportedSpeed` naming the range, before the vendor is called)",
    )
    notify_url: NotifyUrl | None = Field(
        default=None,
        description="Where the speech's Speech Succeeded / Speech Failed event is POSTed, signed "
        "as job webhooks are (docs/events.md)",
    )


class SpeechView(BaseModel):
    """Speech made with a cloned voice: its audio behind a short-lived presigned GET URL."""

    speech_id: str
    voice_id: str
    vendor: str
    status: SpeechStatus
    format: str
    sample_rate: int
    duration_seconds: float
    characters: int = Field(description="Characters of the text spoken (what the vendor bills)")
    vendor_calls: int = Field(description="Vendor calls the text took (split at the vendor's limit)")
    vendor_request_id: str = Field("", description="The vendor's request id(s), comma-separated")
    audio_url: str = Field(
        "",
        description='A presigned GET of the audio, valid for a short time; "" while RUNNING or FAILED',
    )
    audio_url_expires_in: int = Field(0, description="Seconds audio_url stays valid")
    created_at: datetime
    error: JobError | None = Field(
        None, description="Why the speech FAILED, with the vendor's code and message where there is one"
    )
    labels: SpeechLabels | None = Field(
        None, description="The labels its audio was given (docs/labels.md); null until the audio is stored"
    )

    @classmethod
    def of(cls, speech: Speech, audio_url: str = "", expires_in: int = 0) -> SpeechView:
        return cls(
            speech_id=speech.speech_id,
            voice_id=speech.voice_id,
            vendor=speech.vendor,
            status=speech.status,
            format=speech.format,
            sample_rate=speech.sample_rate,
            duration_seconds=speech.duration_seconds,
            characters=speech.characters,
            vendor_calls=speech.vendor_calls,
            vendor_request_id=speech.vendor_request_id,
            audio_url=audio_url,
            audio_url_expires_in=expires_in,
            created_at=speech.created_at,
            error=speech.error,
            labels=speech.labels,
        )


class SpeechPage(BaseModel):
    items: list[SpeechView]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page")


class VendorUsage(BaseModel):
    vendor: str
    characters: int = Field(0, description="Characters synthesized (speech) in the period")
    speech_requests: int = Field(0, description="Speech requests in the period")
    clones: int = Field(0, description="Voices cloned (jobs that succeeded) in the period")


class UsageView(BaseModel):
    """What a tenant used per vendor in a period of whole days (UTC), both ends included."""

    start: date = Field(description="The first day (?from=)")
    end: date = Field(description="The last day (?to=)")
    vendors: list[VendorUsage]


# ----- labels: the tenant's policy, and what a file carries (POST /v1/provenance) ------------------------


class LabelPolicyUpdate(RequestModel):
    """The tenant's choice of the audible label on its speech."""

    explicit_label: Annotated[bool, Field(strict=True)] = Field(
        description="Start every speech with the audible AI rhythm (GB 45438 short-long-short-short). "
        "Turn it off only where your application tells its listeners the audio is synthetic itself"
    )


class LabelPolicyView(BaseModel):
    """What labels the tenant's speech gets. The implicit label and the C2PA manifest are always written."""

    explicit_label: bool = Field(description="Speech starts with the audible AI rhythm")
    explicit_label_source: Literal["tenant", "deployment"] = Field(
        description="Whether the tenant chose it (PUT /v1/labels/policy) or it is the deployment's default"
    )
    content_producer: str = Field(
        description="The GB 45438 ContentProducer written: the operator's registered name or code"
    )


class ProvenanceFinding(BaseModel):
    """One label missing or no longer holding (error), or worth knowing (warning)."""

    code: str = Field(description="e.g. c2pa.invalid, aigc.missing, aigc.audio_mismatch (docs/labels.md)")
    severity: Literal["error", "warning"]
    message: str


class ProvenanceStatus(BaseModel):
    code: str
    explanation: str = ""


class ProvenanceCredentials(BaseModel):
    """The C2PA manifest as c2pa-python's reader judged it."""

    present: bool
    state: Literal["Trusted", "Valid", "Invalid"] | None = Field(
        None,
        description="Trusted: intact and signed under the operator's CA; Valid: intact, signer not trusted; "
        "Invalid: the audio, its metadata or the manifest changed after signing",
    )
    failures: list[ProvenanceStatus] = Field(default_factory=list, description="C2PA validation codes")
    claim_generator: str | None = None
    digital_source_type: str | None = None
    signer: str | None = Field(None, description="The signing certificate's common name and issuer")


class ProvenanceSpeech(BaseModel):
    """The speech a manifest names: shown only to the tenant it names."""

    speech_id: str | None = None
    voice_id: str | None = None
    vendor: str | None = None
    tenant_id: str | None = None


class ProvenanceImplicitLabel(BaseModel):
    """The GB 45438 implicit label as found in the file's metadata."""

    present: bool
    fields: dict[str, str] | None = Field(
        None, description="Label, ContentProducer, ProduceID, ReservedCode1, ContentPropagator, ..."
    )
    form: Literal["wrapped", "bare"] | None = None
    audio_matches: bool | None = Field(
        None, description="ReservedCode1's SHA-256 is the audio's (null: no digest of ours to compare)"
    )
    problem: str | None = None


class ProvenanceView(BaseModel):
    """What an audio file carries (C2PA manifest, GB 45438 label, audible label), and whose it is."""

    ok: bool = Field(description="Every label present and holding, the manifest trusted")
    format: Literal["wav", "mp3"] | None = Field(None, description="null: neither WAV nor MP3")
    c2pa: ProvenanceCredentials
    aigc: ProvenanceImplicitLabel
    explicit_label: bool | None = Field(None, description="The audible AI rhythm is at the start")
    yours: bool | None = Field(
        None,
        description="Whether the manifest names your tenant (null: no manifest names a tenant). Only then "
        "are the speech, voice and vendor shown",
    )
    speech: ProvenanceSpeech | None = None
    findings: list[ProvenanceFinding] = Field(default_factory=list)


class ConsentView(BaseModel):
    """A voice's consent record (GET /v1/voices/{voice_id}/consent); once the voice is deleted, its audit.

    ``checks`` says what was verified: the audio checks of the take; whether the phrase was heard
    and whether the consent speaker is the training speaker are ``not_verified``, since no speech
    recogniser or speaker verifier runs (docs/consent.md).
    """

    voice_id: str
    job_id: str
    vendor: str
    kind: ConsentKind
    state: ConsentState = Field(description="KEPT while the voice exists; DELETED: hashes and times only")
    speaker_name: str = ""
    organisation_name: str = ""
    language: StatementLanguage
    statement: str = ""
    phrase: str = ""
    document_reference: str = ""
    audio_sha256: str = Field("", description="SHA-256 of the consent take as uploaded (hex)")
    audio_bytes: int = 0
    audio_content_type: str = ""
    audio_url: str = Field("", description="A presigned GET of the take, valid for a short time")
    audio_url_expires_in: int = 0
    measurements: AudioMeasurements | None = Field(None, description="What the take's audio check measured")
    statement_sha256: str = Field("", description="SHA-256 of the statement (or document reference) agreed")
    checks: ConsentChecks
    requested_by: Requester = Field(description="The tenant and the id of the API key that created the job")
    requested_at: datetime = Field(description="When the job, and so the statement, was created")
    recorded_at: datetime = Field(description="When the consent was put on record, before any vendor task")
    deleted_at: datetime | None = None

    @classmethod
    def of(cls, record: ConsentRecord, audio_url: str = "", expires_in: int = 0) -> ConsentView:
        return cls(
            voice_id=record.voice_id,
            job_id=record.job_id,
            vendor=record.vendor,
            kind=record.kind,
            state=record.state,
            speaker_name=record.speaker_name,
            organisation_name=record.organisation_name,
            language=record.language,
            statement=record.statement,
            phrase=record.phrase,
            document_reference=record.document_reference,
            audio_sha256=record.audio_sha256,
            audio_bytes=record.audio_bytes,
            audio_content_type=record.audio_content_type,
            audio_url=audio_url,
            audio_url_expires_in=expires_in,
            measurements=record.measurements,
            statement_sha256=record.statement_sha256,
            checks=record.checks,
            requested_by=record.requested_by,
            requested_at=record.requested_at,
            recorded_at=record.recorded_at,
            deleted_at=record.deleted_at,
        )


# An organisation's name as a consent statement gives it.
OrganisationName = Annotated[
    str,
    Field(min_length=1, max_length=128, json_schema_extra={"pattern": DISPLAY_NAME_PATTERN}),
    AfterValidator(_display_name),
]


class TenantSettingsView(BaseModel):
    """The tenant's settings, and the operator's consent policy for it."""

    organisation_name: str = Field(
        description="The organisation the speakers' consent statements name ('' until set: no job before)"
    )
    document_consent_allowed: bool = Field(
        description="Set by the operator (voiceclone admin tenant): whether a job may name a signed "
        "consent document (consent_document) instead of the speaker reading the statement"
    )
    updated_at: datetime | None = None

    @classmethod
    def of(cls, settings: TenantSettings) -> TenantSettingsView:
        return cls(
            organisation_name=settings.organisation_name,
            document_consent_allowed=settings.document_consent_allowed,
            updated_at=settings.updated_at if settings.version else None,
        )


class UpdateTenantSettings(RequestModel):
    """What a tenant may change itself (the consent policy is the operator's)."""

    organisation_name: OrganisationName = Field(
        description="Your organisation's name, as your speakers' consent statements will give it",
        examples=["Example Audio Ltd"],
    )


# ----- comparisons: one speaker's takes, a voice at each of several vendors ------------------------

# The most vendors one comparison clones at (every registered vendor fits).
MAX_COMPARISON_VENDORS = 16


class CreateComparisonRequest(RequestModel):
    vendors: list[Annotated[str, Field(max_length=32)]] = Field(
        min_length=2,
        max_length=MAX_COMPARISON_VENDORS,
        description="Two or more distinct vendor ids that clone, e.g. tencent_vrs and qiniu",
        examples=[["tencent_vrs", "qiniu"]],
    )
    voice_name: DisplayName = Field(description="A display name for the voices (each vendor's)")
    speaker_name: DisplayName = Field(
        description="The person whose voice is cloned, as the consent statement they read names them",
        examples=["Li Hua"],
    )
    consent_document: DocumentReference | None = Field(
        None,
        description="Only where the operator allows it for the tenant: a reference to the speaker's "
        "signed consent kept elsewhere, recorded instead of a spoken statement",
    )
    language: Language = Language.ZH_CN
    gender: Gender
    options: dict[
        Annotated[str, Field(max_length=32)],
        dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=1024)]],
    ] = Field(
        default_factory=dict,
        max_length=MAX_COMPARISON_VENDORS,
        description='Each vendor\'s options, by vendor id, e.g. {"volcengine": {"speaker_id": "S_..."}}',
    )
    notify_url: NotifyUrl | None = Field(
        None,
        description="An http(s) URL that receives the comparison's events (and each vendor job's) as "
        "signed POSTs (docs/events.md)",
        examples=["https://example.com/hooks/voiceclone"],
    )


class ComparisonVendorView(BaseModel):
    """One vendor of a comparison: its job (an ordinary job, GET /v1/jobs/{job_id}) and how it went."""

    vendor: str
    job_id: str
    status: JobStatus = Field(description="The vendor job's status")
    voice_id: str | None = Field(None, description="The cloned voice, once ready")
    error: JobError | None = Field(None, description="Why the vendor failed, with the vendor's own code")
    seconds_to_ready: float | None = Field(
        None, description="Seconds from the last take's upload to this vendor's voice being ready"
    )
    takes: list[str] = Field(default_factory=list, description="The takes (text ids) this vendor trains from")
    facts: dict[str, Any] | None = Field(None, description="What was measured of the voice (null until then)")
    facts_error: JobError | None = Field(
        None, description="Why the voice's facts could not be measured (the voice itself stays ready)"
    )


class ComparisonView(BaseModel):
    comparison_id: str
    status: ComparisonStatus
    voice_name: str
    speaker_name: str
    language: Language
    gender: Gender
    consent: ConsentTermsView = Field(description="The one consent the speaker gives, naming every vendor")
    created_at: datetime
    updated_at: datetime
    notify_url: str | None = None
    sentences: list[SentenceView] = Field(
        default_factory=list, description="The takes to record, once each: the consent statement first"
    )
    documents: list[DocumentView] = Field(
        default_factory=list, description="Documents the chosen vendors require (their union)"
    )
    vendors: list[ComparisonVendorView]
    kept: str | None = Field(None, description="The vendor whose voice was kept, the others deleted")
    expires_at: datetime | None = Field(
        None,
        description="While the comparison waits for takes (AWAITING_AUDIO): when it ends EXPIRED "
        "without them",
    )
    error: JobError | None = Field(
        None, description="EXPIRED: the takes and documents that did not arrive in time"
    )

    @classmethod
    def of(
        cls,
        comparison: Comparison,
        jobs: dict[str, Job],
        uploads: dict[str, UploadTarget] | None = None,
        documents: dict[str, UploadTarget] | None = None,
    ) -> ComparisonView:
        uploads, documents = uploads or {}, documents or {}
        return cls(
            comparison_id=comparison.comparison_id,
            status=comparison.status,
            voice_name=comparison.voice_name,
            speaker_name=comparison.speaker_name,
            language=comparison.language,
            gender=comparison.gender,
            consent=ConsentTermsView.of(comparison.consent),
            created_at=comparison.created_at,
            updated_at=comparison.updated_at,
            notify_url=comparison.notify_url,
            sentences=[
                SentenceView(
                    text_id=t.text_id,
                    text=t.text,
                    status=SentenceStatus.UPLOADED if t.etag else SentenceStatus.PENDING_UPLOAD,
                    upload=uploads.get(t.text_id),
                )
                for t in sorted(comparison.takes, key=lambda t: t.text_id != CONSENT_TEXT_ID)
            ],
            documents=[
                DocumentView(name=name, uploaded=bool(etag), upload=documents.get(name))
                for name, etag in comparison.documents.items()
            ],
            vendors=[_vendor_view(comparison, v, jobs.get(v.job_id)) for v in comparison.vendors],
            kept=comparison.kept,
            expires_at=(
                comparison.deadline_at if comparison.status is ComparisonStatus.AWAITING_AUDIO else None
            ),
            error=comparison.error,
        )


def seconds_to_ready(comparison: Comparison, entry: ComparisonVendor) -> float | None:
    """From the last take's upload to the vendor's voice being ready; None until it is."""
    ready, start = entry.ready_at, comparison.takes_completed_at
    return round((ready - start).total_seconds(), 3) if ready and start else None


def _vendor_view(comparison: Comparison, entry: ComparisonVendor, job: Job | None) -> ComparisonVendorView:
    return ComparisonVendorView(
        vendor=entry.vendor,
        job_id=entry.job_id,
        status=job.status if job is not None else JobStatus.AWAITING_AUDIO,
        voice_id=job.voice_id if job is not None else entry.voice_id,
        error=(job.error if job is not None and job.error else entry.error),
        seconds_to_ready=seconds_to_ready(comparison, entry),
        takes=[t for t in entry.text_ids if t != CONSENT_TEXT_ID],
        facts=entry.facts,
        facts_error=entry.facts_error,
    )


class ComparisonSummary(BaseModel):
    comparison_id: str
    status: ComparisonStatus
    voice_name: str
    vendors: list[str]
    created_at: datetime

    @classmethod
    def of(cls, comparison: Comparison) -> ComparisonSummary:
        return cls(
            comparison_id=comparison.comparison_id,
            status=comparison.status,
            voice_name=comparison.voice_name,
            vendors=[v.vendor for v in comparison.vendors],
            created_at=comparison.created_at,
        )


class ComparisonPage(BaseModel):
    items: list[ComparisonSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next page")


# ----- blind listening: pairs, votes, the ranking, keeping the best -----------------------------------


class VotesSoFar(BaseModel):
    """How far the listening is, in counts only: no pair is named, so nothing tells which vendor is which."""

    votes_per_pair: list[int] = Field(description="Each pair's votes so far, most first (pairs unnamed)")
    needed_per_pair: int = Field(description="The votes every pair needs before the ranking is shown")
    ranking_ready: bool


class PairView(BaseModel):
    """One blind pair: the same probe sentence spoken by two voices, as A and B, vendors unnamed."""

    pair_id: str = Field(description="Opaque: send it back with the vote")
    comparison_id: str
    text: str = Field(description="The probe sentence both voices speak")
    a: str = Field(description="A presigned URL of the audio played as A (a WAV under an opaque name)")
    b: str = Field(description="A presigned URL of the audio played as B")
    expires_at: datetime = Field(description="Until when the pair takes a vote")
    progress: VotesSoFar


class VoteRequest(RequestModel):
    pair_id: str = Field(max_length=64, pattern=r"^pair-[0-9a-f]{32}$")
    choice: Literal["a", "b", "same"] = Field(description="Which sounded better, or `same`")


class VoteView(BaseModel):
    pair_id: str
    choice: Literal["a", "b", "same"]
    progress: VotesSoFar


class FactsBrief(BaseModel):
    """The facts beside a vendor's rank: medians over the probes it spoke, and its configured price."""

    delivery: str = Field(description="stream, whole or none")
    first_audio_seconds: float | None = Field(None, description="Time to first audio, median")
    real_time_factor: float | None = Field(None, description="Synthesis time / audio time, median")
    speech_dbfs: float | None = Field(None, description="Speech level in dBFS, median")
    price: str = Field(description='Per 1,000 characters as configured, or "not configured"')
    probes_spoken: int


class RankedVendorView(BaseModel):
    rank: int
    vendor: str
    voice_id: str | None
    strength: float = Field(description="Bradley–Terry strength; the vendors' strengths sum to 1")
    wins: int
    losses: int
    same: int
    win_rate: float = Field(description="(wins + same / 2) / votes the vendor was in")
    seconds_to_ready: float | None = None
    facts: FactsBrief | None = None


class RankingView(BaseModel):
    comparison_id: str
    method: Literal["bradley-terry"] = Field(
        description="Bradley–Terry strengths fitted by Hunter's MM iteration, one virtual `same` per pair"
    )
    votes: int
    needed_per_pair: int
    vendors: list[RankedVendorView]
    kept: str | None = None


class KeepRequest(RequestModel):
    vendor: str = Field(
        max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="The vendor whose voice to keep"
    )


class DeletedVoiceView(BaseModel):
    vendor: str
    voice_id: str
    note: str | None = Field(None, description="What happened at the vendor (e.g. it cannot delete)")


class KeepView(BaseModel):
    comparison_id: str
    kept: str
    voice_id: str
    deleted: list[DeletedVoiceView] = Field(description="The other vendors' voices, deleted")
