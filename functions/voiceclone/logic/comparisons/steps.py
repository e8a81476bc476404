"""The comparison workflow's steps: one vendor's end recorded as it comes, the comparison's end last.

The vendor's job is the truth of how it went: its status, voice and error are read from the job,
whatever the Map iteration saw of the training execution (a Catch also covers an execution that
never started, or was stopped: the job then says why, or the caught error does).
"""

from __future__ import annotations

from typing import Any

from voiceclone.domain.comparison import Comparison, ComparisonStatus, VendorOutcome, outcome_of
from voiceclone.domain.errors import parse_cause
from voiceclone.domain.models import Job, JobError, JobStatus, SentenceStatus, utcnow
from voiceclone.logic.core.services import Services
from voiceclone.observability import logger, metrics


def record_vendor(
    svc: Services, comparison_id: str, job_id: str, vendor: str, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Keep one vendor's outcome on the comparison: READY with its voice, or FAILED with its error."""
    job = svc.store.jobs.require(job_id)
    ready = job.status is JobStatus.SUCCEEDED and job.voice_id is not None
    voice = svc.store.voices.get(job.voice_id) if ready and job.voice_id else None
    failure = None if ready else (job.error or _failure(svc, job, vendor, error))

    def change(current: Comparison) -> Comparison | None:
        entry = current.vendor(vendor)
        if entry.outcome is not VendorOutcome.PENDING:
            return None
        now = utcnow()
        update: dict[str, Any] = {"ended_at": now}
        if ready:
            update |= {
                "outcome": VendorOutcome.READY,
                "voice_id": job.voice_id,
                "ready_at": voice.created_at if voice is not None else now,
            }
        else:
            update |= {"outcome": VendorOutcome.FAILED, "error": failure}
        vendors = [v.model_copy(update=update) if v is entry else v for v in current.vendors]
        return current.model_copy(update={"vendors": vendors})

    svc.store.comparisons.mutate(comparison_id, change)
    outcome = VendorOutcome.READY if ready else VendorOutcome.FAILED
    metrics.add_metric(name=f"ComparisonVendor{outcome.value.title()}", unit="Count", value=1)
    logger.info("comparison vendor ended", extra={"comparison_id": comparison_id, "outcome": outcome.value})
    return {"vendor": vendor, "outcome": outcome.value}


def record_facts_failed(
    svc: Services, comparison_id: str, job_id: str, vendor: str, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Keep on the vendor's entry why its voice's facts could not be measured; the voice stays READY.

    ``error`` is what the iteration's Catch caught of MeasureVoice: our error (FactsNotMeasured with
    the vendor's code), or the function's own end (its timeout) as Step Functions names it.
    """
    error = error or {}
    detail = parse_cause(error.get("Cause"))
    failure = JobError(
        error=str(detail.get("error") or error.get("Error") or "FactsNotMeasured"),
        code=str(detail.get("code") or error.get("Error") or ""),
        message=str(detail.get("message") or error.get("Cause") or "")[:2000],
        vendor=vendor,
    )

    def change(current: Comparison) -> Comparison | None:
        entry = current.vendor(vendor)
        if entry.facts is not None or entry.facts_error == failure:
            return None  # facts recorded after all are the truth
        vendors = [
            v.model_copy(update={"facts_error": failure}) if v is entry else v for v in current.vendors
        ]
        return current.model_copy(update={"vendors": vendors})

    svc.store.comparisons.mutate(comparison_id, change)
    metrics.add_metric(name="ComparisonFactsFailed", unit="Count", value=1)
    logger.warning(
        "comparison voice not measured",
        extra={"comparison_id": comparison_id, "job_id": job_id, "code": failure.code or failure.error},
    )
    return {"vendor": vendor, "facts_error": failure.code or failure.error}


def finish(svc: Services, comparison_id: str) -> dict[str, Any]:
    """The comparison's end, once every vendor's iteration is over: all ready, some failed, all failed.

    A vendor still PENDING here had its iteration end without its outcome recorded (the record
    step itself failed): its job is read now, so the end never waits on it.
    """
    comparison = svc.store.comparisons.require(comparison_id)
    for entry in comparison.vendors:
        if entry.outcome is VendorOutcome.PENDING:
            record_vendor(svc, comparison_id, entry.job_id, entry.vendor)

    def change(current: Comparison) -> Comparison | None:
        if current.status.terminal:
            return None
        status = outcome_of([v.outcome for v in current.vendors])
        return current.model_copy(update={"status": status, "ended_at": utcnow()})

    ended = svc.store.comparisons.mutate(comparison_id, change)
    status: ComparisonStatus = ended.status
    return {"status": status.value}


def _failure(svc: Services, job: Job, vendor: str, error: dict[str, Any] | None) -> JobError:
    """Why a vendor's job made no voice when the job itself records no error: its rejected takes
    (each with its reason), else what the iteration caught."""
    if job.status is JobStatus.CHECK_FAILED:
        _, sentences = svc.store.jobs.with_sentences(job.job_id)
        rejected = [s for s in sentences if s.status is SentenceStatus.REJECTED and s.check is not None]
        reasons = "; ".join(f"{s.text_id}: {s.check.code} {s.check.message}" for s in rejected if s.check)
        return JobError(
            error="SentencesRejected",
            code=rejected[0].check.code if rejected and rejected[0].check else "",
            message=f"takes rejected for {vendor}: {reasons}"[:2000],
            vendor=vendor,
        )
    return JobError(
        error=str((error or {}).get("Error") or "TrainingNotFinished"),
        message=f"the job is {job.status.value}",
        vendor=vendor,
    )
