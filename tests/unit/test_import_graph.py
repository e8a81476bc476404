"""The handlers' import graph stays lean: what a cold start must not load (issue 13), checked, not timed.

Each handler module is imported in a fresh interpreter, as Lambda does at cold start, and the
modules it pulled in are compared with what it must not need at import: the service's own work
(pydantic, botocore and the logic, store, vendor and domain modules load on the first call,
voiceclone/handlers/deferred.py). Then what that first call imports is loaded too
(``load_deferred``) and compared with what no handler needs even then: boto3 and its transfer
layer (s3transfer, multiprocessing, asyncio), httpx (only the code that calls out needs it),
audio decoding (PyAV, numpy), the X-Ray SDK. One subprocess per probe keeps it cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infra.constants import FUNCTION_NAMES

# Never on any handler's path, its first call included.
FORBIDDEN = ("boto3", "s3transfer", "multiprocessing", "asyncio", "av", "numpy", "aws_xray_sdk", "httpx")
# Where Powertools itself imports asyncio at module level: its event_handler package (the api's
# router; the package __init__ loads the AppSync resolver) and its batch utility (stream and queue).
POWERTOOLS_ASYNCIO = {"api", "publish_events", "deliver_webhook"}
# Not at import: the first call loads them. (Powertools imports botocore's bare package, 1 ms, for its
# user agent: the cost is its session and clients.)
DEFERRED = ("pydantic", "botocore.session", "botocore.client")
# The service modules a handler's import may load: the entry points' own wiring, no work.
ENTRY_MODULES = {
    "voiceclone",
    "voiceclone.handlers",
    "voiceclone.handlers.deferred",
    "voiceclone.handlers.step",
    "voiceclone.handlers.speech_step",
    "voiceclone.observability",
}

PROBE = """
import importlib, json, sys
from voiceclone.handlers.deferred import load_deferred
first_call = sys.argv[1] == "first-call"
found = {}
for name in sys.argv[2:]:
    before = set(sys.modules)
    module = "voiceclone.handlers." + name
    load_deferred(module) if first_call else importlib.import_module(module)
    found[name] = sorted(m for m in sys.modules if m not in before or m.startswith("voiceclone"))
    for mod in set(sys.modules) - before:
        del sys.modules[mod]
print(json.dumps(found))
"""


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-central-1",
        "VOICECLONE_TABLE_NAME": "t",
        "VOICECLONE_BUCKET_NAME": "b",
    }


def _probe(mode: str) -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *FUNCTION_NAMES],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    found: dict[str, list[str]] = json.loads(out.stdout)
    return found


def _packages(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.fixture(scope="module")
def imported() -> dict[str, list[str]]:
    return _probe("import")


@pytest.fixture(scope="module")
def first_call() -> dict[str, list[str]]:
    return _probe("first-call")


def test_the_probe_sees_what_a_module_imports(
    imported: dict[str, list[str]], first_call: dict[str, list[str]]
) -> None:
    # Given every handler imported apart, When we look at one, Then its own stack is there
    assert set(FUNCTION_NAMES) == set(imported) == set(first_call)
    for name in FUNCTION_NAMES:
        assert f"voiceclone.handlers.{name}" in imported[name], name
        assert {"voiceclone", "botocore", "pydantic"} <= _packages(first_call[name]), name


@pytest.mark.parametrize("name", list(FUNCTION_NAMES))
def test_a_handler_imports_none_of_its_work_until_its_first_call(
    imported: dict[str, list[str]], name: str
) -> None:
    assert sorted(_packages(imported[name]) & set(FORBIDDEN)) == []
    assert sorted(set(imported[name]) & set(DEFERRED)) == []
    own = {m for m in imported[name] if m.startswith("voiceclone")} - {f"voiceclone.handlers.{name}"}
    assert sorted(own - ENTRY_MODULES) == []


@pytest.mark.parametrize("name", list(FUNCTION_NAMES))
def test_a_first_call_imports_nothing_it_does_not_need(first_call: dict[str, list[str]], name: str) -> None:
    forbidden = set(FORBIDDEN) - ({"asyncio"} if name in POWERTOOLS_ASYNCIO else set())
    assert sorted(_packages(first_call[name]) & forbidden) == []


# Speech (issue 11) is loaded by the api function's speech routes when they run, never at import
# nor by another route's first call: no function's cold start, the api's included, pays for it.
SPEECH_MODULES = ("voiceclone.logic.speech", "voiceclone.vendors.speech")


def test_no_handler_imports_speech_until_a_speech_route_runs(first_call: dict[str, list[str]]) -> None:
    assert "voiceclone.rest" in first_call["api"]  # the probe sees the handler's own modules
    # The speech workflow's functions (infra/speech_workflow.py) exist to speak: they load it.
    for name in (n for n in FUNCTION_NAMES if not n.startswith("speech_")):
        assert sorted(set(first_call[name]) & set(SPEECH_MODULES)) == [], name


SNAPSHOT_PROBE = """
import importlib, json, sys
from snapshot_restore_py import get_after_restore, get_before_snapshot
handler = importlib.import_module("voiceclone.handlers." + sys.argv[1])
at_import = set(sys.modules)
# What Lambda does when it takes the snapshot of a SnapStart function: run the before-snapshot
# hooks, last registered first.
for hook, args, kwargs in reversed(get_before_snapshot()):
    hook(*args, **kwargs)
