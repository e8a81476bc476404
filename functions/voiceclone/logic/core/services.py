"""The clients and settings the logic works with, built once per process and swappable in tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from voiceclone import aws
from voiceclone.settings import Settings, get_settings
from voiceclone.store import Store
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.registry import get_adapter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient


@dataclass
class Services:
    settings: Settings
    adapter_for: Callable[[str], VendorAdapter] = field(default=get_adapter)
    overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def store(self) -> Store:
        return self.overrides.get("store") or Store(self.settings.table_name)

    @cached_property
    def s3(self) -> S3Client:
        """SigV4 explicitly: botocore would sign presigned POSTs with SigV2, which new buckets refuse."""
        return self.overrides.get("s3") or aws.client("s3", config=Config(signature_version="s3v4"))

    @cached_property
    def sfn(self) -> SFNClient:
        return self.overrides.get("sfn") or aws.client("stepfunctions")

    @cached_property
    def kms(self) -> Any:
        """KMS: the key that signs the C2PA manifests of speech (voiceclone.provenance.KmsSigner)."""
        return self.overrides.get("kms") or aws.client("kms")

    @cached_property
    def scheduler(self) -> Any:
        """EventBridge Scheduler: a job's one-time expiry schedule (voiceclone.logic.training.expiry)."""
        return self.overrides.get("scheduler") or aws.client("scheduler")


_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        _services = Services(settings=get_settings())
    return _services


def reset() -> None:
    """Forget the process's services (the local stack, when it starts again with other settings)."""
    global _services
    _services = None
