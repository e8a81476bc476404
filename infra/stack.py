"""The voiceclone stack: composes the constructs, wires them together, owns the cdk-nag decisions."""

from __future__ import annotations

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.api import Api
from infra.constants import SERVICE_NAME, TRAINING_PREFIX, UPLOAD_PREFIX, VENDORS
from infra.functions import Functions
from infra.secrets import VendorSecrets
from infra.settings import StackSettings
from infra.storage import Storage
from infra.workflow import Workflow

TABLE_RW = ("load_job", "check_sentence", "gate", "submit_training", "await_training", "poll_status",
            "finalize", "mark_failed", "api", "callback", "intake")  # fmt: skip
BUCKET_READ = ("api", "intake", "check_sentence", "submit_training")
VENDOR_CALLERS = ("api", "callback", "check_sentence", "submit_training", "poll_status", "finalize")


class VoicecloneStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        settings = StackSettings.from_context(self)
        Tags.of(self).add("service", SERVICE_NAME)

        storage = Storage(self, "Storage", settings)
        secrets = VendorSecrets(self, "VendorSecrets")
        environment = {
            "VOICECLONE_TABLE_NAME": storage.table.table_name,
            "VOICECLONE_BUCKET_NAME": storage.bucket.bucket_name,
            "VOICECLONE_POLL_BACKOFF": str(settings.poll_backoff),
            "VOICECLONE_TRAINING_DEADLINE_SECONDS": str(settings.training_deadline_seconds),
            "VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS": str(settings.upload_url_expiry_seconds),
            "VOICECLONE_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
            **{f"VOICECLONE_{key.upper()}": value for key, value in settings.vendor_settings.items()},
        }
        if settings.poll_initial_seconds:
            environment["VOICECLONE_POLL_INITIAL_SECONDS"] = str(settings.poll_initial_seconds)
        if settings.poll_max_seconds:
            environment["VOICECLONE_POLL_MAX_SECONDS"] = str(settings.poll_max_seconds)
        for vendor, secret in secrets.secrets.items():
            environment[f"VOICECLONE_{vendor.upper()}_SECRET_ARN"] = secret.secret_arn
        functions = Functions(self, "Functions", settings, environment)
        workflow = Workflow(self, "Workflow", settings, dict(functions.by_name))
        api = Api(self, "Api", functions["api"], functions["callback"])

        self._grant(functions, storage, secrets, workflow)
        # Added after the fact: the state machine and the API are built from the functions.
        functions["intake"].add_environment(
            "VOICECLONE_STATE_MACHINE_ARN", workflow.state_machine.state_machine_arn
        )
        functions["submit_training"].add_environment("VOICECLONE_API_URL", api.base_url)
        self._wire_uploads(storage, functions)
        self._acknowledge_nag_findings()

    def _grant(
        self, functions: Functions, storage: Storage, secrets: VendorSecrets, workflow: Workflow
    ) -> None:
        for name in TABLE_RW:
            storage.table.grant_read_write_data(functions[name])
        for name in BUCKET_READ:
            storage.bucket.grant_read(functions[name], f"{UPLOAD_PREFIX}*")
        # The api function signs presigned POSTs; S3 checks the signer may put the object.
        storage.bucket.grant_put(functions["api"], f"{UPLOAD_PREFIX}*")
        # SubmitTraining stores the assembled WAV a vendor downloads, and presigns its GET.
        storage.bucket.grant_read(functions["submit_training"], f"{TRAINING_PREFIX}*")
        storage.bucket.grant_put(functions["submit_training"], f"{TRAINING_PREFIX}*")
        for name in VENDOR_CALLERS:
            for vendor in VENDORS:
                secrets.secrets[vendor].grant_read(functions[name])
        workflow.state_machine.grant_start_execution(functions["intake"])
        workflow.grant_task_response(functions["callback"])
        workflow.grant_task_response(functions["await_training"])

    def _wire_uploads(self, storage: Storage, functions: Functions) -> None:
        # S3 invokes intake asynchronously: retried twice by Lambda, then kept in a queue, never dropped.
        failed_uploads = sqs.Queue(
            self,
            "FailedUploadEvents",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
        )
        functions["intake"].configure_async_invoke(
            on_failure=destinations.SqsDestination(failed_uploads), retry_attempts=2
        )
        # Recordings (.wav) and the documents some vendors require (.pdf) both go to intake.
        for suffix in (".wav", ".pdf"):
            storage.bucket.add_event_notification(
                s3.EventType.OBJECT_CREATED,
                s3n.LambdaDestination(functions["intake"]),
                s3.NotificationKeyFilter(prefix=UPLOAD_PREFIX, suffix=suffix),
            )

    def _acknowledge_nag_findings(self) -> None:
        NagSuppressions.add_stack_suppressions(
            self,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason="AWSLambdaBasicExecutionRole (logs) on function roles, and API Gateway's "
                    "AmazonAPIGatewayPushToCloudWatchLogs on its account role: AWS-maintained, least "
                    "privilege for exactly that purpose.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Wildcards come from CDK grants scoped to one resource: objects under uploads/* "
                    "of the audio bucket, the table's index/*, X-Ray trace writes (no resource-level "
                    "permissions), the state machine's executions, and the S3 notifications handler CDK "
                    "provides.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-L1",
                    reason="Python 3.13 is the newest runtime the pinned dependencies (pydantic-core wheels) "
                    "are tested on; raised deliberately with the dependency pins.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="Vendor API keys are issued by the vendors and cannot be rotated by a Lambda; "
                    "the operator rotates them at the vendor and updates the secret.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="FailedUploadEvents is itself the failure destination of the intake function.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason="The access-log bucket is the target of the audio bucket's server access logs; "
                    "logging it into itself would loop.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-APIG3",
                    reason="No WAF yet: every client route needs SigV4 (IAM) and the stage is throttled; "
                    "a WebACL is an account-level choice left to the operator.",
                ),
                NagPackSuppression(
                    id="AwsSolutions-COG4",
                    reason="Client routes use IAM authorization (SigV4), not Cognito: a tenant is an AWS "
                    "account.",
                ),
            ],
        )
