"""Speech callbacks (asynchronous vendors): wake the speech workflow's wait when a vendor job ends.

SubmitSpeech gives each piece's vendor job a callback URL naming the speech
(``/v1/callbacks/{vendor}/{speech_id}?token=…``, the job callbacks' route: speech ids start
with ``sp-``) with a secret made once per speech. Neither vendor signs its callback, so the body
only names a job: that job is re-queried at the vendor (``get_synthesis``) and, when it has
ended, the task token AwaitSpeechCallback parked is sent (SendTaskSuccess), so PollSpeech asks
about every piece now rather than when the wait times out. A callback that comes while no token
is parked is remembered (``callback_pending``): the next AwaitSpeechCallback resumes at once.
"""

from __future__ import annotations

import json
import secrets

from voiceclone.domain.errors import VendorThrottled, VendorUnavailable
from voiceclone.domain.models import Speech
from voiceclone.logic.callbacks import CallbackResult, parse_callback_body
from voiceclone.logic.services import Services
from voiceclone.logic.speech import change_speech
from voiceclone.logic.task_tokens import answer_task, token_matches
from voiceclone.observability import logger

# Speech ids as the API issues them ("sp-" and 32 hex digits): the callback route tells them from job ids.
SPEECH_PREFIX = "sp-"


def is_speech_id(item_id: str) -> bool:
    return item_id.startswith(SPEECH_PREFIX)


def new_callback_token() -> str:
    return secrets.token_urlsafe(32)


def callback_url(svc: Services, speech: Speech) -> str | None:
    """Where the vendor calls back for this speech; None without an API URL or a token (polled only)."""
    if not svc.settings.api_url or not speech.callback_token:
        return None
    base = svc.settings.api_url.rstrip("/")
    return f"{base}/v1/callbacks/{speech.vendor}/{speech.speech_id}?token={speech.callback_token}"


def _wake(svc: Services, token: str, reason: str) -> bool:
    """SendTaskSuccess; False when the execution no longer waits on it (timed out to the poll, used)."""
    output = json.dumps({"woken_by": reason})
    return answer_task(lambda: svc.sfn.send_task_success(taskToken=token, output=output), "speech workflow")


def await_speech(svc: Services, speech_id: str, task_token: str) -> dict[str, bool]:
    """AwaitSpeechCallback: park the task token; a callback that came first resumes at once."""
    speech = svc.repo.find_speech(speech_id)
    if speech is None:
        raise RuntimeError(f"no speech {speech_id}")
    pending = False

    def park(current: Speech) -> Speech | None:
        nonlocal pending
        pending = current.callback_pending
        if pending:
            return current.model_copy(update={"task_token": None, "callback_pending": False})
        if current.task_token == task_token:
            return None
        return current.model_copy(update={"task_token": task_token})

    change_speech(svc, speech, park)
    if pending:
        _wake(svc, task_token, "callback")
    return {"parked": not pending}


def handle_speech_callback(
    svc: Services, vendor: str, speech_id: str, token: str | None, body: bytes
) -> CallbackResult:
    """A vendor's callback for one of a speech's jobs (the route and id already checked by the caller)."""
    speech = svc.repo.find_speech(speech_id)
    if speech is None or speech.vendor != vendor:
        return CallbackResult(404, "unknown speech", "SpeechNotFound")
    # Constant-time comparison; a speech without a token (nothing submitted yet) accepts no callback.
    if not token_matches(token, speech.callback_token):
        logger.warning("speech callback with a wrong token rejected", extra={"speech_id": speech_id})
        return CallbackResult(401, "invalid callback token", "InvalidCallbackToken")
    adapter = svc.adapter_for(vendor)
    job_id = parse_callback_body(
        adapter.parse_synthesis_callback, body, vendor, "unreadable speech callback", speech_id=speech_id
    )
    if isinstance(job_id, CallbackResult):
        return job_id
    if job_id not in speech.vendor_jobs:
        return CallbackResult(409, "the callback is for another job", "OtherJob")
    if speech.status.terminal:
        return CallbackResult(200, "already processed")
    # The body is a hint only: ask the vendor. Should it not answer, the wait times out to the poll.
    try:
        confirmed = adapter.get_synthesis(job_id)
    except (VendorThrottled, VendorUnavailable) as exc:
        return CallbackResult(
            503, f"cannot confirm with {vendor} now ({exc.code}): call again later", type(exc).__name__
        )
    if confirmed.state.value == "RUNNING":
        return CallbackResult(202, f"the speech job is still {confirmed.vendor_state or 'running'}")
    token_taken: str | None = None

    def take(current: Speech) -> Speech | None:
        nonlocal token_taken
        token_taken = current.task_token
        if current.task_token:
            return current.model_copy(update={"task_token": None, "callback_pending": False})
        if current.callback_pending or current.status.terminal:
            return None
        return current.model_copy(update={"callback_pending": True})

    change_speech(svc, speech, take)
    if token_taken:
        _wake(svc, token_taken, "callback")
    logger.info(
        "speech callback processed",
        extra={"speech_id": speech_id, "state": confirmed.state.value, "woke": bool(token_taken)},
    )
    return CallbackResult(200, "ok")
