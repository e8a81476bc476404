"""Assertions on the synthesized template: storage, functions, the workflow, the API, IAM, context."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from infra.api import CLIENT_ROUTES, STREAM_ROUTE
from infra.constants import FUNCTION_NAMES, SKIP_BUNDLING, VENDORS, handler_of
from infra.synth import synthesize_template
from infra.template_tools import (
    definition_from_template,
    invoked_by_handler,
    placeholder,
    resources_of_type,
    state_machine_logical_id,
)
from tests.helpers import TABLE_SCHEMA
from tests.infra.conftest import (
    BUNDLING_CALLS,
    environment_of,
    functions_by_handler,
    handlers_allowed,
    role_of,
)

SHARED_ENV = {
    "VOICECLONE_TABLE_NAME", "VOICECLONE_BUCKET_NAME",
    "VOICECLONE_POLL_BACKOFF", "VOICECLONE_TRAINING_DEADLINE_SECONDS",
    "VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS", "VOICECLONE_MAX_UPLOAD_BYTES",
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL",
    *(f"VOICECLONE_{vendor.upper()}_SECRET_ARN" for vendor in VENDORS),
}  # fmt: skip


def vendor_retry(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The state's retriers other than the one CDK adds for Lambda's own transient errors."""
    retries: list[dict[str, Any]] = state["Retry"]
    return [r for r in retries if not r["ErrorEquals"][0].startswith("Lambda.")]


def test_session_synthesis_did_not_bundle(nagged: Any) -> None:
    # Given the session's stack, synthesized with bundling skipped
    # Then pip never ran (PipBundling was replaced by a recorder for that synthesis)
    assert BUNDLING_CALLS == []


# ----- storage -------------------------------------------------------------------------------------


def test_audio_bucket_is_private_encrypted_logged_and_expires_uploads(template: Template) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with([
                    Match.object_like({
                        "Prefix": "uploads/", "ExpirationInDays": 30, "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    })
                ])
            },
            "CorsConfiguration": {
                "CorsRules": [
                    Match.object_like({"AllowedMethods": ["POST"], "AllowedOrigins": ["*"]}),
                    Match.object_like({"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["*"]}),
                ]
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "audio/"}),
        },
    )  # fmt: skip


def test_every_bucket_is_ssl_only_and_retained(template: Template, template_json: dict[str, Any]) -> None:
    buckets = resources_of_type(template_json, "AWS::S3::Bucket")
    assert len(buckets) == 2  # the audio bucket and its access-log bucket
    assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}
    policies = resources_of_type(template_json, "AWS::S3::BucketPolicy")
    ssl_only = {
        p["Properties"]["Bucket"]["Ref"]
        for p in policies.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert ssl_only == set(buckets)


def test_table_keys_indexes_recovery_and_encryption(
    template: Template, template_json: dict[str, Any]
) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": TABLE_SCHEMA["KeySchema"],
            "AttributeDefinitions": Match.array_with(TABLE_SCHEMA["AttributeDefinitions"]),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "GlobalSecondaryIndexes": TABLE_SCHEMA["GlobalSecondaryIndexes"],
        },
    )
    (table,) = resources_of_type(template_json, "AWS::DynamoDB::Table").values()
    assert table["DeletionPolicy"] == "Retain"


def test_vendor_secrets_hold_placeholders_not_values(template_json: dict[str, Any]) -> None:
    secrets = {
        s["Properties"]["Name"]: s["Properties"]["GenerateSecretString"]
        for s in resources_of_type(template_json, "AWS::SecretsManager::Secret").values()
    }
    assert set(secrets) == {f"voiceclone/{vendor}" for vendor in VENDORS}
    tencent = secrets["voiceclone/tencent_vrs"]
    assert tencent["SecretStringTemplate"] == '{"secret_id": "REPLACE_ME"}'
    assert tencent["GenerateStringKey"] == "secret_key"


# ----- functions ------------------------------------------------------------------------------------


