"""The service's import graph: layered and acyclic, and lean where a cold start pays for it.

The graph is built from the source itself: every import of every module of functions/voiceclone,
at module level and inside functions alike, and every module bound lazily (voiceclone.lazy); only
``if TYPE_CHECKING:`` blocks are left out, as they never run. On it:

- no cycle, anywhere: no module needs another that needs it back;
- the layers point one way (handlers, rest → logic → vendors, store → domain);
- no import is written inside a function: what waits is bound with voiceclone.lazy, in plain sight.

Then each function is probed in a fresh interpreter, as Lambda starts it: its entry's import loads
none of the service's work; its first call loads its target and nothing it does not need (boto3,
PyAV, httpx where it calls no vendor, the X-Ray SDK); and a SnapStart function's before-snapshot
hook loads at least what its first requests import (its row's explicit list, checked here).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from voiceclone.handlers.table import FUNCTION_NAMES, FUNCTIONS

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "voiceclone"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node``, but those under ``if TYPE_CHECKING:`` (never run)."""
    for child in ast.iter_child_nodes(node):
        if _type_checking(child):
            assert isinstance(child, ast.If)
            for other in child.orelse:  # the `else:` branch runs
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _target(module: str, name: str | None) -> str:
    """The service module an import names: `from a.b import c` is a.b.c when that is a module."""
    if name and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def imports_of(name: str) -> dict[str, list[tuple[int, bool]]]:
    """The service modules ``name`` imports (or binds lazily): target -> [(line, inside a function)]."""
    tree = ast.parse(MODULES[name].read_text())
    inside: set[int] = set()
    for node in _walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(n) for n in ast.walk(node)}
    found: dict[str, list[tuple[int, bool]]] = {}

    def add(target: str, node: ast.AST) -> None:
        if target.split(".")[0] == "voiceclone" and target in MODULES and target != name:
            found.setdefault(target, []).append((getattr(node, "lineno", 0), id(node) in inside))

    for node in _walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                add(_target(node.module, alias.name), node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("lazy_module", "optional_lazy_module")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            add(str(node.args[0].value), node)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_graph_sees_every_kind_of_import() -> None:
    # A module-level import, a lazy binding, and an import in a TYPE_CHECKING block (left out)
    assert "voiceclone.store.table" in GRAPH["voiceclone.store.jobs"]
    assert "voiceclone.vendors.http" in GRAPH["voiceclone.vendors.base"]  # lazy_module(...)
    assert "voiceclone.vendors.streaming.base" in GRAPH["voiceclone.vendors.tencent_vrs"]  # lazy, else branch
    assert "voiceclone.vendors.base" not in GRAPH["voiceclone.vendors.config"]  # under TYPE_CHECKING only
    assert len(GRAPH) > 80


def _cycle() -> list[str] | None:
    """A cycle of the graph, as the list of modules on it (the first found), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_module_of_the_service_imports_another_that_imports_it_back() -> None:
    cycle = _cycle()
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        GRAPH, "voiceclone.domain.models", {**GRAPH["voiceclone.domain.models"], "voiceclone.store.jobs": []}
    )
    cycle = _cycle()
    assert cycle is not None and cycle[0] == cycle[-1] and "voiceclone.store.jobs" in cycle


def test_no_import_is_written_inside_a_function() -> None:
    inside = [
        f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {target}"
        for name, targets in GRAPH.items()
        for target, places in targets.items()
        for line, in_function in places
        if in_function
    ]
    assert inside == []


# The layers, from the top: a module may import its own layer and those below, never one above.
LAYERS = (
    ("voiceclone.handlers", "voiceclone.rest"),
    ("voiceclone.logic",),
    ("voiceclone.vendors", "voiceclone.store", "voiceclone.provenance"),
    (
        "voiceclone.domain",
        "voiceclone.settings",
        "voiceclone.observability",
        "voiceclone.aws",
        "voiceclone.lazy",
    ),
)


def _layer(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return index
    return len(LAYERS)  # the package itself


def test_no_arrow_runs_back_up_the_layers() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if _layer(target) < _layer(name)
    ]
    assert upward == []


# ----- the functions as Lambda starts them ---------------------------------------------------------

# Never on any function's path, its first call included (httpx: except where the function calls a
# vendor; a lazily bound module that never runs does not count).
FORBIDDEN = ("boto3", "s3transfer", "multiprocessing", "av", "numpy", "aws_xray_sdk")
# Not at import: the first call loads them.
DEFERRED = ("pydantic", "botocore.session", "botocore.client")
# The service modules an entry's import may load: its wiring, no work.
ENTRY_MODULES = {
    "voiceclone",
    "voiceclone.handlers",
    "voiceclone.handlers.entries",
    "voiceclone.handlers.snapstart",
    "voiceclone.handlers.steps",
    "voiceclone.handlers.table",
    "voiceclone.lazy",
    "voiceclone.observability",
    # the packages above the services the step wrapper binds lazily (empty __init__ files)
    "voiceclone.logic",
    "voiceclone.logic.core",
    # what a streaming function's entry is to the runtime (a StreamingHandler): standard library only
    "voiceclone.runtime",
    "voiceclone.runtime.errors",
    "voiceclone.runtime.http_stream",
    "voiceclone.runtime.streaming",
}

PROBE = """
import importlib, json, sys
def loaded():  # a module bound lazily (voiceclone.lazy) is in sys.modules before it loads
    return {m for m, mod in sys.modules.items() if type(mod).__name__ != "_LazyModule"}
mode, name = sys.argv[1], sys.argv[2]
entries = importlib.import_module("voiceclone.handlers.entries")
entry = getattr(entries, name)
at_import = loaded()
if mode == "first-call":
    entry.load()
print(json.dumps(sorted(loaded() if mode == "first-call" else at_import)))
"""


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-central-1",
        "VOICECLONE_TABLE_NAME": "t",
        "VOICECLONE_BUCKET_NAME": "b",
    }


def _probe(mode: str, name: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, name], capture_output=True, text=True, env=_env(), check=True
    )
    found: list[str] = json.loads(out.stdout)
    return found


def _packages(modules: list[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_an_entrys_import_loads_none_of_its_functions_work(name: str) -> None:
    imported = _probe("import", name)
    assert sorted(_packages(imported) & set(FORBIDDEN)) == []
    assert sorted(set(imported) & set(DEFERRED)) == []
    own = {m for m in imported if m.startswith("voiceclone")}
    assert sorted(own - ENTRY_MODULES) == []


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_a_first_call_loads_its_target_and_nothing_it_does_not_need(name: str) -> None:
    row = next(f for f in FUNCTIONS if f.name == name)
    first_call = _probe("first-call", name)
    assert row.target.partition(":")[0] in first_call
    assert sorted(_packages(first_call) & set(FORBIDDEN)) == []
    # httpx (a vendor's HTTP stack) is loaded by those that call vendors, not by the event plumbing
    if name in ("authorizer", "publish_events", "deliver_webhook", "expire_job", "intake"):
        assert "httpx" not in first_call, name


# Speech is the speech routes' and the speech workflow's: the training workflow never loads it.
SPEECH_MODULES = ("voiceclone.logic.speech.service", "voiceclone.logic.speech.steps")


@pytest.mark.parametrize("name", [f.name for f in FUNCTIONS if f.workflow == "training"])
def test_the_training_workflow_loads_no_speech(name: str) -> None:
    assert sorted(set(_probe("first-call", name)) & set(SPEECH_MODULES)) == []


SNAPSHOT_PROBE = """
import importlib, json, random, sys
from snapshot_restore_py import get_after_restore, get_before_snapshot
entries = importlib.import_module("voiceclone.handlers.entries")
getattr(entries, sys.argv[1])  # Lambda's init reads the handler
def loaded():
    return sorted(m for m, mod in sys.modules.items() if type(mod).__name__ != "_LazyModule")
at_import = loaded()
# What Lambda does when it takes the snapshot of a SnapStart function: run the before-snapshot
# hooks, last registered first.
for hook, args, kwargs in reversed(get_before_snapshot()):
    hook(*args, **kwargs)
in_snapshot = loaded()
# And when it restores one: every environment resumes with the snapshot's `random` state.
random.seed(7)
snapshot_state = random.getstate()
for hook, args, kwargs in get_after_restore():
    hook(*args, **kwargs)
print(json.dumps({"at_import": at_import, "in_snapshot": in_snapshot,
                  "reseeded": random.getstate() != snapshot_state}))
"""

# What a SnapStart function's first requests import, beyond the snapshot: run in a fresh process on
# moto, every kind of request the function answers (each route; an accepted and a refused key).
FIRST_REQUESTS_PROBE = """
import importlib, json, sys
from moto import mock_aws
with mock_aws():
    import boto3
    from tests.helpers import TABLE_SCHEMA
    boto3.client("dynamodb").create_table(TableName="t", **TABLE_SCHEMA)
    where = {"LocationConstraint": "eu-central-1"}
    boto3.client("s3").create_bucket(Bucket="voiceclone-probe", CreateBucketConfiguration=where)
    entries = importlib.import_module("voiceclone.handlers.entries")
    entry = getattr(entries, sys.argv[1])
    entry.load()
    before = set(sys.modules)
    from tests.unit.snapstart_requests import run_requests
    run_requests(sys.argv[1], entry)
    new = sorted(m for m in set(sys.modules) - before if type(sys.modules[m]).__name__ != "_LazyModule")
print(json.dumps(new))
"""


@pytest.mark.parametrize("name", [f.name for f in FUNCTIONS if f.snapstart])
def test_a_snapstart_function_has_its_first_requests_imports_in_its_snapshot(name: str) -> None:
    # Given a SnapStart function imported as Lambda's init does, and its snapshot hooks run
    out = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_PROBE, name], capture_output=True, text=True, env=_env(), check=True
    )
    modules = json.loads(out.stdout)
    # Then its import loaded none of the work, and the hook all of it
    row = next(f for f in FUNCTIONS if f.name == name)
    target = row.target.partition(":")[0]
    assert target not in modules["at_import"] and target in modules["in_snapshot"]
    assert {"pydantic", "botocore"} <= _packages(modules["in_snapshot"])
    # ...at least everything its first requests import (the row's list is checked, not trusted)
    repo = Path(__file__).resolve().parents[2]
    requests = subprocess.run(
        [sys.executable, "-c", FIRST_REQUESTS_PROBE, name],
        capture_output=True,
        text=True,
        env={
            **_env(),
            "VOICECLONE_BUCKET_NAME": "voiceclone-probe",
            "PYTHONPATH": str(repo),
            "POWERTOOLS_METRICS_DISABLED": "true",
        },
        check=True,
        cwd=repo,
    )
    imported = json.loads(requests.stdout.strip().splitlines()[-1])  # after the requests' log lines
    first_requests = {m for m in imported if m.split(".")[0] in ("voiceclone", "httpx")}
    if name == "api":  # the probe sees them: a job names its vendor, whose adapter the registry imports
        assert {"voiceclone.vendors.tencent_vrs", "voiceclone.vendors.huawei"} <= first_requests
    assert sorted(first_requests - set(modules["in_snapshot"])) == []
    # And after a restore `random` is seeded again, so restored environments do not share its sequence
    assert modules["reseeded"]
