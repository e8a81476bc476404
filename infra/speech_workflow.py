"""The speech workflow (asynchronous vendors): its one definition, from the training workflow's blocks.

POST /v1/voices/{id}/speech records the speech RUNNING and starts an execution named after it with
``{"speech": <voiceclone.logic.speech.SpeechInput>}``::

    SubmitSpeech (a vendor job per piece) ─▶ WaitBeforeSpeechPoll ─▶ PollSpeech ─▶ SpeechDone?
        SUCCEEDED ─▶ FinishSpeech (fetch, join, store; SUCCEEDED) ─▶ SpeechReady
        otherwise ─▶ WaitBeforeSpeechPoll (the wait grows to the vendor's cap)
    any failure (the vendor's error, retries exhausted, the deadline) ─▶ MarkSpeechFailed ─▶ SpeechFailed

Neither async vendor's speech callback is used: the gateway's and Huawei's callbacks are unsigned,
so a callback would only prompt the poll that confirms it; polling at the vendor's pace (a few
seconds) is the path (docs/vendors/tencent_gateway.md, huawei.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.workflow import (
    fail_into,
    lambda_task,
    retry_vendor_errors,
    standard_state_machine,
)

try:
    from voiceclone.domain.polling import PollOutcome
except ModuleNotFoundError:  # the package is not installed: infra.workflow put the source tree on the path
    from voiceclone.domain.polling import PollOutcome

SPEECH = sfn.JsonPath.object_at("$.speech")
PROGRESS = "$.progress"
# No execution outlives this: the poller fails a speech at its deadline (VOICECLONE_SPEECH_DEADLINE_SECONDS,
# 30 minutes by default) long before; this bounds a stuck task.
EXECUTION_TIMEOUT = Duration.hours(2)
# The speech workflow's functions, each voiceclone.handlers.<name>.handler.
FUNCTIONS = ("speech_submit", "speech_poll", "speech_finish", "speech_mark_failed")


class SpeechWorkflow(Construct):
    """Submit → wait/poll loop → finish; any failure → MarkSpeechFailed (a speech is never left RUNNING)."""

    def __init__(
        self, scope: Construct, construct_id: str, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.fn = functions
        self.state_machine_name = f"{Stack.of(self).stack_name}-speech"
        self.state_machine = standard_state_machine(
            self, self.state_machine_name, self._build_definition(), EXECUTION_TIMEOUT
        )

    def _build_definition(self) -> sfn.IChainable:
        mark_failed = lambda_task(
            self,
            "MarkSpeechFailed",
            self.fn["speech_mark_failed"],
            {"speech": SPEECH, "error": sfn.JsonPath.object_at("$.error")},
            "$.failed",
        )
        # Recording the failure is all that is left: retry it on any error rather than leave it RUNNING.
        mark_failed.add_retry(
            errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=5, backoff_rate=2
        )
        mark_failed.next(
            sfn.Fail(self, "SpeechFailed", error="SpeechFailed", cause="GET /v1/speech/{id} says why (error)")
        )

        submit = lambda_task(self, "SubmitSpeech", self.fn["speech_submit"], {"speech": SPEECH}, PROGRESS)
        progress = {"speech": SPEECH, "progress": sfn.JsonPath.object_at(PROGRESS)}
        poll = lambda_task(self, "PollSpeech", self.fn["speech_poll"], progress, PROGRESS)
        finish = lambda_task(self, "FinishSpeech", self.fn["speech_finish"], progress, "$.finished")
        for state in (submit, poll, finish):
            retry_vendor_errors(state)
            fail_into(state, mark_failed)
        finish.next(sfn.Succeed(self, "SpeechReady"))

        wait = sfn.Wait(
            self, "WaitBeforeSpeechPoll", time=sfn.WaitTime.seconds_path(f"{PROGRESS}.poll.wait_seconds")
        )
        wait.next(poll).next(
            sfn.Choice(self, "SpeechDone")
            .when(sfn.Condition.string_equals(f"{PROGRESS}.poll.state", PollOutcome.SUCCEEDED.value), finish)
            .otherwise(wait)
        )
        return sfn.Chain.start(submit).next(wait)
