"""Volcengine console OpenAPI V4 ``HMAC-SHA256`` signature (docs/vendors/volcengine.md#authentication).

Pure functions over bytes and strings: the adapter signs with them and the
sandbox verifies with them; a test holds them equal to the official SDK signer
(``volcengine.auth.SignerV4``). Like AWS SigV4 but with the raw secret key at
the root of the key derivation (no ``AWS4`` prefix) and ``request`` as the
scope's terminator. Each function mirrors one step of the SDK so a drift shows
up in exactly one place.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "HMAC-SHA256"
REGION = "cn-north-1"
SERVICE = "speech_saas_prod"
TERMINATOR = "request"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DATE_HEADER = "X-Date"
CONTENT_SHA256_HEADER = "X-Content-Sha256"
# Besides these, every header whose name starts with "X-" is signed (the SDK's rule).
_ALWAYS_SIGNED = ("content-type", "content-md5", "host")
# The SDK drops only the scheme-default ports from the signed host; any other port stays in.
_DEFAULT_PORTS = ("80", "443")
_QUERY_SAFE = "-_.~"

QueryValue = str | Sequence[str]


def x_date(when: datetime | None = None) -> str:
    """The X-Date value: UTC, basic ISO 8601 (``20240229T233000Z``)."""
    moment = when.astimezone(UTC) if when is not None else datetime.now(UTC)
    return moment.strftime(DATE_FORMAT)


def parse_x_date(value: str) -> datetime | None:
    """The moment an X-Date names, or None when it is not in the signed format."""
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def content_sha256(body: bytes) -> str:
    """hex(SHA256(body)): sent as X-Content-Sha256 and the last line of the canonical request."""
    return hashlib.sha256(body).hexdigest()


def canonical_uri(path: str) -> str:
    """The path percent-encoded with '/' kept; an empty path is '/'."""
    return quote(path or "/", safe="/")


def canonical_query(params: Mapping[str, QueryValue]) -> str:
    """Keys sorted; key and value encoded with only ``-_.~`` safe; a list repeats its key in list order.

    The SDK's ``Util.norm_query``: a space is ``%20`` and ``/`` is ``%2F``.
    """
    pairs: list[str] = []
    for key in sorted(params):
        value = params[key]
        values = [value] if isinstance(value, str) else list(value)
        pairs.extend(f"{quote(key, safe=_QUERY_SAFE)}={quote(v, safe=_QUERY_SAFE)}" for v in values)
    return "&".join(pairs)


def canonical_host(host: str) -> str:
    """The Host value as signed: ``:80``/``:443`` dropped, any other port kept.

    Exactly the SDK's rule (split at ':' and look at the second part), so both
    sides agree even on odd values.
    """
    parts = host.split(":")
    if len(parts) > 1 and parts[1] in _DEFAULT_PORTS:
        return parts[0]
    return host


def headers_to_sign(headers: Mapping[str, str], names: Sequence[str] | None = None) -> dict[str, str]:
    """Lower-cased name -> value of the headers that are signed.

    Without ``names``, the SDK's choice: Content-Type, Content-Md5, Host and every
    ``X-`` header. With ``names`` (a verifier reading SignedHeaders), exactly those,
    a missing one signed as empty so the signature simply fails to match.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    if names is None:
        chosen = {n: v for n, v in by_name.items() if n in _ALWAYS_SIGNED or n.startswith("x-")}
    else:
        chosen = {n.lower(): by_name.get(n.lower(), "") for n in names}
    if "host" in chosen:
        chosen["host"] = canonical_host(chosen["host"])
    return chosen


def signed_headers(signed: Mapping[str, str]) -> str:
    """The signed header names, sorted and joined with ';'."""
    return ";".join(sorted(signed))


def canonical_headers(signed: Mapping[str, str]) -> str:
    """``name:value`` per signed header, sorted by name, each line ending in '\\n' (values as sent)."""
    return "".join(f"{name}:{signed[name]}\n" for name in sorted(signed))


