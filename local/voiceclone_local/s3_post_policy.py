"""S3's check of a browser-based POST upload, which moto skips: the signed policy must allow the form.

A presigned POST is only as strict as S3's enforcement of its policy: the key, the
content type and the size are conditions, and the policy is signed (SigV4) so a client
cannot change them. moto stores whatever is posted, so the local stack installs this
check in front of moto's POST handler, with S3's answer on a mismatch: 403 AccessDenied.
Rules implemented (AWS "Creating a POST policy"): expiration; every condition (exact
match, ``starts-with``, ``content-length-range``); every form field covered by a
condition; and the SigV4 signature of the policy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

# Form fields a policy need not mention (AWS: these and any x-ignore-* field).
EXEMPT_FIELDS = frozenset({"policy", "x-amz-signature", "file"})


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def policy_violation(
    form: Mapping[str, str], content_length: int, bucket: str, secret: str, now: datetime | None = None
) -> str | None:
    """Why S3 would refuse this POST, or None when the policy allows it. Field names are case-insensitive."""
    fields = {k.lower(): v for k, v in form.items()}
    encoded = fields.get("policy")
    if not encoded:
        return "the form has no policy"
    try:
        policy: dict[str, Any] = json.loads(base64.b64decode(encoded))
    except ValueError:
        return "the policy is not base64 JSON"
    credential = fields.get("x-amz-credential", "").split("/")
    if len(credential) != 5 or fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        return "the form is not signed with AWS4-HMAC-SHA256"
    _, date, region, service, _ = credential
    expected = hmac.new(_signing_key(secret, date, region, service), encoded.encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), fields.get("x-amz-signature", "")):
        return "the policy's signature does not match"
    expires = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if (now or datetime.now(tz=UTC)) >= expires:
        return "the policy expired"
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        problem = _check(condition, values, content_length, covered)
        if problem:
            return problem
    uncovered = sorted(
        name
        for name in fields
        if name not in EXEMPT_FIELDS and not name.startswith("x-ignore-") and name not in covered
    )
    if uncovered:
        return f"the policy has no condition for the form field(s) {', '.join(uncovered)}"
    return None


def _check(condition: Any, values: Mapping[str, str], length: int, covered: set[str]) -> str | None:
    if isinstance(condition, dict):
        ((name, expected),) = condition.items()
        name = name.lower()
        covered.add(name)
        if values.get(name) != str(expected):
            return f"{name} must be {expected!r}"
        return None
    op, *args = condition
    if op == "content-length-range":
        low, high = (int(a) for a in args)
        return None if low <= length <= high else f"the file must be {low}-{high} bytes, not {length}"
    name, expected = str(args[0]).removeprefix("$").lower(), str(args[1])
    covered.add(name)
    actual = values.get(name, "")
    if op == "eq":
        return None if actual == expected else f"{name} must be {expected!r}"
    if op == "starts-with":
        return None if actual.startswith(expected) else f"{name} must start with {expected!r}"
    return f"unknown policy condition {op!r}"


def install(secret: str) -> Callable[[], None]:
    """Check every browser POST to moto's S3 against its policy; returns the uninstaller."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def checked(self: Any, request: Any, bucket_name: str) -> Any:
        form = {str(k): str(v) for k, v in (self.form_data or {}).items()}
        if "policy" in {k.lower() for k in form}:
            problem = policy_violation(form, len(self.body or b""), bucket_name, secret)
            if problem:
                body = (
                    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                    f"<Message>Invalid according to Policy: {problem}</Message></Error>"
                )
                return 403, {"Content-Type": "application/xml"}, body
        return original(self, request, bucket_name)

    S3Response._bucket_response_post = checked  # type: ignore[method-assign]

    def uninstall() -> None:
        S3Response._bucket_response_post = original  # type: ignore[method-assign]

    return uninstall
