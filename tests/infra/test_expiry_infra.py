"""Job expiry in the template: one schedule group, a Scheduler role that invokes expire_job, the armers."""

from __future__ import annotations

import json
from typing import Any

from infra.constants import FUNCTION_NAMES, handler_of
from infra.stack import EXPIRY_ARMERS
from infra.template_tools import resources_of_type
from tests.infra.conftest import environment_of, functions_by_handler, handlers_allowed

EXPIRY_ENV = (
    "VOICECLONE_EXPIRY_SCHEDULE_GROUP",
    "VOICECLONE_EXPIRY_FUNCTION_ARN",
    "VOICECLONE_EXPIRY_ROLE_ARN",
)


def scheduler_role(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    roles = resources_of_type(template_json, "AWS::IAM::Role")
    found = [
        (logical, role)
        for logical, role in roles.items()
        if "scheduler.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(found) == 1, found
    return found[0]


def test_one_schedule_group_and_no_standing_schedule(template_json: dict[str, Any]) -> None:
    assert len(resources_of_type(template_json, "AWS::Scheduler::ScheduleGroup")) == 1
    # Schedules are per job, made by the functions: none is part of the stack.
    assert resources_of_type(template_json, "AWS::Scheduler::Schedule") == {}


def test_scheduler_may_only_invoke_expire_job_for_this_account(template_json: dict[str, Any]) -> None:
    logical, role = scheduler_role(template_json)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    expire_function = [
        lid
        for lid, fn in resources_of_type(template_json, "AWS::Lambda::Function").items()
        if fn["Properties"]["Handler"] == handler_of("expire_job")
    ]
    policies = [
        p for p in resources_of_type(template_json, "AWS::IAM::Policy").values()
        if {"Ref": logical} in p["Properties"]["Roles"]
    ]  # fmt: skip
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert [s["Action"] for s in statements] == ["lambda:InvokeFunction"]
    assert json.dumps(statements[0]["Resource"]).count(expire_function[0]) == 2  # the function and :*


def test_only_the_armers_write_schedules_and_pass_the_role(template_json: dict[str, Any]) -> None:
    armers = {handler_of(name) for name in EXPIRY_ARMERS}
    assert armers == {handler_of("api"), handler_of("gate"), handler_of("poll_status")}
    assert handlers_allowed(template_json, "scheduler:CreateSchedule") == armers
    assert handlers_allowed(template_json, "scheduler:UpdateSchedule") == armers
    assert handlers_allowed(template_json, "iam:PassRole") == armers
    assert not any(handlers_allowed(template_json, f"scheduler:{a}") for a in ("DeleteSchedule", "*"))


def test_the_armers_know_the_target_and_every_function_the_expiry_time(template_json: dict[str, Any]) -> None:
    role_id, _ = scheduler_role(template_json)
    for name in FUNCTION_NAMES:
        env = environment_of(template_json, handler_of(name))
        assert env["VOICECLONE_JOB_EXPIRY_SECONDS"] == str(7 * 86400)
        if name in EXPIRY_ARMERS:
            assert env["VOICECLONE_EXPIRY_ROLE_ARN"] == {"Fn::GetAtt": [role_id, "Arn"]}
            assert env["VOICECLONE_EXPIRY_FUNCTION_ARN"]["Fn::GetAtt"][1] == "Arn"
            assert env["VOICECLONE_EXPIRY_SCHEDULE_GROUP"].startswith("Voiceclone-Expiry-")
        else:
            assert not set(EXPIRY_ENV) & set(env), name
    assert handler_of("expire_job") in functions_by_handler(template_json)


def test_expire_job_deletes_audio_and_may_ask_the_vendor(template_json: dict[str, Any]) -> None:
    expire = handler_of("expire_job")
    assert expire in handlers_allowed(template_json, "s3:DeleteObject*")
    assert expire in handlers_allowed(template_json, "secretsmanager:GetSecretValue")
    assert expire not in handlers_allowed(template_json, "s3:PutObject")


def test_expire_job_lists_only_the_job_prefixes(template_json: dict[str, Any]) -> None:
    # It deletes everything under uploads/<tenant>/<job>/ and training/<tenant>/<job>/, found by listing.
    assert handler_of("expire_job") in handlers_allowed(template_json, "s3:ListBucket")
    listing = [
        s
        for p in resources_of_type(template_json, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:ListBucket"
    ]
    assert listing and all(
        s["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*", "training/*"]}} for s in listing
    )
