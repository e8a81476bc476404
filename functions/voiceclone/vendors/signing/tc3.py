"""TC3-HMAC-SHA256, Tencent Cloud's API signature (docs/vendors/tencent_vrs.md#authentication).

Pure functions over bytes and strings: the adapter signs with them and the
sandbox verifies with them; a test holds them equal to the official SDK signer.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
SIGNED_HEADERS = "content-type;host"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def scope_date(timestamp: int) -> str:
    """The credential scope date is the UTC day of the very timestamp sent."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")


def canonical_request(*, method: str, host: str, content_type: str, body: bytes, query: str = "") -> str:
    payload_hash = hashlib.sha256(body).hexdigest()
    canonical_headers = f"content-type:{content_type.lower()}\nhost:{host.lower()}\n"
    return "\n".join([method.upper(), "/", query, canonical_headers, SIGNED_HEADERS, payload_hash])


def signature(
    *,
    secret_key: str,
    service: str,
    timestamp: int,
    host: str,
    body: bytes,
    content_type: str = "application/json",
    method: str = "POST",
) -> str:
    date = scope_date(timestamp)
    scope = f"{date}/{service}/tc3_request"
    creq = canonical_request(method=method, host=host, content_type=content_type, body=body)
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()]
    )
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(*, secret_id: str, service: str, timestamp: int, sig: str) -> str:
    scope = f"{scope_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}"


@dataclass(frozen=True)
class ParsedAuthorization:
    secret_id: str
    date: str
    service: str
    signed_headers: str
    signature: str


def parse_authorization(header: str) -> ParsedAuthorization | None:
    """Split an Authorization header into its parts; None when it is not TC3."""
    if not header.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in header[len(ALGORITHM) + 1 :].split(","):
        key, _, value = item.strip().partition("=")
        parts[key] = value
    credential = parts.get("Credential", "").split("/")
    if len(credential) != 4 or credential[3] != "tc3_request" or "Signature" not in parts:
        return None
    return ParsedAuthorization(
        secret_id=credential[0],
        date=credential[1],
        service=credential[2],
        signed_headers=parts.get("SignedHeaders", ""),
        signature=parts["Signature"],
    )
