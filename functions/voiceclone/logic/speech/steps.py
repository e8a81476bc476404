"""The speech workflow's steps (asynchronous vendors): submit the pieces, poll them, finish, or fail.

infra/speech_workflow.py is the one definition of the state machine; each of its Lambda tasks is
a thin handler over one function here. The speech was recorded RUNNING by the API
(voiceclone.logic.speech.service); every path out of the workflow ends it SUCCEEDED or FAILED:

* ``submit``: one vendor job per piece of the text, each recorded on the speech as soon as it
  is started, so a retried submit (throttling) never starts a piece twice;
* ``await_callback``: AwaitSpeechCallback parks its task token on the speech; a vendor's callback
  (voiceclone.logic.speech.callbacks) wakes it, else it times out after the poll's wait; a
  callback that came while no token was parked is remembered, and the next wait resumes at once;
* ``poll``: asks the vendor about the jobs not done yet; a failed job raises the vendor's error
  (the workflow's catch marks the speech FAILED with its code); past the deadline SpeechTimedOut;
  otherwise the next wait, growing from the vendor's pace;
* ``finish`` (its own module, voiceclone.logic.speech.finish: the one step that labels, so the
  only one that carries the labelling library): fetches each job's audio, joins, labels and
  stores it, records the speech SUCCEEDED and counts its characters in the usage;
* ``mark_failed``: the catch-all, with the error the workflow caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from voiceclone.domain.errors import VendorRejected, VoicecloneError, parse_cause
from voiceclone.domain.models import JobError, Speech, SpeechStatus
from voiceclone.domain.polling import PollOutcome, PollState, SpeechProgress
from voiceclone.domain.steps import SpeechInput
from voiceclone.logic.core import polling
from voiceclone.logic.core.services import Services
from voiceclone.logic.core.tasks import answer_task, callback_url, new_callback_token
from voiceclone.observability import count, logger
from voiceclone.vendors.registry import capabilities
from voiceclone.vendors.speech import SynthesisRequest, SynthesisState

# A piece whose vendor job is being started: a retry finds it (find_synthesis) before starting another.
STARTING = "?"


class SpeechTimedOut(VoicecloneError):
    """The vendor did not finish the speech before the speech deadline."""


def _first_poll(svc: Services, vendor: str) -> PollState:
    caps = capabilities(vendor)
    return polling.first_poll(svc, caps.speech_poll_seconds, caps.speech_poll_max_seconds)


def _change(svc: Services, speech: Speech, change: Callable[[Speech], Speech | None]) -> Speech:
    return svc.store.speech.mutate(speech, change)


def submit(svc: Services, speech: SpeechInput) -> SpeechProgress:
    """Start a vendor job for every piece not started yet (in order); record each one at once.

    Each piece is marked STARTING before its create: a retry that finds the mark (the create's
    answer was lost, or the step died after it) asks the vendor for the job first.
    """
    inp = speech
    record = svc.store.speech.get(inp.speech_id, inp.tenant_id)
    voice = svc.store.voices.require(record.voice_id, inp.tenant_id)
    adapter = svc.adapter_for(inp.vendor)
    # One callback secret per speech, made once and kept for every retry of this step.
    record = _change(svc, record, _with_callback_token)
    callback = callback_url(svc.settings.api_url, record.vendor, record.speech_id, record.callback_token)
    jobs = list(record.vendor_jobs) or [""] * len(inp.pieces)
    for index, text in enumerate(inp.pieces):
        tag = f"{inp.speech_id}-{index}"
        if jobs[index] == STARTING:
            found = adapter.find_synthesis(tag)
            jobs[index] = found.job_id if found is not None else ""
            record = _change(svc, record, _record(index, jobs[index], len(inp.pieces)))
        if jobs[index]:
            continue  # started by an earlier attempt of this step
        request = SynthesisRequest(
            text=text, format=inp.format, sample_rate=inp.sample_rate, speed=inp.speed, callback_url=callback
        )
        record = _change(svc, record, _record(index, STARTING, len(inp.pieces)))
        jobs[index] = adapter.start_synthesis(voice.vendor_voice, request, tag=tag).job_id
        record = _change(svc, record, _record(index, jobs[index], len(inp.pieces)))
    logger.info("speech submitted", extra={"speech_id": inp.speech_id, "vendor_jobs": len(jobs)})
    return SpeechProgress(jobs=jobs, audio_urls=[""] * len(jobs), poll=_first_poll(svc, inp.vendor))


def _with_callback_token(current: Speech) -> Speech | None:
    if current.callback_token:
        return None
    return current.model_copy(update={"callback_token": new_callback_token()})


def _record(index: int, job_id: str, pieces: int) -> Callable[[Speech], Speech | None]:
    """The change that records piece ``index``'s vendor job (or STARTING, or "" for none)."""

    def record(current: Speech) -> Speech | None:
        started = list(current.vendor_jobs) or [""] * pieces
        if started[index] == job_id:
            return None
        started[index] = job_id
        return current.model_copy(update={"vendor_jobs": started})

    return record


