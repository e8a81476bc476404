"""The local stack's S3 POST-policy check (moto has none) against presigned POSTs made by botocore."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from voiceclone_local.s3_post_policy import PostRefused, checked_key, policy_violation

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


# ----- the form as S3 sees it: every field as posted, duplicates included ------------------------


def fields_of(form: dict[str, str], **changes: str) -> list[tuple[str, str]]:
    return list({**form, **changes}.items())


def refusal(
    fields: list[tuple[str, str]],
    files: list[tuple[str, str]] | None = None,
    size: int = 500,
    now: datetime | None = None,
) -> PostRefused:
    with pytest.raises(PostRefused) as caught:
        checked_key(fields, [("file", "take.wav")] if files is None else files, size, BUCKET, SECRET, now)
    return caught.value


def error_of(refused: PostRefused) -> dict[str, str]:
    """The XML error S3 would answer, as element name -> text."""
    root = ElementTree.fromstring(refused.xml())
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def test_the_key_checked_is_the_key_returned(form: dict[str, str]) -> None:
    assert checked_key(fields_of(form), [("file", "take.wav")], 500, BUCKET, SECRET) == KEY


def test_a_changed_key_is_access_denied_with_the_failed_condition(form: dict[str, str]) -> None:
    refused = refusal(fields_of(form, key="uploads/tenant-b/job-1/00001.wav"))
    assert refused.status == 403
    error = error_of(refused)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == f'Invalid according to Policy: Policy Condition failed: {{"key": "{KEY}"}}'


@pytest.mark.parametrize("second", ["key", "Key", "KEY"])
@pytest.mark.parametrize("checked_first", [True, False])
def test_a_field_given_twice_in_any_case_is_refused(
    form: dict[str, str], second: str, checked_first: bool
) -> None:
    # Given the valid form plus a second key field (the same name, or the same name in another case)
    other = "uploads/tenant-b/job-9/00001.wav"
    fields = fields_of(form)
    extra = (second, other)
    posted = [*fields, extra] if checked_first else [extra, *fields]
    # When / Then S3 refuses the form before any condition: a field name means one field
    refused = refusal(posted)
    assert refused.status == 400
    error = error_of(refused)
    assert error["Code"] == "InvalidArgument" and error["ArgumentName"].lower() == "key"


def test_the_same_value_twice_is_still_a_duplicate(form: dict[str, str]) -> None:
    assert refusal([*fields_of(form), ("Key", KEY)]).code == "InvalidArgument"
    assert refusal([*fields_of(form), ("content-type", "audio/wav")]).code == "InvalidArgument"


def test_a_differently_cased_field_alone_is_the_same_field(form: dict[str, str]) -> None:
    # Field names are case-insensitive: "Key" alone is the key, and is checked as the key
    fields = [("Key" if name == "key" else name, value) for name, value in fields_of(form)]
    assert checked_key(fields, [("file", "take.wav")], 500, BUCKET, SECRET) == KEY
    moved = [("Key", "uploads/tenant-b/x.wav") if name == "Key" else (name, value) for name, value in fields]
    assert refusal(moved).code == "AccessDenied"


def test_filename_is_substituted_before_the_check(form: dict[str, str]) -> None:
    templated = fields_of(form, key="uploads/tenant-a/job-1/${filename}")
    # Another sentence's name is another key: refused
    assert refusal(templated, [("file", "00002.wav")]).code == "AccessDenied"
    # A path in the file name cannot climb out: only the part after the last slash or backslash counts
    for name in ("../../tenant-b/job-1/00001.wav", "..\\..\\tenant-b\\00001.wav", "/00001.wav"):
        assert checked_key(templated, [("file", name)], 500, BUCKET, SECRET) == KEY
    assert refusal(templated, [("file", "../../tenant-b/job-1/00002.wav")]).code == "AccessDenied"


def test_extra_fields_are_refused_but_x_ignore_fields_are_not(form: dict[str, str]) -> None:
    refused = refusal(fields_of(form, acl="public-read", **{"x-amz-meta-owner": "b"}))
    assert refused.status == 403
    assert (
        error_of(refused)["Message"]
        == "Invalid according to Policy: Extra input fields: acl, x-amz-meta-owner"
    )
    assert (
        checked_key(fields_of(form, **{"x-ignore-note": "hi"}), [("file", "a")], 500, BUCKET, SECRET) == KEY
    )


def test_another_forms_policy_does_not_cover_this_key(form: dict[str, str]) -> None:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )
    other: dict[str, Any] = s3.generate_presigned_post(
        Bucket=BUCKET, Key="uploads/tenant-b/job-2/00001.wav", ExpiresIn=900
    )
    # The other form's policy and signature, with this form's key
    borrowed = {**{k: str(v) for k, v in other["fields"].items()}, "key": KEY}
    assert refusal(list(borrowed.items())).code == "AccessDenied"


def test_size_limits_answer_as_s3_does(form: dict[str, str]) -> None:
    large = refusal(fields_of(form), size=1001)
    assert (large.status, large.code) == (400, "EntityTooLarge")
    assert error_of(large)["MaxSizeAllowed"] == "1000" and error_of(large)["ProposedSize"] == "1001"
    small = refusal(fields_of(form), size=0)
    assert (small.status, small.code) == (400, "EntityTooSmall")


def test_a_bad_signature_and_an_expired_policy_answer_as_s3_does(form: dict[str, str]) -> None:
    bad = refusal(fields_of(form, **{"x-amz-signature": "0" * 64}))
    assert (bad.status, bad.code) == (403, "SignatureDoesNotMatch")
    later = datetime.now(tz=UTC) + timedelta(seconds=901)
    expired = refusal(fields_of(form), now=later)
    assert expired.status == 403
    assert error_of(expired)["Message"] == "Invalid according to Policy: Policy expired."


@pytest.mark.parametrize(
    "files",
    [
        [],
        [("file", "a.wav"), ("file", "b.wav")],
        [("file", "a.wav"), ("File", "b.wav")],
        [("upload", "a.wav")],
    ],
)
def test_exactly_one_file_named_file(form: dict[str, str], files: list[tuple[str, str]]) -> None:
    refused = refusal(fields_of(form), files)
    error = error_of(refused)
    assert refused.status == 400 and error["Code"] == "InvalidArgument" and error["ArgumentName"] == "file"
    assert error["Message"] == "POST requires exactly one file upload per request."


def test_a_form_without_a_key_is_refused(form: dict[str, str]) -> None:
    fields = [(n, v) for n, v in fields_of(form) if n != "key"]
    error = error_of(refusal(fields))
    assert error["Code"] == "InvalidArgument" and error["ArgumentName"] == "key"
