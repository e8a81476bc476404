"""Where data lives: the audio bucket (with its access-log bucket) and the jobs table."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constants import LISTENING_PREFIX, TRAINING_PREFIX, UPLOAD_PREFIX
from infra.settings import StackSettings

ACCESS_LOG_RETENTION_DAYS = 90
# Secondary indexes: gsi1 lists a tenant's jobs or voices newest first; gsi2 finds a job by the
# vendor's task id (callbacks and status queries name the vendor's id, not ours).
INDEXES = ("gsi1", "gsi2")
TTL_ATTRIBUTE = "expires_at"


# Output key of the table's name (README: issuing API keys).
TABLE_NAME_OUTPUT = "TableName"


class Storage(Construct):
    """The recordings and the job records; both outlive the stack (RETAIN), they are the customer's data."""

    def __init__(self, scope: Construct, construct_id: str, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = self._build_access_log_bucket()
        self.bucket = self._build_audio_bucket(settings)
        self.table = self._build_table()
        # `voiceclone admin issue-key --table <TableName>` writes API keys here.
        output = CfnOutput(self, "TableNameOutput", value=self.table.table_name, description="jobs table")
        output.override_logical_id(TABLE_NAME_OUTPUT)

    def _build_access_log_bucket(self) -> s3.Bucket:
        """Server access logs: who read or wrote which recording (voice data is personal data)."""
        return s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_RETENTION_DAYS))
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_audio_bucket(self, settings: StackSettings) -> s3.Bucket:
        retention = Duration.days(settings.upload_retention_days)
        return s3.Bucket(
            self,
            "Audio",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="audio/",
            # Recordings are only needed until the vendor has trained the voice.
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOAD_PREFIX,
                    expiration=retention,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-training-audio",
                    prefix=TRAINING_PREFIX,
                    expiration=retention,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                # A blind pair's audio copies outlive their pair (PAIR_TTL_SECONDS, a day) by nothing.
                s3.LifecycleRule(
                    id="expire-listening-copies", prefix=LISTENING_PREFIX, expiration=Duration.days(1)
                ),
            ],
            # Browsers upload recordings straight to S3 with the presigned POST the api hands out;
            # the POST policy, not CORS, decides what may be uploaded.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    exposed_headers=["ETag", "Location"],
                    max_age=3000,
                ),
                # The studio reads the speech it plays through its presigned GET, to show its labels
                # (POST /v1/provenance); the signature, not CORS, decides who may read it.
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                    allowed_origins=["*"],
                    allowed_headers=["Range"],
                    max_age=3000,
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_table(self) -> dynamodb.Table:
        """One table for jobs, sentences and voices; keys and access patterns: docs/table-design.md."""
        string = dynamodb.AttributeType.STRING
        table = dynamodb.Table(
            self,
            "Jobs",
            partition_key=dynamodb.Attribute(name="pk", type=string),
            sort_key=dynamodb.Attribute(name="sk", type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            # Every change of a job reaches publish_events (infra/notifications.py), old and new status both.
            stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            # Items with an `expires_at` (epoch seconds) go away by themselves: the events' publish markers.
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in INDEXES:
            table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=f"{index}pk", type=string),
                sort_key=dynamodb.Attribute(name=f"{index}sk", type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