def canonical_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, QueryValue],
    signed: Mapping[str, str],
    body_sha256: str,
) -> str:
    """METHOD, URI, query, headers block, signed names, body hash; joined with '\\n'."""
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            canonical_headers(signed),
            signed_headers(signed),
            body_sha256,
        ]
    )


def credential_scope(short_date: str, region: str = REGION, service: str = SERVICE) -> str:
    """``YYYYMMDD/region/service/request``: the day is X-Date's, in UTC."""
    return f"{short_date}/{region}/{service}/{TERMINATOR}"


def string_to_sign(date: str, scope: str, canonical: str) -> str:
    return "\n".join([ALGORITHM, date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, short_date: str, region: str = REGION, service: str = SERVICE) -> bytes:
    """HMAC chain date → region → service → "request", rooted at the raw secret key (no prefix)."""
    k_date = _hmac(secret_key.encode("utf-8"), short_date)
    return _hmac(_hmac(_hmac(k_date, region), service), TERMINATOR)


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(*, access_key_id: str, scope: str, signed: str, sig: str) -> str:
    return f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed}, Signature={sig}"


def sign(
    *,
    access_key_id: str,
    secret_access_key: str,
    method: str,
    path: str,
    query: Mapping[str, QueryValue],
    headers: Mapping[str, str],
    body: bytes,
    region: str = REGION,
    service: str = SERVICE,
) -> str:
    """The Authorization value for a request whose headers already hold X-Date (and Host).

    X-Content-Sha256 is taken from ``headers`` when present (it must then be the
    body's hash, as :func:`signed_request_headers` makes it), else computed.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    date = by_name.get(DATE_HEADER.lower())
    if not date:
        raise ValueError("headers to sign lack X-Date")
    body_sha256 = by_name.get(CONTENT_SHA256_HEADER.lower()) or content_sha256(body)
    signed = headers_to_sign(headers)
    canonical = canonical_request(
        method=method, path=path, query=query, signed=signed, body_sha256=body_sha256
    )
    scope = credential_scope(date[:8], region, service)
    sig = signature(
        signing_key(secret_access_key, date[:8], region, service), string_to_sign(date, scope, canonical)
    )
    return authorization(access_key_id=access_key_id, scope=scope, signed=signed_headers(signed), sig=sig)


def signed_request_headers(
    *,
    access_key_id: str,
    secret_access_key: str,
    host: str,
    method: str,
    path: str,
    query: Mapping[str, QueryValue],
    body: bytes,
    content_type: str = "application/json; charset=utf-8",
    when: datetime | None = None,
    region: str = REGION,
    service: str = SERVICE,
) -> dict[str, str]:
    """Every header a signed console call sends: Host, Content-Type, X-Date, X-Content-Sha256, Authorization.

    Build it right before sending (the date is checked against the server clock) and
    send exactly these values: a header the SDK rule signs but that is not here
    would be left out of the signature by us and included by nobody, which is fine,
    but changing one of these after signing breaks the signature.
    """
    headers = {
        "Host": host,
        "Content-Type": content_type,
        DATE_HEADER: x_date(when),
        CONTENT_SHA256_HEADER: content_sha256(body),
    }
    headers["Authorization"] = sign(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        region=region,
        service=service,
    )
    return headers


@dataclass(frozen=True)
class ParsedAuthorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> ParsedAuthorization | None:
    """Split an Authorization header into its parts; None when it is not a complete V4 HMAC-SHA256 one."""
    if not header.startswith(ALGORITHM + " "):
        return None
    parts: dict[str, str] = {}
    for item in header[len(ALGORITHM) + 1 :].split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts[key] = value
    credential = parts.get("Credential", "").split("/")
    signed, sig = parts.get("SignedHeaders"), parts.get("Signature")
    if len(credential) != 5 or credential[4] != TERMINATOR or not all(credential) or not signed or not sig:
        return None
    return ParsedAuthorization(
        access_key_id=credential[0],
        date=credential[1],
        region=credential[2],
        service=credential[3],
        signed_headers=tuple(signed.split(";")),
        signature=sig,
    )
