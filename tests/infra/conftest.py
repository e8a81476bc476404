"""One synthesis of the stack per session (it costs seconds), with bundling skipped; shared helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra import functions as infra_functions
from infra.constants import SKIP_BUNDLING
from infra.stack import VoicecloneStack
from infra.synth import build_app
from infra.template_tools import definition_from_template, placeholder, resources_of_type
from infra.template_tools import functions_by_handler as function_ids_by_handler

# Output directories PipBundling was asked to fill during the session's synthesis: must stay empty.
BUNDLING_CALLS: list[str] = []


def _record_bundling(self: Any, output_dir: str, *args: Any, **kwargs: Any) -> bool:
    BUNDLING_CALLS.append(output_dir)
    (Path(output_dir) / "bundled-by-the-test-spy").write_text("")  # CDK insists on some output
    return True


@pytest.fixture(scope="session")
def assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cdk.out")


@pytest.fixture(scope="session")
def nagged(assembly_dir: Path) -> VoicecloneStack:
    """The stack with the cdk-nag AwsSolutions checks applied, synthesized once (pip replaced by a spy)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra_functions.PipBundling, "try_bundle", _record_bundling)
        app, stack = build_app(SKIP_BUNDLING, nag=True, outdir=str(assembly_dir))
        app.synth()
    return stack


@pytest.fixture(scope="session")
def template(nagged: VoicecloneStack) -> Template:
    return Template.from_stack(nagged)


@pytest.fixture(scope="session")
def template_json(template: Template) -> dict[str, Any]:
    return dict(template.to_json())


@pytest.fixture(scope="session")
def definition(template_json: dict[str, Any]) -> dict[str, Any]:
    return definition_from_template(template_json, placeholder)


def functions_by_handler(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Handler -> the function's resource (the handler is the stable name; logical ids carry a hash)."""
    resources = template_json["Resources"]
    return {
        handler: resources[logical] for handler, logical in function_ids_by_handler(template_json).items()
    }


def environment_of(template_json: dict[str, Any], handler: str) -> dict[str, Any]:
    env: dict[str, Any] = functions_by_handler(template_json)[handler]["Properties"]["Environment"][
        "Variables"
    ]
    return env


def role_of(template_json: dict[str, Any]) -> dict[str, str]:
    """Handler -> logical id of that function's role."""
    return {
        h: f["Properties"]["Role"]["Fn::GetAtt"][0] for h, f in functions_by_handler(template_json).items()
    }


def policy_actions_by_role(template_json: dict[str, Any]) -> dict[str, set[str]]:
    """Role logical id -> every IAM action its inline policies allow."""
    actions: dict[str, set[str]] = {}
    for policy in resources_of_type(template_json, "AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            found = actions.setdefault(role["Ref"], set())
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                found.update([listed] if isinstance(listed, str) else listed)
    return actions


def handlers_allowed(template_json: dict[str, Any], action: str) -> set[str]:
    """The handlers whose role may perform `action`."""
    actions = policy_actions_by_role(template_json)
    return {h for h, role in role_of(template_json).items() if action in actions.get(role, set())}