def test_every_function_python_3_13_arm_traced_json_logs_and_shared_environment(
    template_json: dict[str, Any],
) -> None:
    functions = functions_by_handler(template_json)
    assert set(functions) == {handler_of(n) for n in FUNCTION_NAMES}
    assert len(functions) == len(FUNCTION_NAMES)
    for handler, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"], handler
        assert props["TracingConfig"] == {"Mode": "Active"}, handler
        assert props["LoggingConfig"]["LogFormat"] == "JSON", handler
        assert props["LoggingConfig"]["LogGroup"], handler
        assert props["MemorySize"] == 512, handler
        env = props["Environment"]["Variables"]
        assert set(env) >= SHARED_ENV, (handler, SHARED_ENV - set(env))
        assert env["POWERTOOLS_SERVICE_NAME"] == "voiceclone"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Voiceclone"
    timeouts = {h: f["Properties"]["Timeout"] for h, f in functions.items()}
    assert timeouts[handler_of("check_sentence")] == 60 and timeouts[handler_of("gate")] == 30


def test_default_context_values_reach_the_environment(template_json: dict[str, Any]) -> None:
    env = environment_of(template_json, handler_of("poll_status"))
    # No vendor endpoint by default: each adapter's default_endpoint, unless the environment says otherwise
    assert not [k for k in env if k.endswith("_ENDPOINT")]
    assert "VOICECLONE_VENDOR_TIMEOUT_SECONDS" not in env
    assert env["VOICECLONE_POLL_BACKOFF"] == "1.5"
    assert env["VOICECLONE_TRAINING_DEADLINE_SECONDS"] == "172800"
    assert env["VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS"] == "900"
    assert env["VOICECLONE_MAX_UPLOAD_BYTES"] == "5242880"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    # Unset by default: each vendor polls at its own pace.
    assert "VOICECLONE_POLL_INITIAL_SECONDS" not in env and "VOICECLONE_POLL_MAX_SECONDS" not in env


def test_only_intake_and_api_know_the_state_machine_and_only_the_submitters_the_api_url(
    template_json: dict[str, Any],
) -> None:
    machine_id = state_machine_logical_id(template_json)  # the training workflow's
    holders = {
        name: {h for h in functions_by_handler(template_json) if name in environment_of(template_json, h)}
        for name in ("VOICECLONE_STATE_MACHINE_ARN", "VOICECLONE_API_URL")
    }
    assert holders == {
        "VOICECLONE_STATE_MACHINE_ARN": {handler_of("intake"), handler_of("api")},
        # Where the vendors call back: SubmitTraining's and SubmitSpeech's jobs.
        "VOICECLONE_API_URL": {handler_of("submit_training"), handler_of("speech_submit")},
    }
    assert environment_of(template_json, handler_of("intake"))["VOICECLONE_STATE_MACHINE_ARN"] == {
        "Ref": machine_id
    }
    api_url = environment_of(template_json, handler_of("submit_training"))["VOICECLONE_API_URL"]
    assert "execute-api" in str(api_url) and "/prod/" in str(api_url)


def test_each_function_has_its_own_role(template_json: dict[str, Any]) -> None:
    assert len(set(role_of(template_json).values())) == len(FUNCTION_NAMES)


# ----- the workflow ---------------------------------------------------------------------------------


def test_state_machine_is_standard_traced_logged_and_bounded(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": False}),
        },
    )


