"""Our SDK-HMAC-SHA256 signer gives the official Huawei Cloud SDK's signatures, bit for bit.

The expected values come from ``BasicCredentials.sign_request`` (which adds ``X-Project-Id`` and then
runs ``huaweicloudsdkcore.signer.signer.Signer.sign``) on an ``SdkRequest`` built from the same inputs,
so a drift in canonical URI, query, headers, payload hash or the Authorization format shows up here.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # type: ignore[import-untyped]
from huaweicloudsdkcore.sdk_request import SdkRequest  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from voiceclone.vendors.signing import huawei

HOST = "metastudio.cn-north-4.myhuaweicloud.com"
JSON_TYPES = ("application/json", "application/json;charset=UTF-8")


def sdk_authorization(
    *,
    access_key: str,
    secret_key: str,
    project_id: str,
    method: str,
    host: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> tuple[str, dict[str, str]]:
    """The SDK's Authorization header and the headers it ended up sending (Host and X-Project-Id added)."""
    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=path,
        query_params=list(query),
        header_params=dict(headers),
        body=body,
    )
    BasicCredentials(access_key, secret_key, project_id).sign_request(request)
    sent = {str(k): str(v) for k, v in request.header_params.items()}
    return sent.pop("Authorization"), sent


def ours(
    *,
    access_key: str,
    secret_key: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> str:
    return huawei.sign(
        access_key=access_key,
        secret_key=secret_key,
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
    )


dates = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(huawei.sdk_date)
keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=48)
access_keys = st.from_regex(r"[A-Z0-9]{8,24}", fullmatch=True)
project_ids = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
hosts = st.one_of(
    st.just(HOST), st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True)
)
# Path segments with anything in them, percent signs and spaces included: both sides un-quote first.
segments = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"), max_size=12)
paths = st.lists(segments, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))
query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
queries = st.lists(st.tuples(query_text.filter(bool), query_text), max_size=6)
# Extra header names without '_' (the SDK does not sign those) and unlike the ones set below.
extra_names = st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda n: n.lower() not in ("x-sdk-date", "x-project-id", "x-sdk-content-sha256", "x-security-token")
)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=24)
extra_headers = st.dictionaries(extra_names, header_values, max_size=3).map(
    lambda d: {k: v for k, v in {n.lower(): (n, v) for n, v in d.items()}.values()}
)


@settings(max_examples=300, deadline=None)
@given(
    access_key=access_keys,
    secret_key=keys,
    project_id=project_ids,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    host=hosts,
    path=paths,
    query=queries,
    date=dates,
    content_type=st.sampled_from(JSON_TYPES),
    extra=extra_headers,
    body=st.one_of(st.just(b""), st.binary(max_size=1024), st.text(max_size=200).map(str.encode)),
)
def test_the_sdk_authorization_header_is_reproduced(
    access_key: str,
    secret_key: str,
    project_id: str,
    method: str,
    host: str,
    path: str,
    query: list[tuple[str, str]],
    date: str,
    content_type: str,
    extra: dict[str, str],
    body: bytes,
) -> None:
    # Given a JSON request the SDK signed itself at a chosen X-Sdk-Date
    headers = {"Content-Type": content_type, huawei.DATE_HEADER: date, **extra}
    expected, sent = sdk_authorization(
        access_key=access_key,
        secret_key=secret_key,
        project_id=project_id,
        method=method,
        host=host,
        path=path,
        query=query,
        headers=headers,
        body=body,
    )

    # When we sign the same request with every header the SDK sent
    actual = ours(
        access_key=access_key,
        secret_key=secret_key,
        method=method,
        path=path,
        query=query,
        headers={**headers, "Host": host, huawei.PROJECT_HEADER: project_id},
        body=body,
    )

    # Then the Authorization header is identical
    assert sent["Host"] == host and sent[huawei.PROJECT_HEADER] == project_id
    assert actual == expected


@settings(max_examples=100, deadline=None)
@given(
    secret_key=keys,
    path=paths,
    date=dates,
    content_type=st.sampled_from(["application/zip", "application/pdf", "audio/wav", "text/plain"]),
    body=st.binary(min_size=1, max_size=512),
)
def test_a_non_json_body_is_signed_as_unsigned_payload_like_the_sdk(
    secret_key: str, path: str, date: str, content_type: str, body: bytes
) -> None:
    # Given a non-JSON body, which the SDK marks with X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD
    headers = {"Content-Type": content_type, huawei.DATE_HEADER: date}
    expected, sent = sdk_authorization(
        access_key="AK",
        secret_key=secret_key,
        project_id="p",
        method="PUT",
        host=HOST,
        path=path,
        query=[],
        headers=headers,
        body=body,
    )
    assert sent[huawei.CONTENT_SHA256_HEADER] == "UNSIGNED-PAYLOAD"

    # When we sign with the headers the SDK sent
    actual = ours(
        access_key="AK", secret_key=secret_key, method="PUT", path=path, query=[], headers=sent, body=body
    )

    # Then the signatures agree: the literal stands in for the body's hash
    assert actual == expected


