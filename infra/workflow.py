"""The training workflow: the one and only definition of it (the local stack runs this, synthesized)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constants import FUNCTIONS_DIR
from infra.settings import StackSettings

try:
    # The error names the functions raise are the names the workflow retries, and the poll
    # outcomes PollStatus returns are the values its Choice matches: one definition for both.
    from voiceclone.domain.errors import RETRYABLE_ERRORS
    from voiceclone.domain.polling import PollOutcome
except ModuleNotFoundError:  # the package is not installed: take it from the source tree
    sys.path.append(str(FUNCTIONS_DIR))
    from voiceclone.domain.errors import RETRYABLE_ERRORS
    from voiceclone.domain.polling import PollOutcome

JOB_ID = sfn.JsonPath.string_at("$.job_id")
# Every step is told its job's vendor (the metrics dimension and log key), so none reads the job to
# learn it: the execution's input names it (intake starts it so) for LoadJob, LoadJob's result after.
EXECUTION_VENDOR = sfn.JsonPath.string_at("$.vendor")
VENDOR = sfn.JsonPath.string_at("$.job.vendor")
# Where SubmitTraining's result (voiceclone.domain.polling.TrainingStarted) and each poll's state live.
TRAINING = "$.training"
POLL = f"{TRAINING}.poll"
POLL_STATE = f"{POLL}.state"
# A job that would run longer than the training deadline is failed by the poller; this margin
# bounds everything else (a lost callback, a stuck task) so no execution runs forever.
EXECUTION_TIMEOUT_MARGIN = Duration.days(1)


# ----- building blocks, shared with the speech workflow (infra/speech_workflow.py) -------------------


def lambda_task(
    scope: Construct,
    state_id: str,
    function: lambda_.IFunction,
    payload: Mapping[str, object],
    result_path: str,
) -> tasks.LambdaInvoke:
    """A Lambda task whose result is the function's return value (payload_response_only)."""
    return tasks.LambdaInvoke(
        scope,
        state_id,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        result_path=result_path,
    )


def retry_vendor_errors(state: sfn.TaskStateBase) -> None:
    """Throttling and outages are the vendor's, and pass: retry them with backoff and full jitter."""
    state.add_retry(
        errors=list(RETRYABLE_ERRORS),
        interval=Duration.seconds(1),
        backoff_rate=2,
        max_attempts=6,
        max_delay=Duration.seconds(30),
        jitter_strategy=sfn.JitterType.FULL,
    )


def fail_into(state: sfn.TaskStateBase | sfn.Map, target: sfn.IChainable) -> None:
    """Any error of ``state`` goes to ``target`` with the error at ``$.error``."""
    state.add_catch(target, errors=["States.ALL"], result_path="$.error")


def state_machine_arn(scope: Construct, name: str) -> str:
    """The ARN a state machine of this name will have (known before it exists: no reference cycle)."""
    return Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def standard_state_machine(
    scope: Construct, name: str, definition: sfn.IChainable, timeout: Duration
) -> sfn.StateMachine:
    """A STANDARD state machine, traced, logging every transition without data (payloads hold URLs)."""
    log_group = logs.LogGroup(
        scope, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
    )
    return sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        timeout=timeout,
    )