def test_workflow_states_and_order(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "LoadJob"
    assert definition["TimeoutSeconds"] == 172800 + 86400
    assert states["LoadJob"]["Next"] == "CheckSentences"
    assert states["LoadJob"]["ResultPath"] == "$.job"
    # The execution's input names the vendor (intake starts it so); every later step has it from LoadJob.
    assert states["LoadJob"]["Parameters"] == {"job_id.$": "$.job_id", "vendor.$": "$.vendor"}
    assert states["CheckSentences"]["Next"] == "Gate"
    assert states["Gate"]["Next"] == "AllSentencesPassed" and states["Gate"]["ResultPath"] == "$.gate"
    passed = states["AllSentencesPassed"]
    assert passed["Choices"] == [
        {"Variable": "$.gate.passed", "BooleanEquals": True, "Next": "SubmitTraining"}
    ]
    assert passed["Default"] == "SentencesRejected"
    assert states["SentencesRejected"] == {
        "Type": "Fail",
        "Error": "SentencesRejected",
        "Cause": "one or more sentences failed the check; GET /v1/jobs/{id} lists the reasons",
    }
    assert states["SubmitTraining"]["Next"] == "CallbackOrPoll"
    assert states["SubmitTraining"]["ResultPath"] == "$.training"
    callback_or_poll = states["CallbackOrPoll"]
    assert callback_or_poll["Choices"] == [
        {"Variable": "$.training.callback", "BooleanEquals": True, "Next": "AwaitCallback"}
    ]
    assert callback_or_poll["Default"] == "WaitBeforePoll"
    assert states["AwaitCallback"]["Next"] == "Finalize"
    assert states["Finalize"]["Next"] == "VoiceReady" and states["Finalize"]["ResultPath"] == "$.voice"
    assert states["VoiceReady"]["Type"] == "Succeed"
    assert states["MarkFailed"]["Parameters"] == {
        "job_id.$": "$.job_id",
        "vendor.$": "$.job.vendor",
        "error.$": "$.error",
    }
    assert states["MarkFailed"]["Next"] == "JobFailed"
    assert states["JobFailed"]["Type"] == "Fail" and states["JobFailed"]["Error"] == "JobFailed"


def test_lambda_tasks_return_the_function_result_only(definition: dict[str, Any]) -> None:
    states = dict(definition["States"])
    states.update(definition["States"]["CheckSentences"]["ItemProcessor"]["States"])
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert set(tasks) == {
        "LoadJob", "CheckSentence", "Gate", "SubmitTraining", "AwaitCallback",
        "PollStatus", "Finalize", "MarkFailed",
    }  # fmt: skip
    for name, task in tasks.items():
        # Every step is told its job's vendor (its metrics dimension and log key): none reads the job for it.
        payload = task["Parameters"]["Payload"] if name == "AwaitCallback" else task["Parameters"]
        assert "vendor.$" in payload, name
        if name == "AwaitCallback":
            continue
        # payload_response_only: the function ARN itself is the resource (no lambda:invoke wrapper).
        assert task["Resource"].startswith("<Functions") and task["Resource"].endswith(".Arn>"), name


def test_map_fans_out_with_bounded_concurrency_and_retries_vendor_errors(definition: dict[str, Any]) -> None:
    fan_out = definition["States"]["CheckSentences"]
    assert fan_out["Type"] == "Map" and fan_out["MaxConcurrency"] == 10
    assert fan_out["ItemsPath"] == "$.job.sentences"
    assert fan_out["ItemSelector"] == {
        "job_id.$": "$.job_id",
        "vendor.$": "$.job.vendor",
        "text_id.$": "$$.Map.Item.Value.text_id",
    }
    assert fan_out["ResultPath"] is None
    assert fan_out["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}
    ]
    check = fan_out["ItemProcessor"]["States"]["CheckSentence"]
    assert check["Parameters"] == {"job_id.$": "$.job_id", "vendor.$": "$.vendor", "text_id.$": "$.text_id"}
    assert vendor_retry(check) == [
        {
            "ErrorEquals": ["VendorThrottled", "VendorUnavailable"],
            "IntervalSeconds": 1,
            "MaxAttempts": 6,
            "BackoffRate": 2,
            "MaxDelaySeconds": 30,
            "JitterStrategy": "FULL",
        }
    ]


def test_vendor_calls_retry_and_fail_into_mark_failed(definition: dict[str, Any]) -> None:
    states = definition["States"]
    for name in ("SubmitTraining", "PollStatus", "Finalize"):
        assert (
            states[name]["Retry"]
            == definition["States"]["CheckSentences"]["ItemProcessor"]["States"]["CheckSentence"]["Retry"]
        ), name
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}
        ], name


