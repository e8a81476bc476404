"""Form tricks against the local stack's S3: each is refused with S3's error, and nothing is written.

Tenant B holds valid presigned forms of its own and tries to make one of them write into
tenant A's job (or anywhere but the key it was signed for). The local stack must answer as
S3 does, or isolation tests run on it would pass falsely.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import httpx
import pytest
from botocore.config import Config
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack

from tests.helpers import CONSENT, SPEAKER

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
AUDIO = (SAMPLES / "00001.wav").read_bytes()

Files = list[tuple[str, tuple[str, bytes, str]]]


def new_job(stack: LocalStack, label: str) -> dict[str, Any]:
    tenant = f"{label}-{uuid.uuid4().hex[:8]}"
    client = VoicecloneClient(stack.api_url, api_key=stack.issue_api_key(tenant))
    job = client.create_job("tencent_vrs", label, "female", SPEAKER)
    # The sentences' forms (the consent statement's is one more of the same kind)
    job["sentences"] = [s for s in job["sentences"] if s["text_id"] != CONSENT]
    return {"tenant": tenant, **job}


@pytest.fixture(scope="module")
def jobs(stack: LocalStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tenant A's job (the victim, one recording already uploaded) and tenant B's (the forms B holds)."""
    a, b = new_job(stack, "tenant-a"), new_job(stack, "tenant-b")
    target = a["sentences"][0]["upload"]
    response = httpx.post(
        target["url"], data=target["fields"], files={"file": ("00001.wav", AUDIO, "audio/wav")}
    )
    assert response.status_code == 204
    return a, b


def objects(stack: LocalStack, prefix: str) -> dict[str, str]:
    """Every object under `prefix` with its ETag."""
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket_name, Prefix=prefix)
    return {o["Key"]: o["ETag"] for o in listed.get("Contents", [])}


def post(url: str, fields: list[tuple[str, str]], files: Files | None = None) -> httpx.Response:
    """A multipart POST with exactly these fields, in this order, duplicates included, then the files."""
    request = httpx.Request(
        "POST", url, data={}, files=[*((n, (None, v.encode(), None)) for n, v in fields), *(files or [])]
    )
    return httpx.Client().send(request)


def one_file(name: str = "take.wav", data: bytes = AUDIO) -> Files:
    return [("file", (name, data, "audio/wav"))]


def s3_error(response: httpx.Response) -> dict[str, str]:
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error" and response.headers["content-type"] == "application/xml"
    return {child.tag: child.text or "" for child in root}


Trick = Callable[[dict[str, Any], dict[str, Any], LocalStack], tuple[list[tuple[str, str]], Files]]


def form_b(b: dict[str, Any]) -> list[tuple[str, str]]:
    return list(b["sentences"][0]["upload"]["fields"].items())


def key_a(a: dict[str, Any]) -> str:
    return str(a["sentences"][0]["upload"]["fields"]["key"])


def with_key(fields: list[tuple[str, str]], key: str) -> list[tuple[str, str]]:
    return [(n, key if n == "key" else v) for n, v in fields]


TRICKS: dict[str, tuple[Trick, int, str]] = {
    "changed key": (lambda a, b, s: (with_key(form_b(b), key_a(a)), one_file()), 403, "AccessDenied"),
    "duplicate key, checked first": (
        lambda a, b, s: ([*form_b(b), ("key", key_a(a))], one_file()),
        400,
        "InvalidArgument",
    ),
    "duplicate key, checked last": (
        lambda a, b, s: ([("key", key_a(a)), *form_b(b)], one_file()),
        400,
        "InvalidArgument",
    ),
    "key and Key": (lambda a, b, s: ([*form_b(b), ("Key", key_a(a))], one_file()), 400, "InvalidArgument"),
    "Key and key": (lambda a, b, s: ([("Key", key_a(a)), *form_b(b)], one_file()), 400, "InvalidArgument"),
    "${filename} into A's prefix": (
        lambda a, b, s: (
            with_key(form_b(b), key_a(a).rsplit("/", 1)[0] + "/${filename}"),
            one_file("00001.wav"),
        ),
        403,
        "AccessDenied",
    ),
    "extra fields": (
        lambda a, b, s: ([*form_b(b), ("acl", "public-read"), ("x-amz-meta-owner", "a")], one_file()),
        403,
        "AccessDenied",
    ),
    "another form's policy": (
        lambda a, b, s: (
            [*(f for f in form_b(b) if f[0] not in ("policy", "x-amz-signature")), *policy_of(a)],
            one_file(),
        ),
        403,
        "AccessDenied",
    ),
    "oversized": (
        lambda a, b, s: (form_b(b), one_file(data=b"\0" * (b["sentences"][0]["upload"]["max_bytes"] + 1))),
        400,
        "EntityTooLarge",
    ),
    "bad signature": (
        lambda a, b, s: ([(n, "0" * 64 if n == "x-amz-signature" else v) for n, v in form_b(b)], one_file()),
        403,
        "SignatureDoesNotMatch",
    ),
    "expired": (lambda a, b, s: (expired_form(s, key_a(a)), one_file()), 403, "AccessDenied"),
    "two files": (
        lambda a, b, s: (form_b(b), [*one_file(), ("file", ("b.wav", AUDIO, "audio/wav"))]),
        400,
        "InvalidArgument",
    ),
    "no file": (lambda a, b, s: (form_b(b), []), 400, "InvalidArgument"),
}


