"""Monitoring: the alarm topic, alarms (failed jobs per vendor, dead letters, executions, 5xx), dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, CfnElement, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Match, Template
from voiceclone import observability
from voiceclone.vendors import registry

from infra import constants as c
from infra.monitoring import ALARM_TOPIC_OUTPUT, DASHBOARD_OUTPUT, Monitoring
from infra.stack import VoicecloneStack
from infra.template_tools import resources_of_type


def logical_id(stack: Stack, construct: Any) -> str:
    element = construct.node.default_child
    assert isinstance(element, CfnElement)
    return stack.get_logical_id(element)


def alarms(template_json: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources_of_type(template_json, "AWS::CloudWatch::Alarm").values()]


def alarms_on(template_json: dict[str, Any], metric_name: str) -> list[dict[str, Any]]:
    return [a for a in alarms(template_json) if a.get("MetricName") == metric_name]


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm["Dimensions"]}


def test_the_dimension_the_alarms_use_is_the_one_the_functions_publish() -> None:
    assert c.METRIC_VENDOR_DIMENSION == observability.VENDOR
    assert (c.METRICS_NAMESPACE, c.SERVICE_NAME) == (observability.NAMESPACE, observability.SERVICE)


def test_the_alarm_topic_is_encrypted_with_a_rotated_key_and_takes_tls_only(
    template: Template, template_json: dict[str, Any]
) -> None:
    (topic,) = resources_of_type(template_json, "AWS::SNS::Topic").values()
    key_logical = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = template_json["Resources"][key_logical]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    # CloudWatch may use the key (an alarm's message is encrypted with it) ...
    key_statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(s["Action"])
        for s in key_statements
    )
    # ... and publish to the topic, which refuses anything but TLS.
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sns:Publish",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_the_stack_outputs_the_topic_to_subscribe_to_and_the_dashboard(template_json: dict[str, Any]) -> None:
    (topic_logical,) = resources_of_type(template_json, "AWS::SNS::Topic")
    (dashboard_logical,) = resources_of_type(template_json, "AWS::CloudWatch::Dashboard")
    outputs = template_json["Outputs"]
    assert outputs[ALARM_TOPIC_OUTPUT]["Value"] == {"Ref": topic_logical}
    assert outputs[DASHBOARD_OUTPUT]["Value"] == {"Ref": dashboard_logical}


def test_every_alarm_notifies_the_topic_and_treats_missing_data_as_not_breaching(
    template_json: dict[str, Any],
) -> None:
    (topic_logical,) = resources_of_type(template_json, "AWS::SNS::Topic")
    found = alarms(template_json)
    # one per vendor, dead letters, executions failed, executions timed out, speech failed, comparison
    # executions failed and timed out, API 5xx
    assert len(found) == len(registry.vendor_ids()) + 7
    for alarm in found:
        assert alarm["AlarmActions"] == [{"Ref": topic_logical}]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmDescription"]


def test_failed_jobs_alarm_once_per_vendor_of_the_registry_on_the_vendor_dimension(
    template_json: dict[str, Any],
) -> None:
    failed = alarms_on(template_json, "JobFailed")
    by_vendor = {dimensions(a)["vendor"]: a for a in failed}
    assert sorted(by_vendor) == sorted(registry.vendor_ids())
    for vendor, alarm in by_vendor.items():
        assert dimensions(alarm) == {"service": "voiceclone", "vendor": vendor}
        assert alarm["Namespace"] == "Voiceclone" and alarm["Statistic"] == "Sum"
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == 1


def test_the_webhook_dead_letter_queue_alarms_on_any_visible_message(
    nagged: VoicecloneStack, template_json: dict[str, Any]
) -> None:
    (alarm,) = alarms_on(template_json, "ApproximateNumberOfMessagesVisible")
    dead_letters = logical_id(nagged, nagged.events.webhook_dead_letters)
    assert dimensions(alarm) == {"QueueName": {"Fn::GetAtt": [dead_letters, "QueueName"]}}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0


@pytest.mark.parametrize("metric_name", ["ExecutionsFailed", "ExecutionsTimedOut"])
def test_executions_failed_or_timed_out_alarm_on_the_training_workflow(
    nagged: VoicecloneStack, template_json: dict[str, Any], metric_name: str
) -> None:
    machine = logical_id(nagged, nagged.workflow.state_machine)
    (alarm,) = [
        a
        for a in alarms_on(template_json, metric_name)
        if dimensions(a) == {"StateMachineArn": {"Ref": machine}}
    ]
    assert alarm["Namespace"] == "AWS/States"


def test_failed_speech_executions_alarm_and_speech_on_the_dashboard(
    nagged: VoicecloneStack, template_json: dict[str, Any]
) -> None:
    # An asynchronous vendor's speech fails after its 202: the speech workflow's failures alarm
    machine = logical_id(nagged, nagged.speech_workflow.state_machine)
    failed = [
        a
        for a in alarms_on(template_json, "ExecutionsFailed")
        if dimensions(a)["StateMachineArn"] == {"Ref": machine}
    ]
    assert len(failed) == 1 and failed[0]["Namespace"] == "AWS/States"
    # and the dashboard charts each vendor's speech outcomes next to that workflow's executions
    widgets = {w["properties"].get("title"): w for w in dashboard_body(template_json)["widgets"]}
    charted = {(m[1], m[5]) for m in widgets["Speech outcomes, by vendor"]["properties"]["metrics"]}
    assert charted == {
        (name, vendor)
        for vendor in registry.vendor_ids()
        for name in ("SpeechCreated", "SpeechSucceeded", "SpeechFailed")
    }
    assert "Speech workflow executions" in widgets


def test_api_5xx_alarm_on_the_rest_api(nagged: VoicecloneStack, template_json: dict[str, Any]) -> None:
    (alarm,) = alarms_on(template_json, "5XXError")
    assert alarm["Namespace"] == "AWS/ApiGateway"
    assert dimensions(alarm) == {"ApiName": "voiceclone"}


def dashboard_body(template_json: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's JSON, with the template's references left as placeholders."""
    (dashboard,) = resources_of_type(template_json, "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else '"ref"' for p in parts).replace('""ref""', '"ref"')
    body: dict[str, Any] = json.loads(text)
    return body


def test_one_dashboard_shows_the_alarms_and_each_vendors_job_outcomes(template_json: dict[str, Any]) -> None:
    widgets = dashboard_body(template_json)["widgets"]
    titles = [w["properties"].get("title") for w in widgets]
    assert "Alarms" in titles and "Workflow executions" in titles and "API requests and errors" in titles
    for vendor in registry.vendor_ids():
        (outcomes,) = [w for w in widgets if w["properties"].get("title") == f"Job outcomes: {vendor}"]
        charted = {(m[0], m[1], m[5]) for m in outcomes["properties"]["metrics"]}
        assert charted == {
            ("Voiceclone", name, vendor)
            for name in ("JobCreated", "JobSucceeded", "JobCheckFailed", "JobFailed", "JobCancelled")
        }
        # each metric with its dimensions as published: service, then vendor
        assert all(
            m[2:6] == ["service", "voiceclone", "vendor", vendor] for m in outcomes["properties"]["metrics"]
        )


def test_a_vendor_added_to_the_registry_gets_its_alarm_and_widget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sixth vendor registered, and nothing else changed
    monkeypatch.setitem(registry.VENDORS, "minimax", "voiceclone_fake.minimax:MinimaxAdapter")
    stack = Stack(App(), "Monitored")
    api = apigw.RestApi(stack, "Api", rest_api_name="voiceclone")
    api.root.add_method("GET", apigw.MockIntegration())
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P"))
    )

    # When the monitoring is built
    Monitoring(
        stack, "Monitoring", state_machine=machine, rest_api=api, webhook_dead_letters=sqs.Queue(stack, "Dlq")
    )

    # Then the new vendor has a failed-jobs alarm and a widget of its own
    template_json = dict(Template.from_stack(stack).to_json())
    assert "minimax" in {dimensions(a)["vendor"] for a in alarms_on(template_json, "JobFailed")}
    titles = [w["properties"].get("title") for w in dashboard_body(template_json)["widgets"]]
    assert "Job outcomes: minimax" in titles