def test_callback_wait_times_out_into_polling(definition: dict[str, Any]) -> None:
    states = definition["States"]
    await_callback = states["AwaitCallback"]
    assert await_callback["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert await_callback["TimeoutSeconds"] == 7200
    assert await_callback["ResultPath"] == "$.outcome"
    assert await_callback["Parameters"]["Payload"] == {
        "job_id.$": "$.job_id",
        "vendor.$": "$.job.vendor",
        "task_token.$": "$$.Task.Token",
    }
    # The specific catcher first: Step Functions takes the first that matches.
    assert await_callback["Catch"] == [
        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.await_timeout", "Next": "WaitBeforePoll"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"},
    ]


def test_polling_loop(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states["WaitBeforePoll"] == {
        "Type": "Wait",
        "SecondsPath": "$.training.poll.wait_seconds",
        "Next": "PollStatus",
    }
    poll = states["PollStatus"]
    assert poll["Parameters"] == {
        "job_id.$": "$.job_id",
        "vendor.$": "$.job.vendor",
        "poll.$": "$.training.poll",
    }
    assert poll["ResultPath"] == "$.training.poll" and poll["Next"] == "TrainingDone"
    done = states["TrainingDone"]
    assert done["Choices"] == [
        {"Variable": "$.training.poll.state", "StringEquals": "SUCCEEDED", "Next": "Finalize"},
        # the vendor refused recordings after training began: the client records them again
        {"Variable": "$.training.poll.state", "StringEquals": "REJECTED", "Next": "SentencesRejected"},
    ]
    assert done["Default"] == "WaitBeforePoll"


def test_the_poll_loop_reads_what_poll_status_returns(definition: dict[str, Any]) -> None:
    # The Choice's values are PollOutcome's (one definition), and the paths are PollState's fields
    from voiceclone.domain.polling import PollOutcome, PollState, TrainingStarted

    states = definition["States"]
    matched = {c["StringEquals"] for c in states["TrainingDone"]["Choices"]}
    assert matched == {o.value for o in PollOutcome if o.ends_polling}
    assert states["WaitBeforePoll"]["SecondsPath"].removeprefix("$.training.poll.") in PollState.model_fields
    assert {"callback", "poll"} <= set(TrainingStarted.model_fields)
    # Vendor throttling and outages are waited out inside PollStatus: the loop has no extra state for them
    loop = {"WaitBeforePoll", "PollStatus", "TrainingDone"}
    assert {states[name].get("Next") for name in loop} - {None} == {"PollStatus", "TrainingDone"}


def test_context_reaches_the_template() -> None:
    # Given the short waits the local stack uses
    template = synthesize_template(
        {
            **SKIP_BUNDLING,
            "voiceclone:callbackTimeoutSeconds": 4,
            "voiceclone:mapMaxConcurrency": 3,
            "voiceclone:pollInitialSeconds": 1,
            "voiceclone:pollMaxSeconds": 2,
            "voiceclone:trainingDeadlineSeconds": 120,
            "voiceclone:uploadRetentionDays": 7,
            "voiceclone:vendorSettings": {
                "QINIU_ENDPOINT": "https://qiniu.example",
                "TENCENT_VRS_ENDPOINT": "http://127.0.0.1:9/vrs",
            },
            "voiceclone:vendorTimeoutSeconds": 25,
            "voiceclone:logLevel": "DEBUG",
        }
    )
    # Then the workflow, the functions and the bucket use them
    definition = definition_from_template(template, placeholder)
    assert definition["States"]["AwaitCallback"]["TimeoutSeconds"] == 4
    assert definition["States"]["CheckSentences"]["MaxConcurrency"] == 3
    assert definition["TimeoutSeconds"] == 120 + 86400
    env = environment_of(template, handler_of("poll_status"))
    assert env["VOICECLONE_POLL_INITIAL_SECONDS"] == "1" and env["VOICECLONE_POLL_MAX_SECONDS"] == "2"
    assert env["VOICECLONE_TRAINING_DEADLINE_SECONDS"] == "120"
    assert env["VOICECLONE_TENCENT_VRS_ENDPOINT"] == "http://127.0.0.1:9/vrs"
    assert env["VOICECLONE_QINIU_ENDPOINT"] == "https://qiniu.example"
    assert env["VOICECLONE_VENDOR_TIMEOUT_SECONDS"] == "25.0"
    assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    Template.from_json(template).has_resource_properties(
        "AWS::S3::Bucket",
        {"LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"ExpirationInDays": 7})])}},
    )


# ----- the API ----------------------------------------------------------------------------------------


def _methods(template_json: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    resources = resources_of_type(template_json, "AWS::ApiGateway::Resource")

    def path(ref: Any) -> str:
        if isinstance(ref, dict) and "Ref" in ref:
            props = resources[ref["Ref"]]["Properties"]
            return path(props["ParentId"]) + "/" + str(props["PathPart"])
        return ""

    return {
        (m["Properties"]["HttpMethod"], path(m["Properties"]["ResourceId"])): m["Properties"]
        for m in resources_of_type(template_json, "AWS::ApiGateway::Method").values()
    }


def test_api_routes_their_authorization_and_functions(template_json: dict[str, Any]) -> None:
    methods = _methods(template_json)
    assert {route: m["AuthorizationType"] for route, m in methods.items()} == {
        **{route: "CUSTOM" for route in CLIENT_ROUTES},
        STREAM_ROUTE: "CUSTOM",
        ("GET", "/v1/openapi.json"): "NONE",
        ("POST", "/v1/callbacks/{vendor}/{job_id}"): "NONE",
    }
    (authorizer_id,) = resources_of_type(template_json, "AWS::ApiGateway::Authorizer")
    logical_of = invoked_by_handler(template_json)
    for route, method in methods.items():
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY", route
        owner = "stream" if route == STREAM_ROUTE else "api"
        expected = handler_of("callback" if route[1].startswith("/v1/callbacks") else owner)
        assert logical_of[expected] in str(integration["Uri"]), route
        if route in (*CLIENT_ROUTES, STREAM_ROUTE):
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
            assert method.get("RequestValidatorId"), route


def test_the_authorizer_reads_the_bearer_key_and_is_cached_per_key(
    template: Template, template_json: dict[str, Any]
) -> None:
    (authorizer,) = resources_of_type(template_json, "AWS::ApiGateway::Authorizer").values()
    props = authorizer["Properties"]
    assert props["Type"] == "TOKEN"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 300
    assert invoked_by_handler(template_json)[handler_of("authorizer")] in str(props["AuthorizerUri"])


def test_swagger_ui_only_where_the_context_turns_it_on(template_json: dict[str, Any]) -> None:
    assert ("GET", "/v1/docs") not in _methods(template_json)
    assert "VOICECLONE_SWAGGER_UI" not in environment_of(template_json, handler_of("api"))
    local = synthesize_template({"voiceclone:swaggerUi": True})
    assert _methods(local)[("GET", "/v1/docs")]["AuthorizationType"] == "NONE"
    assert environment_of(local, handler_of("api"))["VOICECLONE_SWAGGER_UI"] == "true"


def test_api_stage_logs_traces_and_throttles(template: Template, template_json: dict[str, Any]) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "prod",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like({
                    "DataTraceEnabled": False, "LoggingLevel": "ERROR",
                    "ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100,
                })
            ],
        },
    )  # fmt: skip
    assert "ApiUrl" in template_json["Outputs"]
    # ...and the table's name, where `voiceclone admin issue-key --table` writes API keys
    (table_id,) = resources_of_type(template_json, "AWS::DynamoDB::Table")
    assert template_json["Outputs"]["TableName"]["Value"] == {"Ref": table_id}


