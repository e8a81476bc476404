"""No job waits forever: one EventBridge Scheduler schedule per waiting job, and what happens when it fires.

A job is given a deadline (``Job.deadline_at``) when it is created, and a new one each
time it goes back to CHECK_FAILED (the client then has the full time again to record the
rejected sentences). :func:`arm` creates (or moves) the job's one-time schedule, an
``at(...)`` expression that invokes the expire_job function once and is then deleted by
Scheduler itself (ActionAfterCompletion DELETE). Nothing runs and nothing is paid while a
job waits; a job that moved on keeps its schedule, which then finds nothing to do.

:func:`expire_job` is that invocation: it re-reads the job and ends it EXPIRED only if it
still waits for recordings (AWAITING_AUDIO or CHECK_FAILED) and its deadline has passed, in
a write conditioned on the version it read (a late upload or a re-armed deadline wins). Then
the recordings go from S3 (the same deletion as a deleted voice's) and the vendor is told
where something was created there (its task, e.g. a Qiniu slot or a Huawei job sent back for
re-recording), or the job's note says why it could not be.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.base import BaseModel
from voiceclone.domain.models import UPLOAD_STATUSES, Job, JobError, JobStatus, utcnow
from voiceclone.domain.steps import ExpiryEvent
from voiceclone.logic.core.services import Services
from voiceclone.logic.training.cleanup import cancel_vendor_task, delete_job_recordings, keep_note
from voiceclone.observability import logger, metrics

SCHEDULE_PREFIX = "expire-"
ERROR_CODE = "JobExpired"


class ExpiryOutcome(StrEnum):
    EXPIRED = "expired"  # ended EXPIRED now (or found so, and cleaned up again)
    NOT_WAITING = "not_waiting"  # the job moved on (checked, training, ended): left as it is
    NOT_DUE = "not_due"  # its deadline was moved later (a new CHECK_FAILED): that schedule counts
    NOT_FOUND = "not_found"  # no such job (a create that failed after arming its schedule)


class ExpiryResult(BaseModel):
    job_id: str
    outcome: ExpiryOutcome
    objects_deleted: int = 0
    note: str | None = None


def schedule_name(job_id: str) -> str:
    """The job's one schedule (at most 64 characters: job ids are 32)."""
    return f"{SCHEDULE_PREFIX}{job_id}"


def deadline(svc: Services, now: datetime | None = None) -> datetime:
    """When a job that starts waiting now expires, to the whole second (Scheduler's resolution)."""
    start = now or utcnow()
    due = start + timedelta(seconds=svc.settings.job_expiry_seconds)
    return due.replace(microsecond=0) + timedelta(seconds=1 if due.microsecond else 0)


def expiry_message(svc: Services) -> str:
    return f"the recordings did not arrive within {expiry_window(svc)}; create a new job"


def expiry_window(svc: Services) -> str:
    """How long a job (or comparison) waits for its recordings, in words ("7 days")."""
    return _duration(svc.settings.job_expiry_seconds)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def arm(svc: Services, job: Job, at: datetime | None = None) -> None:
    """Create the job's schedule for ``at`` (default ``job.deadline_at``), or move it there if it exists."""
    if job.deadline_at is None:
        return
    when = at or job.deadline_at
    put_schedule(
        svc,
        schedule_name(job.job_id),
        when,
        f"voiceclone: expire job {job.job_id} if it still waits for recordings",
        ExpiryEvent(job_id=job.job_id, due_at=when.astimezone(UTC)),
    )


def put_schedule(svc: Services, name: str, when: datetime, description: str, event: ExpiryEvent) -> None:
    """Create the one-time schedule ``name`` that sends ``event`` to the expire function at ``when``, or
    move it there if it exists (a job's deadline moved, or an early fire re-arms it).

    A job's and a comparison's schedules alike. Without a configured target (unit tests, a stack
    without expiry) nothing is armed.
    """
    settings = svc.settings
    if not (settings.expiry_function_arn and settings.expiry_role_arn):
        logger.debug("expiry is not configured; no schedule", extra={"schedule": name})
        return
    when = when.astimezone(UTC)
    request: dict[str, Any] = {
        "Name": name,
        "ScheduleExpression": f"at({when:%Y-%m-%dT%H:%M:%S})",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "Description": description,
        "Target": {
            "Arn": settings.expiry_function_arn,
            "RoleArn": settings.expiry_role_arn,
            "Input": event.model_dump_json(exclude_defaults=True),
        },
    }
    if settings.expiry_schedule_group:
        request["GroupName"] = settings.expiry_schedule_group
    try:
        svc.scheduler.create_schedule(**request)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConflictException":
            raise
        svc.scheduler.update_schedule(**request)
    logger.info("expiry armed", extra={"schedule": name, "expires_at": when.isoformat()})


