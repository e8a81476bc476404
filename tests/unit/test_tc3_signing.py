"""Our TC3-HMAC-SHA256 signer gives the official Tencent Cloud SDK's signatures, bit for bit.

The expected values come from the SDK's own code paths (``AbstractClient._build_req_with_tc3_signature``
and ``_get_tc3_signature``, which end in ``Sign.sign_tc3``), not from a re-implementation, so a drift in
canonical request, scope date or key derivation shows up here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from voiceclone.vendors.signing import tc3

DAY = 86400
# 2000-01-01 .. 2099-12-31, in days since the epoch.
FIRST_DAY, LAST_DAY = 10957, 47481


class _SdkVrsClient(AbstractClient):  # type: ignore[misc]
    """The SDK's client machinery configured as vrs_client.VrsClient is (that package is not installed)."""

    _apiVersion = "2020-08-24"
    _endpoint = "vrs.tencentcloudapi.com"
    _service = "vrs"


def sdk_client(secret_id: str, secret_key: str, host: str) -> _SdkVrsClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=host))
    return _SdkVrsClient(Credential(secret_id, secret_key), "", profile)


def sdk_signed_request(
    secret_id: str, secret_key: str, host: str, timestamp: int, action: str, params: dict[str, Any]
) -> RequestInternal:
    """Let the SDK build and sign a POST exactly as it would send it, at a chosen time."""
    client = sdk_client(secret_id, secret_key, host)
    req = RequestInternal(host, "POST", "/")
    with mock.patch("tencentcloud.common.abstract_client.time") as fake_time:
        fake_time.time.return_value = float(timestamp)
        client._build_req_with_tc3_signature(action, params, req)
    return req


def sdk_signature(secret_key: str, host: str, timestamp: int, body: bytes, content_type: str) -> str:
    """The SDK's canonical request + string-to-sign + sign_tc3, for an arbitrary body and content type."""
    client = sdk_client("AKIDunused", secret_key, host)
    req = RequestInternal(
        host,
        "POST",
        "/",
        header={"Content-Type": content_type, "Host": host, "X-TC-Timestamp": str(timestamp)},
        data=body,
    )
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    return str(client._get_tc3_signature({}, req, date, "vrs", secret_key))


# Timestamps anywhere this century, and timestamps right around UTC midnight, including the whole
# 00:00-08:00 Beijing-time window (16:00-24:00 UTC the day before) where a local-time scope date breaks.
timestamps = st.one_of(
    st.integers(min_value=FIRST_DAY * DAY, max_value=LAST_DAY * DAY),
    st.builds(
        lambda day, offset: day * DAY + offset,
        st.integers(min_value=FIRST_DAY + 1, max_value=LAST_DAY),
        st.integers(min_value=-8 * 3600 - 60, max_value=60),
    ),
)
# The SDK's Credential refuses empty keys and keys with surrounding whitespace.
secret_keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64).filter(
    lambda k: k.strip() == k and k != ""
)
secret_ids = st.from_regex(r"AKID[A-Za-z0-9]{4,36}", fullmatch=True)
# Lower-case: the SDK signs the host as given, we lower-case it (host names are case-insensitive anyway).
hosts = st.one_of(
    st.just("vrs.tencentcloudapi.com"),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
params_strategy = st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    secret_id=secret_ids,
    secret_key=secret_keys,
    host=hosts,
    timestamp=timestamps,
    params=params_strategy,
)
def test_the_sdk_authorization_header_is_reproduced(
    secret_id: str, secret_key: str, host: str, timestamp: int, params: dict[str, Any]
) -> None:
    # Given a request the SDK built and signed itself (json.dumps body, \\uXXXX escapes for non-ASCII)
    req = sdk_signed_request(secret_id, secret_key, host, timestamp, "CreateVRSTask", params)
    body = req.data.encode("utf-8")

    # When we sign the same bytes with our helpers
    sig = tc3.signature(secret_key=secret_key, service="vrs", timestamp=timestamp, host=host, body=body)
    header = tc3.authorization(secret_id=secret_id, service="vrs", timestamp=timestamp, sig=sig)

    # Then the whole Authorization header is identical, scope date included
    assert header == req.header["Authorization"]


