"""The steps of the training workflow. The order lives in the state machine (infra/workflow.py), not here.

CheckSentence, the one step that decodes audio, is voiceclone.logic.training.sentence_check.

Every step is safe to run twice: Step Functions retries, and a step that finds
its work done returns the same answer without doing it again.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from voiceclone.domain.errors import (
    TrainingFailed,
    TrainingTimedOut,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
    parse_cause,
)
from voiceclone.domain.models import (
    Job,
    JobError,
    JobStatus,
    Sentence,
    SentenceCheck,
    SentenceStatus,
    VendorErrorInfo,
    Voice,
    utcnow,
)
from voiceclone.domain.polling import PollOutcome, PollState, TrainingStarted
from voiceclone.logic.core import polling
from voiceclone.logic.core.ids import voice_id_of
from voiceclone.logic.core.services import Services
from voiceclone.logic.core.tasks import answer_task, callback_url, new_callback_token
from voiceclone.logic.training import expiry
from voiceclone.logic.training.audio_source import S3AudioSource
from voiceclone.logic.training.consent import keep_with_voice, record_consent, training_sentences
from voiceclone.observability import logger, metrics
from voiceclone.vendors.base import CheckedSentence, TrainingRequest, TrainingState, TrainingStatus
from voiceclone.vendors.registry import capabilities


def load_job(svc: Services, job_id: str) -> dict[str, Any]:
    """Move the job to CHECKING and list the sentences that still need a check."""
    svc.store.jobs.transition(job_id, JobStatus.CHECKING, error=None)
    job, sentences = svc.store.jobs.with_sentences(job_id)
    to_check = [{"text_id": s.text_id} for s in sentences if s.status is not SentenceStatus.PASSED]
    return {"job_id": job_id, "vendor": job.vendor, "sentences": to_check}


def gate(svc: Services, job_id: str) -> dict[str, Any]:
    """All sentences passed? Otherwise the job ends CHECK_FAILED with the rejected ones named."""
    _, sentences = svc.store.jobs.with_sentences(job_id)
    rejected = [s for s in sentences if s.status is not SentenceStatus.PASSED]
    if not rejected:
        return {"passed": True}
    listing = ", ".join(f"{s.text_id} ({s.check.code if s.check else 'not checked'})" for s in rejected[:10])
    error = JobError(
        error="SentencesRejected",
        code="SentencesRejected",
        message=f"{len(rejected)} of {len(sentences)} sentences need a new recording: {listing}",
    )
    job = svc.store.jobs.mutate(
        job_id,
        lambda job: (
            None
            if job.status is JobStatus.CHECK_FAILED
            else job.model_copy(
                update={
                    "status": JobStatus.CHECK_FAILED,
                    "error": error,
                    "check_failures": job.check_failures + 1,
                    "deadline_at": expiry.deadline(svc),
                }
            )
        ),
    )
    _rearm_expiry(svc, job)
    metrics.add_metric(name="JobCheckFailed", unit="Count", value=1)
    return {"passed": False, "rejected": [s.text_id for s in rejected]}


def _rearm_expiry(svc: Services, job: Job) -> None:
    """Back in CHECK_FAILED: the client has the full time again to re-record, then the job expires."""
    if job.status is JobStatus.CHECK_FAILED:
        expiry.arm(svc, job)


def job_callback_url(svc: Services, job: Job) -> str | None:
    return callback_url(svc.settings.api_url, job.vendor, job.job_id, job.callback_token)


def _first_poll(svc: Services, vendor: str) -> PollState:
    caps = capabilities(vendor)
    return polling.first_poll(svc, caps.poll_initial_seconds, caps.poll_max_seconds)


def _training_request(svc: Services, job: Job, sentences: list[Sentence], callback: bool) -> TrainingRequest:
    return TrainingRequest(
        job_id=job.job_id,
        session_id=job.session_id or job.job_id,
        voice_name=job.voice_name,
        gender=job.gender,
        language=job.language,
        sentences=[
            CheckedSentence(
                text_id=s.text_id,
                text=s.text,
                s3_key=s.s3_key,
                vendor_audio_id=s.check.vendor_audio_id if s.check else None,
            )
            for s in training_sentences(sentences)
        ],
        callback_url=job_callback_url(svc, job) if callback else None,
        options=dict(job.vendor_options),
    )


def _with_session(job: Job) -> Job | None:
    """A session id and a callback token, made once and kept for every retry."""
    if job.callback_token and job.session_id:
        return None
    return job.model_copy(update={"callback_token": new_callback_token(), "session_id": uuid.uuid4().hex})


def _with_options(job: Job, options: dict[str, str]) -> Job | None:
    """The vendor's one-time choices (the first writer's win, should two race)."""
    if job.options_prepared:
        return None
    return job.model_copy(update={"vendor_options": options, "options_prepared": True})


def _count_create(job: Job) -> Job:
    return job.model_copy(update={"create_attempts": job.create_attempts + 1})


def submit_training(svc: Services, job_id: str) -> TrainingStarted:
    """Create the vendor's training task exactly once, even when a create's answer is lost.

    Before the first create the job records its session id, callback token and the
    vendor's one-time choices (prepare_options), so every retry sends the same
    request; and a retry first asks the vendor whether the earlier create happened.
    Before all of it, the speaker's consent is put on record, or ConsentMissing fails the
    job: nothing reaches the vendor for a job without it (voiceclone.logic.training.consent).
    """
    job, sentences = svc.store.jobs.with_sentences(job_id)
    record_consent(svc, job, sentences)
    sentences = training_sentences(sentences)
    adapter = svc.adapter_for(job.vendor)
    callback = capabilities(job.vendor).completion == "callback"

    if job.vendor_task_id is not None and job.vendor_status == PollOutcome.REJECTED.value:
        # The vendor asked for re-recordings: they passed our checks, send them to the same task.
        request = _training_request(svc, job, sentences, callback)
        adapter.resubmit(job.vendor_task_id, request, S3AudioSource(svc, job, sentences))
        job = svc.store.jobs.transition(job_id, JobStatus.TRAINING, vendor_status="PENDING", error=None)
    elif job.vendor_task_id is None:
        job = svc.store.jobs.mutate(job_id, _with_session)
        if not job.options_prepared:
            options = adapter.prepare_options(_training_request(svc, job, sentences, callback))
            job = svc.store.jobs.mutate(job_id, lambda j: _with_options(j, options))
        request = _training_request(svc, job, sentences, callback)
        task_id = adapter.find_existing_task(request) if job.create_attempts else None
        if task_id is None:
            job = svc.store.jobs.mutate(job_id, _count_create)
            task_id = adapter.create_task(request, S3AudioSource(svc, job, sentences))
            metrics.add_metric(name="TrainingSubmitted", unit="Count", value=1)
        else:
            logger.info("found the task of an earlier create", extra={"job_id": job_id})
        job = svc.store.jobs.transition(
            job_id, JobStatus.TRAINING, vendor_task_id=task_id, vendor_status="PENDING"
        )
    return TrainingStarted(
        task_id=job.vendor_task_id,
        callback=callback and job_callback_url(svc, job) is not None,
        poll=_first_poll(svc, job.vendor),
    )


def record_vendor_result(svc: Services, job_id: str, status: TrainingStatus, *, via_callback: bool) -> Job:
    """Keep a confirmed, finished vendor result on the job (once; a repeat changes nothing)."""

    def change(job: Job) -> Job | None:
        if job.status is not JobStatus.TRAINING or job.vendor_status == status.state.value:
            return None
        # The vendor answered: an error it had while the service waited is no longer the news.
        update: dict[str, Any] = {
            "vendor_status": status.state.value,
            "vendor_voice": status.voice,
            "last_vendor_error": None,
        }
        if status.state is TrainingState.FAILED:
            update["error"] = JobError(
                error="TrainingFailed",
                code=status.error_code or "TrainingFailed",
                message=status.error_message,
                vendor=job.vendor,
            )
        if via_callback:
            update["callback_received_at"] = utcnow()
        return job.model_copy(update=update)

    return svc.store.jobs.mutate(job_id, change)


def resume_execution(svc: Services, token: str, status: TrainingStatus, vendor: str) -> bool:
    """Hand the result to the waiting execution; False when it no longer waits (timed out to polling)."""
    if status.state is TrainingState.SUCCEEDED:
        output = json.dumps({"state": status.state.value})
        return answer_task(lambda: svc.sfn.send_task_success(taskToken=token, output=output), "execution")
    error = TrainingFailed(vendor, status.error_code or "TrainingFailed", status.error_message or "failed")
    return answer_task(
        lambda: svc.sfn.send_task_failure(taskToken=token, error="TrainingFailed", cause=str(error)),
        "execution",
    )


def await_training(svc: Services, job_id: str, task_token: str) -> dict[str, Any]:
    """Park the task token on the job; the callback handler resumes the execution with it.

    If the callback already came (it can beat this step), resume at once.
    """

    def park(job: Job) -> Job | None:
        if job.task_token == task_token:
            return None
        return job.model_copy(update={"task_token": task_token})

    job = svc.store.jobs.mutate(job_id, park)
    if job.vendor_status in (TrainingState.SUCCEEDED.value, TrainingState.FAILED.value):
        status = TrainingStatus(
            task_id=job.vendor_task_id or "",
            state=TrainingState(job.vendor_status),
            voice=job.vendor_voice,
            error_code=job.error.code if job.error else "",
            error_message=job.error.message if job.error else "",
        )
        if take_token(svc, job_id, task_token):
            resume_execution(svc, task_token, status, job.vendor)
    return {"parked": True}


def take_token(svc: Services, job_id: str, token: str) -> bool:
    """Clear the parked token; True only for the one writer that cleared it."""
    taken = False

    def take(job: Job) -> Job | None:
        nonlocal taken
        taken = False
        if job.task_token != token:
            return None
        taken = True
        return job.model_copy(update={"task_token": None})

    svc.store.jobs.mutate(job_id, take)
    return taken


def poll_status(svc: Services, job_id: str, poll: PollState) -> PollState:
    """Ask the vendor once, and say when to ask again (the wait grows by the backoff, up to the cap).

    Throttling and outages at the vendor's status API are "not known yet", not a failure: the
    vendor's training goes on (and is billed) while its API is down, so the job stays TRAINING,
    shows the error, and is asked again on the same growing interval. Only the vendor's own
    verdict, a permanent error (auth, rejected) or the training deadline ends the polling.
    """
    job = svc.store.jobs.require(job_id)
    settings = svc.settings
    if job.vendor_status == TrainingState.SUCCEEDED.value and job.vendor_voice is not None:
        return poll.model_copy(update={"state": PollOutcome.SUCCEEDED})
    try:
        status = svc.adapter_for(job.vendor).get_status(job.vendor_task_id or "")
    except (VendorThrottled, VendorUnavailable) as exc:
        return _not_known_yet(svc, job, poll, exc)
    if job.last_vendor_error is not None:
        clear_vendor_error(svc, job_id)
    release_strays(svc, job)
    if status.state is TrainingState.FAILED and status.rejected_items:
        reject_recordings(svc, job_id, status)
        return poll.model_copy(update={"state": PollOutcome.REJECTED})
    if status.state is TrainingState.FAILED:
        raise TrainingFailed(
            job.vendor, status.error_code or "TrainingFailed", status.error_message or "failed"
        )
    if status.state is TrainingState.SUCCEEDED:
        record_vendor_result(svc, job_id, status, via_callback=False)
        return poll.answered(PollOutcome.SUCCEEDED, status.vendor_state, poll.wait_seconds)
    now = polling.now()
    answered = poll.answered(
        PollOutcome(status.state.value),
        status.vendor_state,
        poll.next_wait(now, settings.poll_backoff, settings.training_deadline_seconds),
    )
    _check_deadline(svc, job, answered, now)
    return answered


def _not_known_yet(svc: Services, job: Job, poll: PollState, exc: VendorError) -> PollState:
    """The vendor could not be asked: keep the error on the job and ask again later, within the deadline."""
    problem = note_vendor_error(svc, job.job_id, exc)
    logger.warning(
        "the vendor's status API did not answer; polling goes on",
        extra={
            "job_id": job.job_id,
            "vendor": job.vendor,
            "error": problem.error,
            "code": problem.code,
            "failures": poll.failures + 1,
        },
    )
    now = polling.now()
    settings = svc.settings
    unanswered = poll.unanswered(
        problem, poll.next_wait(now, settings.poll_backoff, settings.training_deadline_seconds)
    )
    _check_deadline(svc, job, unanswered, now)
    return unanswered


def _check_deadline(svc: Services, job: Job, poll: PollState, now: float) -> None:
    """Past the training deadline the job fails, naming the vendor, its last state and last error."""
    deadline = svc.settings.training_deadline_seconds
    if not poll.overdue(now, deadline):
        return
    state = poll.state.value + (f" ({poll.vendor_state})" if poll.vendor_state else "")
    message = f"{job.vendor} did not finish training within {deadline} s; its last state was {state}"
    details: dict[str, Any] = {
        "vendor": job.vendor,
        "last_state": poll.state.value,
        "vendor_state": poll.vendor_state,
    }
    if poll.last_error is not None:
        last = poll.last_error
        message += (
            f"; its status API has not answered the last {poll.failures} poll(s), the last time"
            f" {last.error} {last.code}: {last.message} ({last.at.isoformat(timespec='seconds')})"
        )
        details["last_error"] = last.model_dump(mode="json")
    metrics.add_metric(name="TrainingTimedOut", unit="Count", value=1)
    raise TrainingTimedOut("TrainingTimedOut", message, **details)


def note_vendor_error(svc: Services, job_id: str, exc: VendorError) -> VendorErrorInfo:
    """Show a retryable vendor error on a training job (GET /v1/jobs/{id}) while the service waits it out."""
    problem = VendorErrorInfo(error=type(exc).__name__, code=exc.code, message=exc.message)

    def note(job: Job) -> Job | None:
        if job.status is not JobStatus.TRAINING:
            return None
        return job.model_copy(update={"last_vendor_error": problem})

    svc.store.jobs.mutate(job_id, note)
    metrics.add_metric(name="VendorErrorWaitedOut", unit="Count", value=1)
    return problem


def clear_vendor_error(svc: Services, job_id: str) -> None:
    """The vendor answers again: the job no longer shows its last error."""

    def clear(job: Job) -> Job | None:
        return None if job.last_vendor_error is None else job.model_copy(update={"last_vendor_error": None})

    svc.store.jobs.mutate(job_id, clear)


def reject_recordings(svc: Services, job_id: str, status: TrainingStatus) -> None:
    """The vendor rejected some recordings after training began: the job asks for just those again.

    The sentences get the vendor's reasons and the job goes back to CHECK_FAILED; once they
    are uploaded again the new execution checks them and SubmitTraining resubmits the same task.
    """
    job, all_sentences = svc.store.jobs.with_sentences(job_id)
    # Positions are in the request the vendor got: the training sentences, in order.
    sentences = training_sentences(all_sentences)
    for position, reason in status.rejected_items.items():
        if position >= len(sentences):
            continue
        sentence = sentences[position]
        verdict = SentenceCheck(
            passed=False,
            code=status.error_code or "VendorRejected",
            message=f"{reason} (record this sentence again)",
            source=job.vendor,
        )
        rejected = sentence.model_copy(
            update={"status": SentenceStatus.REJECTED, "check": verdict, "checked_at": utcnow()}
        )
        svc.store.jobs.save_sentence(rejected, expected_version=sentence.version)
    error = JobError(
        error="SentencesRejected",
        code=status.error_code,
        message=f"the vendor rejected {len(status.rejected_items)} recording(s): {status.error_message}",
        vendor=job.vendor,
    )

    def back_to_check_failed(current: Job) -> Job | None:
        if current.status is JobStatus.CHECK_FAILED:
            return None
        update = {
            "status": JobStatus.CHECK_FAILED,
            "error": error,
            "vendor_status": PollOutcome.REJECTED.value,
            "check_failures": current.check_failures + 1,
            "deadline_at": expiry.deadline(svc),
        }
        return current.model_copy(update=update)

    _rearm_expiry(svc, svc.store.jobs.mutate(job_id, back_to_check_failed))
    metrics.add_metric(name="JobCheckFailed", unit="Count", value=1)


def release_strays(svc: Services, job: Job) -> None:
    """Delete the vendor tasks a create made after we gave up on it (VendorAdapter.release_strays).

    Never fails the job: a vendor that cannot answer now is asked again at the next poll or at
    the job's end, and what it keeps is logged with its ids.
    """
    if job.vendor_task_id is None:
        return
    try:
        released = svc.adapter_for(job.vendor).release_strays(job.vendor_task_id)
    except VendorError as exc:
        logger.warning(
            "could not release the vendor's stray tasks",
            extra={"job_id": job.job_id, "code": exc.code, "error": exc.message},
        )
        return
    if released:
        metrics.add_metric(name="VendorStraysReleased", unit="Count", value=len(released))
        logger.warning(
            "released vendor tasks a late create made",
            extra={"job_id": job.job_id, "task_id": job.vendor_task_id, "released": released},
        )


def finalize(svc: Services, job_id: str) -> dict[str, Any]:
    """Record the voice and mark the job SUCCEEDED (once)."""
    job = svc.store.jobs.require(job_id)
    if job.status is JobStatus.SUCCEEDED:
        return {"voice_id": job.voice_id}
    vendor_voice = job.vendor_voice
    if vendor_voice is None:
        status = svc.adapter_for(job.vendor).get_status(job.vendor_task_id or "")
        if status.state is not TrainingState.SUCCEEDED or status.voice is None:
            raise VendorRejected(
                job.vendor, "NoVoice", f"training is {status.state.value}, no voice to record"
            )
        vendor_voice = status.voice
    keep_with_voice(svc, job)
    voice = Voice(
        voice_id=voice_id_of(job.job_id),
        tenant_id=job.tenant_id,
        job_id=job.job_id,
        vendor=job.vendor,
        name=job.voice_name,
        language=job.language,
        gender=job.gender,
        vendor_voice=vendor_voice,
        notify_url=job.notify_url,
    )
    release_strays(svc, job)
    svc.store.jobs.complete(job.model_copy(update={"vendor_voice": vendor_voice}), voice)
    metrics.add_metric(name="JobSucceeded", unit="Count", value=1)
    logger.info("voice ready", extra={"job_id": job_id, "voice_id": voice.voice_id})
    return {"voice_id": voice.voice_id}


def mark_failed(svc: Services, job_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """End the job FAILED with the vendor's code and message (a CANCELLED or SUCCEEDED job stays)."""
    error = error or {}
    detail = parse_cause(error.get("Cause"))
    job_error = JobError(
        error=str(detail.get("error") or error.get("Error") or "Failed"),
        code=str(detail.get("code") or error.get("Error") or ""),
        message=str(detail.get("message") or error.get("Cause") or ""),
        vendor=detail.get("vendor"),
    )

    def fail(job: Job) -> Job | None:
        if job.status.terminal:
            return None
        # A vendor result confirmed earlier (callback or poll) already says why in full; a bare
        # error name from the workflow must not replace it.
        error = job.error if job.error and job.error.message and not job_error.message else job_error
        return job.model_copy(update={"status": JobStatus.FAILED, "error": error, "task_token": None})

    job = svc.store.jobs.mutate(job_id, fail)
    release_strays(svc, job)
    metrics.add_metric(name="JobFailed", unit="Count", value=1)
    logger.warning(
        "job failed", extra={"job_id": job_id, "error": job.error.model_dump() if job.error else None}
    )
    return {"status": job.status.value}
