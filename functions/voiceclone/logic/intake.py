"""An uploaded recording: mark its sentence uploaded and start the workflow once all are present."""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import ClientError

from voiceclone.domain.errors import NotFound
from voiceclone.domain.models import Job, JobStatus, SentenceStatus
from voiceclone.logic.jobs import parse_upload_key
from voiceclone.logic.services import Services
from voiceclone.observability import logger, tag_vendor


class IntakeOutcome(StrEnum):
    IGNORED = "ignored"  # not an upload key, or no such job for that tenant
    DUPLICATE = "duplicate"  # this very object was already recorded
    RECORDED = "recorded"  # recorded, other sentences still missing
    STARTED = "started"  # recorded and the workflow started
    ALREADY_STARTED = "already_started"


def handle_upload(svc: Services, key: str, size: int, etag: str) -> IntakeOutcome:
    parsed = parse_upload_key(key)
    if parsed is None:
        logger.warning("ignoring object outside the upload layout", extra={"key": key})
        return IntakeOutcome.IGNORED
    tenant_id, job_id, name, kind = parsed
    etag = etag.strip('"')
    try:
        job = svc.repo.require_job(job_id, tenant_id)
        tag_vendor(job.vendor)  # S3 sends one record per event: the invocation's vendor
        if kind == "pdf":
            if name not in job.documents:
                raise NotFound("DocumentNotFound", f"job {job_id} needs no document {name}")
            changed = _record_document(svc, job_id, name, etag)
        else:
            changed = svc.repo.record_upload(job_id, name, etag=etag, size=size)
    except NotFound:
        logger.warning(
            "upload for an unknown job, sentence or document", extra={"job_id": job_id, "name": name}
        )
        return IntakeOutcome.IGNORED
    # Even a duplicate event re-evaluates the start: if an earlier attempt recorded the upload
    # and died before starting the workflow, the redelivered event finishes the work.
    job, sentences = svc.repo.get_job_with_sentences(job_id)
    if (
        job.status not in (JobStatus.AWAITING_AUDIO, JobStatus.CHECK_FAILED)
        or any(s.status in (SentenceStatus.PENDING_UPLOAD, SentenceStatus.REJECTED) for s in sentences)
        or not all(job.documents.values())
    ):
        return IntakeOutcome.RECORDED if changed else IntakeOutcome.DUPLICATE
    # A job back from CHECK_FAILED gets a new execution, named for the round of checks it starts.
    name = job_id if job.check_failures == 0 else f"{job_id}-recheck-{job.check_failures}"
    return _start_workflow(svc, job_id, name, changed)


def _record_document(svc: Services, job_id: str, name: str, etag: str) -> bool:
    """Mark a required document uploaded; False when this very object was already recorded."""
    changed = False

    def record(job: Job) -> Job | None:
        nonlocal changed
        changed = job.documents.get(name) != etag
        return job.model_copy(update={"documents": {**job.documents, name: etag}}) if changed else None

    svc.repo.mutate_job(job_id, record)
    return changed


def _start_workflow(svc: Services, job_id: str, name: str, changed: bool) -> IntakeOutcome:
    try:
        svc.sfn.start_execution(
            stateMachineArn=svc.settings.state_machine_arn, name=name, input=f'{{"job_id": "{job_id}"}}'
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return IntakeOutcome.ALREADY_STARTED if changed else IntakeOutcome.DUPLICATE
        raise
    svc.repo.mutate_job(
        job_id,
        lambda job: None if job.execution_name == name else job.model_copy(update={"execution_name": name}),
    )
    logger.info("all sentences uploaded; workflow started", extra={"job_id": job_id})
    return IntakeOutcome.STARTED