def test_the_canonical_uri_gets_a_trailing_slash_and_encoded_segments() -> None:
    # Given paths with and without a trailing slash and with characters that need encoding
    # When canonicalised / Then each ends in exactly one '/', encoded per segment, '~' kept
    assert huawei.canonical_uri("/v1/p/jobs") == "/v1/p/jobs/"
    assert huawei.canonical_uri("/v1/p/jobs/") == "/v1/p/jobs/"
    assert huawei.canonical_uri("/v1/a b/~x%2Fy") == "/v1/a%20b/~x/y/"


def test_the_canonical_query_is_sorted_and_encoded() -> None:
    # Given unsorted pairs with a repeated key and characters to encode / When canonicalised
    query = huawei.canonical_query([("state", "WAITING"), ("batch_name", "a b/c"), ("state", "FAILED")])

    # Then raw pairs are sorted and both sides encoded with quote(safe='~')
    assert query == "batch_name=a%20b%2Fc&state=FAILED&state=WAITING"


def test_the_secret_key_signs_directly_without_derivation() -> None:
    # Given a string to sign / When signed / Then it is plain HMAC-SHA256 under the secret key
    expected = hmac.new(b"sk", b"SDK-HMAC-SHA256\n20240101T000000Z\nabc", hashlib.sha256).hexdigest()
    assert huawei.signature("sk", "SDK-HMAC-SHA256\n20240101T000000Z\nabc") == expected


def test_signing_without_host_or_date_is_refused() -> None:
    # Given headers lacking X-Sdk-Date / When signed / Then a clear error, not a signature the gateway rejects
    with pytest.raises(ValueError, match="x-sdk-date"):
        huawei.sign(access_key="a", secret_key="s", method="GET", path="/", headers={"Host": HOST})


def test_the_sdk_date_is_utc() -> None:
    # Given 07:30 on 2024-03-01 in Beijing, still 2024-02-29 in UTC
    beijing = datetime(2024, 3, 1, 7, 30, tzinfo=timezone(timedelta(hours=8)))

    # When formatted / Then it is the UTC moment in basic ISO 8601, and it parses back
    assert huawei.sdk_date(beijing) == "20240229T233000Z"
    assert huawei.parse_sdk_date("20240229T233000Z") == beijing
    assert huawei.parse_sdk_date("2024-03-01") is None


@settings(max_examples=200, deadline=None)
@given(
    access_key=access_keys,
    sig=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    names=st.lists(st.sampled_from(["content-type", "host", "x-project-id", "x-sdk-date"]), min_size=1),
)
def test_authorization_round_trips_through_parse(access_key: str, sig: str, names: list[str]) -> None:
    # Given an Authorization header we built
    signed = ";".join(sorted(set(names)))
    header = huawei.authorization(access_key=access_key, signed=signed, sig=sig)

    # When it is parsed back / Then every part comes back as it went in
    assert huawei.parse_authorization(header) == huawei.ParsedAuthorization(
        access_key=access_key, signed_headers=tuple(signed.split(";")), signature=sig
    )


def test_the_sdk_header_parses() -> None:
    # Given a header the SDK produced
    header, _ = sdk_authorization(
        access_key="AKSDK",
        secret_key="secret",
        project_id="p1",
        method="GET",
        host=HOST,
        path="/v1/p1/voice-training-manage/user/jobs",
        query=[],
        headers={"Content-Type": "application/json", huawei.DATE_HEADER: "20240101T000000Z"},
        body=b"",
    )

    # When / Then our parser reads its parts
    parsed = huawei.parse_authorization(header)
    assert parsed is not None
    assert parsed.access_key == "AKSDK"
    assert parsed.signed_headers == ("content-type", "host", "x-project-id", "x-sdk-date")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer abc",
        "SDK-HMAC-SHA256 Signature=abc",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
        "SDK-HMAC-SHA256,Access=AK, SignedHeaders=host, Signature=ab",
        "V11-HMAC-SHA256 Credential=AK/x, SignedHeaders=host, Signature=ab",
    ],
)
def test_malformed_headers_do_not_parse(header: str) -> None:
    # Given a header that is not a complete SDK-HMAC-SHA256 authorization / When parsed / Then None
    assert huawei.parse_authorization(header) is None
