"""What a browser may do on the local moto endpoint: the studio's uploads and audio, nothing else.

moto checks no signature and its server answers CORS for any origin, so without this any page
the developer visits could read the vendor credentials from the local Secrets Manager, the
table, or the bucket. A web page always reveals itself: a browser sends ``Origin`` on every
cross-origin request a page can read and on every POST, and ``Sec-Fetch-Site`` on every
request (recent Chrome, Firefox and Safari). So, in front of moto:

- a request with an ``Origin`` is answered only when that origin is the studio's (the local
  gateway's, which serves it) and the request is one the studio makes: a presigned POST upload
  to the bucket (``multipart/form-data``, no query, no AWS headers) or a presigned GET or HEAD
  of an object in it. Its preflight (``OPTIONS``) is answered here, for those methods and the
  ``Content-Type`` and ``Range`` headers only (never ``Authorization`` or ``X-Amz-Target``).
  Anything else is 403, without a CORS header, before moto sees it;
- a request without ``Origin`` that a page on another site started (``Sec-Fetch-Site``
  ``cross-site`` or ``same-site``: an ``<img>``, a form sent by GET, the studio's ``<audio>``)
  is answered only when it is a presigned GET or HEAD of the bucket; moto's query-protocol
  services would otherwise take a write from a link;
- anything else (boto3, the CLI, the functions and the sandboxes send neither header; a URL
  typed into the address bar is ``Sec-Fetch-Site: none``) reaches moto as before.

CORS headers are this module's alone: moto's own (it reflects every origin) are removed from
every answer. The bucket's CORS rule in AWS (infra/storage.py) exposes the same headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from voiceclone_local.loopback import WsgiApp

UPLOAD_METHODS = ("POST",)
AUDIO_METHODS = ("GET", "HEAD")
# The request headers a studio request may carry beyond the safelisted ones (a preflight names them).
ALLOWED_HEADERS = frozenset({"content-type", "range"})
EXPOSED_HEADERS = "ETag, Location"
MAX_AGE_SECONDS = 3000
# Query parameters of a presigned GET (SigV4 and SigV2) and the response overrides S3 takes with it:
# any other (?acl, ?tagging, ?uploads...) names another operation than reading the object.
PRESIGNED_QUERY = frozenset(
    {
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "AWSAccessKeyId",
        "Signature",
        "Expires",
    }
)
# Headers only an SDK sends: a studio request carries none of them.
SDK_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_AMZ_TARGET")
# Sec-Fetch-Site values of a request a page on another origin started.
PAGE_SITES = frozenset({"cross-site", "same-site"})


@dataclass(frozen=True)
class StudioStorage:
    """The studio's origins and the buckets it uploads to and plays from (none: no browser is answered)."""

    origins: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()

    def _bucket_and_key(self, path: str) -> tuple[str, str] | None:
        bucket, _, key = path.lstrip("/").partition("/")
        return (bucket, key) if bucket in self.buckets else None

    def methods_for(self, path: str, query: str) -> tuple[str, ...]:
        """The methods the studio may use on this URL: POST on a bucket, GET/HEAD on a presigned object."""
        found = self._bucket_and_key(path)
        if found is None:
            return ()
        if not found[1]:
            return UPLOAD_METHODS if not query else ()
        names = {name for name, _ in parse_qsl(query, keep_blank_values=True)}
        presigned = "X-Amz-Signature" in names or "Signature" in names
        if presigned and all(n in PRESIGNED_QUERY or n.startswith("response-") for n in names):
            return AUDIO_METHODS
        return ()

    def is_studio_request(self, environ: dict[str, Any]) -> bool:
        """Whether this is one of the studio's own storage requests (any origin: the caller checks it)."""
        method = str(environ.get("REQUEST_METHOD", ""))
        if any(environ.get(name) for name in SDK_HEADERS):
            return False
        if method not in self.methods_for(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")):
            return False
        if method in UPLOAD_METHODS:
            return str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/form-data")
        return True


def _refused(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = (
        b"Refused: from a browser, this endpoint answers only the studio's uploads to its bucket "
        b"and the audio it plays from there.\n"
    )
    start_response(
        "403 Forbidden",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _preflight(
    storage: StudioStorage, environ: dict[str, Any], start_response: Any, origin: str
) -> Iterable[bytes]:
    """The answer to a preflight: the studio's methods and headers on this URL, or a refusal."""
    asked = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", ""))
    methods = storage.methods_for(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
    raw_headers = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", ""))
    headers = [h.strip().lower() for h in raw_headers.split(",") if h.strip()]
    if asked not in methods or not set(headers) <= ALLOWED_HEADERS:
        return _refused(environ, start_response)
    answer = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Allow-Methods", ", ".join(methods)),
        ("Access-Control-Max-Age", str(MAX_AGE_SECONDS)),
        ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ("Content-Length", "0"),
    ]
    if headers:
        answer.append(("Access-Control-Allow-Headers", ", ".join(headers)))
    start_response("200 OK", answer)
    return [b""]


def _with_cors(headers: Iterable[tuple[str, str]], cors: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """moto's headers with ``cors`` for its CORS answer, and ``Vary: Origin`` (answers depend on it)."""
    kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
    varies = {t.strip().lower() for k, v in kept if k.lower() == "vary" for t in v.split(",")}
    return [*kept, *cors, *([] if "origin" in varies else [("Vary", "Origin")])]


class BrowserGuard:
    """moto's WSGI app behind the rules above; ``studio`` is set once the gateway serves the studio."""

    def __init__(self, app: WsgiApp, studio: StudioStorage | None = None) -> None:
        self.app = app
        self.studio = studio or StudioStorage()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        studio = self.studio
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            if environ.get("HTTP_SEC_FETCH_SITE") in PAGE_SITES and not (
                environ.get("REQUEST_METHOD") in AUDIO_METHODS and studio.is_studio_request(environ)
            ):
                return _refused(environ, start_response)
            return self._moto(environ, start_response, [])
        if origin not in studio.origins:
            return _refused(environ, start_response)
        if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            return _preflight(studio, environ, start_response, origin)
        if not studio.is_studio_request(environ):
            return _refused(environ, start_response)
        cors = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ]
        return self._moto(environ, start_response, cors)

    def _moto(
        self, environ: dict[str, Any], start_response: Any, cors: list[tuple[str, str]]
    ) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, _with_cors(headers, cors), exc_info)

        return self.app(environ, start)
