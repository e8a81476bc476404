"""The events and webhooks resources: stream, bus, publish grant, webhook rule, queues, event sources."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from infra.constants import handler_of
from infra.template_tools import resources_of_type
from tests.infra.conftest import environment_of, functions_by_handler, handlers_allowed

PUBLISH = handler_of("publish_events")
DELIVER = handler_of("deliver_webhook")


def logical_of(template_json: dict[str, Any], handler: str) -> str:
    (logical,) = [
        k for k, v in template_json["Resources"].items() if v.get("Properties", {}).get("Handler") == handler
    ]
    return logical


def test_the_table_streams_old_and_new_images_and_expires_markers(template: Template) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


def test_publish_events_reads_job_changes_from_the_stream_with_retries_and_a_failure_queue(
    template_json: dict[str, Any],
) -> None:
    publisher = logical_of(template_json, PUBLISH)
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template_json, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": publisher}
    ]
    (table,) = resources_of_type(template_json, "AWS::DynamoDB::Table")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True and mapping["MaximumRetryAttempts"] == 10
    assert mapping["StartingPosition"] == "TRIM_HORIZON" and mapping["ParallelizationFactor"] == 1
    failure_queue = mapping["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    assert resources_of_type(template_json, "AWS::SQS::Queue")[failure_queue]
    (pattern,) = [f["Pattern"] for f in mapping["FilterCriteria"]["Filters"]]
    assert '"sk":{"S":["JOB","SPEECH","CONSENT","VOICE","COMPARISON"]}' in pattern
    assert '"eventName":["INSERT","MODIFY"]' in pattern


def test_only_publish_events_puts_events_on_the_bus_it_is_told(template_json: dict[str, Any]) -> None:
    (bus,) = resources_of_type(template_json, "AWS::Events::EventBus")
    assert handlers_allowed(template_json, "events:PutEvents") == {PUBLISH}
    assert environment_of(template_json, PUBLISH)["VOICECLONE_EVENT_BUS_NAME"] == {"Ref": bus}
    holders = {
        h
        for h in functions_by_handler(template_json)
        if "VOICECLONE_EVENT_BUS_NAME" in environment_of(template_json, h)
    }
    assert holders == {PUBLISH}
    assert template_json["Outputs"]["EventBusName"]["Value"] == {"Ref": bus}
    assert handlers_allowed(template_json, "dynamodb:ListStreams") == {PUBLISH}


def test_events_of_jobs_with_a_webhook_go_to_an_encrypted_queue_with_dead_letters(
    template: Template, template_json: dict[str, Any]
) -> None:
    (rule,) = resources_of_type(template_json, "AWS::Events::Rule").values()
    props = rule["Properties"]
    assert props["EventPattern"] == {"source": ["voiceclone"], "detail": {"has_webhook": [True]}}
    (target,) = props["Targets"]
    queue = target["Arn"]["Fn::GetAtt"][0]
    queues = resources_of_type(template_json, "AWS::SQS::Queue")
    redrive = queues[queue]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 8
    dead_letters = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dead_letters, "Arn"]}
    for logical in (queue, dead_letters):
        assert queues[logical]["Properties"]["SqsManagedSseEnabled"] is True
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        ),
                        Match.object_like({"Principal": {"Service": "events.amazonaws.com"}}),
                    ]
                )
            },
        },
    )


def test_deliver_webhook_consumes_the_queue_reporting_item_failures_with_the_retry_knobs(
    template_json: dict[str, Any],
) -> None:
    deliverer = logical_of(template_json, DELIVER)
    (rule,) = resources_of_type(template_json, "AWS::Events::Rule").values()
    queue = rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
    (mapping,) = [
        m["Properties"]
        for m in resources_of_type(template_json, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": deliverer}
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert handlers_allowed(template_json, "sqs:ChangeMessageVisibility") == {DELIVER}
    env = environment_of(template_json, DELIVER)
    assert env["VOICECLONE_WEBHOOK_BACKOFF_BASE_SECONDS"] == "30"
    assert env["VOICECLONE_WEBHOOK_BACKOFF_MAX_SECONDS"] == "3600"
    assert "VOICECLONE_WEBHOOK_ALLOW_PRIVATE_TARGETS" not in env  # private targets refused when deployed
