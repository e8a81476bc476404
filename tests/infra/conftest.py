"""One synthesis of the stack per session (synthesis costs seconds), with code bundling skipped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.synth import build_app

NO_BUNDLING = {"aws:cdk:bundling-stacks": []}


@pytest.fixture(scope="session")
def nagged() -> Any:
    """The stack with the cdk-nag AwsSolutions checks applied."""
    app, stack = build_app(NO_BUNDLING, nag=True)
    app.synth()
    return stack


@pytest.fixture(scope="session")
def template(nagged: Any) -> Template:
    return Template.from_stack(nagged)


@pytest.fixture(scope="session")
def template_json(template: Template) -> dict[str, Any]:
    data: dict[str, Any] = template.to_json()
    return data


def resolve_definition(definition: Any) -> dict[str, Any]:
    """The state machine's ASL with every intrinsic replaced by a readable placeholder."""

    def text(node: Any) -> str:
        if isinstance(node, str):
            return node
        if "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            return sep.join(text(p) for p in parts)
        if "Fn::GetAtt" in node:
            return f"arn:{node['Fn::GetAtt'][0]}"
        if "Ref" in node:
            return f"ref:{node['Ref']}"
        raise AssertionError(f"unexpected intrinsic {node}")

    parsed: dict[str, Any] = json.loads(text(definition))
    return parsed


@pytest.fixture(scope="session")
def definition(template_json: dict[str, Any]) -> dict[str, Any]:
    machines = [
        r for r in template_json["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    assert len(machines) == 1
    return resolve_definition(machines[0]["Properties"]["DefinitionString"])
