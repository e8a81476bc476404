"""The imports a handler puts off until its first call: found in its source, loaded ahead on request.

A handler module imports only what its entry point needs at module level (the Powertools logger,
the step wrapper): the work it does, the models it validates and the AWS clients are imported inside
the handler function, so the module's own import is short and a call pays only for its own path
(README, "Cold starts"). Python caches a module once imported: only the first call pays.

Two callers want that first call's imports ahead of it, and get them from here rather than from a
second list that could drift from the handler's code: the SnapStart functions (api, authorizer),
which load them before Lambda takes the snapshot so that a restored request pays none of it, and
``benchmarks/coldstart.py``, which measures a cold start in all (the import plus the first call's
imports) beside the import alone.
"""

from __future__ import annotations

import importlib


def deferred_imports(module_name: str) -> list[tuple[str, tuple[str, ...]]]:
    """The absolute imports written inside the functions of ``module_name``: (module, names) each.

    ``from a.b import c`` gives ("a.b", ("c",)), ``import a.b`` gives ("a.b", ()). Module-level
    imports, ``TYPE_CHECKING`` blocks and relative imports are not included.
    """
    import ast
    from pathlib import Path

    module = importlib.import_module(module_name)
    if not module.__file__:
        return []
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    found: dict[tuple[str, tuple[str, ...]], None] = {}
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found[(node.module, tuple(alias.name for alias in node.names))] = None
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    found[(alias.name, ())] = None
    return list(found)


def load_deferred(*module_names: str) -> list[str]:
    """Import each module and what its functions import on first call; the modules imported, in order."""
    loaded: list[str] = []
    for module_name in module_names:
        importlib.import_module(module_name)
        loaded.append(module_name)
        for target, names in deferred_imports(module_name):
            # __import__ with a fromlist imports the submodules it names, as the `from` statement does.
            __import__(target, fromlist=names or ("__name__",))
            loaded.append(target)
    return loaded


def load_before_snapshot(*module_names: str) -> None:
    """Have Lambda SnapStart run ``load_deferred(*module_names)`` before it takes the snapshot.

    ``snapshot_restore_py`` is part of Lambda's Python runtimes (README, "Cold starts"); the hook
    runs once, in the init that is snapshotted, never on a request nor outside SnapStart. Every
    environment restored from one snapshot resumes with the same state of ``random``, so it is
    seeded again from the OS after each restore: the retry jitter (voiceclone.logic.speech) must
    differ between environments. (uuid4 and ``secrets`` read the OS's entropy, never that state.)
    """
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(load_deferred, *module_names)
    register_after_restore(_reseed_random)


def _reseed_random() -> None:
    import random

    random.seed()
