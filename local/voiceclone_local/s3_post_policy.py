"""S3's check of a browser-based POST upload, which moto skips: the signed policy must allow the form.

A presigned POST is only as strict as S3's enforcement of its policy: the key, the content
type and the size are conditions, and the policy is signed (SigV4) so a client cannot change
them. moto stores whatever is posted, so the local stack installs this check in front of
moto's POST handler and answers a refused form as S3 does (status, error code, XML shape).

Rules implemented (AWS "POST Policy", "Browser-based uploads using POST"), in this order:

- exactly one file per request (400 InvalidArgument, "POST requires exactly one file upload
  per request.", as S3 words it);
- each form field once: field names are case-insensitive, so ``key`` and ``Key`` are the same
  field twice (400 InvalidArgument; S3 does not document its wording for this one);
- a ``key`` field (400 InvalidArgument, S3's wording), a policy (403 AccessDenied), a SigV4
  signature of the policy (403 SignatureDoesNotMatch) and an expiration not yet passed
  (403 AccessDenied, "Invalid according to Policy: Policy expired.");
- every condition: exact match, ``eq``, ``starts-with``, and ``content-length-range``
  (400 EntityTooSmall / EntityTooLarge); a failed one is 403 AccessDenied "Invalid according
  to Policy: Policy Condition failed: [...]";
- every form field covered by a condition, except ``policy``, ``x-amz-signature``, ``file``
  and ``x-ignore-*`` (403 AccessDenied, "Invalid according to Policy: Extra input fields: ...").

``${filename}`` in the key is replaced by the uploaded file's name (the part after the last
``/`` or ``\\``) before the conditions are checked, as S3 does when it forms the key; the key
moto then writes is exactly the key that was checked, and the bytes the ones whose size was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

# Form fields a policy need not mention (AWS: these and any x-ignore-* field).
EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file"})
FILENAME_VARIABLE = "${filename}"


@dataclass(eq=False)
class PostRefused(Exception):
    """S3's answer to a form it refuses, and why in plain words (for logs and tests)."""

    status: int
    code: str
    message: str
    detail: str
    elements: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def xml(self) -> str:
        extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.elements.items())
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>{extra}</Error>"
        )


def _invalid_argument(message: str, detail: str, name: str, value: str) -> PostRefused:
    return PostRefused(
        400, "InvalidArgument", message, detail, {"ArgumentName": name, "ArgumentValue": value}
    )