def test_the_dashboard_charts_each_vendors_stream_first_audio_and_total_at_p50_and_p95(
    template_json: dict[str, Any],
) -> None:
    widgets = {w["properties"].get("title"): w for w in dashboard_body(template_json)["widgets"]}
    streaming = set(registry.vendor_ids())

    def charted(title: str) -> set[tuple[str, ...]]:
        found = set()
        for metric in widgets[title]["properties"]["metrics"]:
            stat = next((m["stat"] for m in metric if isinstance(m, dict) and "stat" in m), "Sum")
            found.add((metric[1], metric[5], stat))
        return found

    assert charted("Streaming speech: first audio, ms (vendor's; ours: label, speech)") == {
        (name, vendor, stat)
        for vendor in streaming
        for name in ("SpeechStreamVendorFirstByte", "SpeechStreamFirstByte", "SpeechStreamFirstSpeech")
        for stat in ("p50", "p95")
    }
    assert charted("Streaming speech: whole answer, ms") == {
        ("SpeechStreamTotal", vendor, stat) for vendor in streaming for stat in ("p50", "p95")
    }
    assert {(m, v) for m, v, _ in charted("Streaming speech: streams completed and failed")} == {
        (name, vendor) for vendor in streaming for name in ("SpeechStreamed", "SpeechStreamFailed")
    }


@pytest.mark.parametrize("metric_name", ["ExecutionsFailed", "ExecutionsTimedOut"])
def test_comparison_executions_failed_or_timed_out_alarm_and_comparisons_on_the_dashboard(
    nagged: VoicecloneStack, template_json: dict[str, Any], metric_name: str
) -> None:
    # The comparison workflow's executions alarm as the training workflow's do
    machine = logical_id(nagged, nagged.comparison_workflow.state_machine)
    (alarm,) = [
        a
        for a in alarms_on(template_json, metric_name)
        if dimensions(a) == {"StateMachineArn": {"Ref": machine}}
    ]
    assert alarm["Namespace"] == "AWS/States"
    assert alarm["AlarmActions"]  # the alarm topic, as every alarm (checked above)
    # and the dashboard charts each vendor's comparison outcomes next to that workflow's executions
    widgets = {w["properties"].get("title"): w for w in dashboard_body(template_json)["widgets"]}
    charted = {(m[1], m[5]) for m in widgets["Comparison outcomes, by vendor"]["properties"]["metrics"]}
    assert charted == {
        (name, vendor)
        for vendor in registry.vendor_ids()
        for name in (
            "ComparisonVendorReady",
            "ComparisonVendorFailed",
            "ComparisonVoiceMeasured",
            "ComparisonFactsFailed",
        )
    }
    executions = widgets["Comparison workflow executions"]["properties"]["metrics"]
    assert {m[1] for m in executions} == {
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    }
