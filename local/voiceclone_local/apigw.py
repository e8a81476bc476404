"""A small API Gateway on 127.0.0.1: each HTTP request becomes a REST proxy event for the route's function."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from voiceclone_local.template import Route

# (function name, event) -> (payload, function error or None)
Invoker = Callable[[str, dict[str, Any]], tuple[dict[str, Any], str | None]]


def proxy_event(
    route: Route, method: str, raw_path: str, headers: dict[str, str], body: bytes, tenant_id: str
) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    match = route.pattern.match(parts.path)
    query = parse_qs(parts.query, keep_blank_values=True)
    text_body: str | None
    try:
        text_body, b64 = (body.decode("utf-8"), False) if body else (None, False)
    except UnicodeDecodeError:
        text_body, b64 = base64.b64encode(body).decode(), True
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
            "path": "/local" + parts.path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "accountId": tenant_id,
            "apiId": "local",
            "identity": {
                "accountId": tenant_id,
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("User-Agent"),
            },
        },
    }


class LocalApiGateway:
    def __init__(self, routes: list[Route], function_names: dict[str, str], invoke: Invoker, tenant_id: str):
        self.routes = routes
        self.function_names = function_names
        self.invoke = invoke
        self.tenant_id = tenant_id
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # no access log: URLs hold tokens
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle holds the body ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = gateway.dispatch(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="local-apigw").start()
        return f"http://{host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        candidates = [r for r in self.routes if r.pattern.match(path)]
        route = next((r for r in candidates if r.method == method), None)
        if route is None:
            status = 405 if candidates else 404
            message = "Method Not Allowed" if candidates else "Missing Authentication Token"
            return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()
        event = proxy_event(route, method, raw_path, headers, body, self.tenant_id)
        result, error = self.invoke(self.function_names[route.function_logical_id], event)
        if error:
            return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
        out_headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
        for key, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[key] = ", ".join(str(v) for v in values)
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        return int(result.get("statusCode") or 200), out_headers, payload
