"""The comparison workflow in the template: a Map over the vendor jobs, each iteration running the training
workflow (startExecution.sync:2) under its own Catch, and least privilege for what it starts and reads."""

from __future__ import annotations

import json
from typing import Any

from infra.constants import handler_of
from infra.template_tools import resources_of_type
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
        assert iteration["States"][name].get("End") is True
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
