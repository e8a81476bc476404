"""Uploads reach intake: S3 ObjectCreated events under uploads/, with failed deliveries kept in a queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.constants import UPLOAD_PREFIX, UPLOAD_SUFFIXES

# S3 invokes asynchronously: Lambda retries a failed event twice, then hands it to the queue.
ASYNC_RETRY_ATTEMPTS = 2


class UploadNotifications(Construct):
    """Each recording that lands in the bucket is reported to intake; none is silently dropped.

    Intake is idempotent (an upload may be reported twice), so Lambda's async retries are
    safe; an event that still fails stays in `failed_events` for 14 days for inspection.
    """

    def __init__(
        self, scope: Construct, construct_id: str, bucket: s3.IBucket, intake: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        self.failed_events = self._build_failure_queue()
        intake.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.failed_events), retry_attempts=ASYNC_RETRY_ATTEMPTS
        )
        for suffix in UPLOAD_SUFFIXES:
            bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(intake),
                s3.NotificationKeyFilter(prefix=UPLOAD_PREFIX, suffix=suffix),
            )

    def _build_failure_queue(self) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "FailedUploadEvents",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        NagSuppressions.add_resource_suppressions(
            queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself the failure destination of the intake function; nothing "
                    "consumes it, so a dead-letter queue behind it would never receive anything.",
                )
            ],
        )
        return queue