def policy_of(a: dict[str, Any]) -> list[tuple[str, str]]:
    """Tenant A's policy and signature (say, read off A's page), for B's key."""
    fields = a["sentences"][1]["upload"]["fields"]
    return [("policy", fields["policy"]), ("x-amz-signature", fields["x-amz-signature"])]


def expired_form(stack: LocalStack, key: str) -> list[tuple[str, str]]:
    """A form for `key` signed with the stack's own credentials, whose policy has expired."""
    s3 = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=stack.moto_url, config=Config(signature_version="s3v4")
    )
    post = s3.generate_presigned_post(
        Bucket=stack.bucket_name,
        Key=key,
        Fields={"Content-Type": "audio/wav"},
        Conditions=[["content-length-range", 1, 5 * 1024 * 1024], {"Content-Type": "audio/wav"}],
        ExpiresIn=-60,
    )
    return [(k, str(v)) for k, v in post["fields"].items()]


@pytest.mark.parametrize("trick", list(TRICKS))
def test_each_trick_is_refused_with_s3s_error_and_writes_nothing(
    stack: LocalStack, jobs: tuple[dict[str, Any], dict[str, Any]], trick: str
) -> None:
    # Given tenant A's job with a recording and tenant B's valid forms
    a, b = jobs
    prefix_a, prefix_b = f"uploads/{a['tenant']}/", f"uploads/{b['tenant']}/"
    before_a, before_b = objects(stack, prefix_a), objects(stack, prefix_b)
    make, status, code = TRICKS[trick]
    fields, files = make(a, b, stack)
    # When tenant B posts the trick
    response = post(b["sentences"][0]["upload"]["url"], fields, files)
    # Then the local S3 answers as S3 does...
    assert response.status_code == status, response.text
    assert s3_error(response)["Code"] == code
    # ...and writes nothing, in A's prefix or anywhere else
    assert objects(stack, prefix_a) == before_a
    assert objects(stack, prefix_b) == before_b


def test_the_key_written_is_the_key_checked(
    stack: LocalStack, jobs: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    # Given tenant B's valid form with its key field spelled "Key" (field names are case-insensitive)
    a, b = jobs
    before_a = objects(stack, f"uploads/{a['tenant']}/")
    target = b["sentences"][2]["upload"]
    fields = [("Key" if n == "key" else n, v) for n, v in target["fields"].items()]
    # When B posts it
    response = post(target["url"], fields, one_file())
    # Then the object lands at exactly the key the policy allowed, and nowhere else
    assert response.status_code == 204, response.text
    assert target["fields"]["key"] in objects(stack, f"uploads/{b['tenant']}/")
    assert objects(stack, f"uploads/{a['tenant']}/") == before_a
    # And a ${filename} key takes the file's base name only: a path in the name cannot climb into A's prefix
    own = b["sentences"][3]["upload"]["fields"]
    templated = with_key(list(own.items()), own["key"].rsplit("/", 1)[0] + "/${filename}")
    climbing = post(target["url"], templated, one_file("../../../" + key_a(a).replace("00001", "00004")))
    assert climbing.status_code == 204, climbing.text
    assert own["key"] in objects(stack, f"uploads/{b['tenant']}/")
    assert objects(stack, f"uploads/{a['tenant']}/") == before_a
