"""The comparison workflow: one comparison's vendor jobs trained side by side, each in the training workflow.

Intake starts an execution named after the comparison when its last take is in, with
``{"comparison_id", "takes": [text ids], "jobs": [{"job_id", "vendor"}]}``::

    MeasureTakes (Map over the takes: MeasureTake decodes and measures each once)
      ─▶ Vendors (Map over the jobs, all at once), each iteration:
             Train (startExecution.sync:2 of the training workflow, named after the job)
               ─▶ RecordVendorReady (the voice: comparison.voice_ready)
               ─▶ MeasureVoice (the probe set spoken, its audio kept: the entry's facts)
                    any error ─▶ RecordFactsFailed (the entry's facts_error; the voice stays ready)
             any error of Train (the job failed, was stopped, timed out) ─▶ RecordVendorFailed
      ─▶ FinishComparison (all ready, some failed, all failed: comparison.completed)

Each iteration catches its own failure, so one vendor failing never ends the others, and each
records its end as it comes, so a slow vendor holds nothing but FinishComparison. The facts of a
voice come after its outcome is recorded: a measurement that fails or times out is caught and
recorded as such, never turning a ready voice into a failed vendor. MeasureVoice is not retried
(beyond Lambda's own service errors): every retry would pay the vendor for the whole probe set again.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from voiceclone.handlers import table

from infra.workflow import EXECUTION_TIMEOUT_MARGIN, lambda_task, standard_state_machine

COMPARISON_ID = sfn.JsonPath.string_at("$.comparison_id")
# The comparison workflow's functions (voiceclone.handlers.table).
FUNCTIONS = table.workflow_functions("comparison")


class ComparisonWorkflow(Construct):
    """Measure the takes once → train every vendor's job in parallel (each caught) → record the end."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        functions: Mapping[str, lambda_.IFunction],
        training: sfn.IStateMachine,
        training_timeout: Duration,
        map_max_concurrency: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.fn = functions
        self.training = training
        self.map_max_concurrency = map_max_concurrency
        self.state_machine_name = f"{Stack.of(self).stack_name}-comparison"
        self.state_machine = standard_state_machine(
            self,
            self.state_machine_name,
            self._build_definition(),
            training_timeout.plus(EXECUTION_TIMEOUT_MARGIN),
        )

    def _record(
        self, state_id: str, error: bool, function: str = "comparison_record_vendor"
    ) -> tasks.LambdaInvoke:
        payload: dict[str, object] = {
            "comparison_id": COMPARISON_ID,
            "job_id": sfn.JsonPath.string_at("$.job_id"),
            "vendor": sfn.JsonPath.string_at("$.vendor"),
        }
        if error:
            payload["error"] = sfn.JsonPath.object_at("$.error")
        record = lambda_task(self, state_id, self.fn[function], payload, "$.recorded")
        record.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=5, backoff_rate=2)
        return record

    def _build_iteration(self) -> sfn.IChainable:
        train = tasks.StepFunctionsStartExecution(
            self,
            "Train",
            state_machine=self.training,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            # The training workflow's own input, as intake gives a lone job's; named after the job,
            # as a lone job's first execution is (so cancelling the job stops it).
            input=sfn.TaskInput.from_object(
                {"job_id": sfn.JsonPath.string_at("$.job_id"), "vendor": sfn.JsonPath.string_at("$.vendor")}
            ),
            name=sfn.JsonPath.string_at("$.job_id"),
            result_selector={"status": sfn.JsonPath.string_at("$.Status")},
            result_path="$.training",
        )
        failed = self._record("RecordVendorFailed", error=True)
        train.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        ready = self._record("RecordVendorReady", error=False)
        # Recording the end is retried; if it still fails, FinishComparison reads the job itself.
        unrecorded = sfn.Pass(self, "VendorUnrecorded")
        for record in (ready, failed):
            record.add_catch(unrecorded, errors=["States.ALL"], result_path="$.record_error")
        # The ready voice measured: its outcome is recorded first, so the facts can never change it.
        measure = lambda_task(
            self,
            "MeasureVoice",
            self.fn["comparison_facts"],
            {"comparison_id": COMPARISON_ID, "job_id": sfn.JsonPath.string_at("$.job_id")},
            "$.facts",
        )
        facts_failed = self._record("RecordFactsFailed", error=True, function="comparison_facts_failed")
        measure.add_catch(facts_failed, errors=["States.ALL"], result_path="$.error")
        facts_failed.add_catch(
            sfn.Pass(self, "FactsUnrecorded"), errors=["States.ALL"], result_path="$.record_error"
        )
        return sfn.Chain.start(train).next(ready).next(measure)

    def _build_definition(self) -> sfn.IChainable:
        measure = lambda_task(
            self,
            "MeasureTake",
            self.fn["measure_take"],
            {"comparison_id": COMPARISON_ID, "text_id": sfn.JsonPath.string_at("$.text_id")},
            "$.measured",
        )
        measure.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=3, backoff_rate=2)
        measure_takes = sfn.Map(
            self,
            "MeasureTakes",
            items_path="$.takes",
            item_selector={
                "comparison_id": COMPARISON_ID,
                "text_id": sfn.JsonPath.string_at("$$.Map.Item.Value"),
            },
            max_concurrency=self.map_max_concurrency,
            result_path=sfn.JsonPath.DISCARD,
        )
        measure_takes.item_processor(measure)
        vendors = sfn.Map(
            self,
            "Vendors",
            items_path="$.jobs",
            item_selector={
                "comparison_id": COMPARISON_ID,
                "job_id": sfn.JsonPath.string_at("$$.Map.Item.Value.job_id"),
                "vendor": sfn.JsonPath.string_at("$$.Map.Item.Value.vendor"),
            },
            # Every vendor at once: a slow one must not hold a queue of others.
            max_concurrency=0,
            result_path=sfn.JsonPath.DISCARD,
        )
        vendors.item_processor(self._build_iteration())
        # A measurement that failed is no reason to stop: each vendor's check then decodes the take itself.
        measure_takes.add_catch(vendors, errors=["States.ALL"], result_path="$.measure_error")
        finish = lambda_task(
            self,
            "FinishComparison",
            self.fn["comparison_finish"],
            {"comparison_id": COMPARISON_ID},
            "$.finished",
        )
        finish.add_retry(errors=["States.ALL"], interval=Duration.seconds(2), max_attempts=5, backoff_rate=2)
        return (
            sfn.Chain.start(measure_takes)
            .next(vendors)
            .next(finish)
            .next(sfn.Succeed(self, "ComparisonEnded"))
        )
