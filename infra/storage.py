"""Where data lives: the audio bucket (and its access-log bucket) and the jobs table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constants import TRAINING_PREFIX, UPLOAD_PREFIX
from infra.settings import StackSettings


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = self._build_access_log_bucket()
        self.bucket = self._build_audio_bucket(settings)
        self.table = self._build_table()

    def _build_access_log_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_audio_bucket(self, settings: StackSettings) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Audio",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="audio/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    prefix=UPLOAD_PREFIX,
                    expiration=Duration.days(settings.upload_retention_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-training-audio",
                    prefix=TRAINING_PREFIX,
                    expiration=Duration.days(settings.upload_retention_days),
                ),
            ],
            # Browsers upload recordings straight to S3 with the presigned POST.
            cors=[
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    max_age=3000,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_table(self) -> dynamodb.Table:
        """One table; keys, indexes and access patterns are in docs/table-design.md."""
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
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in ("gsi1", "gsi2"):
            table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=f"{index}pk", type=string),
                sort_key=dynamodb.Attribute(name=f"{index}sk", type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table
