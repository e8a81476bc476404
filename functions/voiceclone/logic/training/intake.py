"""An uploaded recording or document: kept and recorded while the job waits for it, left out otherwise.

A presigned form writes to the upload key (``uploads/<tenant>/<job>/<name>.wav``) and stays valid
for its whole expiry, whatever the job does meanwhile, so the same form can be posted again after
the sentence was checked or the voice trained. Nothing therefore reads the upload key: intake
copies an upload the job waits for to a key of its own that no form can write
(voiceclone.logic.core.keys.accepted_key) and records that key on the sentence, in a write
conditioned on the job's status. An upload the job no longer waits for (the job is being checked,
trains or has ended, or that sentence already passed) is refused: nothing refers to it, and the
recordings that were checked and trained stay exactly as they were. One that arrives after the
job ended is deleted at once: an ended job keeps no recording it did not record.
"""

from __future__ import annotations

import json
from enum import StrEnum

from botocore.exceptions import ClientError

from voiceclone.domain.errors import NotFound, UploadRefused
from voiceclone.domain.models import UPLOAD_STATUSES, Job, SentenceStatus
from voiceclone.logic.core.keys import accepted_key, parse_upload_key
from voiceclone.logic.core.services import Services
from voiceclone.observability import logger, tag_vendor

# S3's answers to a copy whose source changed or went since the event announced it.
_SOURCE_GONE = frozenset({"PreconditionFailed", "NoSuchKey", "404", "412"})


class IntakeOutcome(StrEnum):
    IGNORED = "ignored"  # not an upload key, or no such job for that tenant
    DUPLICATE = "duplicate"  # this very object was already recorded
    RECORDED = "recorded"  # recorded, other sentences still missing
    STARTED = "started"  # recorded and the workflow started
    ALREADY_STARTED = "already_started"
    REFUSED = "refused"  # the job no longer waits for this upload: left out, nothing changed
    SUPERSEDED = "superseded"  # the object was replaced since this event: the newer one's event counts


def handle_upload(svc: Services, key: str, size: int, etag: str) -> IntakeOutcome:
    parsed = parse_upload_key(key)
    if parsed is None:
        logger.warning("ignoring object outside the upload layout", extra={"key": key})
        return IntakeOutcome.IGNORED
    tenant_id, job_id, name, kind = parsed
    etag = etag.strip('"')
    try:
        job = svc.store.jobs.require(job_id, tenant_id)
        tag_vendor(job.vendor)  # S3 sends one record per event: the invocation's vendor
        if job.comparison_id:
            raise UploadRefused(
                "ComparisonJob", f"job {job_id} takes its recordings from comparison {job.comparison_id}"
            )
        if kind == "pdf":
            if name not in job.documents:
                raise NotFound("DocumentNotFound", f"job {job_id} needs no document {name}")
            outcome = _record_document(svc, job, key, name, etag)
        else:
            outcome = _record_recording(svc, job, key, name, etag, size)
    except NotFound:
        logger.warning(
            "upload for an unknown job, sentence or document", extra={"job_id": job_id, "upload": name}
        )
        return IntakeOutcome.IGNORED
    except UploadRefused as refused:
        # No record points at it. A job that ended keeps no recordings (an expired or deleted job's
        # were deleted, and its upload forms may still be valid): what arrives after the end goes too.
        # Otherwise it is left where it landed, for the lifecycle rule.
        discarded = _discard_after_end(svc, job_id, key, accepted_key(tenant_id, job_id, name, etag, kind))
        logger.warning(
            "upload refused: the job does not wait for it",
            extra={"job_id": job_id, "upload": name, "reason": refused.code, "deleted": discarded},
        )
        return IntakeOutcome.REFUSED
    if outcome is IntakeOutcome.SUPERSEDED:
        logger.info("upload replaced before intake read it", extra={"job_id": job_id, "upload": name})
        return outcome
    changed = outcome is IntakeOutcome.RECORDED
    # Even a duplicate event re-evaluates the start: if an earlier attempt recorded the upload
    # and died before starting the workflow, the redelivered event finishes the work.
    job, sentences = svc.store.jobs.with_sentences(job_id)
    if (
        job.status not in UPLOAD_STATUSES
        or any(s.status in (SentenceStatus.PENDING_UPLOAD, SentenceStatus.REJECTED) for s in sentences)
        or not all(job.documents.values())
    ):
        return outcome
    # A job back from CHECK_FAILED gets a new execution, named for the round of checks it starts.
    name = job_id if job.check_failures == 0 else f"{job_id}-recheck-{job.check_failures}"
    return _start_workflow(svc, job, name, changed)


