"""A job's consent: its terms when the job is made, the gate before any vendor task, what the voice keeps.

- At creation (voiceclone.logic.training.jobs) the statement is written in the vendor script's
  language, naming the speaker, the tenant's organisation and the vendor, with a one-time phrase
  claimed for this job alone; the speaker records it as the sentence ``consent``.
- Before SubmitTraining creates (or resubmits) a vendor task, :func:`record_consent` is the gate:
  it raises ConsentMissing unless the consent take passed its check (or, where the operator
  allows it, the job names a consent document), and writes the voice's consent record once.
- Finalize keeps the take under ``consent/`` (:func:`keep_with_voice`), where no lifecycle rule
  expires it; deleting the voice deletes it and leaves the record as an audit entry (:func:`forget`).
"""

from __future__ import annotations

import secrets
from typing import Any

from voiceclone.domain.api_models import ConsentView, CreateComparisonRequest, CreateJobRequest
from voiceclone.domain.consent import (
    CONSENT_TEXT_ID,
    PHRASE_DIGITS,
    ConsentChecks,
    ConsentKind,
    ConsentRecord,
    ConsentState,
    ConsentTerms,
    Requester,
    Verification,
    script_language,
    sha256_hex,
    spoken_phrase,
    statement,
    vendor_list,
)
from voiceclone.domain.errors import Conflict, ConsentMissing, InvalidRequest
from voiceclone.domain.models import (
    Job,
    Sentence,
    SentenceStatus,
    TenantSettings,
    TrainingText,
    Voice,
    utcnow,
)
from voiceclone.logic.core.ids import voice_id_of
from voiceclone.logic.core.keys import CONSENT, consent_key
from voiceclone.logic.core.services import Services
from voiceclone.observability import logger, metrics
from voiceclone.vendors.registry import adapter_class

# How long a consent take's presigned GET stays valid.
AUDIO_URL_SECONDS = 900


def draw_phrase_digits() -> str:
    """A phrase's digits, from the OS's randomness; the store refuses any drawn before."""
    return f"{secrets.randbelow(10**PHRASE_DIGITS):0{PHRASE_DIGITS}d}"


def new_terms(
    settings: TenantSettings,
    caller: Requester,
    request: CreateJobRequest | CreateComparisonRequest,
    texts: list[TrainingText],
) -> ConsentTerms:
    """The consent a new job (or comparison) asks for; InvalidRequest where the tenant cannot ask for it so.

    A comparison's statement names every vendor it clones at: the speaker agrees once, for all of them.
    """
    organisation = settings.organisation_name
    if not organisation:
        raise Conflict(
            "OrganisationNameMissing",
            "your organisation's name is not set: the speaker's consent statement names it; set it with "
            'PATCH /v1/settings {"organisation_name": "..."} (voiceclone settings --organisation NAME)',
        )
    language = script_language(t.text for t in texts)
    vendors = [request.vendor] if isinstance(request, CreateJobRequest) else request.vendors
    terms = ConsentTerms(
        kind=ConsentKind.RECORDING,
        speaker_name=request.speaker_name,
        organisation_name=organisation,
        vendor_name=vendor_list([adapter_class(v).display_name(language) for v in vendors], language),
        language=language,
        requested_by=caller,
    )
    if request.consent_document is not None:
        if not settings.document_consent_allowed:
            raise InvalidRequest(
                "DocumentConsentNotAllowed",
                "this tenant's speakers record their consent statement; naming a consent document instead "
                "is allowed only where the operator has set it for the tenant",
            )
        return terms.model_copy(
            update={"kind": ConsentKind.DOCUMENT, "document_reference": request.consent_document}
        )
    digits = draw_phrase_digits()
    phrase = spoken_phrase(digits, language)
    said = statement(language, request.speaker_name, organisation, terms.vendor_name, phrase)
    return terms.model_copy(update={"statement": said, "phrase": phrase, "phrase_digits": digits})


def consent_sentence(job: Job, s3_key: str) -> list[Sentence]:
    """The sentence the speaker records the statement as (none for a document)."""
    if job.consent is None or job.consent.kind is not ConsentKind.RECORDING:
        return []
    return [
        Sentence(
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            text_id=CONSENT_TEXT_ID,
            text=job.consent.statement,
            s3_key=s3_key,
        )
    ]


def training_sentences(sentences: list[Sentence]) -> list[Sentence]:
    """The sentences a vendor trains from: all but the consent take, which never goes to the vendor."""
    return [s for s in sentences if s.text_id != CONSENT_TEXT_ID]


