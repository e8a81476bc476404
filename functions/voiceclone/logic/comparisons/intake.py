"""A comparison's upload: each take kept once, then, when all are in, handed to every vendor's job.

A take's presigned form writes to ``uploads/<tenant>/<cmp-id>/<text_id>.wav``; intake keeps a copy
of that very object (its ETag) under the comparison's recordings, as it does for a job, and records
it on the comparison while the comparison waits for takes (one that arrives after the comparison
ended, as an expired one has, is refused and deleted). When the last take and document are in,
the comparison moves to TRAINING and each vendor's job gets its share: the kept take copied to the
job's own recordings under the vendor's text id and recorded on the job's sentence, as if uploaded
for it; then the comparison workflow starts, which trains every vendor's job in the training
workflow. The checks and the fitting to each vendor (its rate, format, joined window) are the
training workflow's, untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from botocore.exceptions import ClientError

from voiceclone.domain.comparison import Comparison, ComparisonStatus, ComparisonVendor, TakeRecord
from voiceclone.domain.consent import CONSENT_TEXT_ID
from voiceclone.domain.errors import NotFound, UploadRefused
from voiceclone.domain.models import Job, utcnow
from voiceclone.logic.core.keys import accepted_key
from voiceclone.logic.core.services import Services
from voiceclone.logic.training.cleanup import delete_keys
from voiceclone.logic.training.intake import IntakeOutcome, keep
from voiceclone.observability import logger


def handle_upload(
    svc: Services, tenant_id: str, comparison_id: str, name: str, kind: str, key: str, size: int, etag: str
) -> IntakeOutcome:
    """Keep and record one take or document of a comparison; start it when nothing is missing."""
    etag = etag.strip('"')
    try:
        comparison = svc.store.comparisons.require(comparison_id, tenant_id)
        outcome = _record(svc, comparison, name, kind, key, size, etag)
    except NotFound:
        logger.warning("upload for an unknown comparison or take", extra={"comparison_id": comparison_id})
        return IntakeOutcome.IGNORED
    except UploadRefused as refused:
        kept = accepted_key(tenant_id, comparison_id, name, etag, kind)
        discarded = _discard_after_end(svc, comparison_id, key, kept)
        logger.warning(
            "upload refused: the comparison does not wait for it",
            extra={
                "comparison_id": comparison_id,
                "upload": name,
                "reason": refused.code,
                "deleted": discarded,
            },
        )
        return IntakeOutcome.REFUSED
    if outcome is IntakeOutcome.SUPERSEDED:
        return outcome
    # A duplicate event re-evaluates the start too: an earlier attempt may have died before it.
    comparison = svc.store.comparisons.require(comparison_id)
    if not comparison.complete or comparison.execution_name:
        return outcome
    return start(svc, comparison)


def _record(
    svc: Services, comparison: Comparison, name: str, kind: str, key: str, size: int, etag: str
) -> IntakeOutcome:
    if kind == "pdf":
        if name not in comparison.documents:
            raise NotFound(
                "DocumentNotFound", f"comparison {comparison.comparison_id} needs no document {name}"
            )
        if comparison.documents[name] == etag:
            return IntakeOutcome.DUPLICATE
    else:
        take = next((t for t in comparison.takes if t.text_id == name), None)
        if take is None:
            raise NotFound("TakeNotFound", f"comparison {comparison.comparison_id} has no take {name}")
        if take.etag == etag:
            return IntakeOutcome.DUPLICATE
    _refuse_late(comparison)
    kept = accepted_key(comparison.tenant_id, comparison.comparison_id, name, etag, kind)
    if not keep(svc, key, kept, etag):
        return IntakeOutcome.SUPERSEDED

    def change(current: Comparison) -> Comparison | None:
        _refuse_late(current)
        if kind == "pdf":
            if current.documents.get(name) == etag:
                return None
            return current.model_copy(update={"documents": {**current.documents, name: etag}})
        recorded = TakeRecord(
            text_id=name,
            text=next(t.text for t in current.takes if t.text_id == name),
            etag=etag,
            size=size,
            s3_key=kept,
            uploaded_at=utcnow(),
        )
        if any(t.text_id == name and t.etag == etag for t in current.takes):
            return None
        return current.model_copy(
            update={"takes": [recorded if t.text_id == name else t for t in current.takes]}
        )

    svc.store.comparisons.mutate(comparison.comparison_id, change)
    return IntakeOutcome.RECORDED


def _discard_after_end(svc: Services, comparison_id: str, key: str, kept: str) -> bool:
    """Delete a refused upload, and the copy intake may have kept of it, if the comparison has ended.

    As for a job: an ended comparison keeps nothing it did not record (an expired one's takes were
    deleted, and its upload forms may still be valid). The copy stays if a take or document records
    it (the same bytes posted again are the same ETag). One still training leaves it to the
    lifecycle rule.
    """
    comparison = svc.store.comparisons.require(comparison_id)
    if not comparison.status.terminal:
        return False
    recorded = {t.s3_key for t in comparison.takes}
    recorded |= {
        accepted_key(comparison.tenant_id, comparison_id, name, etag, "pdf")
        for name, etag in comparison.documents.items()
        if etag
    }
    delete_keys(svc, [key] + ([kept] if kept not in recorded else []))
    return True


def _refuse_late(comparison: Comparison) -> None:
    if comparison.status is not ComparisonStatus.AWAITING_AUDIO:
        raise UploadRefused(
            "ComparisonNotAwaitingAudio",
            f"the comparison is {comparison.status.value}: it takes no uploads now",
        )


def start(svc: Services, comparison: Comparison) -> IntakeOutcome:
    """Move the comparison to TRAINING, hand every vendor's job its takes and documents, then start the
    comparison workflow (once).

    TRAINING is written first, conditioned on the version read while it still waited: the comparison's
    expiry writes the same way, so exactly one of them wins. One that expired meanwhile hands nothing
    over and starts nothing; one already training (a redelivered event) finishes what was begun.
    """

    def begin(current: Comparison) -> Comparison | None:
        if current.status is not ComparisonStatus.AWAITING_AUDIO:
            return None
        return current.model_copy(
            update={"status": ComparisonStatus.TRAINING, "takes_completed_at": utcnow()}
        )

    comparison = svc.store.comparisons.mutate(comparison.comparison_id, begin)
    cid = comparison.comparison_id
    if comparison.status is not ComparisonStatus.TRAINING:
        logger.warning("every take in, but the comparison has ended", extra={"comparison_id": cid})
        return IntakeOutcome.REFUSED
    for entry in comparison.vendors:
        _hand_over(svc, comparison, entry)
    execution_input = {
        "comparison_id": cid,
        "takes": [t.text_id for t in comparison.takes],
        "jobs": [{"job_id": v.job_id, "vendor": v.vendor} for v in comparison.vendors],
    }
    try:
        svc.sfn.start_execution(
            stateMachineArn=svc.settings.comparison_state_machine_arn,
            name=cid,
            input=json.dumps(execution_input),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return IntakeOutcome.ALREADY_STARTED
        raise
    svc.store.comparisons.mutate(
        cid,
        lambda current: (
            None if current.execution_name else current.model_copy(update={"execution_name": cid})
        ),
    )
    logger.info("every take uploaded; comparison workflow started", extra={"comparison_id": cid})
    return IntakeOutcome.STARTED


def _hand_over(svc: Services, comparison: Comparison, entry: ComparisonVendor) -> None:
    """One vendor's job gets its share of the takes (under its own text ids) and its documents.

    Each is the comparison's kept object copied to the job's own recordings, so the job's checks,
    conversions and cleanup work as for any job. A job that no longer waits (cancelled, expired)
    takes nothing: its training execution then ends at once, and the comparison records why.
    """
    takes = {t.text_id: t for t in comparison.takes}
    share = dict(entry.text_ids)
    if CONSENT_TEXT_ID in takes:
        share[CONSENT_TEXT_ID] = CONSENT_TEXT_ID
    bucket, tenant_id, job_id = svc.settings.bucket_name, comparison.tenant_id, entry.job_id
    try:
        for take_id, text_id in share.items():
            take = takes[take_id]
            kept = accepted_key(tenant_id, job_id, text_id, take.etag, "wav")
            svc.s3.copy_object(Bucket=bucket, Key=kept, CopySource={"Bucket": bucket, "Key": take.s3_key})
            svc.store.jobs.record_upload(job_id, text_id, etag=take.etag, size=take.size, s3_key=kept)
        job = svc.store.jobs.require(job_id)
        for name in job.documents:
            etag = comparison.documents[name]
            source = accepted_key(tenant_id, comparison.comparison_id, name, etag, "pdf")
            target = accepted_key(tenant_id, job_id, name, etag, "pdf")
            svc.s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source})
            svc.store.jobs.mutate(job_id, _with_document(name, etag))
    except UploadRefused as refused:
        logger.warning("vendor job takes no takes", extra={"job_id": job_id, "reason": refused.code})
        return
    svc.store.jobs.mutate(
        job_id,
        lambda current: (
            None
            if current.execution_name == job_id
            else current.model_copy(update={"execution_name": job_id})
        ),
    )


def _with_document(name: str, etag: str) -> Callable[[Job], Job | None]:
    """The change that records a document's upload on a job (None: it is recorded already)."""

    def change(current: Job) -> Job | None:
        if current.documents.get(name) == etag:
            return None
        return current.model_copy(update={"documents": {**current.documents, name: etag}})

    return change
