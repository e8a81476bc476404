"""The inputs the state machines (infra/workflow.py, infra/speech_workflow.py) hand each step, as models.

A step reads its input through one of these (voiceclone.handlers.table names each step's), so a
definition that drifts from the code fails at the step with a ValidationError naming the field,
not a KeyError. Each field is passed to the step's function as the argument of the same name.
PollStatus's input is :class:`voiceclone.domain.polling.PollStatusEvent`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from voiceclone.domain.base import BaseModel
from voiceclone.domain.polling import SpeechProgress


class JobStep(BaseModel):
    """LoadJob, Gate, SubmitTraining, Finalize: the job the execution is for."""

    job_id: str = Field(min_length=1)


class ExpiryEvent(BaseModel):
    """What a job's or a comparison's schedule sends the expire_job function (the target's Input).

    It names one record: a job (``job_id``) or a comparison (``comparison_id``).
    """

    model_config = ConfigDict(extra="ignore")

    job_id: str = ""
    comparison_id: str = ""
    # The moment this schedule was armed for (a fire before the deadline re-arms from it).
    due_at: datetime | None = None

    @model_validator(mode="after")
    def _names_one(self) -> ExpiryEvent:
        if bool(self.job_id) == bool(self.comparison_id):
            raise ValueError("an expiry names one job_id or one comparison_id")
        return self


class CheckSentenceStep(JobStep):
    """One Map iteration of CheckSentences."""

    text_id: str = Field(min_length=1)


class AwaitCallbackStep(JobStep):
    """AwaitCallback (.waitForTaskToken): the token the vendor's callback redeems."""

    task_token: str = Field(min_length=1)


class MarkFailedStep(JobStep):
    """MarkFailed: the error a Catch caught, as Step Functions gives it ({"Error", "Cause"})."""

    error: dict[str, Any] | None = None


# ----- the speech workflow (asynchronous vendors) ---------------------------------------------------


class SpeechInput(BaseModel):
    """The speech workflow's input: the speech, and the vendor calls it takes (one per piece, in order)."""

    speech_id: str
    tenant_id: str
    vendor: str
    pieces: list[str]
    format: Literal["wav", "mp3", "pcm"]
    sample_rate: int
    speed: float = 1.0
    # The tenant's policy when the speech was asked for: the audible label at its start.
    explicit_label: bool = True


class SpeechStep(BaseModel):
    """SubmitSpeech: the speech to make."""

    speech: SpeechInput


class SpeechAwaitStep(SpeechStep):
    """AwaitSpeechCallback (.waitForTaskToken): the token a vendor's callback sends."""

    task_token: str = Field(min_length=1)


class SpeechProgressStep(SpeechStep):
    """PollSpeech and FinishSpeech: the vendor jobs and what they made so far."""

    progress: SpeechProgress


class SpeechFailedStep(SpeechStep):
    """MarkSpeechFailed: the error a Catch caught ({"Error", "Cause"})."""

    error: dict[str, Any] | None = None


# ----- the comparison workflow (a Map over one comparison's vendor jobs) -----------------------------


class ComparisonStep(BaseModel):
    """FinishComparison: the comparison the execution is for."""

    comparison_id: str = Field(min_length=1)


class MeasureTakeStep(ComparisonStep):
    """One Map iteration of MeasureTakes: a take measured once, before any vendor's check."""

    text_id: str = Field(min_length=1)


class MeasureVoiceStep(ComparisonStep):
    """MeasureVoice: the ready voice of one vendor's job, measured after RecordVendorReady."""

    job_id: str = Field(min_length=1)


class ComparisonVendorStep(ComparisonStep):
    """RecordVendorReady / RecordVendorFailed: one vendor's job after its training execution ended;
    RecordFactsFailed: its voice's measurement failed.

    ``error``: what the iteration's Catch caught ({"Error", "Cause"}), when the execution (or the
    measurement) failed.
    """

    job_id: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    error: dict[str, Any] | None = None
