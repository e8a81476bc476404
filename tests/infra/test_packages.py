"""Packages per function: each function's code asset holds the base dependencies and its row's groups.

Two syntheses: the session's (bundling skipped, as every template test) shows which asset each
function uses; a second one, of the functions alone with bundling on and pip replaced by a
recorder, shows what each asset was built with, through CDK's own staging and hashing.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from voiceclone.handlers.table import FUNCTIONS

from infra import constants as c
from infra import functions as infra_functions
from infra.functions import PACKAGE_TAG, Functions, extras_of, package_name, runtime_requirements
from infra.settings import StackSettings
from infra.template_tools import functions_by_handler

# What the recorder leaves in a package instead of the wheels: the requirements pip was given.
RECORDED = ".requirements"
# The distributions of the heavy groups (pyproject.toml's optional dependencies).
PYAV, C2PA = "av==", "c2pa-python=="


def _code_key(function: dict[str, Any]) -> str:
    key: str = function["Properties"]["Code"]["S3Key"]
    return key


def _tags(function: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in function["Properties"].get("Tags", [])}


def _by_name(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources, logical = template["Resources"], functions_by_handler(template)
    return {row.name: resources[logical[row.handler]] for row in FUNCTIONS}


# ----- the deployed template (bundling skipped) ----------------------------------------------------


def test_the_template_names_each_functions_package_and_equal_groups_share_one_asset(
    template_json: dict[str, Any],
) -> None:
    functions = _by_name(template_json)
    assert set(functions) == {row.name for row in FUNCTIONS}
    # Each function is tagged with its row's groups...
    for name, function in functions.items():
        assert _tags(function)[PACKAGE_TAG] == package_name(extras_of(name)), name
    # ...and uses one asset per distinct set of groups
    keys: dict[str, set[str]] = defaultdict(set)
    for name, function in functions.items():
        keys[package_name(extras_of(name))].add(_code_key(function))
    assert all(len(k) == 1 for k in keys.values()), keys
    assert len({k for ks in keys.values() for k in ks}) == len(keys)
    # The authorizer has the base package; the api labels speech (c2pa), and neither carries PyAV,
    # which only the sentence check uses
    assert _tags(functions["authorizer"])[PACKAGE_TAG] == "base"
    assert _tags(functions["api"])[PACKAGE_TAG] == _tags(functions["speech_finish"])[PACKAGE_TAG] == "labels"
    assert _code_key(functions["check_sentence"]) not in {
        _code_key(functions[n]) for n in ("api", "authorizer")
    }


# ----- what each asset is built with (bundling on, pip recorded) ---------------------------------


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, list[list[str]]]:
    """The functions alone, synthesized with bundling on: (template, cloud assembly, pip's calls)."""
    calls: list[list[str]] = []

    def record(target: Path, requirements: list[str]) -> None:
        calls.append(requirements)
        (target / RECORDED).write_text("\n".join(requirements))

    outdir = tmp_path_factory.mktemp("cdk.out")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra_functions, "pip_install", record)
        app = App(outdir=str(outdir))
        stack = Stack(app, "Packages")
        Functions(stack, "Functions", StackSettings.from_mapping({}), {})
        template = app.synth().get_stack_by_name("Packages").template
    return template, outdir, calls


def _package_of(bundled: tuple[dict[str, Any], Path, list[list[str]]], name: str) -> Path:
    template, outdir, _ = bundled
    return outdir / f"asset.{_code_key(_by_name(template)[name]).removesuffix('.zip')}"


def test_each_distinct_set_of_groups_is_bundled_once(
    bundled: tuple[dict[str, Any], Path, list[list[str]]],
) -> None:
    template, _, calls = bundled
    sets = {extras_of(row.name) for row in FUNCTIONS}
    assert sorted(map(sorted, calls)) == sorted(sorted(runtime_requirements(extras)) for extras in sets)
    assert len({_code_key(f) for f in _by_name(template).values()}) == len(sets)


def test_each_function_gets_the_base_its_rows_groups_and_the_service(
    bundled: tuple[dict[str, Any], Path, list[list[str]]],
) -> None:
    for row in FUNCTIONS:
        package = _package_of(bundled, row.name)
        installed = (package / RECORDED).read_text().splitlines()
        assert installed == runtime_requirements(row.extras), row.name
        assert (package / "voiceclone" / "handlers" / "entries.py").is_file()
        assert any(r.startswith(PYAV) for r in installed) == ("audio" in row.extras), row.name
        assert any(r.startswith(C2PA) for r in installed) == ("labels" in row.extras), row.name


@pytest.mark.parametrize("name", ["api", "authorizer"])
def test_the_functions_a_client_waits_on_carry_no_pyav(
    bundled: tuple[dict[str, Any], Path, list[list[str]]], name: str
) -> None:
    installed = (_package_of(bundled, name) / RECORDED).read_text().splitlines()
    assert not [r for r in installed if r.startswith(PYAV)]
    assert c.handler_of(name) in functions_by_handler(bundled[0])