def record_consent(svc: Services, job: Job, sentences: list[Sentence]) -> ConsentRecord:
    """The gate before any vendor task: the voice's consent record, written once; else ConsentMissing."""
    voice_id = voice_id_of(job.job_id)
    existing = svc.store.consent.get(voice_id)
    if existing is not None:
        return existing
    terms = job.consent
    if terms is None:
        raise ConsentMissing(
            "ConsentMissing",
            f"job {job.job_id} has no consent terms (it was created before voiceclone asked for the "
            "speaker's consent): no vendor task is created for it; create a new job",
        )
    base = ConsentRecord(
        voice_id=voice_id,
        job_id=job.job_id,
        tenant_id=job.tenant_id,
        vendor=job.vendor,
        kind=terms.kind,
        speaker_name=terms.speaker_name,
        organisation_name=terms.organisation_name,
        language=terms.language,
        checks=ConsentChecks(
            audio_checks=Verification.NOT_APPLICABLE,
            phrase_heard=Verification.NOT_APPLICABLE,
            same_speaker=Verification.NOT_APPLICABLE,
        ),
        requested_by=terms.requested_by,
        requested_at=terms.requested_at,
        notify_url=job.notify_url,
    )
    if terms.kind is ConsentKind.DOCUMENT:
        record = base.model_copy(
            update={
                "document_reference": terms.document_reference,
                "statement_sha256": sha256_hex(terms.document_reference),
            }
        )
    else:
        record = base.model_copy(update=_recorded(svc, job, terms, sentences))
    kept = svc.store.consent.put(record)
    metrics.add_metric(name="ConsentRecorded", unit="Count", value=1)
    logger.info("consent on record", extra={"job_id": job.job_id, "kind": kept.kind.value})
    return kept


def _recorded(svc: Services, job: Job, terms: ConsentTerms, sentences: list[Sentence]) -> dict[str, Any]:
    """What a recorded consent adds to the record: the statement, the take's hash and figures."""
    take = next((s for s in sentences if s.text_id == CONSENT_TEXT_ID), None)
    if take is None or take.status is not SentenceStatus.PASSED or take.check is None:
        raise ConsentMissing(
            "ConsentMissing",
            f"job {job.job_id}: the speaker's consent statement was not recorded and checked; no vendor "
            "task is created without it",
        )
    obj = svc.s3.get_object(Bucket=svc.settings.bucket_name, Key=take.s3_key)
    audio = obj["Body"].read()
    return {
        "statement": terms.statement,
        "phrase": terms.phrase,
        "statement_sha256": sha256_hex(terms.statement),
        "audio_key": take.s3_key,
        "audio_sha256": sha256_hex(audio),
        "audio_bytes": len(audio),
        "audio_content_type": str(obj.get("ContentType") or ""),
        "measurements": take.check.measurements,
        "checks": ConsentChecks(audio_checks=Verification.PASSED),
    }


def keep_with_voice(svc: Services, job: Job) -> None:
    """Keep the consent take with the voice (``consent/``): the job's recordings expire, it does not."""
    record = svc.store.consent.get(voice_id_of(job.job_id))
    if record is None or not record.audio_key or record.audio_key.startswith(f"{CONSENT}/"):
        return
    bucket = svc.settings.bucket_name
    kept = consent_key(job.tenant_id, record.voice_id, record.audio_sha256)
    svc.s3.copy_object(Bucket=bucket, Key=kept, CopySource={"Bucket": bucket, "Key": record.audio_key})
    svc.store.consent.mutate(
        record,
        lambda current: None if current.audio_key == kept else current.model_copy(update={"audio_key": kept}),
    )


def forget(svc: Services, voice: Voice) -> bool:
    """The voice is deleted: delete its consent take, keep hashes and times as the audit entry."""
    record = svc.store.consent.get(voice.voice_id)
    if record is None or record.state is ConsentState.DELETED:
        return False
    if record.audio_key:
        svc.s3.delete_object(Bucket=svc.settings.bucket_name, Key=record.audio_key)
    now = utcnow()
    svc.store.consent.mutate(
        record, lambda current: None if current.state is ConsentState.DELETED else current.forgotten(now)
    )
    return True


def consent_view(svc: Services, tenant_id: str, voice_id: str) -> ConsentView:
    """A voice's consent as the API shows it, with a fresh presigned GET of the take while it is kept."""
    svc.store.voices.require(voice_id, tenant_id)
    record = svc.store.consent.require(voice_id, tenant_id)
    if not record.audio_key:
        return ConsentView.of(record)
    url = svc.s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": svc.settings.bucket_name, "Key": record.audio_key},
        ExpiresIn=AUDIO_URL_SECONDS,
    )
    return ConsentView.of(record, url, AUDIO_URL_SECONDS)
