"""Consent takes in the template: who may touch consent/*, and no lifecycle rule that would expire them."""

from __future__ import annotations

from typing import Any

from infra.constants import CONSENT_PREFIX, LISTENING_PREFIX, TRAINING_PREFIX, UPLOAD_PREFIX, handler_of
from infra.template_tools import resources_of_type
from tests.infra.conftest import role_of
from tests.infra.test_speech_infra import _roles_granted_on


def test_finalize_keeps_the_consent_take_and_only_the_api_reads_and_deletes_it(
    template_json: dict[str, Any],
) -> None:
    granted = _roles_granted_on(template_json, CONSENT_PREFIX)
    roles = role_of(template_json)
    api_role, finalize_role = roles[handler_of("api")], roles[handler_of("finalize")]
    assert set(granted) == {api_role, finalize_role}
    # Finalize copies the take there (put only); the api presigns its GET and deletes it with the voice
    assert "s3:PutObject" in granted[finalize_role]
    assert not any(a.startswith(("s3:GetObject", "s3:DeleteObject")) for a in granted[finalize_role])
    assert "s3:GetObject*" in granted[api_role] and "s3:DeleteObject*" in granted[api_role]
    assert "s3:PutObject" not in granted[api_role]


def test_no_lifecycle_rule_expires_a_consent_take(template_json: dict[str, Any]) -> None:
    # The job's recordings expire with the upload retention, blind listening's copies after a day; a
    # consent take lives as long as its voice
    buckets = resources_of_type(template_json, "AWS::S3::Bucket").values()
    rules_of = [b["Properties"].get("LifecycleConfiguration", {}).get("Rules", []) for b in buckets]
    (audio_rules,) = [rules for rules in rules_of if any(r.get("Prefix") == UPLOAD_PREFIX for r in rules)]
    expiring = [r for r in audio_rules if "ExpirationInDays" in r]
    assert {r.get("Prefix") for r in expiring} == {UPLOAD_PREFIX, TRAINING_PREFIX, LISTENING_PREFIX}
    assert not any(CONSENT_PREFIX.startswith(r["Prefix"]) for r in expiring)


def test_only_the_api_writes_and_reads_the_listening_copies(template_json: dict[str, Any]) -> None:
    # The api copies a comparison's probe audio under random names for a blind pair and presigns its GET
    granted = _roles_granted_on(template_json, LISTENING_PREFIX)
    api_role = role_of(template_json)[handler_of("api")]
    assert set(granted) == {api_role}
    assert "s3:PutObject" in granted[api_role] and "s3:GetObject*" in granted[api_role]
