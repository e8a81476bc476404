"""No comparison waits forever for its takes: its deadline, its one schedule, and what its firing does.

A comparison gets the deadline a job gets (the same setting), and its vendors' jobs the same
moment. Its schedule is a job's kind (voiceclone.logic.training.expiry.put_schedule: one ``at(...)``
schedule, deleted after it fires) and invokes the same expire_job function, whose input then names
the comparison: :func:`on_schedule` tells the two apart. So expiry keeps one function, one role and
one schedule group, and the functions that create comparisons (the api) may already arm schedules.

:func:`expire_comparison` ends the comparison EXPIRED only while it still waits for takes
(AWAITING_AUDIO) and its deadline has passed, in a write conditioned on the version it read: the
last take's intake, which moves it to TRAINING in the same kind of write, and the expiry cannot both
win. Then its kept takes and uploads go (the jobs' deletion, voiceclone.logic.training.cleanup), and
each vendor's job is expired by the jobs' own expiry, which ends it EXPIRED if it still waits.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from voiceclone.domain.base import BaseModel
from voiceclone.domain.comparison import Comparison, ComparisonStatus
from voiceclone.domain.models import JobError, utcnow
from voiceclone.domain.steps import ExpiryEvent
from voiceclone.logic.core.keys import accepted_key, comparison_upload_key, document_key, job_prefixes
from voiceclone.logic.core.services import Services
from voiceclone.logic.training import expiry
from voiceclone.logic.training.cleanup import delete_keys
from voiceclone.logic.training.expiry import ExpiryOutcome, ExpiryResult
from voiceclone.observability import logger, metrics

ERROR_CODE = "ComparisonExpired"


class ComparisonExpiryResult(BaseModel):
    comparison_id: str
    outcome: ExpiryOutcome
    objects_deleted: int = 0
    # Each vendor's job, as the jobs' expiry left it.
    jobs: dict[str, ExpiryOutcome] = Field(default_factory=dict)


def on_schedule(
    svc: Services, job_id: str = "", comparison_id: str = "", due_at: datetime | None = None
) -> ExpiryResult | ComparisonExpiryResult:
    """The expire_job function: the schedule that fired names a comparison or a job."""
    if comparison_id:
        return expire_comparison(svc, comparison_id, due_at=due_at)
    return expiry.expire_job(svc, job_id, due_at=due_at)


def arm(svc: Services, comparison_id: str, at: datetime) -> None:
    """Create the comparison's schedule for ``at`` (or move it there)."""
    expiry.put_schedule(
        svc,
        expiry.schedule_name(comparison_id),  # "expire-cmp-…": no job id starts with "cmp-"
        at,
        f"voiceclone: expire comparison {comparison_id} if it still waits for takes",
        ExpiryEvent(comparison_id=comparison_id, due_at=at),
    )


def why_not(comparison: Comparison, now: datetime) -> ExpiryOutcome | None:
    """None when the comparison is to expire now; else why not (it moved on, or it is not due yet)."""
    if comparison.status is not ComparisonStatus.AWAITING_AUDIO:
        return ExpiryOutcome.NOT_WAITING
    if comparison.deadline_at is not None and comparison.deadline_at > now:
        return ExpiryOutcome.NOT_DUE
    return None


def expire_comparison(
    svc: Services, comparison_id: str, now: datetime | None = None, due_at: datetime | None = None
) -> ComparisonExpiryResult:
    """End the comparison EXPIRED if it still waits past its deadline; delete its takes; expire its jobs.

    ``due_at``: the moment the schedule that fired was armed for. A fire before the deadline arms
    the schedule again, as a job's does.
    """
    moment = now or utcnow()
    comparison = svc.store.comparisons.get(comparison_id)
    if comparison is None:
        logger.info("expiry for a comparison that does not exist", extra={"comparison_id": comparison_id})
        return ComparisonExpiryResult(comparison_id=comparison_id, outcome=ExpiryOutcome.NOT_FOUND)
    if comparison.status is not ComparisonStatus.EXPIRED:
        error = JobError(error=ERROR_CODE, code=ERROR_CODE, message=_message(svc, comparison))

        def expire(current: Comparison) -> Comparison | None:
            if why_not(current, moment) is not None:
                return None
            return current.model_copy(
                update={"status": ComparisonStatus.EXPIRED, "error": error, "ended_at": moment}
            )

        comparison = svc.store.comparisons.mutate(comparison_id, expire)
        if comparison.status is not ComparisonStatus.EXPIRED:
            outcome = why_not(comparison, moment) or ExpiryOutcome.NOT_WAITING
            if outcome is ExpiryOutcome.NOT_DUE:
                assert comparison.deadline_at is not None
                arm(svc, comparison_id, expiry.rearm_at(comparison.deadline_at, due_at))
            logger.info("comparison not expired", extra={"comparison_id": comparison_id, "reason": outcome})
            return ComparisonExpiryResult(comparison_id=comparison_id, outcome=outcome)
        metrics.add_metric(name="ComparisonExpired", unit="Count", value=1)
    # EXPIRED (now, or by an earlier run that stopped half-way): the rest is idempotent.
    return _clean_up(svc, comparison, moment)


def _message(svc: Services, comparison: Comparison) -> str:
    """What never arrived, by name: the takes (consent first) and the documents."""
    missing = []
    if comparison.missing_takes:
        missing.append(_named("take", comparison.missing_takes))
    if comparison.missing_documents:
        missing.append(_named("document", comparison.missing_documents))
    return (
        f"{' and '.join(missing) or 'the takes'} did not arrive within {expiry.expiry_window(svc)}; "
        "create a new comparison"
    )


def _named(kind: str, names: list[str]) -> str:
    return f"the {kind}{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _clean_up(svc: Services, comparison: Comparison, moment: datetime) -> ComparisonExpiryResult:
    tenant_id, cid = comparison.tenant_id, comparison.comparison_id
    keys = [t.s3_key for t in comparison.takes if t.s3_key]
    keys += [comparison_upload_key(tenant_id, cid, t.text_id) for t in comparison.takes]
    keys += [document_key(tenant_id, cid, name) for name in comparison.documents]
    keys += [accepted_key(tenant_id, cid, n, etag, "pdf") for n, etag in comparison.documents.items() if etag]
    deleted = delete_keys(svc, keys, job_prefixes(tenant_id, cid))
    jobs = {v.job_id: expiry.expire_job(svc, v.job_id, now=moment).outcome for v in comparison.vendors}
    logger.info(
        "comparison expired",
        extra={
            "comparison_id": cid,
            "objects_deleted": deleted,
            "jobs": {k: v.value for k, v in jobs.items()},
        },
    )
    return ComparisonExpiryResult(
        comparison_id=cid, outcome=ExpiryOutcome.EXPIRED, objects_deleted=deleted, jobs=jobs
    )
