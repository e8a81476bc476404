"""Our Volcengine V4 HMAC-SHA256 signer gives the official ``volcengine`` SDK's signatures, bit for bit.

The expected values come from the SDK's own code (``volcengine.auth.SignerV4.sign``, which the SDK's
``Service.json`` calls for every console action, and ``SignerV4.sign_only``), run at a chosen X-Date,
so a drift in canonical query, headers, body hash, scope or key derivation shows up here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from voiceclone.vendors.signing import volc_v4
from volcengine.auth.SignerV4 import SignerV4  # type: ignore[import-untyped]
from volcengine.auth.SignParam import SignParam  # type: ignore[import-untyped]
from volcengine.base.Request import Request  # type: ignore[import-untyped]
from volcengine.Credentials import Credentials  # type: ignore[import-untyped]

HOST = "open.volcengineapi.com"
QUERY = {"Action": "BatchListMegaTTSTrainStatus", "Version": "2023-11-07"}


def sdk_sign(
    *,
    access_key_id: str,
    secret_access_key: str,
    method: str,
    path: str,
    query: Mapping[str, str | list[str]],
    headers: dict[str, str],
    body: bytes,
    when: datetime,
    session_token: str = "",
    region: str = volc_v4.REGION,
    service: str = volc_v4.SERVICE,
) -> dict[str, str]:
    """The headers the SDK ends up sending (X-Date, X-Content-Sha256, Authorization added), at ``when``."""
    request = Request()
    request.set_method(method)
    request.set_path(path)
    request.set_query(OrderedDict(query))
    request.set_headers(OrderedDict(headers))
    request.set_body(body)
    credentials = Credentials(access_key_id, secret_access_key, service, region, session_token)
    with mock.patch.object(SignerV4, "get_current_format_date", return_value=volc_v4.x_date(when)):
        SignerV4.sign(request, credentials)
    return {str(k): str(v) for k, v in request.headers.items()}


DAY = timedelta(days=1)
# Any moment this century, and moments right around UTC midnight, including the 00:00-08:00 Beijing
# morning (16:00-24:00 UTC the day before) where a local-time scope date would break.
moments = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda day, offset: datetime(2000, 1, 1, tzinfo=UTC) + day * DAY + timedelta(seconds=offset),
        st.integers(min_value=1, max_value=36000),
        st.integers(min_value=-8 * 3600 - 60, max_value=60),
    ),
)
# The SDK takes any string as a key; only surrogates cannot be encoded to UTF-8.
secret_keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=64)
access_key_ids = st.from_regex(r"AKL[A-Za-z0-9]{8,40}", fullmatch=True)
hosts = st.one_of(
    st.just(HOST),
    st.sampled_from([f"{HOST}:443", f"{HOST}:80", "127.0.0.1:8123", "localhost:80"]),
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}(\.[a-z0-9-]{1,20}){0,3}(:[0-9]{1,5})?", fullmatch=True),
)
query_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
queries = st.dictionaries(
    query_text.filter(bool), st.one_of(query_text, st.lists(query_text, min_size=1, max_size=3)), max_size=5
)
# Header names the SDK signs by its exact spelling ("X-" prefix) and some it does not; none it sets itself.
_RESERVED = ("x-date", "x-content-sha256", "x-security-token", "host", "content-type")
header_names = st.one_of(
    st.from_regex(r"X-[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
    st.sampled_from(["User-Agent", "Accept", "Accept-Encoding", "Content-Md5"]),
).filter(lambda n: n.lower() not in _RESERVED)
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=24)
extra_headers = st.dictionaries(header_names, header_values, max_size=4).map(
    lambda d: dict({n.lower(): (n, v) for n, v in d.items()}.values())
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=2048),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8"])


@settings(max_examples=300, deadline=None)
@given(
    access_key_id=access_key_ids,
    secret_access_key=secret_keys,
    host=hosts,
    method=st.sampled_from(["POST", "GET"]),
    query=queries,
    extra=extra_headers,
    body=bodies,
    when=moments,
    content_type=content_types,
    session_token=st.one_of(st.just(""), st.from_regex(r"STS[A-Za-z0-9]{4,20}", fullmatch=True)),
)
def test_the_sdk_authorization_header_is_reproduced(
    access_key_id: str,
    secret_access_key: str,
    host: str,
    method: str,
    query: dict[str, str | list[str]],
    extra: dict[str, str],
    body: bytes,
    when: datetime,
    content_type: str,
    session_token: str,
) -> None:
    # Given a request the SDK signed itself at a chosen moment (extra headers, an STS token or not)
    headers = {"Host": host, "Content-Type": content_type, **extra}
    sent = sdk_sign(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        method=method,
        path="/",
        query=query,
        headers=headers,
        body=body,
        when=when,
        session_token=session_token,
    )

    # When we sign the same request with the headers the SDK sent, its Authorization left out
    ours = {k: v for k, v in sent.items() if k != "Authorization"}
    authorization = volc_v4.sign(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        method=method,
        path="/",
        query=query,
        headers=ours,
        body=body,
    )

    # Then the Authorization header and the body hash are the SDK's
    assert authorization == sent["Authorization"]
    assert sent["X-Content-Sha256"] == volc_v4.content_sha256(body)
    assert sent["X-Date"] == volc_v4.x_date(when)


@settings(max_examples=200, deadline=None)
@given(
    access_key_id=access_key_ids,
    secret_access_key=secret_keys,
    body=bodies,
    when=moments,
    content_type=content_types,
)
def test_the_headers_we_send_are_the_headers_the_sdk_would_send(
    access_key_id: str, secret_access_key: str, body: bytes, when: datetime, content_type: str
) -> None:
    # Given the console call the adapter makes (POST / with Action and Version) at a chosen moment
    ours = volc_v4.signed_request_headers(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        host=HOST,
        method="POST",
        path="/",
        query=QUERY,
        body=body,
        content_type=content_type,
        when=when,
    )

    # When the SDK signs the same request with the same Host and Content-Type
    sent = sdk_sign(
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        method="POST",
        path="/",
        query=dict(QUERY),
        headers={"Host": HOST, "Content-Type": content_type},
        body=body,
        when=when,
    )

    # Then every header is the same, Authorization included
    assert ours == sent


@settings(max_examples=150, deadline=None)
@given(
    secret_access_key=secret_keys,
    path=st.lists(
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="/"), max_size=10), max_size=4
    ).map(lambda parts: "/" + "/".join(parts)),
    query=queries,
    body=bodies,
    when=moments,
    region=st.sampled_from([volc_v4.REGION, "cn-beijing", "cn-shanghai"]),
    service=st.sampled_from([volc_v4.SERVICE, "iam", "sami"]),
)
def test_sign_only_agrees_for_any_path_region_and_service(
    secret_access_key: str,
    path: str,
    query: dict[str, str | list[str]],
    body: bytes,
    when: datetime,
    region: str,
    service: str,
) -> None:
    # Given the SDK's other entry point, which takes the date as a parameter, on arbitrary paths
    param = SignParam()
    param.set_method("POST")
    param.set_host(HOST)
    param.set_path(path)
    param.set_query(OrderedDict(query))
    param.set_body(body)
    param.set_header_list(OrderedDict({"Host": HOST, "Content-Type": "application/json"}))
    param.set_date(when)
    expected = SignerV4.sign_only(param, Credentials("AKLTexample", secret_access_key, service, region))

    # When we sign the same request for that region and service
    headers = {
        "Host": HOST,
        "Content-Type": "application/json",
        "X-Date": volc_v4.x_date(when),
        "X-Content-Sha256": volc_v4.content_sha256(body),
    }
    actual = volc_v4.sign(
        access_key_id="AKLTexample",
        secret_access_key=secret_access_key,
        method="POST",
        path=path,
        query=query,
        headers=headers,
        body=body,
        region=region,
        service=service,
    )

    # Then it is the SDK's Authorization
    assert actual == expected.authorization


def test_the_scope_date_is_the_utc_day_even_in_the_beijing_morning() -> None:
    # Given 2024-03-01 07:30 Beijing time, which is still 2024-02-29 in UTC
    when = datetime(2024, 2, 29, 23, 30, tzinfo=UTC)

    # When the SDK and we sign at that moment
    sent = sdk_sign(
        access_key_id="AKLTexample",
        secret_access_key="sk",
        method="POST",
        path="/",
        query=QUERY,
        headers={"Host": HOST, "Content-Type": "application/json"},
        body=b"{}",
        when=when,
    )
    ours = volc_v4.signed_request_headers(
        access_key_id="AKLTexample",
        secret_access_key="sk",
        host=HOST,
        method="POST",
        path="/",
        query=QUERY,
        body=b"{}",
        content_type="application/json",
        when=when,
    )

    # Then both scopes carry the UTC day
    assert "Credential=AKLTexample/20240229/cn-north-1/speech_saas_prod/request," in sent["Authorization"]
    assert ours["Authorization"] == sent["Authorization"]
    assert ours["X-Date"] == "20240229T233000Z"


def test_the_key_is_derived_from_the_raw_secret() -> None:
    # Given a secret key / When the signing key is derived
    def step(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    expected = step(step(step(step(b"secret", "20240101"), "cn-north-1"), "speech_saas_prod"), "request")

    # Then it is the HMAC chain rooted at the secret itself (no "AWS4"/"TC3" prefix)
    assert volc_v4.signing_key("secret", "20240101") == expected


def test_a_different_body_changes_the_signature() -> None:
    # Given the same key, headers and time / When two bodies differing in one byte are signed
    def signed(body: bytes) -> str:
        return volc_v4.signed_request_headers(
            access_key_id="AK",
            secret_access_key="SK",
            host=HOST,
            method="POST",
            path="/",
            query=QUERY,
            body=body,
            when=datetime(2024, 1, 1, tzinfo=UTC),
        )["Authorization"]

    # Then the signatures differ (the body hash is really part of it)
    assert signed(b'{"AppID":"1"}') != signed(b'{"AppID":"2"}')


def test_the_canonical_query_is_sorted_and_encoded_like_the_sdk() -> None:
    # Given unsorted keys, a list value and characters to encode / When canonicalised
    query = volc_v4.canonical_query({"b": ["2", "1"], "a": "x y/z~", "Action": "List"})

    # Then keys are sorted, list order kept, space is %20, '/' is %2F and '~' stays
    assert query == "Action=List&a=x%20y%2Fz~&b=2&b=1"
    assert volc_v4.canonical_query({}) == ""


@pytest.mark.parametrize(
    ("host", "signed"),
    [
        (HOST, HOST),
        (f"{HOST}:443", HOST),
        (f"{HOST}:80", HOST),
        ("127.0.0.1:8123", "127.0.0.1:8123"),
    ],
)
def test_only_default_ports_leave_the_signed_host(host: str, signed: str) -> None:
    # Given a Host header / When canonicalised / Then :80 and :443 are dropped and other ports kept
    assert volc_v4.canonical_host(host) == signed


def test_only_the_sdks_headers_are_signed() -> None:
    # Given headers httpx adds besides the signed ones
    headers = {
        "Host": HOST,
        "Content-Type": "application/json",
        "X-Date": "20240101T000000Z",
        "Accept": "*/*",
        "User-Agent": "python-httpx",
        "Content-Length": "2",
    }

    # When the signed set is chosen / Then it is content-type, host and the X- headers
    assert volc_v4.signed_headers(volc_v4.headers_to_sign(headers)) == "content-type;host;x-date"


@settings(max_examples=200, deadline=None)
@given(
    access_key_id=access_key_ids,
    when=moments,
    sig=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    signed=st.sampled_from(["content-type;host;x-content-sha256;x-date", "host;x-date"]),
)
def test_authorization_round_trips_through_parse(
    access_key_id: str, when: datetime, sig: str, signed: str
) -> None:
    # Given an Authorization header we built
    scope = volc_v4.credential_scope(volc_v4.x_date(when)[:8])
    header = volc_v4.authorization(access_key_id=access_key_id, scope=scope, signed=signed, sig=sig)

    # When it is parsed back
    parsed = volc_v4.parse_authorization(header)

    # Then every part comes back as it went in
    assert parsed == volc_v4.ParsedAuthorization(
        access_key_id=access_key_id,
        date=volc_v4.x_date(when)[:8],
        region=volc_v4.REGION,
        service=volc_v4.SERVICE,
        signed_headers=tuple(signed.split(";")),
        signature=sig,
    )


def test_the_sdk_header_parses() -> None:
    # Given a header the SDK produced
    sent = sdk_sign(
        access_key_id="AKLTsdk",
        secret_access_key="secret",
        method="POST",
        path="/",
        query=QUERY,
        headers={"Host": HOST, "Content-Type": "application/json"},
        body=b"{}",
        when=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
    )

    # When / Then our parser reads its parts
    parsed = volc_v4.parse_authorization(sent["Authorization"])
    assert parsed is not None
    assert (parsed.access_key_id, parsed.date, parsed.region, parsed.service) == (
        "AKLTsdk",
        "20231114",
        "cn-north-1",
        "speech_saas_prod",
    )
    assert parsed.signed_headers == ("content-type", "host", "x-content-sha256", "x-date")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer;token",
        "HMAC-SHA256 Signature=abc",
        "HMAC-SHA256 Credential=AK/20240101/cn-north-1/speech_saas_prod, SignedHeaders=host, Signature=ab",
        "HMAC-SHA256 Credential=AK/20240101/cn-north-1/speech_saas_prod/request, SignedHeaders=host",
        "HMAC-SHA256 Credential=AK/20240101/cn-north-1/speech_saas_prod/request, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AK/2024-01-01/vrs/tc3_request, SignedHeaders=host, Signature=ab",
        "HMAC-SHA256 Credential=/20240101/cn-north-1/speech_saas_prod/request, SignedHeaders=h, Signature=a",
    ],
)
def test_malformed_headers_do_not_parse(header: str) -> None:
    # Given a header that is not a complete V4 authorization / When parsed / Then None
    assert volc_v4.parse_authorization(header) is None


def test_x_date_round_trips() -> None:
    # Given a moment / When formatted and parsed back / Then it is the same second, in UTC
    when = datetime(2024, 2, 29, 23, 30, 5, tzinfo=UTC)
    assert volc_v4.parse_x_date(volc_v4.x_date(when)) == when
    assert volc_v4.parse_x_date("2024-02-29T23:30:05Z") is None
