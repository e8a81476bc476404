"""The browser rules in front of the local moto: the studio's uploads and audio only, and CORS ours alone."""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from voiceclone_local.browser_access import BrowserGuard, StudioStorage

STUDIO = "http://127.0.0.1:4000"
EVIL = "https://evil.example"
BUCKET = "voiceclone-local-audio"
KEY = "speech/local-tenant/v1/abc.wav"
SIGNED = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=testing%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"
)
MULTIPART = "multipart/form-data; boundary=x"
JSON = "application/x-amz-json-1.1"


@dataclass
class Moto:
    """Stands in for moto: answers 200 with the CORS headers moto's server adds to every origin."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        origin = environ.get("HTTP_ORIGIN", "*")
        start_response(
            "200 OK",
            [("Content-Type", "text/xml"), ("Access-Control-Allow-Origin", origin), ("Vary", "Origin")],
        )
        return [b"<moto/>"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def cors(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if k.lower().startswith("access-control-")}


def call(guard: BrowserGuard, method: str, path: str, query: str = "", **headers: str) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(b""),
    }
    for name, value in headers.items():
        key = name.upper()
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    started: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(guard(environ, lambda status, hs, exc_info=None: started.append((status, hs))))
    status, answered = started[0]
    return Answer(int(status.split()[0]), dict(answered), body)


@pytest.fixture
def moto() -> Moto:
    return Moto()


@pytest.fixture
def guard(moto: Moto) -> BrowserGuard:
    return BrowserGuard(moto, StudioStorage(frozenset({STUDIO}), frozenset({BUCKET})))


# ----- the studio's own requests ----------------------------------------------------------------------


def test_the_studio_uploads_to_its_bucket_with_cors(guard: BrowserGuard, moto: Moto) -> None:
    preflight = call(guard, "OPTIONS", f"/{BUCKET}", origin=STUDIO, access_control_request_method="POST")
    upload = call(guard, "POST", f"/{BUCKET}", origin=STUDIO, content_type=MULTIPART)

    assert preflight.status == 200 and preflight.cors["Access-Control-Allow-Methods"] == "POST"
    assert preflight.cors["Access-Control-Allow-Origin"] == STUDIO
    assert upload.status == 200 and upload.cors["Access-Control-Allow-Origin"] == STUDIO
    assert "Origin" in upload.headers["Vary"]
    assert moto.calls == [f"POST /{BUCKET}"]  # the preflight is answered here, not by moto


def test_the_studio_plays_presigned_audio_with_cors(guard: BrowserGuard) -> None:
    preflight = call(
        guard,
        "OPTIONS",
        f"/{BUCKET}/{KEY}",
        SIGNED,
        origin=STUDIO,
        access_control_request_method="GET",
        access_control_request_headers="Range",
    )
    audio = call(guard, "GET", f"/{BUCKET}/{KEY}", SIGNED, origin=STUDIO, range="bytes=0-")
    v2 = call(
        guard, "HEAD", f"/{BUCKET}/{KEY}", "AWSAccessKeyId=testing&Signature=x&Expires=1", origin=STUDIO
    )

    assert preflight.status == 200 and preflight.cors["Access-Control-Allow-Headers"] == "range"
    assert audio.status == 200 and audio.cors["Access-Control-Allow-Origin"] == STUDIO
    assert v2.status == 200 and v2.cors["Access-Control-Allow-Origin"] == STUDIO


def test_moto_cors_headers_never_pass(guard: BrowserGuard) -> None:
    # moto answers Access-Control-Allow-Origin for anything; only the guard's own header may remain
    answer = call(guard, "GET", f"/{BUCKET}")
    assert answer.status == 200 and answer.cors == {} and answer.headers["Vary"] == "Origin"


# ----- everything else a browser asks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "query", "headers"),
    [
        (
            "POST",
            "/",
            "",
            {"x_amz_target": "secretsmanager.GetSecretValue", "content_type": JSON},
        ),
        ("POST", "/", "", {"x_amz_target": "DynamoDB_20120810.Scan", "content_type": JSON}),
        ("GET", "/", "", {}),  # the bucket listing
        ("GET", f"/{BUCKET}", "", {}),  # the bucket's objects
        ("GET", f"/{BUCKET}/{KEY}", "", {}),  # an object, not presigned
        ("GET", f"/{BUCKET}/{KEY}", f"acl&{SIGNED}", {}),  # another operation, presigned
        ("GET", f"/other-bucket/{KEY}", SIGNED, {}),
        ("GET", f"/{BUCKET}/{KEY}", SIGNED, {"authorization": "AWS4-HMAC-SHA256 Credential=x"}),
        ("PUT", f"/{BUCKET}/{KEY}", SIGNED, {"content_type": "audio/wav"}),
        ("DELETE", f"/{BUCKET}/{KEY}", SIGNED, {}),
        ("POST", f"/{BUCKET}", "delete", {"content_type": MULTIPART}),
        ("POST", f"/{BUCKET}", "", {"content_type": "text/plain"}),
        ("POST", f"/{BUCKET}/{KEY}", "", {"content_type": MULTIPART}),
        ("POST", "/other-bucket", "", {"content_type": MULTIPART}),
        ("OPTIONS", f"/{BUCKET}", "", {}),  # not a preflight
    ],
)
def test_the_studio_origin_gets_nothing_else(
    guard: BrowserGuard, moto: Moto, method: str, path: str, query: str, headers: dict[str, str]
) -> None:
    answer = call(guard, method, path, query, origin=STUDIO, **headers)
    assert answer.status == 403 and answer.cors == {} and moto.calls == []


@pytest.mark.parametrize(
    ("method", "path", "asked_headers"),
    [
        ("POST", "/", "x-amz-target,content-type"),
        ("POST", f"/{BUCKET}", "authorization"),
        ("POST", f"/{BUCKET}", "x-amz-target"),
        ("PUT", f"/{BUCKET}/{KEY}", ""),
        ("DELETE", f"/{BUCKET}/{KEY}", ""),
        ("GET", f"/{BUCKET}", ""),
        ("POST", f"/{BUCKET}/{KEY}", ""),
    ],
)
def test_the_studio_origin_cannot_preflight_anything_else(
    guard: BrowserGuard, moto: Moto, method: str, path: str, asked_headers: str
) -> None:
    asked = {"access_control_request_headers": asked_headers} if asked_headers else {}
    answer = call(guard, "OPTIONS", path, origin=STUDIO, access_control_request_method=method, **asked)
    assert answer.status == 403 and answer.cors == {} and moto.calls == []


@pytest.mark.parametrize(
    "origin", [EVIL, "null", "http://127.0.0.1:4001", "http://127.0.0.1:4000.evil.example"]
)
def test_another_origin_gets_nothing_at_all(guard: BrowserGuard, moto: Moto, origin: str) -> None:
    answers = [
        call(guard, "OPTIONS", f"/{BUCKET}", origin=origin, access_control_request_method="POST"),
        call(guard, "POST", f"/{BUCKET}", origin=origin, content_type=MULTIPART),
        call(guard, "GET", f"/{BUCKET}/{KEY}", SIGNED, origin=origin),
        call(guard, "POST", "/", origin=origin, x_amz_target="secretsmanager.GetSecretValue"),
    ]
    assert [a.status for a in answers] == [403] * 4
    assert all(a.cors == {} and b"<moto/>" not in a.body for a in answers) and moto.calls == []


def test_no_origin_is_answered_before_the_studio_is_known(moto: Moto) -> None:
    guard = BrowserGuard(moto)
    answer = call(guard, "POST", f"/{BUCKET}", origin=STUDIO, content_type=MULTIPART)
    assert answer.status == 403 and moto.calls == []


def test_a_page_without_origin_reaches_only_presigned_audio(guard: BrowserGuard, moto: Moto) -> None:
    # Given requests a page on another site starts without Origin (an <img>, a link, the studio's <audio>)
    sqs = call(guard, "GET", "/", "Action=SendMessage&QueueUrl=q&MessageBody=x", sec_fetch_site="cross-site")
    listing = call(guard, "GET", f"/{BUCKET}", sec_fetch_site="same-site")
    audio = call(guard, "GET", f"/{BUCKET}/{KEY}", SIGNED, sec_fetch_site="same-site")

    # Then only the audio reaches moto, and it carries no CORS header (nothing asked for one)
    assert (sqs.status, listing.status, audio.status) == (403, 403, 200)
    assert audio.cors == {} and moto.calls == [f"GET /{BUCKET}/{KEY}"]


@pytest.mark.parametrize("site", [None, "none", "same-origin"])
def test_sdks_and_typed_urls_reach_moto_as_before(guard: BrowserGuard, moto: Moto, site: str | None) -> None:
    headers = {"sec_fetch_site": site} if site else {}
    answer = call(guard, "POST", "/", x_amz_target="secretsmanager.GetSecretValue", **headers)
    assert answer.status == 200 and answer.body == b"<moto/>" and answer.cors == {}
