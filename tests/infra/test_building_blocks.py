"""The pieces of the infra code that need no synthesis: settings, packaging, template reading, names."""

from __future__ import annotations

import inspect
import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from voiceclone.handlers.table import FUNCTIONS

from infra.constants import PYPROJECT, handler_of
from infra.functions import PipBundling, runtime_requirements
from infra.settings import StackSettings
from infra.template_tools import definition_from_template, functions_by_handler, placeholder

# ----- settings ------------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = StackSettings.from_mapping({})
    assert (settings.map_max_concurrency, settings.callback_timeout_seconds) == (10, 7200)
    assert (settings.poll_initial_seconds, settings.poll_max_seconds, settings.poll_backoff) == (
        None,
        None,
        1.5,
    )
    assert settings.training_deadline_seconds == 172800
    assert (settings.upload_url_expiry_seconds, settings.max_upload_bytes) == (900, 5242880)
    assert settings.upload_retention_days == 30
    # Vendor endpoints and the vendor timeout default in the adapters, not in the template
    assert settings.vendor_settings == {} and settings.vendor_timeout_seconds is None
    assert settings.log_level == "INFO"


def test_settings_take_cli_strings() -> None:
    # Given context as `cdk -c key=value` passes it: every value a string
    settings = StackSettings.from_mapping(
        {
            "voiceclone:callbackTimeoutSeconds": "4",
            "voiceclone:pollBackoff": "2",
            "voiceclone:vendorSettings": '{"QINIU_ENDPOINT": "http://127.0.0.1:1"}',
        }
    )
    # Then they are read as the types the stack needs
    assert settings.callback_timeout_seconds == 4 and settings.poll_backoff == 2.0
    assert settings.vendor_settings == {"QINIU_ENDPOINT": "http://127.0.0.1:1"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("voiceclone:mapMaxConcurrency", 0),
        ("voiceclone:callbackTimeoutSeconds", -1),
        ("voiceclone:pollBackoff", 0.5),
        ("voiceclone:uploadUrlExpirySeconds", 8 * 86400),
        ("voiceclone:logLevel", "LOUD"),
        ("voiceclone:vendorSettings", ["not", "a", "mapping"]),
        ("voiceclone:vendorTimeoutSeconds", 0),
    ],
)
def test_bad_context_fails_the_synthesis(key: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=key.split(":")[1]):
        StackSettings.from_mapping({key: value})


def test_function_environment_adds_poll_settings_only_when_set_and_vendor_settings_win() -> None:
    default = StackSettings.from_mapping({}).function_environment()
    assert "VOICECLONE_POLL_INITIAL_SECONDS" not in default and "VOICECLONE_POLL_MAX_SECONDS" not in default
    env = StackSettings.from_mapping(
        {
            "voiceclone:pollInitialSeconds": 1,
            "voiceclone:pollMaxSeconds": 2,
            "voiceclone:vendorSettings": {
                "tencent_vrs_endpoint": "http://127.0.0.1:8080",
                "tencent_vrs_stream_endpoint": "ws://127.0.0.1:8081/stream_ws",
            },
        }
    ).function_environment()
    assert env["VOICECLONE_POLL_INITIAL_SECONDS"] == "1" and env["VOICECLONE_POLL_MAX_SECONDS"] == "2"
    assert env["VOICECLONE_TENCENT_VRS_ENDPOINT"] == "http://127.0.0.1:8080"
    # A streaming endpoint travels the same way (the local stack sets its sandboxes' WebSocket URLs)
    assert env["VOICECLONE_TENCENT_VRS_STREAM_ENDPOINT"] == "ws://127.0.0.1:8081/stream_ws"


# ----- packaging -----------------------------------------------------------------------------------


def test_runtime_requirements_are_the_project_dependencies_minus_what_the_runtime_ships() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    shipped = runtime_requirements()
    runtime = ("boto3==", "snapshot-restore-py==")
    for provided in runtime:
        assert [d for d in declared if d.startswith(provided)], provided
        assert not [r for r in shipped if r.startswith(provided)], provided
    assert set(shipped) == {d for d in declared if not d.startswith(runtime)}


