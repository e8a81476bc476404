"""Alarms, one dashboard and the encrypted SNS topic the alarms notify, built next to the service.

Every metric the functions publish carries a ``vendor`` dimension (voiceclone.observability), so
the failed-jobs alarm exists once per vendor of the registry and the dashboard shows each vendor's
job outcomes. A vendor added to the registry gets its alarm and its widget with no edit here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aws_cdk import ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import constants as c

try:
    from voiceclone.vendors import registry
except ModuleNotFoundError:  # the package is not installed: take it from the source tree
    sys.path.append(str(c.FUNCTIONS_DIR))
    from voiceclone.vendors import registry

PERIOD = Duration.minutes(5)
# Stack outputs: subscribe to the topic (aws sns subscribe --topic-arn ...), open the dashboard.
ALARM_TOPIC_OUTPUT = "AlarmTopicArn"
DASHBOARD_OUTPUT = "DashboardName"
# Job outcomes per vendor on the dashboard (metrics of voiceclone.rest and voiceclone.logic.training.steps).
JOB_OUTCOMES = (
    c.METRIC_JOB_CREATED,
    c.METRIC_JOB_SUCCEEDED,
    c.METRIC_JOB_CHECK_FAILED,
    c.METRIC_JOB_FAILED,
    c.METRIC_JOB_CANCELLED,
)
# Speech outcomes per vendor on the dashboard (a speech of an asynchronous vendor can fail after its 202).
SPEECH_OUTCOMES = (c.METRIC_SPEECH_CREATED, c.METRIC_SPEECH_SUCCEEDED, c.METRIC_SPEECH_FAILED)
# Streaming speech, per vendor (voiceclone.logic.speech.stream): each stream's times in
# milliseconds (the vendor's first audio; ours at the client's side of the function: the first audio,
# the label where it goes first, and the speech's first audio; the whole answer) as their p50 and p95,
# and how the streams ended.
STREAM_TIMES = (
    "SpeechStreamVendorFirstByte",
    "SpeechStreamFirstByte",
    "SpeechStreamFirstSpeech",
    "SpeechStreamTotal",
)
STREAM_OUTCOMES = ("SpeechStreamed", "SpeechStreamFailed")
# A comparison's vendors, per vendor (voiceclone.logic.comparisons): each voice ready or failed, and its
# facts measured or not (a measurement that failed leaves the voice ready: no alarm, a chart).
COMPARISON_OUTCOMES = (
    "ComparisonVendorReady",
    "ComparisonVendorFailed",
    "ComparisonVoiceMeasured",
    "ComparisonFactsFailed",
)
STREAM_PERCENTILES = ("p50", "p95")


def vendor_ids() -> tuple[str, ...]:
    """The vendors the alarms and the dashboard cover: the registry's, the one list of vendors."""
    return registry.vendor_ids()


