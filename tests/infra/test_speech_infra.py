"""Speech in the template: who may touch speech/*, audio passes as bytes, the speech workflow."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_cdk.assertions import Template

from infra.api import BINARY_MEDIA_TYPES, CLIENT_ROUTES
from infra.constants import SPEECH_PREFIX, handler_of
from infra.template_tools import resources_of_type, state_machine_logical_id
from tests.infra.conftest import role_of


def _roles_granted_on(template_json: dict[str, Any], prefix: str) -> dict[str, set[str]]:
    """Role logical id -> the actions its policies allow on objects under `prefix` of a bucket."""
    granted: dict[str, set[str]] = {}
    for policy in resources_of_type(template_json, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            resources = statement["Resource"]
            listed = resources if isinstance(resources, list) else [resources]
            if not any(f'"/{prefix}*"' in json.dumps(r) for r in listed):
                continue
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            for role in policy["Properties"]["Roles"]:
                granted.setdefault(role["Ref"], set()).update(actions)
    return granted


def test_only_the_api_and_the_stream_put_and_get_speech_audio(template_json: dict[str, Any]) -> None:
    granted = _roles_granted_on(template_json, SPEECH_PREFIX)
    api_role = role_of(template_json)[handler_of("api")]
    stream_role = role_of(template_json)[handler_of("stream")]
    # The api and the streaming function, and FinishSpeech (which stores what an async vendor made)
    # with put only
    finish_role = role_of(template_json)[handler_of("speech_finish")]
    assert set(granted) == {api_role, stream_role, finish_role}
    for role in (api_role, stream_role):
        assert {"s3:PutObject", "s3:GetObject*"} <= granted[role]
        assert not any(a.startswith("s3:DeleteObject") for a in granted[role])
    assert "s3:PutObject" in granted[finish_role]
    assert not any(a.startswith(("s3:GetObject", "s3:DeleteObject")) for a in granted[finish_role])


def _speech_machine(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    machines = resources_of_type(template_json, "AWS::StepFunctions::StateMachine")
    found = [(k, m) for k, m in machines.items() if k.startswith("SpeechWorkflowStateMachine")]
    assert len(found) == 1, sorted(machines)
    return found[0]


def _definition(machine: dict[str, Any]) -> dict[str, Any]:
    """The definition with every substitution made a placeholder (the structure is what counts)."""
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    joined = "".join(p if isinstance(p, str) else "\x00" for p in parts)
    # A substitution that is a whole value becomes "X"; one inside a string (an ARN's partition), X.
    joined = re.sub(r"(?<=[:,\[])\x00(?=[,}\]])", '"X"', joined).replace('""\x00""', '"X"')
    return dict(json.loads(joined.replace("\x00", "X")))


def test_the_speech_workflow_submits_polls_finishes_and_marks_every_failure(
    template_json: dict[str, Any],
) -> None:
    # Given the synthesized speech state machine
    _, machine = _speech_machine(template_json)
    states = _definition(machine)["States"]
    # Then it submits, awaits a callback (at most the poll's wait) and polls until done, then finishes
    assert set(states) >= {
        "SubmitSpeech", "AwaitSpeechCallback", "PollSpeech", "SpeechDone", "FinishSpeech",
        "MarkSpeechFailed", "SpeechFailed", "SpeechReady",
    }  # fmt: skip
    assert "WaitBeforeSpeechPoll" not in states
    awaiting = states["AwaitSpeechCallback"]
    assert "lambda:invoke.waitForTaskToken" in json.dumps(awaiting["Resource"])
    assert awaiting["TimeoutSecondsPath"] == "$.progress.poll.wait_seconds"
    assert awaiting["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    # No callback in time: the timeout polls, as the plain wait did; any other error fails the speech
    assert awaiting["Catch"][0] == {
        "ErrorEquals": ["States.Timeout"], "Next": "PollSpeech", "ResultPath": "$.await_timeout"
    }  # fmt: skip
    assert awaiting["Catch"][1]["Next"] == "MarkSpeechFailed"
    assert awaiting["Next"] == "PollSpeech"
    assert states["SpeechDone"]["Choices"][0]["Next"] == "FinishSpeech"
    assert states["SpeechDone"]["Default"] == "AwaitSpeechCallback"
    # And each vendor step retries throttling/outages, then any error ends in MarkSpeechFailed
    for name in ("SubmitSpeech", "PollSpeech", "FinishSpeech"):
        retried = {e for r in states[name]["Retry"] for e in r["ErrorEquals"]}
        assert {"VendorThrottled", "VendorUnavailable"} <= retried, name
        assert states[name]["Catch"][0]["Next"] == "MarkSpeechFailed", name
    assert states["MarkSpeechFailed"]["Next"] == "SpeechFailed"
    assert any(r["ErrorEquals"] == ["States.ALL"] for r in states["MarkSpeechFailed"]["Retry"])
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}


def test_only_the_api_and_the_stream_start_speech_and_only_its_functions_run_it(
    template_json: dict[str, Any],
) -> None:
    logical, _ = _speech_machine(template_json)
    roles = role_of(template_json)
    starters = set()
    for policy in resources_of_type(template_json, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Action"] == "states:StartExecution" and statement["Resource"] == {"Ref": logical}:
                starters.update(r["Ref"] for r in policy["Properties"]["Roles"])
    # The streaming function starts an async vendor's speech, to answer it whole once made
    assert starters == {roles[handler_of("api")], roles[handler_of("stream")]}
    # And the training workflow is started by intake, and by the comparison workflow (a vendor's job)
    training = state_machine_logical_id(template_json)
    training_starters = {
        r["Ref"]
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "states:StartExecution" and statement["Resource"] == {"Ref": training}
        for r in policy["Properties"]["Roles"]
    }
    comparison = next(
        m["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for k, m in resources_of_type(template_json, "AWS::StepFunctions::StateMachine").items()
        if k.startswith("ComparisonWorkflowStateMachine")
    )
    assert training_starters == {roles[handler_of("intake")], comparison}
    api = next(
        f for f in resources_of_type(template_json, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler_of("api")
    )  # fmt: skip
    assert api["Properties"]["Environment"]["Variables"]["VOICECLONE_SPEECH_STATE_MACHINE_ARN"] == {
        "Ref": logical
    }


def test_the_api_passes_audio_as_bytes_and_routes_speech(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"BinaryMediaTypes": list(BINARY_MEDIA_TYPES)}
    )
    for route in (
        ("POST", "/v1/voices/{voice_id}/speech"),
        ("GET", "/v1/voices/{voice_id}/speech"),
        ("GET", "/v1/speech/{speech_id}"),
        ("GET", "/v1/usage"),
    ):
        assert route in CLIENT_ROUTES
