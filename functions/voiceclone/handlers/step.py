"""What every workflow-step entry point shares: Powertools wiring, job id as correlation id, vendor."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from voiceclone.observability import log_metrics, logger, tag_vendor

StepHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def workflow_step(fn: StepHandler) -> StepHandler:
    """Wrap a step: structured logs keyed by job id and vendor, metrics by vendor flushed at the end.

    Errors propagate untouched: their class name is the error Step Functions retries or catches.
    """

    @logger.inject_lambda_context(correlation_id_path="job_id", log_event=False)
    @log_metrics
    @wraps(fn)
    def wrapped(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        tag_vendor(vendor_of_step(event))
        return fn(event, context)

    return wrapped


def vendor_of_step(event: dict[str, Any]) -> str | None:
    """The step's vendor, as its input names it: the workflow passes it to every step (infra/workflow.py).

    Only an input without it (expire_job's schedule names the job alone) costs a read of the job.
    """
    vendor = event.get("vendor")
    if isinstance(vendor, str) and vendor:
        return vendor
    job_id = event.get("job_id")
    return job_vendor(job_id) if isinstance(job_id, str) and job_id else None


def job_vendor(job_id: str) -> str | None:
    """The vendor on the job's record (one read); None for a job that does not exist: the step itself
    then fails as it would have."""
    from voiceclone.logic.services import services

    job = services().repo.get_job(job_id)
    return job.vendor if job is not None else None