class Monitoring(Construct):
    """Alarms on failed jobs (one per vendor), webhook dead letters, failed or timed-out executions (of
    the training, speech and comparison workflows) and API 5xx, all notifying one KMS-encrypted,
    TLS-only SNS topic; and the service's dashboard.

    Subscribe to the topic after deploying (``aws sns subscribe --topic-arn <AlarmTopicArn> ...``,
    the stack output of that name).
    Every alarm treats missing data as not breaching: no traffic is no failure.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        rest_api: apigw.RestApi,
        webhook_dead_letters: sqs.IQueue,
        speech_state_machine: sfn.StateMachine | None = None,
        comparison_state_machine: sfn.StateMachine | None = None,
        vendors: Sequence[str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vendors = tuple(vendors) if vendors is not None else vendor_ids()
        self.state_machine = state_machine
        self.speech_state_machine = speech_state_machine
        self.comparison_state_machine = comparison_state_machine
        self.rest_api = rest_api
        self.webhook_dead_letters = webhook_dead_letters
        self.topic = self._build_topic()
        self.alarm_action = actions.SnsAction(self.topic)

        self.failed_jobs = {vendor: self._build_failed_jobs_alarm(vendor) for vendor in self.vendors}
        self.dead_letters = self._alarm(
            "WebhookDeadLettersAlarm",
            webhook_dead_letters.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            description="Webhook events that exhausted their retries wait in the dead-letter queue "
            "(docs/events.md: inspect, then redrive them).",
        )
        self.executions_failed = self._alarm(
            "ExecutionsFailedAlarm",
            state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            description="Training workflow executions ended FAILED: a job failed (see the JobFailed "
            "alarm of its vendor), its sentences were rejected (the client records them again), or a "
            "step failed outside the job's catch (LoadJob, MarkFailed): read the execution's history.",
        )
        self.executions_timed_out = self._alarm(
            "ExecutionsTimedOutAlarm",
            state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            description="Training workflow executions ran past their timeout (training deadline plus a "
            "margin): a job was left neither finished nor failed.",
        )
        self.speech_failed: cloudwatch.Alarm | None = None
        if speech_state_machine is not None:
            self.speech_failed = self._alarm(
                "SpeechExecutionsFailedAlarm",
                speech_state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                description="Speech workflow executions ended FAILED: an asynchronous vendor failed a "
                "speech (GET /v1/speech/{id} has its code and message; the SpeechFailed metric names "
                "the vendor), or the speech deadline passed: read the execution's history.",
            )
        self.comparison_failed: cloudwatch.Alarm | None = None
        self.comparison_timed_out: cloudwatch.Alarm | None = None
        if comparison_state_machine is not None:
            self.comparison_failed = self._alarm(
                "ComparisonExecutionsFailedAlarm",
                comparison_state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                description="Comparison workflow executions ended FAILED: a step failed outside every "
                "catch (FinishComparison after its retries), so the comparison may be left TRAINING: "
                "read the execution's history. A vendor's failure or a failed measurement of a voice "
                "does not fail the execution (the ComparisonFactsFailed metric counts those).",
            )
            self.comparison_timed_out = self._alarm(
                "ComparisonExecutionsTimedOutAlarm",
                comparison_state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                description="Comparison workflow executions ran past their timeout (the training "
                "deadline plus a margin): the comparison was left without its end.",
            )
        self.api_server_errors = self._alarm(
            "Api5xxAlarm",
            rest_api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            description="The API answered 5xx (the api, callback or authorizer function failed, or a "
            "vendor was unavailable): see the API's access logs and the functions' logs.",
        )
        self.dashboard = self._build_dashboard()
        topic_output = CfnOutput(
            self, "TopicArnOutput", value=self.topic.topic_arn, description="alarm topic"
        )
        topic_output.override_logical_id(ALARM_TOPIC_OUTPUT)
        dashboard_output = CfnOutput(
            self, "DashboardNameOutput", value=self.dashboard.dashboard_name, description="dashboard"
        )
        dashboard_output.override_logical_id(DASHBOARD_OUTPUT)

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        return [
            *self.failed_jobs.values(),
            self.dead_letters,
            self.executions_failed,
            self.executions_timed_out,
            *([self.speech_failed] if self.speech_failed is not None else []),
            *(a for a in (self.comparison_failed, self.comparison_timed_out) if a is not None),
            self.api_server_errors,
        ]

    # ----- the topic ---------------------------------------------------------------------------

    def _build_topic(self) -> sns.Topic:
        """The alarms' topic, encrypted with its own key: CloudWatch may use the key and publish."""
        stack = Stack.of(self)
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the voiceclone alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # An alarm's action encrypts its message with the topic's key (the AWS managed key of SNS
        # admits no CloudWatch, hence a key of our own).
        key.grant(cloudwatch_principal, "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name="voiceclone alarms",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                actions=["sns:Publish"],
                principals=[cloudwatch_principal],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        return topic

    # ----- alarms ------------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        description: str,
        threshold: float = 1,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self.alarm_action)
        return alarm

    def _build_failed_jobs_alarm(self, vendor: str) -> cloudwatch.Alarm:
        return self._alarm(
            f"JobFailedAlarm{_pascal(vendor)}",
            job_metric(c.METRIC_JOB_FAILED, vendor),
            description=f"Jobs at {vendor} ended FAILED (each with the vendor's code and message: "
            f'GET /v1/jobs/{{id}}, or the workflow logs where vendor = "{vendor}").',
        )

    # ----- the dashboard -----------------------------------------------------------------------

    def _build_dashboard(self) -> cloudwatch.Dashboard:
        stack = Stack.of(self)
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{stack.stack_name}-{c.SERVICE_NAME}",
            default_interval=Duration.days(1),
        )
        # CloudFormation takes Tags on a dashboard (CDK does), cfn-lint 1.51's schema not yet: the
        # stack's tags would make the template fail its lint, and a dashboard needs none to be found.
        for key in c.TAGS:
            Tags.of(dashboard).remove(key)
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        dashboard.add_widgets(
            self._graph(
                "Jobs failed, by vendor",
                [job_metric(c.METRIC_JOB_FAILED, vendor, label=vendor) for vendor in self.vendors],
                width=12,
            ),
            self._graph(
                "Jobs succeeded, by vendor",
                [job_metric(c.METRIC_JOB_SUCCEEDED, vendor, label=vendor) for vendor in self.vendors],
                width=12,
            ),
        )
        # Each vendor's job outcomes, side by side.
        dashboard.add_widgets(
            *(
                self._graph(
                    f"Job outcomes: {vendor}",
                    [job_metric(name, vendor, label=name) for name in JOB_OUTCOMES],
                    width=8,
                )
                for vendor in self.vendors
            )
        )
        dashboard.add_widgets(
            self._executions("Workflow executions", self.state_machine, width=8),
            self._graph(
                "API requests and errors",
                [
                    self.rest_api.metric_count(period=PERIOD, label="requests"),
                    self.rest_api.metric_client_error(period=PERIOD, label="4xx"),
                    self.rest_api.metric_server_error(period=PERIOD, label="5xx"),
                ],
                width=8,
            ),
            self._graph(
                "Webhooks",
                [
                    self.webhook_dead_letters.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label="dead letters"
                    ),
                    *(
                        job_metric(c.METRIC_WEBHOOK_FAILED, vendor, label=f"failed deliveries {vendor}")
                        for vendor in self.vendors
                    ),
                ],
                width=8,
            ),
        )
        if self.speech_state_machine is not None:
            dashboard.add_widgets(*self._speech_widgets())
        if self.comparison_state_machine is not None:
            dashboard.add_widgets(*self._comparison_widgets())
        dashboard.add_widgets(*self._stream_widgets())
        return dashboard

    def _stream_widgets(self) -> list[cloudwatch.IWidget]:
        """Streaming speech, per vendor: first audio (the vendor's and ours) and the whole answer at p50
        and p95, and the streams' outcomes. Every vendor that speaks answers the stream route (one
        without a stream for cloned voices answers whole, its first audio then the whole file's time)."""
        vendors = self.vendors

        def timed(name: str, vendor: str, stat: str) -> cloudwatch.Metric:
            return job_metric(name, vendor, label=f"{name} {vendor} {stat}").with_(statistic=stat)

        first = [timed(n, v, s) for v in vendors for n in STREAM_TIMES[:3] for s in STREAM_PERCENTILES]
        total = [timed(STREAM_TIMES[3], v, s) for v in vendors for s in STREAM_PERCENTILES]
        outcomes = [job_metric(n, v, label=f"{n} {v}") for v in vendors for n in STREAM_OUTCOMES]
        return [
            self._graph("Streaming speech: first audio, ms (vendor's; ours: label, speech)", first, width=8),
            self._graph("Streaming speech: whole answer, ms", total, width=8),
            self._graph("Streaming speech: streams completed and failed", outcomes, width=8),
        ]

    def _speech_widgets(self) -> list[cloudwatch.IWidget]:
        """Speech: each vendor's outcomes, characters spoken, and the speech workflow's executions."""
        assert self.speech_state_machine is not None
        return self._workflow_widgets("Speech", SPEECH_OUTCOMES, self.speech_state_machine)

    def _comparison_widgets(self) -> list[cloudwatch.IWidget]:
        """Comparisons: each vendor's voices ready or failed, measured or not; the workflow's executions."""
        assert self.comparison_state_machine is not None
        return self._workflow_widgets("Comparison", COMPARISON_OUTCOMES, self.comparison_state_machine)

    def _workflow_widgets(
        self, name: str, outcomes: Sequence[str], machine: sfn.IStateMachine
    ) -> list[cloudwatch.IWidget]:
        """A workflow's outcome metrics by vendor, and its executions."""
        return [
            self._graph(
                f"{name} outcomes, by vendor",
                [
                    job_metric(metric, vendor, label=f"{metric} {vendor}")
                    for vendor in self.vendors
                    for metric in outcomes
                ],
                width=12,
            ),
            self._executions(f"{name} workflow executions", machine, width=12),
        ]

    def _executions(self, title: str, machine: sfn.IStateMachine, width: int) -> cloudwatch.GraphWidget:
        """A state machine's executions: started, succeeded, failed, timed out."""
        return self._graph(
            title,
            [
                machine.metric_started(period=PERIOD, label="started"),
                machine.metric_succeeded(period=PERIOD, label="succeeded"),
                machine.metric_failed(period=PERIOD, label="failed"),
                machine.metric_timed_out(period=PERIOD, label="timed out"),
            ],
            width=width,
        )

    @staticmethod
    def _graph(title: str, metrics: Sequence[cloudwatch.IMetric], width: int) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6)


def job_metric(name: str, vendor: str, *, label: str | None = None) -> cloudwatch.Metric:
    """One of the service's metrics for one vendor: the dimensions Powertools publishes it with."""
    return cloudwatch.Metric(
        namespace=c.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": c.SERVICE_NAME, c.METRIC_VENDOR_DIMENSION: vendor},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=label,
    )


def _pascal(vendor: str) -> str:
    return "".join(part.title() for part in vendor.split("_"))
