"""Assertions on the synthesized template: storage, functions, the workflow, the API, IAM."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from infra.constants import FUNCTION_NAMES, VENDORS, handler_of
from infra.synth import synthesize_template
from tests.helpers import TABLE_SCHEMA
from tests.infra.conftest import NO_BUNDLING, resolve_definition

COMMON_ENV = (
    "VOICECLONE_TABLE_NAME", "VOICECLONE_BUCKET_NAME", "VOICECLONE_POLL_BACKOFF",
    "VOICECLONE_TRAINING_DEADLINE_SECONDS", "VOICECLONE_UPLOAD_URL_EXPIRY_SECONDS",
    "VOICECLONE_MAX_UPLOAD_BYTES",
    *(f"VOICECLONE_{vendor.upper()}_SECRET_ARN" for vendor in VENDORS),
)  # fmt: skip


def functions_by_handler(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["Handler"]: r
        for r in template_json["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
        and str(r["Properties"].get("Handler", "")).startswith("voiceclone.")
    }


def test_audio_bucket_is_private_encrypted_ssl_only_and_expires_uploads(template: Template) -> None:
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
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "uploads/", "ExpirationInDays": 30, "Status": "Enabled"})]
                )
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "audio/"}),
        },
    )  # fmt: skip
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({
                        "Effect": "Deny",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    })]
                )
            }
        },
    )  # fmt: skip


def test_table_keys_indexes_and_recovery(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": TABLE_SCHEMA["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    Match.object_like({k: v for k, v in g.items()})
                    for g in TABLE_SCHEMA["GlobalSecondaryIndexes"]
                ]
            ),
        },
    )


def test_every_function_is_python_3_13_arm_with_the_shared_environment(template_json: dict[str, Any]) -> None:
    functions = functions_by_handler(template_json)
    assert set(functions) == {handler_of(n) for n in FUNCTION_NAMES}
    for handler, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"], handler
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        env = props["Environment"]["Variables"]
        assert set(COMMON_ENV) <= set(env), handler
    assert (
        "VOICECLONE_STATE_MACHINE_ARN"
        in functions[handler_of("intake")]["Properties"]["Environment"]["Variables"]
    )
    api_url = functions[handler_of("submit_training")]["Properties"]["Environment"]["Variables"][
        "VOICECLONE_API_URL"
    ]
    assert "execute-api" in str(api_url)


def test_each_function_has_its_own_role(template_json: dict[str, Any]) -> None:
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions_by_handler(template_json).values()]
    assert len(set(roles)) == len(FUNCTION_NAMES)


def test_workflow_states_and_order(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "LoadJob"
    assert states["LoadJob"]["Next"] == "CheckSentences"
    assert states["CheckSentences"]["Next"] == "Gate"
    assert states["Gate"]["Next"] == "AllSentencesPassed"
    choice = states["AllSentencesPassed"]
    assert choice["Choices"][0]["Next"] == "SubmitTraining" and choice["Default"] == "SentencesRejected"
    assert states["SentencesRejected"]["Type"] == "Fail"
    assert states["SubmitTraining"]["Next"] == "CallbackOrPoll"
    assert states["AwaitCallback"]["Next"] == "Finalize"
    assert states["Finalize"]["Next"] == "VoiceReady" and states["VoiceReady"]["Type"] == "Succeed"
    assert states["MarkFailed"]["Next"] == "JobFailed" and states["JobFailed"]["Type"] == "Fail"


def test_map_fans_out_with_bounded_concurrency_and_retries_vendor_errors(definition: dict[str, Any]) -> None:
    fan_out = definition["States"]["CheckSentences"]
    assert fan_out["Type"] == "Map" and fan_out["MaxConcurrency"] == 10
    assert fan_out["ItemsPath"] == "$.job.sentences"
    assert fan_out["Catch"][0]["Next"] == "MarkFailed"
    check = fan_out["ItemProcessor"]["States"]["CheckSentence"]
    vendor_retry = next(r for r in check["Retry"] if "VendorThrottled" in r["ErrorEquals"])
    assert set(vendor_retry["ErrorEquals"]) == {"VendorThrottled", "VendorUnavailable"}
    assert vendor_retry["JitterStrategy"] == "FULL" and vendor_retry["BackoffRate"] == 2
    assert vendor_retry["MaxAttempts"] == 6 and vendor_retry["MaxDelaySeconds"] == 30


def test_callback_wait_falls_back_to_polling(definition: dict[str, Any]) -> None:
    states = definition["States"]
    await_callback = states["AwaitCallback"]
    assert await_callback["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert await_callback["TimeoutSeconds"] == 7200
    assert await_callback["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in await_callback["Catch"]}
    assert catches[("States.Timeout",)] == "WaitBeforePoll" and catches[("States.ALL",)] == "MarkFailed"
    assert states["WaitBeforePoll"]["SecondsPath"] == "$.training.poll.wait_seconds"
    assert states["WaitBeforePoll"]["Next"] == "PollStatus"
    done = states["TrainingDone"]
    assert done["Choices"][0]["Next"] == "Finalize" and done["Default"] == "WaitBeforePoll"
    for state in ("SubmitTraining", "PollStatus", "Finalize"):
        assert any("VendorThrottled" in r["ErrorEquals"] for r in states[state]["Retry"]), state
        assert states[state]["Catch"][0]["Next"] == "MarkFailed", state


def test_context_reaches_the_template() -> None:
    template = synthesize_template(
        {
            **NO_BUNDLING,
            "voiceclone:callbackTimeoutSeconds": 4,
            "voiceclone:mapMaxConcurrency": 3,
            "voiceclone:pollInitialSeconds": 2,
            "voiceclone:vendorSettings": {"QINIU_ENDPOINT": "https://qiniu.example"},
        }
    )
    env = functions_by_handler(template)[handler_of("poll_status")]["Properties"]["Environment"]["Variables"]
    assert (
        env["VOICECLONE_POLL_INITIAL_SECONDS"] == "2"
        and env["VOICECLONE_QINIU_ENDPOINT"] == "https://qiniu.example"
    )
    machine = next(
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    )
    definition = resolve_definition(machine["Properties"]["DefinitionString"])
    assert definition["States"]["AwaitCallback"]["TimeoutSeconds"] == 4
    assert definition["States"]["CheckSentences"]["MaxConcurrency"] == 3


def test_api_routes_and_their_authorization(template_json: dict[str, Any]) -> None:
    resources = {
        k: v for k, v in template_json["Resources"].items() if v["Type"] == "AWS::ApiGateway::Resource"
    }

    def path(ref: Any) -> str:
        if isinstance(ref, dict) and "Ref" in ref:
            props = resources[ref["Ref"]]["Properties"]
            return path(props["ParentId"]) + "/" + props["PathPart"]
        return ""

    methods = {
        (m["Properties"]["HttpMethod"], path(m["Properties"]["ResourceId"])): m["Properties"][
            "AuthorizationType"
        ]
        for m in template_json["Resources"].values()
        if m["Type"] == "AWS::ApiGateway::Method"
    }
    assert methods == {
        ("POST", "/v1/jobs"): "AWS_IAM",
        ("GET", "/v1/jobs"): "AWS_IAM",
        ("GET", "/v1/jobs/{job_id}"): "AWS_IAM",
        ("GET", "/v1/vendors/{vendor}/training-texts"): "AWS_IAM",
        ("POST", "/v1/callbacks/{vendor}/{job_id}"): "NONE",
    }


def test_uploads_notify_intake(template: Template, template_json: dict[str, Any]) -> None:
    intake = next(
        k for k, v in template_json["Resources"].items()
        if v["Type"] == "AWS::Lambda::Function" and v["Properties"].get("Handler") == handler_of("intake")
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
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2, "DestinationConfig": Match.any_value()}
    )


def _policy_actions_by_role(template_json: dict[str, Any]) -> dict[str, set[str]]:
    actions: dict[str, set[str]] = {}
    for resource in template_json["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for role in resource["Properties"]["Roles"]:
            found = actions.setdefault(role["Ref"], set())
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                found.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_workflow_permissions_are_least_privilege(template_json: dict[str, Any]) -> None:
    actions = _policy_actions_by_role(template_json)
    role_of = {
        h: f["Properties"]["Role"]["Fn::GetAtt"][0] for h, f in functions_by_handler(template_json).items()
    }
    starters = {h for h, r in role_of.items() if "states:StartExecution" in actions.get(r, set())}
    responders = {h for h, r in role_of.items() if "states:SendTaskSuccess" in actions.get(r, set())}
    assert starters == {handler_of("intake")}
    assert responders == {handler_of("callback"), handler_of("await_training")}
    # Clients' uploads are presigned by the api; the assembled training audio is written by SubmitTraining.
    writers = {h for h, r in role_of.items() if "s3:PutObject" in actions.get(r, set())}
    assert writers == {handler_of("api"), handler_of("submit_training")}
