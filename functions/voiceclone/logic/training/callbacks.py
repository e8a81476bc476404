"""A training callback (voiceclone.logic.core.tasks): confirm the vendor's result, keep it, resume the run.

The job's vendor task is named by the body; the body is a hint only: the vendor's status API
is asked, and a finished training is recorded on the job (once) before the task token that
AwaitCallback parked is answered. A callback that comes before AwaitCallback has parked its
token is kept on the job, and AwaitCallback resumes at once (voiceclone.logic.training.steps).
"""

from __future__ import annotations

from collections.abc import Callable

from voiceclone.domain.errors import VendorError
from voiceclone.domain.models import Job, JobStatus
from voiceclone.logic.core.services import Services
from voiceclone.logic.core.tasks import CallbackResult
from voiceclone.logic.training.steps import (
    note_vendor_error,
    record_vendor_result,
    resume_execution,
    take_token,
)
from voiceclone.observability import logger
from voiceclone.vendors.base import TrainingStatus, VendorAdapter


class TrainingCallbacks:
    """The training kind of vendor task callback."""

    what = "job"
    not_found = "JobNotFound"

    def load(self, svc: Services, owner_id: str) -> Job | None:
        return svc.store.jobs.get(owner_id)

    def parse(self, adapter: VendorAdapter) -> Callable[[bytes], TrainingStatus]:
        return adapter.parse_callback

    def act(self, svc: Services, adapter: VendorAdapter, owner: Job, hint: TrainingStatus) -> CallbackResult:
        job = owner
        if hint.task_id != job.vendor_task_id:
            return CallbackResult(409, "the callback is for another task", "OtherTask")
        if job.status is not JobStatus.TRAINING or job.vendor_status in ("SUCCEEDED", "FAILED"):
            return CallbackResult(200, "already processed")
        confirmed = adapter.get_status(job.vendor_task_id)
        if not confirmed.state.finished:
            return CallbackResult(202, f"training is still {confirmed.state.value}")
        job = record_vendor_result(svc, job.job_id, confirmed, via_callback=True)
        if job.task_token and take_token(svc, job.job_id, job.task_token):
            resume_execution(svc, job.task_token, confirmed, job.vendor)
        logger.info("callback processed", extra={"job_id": job.job_id, "state": confirmed.state.value})
        return CallbackResult(200, "ok")

    def vendor_unavailable(self, svc: Services, owner: Job, error: VendorError) -> None:
        """The job shows the error while the service waits it out (GET /v1/jobs/{id})."""
        note_vendor_error(svc, owner.job_id, error)


TRAINING_CALLBACKS = TrainingCallbacks()
