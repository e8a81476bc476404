"""Job events and webhooks: table stream -> publish_events -> bus -> rule -> queue -> deliver_webhook.

docs/events.md is the contract: the events (source ``voiceclone``, one detail-type per
status), the webhook body and signature, and the retry schedule set up here.
"""

from __future__ import annotations

from aws_cdk import CfnElement, CfnOutput, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.settings import StackSettings

EVENT_BUS_OUTPUT = "EventBusName"
# Stream batches: a failing batch is halved until the bad record is alone, retried this often, then
# handed to the failure queue (records older than a day are gone from the stream anyway).
STREAM_BATCH_SIZE = 100
STREAM_RETRY_ATTEMPTS = 10
STREAM_MAX_RECORD_AGE = Duration.hours(24)
STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
WEBHOOK_BATCH_SIZE = 10
# While a batch is being delivered its messages stay hidden: six times the function's timeout, as
# Lambda advises; after a failure deliver_webhook sets the backoff instead.
WEBHOOK_VISIBILITY = Duration.seconds(180)
WEBHOOK_RETENTION = Duration.days(4)
DEAD_LETTER_RETENTION = Duration.days(14)


class JobNotifications(Construct):
    """The event bus, the stream that feeds it, and the webhook delivery queue with its dead letters."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: StackSettings,
        table: dynamodb.Table,
        publisher: lambda_.Function,
        deliverer: lambda_.Function,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"{stack.stack_name}-events")
        self.bus.grant_put_events_to(publisher)
        publisher.add_environment(c.ENV_EVENT_BUS_NAME, self.bus.event_bus_name)
        output = CfnOutput(
            self, "BusName", value=self.bus.event_bus_name, description="voiceclone job events"
        )
        output.override_logical_id(EVENT_BUS_OUTPUT)

        self.stream_failures = self._build_stream_failure_queue()
        self.stream_mapping = self._subscribe_to_stream(table, publisher)

        self.webhook_dead_letters = self._queue("WebhookDeadLetters", DEAD_LETTER_RETENTION)
        self.webhook_queue = self._queue(
            "Webhooks",
            WEBHOOK_RETENTION,
            visibility_timeout=WEBHOOK_VISIBILITY,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.webhook_dead_letters, max_receive_count=settings.webhook_max_attempts
            ),
        )
        self.webhook_rule = events.Rule(
            self,
            "WebhookRule",
            description="Events of jobs with a notify_url, to the webhook delivery queue",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[c.SERVICE_NAME], detail={"has_webhook": [True]}),
            targets=[
                targets.SqsQueue(
                    self.webhook_queue,
                    dead_letter_queue=self.webhook_dead_letters,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        deliverer.add_event_source(
            sources.SqsEventSource(
                self.webhook_queue, batch_size=WEBHOOK_BATCH_SIZE, report_batch_item_failures=True
            )
        )
        for key, value in settings.webhook_environment().items():
            deliverer.add_environment(key, value)

    def _subscribe_to_stream(
        self, table: dynamodb.Table, publisher: lambda_.Function
    ) -> lambda_.EventSourceMapping:
        """publish_events reads the table's stream: only job items, only inserts and updates."""
        stream_arn = table.table_stream_arn
        assert stream_arn is not None, "the table needs a stream (infra/storage.py)"
        # AWS's documented policy for a function reading a stream: these four actions on table/<t>/stream/*.
        publisher.add_to_role_policy(
            iam.PolicyStatement(actions=list(STREAM_ACTIONS), resources=[f"{table.table_arn}/stream/*"])
        )
        mapping = lambda_.EventSourceMapping(
            self,
            "JobStream",
            target=publisher,
            event_source_arn=stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=STREAM_BATCH_SIZE,
            bisect_batch_on_error=True,
            retry_attempts=STREAM_RETRY_ATTEMPTS,
            max_record_age=STREAM_MAX_RECORD_AGE,
            report_batch_item_failures=True,
            parallelization_factor=1,
            on_failure=sources.SqsDlq(self.stream_failures),
            filters=[
                lambda_.FilterCriteria.filter(
                    # Jobs, speech (Speech Succeeded / Speech Failed), consent records (Consent
                    # Recorded), voices (Voice Deleted) and comparisons (a vendor's end, the
                    # comparison's end): no other item makes an event.
                    {
                        "eventName": ["INSERT", "MODIFY"],
                        "dynamodb": {
                            "Keys": {"sk": {"S": ["JOB", "SPEECH", "CONSENT", "VOICE", "COMPARISON"]}}
                        },
                    }
                )
            ],
        )
        role = publisher.role
        assert role is not None
        table_id = self._logical_id(table.node.default_child)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="The stream of the jobs table only (table/<jobs>/stream/*, as AWS documents for "
                    "a function reading a DynamoDB stream): the stream's ARN changes when it is re-enabled.",
                    applies_to=[f"Resource::<{table_id}.Arn>/stream/*"],
                )
            ],
            apply_to_children=True,
        )
        return mapping

    def _queue(
        self,
        construct_id: str,
        retention: Duration,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=retention,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
        )

    def _build_stream_failure_queue(self) -> sqs.Queue:
        """Where a stream batch goes that publish_events could not publish after every retry."""
        queue = self._queue("StreamFailures", DEAD_LETTER_RETENTION)
        NagSuppressions.add_resource_suppressions(
            queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself the on-failure destination of the stream's event source "
                    "mapping (records of unpublished events); nothing consumes it, so a dead-letter queue "
                    "behind it would never receive anything.",
                )
            ],
        )
        return queue

    def _logical_id(self, element: object) -> str:
        assert isinstance(element, CfnElement)
        return Stack.of(self).get_logical_id(element)