def _discard_after_end(svc: Services, job_id: str, key: str, kept: str) -> bool:
    """Delete a refused upload, and the copy intake may have kept of it, if its job has ended.

    The copy goes only if nothing refers to it: the same bytes posted again are the same ETag, so
    their copy may be one a sentence or document of the job already records.
    """
    try:
        job, sentences = svc.store.jobs.with_sentences(job_id)
    except NotFound:
        return False
    if not job.status.terminal:
        return False
    recorded = {s.s3_key for s in sentences}
    recorded |= {
        accepted_key(job.tenant_id, job_id, name, etag, "pdf") for name, etag in job.documents.items() if etag
    }
    keys = [key] + ([kept] if kept not in recorded else [])
    svc.s3.delete_objects(
        Bucket=svc.settings.bucket_name, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
    )
    return True


def _refuse_late(job: Job, what: str) -> None:
    if job.status not in UPLOAD_STATUSES:
        raise UploadRefused("JobNotAwaitingAudio", f"the job is {job.status.value}: it takes no {what} now")


def _record_recording(svc: Services, job: Job, key: str, text_id: str, etag: str, size: int) -> IntakeOutcome:
    """Keep and record one sentence's recording; UploadRefused when the job does not wait for it.

    The key ends in .wav whatever the format the client sent (its Content-Type, kept on the copy,
    says which): CheckSentence reads the bytes themselves, so the name carries no meaning."""
    sentence = svc.store.jobs.sentence(job.job_id, text_id)
    if sentence.upload_etag == etag and sentence.status is not SentenceStatus.REJECTED:
        return IntakeOutcome.DUPLICATE  # a repeated event (the store says the same, atomically)
    _refuse_late(job, "recordings")
    if sentence.status is SentenceStatus.PASSED:
        raise UploadRefused("SentencePassed", f"sentence {text_id} passed its check: it takes no upload")
    kept = accepted_key(job.tenant_id, job.job_id, text_id, etag, "wav")
    if not keep(svc, key, kept, etag):
        return IntakeOutcome.SUPERSEDED
    # The store checks all of the above again in one conditional write.
    changed = svc.store.jobs.record_upload(job.job_id, text_id, etag=etag, size=size, s3_key=kept)
    return IntakeOutcome.RECORDED if changed else IntakeOutcome.DUPLICATE


def _record_document(svc: Services, job: Job, key: str, name: str, etag: str) -> IntakeOutcome:
    """Keep and record a required document; UploadRefused when the job does not wait for it."""
    if job.documents.get(name) == etag:
        return IntakeOutcome.DUPLICATE
    _refuse_late(job, "documents")
    if not keep(svc, key, accepted_key(job.tenant_id, job.job_id, name, etag, "pdf"), etag):
        return IntakeOutcome.SUPERSEDED
    changed = False

    def record(current: Job) -> Job | None:
        nonlocal changed
        changed = current.documents.get(name) != etag
        if not changed:
            return None
        # Written only at the version read here, so this status is still the job's when it lands.
        _refuse_late(current, "documents")
        return current.model_copy(update={"documents": {**current.documents, name: etag}})

    svc.store.jobs.mutate(job.job_id, record)
    return IntakeOutcome.RECORDED if changed else IntakeOutcome.DUPLICATE


def keep(svc: Services, key: str, kept: str, etag: str) -> bool:
    """Copy the upload the event announced (that very ETag) to its kept key; False if it was replaced."""
    bucket = svc.settings.bucket_name
    try:
        svc.s3.copy_object(
            Bucket=bucket, Key=kept, CopySource={"Bucket": bucket, "Key": key}, CopySourceIfMatch=etag
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _SOURCE_GONE:
            return False
        raise
    return True


def _start_workflow(svc: Services, job: Job, name: str, changed: bool) -> IntakeOutcome:
    """Start the job's execution; its input names the vendor, which the workflow passes to every step."""
    job_id = job.job_id
    try:
        svc.sfn.start_execution(
            stateMachineArn=svc.settings.state_machine_arn,
            name=name,
            input=json.dumps({"job_id": job_id, "vendor": job.vendor}),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return IntakeOutcome.ALREADY_STARTED if changed else IntakeOutcome.DUPLICATE
        raise
    svc.store.jobs.mutate(
        job_id,
        lambda job: None if job.execution_name == name else job.model_copy(update={"execution_name": name}),
    )
    logger.info("all sentences uploaded; workflow started", extra={"job_id": job_id})
    return IntakeOutcome.STARTED
