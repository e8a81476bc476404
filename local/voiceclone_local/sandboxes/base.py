"""What every vendor sandbox shares: the HTTP server, fault knobs, simulated training, audio download.

A vendor sandbox is a function from :class:`SandboxRequest` to :class:`SandboxResponse`
(its wire format and auth) on top of these pieces (its behaviour over time).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx
from pydantic import BaseModel, Field


def env_or(name: str, default: str) -> Callable[[], str]:
    """A default factory: the environment variable (the adapter reads the same one), else a fixed value."""
    return lambda: os.environ.get(name) or default


class SandboxConfig(BaseModel):
    """Behaviour knobs every sandbox has; mutable at runtime (tests change them between jobs)."""

    training_seconds: float = Field(default=2.0, ge=0)
    fail_training: str | None = None  # the vendor's failure reason, when set
    throttle_first: int = Field(default=0, ge=0)  # the next N requests are rate limited
    internal_error_first: int = Field(default=0, ge=0)  # the next N requests fail with a server error
    # The next N create calls are performed and then the connection is dropped without an answer.
    drop_create_response_first: int = Field(default=0, ge=0)
    callback_enabled: bool = True


class Fault(StrEnum):
    THROTTLE = "throttle"
    INTERNAL = "internal"


class DropConnection(Exception):
    """Raised by a handler to close the connection without answering (a lost response)."""


@dataclass
class SandboxRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class SandboxResponse:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class Faults:
    """Consumes the configured fault counters, thread-safely, one request at a time."""

    def __init__(self, config: Callable[[], SandboxConfig]) -> None:
        self._config = config
        self._lock = threading.Lock()

    def next(self) -> Fault | None:
        with self._lock:
            config = self._config()
            if config.throttle_first:
                config.throttle_first -= 1
                return Fault.THROTTLE
            if config.internal_error_first:
                config.internal_error_first -= 1
                return Fault.INTERNAL
        return None

    def drop_create_response(self) -> bool:
        with self._lock:
            config = self._config()
            if config.drop_create_response_first:
                config.drop_create_response_first -= 1
                return True
        return False


class TrainingState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass
class SimulatedTask:
    task_id: str
    created: float
    training_seconds: float
    failure: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    finished: bool = False

    def state(self, now: float | None = None) -> TrainingState:
        elapsed = (now if now is not None else time.monotonic()) - self.created
        if elapsed >= self.training_seconds:
            return TrainingState.FAILED if self.failure else TrainingState.SUCCEEDED
        return TrainingState.PENDING if elapsed < 0.2 * self.training_seconds else TrainingState.RUNNING


class TrainingSimulator:
    """Tasks that finish after the configured time, and a hook called once when each finishes."""

    def __init__(self, config: Callable[[], SandboxConfig]) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.tasks: dict[str, SimulatedTask] = {}
        self.tasks_created = 0
        self._timers: list[threading.Timer] = []

    def create(self, on_finish: Callable[[SimulatedTask], None] | None = None, **meta: Any) -> SimulatedTask:
        config = self._config()
        task = SimulatedTask(
            task_id=meta.pop("task_id", None) or uuid.uuid4().hex,
            created=time.monotonic(),
            training_seconds=config.training_seconds,
            failure=config.fail_training,
            meta=meta,
        )
        with self._lock:
            self.tasks[task.task_id] = task
            self.tasks_created += 1
        if on_finish is not None:
            timer = threading.Timer(task.training_seconds, self._finish, args=(task, on_finish))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        return task

    def _finish(self, task: SimulatedTask, on_finish: Callable[[SimulatedTask], None]) -> None:
        task.finished = True
        on_finish(task)

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()


def fetch_audio(url: str, max_bytes: int = 50 * 1024 * 1024) -> bytes:
    """Download audio the way a vendor does from a URL it was given; raises ValueError when it cannot."""
    try:
        response = httpx.get(url, timeout=30.0, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ValueError(f"cannot download the audio: {exc}") from exc
    if response.status_code != 200:
        raise ValueError(f"downloading the audio answered HTTP {response.status_code}")
    if len(response.content) > max_bytes:
        raise ValueError(f"the audio is larger than {max_bytes} bytes")
    return response.content


def post_callback(url: str, body: bytes, attempts: int = 3) -> int | None:
    """POST a vendor callback; a few tries on connection errors and 5xx. Returns the last status."""
    status = None
    for attempt in range(attempts):
        try:
            status = httpx.post(
                url, content=body, headers={"Content-Type": "application/json"}, timeout=10
            ).status_code
        except httpx.HTTPError:
            status = None
        if status is not None and status < 500:
            return status
        time.sleep(0.2 * (2**attempt))
    return status


class SandboxServer:
    """A threaded HTTP server on 127.0.0.1 that hands each request to `handle`."""

    def __init__(
        self, handle: Callable[[SandboxRequest], SandboxResponse], host: str = "127.0.0.1", port: int = 0
    ):
        self.handle = handle
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # requests carry credentials
                return

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle holds the body ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = SandboxRequest(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                try:
                    response = server.handle(request)
                except DropConnection:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._httpd = ThreadingHTTPServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 128
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class SandboxBase:
    """The lifecycle every vendor sandbox shares; a subclass sets `_server` and `_trainer`."""

    _server: SandboxServer
    _trainer: TrainingSimulator
    _serving = False
    _stopped = False

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def tasks_created(self) -> int:
        """How many vendor tasks (trainings) were created: tests hold a job to exactly one."""
        return self._trainer.tasks_created

    @property
    def requests(self) -> dict[str, int]:
        """Requests served, by the sandbox's route names, authenticated or not."""
        return dict(self._server.requests)

    def start(self) -> Self:
        """Serve from a daemon thread; returns self so `Sandbox().start()` reads naturally."""
        self._server.start()
        self._serving = True
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's `voiceclone sandbox`)."""
        self._serving = True
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice, and before start()."""
        if self._stopped:
            return
        self._stopped = True
        if not self._serving:
            # SandboxServer.stop waits for a serve loop to acknowledge the shutdown: give it one.
            self._server.start()
        self._server.stop()
        self._trainer.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
