"""A small API Gateway on 127.0.0.1: each HTTP request becomes a REST proxy event for the route's function.

Routes behind a TOKEN authorizer run it first, as API Gateway does: no token header is a
401 without calling it, the function failing with "Unauthorized" a 401, a Deny policy a
403, and an Allow policy's context reaches the route's function in
``requestContext.authorizer``. Answers are not cached (API Gateway caches them per token).

The studio (the browser app in ``studio/`` at the repository's root) is served at ``/studio/``, with a
``config.json`` that names this API and fills in the dev key (``serve_studio``): in AWS CloudFront
serves the same files from S3 (infra/studio.py). Only files inside ``studio/`` are ever served.

Many clients at once: the socket listens with a real backlog (``pooled_server.LISTEN_BACKLOG``,
set before it listens), accepted connections wait in a queue for a bounded pool of ``WORKERS`` threads,
and each connection carries one request (``Connection: close``), so an idle keep-alive
connection never holds a worker while other clients wait. A request whose Host is not a loopback
name is refused before anything else (``loopback``): ``config.json`` holds the dev key.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from voiceclone.runtime.streaming import StreamClosed

from voiceclone_local import loopback
from voiceclone_local.loopback import LoopbackRequestHandler
from voiceclone_local.pooled_server import PooledHTTPServer
from voiceclone_local.template import Route

# (function name, event) -> (payload, function error or None)
Invoker = Callable[[str, dict[str, Any]], tuple[dict[str, Any], str | None]]
# (function name, event, the client's connection) -> whether the answer was left unterminated: a
# streaming route's function writes its answer to the client as it goes (lambda_shim.invoke_streaming).
StreamInvoker = Callable[[str, dict[str, Any], Any], bool]
API_ID = "local"
STAGE = "local"
# How long a request's body may take to arrive in full.
BODY_READ_TIMEOUT_SECONDS = 2.0
# How long a connection may stay silent before its request line and headers arrive.
IDLE_TIMEOUT_SECONDS = 10.0
# The requests handled at once (the listen backlog is pooled_server.LISTEN_BACKLOG).
WORKERS = 16


# The studio's files, and where the local gateway serves them.
STUDIO_DIR = Path(__file__).resolve().parents[2] / "studio"
STUDIO_PATH = "/studio"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass
class StudioSite:
    """The studio's static files and its config.json, with the security headers CloudFront adds in AWS.

    ``config`` is what the page reads at start (the API's URL, the dev key, the vendors);
    ``storage_origins`` are where the page uploads takes and plays audio from (the local S3).
    """

    root: Path
    config: dict[str, Any]
    storage_origins: list[str] = field(default_factory=list)

    def headers(self, content_type: str) -> dict[str, str]:
        storage = " ".join(self.storage_origins)
        policy = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {storage}; media-src 'self' blob: {storage}; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        return {
            "Content-Type": content_type,
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
            "Cache-Control": "no-cache",
        }

    def file_for(self, path: str) -> Path | None:
        """The file a request path names inside the root; None for anything else (traversal, dotfiles)."""
        relative = unquote(path)[len(STUDIO_PATH) :].lstrip("/") or "index.html"
        parts = relative.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            return None
        root = self.root.resolve()
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate

    def answer(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if method != "GET":
            return 405, {"Allow": "GET", **self.headers("text/plain; charset=utf-8")}, b"GET only\n"
        if path == STUDIO_PATH:
            return 301, {"Location": f"{STUDIO_PATH}/", **self.headers("text/plain; charset=utf-8")}, b""
        if path == f"{STUDIO_PATH}/config.json":
            return 200, self.headers("application/json"), json.dumps(self.config).encode()
        file = self.file_for(path)
        if file is None:
            return 404, self.headers("text/plain; charset=utf-8"), b"not found\n"
        content_type = CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        return 200, self.headers(content_type), file.read_bytes()


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    account_id: str,
    authorizer: dict[str, Any] | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """The REST proxy event; ``binary``: the body's media type is one the API passes as bytes (base64)."""
    parts = urlsplit(raw_path)
    match = route.pattern.match(parts.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    text_body: str | None = None
    b64 = bool(body) and binary
    if body and not binary:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            b64 = True
    if b64:
        text_body = base64.b64encode(body).decode()
    return {
        "resource": route.path,
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": match.groupdict() if match else None,
        "stageVariables": None,
        "body": text_body,
        "isBase64Encoded": b64,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            # The local URL has no stage segment (like a custom domain), so neither has this path.
            "path": parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": account_id,
            "apiId": API_ID,
            "identity": {
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent"),
            },
            **({"authorizer": authorizer} if authorizer is not None else {}),
        },
    }


def _json(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()


def _policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    """Whether an authorizer's IAM policy allows execute-api:Invoke on the method (Deny wins)."""
    allowed = False
    for statement in (policy.get("policyDocument") or {}).get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


class LocalApiGateway:
    def __init__(
        self,
        routes: list[Route],
        function_names: dict[str, str],
        invoke: Invoker,
        account_id: str,
        region: str = "us-east-1",
        binary_media_types: frozenset[str] = frozenset(),
        invoke_stream: StreamInvoker | None = None,
    ):
        self.routes = routes
        self.binary_media_types = binary_media_types
        self.function_names = function_names
        self.invoke = invoke
        self.invoke_stream = invoke_stream
        self.account_id = account_id
        self.region = region
        self._server: PooledHTTPServer | None = None
        self.url = ""
        self.studio: StudioSite | None = None

    def serve_studio(self, api_key: str, storage_origins: list[str], root: Path = STUDIO_DIR) -> str:
        """Serve the studio at <url>/studio/ with the dev key filled in; its URL ("" without studio/)."""
        from voiceclone.vendors.registry import vendor_ids

        if not (root / "index.html").is_file():  # installed without the repository's studio/ folder
            return ""
        config = {"apiUrl": self.url, "apiKey": api_key, "vendors": list(vendor_ids()), "local": True}
        self.studio = StudioSite(root, config, storage_origins)
        return f"{self.url}{STUDIO_PATH}/"

    @property
    def origins(self) -> list[str]:
        """The browser origins the studio is served from: this gateway under each loopback name."""
        return loopback.origins(self._server.server_address[1]) if self._server is not None else []

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        gateway = self

        class Handler(LoopbackRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT_SECONDS

            def log_message(self, format: str, *args: Any) -> None:  # no access log: URLs hold tokens
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle holds the body ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    self.connection.settimeout(BODY_READ_TIMEOUT_SECONDS)
                    body = self.rfile.read(length) if length > 0 else b""
                    short = len(body) < length
                except (ValueError, TimeoutError):
                    short, body = True, b""
                finally:
                    self.connection.settimeout(None)
                if short:  # a Content-Length the body never reaches, or not a number
                    status, headers, payload = _json(400, "Bad Request")
                elif (
                    streamed := gateway.stream(self.command, self.path, dict(self.headers), body)
                ) is not None:
                    # A streaming route: its function answers on the connection as it goes.
                    self.close_connection = True
                    if isinstance(streamed, tuple):  # refused before the function ran
                        status, headers, payload = streamed
                    else:
                        with contextlib.suppress(StreamClosed):  # the client went away: nothing to write
                            streamed(self.wfile)
                        return
                else:
                    status, headers, payload = gateway.dispatch(
                        self.command, self.path, dict(self.headers), body
                    )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                # One request per connection: the worker is free again once it is answered.
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

            def __getattr__(self, name: str) -> Any:
                # Every method (do_GET, do_QUERY...) reaches dispatch, which answers those a route
                # lacks as API Gateway does.
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

        self._server = PooledHTTPServer((host, port), Handler, WORKERS, "local-apigw")
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="local-apigw"
        ).start()
        self.url = f"http://{host}:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        if self.studio is not None and (path == STUDIO_PATH or path.startswith(f"{STUDIO_PATH}/")):
            return self.studio.answer(method, path)
        candidates = [r for r in self.routes if r.pattern.match(path)]
        route = next((r for r in candidates if r.method == method), None)
        if route is None:
            # API Gateway answers a method it does not have like a missing route.
            return _json(403, "Missing Authentication Token")
        context: dict[str, Any] | None = None
        if route.authorizer_logical_id:
            denied, context = self._authorize(route, method, path, headers)
            if denied:
                return denied
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        binary = content_type.split(";", 1)[0].strip().lower() in self.binary_media_types
        event = proxy_event(route, method, raw_path, headers, body, self.account_id, context, binary)
        result, error = self.invoke(self.function_names[route.function_logical_id], event)
        if error:
            return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        return int(result.get("statusCode") or 200), out_headers, payload

    def stream(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> Callable[[Any], bool] | tuple[int, dict[str, str], bytes] | None:
        """For a streaming route: what answers on the client's connection (``answer(wfile)``), or its
        authorizer's refusal; None for any other request (dispatch answers it)."""
        path = urlsplit(raw_path).path
        route = next((r for r in self.routes if r.method == method and r.pattern.match(path)), None)
        if route is None or not route.streaming or self.invoke_stream is None:
            return None
        context: dict[str, Any] | None = None
        if route.authorizer_logical_id:
            denied, context = self._authorize(route, method, path, headers)
            if denied:
                return denied
        event = proxy_event(route, method, raw_path, headers, body, self.account_id, context)
        name, invoke_stream = self.function_names[route.function_logical_id], self.invoke_stream
        return lambda out: invoke_stream(name, event, out)

    def _authorize(
        self, route: Route, method: str, path: str, headers: dict[str, str]
    ) -> tuple[tuple[int, dict[str, str], bytes] | None, dict[str, Any] | None]:
        """(the refusal, None) or (None, the requestContext.authorizer of the allowed request)."""
        token = next((v for k, v in headers.items() if k.lower() == route.identity_header.lower()), "")
        if not token:
            return _json(401, "Unauthorized"), None
        method_arn = f"arn:aws:execute-api:{self.region}:{self.account_id}:{API_ID}/{STAGE}/{method}{path}"
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        assert route.authorizer_logical_id is not None
        policy, error = self.invoke(self.function_names[route.authorizer_logical_id], event)
        if error:
            if policy.get("errorMessage") == "Unauthorized":
                return _json(401, "Unauthorized"), None
            return _json(500, "AuthorizerConfigurationException"), None
        if not _policy_allows(policy, method_arn):
            return _json(403, "User is not authorized to access this resource"), None
        context = {str(k): v for k, v in (policy.get("context") or {}).items()}
        return None, {**context, "principalId": policy.get("principalId")}
