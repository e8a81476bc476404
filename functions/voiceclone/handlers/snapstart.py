"""SnapStart for the functions a client waits on: what the snapshot holds; ``random`` fresh after a restore.

Lambda takes a snapshot of a SnapStart function's initialized process when a version is published
and restores environments from it; the before-snapshot hooks of ``snapshot_restore_py`` (part of
Lambda's Python runtimes) run once, in the init that is snapshotted, never on a request nor
outside SnapStart. Before it, the function's entry resolves its target and imports the modules its
row in voiceclone.handlers.table lists (an explicit list, checked by the table's tests against what
its first requests import), so a restored request imports nothing.

Every environment restored from one snapshot resumes with the same state of ``random``, so it is
seeded again from the OS after each restore: the speech retries' jitter must differ between
environments. (uuid4 and ``secrets`` read the OS's entropy, never that state.)
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable

from snapshot_restore_py import register_after_restore, register_before_snapshot

from voiceclone.handlers.table import Function


def snapshot_modules(row: Function) -> list[str]:
    """The modules a SnapStart function imports before its snapshot, beyond its target's module."""
    modules = list(row.snapshot_imports or ())
    if row.snapshot_vendors:
        # The registry names each adapter's module; requests import the one they name.
        registry = importlib.import_module("voiceclone.vendors.registry")
        modules += registry.adapter_modules()
    return modules


def prepare(row: Function, load: Callable[[], object]) -> None:
    """Register the hooks of a SnapStart function whose entry ``load`` resolves its target."""

    def before_snapshot() -> None:
        load()
        for module in snapshot_modules(row):
            importlib.import_module(module)

    register_before_snapshot(before_snapshot)
    register_after_restore(_reseed_random)


def _reseed_random() -> None:
    random.seed()
