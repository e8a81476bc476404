"""Vendor callbacks: authenticate by the per-job token, confirm with the vendor, resume the workflow."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from voiceclone.domain.errors import VendorError, VendorThrottled, VendorUnavailable
from voiceclone.domain.models import JobStatus
from voiceclone.logic.services import Services
from voiceclone.logic.task_tokens import token_matches
from voiceclone.logic.workflow import note_vendor_error, record_vendor_result, resume_execution, take_token
from voiceclone.observability import logger

# The largest callback body taken: every vendor's callback is a small JSON document (a few KB at
# most); anything bigger is refused with 413 before it is read.
MAX_CALLBACK_BYTES = 256 * 1024
# Job and vendor ids as the service issues them: anything else names no job (and never reaches DynamoDB).
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class CallbackResult:
    status_code: int
    message: str
    # Set on every refusal (4xx, 5xx): a stable name of what went wrong, as the REST API's `error`.
    error: str | None = None

    def body(self) -> dict[str, str]:
        return {"error": self.error, "message": self.message} if self.error else {"message": self.message}


Parsed = TypeVar("Parsed")


def parse_callback_body(
    parse: Callable[[bytes], Parsed], body: bytes, vendor: str, unreadable: str, **log_keys: str
) -> Parsed | CallbackResult:
    """The adapter's reading of a callback body, or the 400 that says the body is no callback of `vendor`'s.

    Parsing does no I/O, so whatever it raises is the body's fault; the unexpected is logged with
    `unreadable` and `log_keys` (the job's or speech's id).
    """
    try:
        return parse(body)
    except VendorError as exc:
        return CallbackResult(400, exc.message, "BadCallback")
    except Exception as exc:  # noqa: BLE001 - parsing only, no I/O: whatever fails is the body's fault
        logger.warning(unreadable, extra={**log_keys, "error": type(exc).__name__})
        return CallbackResult(400, f"the callback body is not a {vendor} callback", "BadCallback")


def handle_callback(
    svc: Services, vendor: str, job_id: str, token: str | None, body: bytes
) -> CallbackResult:
    if len(body) > MAX_CALLBACK_BYTES:
        return CallbackResult(413, f"the callback body is over {MAX_CALLBACK_BYTES} bytes", "PayloadTooLarge")
    if not ID.match(vendor) or not ID.match(job_id):
        return CallbackResult(404, "unknown job", "JobNotFound")
    if job_id.startswith("sp-"):
        # A speech's vendor job (voiceclone.logic.speech_callbacks), loaded only when one calls.
        from voiceclone.logic.speech_callbacks import handle_speech_callback

        return handle_speech_callback(svc, vendor, job_id, token, body)
    job = svc.repo.get_job(job_id)
    if job is None or job.vendor != vendor:
        return CallbackResult(404, "unknown job", "JobNotFound")
    # Constant-time comparison; a job without a token (not yet submitted) accepts no callback.
    if not token_matches(token, job.callback_token):
        logger.warning("callback with a wrong token rejected", extra={"job_id": job_id})
        return CallbackResult(401, "invalid callback token", "InvalidCallbackToken")
    adapter = svc.adapter_for(vendor)
    hint = parse_callback_body(
        adapter.parse_callback, body, vendor, "unreadable callback body", job_id=job_id
    )
    if isinstance(hint, CallbackResult):
        return hint
    if hint.task_id != job.vendor_task_id:
        return CallbackResult(409, "the callback is for another task", "OtherTask")
    if job.status is not JobStatus.TRAINING or job.vendor_status in ("SUCCEEDED", "FAILED"):
        return CallbackResult(200, "already processed")
    # The callback body is a hint only: act on what the vendor's status API says. When that API is
    # throttled or down, the job shows the error and 503 asks the vendor to call again; should it
    # not, the workflow polls once its wait for the callback times out: the outage fails nothing.
    try:
        confirmed = adapter.get_status(job.vendor_task_id)
    except (VendorThrottled, VendorUnavailable) as exc:
        note_vendor_error(svc, job_id, exc)
        return CallbackResult(
            503, f"cannot confirm with {vendor} now ({exc.code}): call again later", type(exc).__name__
        )
    if not confirmed.state.finished:
        return CallbackResult(202, f"training is still {confirmed.state.value}")
    job = record_vendor_result(svc, job_id, confirmed, via_callback=True)
    if job.task_token and take_token(svc, job_id, job.task_token):
        resume_execution(svc, job.task_token, confirmed, vendor)
    logger.info("callback processed", extra={"job_id": job_id, "state": confirmed.state.value})
    return CallbackResult(200, "ok")
