"""Vendor callbacks: authenticate by the per-job token, confirm with the vendor, resume the workflow."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from voiceclone.domain.errors import VendorRejected
from voiceclone.domain.models import JobStatus
from voiceclone.logic.services import Services
from voiceclone.logic.workflow import record_vendor_result, resume_execution, take_token
from voiceclone.observability import logger


@dataclass(frozen=True)
class CallbackResult:
    status_code: int
    message: str


def handle_callback(
    svc: Services, vendor: str, job_id: str, token: str | None, body: bytes
) -> CallbackResult:
    job = svc.repo.get_job(job_id)
    if job is None or job.vendor != vendor:
        return CallbackResult(404, "unknown job")
    # Constant-time comparison; a job without a token (not yet submitted) accepts no callback.
    if (
        not token
        or not job.callback_token
        or not hmac.compare_digest(token.encode(), job.callback_token.encode())
    ):
        logger.warning("callback with a wrong token rejected", extra={"job_id": job_id})
        return CallbackResult(401, "invalid callback token")
    adapter = svc.adapter_for(vendor)
    try:
        hint = adapter.parse_callback(body)
    except VendorRejected as exc:
        return CallbackResult(400, exc.message)
    if hint.task_id != job.vendor_task_id:
        return CallbackResult(409, "the callback is for another task")
    if job.status is not JobStatus.TRAINING or job.vendor_status in ("SUCCEEDED", "FAILED"):
        return CallbackResult(200, "already processed")
    # The callback body is a hint only: act on what the vendor's status API says.
    confirmed = adapter.get_status(job.vendor_task_id)
    if not confirmed.state.finished:
        return CallbackResult(202, f"training is still {confirmed.state.value}")
    job = record_vendor_result(svc, job_id, confirmed, via_callback=True)
    if job.task_token and take_token(svc, job_id, job.task_token):
        resume_execution(svc, job.task_token, confirmed, vendor)
    logger.info("callback processed", extra={"job_id": job_id, "state": confirmed.state.value})
    return CallbackResult(200, "ok")
