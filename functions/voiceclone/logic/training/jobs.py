"""Creating and reading jobs for the REST API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.api_models import (
    CreateJobRequest,
    JobPage,
    JobSummary,
    JobView,
    TrainingTexts,
    UploadTarget,
)
from voiceclone.domain.consent import CONSENT_TEXT_ID, Requester
from voiceclone.domain.errors import Conflict, InvalidRequest, PhraseTaken
from voiceclone.domain.models import (
    Job,
    JobStatus,
    Sentence,
    SentenceStatus,
    TenantSettings,
    TrainingText,
    utcnow,
)
from voiceclone.logic.core.ids import new_job_id
from voiceclone.logic.core.keys import document_key, upload_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import consent, expiry
from voiceclone.logic.training.cleanup import cancel_vendor_task, keep_note
from voiceclone.logic.training.voices import check_voice_name
from voiceclone.observability import logger
from voiceclone.vendors.registry import capabilities

# A phrase drawn from 10**8 collides with an earlier one rarely; this many draws in a row never do.
MAX_PHRASE_DRAWS = 8


def training_texts(svc: Services, vendor: str) -> TrainingTexts:
    caps = capabilities(vendor)  # unknown vendor → NotFound before any vendor call
    return TrainingTexts(
        vendor=vendor,
        texts=svc.adapter_for(vendor).training_texts(),
        documents=list(caps.documents),
        options=list(caps.options),
    )


def presign_upload(svc: Services, key: str, content_type: str = "audio/wav") -> UploadTarget:
    """A presigned POST bound to one object key, a content type, a size range and a short expiry.

    A recording's form takes any accepted format (WAV, MP3, M4A, FLAC, OGG, WebM...: the service reads
    the bytes, not the name): its Content-Type may be any ``audio/`` type, sent as the file is
    (``audio/mp4`` for an M4A); the key stays exactly ``<text_id>.wav``.
    """
    expiry = svc.settings.upload_url_expiry_seconds
    max_bytes = svc.settings.max_upload_bytes
    conditions: list[Any] = [["content-length-range", 1, max_bytes]]
    if content_type.startswith("audio/"):
        conditions.append(["starts-with", "$Content-Type", "audio/"])
    else:
        conditions.append({"Content-Type": content_type})
    post = svc.s3.generate_presigned_post(
        Bucket=svc.settings.bucket_name,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=conditions,
        ExpiresIn=expiry,
    )
    return UploadTarget(
        url=post["url"],
        fields={k: str(v) for k, v in post["fields"].items()},
        expires_at=utcnow() + timedelta(seconds=expiry),
        max_bytes=max_bytes,
        content_type=content_type,
    )


def create_job(svc: Services, caller: Requester, request: CreateJobRequest) -> JobView:
    """The job, its sentences (the consent statement among them) and their upload forms.

    The statement's one-time phrase is claimed with the job in one write; a phrase any job had
    before is refused by the store and another drawn (never reused).
    """
    tenant_id = caller.tenant_id
    caps = capabilities(request.vendor)
    unknown = sorted(set(request.options) - set(caps.options))
    if unknown:
        allowed = ", ".join(caps.options) or "none"
        raise InvalidRequest(
            "UnknownOption", f"{request.vendor} takes no option {', '.join(unknown)}; its options: {allowed}"
        )
    # Values too, now: a value the vendor refuses would otherwise fail the job after every recording.
    problems = caps.validate_options(request.options)
    if problems:
        raise InvalidRequest("InvalidOption", f"{request.vendor}: {'; '.join(problems)}")
    check_voice_name(request.vendor, request.voice_name, ("body", "voice_name"))
    settings = svc.store.tenants.settings(tenant_id)
    texts: list[TrainingText] = svc.adapter_for(request.vendor).training_texts()[: caps.sentence_count]
    job_id = new_job_id()
    job = Job(
        job_id=job_id,
        tenant_id=tenant_id,
        vendor=request.vendor,
        voice_name=request.voice_name,
        language=request.language,
        gender=request.gender,
        speaker_name=request.speaker_name,
        consent=consent.new_terms(settings, caller, request, texts),
        sentence_count=len(texts),
        vendor_options=dict(request.options),
        documents=dict.fromkeys(caps.documents, ""),
        notify_url=request.notify_url,
        deadline_at=expiry.deadline(svc),
    )
    sentences = [
        Sentence(
            job_id=job_id,
            tenant_id=tenant_id,
            text_id=t.text_id,
            text=t.text,
            s3_key=upload_key(tenant_id, job_id, t.text_id),
        )
        for t in texts
    ]
    # Armed first: a schedule whose job was never written finds nothing; a job without one would wait forever.
    expiry.arm(svc, job)
    job, sentences = _create(svc, settings, caller, request, job, sentences, texts)
    uploads = {s.text_id: presign_upload(svc, s.s3_key) for s in sentences}
    documents = {
        name: presign_upload(svc, document_key(tenant_id, job_id, name), "application/pdf")
        for name in job.documents
    }
    return JobView.of(job, sentences, uploads, documents)


def _create(
    svc: Services,
    settings: TenantSettings,
    caller: Requester,
    request: CreateJobRequest,
    job: Job,
    sentences: list[Sentence],
    texts: list[TrainingText],
) -> tuple[Job, list[Sentence]]:
    """Write the job with its consent sentence; a phrase issued before is drawn again."""
    for _ in range(MAX_PHRASE_DRAWS):
        taken = consent.consent_sentence(job, upload_key(job.tenant_id, job.job_id, CONSENT_TEXT_ID))
        try:
            svc.store.jobs.create(job, [*sentences, *taken])
        except PhraseTaken:
            job = job.model_copy(update={"consent": consent.new_terms(settings, caller, request, texts)})
            continue
        return job, [*sentences, *taken]
    raise Conflict("PhraseTaken", "no unused one-time phrase was drawn; try again")


def new_upload_url(svc: Services, tenant_id: str, job_id: str, text_id: str) -> UploadTarget:
    """A fresh presigned POST for one sentence: to record it again after a rejection (or a lapsed URL)."""
    job = svc.store.jobs.require(job_id, tenant_id)
    sentence = svc.store.jobs.sentence(job_id, text_id)
    if job.comparison_id:
        raise Conflict(
            "ComparisonJob",
            f"job {job_id} takes its recordings from comparison {job.comparison_id}: record there",
        )
    if job.status not in (JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED):
        raise Conflict("JobNotAwaitingAudio", f"the job is {job.status.value}: it takes no recordings now")
    if sentence.status is SentenceStatus.PASSED:
        raise Conflict(
            "SentencePassed", f"sentence {text_id} passed its check: only rejected ones are redone"
        )
    # The upload key, not sentence.s3_key: that is the copy intake kept of the last upload.
    return presign_upload(svc, upload_key(job.tenant_id, job_id, text_id))


def get_job(svc: Services, tenant_id: str, job_id: str) -> JobView:
    job, sentences = svc.store.jobs.with_sentences(job_id, tenant_id)
    return JobView.of(job, sentences)


def list_jobs(svc: Services, tenant_id: str, limit: int, cursor: str | None) -> JobPage:
    jobs, next_cursor = svc.store.jobs.list(tenant_id, limit, cursor)
    return JobPage(items=[JobSummary.of(j) for j in jobs], next_cursor=next_cursor)


def execution_arn(state_machine_arn: str, execution_name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"


def cancel_job(svc: Services, tenant_id: str, job_id: str) -> JobView:
    """End the job CANCELLED, stop its execution, and stop the vendor's task where the vendor can.

    The status changes first: from then on no workflow step, callback or poll can move the
    job (CANCELLED is terminal), whatever the execution was doing when it was stopped.
    """
    job = svc.store.jobs.require(job_id, tenant_id)
    if job.status is JobStatus.CANCELLED:
        return get_job(svc, tenant_id, job_id)

    def cancel(current: Job) -> Job | None:
        if current.status is JobStatus.CANCELLED:
            return None
        if current.status.terminal:
            raise Conflict(
                "JobFinished", f"the job is {current.status.value}: only an unfinished job can be cancelled"
            )
        return current.model_copy(update={"status": JobStatus.CANCELLED, "task_token": None})

    job = svc.store.jobs.mutate(job_id, cancel)
    _stop_execution(svc, job)
    keep_note(svc, job_id, cancel_vendor_task(svc, job))
    return get_job(svc, tenant_id, job_id)


def _stop_execution(svc: Services, job: Job) -> None:
    if not job.execution_name or not svc.settings.state_machine_arn:
        return
    arn = execution_arn(svc.settings.state_machine_arn, job.execution_name)
    try:
        svc.sfn.stop_execution(executionArn=arn, error="JobCancelled", cause="cancelled by the client")
    except ClientError as exc:
        # Already ended (it had nothing left to do) or never started: the status is what counts.
        if exc.response.get("Error", {}).get("Code") not in ("ExecutionDoesNotExist", "ValidationException"):
            raise
        logger.info("no running execution to stop", extra={"job_id": job.job_id})
