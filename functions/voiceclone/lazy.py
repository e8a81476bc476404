"""Modules bound at import and imported on first use, said once, in one place.

A Lambda pays at cold start for every module its code imports. Where a heavy module is needed
only on some paths (PyAV decodes uploads other than WAV; httpx and a vendor's HTTP stack run only
when a vendor is called; c2pa-python's 23 MB native library only when audio is signed or checked),
the importing module binds it with :func:`lazy_module` at module level, in plain sight::

    if TYPE_CHECKING:
        import av
    else:
        av = lazy_module("av")

The module is found at once (its parent packages imported, ModuleNotFoundError if it is absent)
and imported when its first attribute is read, at the point of use; every attribute is then read
from the imported module. Nothing else in the service defers an import.

The import is an ordinary ``importlib.import_module``, so it is as thread-safe as any import: a
thread that reads an attribute while another is still running the module waits for it to finish.
importlib's own LazyLoader is not before Python 3.12.3 (it marks the module loaded before running
it, so a second thread can read a half-made module: "module 'av' has no attribute 'open'" under
ten concurrent sentence checks on the local stack, which runs on the machine's Python).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any


class _Deferred(ModuleType):
    """Stands for the module named ``__name__``: imports it when an attribute is first read."""

    def __getattr__(self, attr: str) -> Any:  # called only for names the stand-in itself lacks
        return getattr(importlib.import_module(self.__name__), attr)


def lazy_module(name: str) -> ModuleType:
    """``name`` bound lazily (the module itself if already imported); ModuleNotFoundError if it is absent."""
    module = optional_lazy_module(name)
    if module is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return module


def optional_lazy_module(name: str) -> ModuleType | None:
    """As :func:`lazy_module`, None when ``name`` is not installed (an optional dependency)."""
    if name in sys.modules:
        return sys.modules[name]
    if importlib.util.find_spec(name) is None:
        return None
    return _Deferred(name)