# ----- events and permissions -----------------------------------------------------------------------


def test_uploads_notify_intake(template: Template, template_json: dict[str, Any]) -> None:
    intake = next(
        k for k, v in resources_of_type(template_json, "AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == handler_of("intake")
    )  # fmt: skip
    template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "NotificationConfiguration": {
                "LambdaFunctionConfigurations": [
                    {
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": Match.array_with([
                            {"Name": "suffix", "Value": suffix}, {"Name": "prefix", "Value": "uploads/"},
                        ])}},
                        "LambdaFunctionArn": {"Fn::GetAtt": [intake, "Arn"]},
                    }
                    for suffix in (".wav", ".pdf")
                ]
            }
        },
    )  # fmt: skip
    template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": intake},
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_workflow_permissions_are_least_privilege(template_json: dict[str, Any]) -> None:
    # The api starts speech executions only (tests/infra/test_speech_infra.py checks each machine's starters).
    assert handlers_allowed(template_json, "states:StartExecution") == {
        handler_of("intake"),
        handler_of("api"),
        handler_of("stream"),  # an async vendor's speech, answered whole once made
    }
    # POST /v1/jobs/{id}/cancel
    assert handlers_allowed(template_json, "states:StopExecution") == {handler_of("api")}
    # The speech workflow's tokens: the callback, and AwaitSpeechCallback when the callback came first.
    assert handlers_allowed(template_json, "states:SendTaskSuccess") == {
        handler_of("callback"),
        handler_of("await_training"),
        handler_of("speech_await"),
    }


