"""Speech in the template (issue 11): only the api may write and read speech/*, and audio passes as bytes."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra.api import BINARY_MEDIA_TYPES, CLIENT_ROUTES
from infra.constants import SPEECH_PREFIX, handler_of
from infra.template_tools import resources_of_type
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


def test_only_the_api_puts_and_gets_speech_audio(template_json: dict[str, Any]) -> None:
    granted = _roles_granted_on(template_json, SPEECH_PREFIX)
    api_role = role_of(template_json)[handler_of("api")]
    assert set(granted) == {api_role}
    assert {"s3:PutObject", "s3:GetObject*"} <= granted[api_role]
    assert not any(a.startswith("s3:DeleteObject") for a in granted[api_role])


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
