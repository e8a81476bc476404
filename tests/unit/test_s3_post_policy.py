"""The local stack's S3 POST-policy check (moto has none) against presigned POSTs made by botocore."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from voiceclone_local.s3_post_policy import policy_violation

SECRET = "local-secret"
BUCKET = "audio-bucket"
KEY = "uploads/tenant-a/job-1/00001.wav"


@pytest.fixture
def form() -> dict[str, str]:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    post: dict[str, Any] = s3.generate_presigned_post(
        Bucket=BUCKET,
        Key=KEY,
        Fields={"Content-Type": "audio/wav"},
        Conditions=[["content-length-range", 1, 1000], {"Content-Type": "audio/wav"}],
        ExpiresIn=900,
    )
    return {k: str(v) for k, v in post["fields"].items()}


def test_the_form_as_presigned_is_allowed(form: dict[str, str]) -> None:
    assert policy_violation(form, 500, BUCKET, SECRET) is None


def test_another_key_is_refused_even_under_the_same_tenant_prefix(form: dict[str, str]) -> None:
    for key in ("uploads/tenant-b/job-1/00001.wav", "uploads/tenant-a/job-1/00002.wav"):
        assert policy_violation({**form, "key": key}, 500, BUCKET, SECRET) == f"key must be {KEY!r}"


def test_a_policy_rewritten_by_the_client_fails_its_signature(form: dict[str, str]) -> None:
    policy = json.loads(base64.b64decode(form["policy"]))
    policy["conditions"] = [
        {"key": "uploads/tenant-b/x.wav"} if isinstance(c, dict) and "key" in c else c
        for c in policy["conditions"]
    ]
    forged = {
        **form,
        "key": "uploads/tenant-b/x.wav",
        "policy": base64.b64encode(json.dumps(policy).encode()).decode(),
    }
    assert policy_violation(forged, 500, BUCKET, SECRET) == "the policy's signature does not match"


def test_size_bucket_expiry_and_unlisted_fields_are_enforced(form: dict[str, str]) -> None:
    assert policy_violation(form, 0, BUCKET, SECRET) == "the file must be 1-1000 bytes, not 0"
    assert policy_violation(form, 1001, BUCKET, SECRET) == "the file must be 1-1000 bytes, not 1001"
    assert policy_violation(form, 5, "other-bucket", SECRET) == f"bucket must be {BUCKET!r}"
    later = datetime.now(tz=UTC) + timedelta(seconds=901)
    assert policy_violation(form, 5, BUCKET, SECRET, now=later) == "the policy expired"
    assert policy_violation({**form, "acl": "public-read"}, 5, BUCKET, SECRET) == (
        "the policy has no condition for the form field(s) acl"
    )
    assert policy_violation({**form, "Content-Type": "text/html"}, 5, BUCKET, SECRET) == (
        "content-type must be 'audio/wav'"
    )


def test_sigv2_and_unsigned_forms_are_refused(form: dict[str, str]) -> None:
    v2 = {k: v for k, v in form.items() if not k.startswith("x-amz-")} | {"signature": "x"}
    assert policy_violation(v2, 5, BUCKET, SECRET) == "the form is not signed with AWS4-HMAC-SHA256"
    assert policy_violation({"key": KEY}, 5, BUCKET, SECRET) == "the form has no policy"