@settings(max_examples=300, deadline=None)
@given(
    secret_key=secret_keys,
    host=hosts,
    timestamp=timestamps,
    body=st.one_of(
        st.binary(max_size=2048),
        params_strategy.map(lambda p: json.dumps(p, ensure_ascii=False, separators=(",", ":")).encode()),
    ),
    content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]),
)
def test_the_signature_matches_the_sdk_for_any_body(
    secret_key: str, host: str, timestamp: int, body: bytes, content_type: str
) -> None:
    # Given arbitrary body bytes (including httpx-style compact UTF-8 JSON) and either content type
    expected = sdk_signature(secret_key, host, timestamp, body, content_type)

    # When we sign them
    actual = tc3.signature(
        secret_key=secret_key,
        service="vrs",
        timestamp=timestamp,
        host=host,
        body=body,
        content_type=content_type,
    )

    # Then the signature is the SDK's
    assert actual == expected


def test_the_scope_date_is_the_utc_day_even_in_the_beijing_morning() -> None:
    # Given 2024-03-01 07:30 Beijing time, which is still 2024-02-29 in UTC
    timestamp = int(datetime(2024, 2, 29, 23, 30, tzinfo=UTC).timestamp())

    # When the SDK signs at that moment
    req = sdk_signed_request(
        "AKIDexample", "key", "vrs.tencentcloudapi.com", timestamp, "GetTrainingText", {}
    )

    # Then both scope dates are the UTC day
    assert tc3.scope_date(timestamp) == "2024-02-29"
    assert "/2024-02-29/vrs/tc3_request" in req.header["Authorization"]


def test_a_different_body_changes_the_signature() -> None:
    # Given the same key, host and time / When two bodies differing in one byte are signed
    common: dict[str, Any] = {"secret_key": "k", "service": "vrs", "timestamp": 1700000000, "host": "h"}
    first = tc3.signature(body=b'{"TaskId":"a"}', **common)
    second = tc3.signature(body=b'{"TaskId":"b"}', **common)

    # Then the signatures differ (the payload hash is really part of it)
    assert first != second


@settings(max_examples=200, deadline=None)
@given(
    secret_id=secret_ids,
    timestamp=timestamps,
    sig=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    service=st.sampled_from(["vrs", "tts"]),
)
def test_authorization_round_trips_through_parse(
    secret_id: str, timestamp: int, sig: str, service: str
) -> None:
    # Given an Authorization header we built
    header = tc3.authorization(secret_id=secret_id, service=service, timestamp=timestamp, sig=sig)

    # When it is parsed back
    parsed = tc3.parse_authorization(header)

    # Then every part comes back as it went in
    assert parsed == tc3.ParsedAuthorization(
        secret_id=secret_id,
        date=tc3.scope_date(timestamp),
        service=service,
        signed_headers="content-type;host",
        signature=sig,
    )


def test_the_sdk_header_parses() -> None:
    # Given a header the SDK produced
    req = sdk_signed_request(
        "AKIDsdk", "secret", "vrs.tencentcloudapi.com", 1700000000, "GetTrainingText", {}
    )

    # When / Then our parser reads its parts
    parsed = tc3.parse_authorization(req.header["Authorization"])
    assert parsed is not None
    assert (parsed.secret_id, parsed.date, parsed.service) == ("AKIDsdk", "2023-11-14", "vrs")
    assert parsed.signed_headers == "content-type;host"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "TC3-HMAC-SHA256 Signature=abc",
        "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/vrs, SignedHeaders=content-type;host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKID/2024-01-01/vrs/tc3_request, SignedHeaders=content-type;host",
        "HMAC-SHA256 Credential=AKID/2024-01-01/vrs/tc3_request, SignedHeaders=host, Signature=ab",
    ],
)
def test_malformed_headers_do_not_parse(header: str) -> None:
    # Given a header that is not a complete TC3 authorization / When parsed / Then None
    assert tc3.parse_authorization(header) is None
