"""A tenant's settings: ``TENANT#<tenant_id>``/``SETTINGS``, the defaults until the first write.

Written through the one versioned read-change-write (voiceclone.store.table.Table.change): a tenant
changing its organisation name and an operator changing its consent policy never overwrite each
other. The first write creates the item (version 0 read as "none yet").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.errors import VersionConflict
from voiceclone.domain.models import TenantSettings, utcnow
from voiceclone.store.table import Table, conditional_failed, item_of

SETTINGS_SK = "SETTINGS"


class TenantStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def item(settings: TenantSettings) -> dict[str, Any]:
        return item_of(settings, pk=f"TENANT#{settings.tenant_id}", sk=SETTINGS_SK, type="tenant_settings")

    def settings(self, tenant_id: str) -> TenantSettings:
        """The tenant's settings; the defaults (no organisation name, recorded consent only) if none yet."""
        found = self.table.read(TenantSettings, f"TENANT#{tenant_id}", SETTINGS_SK)
        return found or TenantSettings(tenant_id=tenant_id)

    def _save(self, updated: TenantSettings, current: TenantSettings) -> TenantSettings:
        saved = updated.model_copy(update={"version": current.version + 1, "updated_at": utcnow()})
        if current.version:
            self.table.put_versioned(self.item(saved), current.version, f"settings of {current.tenant_id}")
            return saved
        try:
            self.table.put_new(self.item(saved))
        except ClientError as exc:
            if conditional_failed(exc):
                raise VersionConflict("Conflict", f"settings of {current.tenant_id} changed") from exc
            raise
        return saved

    def change(
        self, tenant_id: str, change: Callable[[TenantSettings], TenantSettings | None]
    ) -> TenantSettings:
        """Read, change and write the tenant's settings (retried when another writer won)."""
        return self.table.change(
            lambda: self.settings(tenant_id), self._save, change, f"settings of {tenant_id}"
        )