def test_data_permissions_are_least_privilege(template_json: dict[str, Any]) -> None:
    every = {handler_of(n) for n in FUNCTION_NAMES}
    # The authorizer reads API keys and nothing else.
    assert handlers_allowed(template_json, "dynamodb:PutItem") == every - {handler_of("authorizer")}
    assert handler_of("authorizer") in handlers_allowed(template_json, "dynamodb:GetItem")
    # Only DELETE /v1/voices/{id} deletes audio, and expire_job that of a job whose recordings came too late.
    deleters = {handler_of("api"), handler_of("expire_job")}
    assert handlers_allowed(template_json, "s3:DeleteObject*") == deleters
    # Clients' uploads are presigned by the api; the assembled training audio is written by SubmitTraining;
    # intake keeps each accepted upload where no form can write (training/*/recordings/* only).
    # FinishSpeech stores what an async vendor spoke (speech/* only); Finalize keeps the consent take
    # with the voice (consent/* only), copied from the job's recordings (which it reads). CheckSentence and
    # MeasureTake keep what they measured of an upload's bytes (training/*/measured/* only). MeasureVoice
    # keeps the probe audio (speech/*/comparisons/* only: tests/infra/test_comparison_infra.py).
    assert handlers_allowed(template_json, "s3:PutObject") == {
        handler_of("api"),
        handler_of("stream"),
        handler_of("submit_training"),
        handler_of("intake"),
        handler_of("speech_finish"),
        handler_of("finalize"),
        handler_of("check_sentence"),
        handler_of("measure_take"),
        handler_of("comparison_facts"),
    }
    assert handlers_allowed(template_json, "s3:GetObject*") == {
        handler_of(n)
        for n in ("api", "stream", "intake", "check_sentence", "submit_training", "finalize", "measure_take")
    }
    # expire_job cancels the vendor's task of a job that expires (a Huawei job sent back for re-recording).
    readers = {"api", "callback", "check_sentence", "submit_training", "poll_status", "finalize"}
    readers.add("expire_job")
    # The speech workflow's steps that call the vendor (MarkSpeechFailed does not).
    readers |= {"speech_submit", "speech_poll", "speech_finish"}
    readers.add("stream")  # streaming speech calls the vendor
    readers.add("comparison_facts")  # MeasureVoice speaks the probes with the vendor
    assert handlers_allowed(template_json, "secretsmanager:GetSecretValue") == set(map(handler_of, readers))


def test_unscoped_statements_are_only_for_actions_without_resource_permissions(
    template_json: dict[str, Any],
) -> None:
    # The IAM5 acknowledgement for Resource::* (infra/stack.py) claims exactly this.
    unscoped = {
        action
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Resource"] == "*"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    log_delivery = {
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }  # fmt: skip
    x_ray = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
    }
    assert unscoped - log_delivery == x_ray
