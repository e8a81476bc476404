"""One rule for every setting of the local stack: a value in the environment when it starts wins.

Every variable the template gives the functions is either a setting (configuration may set it)
or names one of the stack's resources (``infra.constants.is_setting``). Each setting, set before
``voiceclone local up``, must reach the functions as set, not the template's value. The stack
runs in a child process: moto's backends are per process, and the session's stack may run here.
"""

from __future__ import annotations

import re
from pathlib import Path

from voiceclone_local.stack import LOCAL_CONTEXT
from voiceclone_local.template import cached_template, resources_of_type

from infra.constants import RESOURCE_VARIABLES, is_setting
from tests.helpers import run_child

README = Path(__file__).resolve().parents[2] / "README.md"


def template_settings() -> dict[str, str]:
    """Each setting the local template gives a function, with the template's value."""
    template = cached_template({**LOCAL_CONTEXT, "voiceclone:vendorSettings": {}})
    found: dict[str, str] = {}
    for function in resources_of_type(template, "AWS::Lambda::Function").values():
        for key, value in function["Properties"].get("Environment", {}).get("Variables", {}).items():
            if is_setting(key):
                assert isinstance(value, str | int | float), (key, value)  # a setting is a plain value
                found[key] = str(value)
    return found


def another_value(key: str, value: str) -> str:
    """A valid value of the setting, different from the template's."""
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if key == "POWERTOOLS_LOG_LEVEL":
        return "WARNING" if value != "WARNING" else "ERROR"
    if key == "VOICECLONE_LABEL_PCM":  # raw PCM's rule: one of two
        return "header" if value == "refuse" else "refuse"
    if re.fullmatch(r"[0-9]+", value):
        return str(int(value) + 7)
    if re.fullmatch(r"[0-9]+\.[0-9]+", value):
        return str(float(value) + 0.25)
    return value + "-set-before-start"


def _child() -> None:
    """In a fresh process with the settings set: start the stack, print what the functions got."""
    import os

    from voiceclone.settings import get_settings
    from voiceclone_local.stack import LocalStack

    from tests.helpers import print_result
    from tests.integration.conftest import TEST_CONTEXT

    with LocalStack(context=TEST_CONTEXT, quiet=True) as stack:
        lam = stack.client("lambda")
        seen: dict[str, list[str]] = {}
        for name in stack.function_names.values():
            variables = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
            for key, value in variables.items():
                seen.setdefault(key, []).append(value)
        settings = get_settings()
        print_result(
            {
                "functions": {k: sorted(set(v)) for k, v in seen.items()},
                "process": {k: os.environ.get(k) for k in seen},
                "job_expiry_seconds": settings.job_expiry_seconds,
                "table_name": settings.table_name,
            }
        )


def test_every_setting_set_before_the_start_is_what_the_functions_get() -> None:
    # Given every setting of the template, each set to another valid value before the stack starts,
    # and a resource variable set too (it must not win: it names the stack's own table)
    settings = template_settings()
    assert "VOICECLONE_JOB_EXPIRY_SECONDS" in settings and "VOICECLONE_POLL_INITIAL_SECONDS" in settings
    wanted = {key: another_value(key, value) for key, value in settings.items()}
    assert all(wanted[k] != settings[k] for k in settings)
    # When the stack starts
    result, _ = run_child(__name__, env={**wanted, "VOICECLONE_TABLE_NAME": "not-the-stacks-table"})
    # Then every function that has a setting has the value set, and so has the process they run in
    for key, value in wanted.items():
        assert result["functions"][key] == [value], key
        assert result["process"][key] == value, key
    assert result["job_expiry_seconds"] == int(wanted["VOICECLONE_JOB_EXPIRY_SECONDS"])
    assert result["table_name"] != "not-the-stacks-table"
    assert result["functions"]["VOICECLONE_TABLE_NAME"] == [result["table_name"]]


def test_every_setting_is_documented_and_no_resource_variable_counts_as_one() -> None:
    readme = README.read_text()
    for key in template_settings():
        if key.startswith("VOICECLONE_"):
            assert key in readme, f"{key} is a setting the README does not document"
    assert not any(is_setting(v) for v in RESOURCE_VARIABLES)
    assert not is_setting("VOICECLONE_QINIU_SECRET_ARN")
