"""The Lambda entry points: ``voiceclone.handlers.entries.<name>`` for each row of voiceclone.handlers.table.

Importing this module imports the table and Powertools' logger and metrics, nothing of the
service's work: a function's cold start pays for its entry alone. Lambda then reads the entry's
attribute (``getattr(module, name)``, answered by :func:`__getattr__` from the table), and the first
call resolves the row's import strings (the target, a step's input model), once: a workflow step
gets the one step wrapper (voiceclone.handlers.steps), an event source's function is its target
itself. A SnapStart function (the api, the authorizer) resolves them, and the modules its row lists,
before Lambda takes its snapshot (voiceclone.handlers.snapstart).
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType
from typing import Any

from voiceclone.handlers import snapstart, steps
from voiceclone.handlers.table import BY_NAME, Function
from voiceclone.runtime.http_stream import INTEGRATION_RESPONSE
from voiceclone.runtime.streaming import InvocationContext, ResponseStream, StreamingHandler

Handler = Any  # (event, context) -> the function's answer


def resolve(target: str) -> Any:
    """What an import string ("module:attribute") names, its module imported now."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class Entry:
    """One function's entry point: its row's target, resolved on the first call (or before a snapshot)."""

    def __init__(self, row: Function) -> None:
        self.row = row
        self._handler: Handler | None = None
        self._lock = threading.Lock()

    def load(self) -> Handler:
        """Resolve the row's import strings (once) and build the handler they make."""
        if self._handler is None:
            with self._lock:
                if self._handler is None:
                    target = resolve(self.row.target)
                    if self.row.kind == "step":
                        target = steps.wrap(self.row, target, resolve(self.row.input))
                    self._handler = target
        return self._handler

    @property
    def target_module(self) -> ModuleType | None:
        """The module of the row's target, once loaded."""
        return sys.modules.get(self.row.target.partition(":")[0])

    def __call__(self, event: Any, context: Any) -> Any:
        return self.load()(event, context)


class StreamEntry(Entry, StreamingHandler):
    """A streaming function's entry: a streaming handler to the runtime (voiceclone.runtime), which
    then hands it the stream to write to; the first call resolves the row's target, itself one."""

    def __init__(self, row: Function) -> None:
        Entry.__init__(self, row)
        StreamingHandler.__init__(self, self._run, INTEGRATION_RESPONSE)

    def _run(self, event: Any, context: InvocationContext, body: ResponseStream) -> None:
        self.load()(event, context, body)

    def __call__(self, event: Any, context: Any, body: Any = None) -> Any:
        return self._run(event, context, body)


_entries: dict[str, Entry] = {}


def __getattr__(name: str) -> Entry:
    """The entry of function ``name`` (Lambda reads it when it loads the handler)."""
    row = BY_NAME.get(name)
    if row is None:
        raise AttributeError(f"no function {name!r} in voiceclone.handlers.table")
    entry = _entries.get(name)
    if entry is None:
        entry = _entries.setdefault(name, StreamEntry(row) if row.kind == "stream" else Entry(row))
        if row.snapstart:
            snapstart.prepare(row, entry.load)
    return entry
