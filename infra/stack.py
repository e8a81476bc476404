"""The voiceclone stack: composes the constructs, wires them, owns the cross-cutting cdk-nag decisions."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra import constants as c
from infra.api import Api
from infra.comparison_workflow import ComparisonWorkflow
from infra.functions import Functions
from infra.labels import SpeechLabels
from infra.monitoring import Monitoring
from infra.notifications import JobNotifications
from infra.schedules import JobExpiry
from infra.secrets import VendorSecrets
from infra.settings import StackSettings
from infra.speech_workflow import SpeechWorkflow
from infra.storage import Storage
from infra.studio import ENV_CORS_ORIGINS, Studio
from infra.uploads import UploadNotifications
from infra.workflow import Workflow

# Who may do what, by function name (least privilege; each function has its own role).
# The authorizer only looks API keys up; every other function reads or updates its job's records.
TABLE_READERS = ("authorizer",)
TABLE_READ_WRITE = tuple(name for name in c.FUNCTION_NAMES if name not in TABLE_READERS)
UPLOAD_READERS = ("api", "intake", "check_sentence", "submit_training")
# Intake copies each upload a job waits for to training/<tenant>/<job>/recordings/, where no presigned
# form can write (voiceclone.logic.training.intake); CheckSentence reads it there (SubmitTraining:
# all of training/).
RECORDING_KEEPERS = ("intake",)
# intake reads a comparison's kept takes too: it copies them to each vendor job's recordings.
RECORDING_READERS = ("check_sentence", "finalize", "intake", "measure_take")
RECORDINGS = f"{c.TRAINING_PREFIX}*/recordings/*"
# What CheckSentence measured of an upload's bytes (keys.measured_key), reused by every check of them.
MEASUREMENTS = f"{c.TRAINING_PREFIX}*/measured/*"
MEASURERS = ("check_sentence", "measure_take")
# The api signs presigned POSTs, and S3 checks the signer may put the object.
UPLOAD_WRITERS = ("api",)
# DELETE /v1/voices/{id} deletes the voice's recordings and its assembled training audio; so does
# expire_job for a job whose recordings did not all arrive in time.
AUDIO_DELETERS = ("api", "expire_job")
# Finalize keeps the consent take under consent/ (copied from the job's recordings); the api hands it
# out by presigned GET (GET /v1/voices/{id}/consent) and deletes it with the voice.
CONSENT_KEEPERS = ("finalize",)
CONSENT_READERS = ("api",)
CONSENT_DELETERS = ("api",)
# SubmitTraining writes the assembled audio a vendor downloads, and presigns its GET.
TRAINING_AUDIO_READ_WRITE = ("submit_training",)
SECRET_READERS = (
    "api", "callback", "check_sentence", "submit_training", "poll_status", "finalize", "expire_job",
    "speech_submit", "speech_poll", "speech_finish", "stream", "comparison_facts",
)  # fmt: skip
# MeasureVoice keeps each probe's audio (keys.probe_audio_key) under the comparisons' speech prefix
# alone: it writes no tenant's ordinary speech, and reads nothing of the bucket.
PROBE_AUDIO = f"{c.SPEECH_PREFIX}*/comparisons/*"
PROBE_AUDIO_WRITERS = ("comparison_facts",)
# The speech workflow: the api starts it; FinishSpeech stores the audio it fetched under speech/.
SPEECH_EXECUTION_STARTERS = ("api", "stream")
SPEECH_AUDIO_WRITERS = ("speech_finish",)
# Who labels speech (signs with the KMS key; docs/labels.md): the api (a synchronous vendor's speech),
# the stream function (what it streams and stores) and FinishSpeech (an asynchronous vendor's); the api
# also checks files (POST /v1/provenance).
LABELLERS = ("api", "stream", "speech_finish")
PROVENANCE_CHECKERS = ("api",)
# Who arms a job's expiry schedule: the api at create, Gate and PollStatus (a vendor's rejection)
# when a job goes back to CHECK_FAILED (infra/schedules.py).
EXPIRY_ARMERS = ("api", "gate", "poll_status")
EXECUTION_STARTERS = ("intake",)
COMPARISON_EXECUTION_STARTERS = ("intake",)
# POST /v1/jobs/{id}/cancel stops the job's execution.
EXECUTION_STOPPERS = ("api",)
# The callback redeems the task token; await_training does too when the result came before the token.
TASK_RESPONDERS = ("callback", "await_training")
# The same for the speech workflow: a vendor's speech callback, or AwaitSpeechCallback when it came first.
SPEECH_TASK_RESPONDERS = ("callback", "speech_await")

# Feature flags the stack relies on, set on the stack unless the app's context says otherwise, so the
# stack is the same whether the CDK CLI (reading cdk.json), app.py alone or a test builds it.
FEATURE_FLAGS: dict[str, Any] = {
    # Access-log delivery through a bucket policy, not the legacy LogDeliveryWrite ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}

MANAGED_POLICIES = (
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
)
# The action groups of CDK's bucket grants, on the one audio bucket.
S3_GRANT_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:Abort*", "s3:DeleteObject*")


class VoicecloneStack(Stack):
    """Storage, secrets, functions, the workflow and the API, wired with least-privilege grants.

    Synthesize it with ``infra.synth.synthesize_template(context)``; every tunable is CDK
    context (see infra.settings), so the local stack builds this very stack with short waits.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for flag, value in FEATURE_FLAGS.items():
            if self.node.try_get_context(flag) is None:
                self.node.set_context(flag, value)
        self.settings = StackSettings.from_context(self)

        self.storage = Storage(self, "Storage", self.settings)
        self.secrets = VendorSecrets(self, "VendorSecrets")
        self.functions = Functions(
            self,
            "Functions",
            self.settings,
            environment={
                c.ENV_TABLE_NAME: self.storage.table.table_name,
                c.ENV_BUCKET_NAME: self.storage.bucket.bucket_name,
                **self.secrets.environment(),
                **self.settings.function_environment(),
            },
        )
        # The C2PA signing key in KMS and the labelling functions' settings (GB 45438, C2PA).
        self.labels = SpeechLabels(
            self,
            "Labels",
            self.settings,
            {name: self.functions[name] for name in LABELLERS},
            PROVENANCE_CHECKERS,
        )
        self.workflow = Workflow(self, "Workflow", self.settings, self.functions.by_name)
        self.speech_workflow = SpeechWorkflow(self, "SpeechWorkflow", self.functions.by_name)
        self.comparison_workflow = ComparisonWorkflow(
            self,
            "ComparisonWorkflow",
            self.functions.by_name,
            self.workflow.state_machine,
            Duration.seconds(self.settings.training_deadline_seconds),
            self.settings.map_max_concurrency,
        )
        self.api = Api(
            self,
            "Api",
            self.functions.invokable("api"),
            self.functions["callback"],
            self.functions.invokable("authorizer"),
            authorizer_cache_seconds=self.settings.authorizer_cache_seconds,
            swagger_ui=self.settings.swagger_ui,
            stream_function=self.functions["stream"],
        )
        self.uploads = UploadNotifications(self, "Uploads", self.storage.bucket, self.functions["intake"])
        # Job events on a bus, and the webhooks fed from it (docs/events.md).
        self.events = JobNotifications(
            self,
            "Events",
            self.settings,
            self.storage.table,
            self.functions["publish_events"],
            self.functions["deliver_webhook"],
        )
        # One-time schedules that end a job EXPIRED when its recordings do not arrive in time.
        self.expiry = JobExpiry(
            self,
            "Expiry",
            self.functions["expire_job"],
            [self.functions[name] for name in EXPIRY_ARMERS],
        )
        # Alarms (failed jobs per vendor, webhook dead letters, executions, API 5xx) and the dashboard.
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            state_machine=self.workflow.state_machine,
            rest_api=self.api.rest_api,
            webhook_dead_letters=self.events.webhook_dead_letters,
            speech_state_machine=self.speech_workflow.state_machine,
            comparison_state_machine=self.comparison_workflow.state_machine,
        )

        if self.settings.studio:  # the browser studio on CloudFront; the API's CORS limited to its origin
            self.studio = Studio(
                self,
                "Studio",
                self.settings,
                api=self.api,
                api_function=self.functions["api"],
                audio_bucket=self.storage.bucket,
                access_logs=self.storage.access_logs,
                vendors=c.vendor_ids(),
            )
            # The streaming speech function answers the studio's browser as the api function does.
            self.functions["stream"].add_environment(
                ENV_CORS_ORIGINS, ",".join([self.studio.origin, *self.settings.studio_extra_origins])
            )
        # Added once the state machine and the API exist (both are built from the functions).
        for name in EXECUTION_STARTERS + EXECUTION_STOPPERS:
            self.functions[name].add_environment(
                c.ENV_STATE_MACHINE_ARN, self.workflow.state_machine.state_machine_arn
            )
        for name in COMPARISON_EXECUTION_STARTERS:
            self.functions[name].add_environment(
                c.ENV_COMPARISON_STATE_MACHINE_ARN, self.comparison_workflow.state_machine.state_machine_arn
            )
        for name in SPEECH_EXECUTION_STARTERS:
            self.functions[name].add_environment(
                c.ENV_SPEECH_STATE_MACHINE_ARN, self.speech_workflow.state_machine.state_machine_arn
            )
        if self.settings.swagger_ui:
            self.functions["api"].add_environment(c.ENV_SWAGGER_UI, "true")
        # Where the vendors call back: training jobs, and the speech jobs SubmitSpeech starts.
        for name in ("submit_training", "speech_submit"):
            self.functions[name].add_environment(c.ENV_API_URL, self.api.base_url)
        self._grant()
        self._acknowledge_nag_findings()

    def _grant(self) -> None:
        fn, bucket = self.functions, self.storage.bucket
        for name in TABLE_READERS:
            self.storage.table.grant_read_data(fn[name])
        for name in TABLE_READ_WRITE:
            self.storage.table.grant_read_write_data(fn[name])
        for name in UPLOAD_READERS:
            bucket.grant_read(fn[name], f"{c.UPLOAD_PREFIX}*")
        for name in UPLOAD_WRITERS:
            bucket.grant_put(fn[name], f"{c.UPLOAD_PREFIX}*")
        for name in RECORDING_KEEPERS:
            bucket.grant_put(fn[name], RECORDINGS)
        for name in RECORDING_READERS:
            bucket.grant_read(fn[name], RECORDINGS)
        for name in MEASURERS:
            bucket.grant_read(fn[name], MEASUREMENTS)
            bucket.grant_put(fn[name], MEASUREMENTS)
        for name in AUDIO_DELETERS:
            bucket.grant_delete(fn[name], f"{c.UPLOAD_PREFIX}*")
            bucket.grant_delete(fn[name], f"{c.TRAINING_PREFIX}*")
            # They list a job's two prefixes to delete everything there (voiceclone.logic.training.voices).
            fn[name].add_to_role_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                    conditions={
                        "StringLike": {"s3:prefix": [f"{c.UPLOAD_PREFIX}*", f"{c.TRAINING_PREFIX}*"]}
                    },
                )
            )
        for name in CONSENT_KEEPERS:
            bucket.grant_put(fn[name], f"{c.CONSENT_PREFIX}*")
        for name in CONSENT_READERS:
            bucket.grant_read(fn[name], f"{c.CONSENT_PREFIX}*")
        for name in CONSENT_DELETERS:
            bucket.grant_delete(fn[name], f"{c.CONSENT_PREFIX}*")
        # The api function stores the audio it speaks and hands it out by presigned GET.
        bucket.grant_put(fn["api"], f"{c.SPEECH_PREFIX}*")
        bucket.grant_read(fn["api"], f"{c.SPEECH_PREFIX}*")
        # ...and copies a comparison's probe audio, labelled, under random names for blind pairs (reads
        # the probes under speech/, writes and presigns the copies).
        bucket.grant_put(fn["api"], f"{c.LISTENING_PREFIX}*")
        bucket.grant_read(fn["api"], f"{c.LISTENING_PREFIX}*")
        # So does the streaming function, once a stream completed (and reads an async vendor's file).
        bucket.grant_put(fn["stream"], f"{c.SPEECH_PREFIX}*")
        bucket.grant_read(fn["stream"], f"{c.SPEECH_PREFIX}*")
        for name in SPEECH_AUDIO_WRITERS:
            bucket.grant_put(fn[name], f"{c.SPEECH_PREFIX}*")
        for name in PROBE_AUDIO_WRITERS:
            bucket.grant_put(fn[name], PROBE_AUDIO)
        for name in SPEECH_EXECUTION_STARTERS:
            self.speech_workflow.state_machine.grant_start_execution(fn[name])
        for name in TRAINING_AUDIO_READ_WRITE:
            bucket.grant_read(fn[name], f"{c.TRAINING_PREFIX}*")
            bucket.grant_put(fn[name], f"{c.TRAINING_PREFIX}*")
        for name in SECRET_READERS:
            self.secrets.grant_read(fn[name])
        for name in EXECUTION_STARTERS:
            self.workflow.state_machine.grant_start_execution(fn[name])
        for name in COMPARISON_EXECUTION_STARTERS:
            self.comparison_workflow.state_machine.grant_start_execution(fn[name])
        for name in EXECUTION_STOPPERS:
            self.workflow.state_machine.grant_execution(fn[name], "states:StopExecution")
        for name in TASK_RESPONDERS:
            self.workflow.grant_task_response(fn[name])
        for name in SPEECH_TASK_RESPONDERS:
            self.speech_workflow.grant_task_response(fn[name])

    # ----- cdk-nag ------------------------------------------------------------------------------
    # Findings of one construct are acknowledged where it is built (api, functions, secrets,
    # notifications); here are those that come from the wiring and from CDK's own helpers.

    def _acknowledge_nag_findings(self) -> None:
        NagSuppressions.add_stack_suppressions(
            self,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason="AWS-maintained policies that grant exactly their purpose: "
                    "AWSLambdaBasicExecutionRole (write own logs) on the function roles and on CDK's "
                    "BucketNotificationsHandler, AmazonAPIGatewayPushToCloudWatchLogs on API Gateway's "
                    "account role.",
                    applies_to=[f"Policy::{policy}" for policy in MANAGED_POLICIES],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Wildcards from CDK grants, each on one named resource: objects under uploads/*, "
                    "training/*, training/*/recordings/* (the copies intake keeps), speech/* and consent/* "
                    "of the audio bucket (with CDK's "
                    "s3:GetObject*/GetBucket*/List*/Abort* action groups on that bucket only), the jobs "
                    "table's index/* (its two GSIs), "
                    "the state machine invoking versions/aliases (:*) of its own functions, and the api "
                    "stopping executions (:*) of the one state machine (POST /v1/jobs/{id}/cancel); "
                    "training/*/measured/* (what CheckSentence measured of an upload's bytes); "
                    "speech/*/comparisons/* (the probe audio of a comparison's voices); the "
                    "comparison workflow describing and stopping the training workflow's executions it "
                    "starts (startExecution.sync:2: that machine's executions, its name followed by *).",
                    applies_to=self._granted_wildcards(),
                ),
            ],
        )
        x_ray_reason = (
            "Resource::* only for actions without resource-level permissions: X-Ray trace writes "
            "(xray:PutTraceSegments/PutTelemetryRecords) and, on the state machine role, CloudWatch Logs "
            "delivery management (logs:CreateLogDelivery etc.)."
        )
        roles = [f.role for f in self.functions.by_name.values()] + [
            self.workflow.state_machine.role,
            self.speech_workflow.state_machine.role,
            self.comparison_workflow.state_machine.role,
        ]
        for role in roles:
            if role is None:
                continue
            NagSuppressions.add_resource_suppressions(
                role,
                [NagPackSuppression(id="AwsSolutions-IAM5", reason=x_ray_reason, applies_to=["Resource::*"])],
                apply_to_children=True,
            )

    def _granted_wildcards(self) -> list[str]:
        """The exact wildcard resources the grants above produce, as cdk-nag names them."""
        bucket = self._logical_id(self.storage.bucket.node.default_child)
        table = self._logical_id(self.storage.table.node.default_child)
        # Any function may be a task of the workflow; naming them all keeps this list from drifting.
        invoked = [self._logical_id(f.node.default_child) for f in self.functions.by_name.values()]
        machine = self._logical_id(self.workflow.state_machine.node.default_child)
        # grant_execution's resource: the executions of the one state machine (its name from its ARN).
        executions = (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}:*'
        )
        # The comparison workflow's startExecution.sync:2 task: DescribeExecution/StopExecution on the
        # training workflow's executions (CDK's grant: the machine's name followed by *).
        training_runs = executions.removesuffix(":*") + "*"
        return [
            *(f"Action::{action}" for action in S3_GRANT_ACTIONS),
            f"Resource::<{bucket}.Arn>/{c.UPLOAD_PREFIX}*",
            f"Resource::<{bucket}.Arn>/{c.TRAINING_PREFIX}*",
            f"Resource::<{bucket}.Arn>/{c.SPEECH_PREFIX}*",
            f"Resource::<{bucket}.Arn>/{c.CONSENT_PREFIX}*",
            f"Resource::<{bucket}.Arn>/{c.LISTENING_PREFIX}*",
            f"Resource::<{bucket}.Arn>/{RECORDINGS}",
            f"Resource::<{bucket}.Arn>/{MEASUREMENTS}",
            f"Resource::<{bucket}.Arn>/{PROBE_AUDIO}",
            f"Resource::<{table}.Arn>/index/*",
            *(f"Resource::<{function}.Arn>:*" for function in invoked),
            f"Resource::{executions}",
            f"Resource::{training_runs}",
        ]

    def _logical_id(self, element: object) -> str:
        assert isinstance(element, CfnElement)
        return self.get_logical_id(element)
