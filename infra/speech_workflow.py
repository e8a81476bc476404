"""The speech workflow (asynchronous vendors): its one definition, from the training workflow's blocks.

POST /v1/voices/{id}/speech records the speech RUNNING and starts an execution named after it with
``{"speech": <voiceclone.domain.steps.SpeechInput>}``::

    SubmitSpeech (a vendor job per piece, with our callback URL) ─▶ AwaitSpeechCallback
        ─▶ PollSpeech ─▶ SpeechDone?
        SUCCEEDED ─▶ FinishSpeech (fetch, join, store; SUCCEEDED) ─▶ SpeechReady
        otherwise ─▶ AwaitSpeechCallback (its timeout, the poll's wait, grows to the vendor's cap)
    any failure (the vendor's error, retries exhausted, the deadline) ─▶ MarkSpeechFailed ─▶ SpeechFailed

AwaitSpeechCallback is a ``.waitForTaskToken`` task (its token parked on the speech) whose timeout
is the poll's current wait (``TimeoutSecondsPath``): a vendor's callback for any piece
(voiceclone.logic.speech.callbacks: token checked, the job re-queried, as the training callbacks)
sends the token and PollSpeech asks about every piece at once; no callback, and the timeout polls
as a plain wait would. Both vendors' callbacks are unsigned, so a callback only wakes the poll.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from voiceclone.handlers import table

from infra.workflow import (
    fail_into,
    lambda_task,
    retry_vendor_errors,
    standard_state_machine,
    state_machine_arn,
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
# The speech workflow's functions (voiceclone.handlers.table).
FUNCTIONS = table.workflow_functions("speech")
# AwaitSpeechCallback waits at most the poll's current wait, then the poll goes on as without a callback.
AWAIT_TIMEOUT_PATH = f"{PROGRESS}.poll.wait_seconds"


class SpeechWorkflow(Construct):
    """Submit → wait/poll loop → finish; any failure → MarkSpeechFailed (a speech is never left RUNNING)."""

    def __init__(
        self, scope: Construct, construct_id: str, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.fn = functions
        self.state_machine_name = f"{Stack.of(self).stack_name}-speech"
        # A known name gives a known ARN: the functions it invokes may answer its task tokens (no cycle).
        self.arn_by_name = state_machine_arn(self, self.state_machine_name)
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

        wait = tasks.LambdaInvoke(
            self,
            "AwaitSpeechCallback",
            lambda_function=self.fn["speech_await"],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object({"speech": SPEECH, "task_token": sfn.JsonPath.task_token}),
            task_timeout=sfn.Timeout.at(AWAIT_TIMEOUT_PATH),
            result_path="$.woken",
        )
        # Order matters: the timeout (no callback in time) polls; anything else fails the speech.
        wait.add_catch(poll, errors=["States.Timeout"], result_path="$.await_timeout")
        fail_into(wait, mark_failed)
        wait.next(poll).next(
            sfn.Choice(self, "SpeechDone")
            .when(sfn.Condition.string_equals(f"{PROGRESS}.poll.state", PollOutcome.SUCCEEDED.value), finish)
            .otherwise(wait)
        )
        return sfn.Chain.start(submit).next(wait)

    def grant_task_response(self, grantee: iam.IGrantable) -> None:
        """SendTaskSuccess/Failure/Heartbeat on this workflow, granted by ARN (see __init__ for why)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            resource_arns=[self.arn_by_name],
        )
