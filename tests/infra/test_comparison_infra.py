"""The comparison workflow in the template: a Map over the vendor jobs, each iteration running the training
workflow (startExecution.sync:2) under its own Catch, and least privilege for what it starts and reads."""

from __future__ import annotations

import json
from typing import Any

from voiceclone.domain.deadlines import MEASURE_VOICE_MARGIN_SECONDS, MEASURE_VOICE_SECONDS
from voiceclone.logic.comparisons import facts

from infra.constants import handler_of
from infra.template_tools import functions_by_handler as function_ids_by_handler
from infra.template_tools import join_text, placeholder, resources_of_type
from tests.infra.conftest import role_of
from tests.infra.test_speech_infra import _definition


def _machines(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(template_json, "AWS::StepFunctions::StateMachine")


def _comparison(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = [
        (k, m) for k, m in _machines(template_json).items() if k.startswith("ComparisonWorkflowStateMachine")
    ]
    assert len(found) == 1
    return found[0]


def test_each_vendor_trains_in_the_training_workflow_and_one_failure_holds_no_other(
    template_json: dict[str, Any],
) -> None:
    _, machine = _comparison(template_json)
    definition = _definition(machine)
    assert definition["StartAt"] == "MeasureTakes"
    states = definition["States"]
    assert states["MeasureTakes"]["Type"] == "Map" and states["MeasureTakes"]["Next"] == "Vendors"
    # A measurement that fails is no reason to stop: the checks decode for themselves.
    assert states["MeasureTakes"]["Catch"][0]["Next"] == "Vendors"
    vendors = states["Vendors"]
    assert vendors["Type"] == "Map" and vendors["ItemsPath"] == "$.jobs"
    assert vendors.get("MaxConcurrency", 0) == 0  # every vendor at once
    assert vendors["Next"] == "FinishComparison" and "Catch" not in vendors
    iteration = vendors["ItemProcessor"]
    train = iteration["States"][iteration["StartAt"]]
    assert train["Resource"].endswith(":states:startExecution.sync:2")
    assert train["Parameters"]["Input"] == {"job_id.$": "$.job_id", "vendor.$": "$.vendor"}
    assert train["Parameters"]["Name.$"] == "$.job_id"
    # Any error of one vendor's training is caught in its own iteration and recorded; so is a failed record
    assert [(c["ErrorEquals"], c["Next"]) for c in train["Catch"]] == [(["States.ALL"], "RecordVendorFailed")]
    assert train["Next"] == "RecordVendorReady"
    for name in ("RecordVendorReady", "RecordVendorFailed"):
        assert iteration["States"][name]["Catch"][0]["Next"] == "VendorUnrecorded"
    assert iteration["States"]["RecordVendorFailed"].get("End") is True
    assert states["FinishComparison"]["Next"] == "ComparisonEnded"


def test_the_comparison_workflow_starts_only_the_training_workflow_and_intake_only_starts_it(
    template_json: dict[str, Any],
) -> None:
    logical, machine = _comparison(template_json)
    training = next(k for k in _machines(template_json) if k.startswith("WorkflowStateMachine"))
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]

    def actions(s: dict[str, Any]) -> list[str]:
        return [s["Action"]] if isinstance(s["Action"], str) else s["Action"]

    start = [s for s in statements if "states:StartExecution" in actions(s)]
    assert len(start) == 1 and start[0]["Resource"] == {"Ref": training}
    assert not any(a in ("states:*", "lambda:*", "s3:*") for s in statements for a in actions(s))
    # Who starts the comparison workflow: intake alone, when the last take is in.
    starters = {
        policy_role["Ref"]
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "states:StartExecution" in actions(s) and s["Resource"] == {"Ref": logical}
        for policy_role in policy["Properties"]["Roles"]
    }
    assert starters == {role_of(template_json)[handler_of("intake")]}
    assert "VOICECLONE_COMPARISON_STATE_MACHINE_ARN" in json.dumps(
        next(
            f
            for f in resources_of_type(template_json, "AWS::Lambda::Function").values()
            if f["Properties"]["Handler"] == handler_of("intake")
        )["Properties"]["Environment"]
    )


def test_each_ready_voice_is_measured_and_a_failed_measurement_is_recorded_not_the_vendors_failure(
    template_json: dict[str, Any],
) -> None:
    _, machine = _comparison(template_json)
    iteration = _definition(machine)["States"]["Vendors"]["ItemProcessor"]
    states = iteration["States"]
    # After the voice's outcome is recorded, it is measured
    assert states["RecordVendorReady"]["Next"] == "MeasureVoice"
    measure = states["MeasureVoice"]
    assert measure["Parameters"] == {"comparison_id.$": "$.comparison_id", "job_id.$": "$.job_id"}
    assert measure.get("End") is True and measure["ResultPath"] == "$.facts"
    # Any error (the vendor down for every probe, the function's timeout) goes to RecordFactsFailed alone
    assert [(c["ErrorEquals"], c["Next"], c["ResultPath"]) for c in measure["Catch"]] == [
        (["States.ALL"], "RecordFactsFailed", "$.error")
    ]
    # ...and it is not retried on its own errors: a retry would pay the vendor for every probe again
    assert all("States.ALL" not in r["ErrorEquals"] for r in measure.get("Retry", []))
    failed = states["RecordFactsFailed"]
    assert failed["Parameters"]["error.$"] == "$.error" and failed.get("End") is True
    assert failed["Catch"][0]["Next"] == "FactsUnrecorded"
    # The vendor's own outcome states never lead to the facts' failure
    assert states["RecordVendorFailed"].get("End") is True
    # Each state invokes its own function
    _, machine = _comparison(template_json)
    named = json.loads(join_text(machine["Properties"]["DefinitionString"], placeholder))
    named_states = named["States"]["Vendors"]["ItemProcessor"]["States"]
    logical = function_ids_by_handler(template_json)
    assert named_states["MeasureVoice"]["Resource"] == f"<{logical[handler_of('comparison_facts')]}.Arn>"
    assert named_states["RecordFactsFailed"]["Resource"] == (
        f"<{logical[handler_of('comparison_facts_failed')]}.Arn>"
    )


def test_the_facts_function_outlasts_the_measurement_and_writes_only_probe_audio(
    template_json: dict[str, Any],
) -> None:
    function = next(
        f
        for f in resources_of_type(template_json, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler_of("comparison_facts")
    )
    # Its timeout is the measurement's deadline and the margin around it (one constant for both)
    timeout = function["Properties"]["Timeout"]
    assert timeout == MEASURE_VOICE_SECONDS + MEASURE_VOICE_MARGIN_SECONDS <= 900
    assert facts.DEADLINE_SECONDS == MEASURE_VOICE_SECONDS < timeout
    # The lean package: the probes' audio is PCM measured in pure Python
    assert {"Key": "voiceclone:package", "Value": "base"} in function["Properties"]["Tags"]
    role = role_of(template_json)[handler_of("comparison_facts")]
    statements = [
        s
        for policy in resources_of_type(template_json, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    # S3: it puts objects under speech/*/comparisons/* and does nothing else there
    assert len(s3) == 1 and not any(a.startswith(("s3:Get", "s3:Delete", "s3:List")) for a in _actions(s3[0]))
    assert "s3:PutObject" in _actions(s3[0])
    assert json.dumps(s3[0]["Resource"]).endswith('/speech/*/comparisons/*"]]}')
    # It reads the vendor secrets it speaks with, and the table (the job, the voice, the comparison)
    assert any("secretsmanager:GetSecretValue" in _actions(s) for s in statements)
    assert any("dynamodb:GetItem" in _actions(s) for s in statements)
    assert not any(a.startswith("states:") for s in statements for a in _actions(s))


def _actions(statement: dict[str, Any]) -> list[str]:
    listed = statement["Action"]
    return [listed] if isinstance(listed, str) else list(listed)