def test_a_package_with_groups_adds_each_groups_pins_to_the_base_and_an_unknown_group_fails() -> None:
    groups = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    base = runtime_requirements()
    # Given the audio group / Then its pins come after the base's, once, whatever the order asked
    assert runtime_requirements(("audio",)) == [*base, *groups["audio"]]
    assert runtime_requirements(("labels", "audio", "audio")) == [*base, *groups["audio"], *groups["labels"]]
    assert not [r for r in base if r.startswith(("av==", "c2pa-python==", "cryptography=="))]
    # And a group pyproject does not have is an error, not an empty group
    with pytest.raises(ValueError, match="sound"):
        runtime_requirements(("sound",))


def test_pip_bundling_installs_aarch64_wheels_and_copies_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pip replaced by a recorder
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    # When the asset is bundled
    assert PipBundling().try_bundle(str(tmp_path)) is True
    # Then pip installed binary wheels for Lambda's platform, and the package sits next to them
    (command,) = commands
    assert command[1:4] == ["-m", "pip", "install"]
    joined = " ".join(command)
    for expected in (
        f"--target {tmp_path}",
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.13",
        "--only-binary=:all:",
    ):
        assert expected in joined, expected
    assert command[-len(runtime_requirements()) :] == runtime_requirements()
    # the package as the functions run it: the entries, and each row's target module
    assert (tmp_path / "voiceclone" / "handlers" / "entries.py").is_file()
    for row in FUNCTIONS:
        target = Path(*row.target.partition(":")[0].split("."))
        assert (tmp_path / target.with_suffix(".py")).is_file() or (
            tmp_path / target / "__init__.py"
        ).is_file()
    assert not list(tmp_path.rglob("__pycache__"))


def test_every_function_has_its_entry_and_its_targets() -> None:
    from voiceclone.handlers import entries
    from voiceclone.handlers.entries import resolve

    for row in FUNCTIONS:
        assert handler_of(row.name) == f"voiceclone.handlers.entries.{row.name}"
        assert getattr(entries, row.name).row is row
        assert callable(resolve(row.target)), row.target
        if row.kind == "step":
            model = resolve(row.input)
            # each field of a step's input is an argument of its function, by name
            params = inspect.signature(resolve(row.target)).parameters
            assert set(model.model_fields) <= set(params), row.name


# ----- reading templates ---------------------------------------------------------------------------


def _template(*machines: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {
        f"Machine{i}": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": m}}
        for i, m in enumerate(machines)
    }
    resources["Fn"] = {"Type": "AWS::Lambda::Function", "Properties": {"Handler": handler_of("gate")}}
    resources["CdkHelper"] = {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "index.handler"}}
    return {"Resources": resources}


def test_definition_from_template_resolves_each_intrinsic() -> None:
    # Given a definition as CDK writes it: a Fn::Join of text, GetAtt and Ref
    joined = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"Gate","States":{"Gate":{"Type":"Task","Resource":"',
                {"Fn::GetAtt": ["Fn", "Arn"]},
                '","Next":"Wait"},"Wait":{"Type":"Task","Resource":"arn:',
                {"Ref": "AWS::Partition"},
                ':states:::lambda:invoke.waitForTaskToken","End":true}}}',
            ],
        ]
    }
    # When it is read with a resolver of local values
    local = {"Fn": "arn:aws:lambda:us-east-1:123456789012:function:gate", "AWS::Partition": "aws"}
    definition = definition_from_template(
        _template(joined), lambda node: local[node["Fn::GetAtt"][0] if "Fn::GetAtt" in node else node["Ref"]]
    )
    # Then every intrinsic has its value
    assert definition["States"]["Gate"]["Resource"] == local["Fn"]
    assert definition["States"]["Wait"]["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert (
        definition_from_template(_template(joined), placeholder)["States"]["Gate"]["Resource"] == "<Fn.Arn>"
    )


def test_definition_from_template_needs_exactly_one_state_machine() -> None:
    with pytest.raises(ValueError, match="expected one"):
        definition_from_template(_template(), placeholder)
    with pytest.raises(ValueError, match="expected one"):
        definition_from_template(_template(json.dumps({}), json.dumps({})), placeholder)


def test_functions_by_handler_skips_cdk_helpers() -> None:
    assert functions_by_handler(_template()) == {handler_of("gate"): "Fn"}