def expire_job(
    svc: Services, job_id: str, now: datetime | None = None, due_at: datetime | None = None
) -> ExpiryResult:
    """End the job EXPIRED if it still waits past its deadline; delete its recordings; tell the vendor.

    ``due_at``: the moment the schedule that fired was armed for (its Input says).
    """
    moment = now or utcnow()
    job = svc.store.jobs.get(job_id)
    if job is None:
        logger.info("expiry for a job that does not exist", extra={"job_id": job_id})
        return ExpiryResult(job_id=job_id, outcome=ExpiryOutcome.NOT_FOUND)
    if job.status is not JobStatus.EXPIRED:
        outcome = _why_not(job, moment)
        if outcome is ExpiryOutcome.NOT_DUE:
            _rearm(svc, job, due_at)
        if outcome is not None:
            logger.info("job not expired", extra={"job_id": job_id, "reason": outcome.value})
            return ExpiryResult(job_id=job_id, outcome=outcome)
        error = JobError(error=ERROR_CODE, code=ERROR_CODE, message=expiry_message(svc), vendor=job.vendor)

        def expire(current: Job) -> Job | None:
            if _why_not(current, moment) is not None:
                return None
            return current.model_copy(update={"status": JobStatus.EXPIRED, "error": error})

        # Conditioned on the version read: an upload or a re-armed deadline in between wins.
        job = svc.store.jobs.mutate(job_id, expire)
        if job.status is not JobStatus.EXPIRED:
            outcome = _why_not(job, moment) or ExpiryOutcome.NOT_WAITING
            if outcome is ExpiryOutcome.NOT_DUE:
                _rearm(svc, job, due_at)
            return ExpiryResult(job_id=job_id, outcome=outcome)
        metrics.add_metric(name="JobExpired", unit="Count", value=1)
    # EXPIRED (now, or by an earlier run of this schedule that stopped half-way): the rest is idempotent.
    return _clean_up(svc, job)


def _rearm(svc: Services, job: Job, fired_for: datetime | None) -> None:
    """A schedule fired before the job's deadline: make sure one still stands for it (:func:`rearm_at`)."""
    assert job.deadline_at is not None  # NOT_DUE: the job has a deadline in the future
    arm(svc, job, at=rearm_at(job.deadline_at, fired_for))
    logger.info("expiry fired before the deadline: armed again", extra={"job_id": job.job_id})


def rearm_at(deadline_at: datetime, fired_for: datetime | None) -> datetime:
    """When the schedule that fired for ``fired_for``, before ``deadline_at`` came, is to fire again.

    Scheduler deletes a one-time schedule once it has fired, unless it was moved meanwhile. If the
    deadline moved later since this schedule was armed, the schedule is moved there (again). If it
    fired early for the deadline itself (Scheduler's clock, or ours), it is moved a second past the
    time it was armed for: a time it does not have already, so it is not deleted, and each early
    fire comes closer, never back to the same moment.
    """
    if fired_for is None or fired_for < deadline_at:
        return deadline_at
    return fired_for.replace(microsecond=0) + timedelta(seconds=1)


def _why_not(job: Job, now: datetime) -> ExpiryOutcome | None:
    if job.status not in UPLOAD_STATUSES:
        return ExpiryOutcome.NOT_WAITING
    if job.deadline_at is not None and job.deadline_at > now:
        return ExpiryOutcome.NOT_DUE
    return None


def _clean_up(svc: Services, job: Job) -> ExpiryResult:
    deleted = delete_job_recordings(svc, job.job_id)
    note = cancel_vendor_task(svc, job)
    if job.note != note:
        keep_note(svc, job.job_id, note)
    logger.info(
        "job expired",
        extra={"job_id": job.job_id, "objects_deleted": deleted, "vendor_task": bool(job.vendor_task_id)},
    )
    return ExpiryResult(job_id=job.job_id, outcome=ExpiryOutcome.EXPIRED, objects_deleted=deleted, note=note)


def event_of(payload: dict[str, Any] | str) -> ExpiryEvent:
    """The schedule's Input as the function receives it (a JSON object; a string of JSON is accepted too)."""
    return ExpiryEvent.model_validate(json.loads(payload) if isinstance(payload, str) else payload)