class Workflow(Construct):
    """Load → check every sentence → gate → submit → await callback or poll → finalize; failures → MarkFailed.

    The states are Lambda tasks with payload_response_only (the function's return value is the
    task's result), so the local stack can run the synthesized definition against in-process
    functions exactly as Step Functions runs it against Lambda.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.fn = functions
        stack = Stack.of(self)
        # A known name gives a known ARN: functions the workflow itself invokes can be allowed to
        # answer its task tokens without referring to it (that reference would be a cycle).
        self.state_machine_name = f"{stack.stack_name}-training"
        self.arn_by_name = state_machine_arn(self, self.state_machine_name)
        self.state_machine = standard_state_machine(
            self,
            self.state_machine_name,
            self._build_definition(),
            Duration.seconds(self.settings.training_deadline_seconds).plus(EXECUTION_TIMEOUT_MARGIN),
        )

    def grant_task_response(self, grantee: iam.IGrantable) -> None:
        """SendTaskSuccess/Failure/Heartbeat on this workflow, granted by ARN (see __init__ for why)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            resource_arns=[self.arn_by_name],
        )

    # ----- building blocks -----------------------------------------------------------------------

    def _task(
        self, state_id: str, fn: str, payload: Mapping[str, object], result_path: str
    ) -> tasks.LambdaInvoke:
        return lambda_task(self, state_id, self.fn[fn], payload, result_path)

    _retry_vendor_errors = staticmethod(retry_vendor_errors)
    _fail_into = staticmethod(fail_into)

    # ----- the definition ----------------------------------------------------------------------

    def _build_definition(self) -> sfn.IChainable:
        job = {"job_id": JOB_ID, "vendor": VENDOR}
        mark_failed = self._build_mark_failed()

        load_job = self._task("LoadJob", "load_job", {"job_id": JOB_ID, "vendor": EXECUTION_VENDOR}, "$.job")
        check_sentences = self._build_check_sentences()
        self._fail_into(check_sentences, mark_failed)

        gate = self._task("Gate", "gate", job, "$.gate")
        rejected = sfn.Fail(
            self,
            "SentencesRejected",
            error="SentencesRejected",
            cause="one or more sentences failed the check; GET /v1/jobs/{id} lists the reasons",
        )

        submit = self._task("SubmitTraining", "submit_training", job, TRAINING)
        self._retry_vendor_errors(submit)
        self._fail_into(submit, mark_failed)

        finalize = self._task("Finalize", "finalize", job, "$.voice")
        self._retry_vendor_errors(finalize)
        self._fail_into(finalize, mark_failed)
        finalize.next(sfn.Succeed(self, "VoiceReady"))

        wait = self._build_poll_loop(finalize, mark_failed, rejected)
        await_callback = self._build_await_callback(wait, mark_failed)
        await_callback.next(finalize)

        submit.next(
            sfn.Choice(self, "CallbackOrPoll")
            .when(sfn.Condition.boolean_equals(f"{TRAINING}.callback", True), await_callback)
            .otherwise(wait)
        )
        return (
            sfn.Chain.start(load_job)
            .next(check_sentences)
            .next(gate)
            .next(
                sfn.Choice(self, "AllSentencesPassed")
                .when(sfn.Condition.boolean_equals("$.gate.passed", True), submit)
                .otherwise(rejected)
            )
        )

    def _build_mark_failed(self) -> sfn.IChainable:
        """Record the failure (vendor code and message) on the job, then fail the execution."""
        return self._task(
            "MarkFailed",
            "mark_failed",
            {"job_id": JOB_ID, "vendor": VENDOR, "error": sfn.JsonPath.object_at("$.error")},
            "$.failed",
        ).next(
            sfn.Fail(self, "JobFailed", error="JobFailed", cause="the job failed; GET /v1/jobs/{id} says why")
        )

    def _build_check_sentences(self) -> sfn.Map:
        """Fan out over the job's sentences; the concurrency bound protects the vendor's rate limit."""
        check_sentence = self._task(
            "CheckSentence",
            "check_sentence",
            {
                "job_id": JOB_ID,
                "vendor": sfn.JsonPath.string_at("$.vendor"),
                "text_id": sfn.JsonPath.string_at("$.text_id"),
            },
            "$.check",
        )
        self._retry_vendor_errors(check_sentence)
        check_sentences = sfn.Map(
            self,
            "CheckSentences",
            items_path="$.job.sentences",
            item_selector={
                "job_id": JOB_ID,
                "vendor": VENDOR,
                "text_id": sfn.JsonPath.string_at("$$.Map.Item.Value.text_id"),
            },
            max_concurrency=self.settings.map_max_concurrency,
            # The verdicts are on the job records; Gate reads them there.
            result_path=sfn.JsonPath.DISCARD,
        )
        check_sentences.item_processor(check_sentence)
        return check_sentences

    def _build_poll_loop(
        self, finalize: sfn.IChainable, mark_failed: sfn.IChainable, rejected: sfn.IChainable
    ) -> sfn.Wait:
        """Wait, ask the vendor, repeat; PollStatus returns the next wait (growing) and the state.

        Three state transitions per poll (Wait, PollStatus, TrainingDone). A vendor's throttling
        or outage does not leave PollStatus: it answers "not known yet" (the state as it was) and
        the loop goes on until the training deadline, which PollStatus enforces. The vendor retry
        stays as a backstop only. REJECTED: the vendor refused some recordings after training
        began (Huawei's audit); the job is CHECK_FAILED with their reasons and the re-recordings
        start a new execution.
        """
        wait = sfn.Wait(self, "WaitBeforePoll", time=sfn.WaitTime.seconds_path(f"{POLL}.wait_seconds"))
        poll = self._task(
            "PollStatus",
            "poll_status",
            {"job_id": JOB_ID, "vendor": VENDOR, "poll": sfn.JsonPath.object_at(POLL)},
            POLL,
        )
        self._retry_vendor_errors(poll)
        self._fail_into(poll, mark_failed)
        wait.next(poll).next(
            sfn.Choice(self, "TrainingDone")
            .when(sfn.Condition.string_equals(POLL_STATE, PollOutcome.SUCCEEDED.value), finalize)
            .when(sfn.Condition.string_equals(POLL_STATE, PollOutcome.REJECTED.value), rejected)
            .otherwise(wait)
        )
        return wait

    def _build_await_callback(self, wait: sfn.Wait, mark_failed: sfn.IChainable) -> tasks.LambdaInvoke:
        """Park the execution on a task token the vendor's callback redeems; no callback in time → poll."""
        await_callback = tasks.LambdaInvoke(
            self,
            "AwaitCallback",
            lambda_function=self.fn["await_training"],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"job_id": JOB_ID, "vendor": VENDOR, "task_token": sfn.JsonPath.task_token}
            ),
            task_timeout=sfn.Timeout.duration(Duration.seconds(self.settings.callback_timeout_seconds)),
            result_path="$.outcome",
        )
        # Order matters: the specific catcher must come before States.ALL.
        await_callback.add_catch(wait, errors=["States.Timeout"], result_path="$.await_timeout")
        self._fail_into(await_callback, mark_failed)
        return await_callback
