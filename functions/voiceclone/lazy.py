"""Modules bound at import and executed on first use: importlib's LazyLoader, said once, in one place.

A Lambda pays at cold start for every module its code imports. Where a heavy module is needed
only on some paths (PyAV decodes uploads other than WAV; httpx and a vendor's HTTP stack run only
when a vendor is called; c2pa-python's 23 MB native library only when audio is signed or checked),
the importing module binds it with :func:`lazy_module` at module level, in plain sight::

    if TYPE_CHECKING:
        import av
    else:
        av = lazy_module("av")

The module is found (its parent packages imported) at once and executed when its first
attribute is read, at the point of use. Nothing else in the service defers an import.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


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
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return None
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    parent, _, child = name.rpartition(".")
    if parent:  # as an import does: the package names its submodule
        setattr(sys.modules[parent], child, module)
    return module
