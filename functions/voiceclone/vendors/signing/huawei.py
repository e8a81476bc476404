"""SDK-HMAC-SHA256, Huawei Cloud's AK/SK API signature (docs/vendors/huawei.md#authentication).

Pure functions over bytes and strings: the adapter signs with them and the
sandbox verifies with them; a test holds them equal to the official SDK signer
(``huaweicloudsdkcore.signer.signer.Signer``). Unlike TC3 there is no key
derivation and no scope: the secret key signs the string-to-sign directly.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_HEADER = "X-Sdk-Date"
PROJECT_HEADER = "X-Project-Id"
# Present (with "UNSIGNED-PAYLOAD") when the body is not JSON: the hash of the body is then not signed.
CONTENT_SHA256_HEADER = "X-Sdk-Content-Sha256"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
# The least a gateway accepts; the adapter also signs content-type and x-project-id.
REQUIRED_SIGNED_HEADERS = ("host", "x-sdk-date")


def sdk_date(when: datetime | None = None) -> str:
    """The X-Sdk-Date value: UTC, basic ISO 8601 (``20240229T233000Z``)."""
    moment = when.astimezone(UTC) if when is not None else datetime.now(UTC)
    return moment.strftime(DATE_FORMAT)


def parse_sdk_date(value: str) -> datetime | None:
    """The moment an X-Sdk-Date names, or None when it is not in the signed format."""
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Each segment of the un-quoted path re-encoded (RFC 3986), with the trailing '/' the gateway expects.

    The slash is only in what is signed: the request itself goes out without it.
    """
    uri = "/".join(_encode(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(params: Sequence[tuple[str, str]]) -> str:
    """Raw (key, value) pairs sorted, then each side encoded; repeated keys stay repeated."""
    return "&".join(f"{_encode(key)}={_encode(value)}" for key, value in sorted(params))


def signed_headers(headers: Mapping[str, str]) -> str:
    """The lower-cased names of the headers to sign, sorted and joined with ';'."""
    return ";".join(sorted(name.lower() for name in headers))


def canonical_headers(headers: Mapping[str, str]) -> str:
    """``name:value`` (lower-cased name, stripped value) per signed header, each line ending in '\\n'."""
    by_name = {name.lower(): str(value).strip() for name, value in headers.items()}
    return "".join(f"{name}:{by_name[name]}\n" for name in sorted(by_name))


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    """hex(SHA256(body)); the empty hash for no body; X-Sdk-Content-Sha256's value when that is set."""
    if not body:
        return EMPTY_HASH
    for name, value in headers.items():
        if name.lower() == CONTENT_SHA256_HEADER.lower():
            return str(value)
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    *, method: str, path: str, query: Sequence[tuple[str, str]], headers: Mapping[str, str], body: bytes
) -> str:
    """METHOD, URI/, query, headers block, signed header names, payload hash; joined with '\\n'."""
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers(headers),
            signed_headers(headers),
            payload_hash(body, headers),
        ]
    )


def string_to_sign(canonical: str, date: str) -> str:
    return "\n".join([ALGORITHM, date, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def signature(secret_key: str, to_sign: str) -> str:
    """hex(HMAC-SHA256(SK, StringToSign)): the secret key itself is the HMAC key."""
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(*, access_key: str, signed: str, sig: str) -> str:
    """The Authorization value; a space (not a comma) follows the algorithm name."""
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={signed}, Signature={sig}"


def sign(
    *,
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    query: Sequence[tuple[str, str]] = (),
) -> str:
    """The Authorization header for a request whose every header in ``headers`` is signed.

    ``headers`` must already hold ``Host`` and ``X-Sdk-Date`` with the exact values sent.
    """
    names = {name.lower() for name in headers}
    missing = [name for name in REQUIRED_SIGNED_HEADERS if name not in names]
    if missing:
        raise ValueError(f"headers to sign lack {', '.join(missing)}")
    date = next(str(v) for k, v in headers.items() if k.lower() == "x-sdk-date").strip()
    canonical = canonical_request(method=method, path=path, query=query, headers=headers, body=body)
    sig = signature(secret_key, string_to_sign(canonical, date))
    return authorization(access_key=access_key, signed=signed_headers(headers), sig=sig)


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> ParsedAuthorization | None:
    """Split an Authorization header into its parts; None when it is not a complete SDK-HMAC-SHA256 one."""
    if not header.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in header[len(ALGORITHM) + 1 :].split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts[key] = value
    access, signed, sig = parts.get("Access"), parts.get("SignedHeaders"), parts.get("Signature")
    if not access or not signed or not sig:
        return None
    return ParsedAuthorization(access_key=access, signed_headers=tuple(signed.split(";")), signature=sig)
