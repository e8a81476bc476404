"""The local HTTP server of the local API Gateway and every vendor sandbox.

socketserver's default listen backlog is 5 and ThreadingHTTPServer starts a thread per
connection without bound; this server listens with a real backlog (a class attribute, in
place before the constructor binds and listens) and hands accepted connections to a
bounded pool of worker threads, one request each. Its handler is a
``loopback.LoopbackRequestHandler``: a request for any Host but a loopback name is refused.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from http.server import HTTPServer
from typing import Any

from voiceclone_local.loopback import LoopbackRequestHandler

LISTEN_BACKLOG = 128


class PooledHTTPServer(HTTPServer):
    """An HTTP server whose connections are handled by a bounded pool of threads, one request each."""

    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[LoopbackRequestHandler],
        workers: int,
        thread_name_prefix: str = "local-http",
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=thread_name_prefix)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - one broken connection must not stop the worker
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that hangs up is its own business."""

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)
