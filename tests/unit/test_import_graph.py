"""The handlers' import graph stays lean: what a cold start must not load (issue 13), checked, not timed.

Each handler module is imported in a fresh interpreter, as Lambda does at cold start, and the
modules it pulled in are compared with what no handler needs at import: boto3 and its transfer
layer (s3transfer, multiprocessing, asyncio), httpx (only the code that calls out needs it),
audio decoding (PyAV, numpy), the X-Ray SDK. One subprocess for all handlers keeps it cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from infra.constants import FUNCTION_NAMES

# Never on any handler's import path.
FORBIDDEN = ("boto3", "s3transfer", "multiprocessing", "asyncio", "av", "numpy", "aws_xray_sdk", "httpx")
# Where Powertools itself imports asyncio at module level: its event_handler package (the api's
# router; the package __init__ loads the AppSync resolver) and its batch utility (stream and queue).
POWERTOOLS_ASYNCIO = {"api", "publish_events", "deliver_webhook"}

PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    for mod in [m for m in sys.modules if m.startswith("voiceclone")]:
        del sys.modules[mod]
    importlib.import_module("voiceclone.handlers." + name)
    found[name] = sorted({m.split(".")[0] for m in sys.modules})
    for mod in set(sys.modules) - before:
        del sys.modules[mod]
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, list[str]]:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-central-1",
        "VOICECLONE_TABLE_NAME": "t",
        "VOICECLONE_BUCKET_NAME": "b",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *FUNCTION_NAMES], capture_output=True, text=True, env=env, check=True
    )
    found: dict[str, list[str]] = json.loads(out.stdout)
    return found


def test_the_probe_sees_what_a_module_imports(imported: dict[str, list[str]]) -> None:
    # Given every handler imported apart, When we look at one, Then its own stack is there
    assert set(FUNCTION_NAMES) == set(imported)
    for name in FUNCTION_NAMES:
        assert {"voiceclone", "botocore", "pydantic", "aws_lambda_powertools"} <= set(imported[name]), name


@pytest.mark.parametrize("name", list(FUNCTION_NAMES))
def test_a_handler_imports_nothing_its_cold_start_does_not_need(
    imported: dict[str, list[str]], name: str
) -> None:
    forbidden = set(FORBIDDEN) - ({"asyncio"} if name in POWERTOOLS_ASYNCIO else set())
    assert sorted(set(imported[name]) & forbidden) == []


# Speech (issue 11) is loaded by the api function's speech routes when they run, never at import:
# no function's cold start, the api's included, pays for it.
SPEECH_MODULES = ("voiceclone.logic.speech", "voiceclone.vendors.speech")
SPEECH_PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module("voiceclone.handlers." + name)
    found[name] = sorted(m for m in sys.modules if m.startswith("voiceclone."))
    for mod in set(sys.modules) - before:
        del sys.modules[mod]
print(json.dumps(found))
"""


def test_no_handler_imports_speech_until_a_speech_route_runs() -> None:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-central-1",
        "VOICECLONE_TABLE_NAME": "t",
        "VOICECLONE_BUCKET_NAME": "b",
    }
    probe = [sys.executable, "-c", SPEECH_PROBE, *FUNCTION_NAMES]
    out = subprocess.run(probe, capture_output=True, text=True, env=env, check=True)
    found: dict[str, list[str]] = json.loads(out.stdout)
    assert "voiceclone.handlers.api" in found["api"]  # the probe sees the handler's own modules
    # The speech workflow's functions (infra/speech_workflow.py) exist to speak: they load it.
    for name in (n for n in FUNCTION_NAMES if not n.startswith("speech_")):
        assert sorted(set(found[name]) & set(SPEECH_MODULES)) == [], name
