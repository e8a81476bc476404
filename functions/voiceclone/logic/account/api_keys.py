"""API keys: how a client proves which tenant it is. Issued once in plaintext, stored as a SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets

from voiceclone.domain.consent import Requester
from voiceclone.domain.errors import InvalidRequest
from voiceclone.store.account import AccountStore

KEY_PREFIX = "vck_"
# A tenant id names S3 prefixes and table keys: keep it to characters safe in both.
TENANT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
BEARER = "Bearer "


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(hashed: str) -> str:
    """The id a key is known by in records (who asked for a job): a prefix of its hash, never the key."""
    return "key_" + hashed[:16]


def issue_api_key(account: AccountStore, tenant_id: str) -> str:
    """A new key for `tenant_id`; the plaintext is returned here and never stored."""
    if not TENANT_ID.match(tenant_id):
        raise InvalidRequest(
            "InvalidTenantId", "a tenant id is 1-64 letters, digits, '_', '.' or '-', starting alphanumeric"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    account.put_api_key(key_hash(key), tenant_id, key[: len(KEY_PREFIX) + 6])
    return key


def token_of(authorization: str | None) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` header (a bare key is accepted too)."""
    if not authorization:
        return None
    value = authorization.strip()
    if value[: len(BEARER)].lower() == BEARER.lower():
        value = value[len(BEARER) :].strip()
    return value if value.startswith(KEY_PREFIX) else None


def tenant_for(account: AccountStore, authorization: str | None) -> str | None:
    """The tenant an Authorization header's key belongs to; None for a missing, unknown or revoked key."""
    caller = caller_for(account, authorization)
    return caller.tenant_id if caller else None


def caller_for(account: AccountStore, authorization: str | None) -> Requester | None:
    """The tenant and key id of an Authorization header's key; None for a missing, unknown or revoked key."""
    key = token_of(authorization)
    if not key:
        return None
    hashed = key_hash(key)
    tenant = account.tenant_of_api_key(hashed)
    return Requester(tenant_id=tenant, api_key_id=key_id(hashed)) if tenant else None


def revoke_api_key(account: AccountStore, key: str) -> bool:
    return account.revoke_api_key(key_hash(key))