def wake(svc: Services, token: str, reason: str) -> bool:
    """SendTaskSuccess; False when the execution no longer waits on it (timed out to the poll, used)."""
    output = json.dumps({"woken_by": reason})
    return answer_task(lambda: svc.sfn.send_task_success(taskToken=token, output=output), "speech workflow")


def await_callback(svc: Services, speech: SpeechInput, task_token: str) -> dict[str, bool]:
    """AwaitSpeechCallback (.waitForTaskToken): park the token; a callback that came first resumes at once."""
    record = svc.store.speech.find(speech.speech_id)
    if record is None:
        raise RuntimeError(f"no speech {speech.speech_id}")
    pending = False

    def park(current: Speech) -> Speech | None:
        nonlocal pending
        pending = current.callback_pending
        if pending:
            return current.model_copy(update={"task_token": None, "callback_pending": False})
        if current.task_token == task_token:
            return None
        return current.model_copy(update={"task_token": task_token})

    _change(svc, record, park)
    if pending:
        wake(svc, task_token, "callback")
    return {"parked": not pending}


def poll(svc: Services, speech: SpeechInput, progress: SpeechProgress) -> SpeechProgress:
    """Ask the vendor about each job not done; raise its error for a failed one; the next wait."""
    inp = speech
    adapter = svc.adapter_for(inp.vendor)
    urls = list(progress.audio_urls)
    states: list[str] = []
    for index, job_id in enumerate(progress.jobs):
        if urls[index]:
            continue
        job = adapter.get_synthesis(job_id)
        if job.state is SynthesisState.FAILED:
            raise VendorRejected(
                inp.vendor,
                job.error_code or "SynthesisFailed",
                job.error_message or f"the vendor's job {job_id} failed",
                vendor_job=job_id,
            )
        if job.state is SynthesisState.SUCCEEDED:
            urls[index] = job.audio_url
        else:
            states.append(job.vendor_state)
    now = polling.now()
    current = progress.poll
    if all(urls):
        return progress.model_copy(
            update={"audio_urls": urls, "poll": current.answered(PollOutcome.SUCCEEDED, "", 1)}
        )
    deadline = svc.settings.speech_deadline_seconds
    if current.overdue(now, deadline):
        raise SpeechTimedOut(
            "SpeechTimedOut",
            f"{inp.vendor} did not finish the speech within {deadline} s "
            f"({len(states)} of {len(urls)} pieces still {', '.join(sorted(set(states))) or 'running'})",
        )
    wait = current.next_wait(now, svc.settings.poll_backoff, deadline)
    return progress.model_copy(
        update={"audio_urls": urls, "poll": current.answered(PollOutcome.RUNNING, ",".join(states), wait)}
    )


def fail_speech(svc: Services, speech_id: str, tenant_id: str, error: JobError) -> Speech:
    """End the speech FAILED with ``error`` (a speech already ended stays as it is)."""
    speech = svc.store.speech.get(speech_id, tenant_id)

    def fail(current: Speech) -> Speech | None:
        if current.status.terminal:
            return None
        return current.model_copy(update={"status": SpeechStatus.FAILED, "error": error})

    speech = _change(svc, speech, fail)
    count("SpeechFailed", speech.vendor)
    logger.warning("speech failed", extra={"speech_id": speech_id, "error": error.model_dump()})
    return speech


def mark_failed(svc: Services, speech: SpeechInput, error: dict[str, Any] | None) -> dict[str, str]:
    """The workflow's catch: the error it caught (a vendor's code and message kept) on the speech."""
    inp = speech
    error = error or {}
    cause = error.get("Cause")
    detail = parse_cause(cause if isinstance(cause, str) else None)
    name = str(error.get("Error") or "Failed")
    speech_error = JobError(
        error=str(detail.get("error") or name),
        code=str(detail.get("code") or name),
        message=str(detail.get("message") or cause or ""),
        vendor=detail.get("vendor") or inp.vendor,
    )
    failed = fail_speech(svc, inp.speech_id, inp.tenant_id, speech_error)
    return {"status": failed.status.value}