def _policy_denied(message: str, detail: str) -> PostRefused:
    return PostRefused(403, "AccessDenied", f"Invalid according to Policy: {message}", detail)


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _basename(filename: str) -> str:
    """What S3 puts for ``${filename}``: the name after the last slash or backslash."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def checked_key(
    fields: Sequence[tuple[str, str]],
    files: Sequence[tuple[str, str]],
    size: int,
    bucket: str,
    secret: str,
    now: datetime | None = None,
) -> str:
    """The key S3 would write this POST to, or PostRefused with S3's answer.

    `fields` are the form's text fields and `files` its file parts as (field name, file name),
    both as posted, duplicates included; `size` is the file's length in bytes.
    """
    uploads = [name for name, _ in files] + [name for name, _ in fields if name.lower() == "file"]
    if len(uploads) != 1 or uploads[0].lower() != "file":
        raise _invalid_argument(
            "POST requires exactly one file upload per request.",
            f"the form has {len(uploads)} file parts, not one named file",
            "file",
            str(len(uploads)),
        )
    seen: dict[str, str] = {}
    for name in [n for n, _ in fields] + [n for n, _ in files]:
        if name.lower() in seen:
            raise _invalid_argument(
                f"POST form field names must be unique (names are case-insensitive): {name}",
                f"the form field {name!r} repeats {seen[name.lower()]!r}",
                name,
                name,
            )
        seen[name.lower()] = name
    values = {name.lower(): value for name, value in fields if name.lower() != "file"}
    if "key" not in values:
        raise _invalid_argument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order "
            "of the fields.",
            "the form has no key",
            "key",
            "",
        )
    filename = _basename(files[0][1]) if files else ""
    values["key"] = values["key"].replace(FILENAME_VARIABLE, filename)
    policy = _verified_policy(values, secret, now)
    values["bucket"] = bucket
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        _check(condition, values, size, covered)
    uncovered = sorted(
        seen[name]
        for name in seen
        if name not in EXEMPT_FIELDS and not name.startswith("x-ignore-") and name not in covered
    )
    if uncovered:
        raise _policy_denied(
            f"Extra input fields: {', '.join(uncovered)}",
            f"the policy has no condition for the form field(s) {', '.join(n.lower() for n in uncovered)}",
        )
    return values["key"]


def _verified_policy(values: Mapping[str, str], secret: str, now: datetime | None) -> dict[str, Any]:
    """The policy document, once its SigV4 signature and its expiration are checked."""
    encoded = values.get("policy")
    if not encoded:
        raise PostRefused(403, "AccessDenied", "Access Denied", "the form has no policy")
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise PostRefused(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", "the policy is not base64 JSON"
        ) from exc
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions", []), list):
        raise PostRefused(
            400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", "the policy is not a JSON object"
        )
    credential = values.get("x-amz-credential", "").split("/")
    if len(credential) != 5 or values.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise _invalid_argument(
            "POST requires the fields x-amz-algorithm AWS4-HMAC-SHA256 and x-amz-credential.",
            "the form is not signed with AWS4-HMAC-SHA256",
            "x-amz-algorithm",
            values.get("x-amz-algorithm", ""),
        )
    _, date, region, service, _ = credential
    expected = hmac.new(_signing_key(secret, date, region, service), encoded.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), values.get("x-amz-signature", "")):
        raise PostRefused(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            "the policy's signature does not match",
        )
    try:
        expires = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PostRefused(
            400,
            "InvalidPolicyDocument",
            "Invalid Policy: Invalid 'expiration' value.",
            "the policy has no valid expiration",
        ) from exc
    if (now or datetime.now(tz=UTC)) >= expires:
        raise _policy_denied("Policy expired.", "the policy expired")
    return policy


def _failed(condition: Any, detail: str) -> PostRefused:
    return _policy_denied(f"Policy Condition failed: {json.dumps(condition)}", detail)


def _check(condition: Any, values: Mapping[str, str], size: int, covered: set[str]) -> None:
    if isinstance(condition, dict) and len(condition) == 1:
        ((name, expected),) = condition.items()
        name = name.removeprefix("$").lower()
        covered.add(name)
        if values.get(name) != str(expected):
            raise _failed(condition, f"{name} must be {expected!r}")
        return
    if not isinstance(condition, list) or len(condition) != 3:
        raise PostRefused(
            400,
            "InvalidPolicyDocument",
            f"Invalid Policy: Invalid Condition: {json.dumps(condition)}",
            f"unknown policy condition {condition!r}",
        )
    op, first, second = condition
    if op == "content-length-range":
        low, high = int(first), int(second)
        if size < low:
            raise PostRefused(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                f"the file must be {low}-{high} bytes, not {size}",
                {"ProposedSize": str(size), "MinSizeAllowed": str(low)},
            )
        if size > high:
            raise PostRefused(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                f"the file must be {low}-{high} bytes, not {size}",
                {"ProposedSize": str(size), "MaxSizeAllowed": str(high)},
            )
        return
    name, expected = str(first).removeprefix("$").lower(), str(second)
    covered.add(name)
    actual = values.get(name, "")
    if op == "eq":
        if actual != expected:
            raise _failed(condition, f"{name} must be {expected!r}")
    elif op == "starts-with":
        if not actual.startswith(expected):
            raise _failed(condition, f"{name} must start with {expected!r}")
    else:
        raise PostRefused(
            400,
            "InvalidPolicyDocument",
            f"Invalid Policy: Invalid Condition: {json.dumps(condition)}",
            f"unknown policy condition {op!r}",
        )


def policy_violation(
    form: Mapping[str, str], content_length: int, bucket: str, secret: str, now: datetime | None = None
) -> str | None:
    """Why S3 would refuse this form with one file of `content_length` bytes, or None when it allows it."""
    try:
        checked_key(list(form.items()), [("file", "")], content_length, bucket, secret, now)
    except PostRefused as refused:
        return refused.detail
    return None


def install(secret: str) -> Callable[[], None]:
    """Check every browser POST to moto's S3 against its policy; returns the uninstaller."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def checked(self: Any, request: Any, bucket_name: str) -> Any:
        self.path = self._get_path(request)
        if self.is_delete_keys():  # DeleteObjects is a POST too, and no form
            return original(self, request, bucket_name)
        form = request.form
        fields = [(str(k), str(v)) for k, v in form.items(multi=True)]
        files = [(str(k), str(f.filename or "")) for k, f in request.files.items(multi=True)]
        body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.raw_body or "").encode()
        try:
            key = checked_key(fields, files, len(body), bucket_name, secret)
        except PostRefused as refused:
            return refused.status, {"Content-Type": "application/xml"}, refused.xml()
        # moto reads the key from its own parse of the form: make it the one just checked, and the
        # bytes the ones just measured, whatever moto made of the form.
        self.querystring["key"] = [key]
        self.body = body
        return original(self, request, bucket_name)

    S3Response._bucket_response_post = checked  # type: ignore[method-assign]

    def uninstall() -> None:
        S3Response._bucket_response_post = original  # type: ignore[method-assign]

    return uninstall
