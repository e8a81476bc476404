"""The HTTP side of a sandbox: the request and answer it handles, its refusals, and its server on 127.0.0.1.

One request per connection through a bounded pool of workers (voiceclone_local.pooled_server),
loopback Hosts only (voiceclone_local.loopback); what the sandbox answers is decided by
voiceclone_local.sandboxes.base.SandboxBase.handle.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from voiceclone_local.loopback import LoopbackRequestHandler
from voiceclone_local.pooled_server import PooledHTTPServer

# How many requests a sandbox serves at once; more wait in the listen backlog or the pool's queue.
WORKERS = 64
MAX_BODY_BYTES = 64 * 1024 * 1024


class SandboxApiError(Exception):
    """A refusal in the vendor's terms: the HTTP status it is sent with, the vendor's code and message."""

    def __init__(self, status: int, code: str | int, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message


class DropConnection(Exception):
    """Raised by an operation to close the connection without answering (a lost response)."""


@dataclass
class SandboxRequest:
    method: str
    path: str
    # The last value of each query key; `query_pairs` keeps every pair in order (a key may repeat).
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    query_pairs: list[tuple[str, str]] = field(default_factory=list)
    too_large: bool = False  # the declared body exceeded the sandbox's limit and was not read

    def query_lists(self) -> dict[str, list[str]]:
        """Every value of each query key, in the order sent."""
        lists: dict[str, list[str]] = {}
        for key, value in self.query_pairs:
            lists.setdefault(key, []).append(value)
        return lists


@dataclass
class SandboxResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, envelope: Any, headers: dict[str, str] | None = None) -> SandboxResponse:
    body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    return SandboxResponse(status=status, body=body, headers=headers or {})


def json_object(
    body: bytes, invalid: Callable[[str], SandboxApiError], *, empty: bool = True
) -> dict[str, Any]:
    """The body as a JSON object, or the vendor's parameter error; an empty body is {} when `empty`."""
    if not body.strip():
        if empty:
            return {}
        raise invalid("the request body must be a JSON object")
    try:
        value = json.loads(body)
    except ValueError:
        raise invalid("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid("the request body must be a JSON object")
    return value


def optional_int(
    params: Mapping[str, Any], name: str, invalid: Callable[[str], SandboxApiError]
) -> int | None:
    """An integer parameter (a JSON bool is not one), None when absent; else the vendor's parameter error."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"`{name}` must be an integer")
    return value


class _Handler(LoopbackRequestHandler):
    """Moves bytes between a socket and `SandboxServer.handle`; one request per connection, loopback Hosts."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # requests carry credentials
        return

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle holds the body ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        # One request per connection: a kept-alive idle connection would hold one of the bounded workers.
        self.close_connection = True
        declared = self.headers.get("Content-Length") or "0"
        length = int(declared) if declared.isdigit() else -1
        too_large = length < 0 or length > self.server.max_body_bytes
        parts = urlsplit(self.path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        request = SandboxRequest(
            method=self.command,
            path=parts.path,
            query=dict(pairs),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length > 0 and not too_large else b"",
            query_pairs=pairs,
            too_large=too_large,
        )
        try:
            response = self.server.handle(request)
        except DropConnection:
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class SandboxServer(PooledHTTPServer):
    """A sandbox's HTTP server on 127.0.0.1: a real listen backlog and a bounded pool of workers."""

    def __init__(
        self,
        handle: Callable[[SandboxRequest], SandboxResponse],
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = WORKERS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.handle = handle
        self.max_body_bytes = max_body_bytes
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler, workers, "sandbox")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else str(host)
        return f"http://{shown}:{port}"

    def start(self) -> None:
        # A short poll interval keeps stop(), which waits for the serve loop to notice, quick.
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-accept", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
