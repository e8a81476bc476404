"""The poll state the workflow carries from one PollStatus to the next, and the outcomes its Choice matches.

PollStatus returns a :class:`PollState`; the state machine keeps it at
``$.training.poll`` and its TrainingDone Choice (infra/workflow.py, which imports
:class:`PollOutcome`) goes on by ``state``: SUCCEEDED to Finalize, REJECTED to
SentencesRejected, anything else round the loop again. A vendor that cannot be
asked (throttled, unavailable) leaves the state as it was: "not known yet".
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from voiceclone.domain.base import BaseModel
from voiceclone.domain.models import VendorErrorInfo


class PollOutcome(StrEnum):
    """Where training stands after a poll: the values the workflow's TrainingDone Choice matches."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    # The vendor's training finished and the voice is recorded on the job: on to Finalize.
    SUCCEEDED = "SUCCEEDED"
    # The vendor refused recordings after training began (Huawei's audit): the client records them again.
    REJECTED = "REJECTED"

    @property
    def ends_polling(self) -> bool:
        return self in (PollOutcome.SUCCEEDED, PollOutcome.REJECTED)


class PollState(BaseModel):
    """What one poll hands the next: the wait before it, the deadline's start, and what the vendor said.

    Extra keys are ignored so an execution started by an older release keeps polling.
    """

    model_config = ConfigDict(extra="ignore")

    # The Wait state's SecondsPath: how long before the next poll.
    wait_seconds: int = Field(ge=1)
    # The cap the wait grows to: the vendor's pace unless configuration overrides it.
    max_seconds: int = Field(ge=1)
    attempt: int = Field(default=0, ge=0)
    state: PollOutcome = PollOutcome.PENDING
    # The vendor's own word for its state (e.g. Tencent's "Training"), for the deadline's message.
    vendor_state: str = ""
    # When training was submitted (epoch seconds): the training deadline counts from here.
    started_at: int = Field(ge=0)
    # Polls in a row the vendor did not answer (throttled or unavailable), and the last such error.
    failures: int = Field(default=0, ge=0)
    last_error: VendorErrorInfo | None = None

    @classmethod
    def start(cls, initial_seconds: int, max_seconds: int, now: float) -> PollState:
        maximum = max(max_seconds, 1)
        return cls(
            wait_seconds=max(min(initial_seconds, maximum), 1), max_seconds=maximum, started_at=int(now)
        )

    def overdue(self, now: float, deadline_seconds: int) -> bool:
        return now - self.started_at > deadline_seconds

    def next_wait(self, now: float, backoff: float, deadline_seconds: int) -> int:
        """The wait grows by `backoff` up to the cap, and never runs past the deadline by more than 1 s."""
        grown = min(int(self.wait_seconds * backoff + 0.5), self.max_seconds)
        left = int(self.started_at + deadline_seconds - now) + 1
        return max(min(grown, left), 1)

    def answered(self, outcome: PollOutcome, vendor_state: str, wait_seconds: int) -> PollState:
        """The next poll's state after the vendor answered: the run of failures ends."""
        return self.model_copy(
            update={
                "wait_seconds": wait_seconds,
                "attempt": self.attempt + 1,
                "state": outcome,
                "vendor_state": vendor_state,
                "failures": 0,
                "last_error": None,
            }
        )

    def unanswered(self, error: VendorErrorInfo, wait_seconds: int) -> PollState:
        """The next poll's state when the vendor could not be asked: what training does is not known yet."""
        return self.model_copy(
            update={
                "wait_seconds": wait_seconds,
                "attempt": self.attempt + 1,
                "failures": self.failures + 1,
                "last_error": error,
            }
        )


class TrainingStarted(BaseModel):
    """SubmitTraining's result, at ``$.training``: the vendor's task, the path to take, the first poll."""

    task_id: str | None
    # True: wait for the vendor's callback (AwaitCallback) before polling; False: poll at once.
    callback: bool
    poll: PollState


class PollStatusEvent(BaseModel):
    """PollStatus's input: the job and the poll state the previous poll (or SubmitTraining) returned."""

    job_id: str
    poll: PollState


class SpeechProgress(BaseModel):
    """The speech workflow's state at ``$.progress``: each piece's vendor job and audio, and the poll.

    SubmitSpeech returns it with every job started; each PollSpeech returns it with the audio
    URLs of the jobs done so far ("" for one still running) and the next wait. Its SpeechDone
    Choice (infra/speech_workflow.py) goes on to FinishSpeech when ``poll.state`` is SUCCEEDED.
    """

    model_config = ConfigDict(extra="ignore")

    jobs: list[str]
    audio_urls: list[str]
    poll: PollState
