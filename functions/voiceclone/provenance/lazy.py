"""Modules bound at import and executed on first use: importlib's LazyLoader, said once, in one place.

c2pa-python loads a 23 MB native library when imported (tens of milliseconds, more on a cold
disk): only signing and verifying need it, and a function that labels nothing must not pay for
it. Binding it with :func:`lazy_module` keeps ``from voiceclone.provenance import ...`` cheap;
the library runs when the first attribute is read (``c2pa.Builder``), at the point of use.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType | None:
    """``name`` bound lazily (the module itself if already imported); None when it is not installed."""
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
    return module
