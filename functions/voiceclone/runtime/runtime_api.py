"""The Lambda Runtime API, spoken over a kept-alive HTTP/1.1 connection with http.client.

Lambda serves the Runtime API on ``AWS_LAMBDA_RUNTIME_API`` inside the execution environment.
One connection carries the requests in turn, as AWS's runtime clients keep theirs (the Node
client's agent: ``keepAlive: true, maxSockets: 1``; the Go client's shared ``http.Client``): each
answer is read to its end before the next request, http.client closes the connection when an
answer says ``Connection: close`` and opens a new one on the next request, and an idle
connection the far end has closed meanwhile (readable at EOF) is dropped before it is reused. A
``next`` that meets a connection the far end dropped is sent again once on a new one: nothing
was handed out on a request that got no answer. No timeout: Lambda may freeze the process
between the request and its answer (Lambda developer guide, "Next invocation").

A streamed response is a POST in HTTP/1.1 chunked encoding written a chunk at a time; trailers
declared up front carry an error that happens after its first byte, and the connection is
closed once Lambda has acknowledged the response (Lambda developer guide, "Implementing
response streaming in a custom runtime"; the Node client's ``ResponseStream.js``).
"""

from __future__ import annotations

import http.client
import select
from typing import TYPE_CHECKING
from urllib.parse import quote

from voiceclone.runtime.context import REQUEST_ID
from voiceclone.runtime.errors import ERROR_BODY, ERROR_TYPE, ErrorReport
from voiceclone.runtime.streaming import StreamClosed

if TYPE_CHECKING:
    from typing import NoReturn

API_VERSION = "2018-06-01"
RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"
ACCEPTED = 202


class RuntimeApiError(Exception):
    """The Runtime API refused a request: the environment is not in a state this runtime can go on in."""

    def __init__(self, endpoint: str, status: int, body: bytes) -> None:
        super().__init__(f"the Runtime API answered {status} to {endpoint}: {body[:500]!r}")
        self.status = status


class Invocation:
    """One event to handle: its request id, the ``next`` answer's headers (lower-case names), its body."""

    __slots__ = ("body", "headers", "request_id")

    def __init__(self, request_id: str, headers: dict[str, str], body: bytes) -> None:
        self.request_id = request_id
        self.headers = headers
        self.body = body


class RuntimeApi:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._conn = http.client.HTTPConnection(host, int(port))

    def next_invocation(self) -> Invocation:
        try:
            status, headers, body = self._exchange("GET", "/runtime/invocation/next")
        except ConnectionError:  # the far end dropped the connection before answering: ask again
            self._conn.close()
            status, headers, body = self._exchange("GET", "/runtime/invocation/next")
        if status != 200:
            raise RuntimeApiError("next", status, body)
        return Invocation(headers.get(REQUEST_ID.lower(), ""), headers, body)

    def post_response(self, request_id: str, payload: bytes, content_type: str = "application/json") -> None:
        self._post(_invocation_path(request_id, "response"), payload, {"Content-Type": content_type})

    def post_error(self, request_id: str, report: ErrorReport) -> None:
        self._post(_invocation_path(request_id, "error"), report.body(), _error_headers(report))

    def post_init_error(self, report: ErrorReport) -> None:
        self._post("/runtime/init/error", report.body(), _error_headers(report))

    def open_stream(self, request_id: str, content_type: str) -> StreamedResponse:
        """Begin the invocation's response as a chunked POST; its headers go out now."""
        self._drop_if_closed()
        return StreamedResponse(
            self._conn, f"/{API_VERSION}{_invocation_path(request_id, 'response')}", content_type
        )

    def close(self) -> None:
        self._conn.close()

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        status, _, answer = self._exchange("POST", path, body, headers)
        if status != ACCEPTED:
            raise RuntimeApiError(path, status, answer)

    def _exchange(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self._drop_if_closed()
        self._conn.request(method, f"/{API_VERSION}{path}", body=body, headers=headers or {})
        response = self._conn.getresponse()
        answer = response.read()  # to its end: the connection is free for the next request
        return response.status, {k.lower(): v for k, v in response.getheaders()}, answer

    def _drop_if_closed(self) -> None:
        """An idle kept-alive connection has nothing to read; if it has, the far end closed it.

        ``poll``, not ``select``: select refuses descriptors above 1023, which a process with many
        files open (a test run, a function with many connections) hands out.
        """
        sock = self._conn.sock
        if sock is None:
            return
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if poller.poll(0):
            self._conn.close()


class StreamedResponse:
    """One invocation's response as Lambda takes a stream: each chunk is on the wire when ``send`` returns.

    The connection is closed after Lambda's answer, as the developer guide asks of a streamed
    response; the next request opens a new one.
    """

    def __init__(self, conn: http.client.HTTPConnection, path: str, content_type: str) -> None:
        self._conn = conn
        try:
            conn.putrequest("POST", path, skip_accept_encoding=True)
            conn.putheader(RESPONSE_MODE, "streaming")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.putheader("Trailer", f"{ERROR_TYPE}, {ERROR_BODY}")
            conn.putheader("Content-Type", content_type)
            conn.endheaders()
        except OSError as exc:
            self._broken(exc)

    def send(self, chunk: bytes) -> None:
        self._send(b"%X\r\n%b\r\n" % (len(chunk), chunk))

    def finish(self) -> None:
        self._send(b"0\r\n\r\n")
        self._read_answer()

    def fail(self, report: ErrorReport) -> None:
        trailers = "".join(f"{name}: {value}\r\n" for name, value in report.trailers().items())
        self._send(b"0\r\n" + trailers.encode("ascii") + b"\r\n")
        self._read_answer()

    def _send(self, data: bytes) -> None:
        try:
            self._conn.send(data)
        except OSError as exc:
            self._broken(exc)

    def _read_answer(self) -> None:
        try:
            response = self._conn.getresponse()
            answer = response.read()
        except OSError as exc:
            self._broken(exc)
        self._conn.close()
        if response.status != ACCEPTED:
            raise RuntimeApiError("response", response.status, answer)

    def _broken(self, exc: OSError) -> NoReturn:
        self._conn.close()
        raise StreamClosed(f"the Runtime API connection broke: {exc}") from exc


def _invocation_path(request_id: str, what: str) -> str:
    return f"/runtime/invocation/{quote(request_id, safe='')}/{what}"


def _error_headers(report: ErrorReport) -> dict[str, str]:
    return {"Content-Type": "application/json", ERROR_TYPE: report.error_type}
