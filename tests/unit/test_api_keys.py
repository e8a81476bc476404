"""API keys and the TOKEN authorizer: what a key proves, and what API Gateway gets back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.errors import InvalidRequest
from voiceclone.logic.account import api_keys


@dataclass
class FakeKeyStore:
    """The account store's API-key methods over a dict (hash -> tenant)."""

    keys: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)

    def put_api_key(self, key_hash: str, tenant_id: str, key_prefix: str) -> None:
        assert key_hash not in self.keys
        self.keys[key_hash] = tenant_id

    def tenant_of_api_key(self, key_hash: str) -> str | None:
        return None if key_hash in self.revoked else self.keys.get(key_hash)

    def revoke_api_key(self, key_hash: str) -> bool:
        if key_hash not in self.keys:
            return False
        self.revoked.add(key_hash)
        return True


def test_an_issued_key_names_its_tenant_and_only_its_hash_is_stored() -> None:
    store = FakeKeyStore()
    key = api_keys.issue_api_key(store, "acme")  # type: ignore[arg-type]
    assert key.startswith("vck_") and len(key) > 40
    assert key not in json.dumps(store.keys)
    assert api_keys.tenant_for(store, f"Bearer {key}") == "acme"  # type: ignore[arg-type]
    assert api_keys.tenant_for(store, f"bearer   {key}") == "acme"  # type: ignore[arg-type]
    assert api_keys.tenant_for(store, key) == "acme"  # type: ignore[arg-type]
    other = api_keys.issue_api_key(store, "acme")  # type: ignore[arg-type]
    assert other != key  # every key is new


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer vck_unknown", "Basic dXNlcjpwYXNz", "Bearer sk_live_x"]
)
def test_missing_unknown_or_foreign_credentials_name_no_tenant(header: str | None) -> None:
    store = FakeKeyStore()
    api_keys.issue_api_key(store, "acme")  # type: ignore[arg-type]
    assert api_keys.tenant_for(store, header) is None  # type: ignore[arg-type]


def test_a_revoked_key_names_no_tenant() -> None:
    store = FakeKeyStore()
    key = api_keys.issue_api_key(store, "acme")  # type: ignore[arg-type]
    assert api_keys.revoke_api_key(store, key) is True  # type: ignore[arg-type]
    assert api_keys.tenant_for(store, f"Bearer {key}") is None  # type: ignore[arg-type]
    assert api_keys.revoke_api_key(store, "vck_never-issued") is False  # type: ignore[arg-type]


@pytest.mark.parametrize("tenant", ["", "-lead", "a/b", "a b", "x" * 65, "ünïcode"])
def test_tenant_ids_are_safe_in_keys_and_s3_prefixes(tenant: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        api_keys.issue_api_key(FakeKeyStore(), tenant)  # type: ignore[arg-type]
    assert raised.value.code == "InvalidTenantId"


class FakeContext:
    function_name = "authorizer"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:authorizer"
    aws_request_id = "req-1"


def _authorize(monkeypatch: pytest.MonkeyPatch, store: FakeKeyStore, token: str) -> dict[str, Any]:
    from voiceclone.handlers import authorizer

    services = SimpleNamespace(store=SimpleNamespace(account=store))
    monkeypatch.setattr("voiceclone.logic.core.services._services", services)
    event = {
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/v1/jobs",
    }
    result: dict[str, Any] = authorizer.handler(event, FakeContext())  # type: ignore[arg-type]
    return result


def test_the_authorizer_allows_the_whole_stage_and_passes_the_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    store = FakeKeyStore()
    key = api_keys.issue_api_key(store, "acme")  # type: ignore[arg-type]
    policy = _authorize(monkeypatch, store, f"Bearer {key}")
    assert policy["principalId"] == "acme"
    assert policy["context"] == {"tenant_id": "acme", "api_key_id": api_keys.key_id(api_keys.key_hash(key))}
    (statement,) = policy["policyDocument"]["Statement"]
    # One answer for every route of the stage, so API Gateway's cache of it serves them all.
    assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"]


def test_the_authorizer_fails_unknown_keys_with_the_message_api_gateway_turns_into_401(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(monkeypatch, FakeKeyStore(), "Bearer vck_unknown")
