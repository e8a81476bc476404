"""The Host rule of the local servers: loopback names with or without the server's own port, nothing else."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from voiceclone_local import loopback
from voiceclone_local.loopback import LoopbackRequestHandler
from voiceclone_local.pooled_server import PooledHTTPServer

PORT = 8123


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        f"127.0.0.1:{PORT}",
        "localhost",
        f"localhost:{PORT}",
        f"LocalHost:{PORT}",
        "[::1]",
        f"[::1]:{PORT}",
        None,  # no Host header at all: no browser sends such a request
    ],
)
def test_a_loopback_name_is_served(host: str | None) -> None:
    assert loopback.served(host, PORT)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        f"evil.example:{PORT}",
        "127.0.0.1.evil.example",
        f"127.0.0.1.evil.example:{PORT}",
        f"localhost.evil.example:{PORT}",
        "localhost.",
        f"127.0.0.1:{PORT + 1}",  # another local server's port
        f"localhost:{PORT}0",
        "[::1]:1",
        "0.0.0.0",
        "127.0.0.2",
        "",
        f"127.0.0.1:{PORT}, evil.example",  # two Host headers, joined
        f" 127.0.0.1:{PORT}",
    ],
)
def test_any_other_host_is_refused(host: str) -> None:
    assert not loopback.served(host, PORT)


def test_the_refusal_says_which_hosts_are_served() -> None:
    status, headers, body = loopback.refusal(PORT)
    assert status == 421 and headers["Content-Type"].startswith("text/plain")
    assert all(name in body.decode() for name in ("127.0.0.1", "localhost", "[::1]", f":{PORT}"))


def test_the_origins_of_a_local_server_are_its_loopback_urls() -> None:
    assert loopback.origins(PORT) == [
        f"http://127.0.0.1:{PORT}",
        f"http://localhost:{PORT}",
        f"http://[::1]:{PORT}",
    ]


# ----- the rule in the two kinds of server --------------------------------------------------------------


class _Hello(LoopbackRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _hello(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"hello")

    do_GET = do_POST = _hello


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A pooled server (the gateway's and the sandboxes') with the smallest handler: its URL."""
    pooled = PooledHTTPServer(("127.0.0.1", 0), _Hello, 2)
    threading.Thread(target=pooled.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{pooled.server_address[1]}"
    finally:
        pooled.shutdown()
        pooled.server_close()


def test_a_pooled_server_refuses_another_host_before_its_handler(server: str) -> None:
    port = httpx.URL(server).port
    # When a page that rebound its name to 127.0.0.1 asks, with a body, and then with no port
    refused = httpx.post(server + "/", headers={"Host": f"evil.example:{port}"}, content=b"x" * 1_000_000)
    bare = httpx.get(server + "/", headers={"Host": "127.0.0.1.evil.example"})

    # Then both are refused with a body that names the Hosts served, the handler never runs
    for response in (refused, bare):
        assert response.status_code == 421, response.text
        assert "hello" not in response.text and "127.0.0.1, localhost, [::1]" in response.text
        assert response.headers["Connection"] == "close"


def test_a_pooled_server_serves_loopback_hosts(server: str) -> None:
    port = httpx.URL(server).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "127.0.0.1"):
        assert httpx.get(server + "/", headers={"Host": host}).text == "hello"


def test_a_request_without_host_is_served(server: str) -> None:
    url = httpx.URL(server)
    with socket.create_connection((url.host, url.port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = b"".join(iter(lambda: conn.recv(4096), b""))
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")


def _moto_like(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"moto"]


def _call(app: loopback.WsgiApp, host: str | None, body: bytes = b"") -> tuple[str, bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": str(len(body))}
    environ["wsgi.input"] = io.BytesIO(body)
    if host is not None:
        environ["HTTP_HOST"] = host
    answered: list[str] = []
    result = b"".join(app(environ, lambda status, headers, exc_info=None: answered.append(status)))
    return answered[0], result


def test_the_wsgi_rule_refuses_another_host_and_serves_loopback() -> None:
    app = loopback.wsgi(_moto_like, PORT)
    status, body = _call(app, f"evil.example:{PORT}", b"{}")
    assert status.startswith("421") and b"moto" not in body and b"localhost" in body
    assert _call(app, f"127.0.0.1:{PORT}") == ("200 OK", b"moto")
    assert _call(app, "localhost") == ("200 OK", b"moto")
    assert _call(app, None) == ("200 OK", b"moto")
