"""The Host rule of every local server: only a loopback name is answered, so DNS rebinding reaches nothing.

A page on any site can point its own name at 127.0.0.1 once loaded (DNS rebinding) and then
call a local server "same-origin": CORS never applies, and the browser sends that site's name
as ``Host``. Every local server (the API gateway, moto, each vendor sandbox) listens on
127.0.0.1 and answers only a ``Host`` that is a loopback name, with or without its own port:
the name a rebinding page has to send is always its own, never one of these. The functions,
boto3 and the vendors' SDKs send ``Host: 127.0.0.1`` or ``127.0.0.1:PORT``.

A request without ``Host`` is served: no browser sends one (HTTP/1.0 tools may), so it cannot
come from a page. Used by ``pooled_server`` (the gateway and the sandboxes, through
:class:`LoopbackRequestHandler`) and by ``moto_server`` (a WSGI app, through :func:`wsgi`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Misdirected Request: this server is not the one the Host names.
REFUSED_STATUS = 421


def served(host: str | None, port: int) -> bool:
    """Whether a server on ``port`` answers a request with this ``Host`` value (None: no header)."""
    if host is None:
        return True
    name = host.lower()
    return any(name in (loopback, f"{loopback}:{port}") for loopback in LOOPBACK_NAMES)


def origins(port: int) -> list[str]:
    """The browser origins of a local server on ``port``: its URL under each loopback name."""
    return [f"http://{name}:{port}" for name in LOOPBACK_NAMES]


def refusal(port: int) -> tuple[int, dict[str, str], bytes]:
    """The answer to a request for another Host: the status, headers and a body naming the Hosts served."""
    names = ", ".join(LOOPBACK_NAMES)
    body = (
        f"Misdirected request: this local server answers only Host {names} (with or without :{port}).\n"
    ).encode()
    return REFUSED_STATUS, {"Content-Type": "text/plain; charset=utf-8"}, body


class LoopbackRequestHandler(BaseHTTPRequestHandler):
    """A request handler that refuses a request for any Host but a loopback name before its method runs."""

    server: HTTPServer

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        hosts = self.headers.get_all("Host")
        port = int(self.server.server_address[1])
        # Two Host headers are joined, so they are served only if they were one.
        if served(", ".join(hosts) if hosts else None, port):
            return True
        status, headers, body = refusal(port)
        self.close_connection = True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return False


WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


def wsgi(app: WsgiApp, port: int) -> WsgiApp:
    """``app`` answering only loopback Hosts (werkzeug joins repeated headers, so two Hosts are refused)."""

    def call(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if served(environ.get("HTTP_HOST"), port):
            return app(environ, start_response)
        status, headers, body = refusal(port)
        length = ("Content-Length", str(len(body)))
        start_response(f"{status} Misdirected Request", [*headers.items(), length])
        return [body]

    return call
