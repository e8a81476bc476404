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

Last, the packages: what each function's imports can reach, the third-party libraries included,
against the dependency groups its row declares (infra builds its package from them): a function
that can reach PyAV or c2pa-python declares their group, one that cannot declares none, and every
library it can reach is in its package.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import get_args

import pytest
from voiceclone.handlers.table import FUNCTION_NAMES, FUNCTIONS, Extra, Function
from voiceclone.vendors.registry import adapter_modules

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
    # the deadlines the table's timeouts are made from (standard library only)
    "voiceclone.domain",
    "voiceclone.domain.deadlines",
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
def loaded():  # a module bound lazily (voiceclone.lazy) enters sys.modules when first read
    return set(sys.modules)
mode, name = sys.argv[1], sys.argv[2]
entries = importlib.import_module("voiceclone.handlers.entries")
entry = getattr(entries, name)
at_import = loaded()
if mode == "first-call":
    entry.load()
print(json.dumps(sorted(loaded() if mode == "first-call" else at_import)))
"""


def _env() -> dict[str, str]:
    """The probes' environment: this process's, without what points AWS at a server.

    A worker that started a local stack (a session fixture) has AWS_ENDPOINT_URL naming its moto
    server; a probe runs on its own mock and must never reach that server.
    """
    kept = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO_"))}
    return {
        **kept,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
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
    # The labelling library (and c2pa-python under it) is the labelling functions' alone: only their
    # packages need to carry it
    assert ("voiceclone.provenance" in first_call) == (name in LABELLERS), name


# The functions that label speech (infra/stack.py grants them the signing key): the api, FinishSpeech.
LABELLERS = ("api", "stream", "speech_finish")


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
    return sorted(sys.modules)
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
    new = sorted(set(sys.modules) - before)
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


# ----- the packages: what each function can reach, against the groups its row declares ------------

REPO = PACKAGE.parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# Top-level module name -> the installed distributions that provide it.
DISTRIBUTIONS = metadata.packages_distributions()


def _distribution(requirement: str) -> str:
    """A requirement's distribution name, normalized (PEP 503)."""
    name = re.split(r"[<>=!~;\[ @]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_names(name: str) -> Iterator[tuple[str, bool]]:
    """Every module ``name`` imports or binds lazily, and whether importlib resolves it from a string."""
    for node in _walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, False
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, False
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = ast.unparse(node.func)
            if called in ("lazy_module", "optional_lazy_module", "importlib.import_module"):
                yield str(node.args[0].value), called == "importlib.import_module"


# module -> the top-level names of the libraries it imports (anything but the service itself)
LIBRARIES = {
    name: {target.split(".")[0] for target, _ in _imported_names(name)} - {"voiceclone", "__future__"}
    for name in MODULES
}
# The service modules imported by name at run time, which the graph above does not hold: those
# importlib resolves from a constant (the SnapStart hook's registry), and the vendors' adapters,
# which the registry imports by their import strings.
RESOLVED = {name: {t for t, by_name in _imported_names(name) if by_name and t in MODULES} for name in MODULES}
RESOLVED["voiceclone.vendors.registry"] |= set(adapter_modules())


def _packages_above(module: str) -> list[str]:
    """The packages Python imports before ``module`` (their __init__ runs too)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def reachable(row: Function) -> set[str]:
    """The service modules function ``row`` can import: its entry, its row's import strings, the
    modules its snapshot lists, and everything those import, at module level, lazily or by name,
    with the packages above each."""
    listed = [*(row.snapshot_imports or ()), *(adapter_modules() if row.snapshot_vendors else ())]
    start = [
        "voiceclone.handlers.entries",
        row.target.partition(":")[0],
        *([row.input.partition(":")[0]] if row.input else []),
        *(m for m in listed if m in MODULES),
    ]
    seen: set[str] = set()
    while start:
        module = start.pop()
        if module not in seen:
            seen.add(module)
            start += [*GRAPH[module], *RESOLVED[module], *_packages_above(module)]
    return seen


def libraries_of(row: Function) -> dict[str, str]:
    """The libraries function ``row`` can import: top-level name -> a service module importing it."""
    found = {
        m: "its row's snapshot list" for m in row.snapshot_imports or () if m.split(".")[0] != "voiceclone"
    }
    for module in sorted(reachable(row)):
        for library in sorted(LIBRARIES[module]):
            found.setdefault(library, module)
    return found


def _distributions(library: str) -> set[str]:
    return {_distribution(d) for d in DISTRIBUTIONS.get(library, [])}


def groups_of(libraries: Iterable[str]) -> set[str]:
    """The Lambda dependency groups (voiceclone.handlers.table.Extra) whose distributions provide
    any of ``libraries``."""
    groups = PROJECT["optional-dependencies"]
    return {
        extra
        for extra in get_args(Extra)
        for library in libraries
        if _distributions(library) & {_distribution(r) for r in groups[extra]}
    }


def shipped(extras: Iterable[str]) -> set[str]:
    """The distributions a package with ``extras`` holds (or the runtime provides): the base's and
    the groups' requirements and theirs in turn, as installed here."""
    wanted = [*PROJECT["dependencies"], *(r for e in extras for r in PROJECT["optional-dependencies"][e])]
    found: set[str] = set()
    while wanted:
        name = _distribution(wanted.pop())
        if name in found:
            continue
        found.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # its marker is not met here (e.g. an older Python's)
            continue
        # Requirements of an extra of theirs are not installed with them.
        wanted += [r for r in requires if "extra ==" not in r]
    return found


def test_the_package_check_sees_each_kind_of_import() -> None:
    # PyAV bound lazily, c2pa-python bound lazily as optional, cryptography imported at module level
    assert "av" in LIBRARIES["voiceclone.domain.audio_decode"]
    assert "c2pa" in LIBRARIES["voiceclone.provenance.credentials"]
    assert "cryptography" in LIBRARIES["voiceclone.provenance.devca"]
    # the adapters the registry imports by name, and the registry the SnapStart hook imports by name
    assert "voiceclone.vendors.huawei" in RESOLVED["voiceclone.vendors.registry"]
    assert "voiceclone.vendors.registry" in RESOLVED["voiceclone.handlers.snapstart"]
    # each group is found from its libraries' distributions, as pyproject names them
    assert groups_of(["av"]) == {"audio"} and groups_of(["c2pa", "cryptography"]) == {"labels"}
    assert groups_of(["pydantic", "httpx", "json"]) == set()
    assert set(get_args(Extra)) <= set(PROJECT["optional-dependencies"])


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_a_functions_row_declares_exactly_the_groups_its_imports_reach(name: str) -> None:
    row = next(f for f in FUNCTIONS if f.name == name)
    libraries = libraries_of(row)
    reached = groups_of(libraries)
    why = {
        g: [f"{lib} (from {libraries[lib]})" for lib in libraries if groups_of([lib]) == {g}] for g in reached
    }
    missing = {g: why[g] for g in reached - set(row.extras)}
    assert missing == {}, f"{name} can import these: add the groups to its row in handlers/table.py"
    unused = set(row.extras) - reached
    assert unused == set(), f"{name} declares groups none of its imports reach: drop them from its row"


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_library_a_function_can_import_is_in_its_package(name: str) -> None:
    row = next(f for f in FUNCTIONS if f.name == name)
    package = shipped(row.extras)
    absent = {
        library: module
        for library, module in libraries_of(row).items()
        if library not in sys.stdlib_module_names and not _distributions(library) & package
    }
    assert absent == {}, f"{name}'s package lacks these (pyproject's dependencies or a group)"


def test_the_functions_a_client_waits_on_cannot_reach_pyav() -> None:
    for name in ("api", "authorizer"):
        row = next(f for f in FUNCTIONS if f.name == name)
        assert "av" not in libraries_of(row), name
        assert "voiceclone.domain.recording" not in reachable(row), name


def test_the_package_check_fails_on_an_undeclared_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the api's routes importing the recording inspection (which decodes with PyAV)
    rest = "voiceclone.rest.speech"
    monkeypatch.setitem(GRAPH, rest, {**GRAPH[rest], "voiceclone.domain.recording": []})
    api = next(f for f in FUNCTIONS if f.name == "api")
    # Then the api reaches the audio group its row does not declare
    assert "audio" in groups_of(libraries_of(api)) and "audio" not in api.extras
