"""A tenant's credentials and choices: its API keys, its webhook signing secret, its label policy.

Only an API key's SHA-256 is stored: the plaintext is shown once, when it is issued. One webhook
secret per tenant (``TENANT#<tenant_id>``/``WEBHOOK_SECRET``), made on first use. The tenant's
label policy (``TENANT#<tenant_id>``/``LABEL_POLICY``: ``explicit_label``) exists once it chose.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from voiceclone.domain.errors import Conflict
from voiceclone.domain.models import utcnow
from voiceclone.store.table import Table, conditional_failed, from_attrs, to_attrs

APIKEY_SK = "APIKEY"
# Names, not secrets.
WEBHOOK_SECRET_SK = "WEBHOOK_SECRET"  # noqa: S105
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105
LABEL_POLICY_SK = "LABEL_POLICY"


def _new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


class AccountStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ----- API keys ---------------------------------------------------------------------------

    def put_api_key(self, key_hash: str, tenant_id: str, key_prefix: str) -> None:
        self.table.put_new(
            to_attrs(
                {
                    "pk": f"APIKEY#{key_hash}",
                    "sk": APIKEY_SK,
                    "type": "api_key",
                    "tenant_id": tenant_id,
                    "key_prefix": key_prefix,
                    "created_at": utcnow().isoformat(),
                }
            )
        )

    def tenant_of_api_key(self, key_hash: str) -> str | None:
        resp = self.table.client.get_item(
            TableName=self.table.name, Key={"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": APIKEY_SK}}
        )
        item = resp.get("Item")
        if not item or "revoked_at" in item:
            return None
        return str(from_attrs(item)["tenant_id"])

    def revoke_api_key(self, key_hash: str) -> bool:
        """Revoke a key; False when there is no such key."""
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key={"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": APIKEY_SK}},
                UpdateExpression="SET revoked_at = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"S": utcnow().isoformat()}},
            )
        except ClientError as exc:
            if conditional_failed(exc):
                return False
            raise
        return True

    # ----- the webhook secret -----------------------------------------------------------------

    def webhook_secret(self, tenant_id: str) -> tuple[str, datetime]:
        """The tenant's webhook secret and when it was made; made now if the tenant has none yet."""
        key = {"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": WEBHOOK_SECRET_SK}}
        for _ in range(2):
            item = self.table.client.get_item(TableName=self.table.name, Key=key, ConsistentRead=True).get(
                "Item"
            )
            if item:
                found = from_attrs(item)
                return str(found["secret"]), datetime.fromisoformat(str(found["created_at"]))
            secret, created_at = _new_webhook_secret(), utcnow()
            try:
                self.table.put_new(self._webhook_secret_item(tenant_id, secret, created_at))
            except ClientError as exc:
                if conditional_failed(exc):
                    continue  # made concurrently: use that one
                raise
            return secret, created_at
        raise Conflict("Conflict", f"the webhook secret of tenant {tenant_id} could not be read")

    def rotate_webhook_secret(self, tenant_id: str) -> tuple[str, datetime]:
        """Replace the tenant's secret: deliveries from now on are signed with the new one only."""
        secret, created_at = _new_webhook_secret(), utcnow()
        self.table.client.put_item(
            TableName=self.table.name, Item=self._webhook_secret_item(tenant_id, secret, created_at)
        )
        return secret, created_at

    @staticmethod
    def _webhook_secret_item(tenant_id: str, secret: str, created_at: datetime) -> dict[str, Any]:
        return to_attrs(
            {
                "pk": f"TENANT#{tenant_id}",
                "sk": WEBHOOK_SECRET_SK,
                "type": "webhook_secret",
                "tenant_id": tenant_id,
                "secret": secret,
                "created_at": created_at.isoformat(),
            }
        )

    # ----- the label policy -------------------------------------------------------------------

    def explicit_label(self, tenant_id: str) -> bool | None:
        """Whether the tenant wants the audible label on its speech; None when it never chose."""
        item = self.table.client.get_item(
            TableName=self.table.name,
            Key={"pk": {"S": f"TENANT#{tenant_id}"}, "sk": {"S": LABEL_POLICY_SK}},
            ConsistentRead=True,
        ).get("Item")
        return bool(from_attrs(item)["explicit_label"]) if item else None

    def set_explicit_label(self, tenant_id: str, explicit_label: bool) -> None:
        self.table.client.put_item(
            TableName=self.table.name,
            Item=to_attrs(
                {
                    "pk": f"TENANT#{tenant_id}",
                    "sk": LABEL_POLICY_SK,
                    "type": "label_policy",
                    "tenant_id": tenant_id,
                    "explicit_label": explicit_label,
                    "updated_at": utcnow().isoformat(),
                }
            ),
        )
