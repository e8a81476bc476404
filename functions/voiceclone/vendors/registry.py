"""The one list of vendors: ids to adapters, imported lazily so a function only loads the vendor it uses.

Everything else that needs the vendors (infra's secrets, the local stack's sandboxes, the
test tables) derives them from here. A new vendor is one line in ``VENDORS``; a test may
add one at run time with :func:`register`.
"""

from __future__ import annotations

import importlib
from functools import cache

from voiceclone.domain.errors import NotFound
from voiceclone.vendors.base import Capabilities, VendorAdapter

# vendor id -> "module:Class"
VENDORS: dict[str, str] = {
    "tencent_vrs": "voiceclone.vendors.tencent_vrs:TencentVrsAdapter",
    "tencent_gateway": "voiceclone.vendors.tencent_gateway:TencentGatewayAdapter",
    "volcengine": "voiceclone.vendors.volcengine:VolcengineAdapter",
    "qiniu": "voiceclone.vendors.qiniu:QiniuAdapter",
    "huawei": "voiceclone.vendors.huawei:HuaweiAdapter",
    "cosyvoice": "voiceclone.vendors.cosyvoice:CosyVoiceAdapter",
}

# Classes registered as objects (e.g. defined inside a test), by vendor id.
_REGISTERED: dict[str, type[VendorAdapter]] = {}


def vendor_ids() -> tuple[str, ...]:
    """Every vendor id, in the registry's order."""
    return tuple(VENDORS)


def adapter_modules() -> list[str]:
    """The module of each vendor's adapter, in the registry's order (a SnapStart function imports them)."""
    return [VENDORS[v].partition(":")[0] for v in vendor_ids()]


def register(vendor_id: str, target: str | type[VendorAdapter]) -> None:
    """Add (or replace) a vendor at run time: ``"module:Class"`` or the adapter class itself."""
    if isinstance(target, str):
        if ":" not in target:
            raise ValueError(f"register {vendor_id!r}: expected 'module:Class', not {target!r}")
        _REGISTERED.pop(vendor_id, None)
        VENDORS[vendor_id] = target
    else:
        if getattr(target, "vendor_id", vendor_id) != vendor_id:
            raise ValueError(f"register {vendor_id!r}: {target.__name__} declares {target.vendor_id!r}")
        _REGISTERED[vendor_id] = target
        VENDORS[vendor_id] = f"{target.__module__}:{target.__qualname__}"
    get_adapter.cache_clear()


def unregister(vendor_id: str) -> None:
    """Remove a vendor added with :func:`register` (a test's own vendor, at its teardown)."""
    _REGISTERED.pop(vendor_id, None)
    VENDORS.pop(vendor_id, None)
    get_adapter.cache_clear()


def adapter_class(vendor_id: str) -> type[VendorAdapter]:
    """The adapter class of a vendor (its module is imported now); NotFound for an unknown id."""
    registered = _REGISTERED.get(vendor_id)
    if registered is not None:
        return registered
    target = VENDORS.get(vendor_id)
    if target is None:
        raise NotFound("UnknownVendor", f"unknown vendor {vendor_id!r}; known vendors: {', '.join(VENDORS)}")
    module_name, _, class_name = target.partition(":")
    cls: type[VendorAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


def capabilities(vendor_id: str) -> Capabilities:
    return adapter_class(vendor_id).capabilities


@cache
def get_adapter(vendor_id: str) -> VendorAdapter:
    """One adapter per vendor per process (its HTTP connection pool survives warm invocations)."""
    return adapter_class(vendor_id).from_environment()