in_snapshot = sorted(sys.modules)
# And when it restores one: every environment resumes with the snapshot's `random` state.
import random
random.seed(7)
snapshot_state = random.getstate()
for hook, args, kwargs in get_after_restore():
    hook(*args, **kwargs)
reseeded = random.getstate() != snapshot_state
print(json.dumps({"at_import": sorted(at_import), "in_snapshot": in_snapshot, "reseeded": reseeded}))
"""


@pytest.mark.parametrize(
    ("name", "work"),
    [
        (
            "api",
            {
                "voiceclone.rest",
                "voiceclone.logic.jobs",
                "voiceclone.logic.speech",
                "voiceclone.store.repository",
            },
        ),
        ("authorizer", {"voiceclone.logic.api_keys", "voiceclone.logic.services"}),
    ],
)
def test_a_snapstart_function_has_its_first_call_imported_before_the_snapshot(
    name: str, work: set[str]
) -> None:
    # Given a SnapStart function imported as Lambda's init does
    out = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_PROBE, name], capture_output=True, text=True, env=_env(), check=True
    )
    modules = json.loads(out.stdout)
    # Then its import loaded none of the work, and the before-snapshot hook all of it: the
    # snapshot holds it, so a restored request imports none of it
    assert not work & set(modules["at_import"])
    assert work <= set(modules["in_snapshot"])
    assert {"pydantic", "botocore"} <= _packages(modules["in_snapshot"])
    # And after a restore `random` is seeded again, so restored environments do not share its sequence
    assert modules["reseeded"]


def test_deferred_imports_are_the_imports_written_inside_functions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceclone.handlers.deferred import deferred_imports, load_deferred

    # Given a module with imports at module level, under TYPE_CHECKING, and inside functions
    (tmp_path / "probe_entry.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            import json

            if TYPE_CHECKING:
                from decimal import Decimal

            def handler(event, context):
                from fractions import Fraction
                import colorsys, xml.dom

                def inner():
                    from statistics import median
                return Fraction(1)

            class Helper:
                def method(self):
                    from json import dumps
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("probe_entry", "fractions", "colorsys", "xml.dom", "statistics"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    # Then the functions' imports are found, in order, and nothing of the module level
    assert deferred_imports("probe_entry") == [
        ("fractions", ("Fraction",)),
        ("colorsys", ()),
        ("xml.dom", ()),
        ("statistics", ("median",)),
        ("json", ("dumps",)),
    ]
    # And loading them imports each one
    assert load_deferred("probe_entry") == [
        "probe_entry",
        "fractions",
        "colorsys",
        "xml.dom",
        "statistics",
        "json",
    ]
    assert {"fractions", "colorsys", "xml.dom", "statistics"} <= set(sys.modules)
