"""Vendor ids to adapters, imported lazily so a function only loads the vendor it uses."""

from __future__ import annotations

import importlib
from functools import cache

from voiceclone.domain.errors import NotFound
from voiceclone.vendors.base import Capabilities, VendorAdapter

# vendor id -> "module:Class"
_ADAPTERS: dict[str, str] = {
    "tencent_vrs": "voiceclone.vendors.tencent_vrs:TencentVrsAdapter",
    "tencent_gateway": "voiceclone.vendors.tencent_gateway:TencentGatewayAdapter",
    "volcengine": "voiceclone.vendors.volcengine:VolcengineAdapter",
    "qiniu": "voiceclone.vendors.qiniu:QiniuAdapter",
    "huawei": "voiceclone.vendors.huawei:HuaweiAdapter",
}

VENDOR_IDS: tuple[str, ...] = tuple(_ADAPTERS)


def _adapter_class(vendor_id: str) -> type[VendorAdapter]:
    target = _ADAPTERS.get(vendor_id)
    if target is None:
        raise NotFound(
            "UnknownVendor", f"unknown vendor {vendor_id!r}; known vendors: {', '.join(VENDOR_IDS)}"
        )
    module_name, _, class_name = target.partition(":")
    cls: type[VendorAdapter] = getattr(importlib.import_module(module_name), class_name)
    return cls


def capabilities(vendor_id: str) -> Capabilities:
    return _adapter_class(vendor_id).capabilities


@cache
def get_adapter(vendor_id: str) -> VendorAdapter:
    """One adapter per vendor per process (its HTTP connection pool survives warm invocations)."""
    return _adapter_class(vendor_id).from_environment()
