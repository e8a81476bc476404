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

sys.path.insert(0, str(FUNCTIONS_DIR))
from voiceclone.domain.errors import RETRYABLE_ERRORS

JOB_ID = sfn.JsonPath.string_at("$.job_id")


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        functions: dict[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.fn = functions
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        stack = Stack.of(self)
        # A known name gives a known ARN, so functions the workflow invokes can be allowed to
        # resume it without a reference to it (a reference would be a dependency cycle).
        self.name = f"{stack.stack_name}-training"
        self.arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_chainable(self._build_definition()),
            state_machine_type=sfn.StateMachineType.STANDARD,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            # Nothing runs forever: the poller fails the job at the deadline, and this bounds the rest.
            timeout=Duration.seconds(settings.training_deadline_seconds + 86400),
        )

    def grant_task_response(self, grantee: iam.IGrantable) -> None:
        """SendTaskSuccess/Failure/Heartbeat on this workflow's tasks, by ARN (see __init__)."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
            resource_arns=[self.arn],
        )

    # ----- building blocks -----------------------------------------------------------------------

    def _task(
        self, state_id: str, fn: str, payload: Mapping[str, object], result_path: str
    ) -> tasks.LambdaInvoke:
        return tasks.LambdaInvoke(
            self,
            state_id,
            lambda_function=self.fn[fn],
            payload=sfn.TaskInput.from_object(dict(payload)),
            payload_response_only=True,
            result_path=result_path,
        )

    @staticmethod
    def _retry_vendor_errors(state: sfn.TaskStateBase) -> None:
        state.add_retry(
            errors=list(RETRYABLE_ERRORS),
            interval=Duration.seconds(1),
            backoff_rate=2,
            max_attempts=6,
            max_delay=Duration.seconds(30),
            jitter_strategy=sfn.JitterType.FULL,
        )

    # ----- the definition ----------------------------------------------------------------------

    def _build_definition(self) -> sfn.IChainable:
        job = {"job_id": JOB_ID}
        mark_failed = self._task(
            "MarkFailed",
            "mark_failed",
            {"job_id": JOB_ID, "error": sfn.JsonPath.object_at("$.error")},
            "$.failed",
        ).next(
            sfn.Fail(self, "JobFailed", error="JobFailed", cause="the job failed; GET /v1/jobs/{id} says why")
        )

        load_job = self._task("LoadJob", "load_job", job, "$.job")

        check_sentence = self._task(
            "CheckSentence",
            "check_sentence",
            {"job_id": JOB_ID, "text_id": sfn.JsonPath.string_at("$.text_id")},
            "$.check",
        )
        self._retry_vendor_errors(check_sentence)
        check_sentences = sfn.Map(
            self,
            "CheckSentences",
            items_path="$.job.sentences",
            item_selector={
                "job_id": JOB_ID,
                "text_id": sfn.JsonPath.string_at("$$.Map.Item.Value.text_id"),
            },
            max_concurrency=self.settings.map_max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        check_sentences.item_processor(check_sentence)
        check_sentences.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")

        gate = self._task("Gate", "gate", job, "$.gate")
        rejected = sfn.Fail(
            self,
            "SentencesRejected",
            error="SentencesRejected",
            cause="one or more sentences failed the check; GET /v1/jobs/{id} lists the reasons",
        )

        submit = self._task("SubmitTraining", "submit_training", job, "$.training")
        self._retry_vendor_errors(submit)
        submit.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")

        finalize = self._task("Finalize", "finalize", job, "$.voice")
        self._retry_vendor_errors(finalize)
        finalize.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")
        finalize.next(sfn.Succeed(self, "VoiceReady"))

        wait = sfn.Wait(
            self, "WaitBeforePoll", time=sfn.WaitTime.seconds_path("$.training.poll.wait_seconds")
        )
        poll = self._task(
            "PollStatus",
            "poll_status",
            {"job_id": JOB_ID, "poll": sfn.JsonPath.object_at("$.training.poll")},
            "$.training.poll",
        )
        self._retry_vendor_errors(poll)
        poll.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")
        wait.next(poll).next(
            sfn.Choice(self, "TrainingDone")
            .when(sfn.Condition.string_equals("$.training.poll.state", "SUCCEEDED"), finalize)
            .otherwise(wait)
        )

        await_callback = tasks.LambdaInvoke(
            self,
            "AwaitCallback",
            lambda_function=self.fn["await_training"],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object({"job_id": JOB_ID, "task_token": sfn.JsonPath.task_token}),
            task_timeout=sfn.Timeout.duration(Duration.seconds(self.settings.callback_timeout_seconds)),
            result_path="$.outcome",
        )
        # No callback in time (or none can reach us): poll the vendor instead.
        await_callback.add_catch(wait, errors=["States.Timeout"], result_path="$.await_timeout")
        await_callback.add_catch(mark_failed, errors=["States.ALL"], result_path="$.error")
        await_callback.next(finalize)

        return self._chain(load_job, check_sentences, gate, rejected, submit, await_callback, wait)

    def _chain(
        self,
        load_job: sfn.TaskStateBase,
        check_sentences: sfn.Map,
        gate: sfn.TaskStateBase,
        rejected: sfn.Fail,
        submit: sfn.TaskStateBase,
        await_callback: sfn.TaskStateBase,
        wait: sfn.Wait,
    ) -> sfn.IChainable:
        submit.next(
            sfn.Choice(self, "CallbackOrPoll")
            .when(sfn.Condition.boolean_equals("$.training.callback", True), await_callback)
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
