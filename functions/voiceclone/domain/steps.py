"""The inputs the state machine hands each workflow step (infra/workflow.py builds them), as models.

A step reads its input through one of these, so a definition that drifts from the
code fails at the step with a ValidationError naming the field, not a KeyError.
PollStatus's input is :class:`voiceclone.domain.polling.PollStatusEvent`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from voiceclone.domain.base import BaseModel


class JobStep(BaseModel):
    """LoadJob, Gate, SubmitTraining, Finalize: the job the execution is for."""

    job_id: str = Field(min_length=1)


class CheckSentenceStep(JobStep):
    """One Map iteration of CheckSentences."""

    text_id: str = Field(min_length=1)


class AwaitCallbackStep(JobStep):
    """AwaitCallback (.waitForTaskToken): the token the vendor's callback redeems."""

    task_token: str = Field(min_length=1)


class MarkFailedStep(JobStep):
    """MarkFailed: the error a Catch caught, as Step Functions gives it ({"Error", "Cause"})."""

    error: dict[str, Any] | None = None
