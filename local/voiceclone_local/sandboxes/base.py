"""What every vendor sandbox shares: the request skeleton, the HTTP server, faults, training, callbacks.

A vendor sandbox subclasses :class:`SandboxBase` and declares its ``vendor_id``,
its routes (a Werkzeug ``Map``), its authentication, its envelope and its
operations; :meth:`SandboxBase.handle` runs every request through the same steps:
route, count, authenticate, inject a fault, dispatch, wrap. Every refusal is one
:class:`SandboxApiError` (HTTP status, the vendor's code, message) that the
vendor's envelope renders. The local stack finds a vendor's sandbox by
convention (:meth:`SandboxBase.for_vendor`), so adding a vendor adds no list entry.

Faults (:class:`Fault`) come from counters ("the next N requests are throttled") or
at random, with a probability per kind drawn from one seeded ``random.Random`` per
sandbox (:class:`FaultDice`); both go through :meth:`SandboxBase.handle` and
:meth:`SandboxBase.post_callback`, so every vendor gets every kind, and each sandbox
counts what it injected (:attr:`SandboxBase.faults_injected`).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import random
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator
from voiceclone.domain.audio import inspect_wav
from voiceclone.vendors.config import env_name, timeout_seconds
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from voiceclone_local.loopback import LoopbackRequestHandler
from voiceclone_local.pooled_server import LISTEN_BACKLOG, PooledHTTPServer

# Re-exported: a sandbox declares its routes with these.
__all__ = ["LISTEN_BACKLOG", "Map", "Rule"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How many requests a sandbox serves at once; more wait in the listen backlog or the pool's queue.
WORKERS = 64
MAX_BODY_BYTES = 64 * 1024 * 1024


def env_or(vendor_id: str, field_name: str, default: str) -> Callable[[], str]:
    """A default factory: the vendor's setting variable (the adapter reads it too), else a fixed value."""
    return lambda: os.environ.get(env_name(vendor_id, field_name)) or default


class Fault(StrEnum):
    """What a sandbox can do wrong; each kind is counted as injected (SandboxBase.faults_injected)."""

    # Refusals, in the vendor's own terms (fault_error), to authenticated requests only.
    THROTTLE = "throttle"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    # Transport faults, on any request: an answer after the caller's timeout, a closed connection.
    TIMEOUT = "timeout"
    DROPPED = "dropped"
    # Callbacks: one never sent, one sent several times at once.
    LOST_CALLBACK = "lost_callback"
    DUPLICATE_CALLBACK = "duplicate_callback"


REFUSALS = (Fault.THROTTLE, Fault.INTERNAL, Fault.UNAVAILABLE)
TRANSPORT_FAULTS = (Fault.TIMEOUT, Fault.DROPPED)
CALLBACK_FAULTS = (Fault.LOST_CALLBACK, Fault.DUPLICATE_CALLBACK)


class FaultRates(BaseModel):
    """The probability of each fault: per request for the request faults, per callback for the others.

    A request draws once among the kinds that apply to it, a callback once among the callback
    kinds, so each group's probabilities add up to at most 1.
    """

    model_config = ConfigDict(frozen=True)

    throttle: float = Field(default=0.0, ge=0, le=1)
    internal: float = Field(default=0.0, ge=0, le=1)
    unavailable: float = Field(default=0.0, ge=0, le=1)
    timeout: float = Field(default=0.0, ge=0, le=1)
    dropped: float = Field(default=0.0, ge=0, le=1)
    lost_callback: float = Field(default=0.0, ge=0, le=1)
    duplicate_callback: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _each_group_at_most_one(self) -> Self:
        for group in (REFUSALS + TRANSPORT_FAULTS, CALLBACK_FAULTS):
            total = sum(self.of(kind) for kind in group)
            if total > 1:
                names = ", ".join(kind.value for kind in group)
                raise ValueError(f"the probabilities of {names} add up to {total:g}, more than 1")
        return self

    def of(self, kind: Fault) -> float:
        rate: float = getattr(self, kind.value)
        return rate


class FaultDice:
    """Faults at random: one ``random.Random`` per sandbox, one draw per request or callback.

    A seed names a sequence of draws (one seed, one sequence); which request
    gets which draw depends on the order requests arrive in, which a concurrent run does not fix.
    """

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def draw(self, rates: FaultRates, kinds: Sequence[Fault]) -> Fault | None:
        """One of ``kinds`` with its probability in ``rates``, or None (no fault) with what is left."""
        point = self._random.random()
        for kind in kinds:
            rate = rates.of(kind)
            if point < rate:
                return kind
            point -= rate
        return None


class SandboxConfig(BaseModel):
    """Behaviour knobs every sandbox has; mutable at runtime (tests change them between jobs)."""

    model_config = ConfigDict(validate_assignment=True)

    # Time from create to success/failure; the first fifth of it the task is queued (PENDING).
    training_seconds: float = Field(default=2.0, ge=0)
    fail_training: str | None = None  # the vendor's failure reason, when set
    # The next N authenticated requests are refused as the vendor refuses them: rate limited
    # (HTTP 429), failed inside (500), unavailable (503); each answer carries the vendor's own code.
    throttle_first: int = Field(default=0, ge=0)
    internal_error_first: int = Field(default=0, ge=0)
    unavailable_first: int = Field(default=0, ge=0)
    # The next N create calls are performed and then the connection is dropped without an answer.
    drop_create_response_first: int = Field(default=0, ge=0)
    # Checked when a task finishes, so turning it off also silences tasks already running.
    callback_enabled: bool = True
    # Delivery attempts per callback (first try included) and the base of the exponential pause between them.
    callback_attempts: int = Field(default=3, ge=1)
    callback_retry_seconds: float = Field(default=0.2, ge=0)
    # The next N requests of any kind (presigned uploads and file downloads too) answer late: held
    # past the caller's vendor timeout, then performed and answered (to nobody, if the caller gave up).
    timeout_first: int = Field(default=0, ge=0)
    # The next N requests of any kind are performed, then the connection is closed unanswered.
    drop_response_first: int = Field(default=0, ge=0)
    # The next N callbacks are never sent; the next N after those are sent `callback_copies` times at once.
    lose_callback_first: int = Field(default=0, ge=0)
    duplicate_callback_first: int = Field(default=0, ge=0)
    callback_copies: int = Field(default=2, ge=2)
    # How long a late answer is held; None: the service's vendor timeout (VOICECLONE_VENDOR_TIMEOUT_SECONDS,
    # read when the fault happens, as the local stack sets it for its functions) and one second more.
    late_answer_seconds: float | None = Field(default=None, gt=0)
    # Faults at random (the soak): each kind's probability per request or per callback, drawn from one
    # random.Random per sandbox seeded with `fault_seed` and the vendor id (FaultDice).
    fault_rates: FaultRates = Field(default_factory=FaultRates)
    fault_seed: int = 0


# The counter each fault consumes, in the order they are consumed.
_FAULT_KNOBS = (
    (Fault.THROTTLE, "throttle_first"),
    (Fault.INTERNAL, "internal_error_first"),
    (Fault.UNAVAILABLE, "unavailable_first"),
    (Fault.TIMEOUT, "timeout_first"),
    (Fault.DROPPED, "drop_response_first"),
)
_CALLBACK_KNOBS = (
    (Fault.LOST_CALLBACK, "lose_callback_first"),
    (Fault.DUPLICATE_CALLBACK, "duplicate_callback_first"),
)


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


@dataclass(frozen=True)
class Route:
    """What a request asks for: a name to count it by, the operation (None: no such API) and its arguments."""

    name: str
    endpoint: str | None
    args: Mapping[str, str] = field(default_factory=dict)
    plane: str = ""  # for a vendor with two APIs on one port (Volcengine)
    authenticated: bool = True  # False for presigned uploads, which carry no API credentials


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


def audio_problem(
    data: bytes, *, min_seconds: float, max_seconds: float, sample_rate: int = 16000
) -> str | None:
    """Why this training audio cannot make a voice, in words a person can act on; None if it can."""
    report = inspect_wav(
        data, expected_sample_rate=sample_rate, min_seconds=min_seconds, max_seconds=max_seconds
    )
    return None if report.ok else "; ".join(f.message for f in report.findings)


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


# ----- speaking with a trained voice ----------------------------------------------------------------

# A voice keeps this much of each training recording (its loudest 20 ms frames, in order), and at most
# VOICE_SAMPLE_SECONDS in all: enough to speak from, small enough for a stack of many voices.
SENTENCE_SAMPLE_SECONDS = 1.5
VOICE_SAMPLE_SECONDS = 30.0
_FRAME_SECONDS = 0.02
# Reading pace at speed 1: a CJK character, another letter or digit (spaces and punctuation are free).
CJK_SECONDS, LETTER_SECONDS = 0.22, 0.07
SPEECH_FORMATS = ("wav", "mp3", "pcm")
# How long an asynchronous vendor's synthesis job takes in a sandbox by default (a knob of each).
SPEECH_DELAY_SECONDS = 0.5


def voice_sample(wav: bytes, seconds: float = SENTENCE_SAMPLE_SECONDS) -> bytes:
    """The voiced part of a training recording (16-bit mono WAV): its loudest frames, up to ``seconds``.

    Frames quieter than a tenth of the recording's peak are pauses and are left out, so what
    the sandbox later speaks from is the speaker's voice, never silence.
    """
    from array import array

    from voiceclone.domain.audio import pcm_of

    rate, pcm = pcm_of(wav)
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    frame = max(1, int(rate * _FRAME_SECONDS))
    # Every 8th sample is plenty to tell a voiced frame from a pause, at an eighth of the cost.
    peaks = [
        max(max(chunk), -min(chunk)) if chunk else 0
        for chunk in (samples[i : i + frame : 8] for i in range(0, len(samples), frame))
    ]
    floor = max(peaks, default=0) // 10
    kept = bytearray()
    limit = int(seconds * rate) * 2
    for index, peak in enumerate(peaks):
        if peak > floor and peak > 0:
            kept += samples[index * frame : (index + 1) * frame].tobytes()
            if len(kept) >= limit:
                break
    return bytes(kept[:limit])


def reading_seconds(text: str, speed: float = 1.0) -> float:
    """How long a speaker takes to read ``text`` at ``speed`` (1.0 natural): grows with the text."""
    units = sum(CJK_SECONDS if ord(ch) >= 0x2E80 else LETTER_SECONDS for ch in text if ch.isalnum())
    return max(0.2, units / speed)


def speak(
    sample: bytes, text: str, *, fmt: str, sample_rate: int, speed: float = 1.0, rate: int = 16000
) -> bytes:
    """The voice in ``sample`` (16-bit mono PCM at ``rate``) saying ``text``, as ``fmt`` at ``sample_rate``.

    Slices of the voice's own recordings, as long as reading the text takes, from a point the
    text picks (the same text, the same audio); resampled and encoded with FFmpeg (PyAV).
    """
    import hashlib

    from voiceclone.domain.audio import wav_file
    from voiceclone.domain.audio_decode import decode_pcm16, encode

    if fmt not in SPEECH_FORMATS:
        raise ValueError(f"cannot make {fmt!r} audio")
    if len(sample) < 2:
        raise ValueError("the voice has no recorded audio to speak from")
    frames = len(sample) // 2
    wanted = int(reading_seconds(text, speed) * rate)
    start = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % frames
    out = bytearray()
    position = start
    while len(out) < wanted * 2:
        take = min(wanted - len(out) // 2, frames - position)
        out += sample[position * 2 : (position + take) * 2]
        position = (position + take) % frames
    pcm = bytes(out)
    if sample_rate != rate:
        pcm, _ = decode_pcm16(wav_file(rate, pcm), sample_rate)
    if fmt == "pcm":
        return pcm
    if fmt == "wav":
        return wav_file(sample_rate, pcm)
    return encode(pcm, sample_rate, "mp3")


class TrainingState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def state_map(pending: T, running: T, succeeded: T, failed: T) -> dict[TrainingState, T]:
    """A vendor's names for the simulated training states."""
    return {
        TrainingState.PENDING: pending,
        TrainingState.RUNNING: running,
        TrainingState.SUCCEEDED: succeeded,
        TrainingState.FAILED: failed,
    }


# Share of training_seconds a task spends queued before it runs.
PENDING_SHARE = 0.2


@dataclass
class SimulatedTask:
    task_id: str
    created: float
    training_seconds: float
    failure: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    finished: bool = False  # set by the completion timer, so status and callback agree
    # Set once completion is fully handled (callback delivered, given up on, or not wanted).
    settled: threading.Event = field(default_factory=threading.Event)

    def state(self, now: float | None = None) -> TrainingState:
        elapsed = (now if now is not None else time.monotonic()) - self.created
        if self.finished or elapsed >= self.training_seconds:
            return TrainingState.FAILED if self.failure else TrainingState.SUCCEEDED
        return (
            TrainingState.PENDING
            if elapsed < PENDING_SHARE * self.training_seconds
            else TrainingState.RUNNING
        )


class TrainingSimulator:
    """Tasks that finish after the configured time, and a hook called once when each finishes."""

    def __init__(self, config: Callable[[], SandboxConfig], stopped: threading.Event) -> None:
        self._config = config
        self._stopped = stopped
        self._lock = threading.Lock()
        self.tasks: dict[str, SimulatedTask] = {}
        self.tasks_created = 0
        self._timers: set[threading.Timer] = set()

    def create(self, on_finish: Callable[[SimulatedTask], None] | None = None, **meta: Any) -> SimulatedTask:
        """A task that ends after ``training_seconds`` with ``fail_training`` (the config's), unless
        ``seconds`` / ``failure`` are given (e.g. a synthesis job: the vendor's speech knobs)."""
        config = self._config()
        task = SimulatedTask(
            task_id=meta.pop("task_id", None) or uuid.uuid4().hex,
            created=time.monotonic(),
            training_seconds=meta.pop("seconds", config.training_seconds),
            failure=meta.pop("failure") if "failure" in meta else config.fail_training,
            meta=meta,
        )
        timer = threading.Timer(task.training_seconds, self._finish, args=(task, on_finish))
        timer.daemon = True
        with self._lock:
            self.tasks[task.task_id] = task
            self.tasks_created += 1
            self._timers.add(timer)
        timer.start()
        return task

    def _finish(self, task: SimulatedTask, on_finish: Callable[[SimulatedTask], None] | None) -> None:
        task.finished = True
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
        try:
            if on_finish is not None and not self._stopped.is_set():
                on_finish(task)
        finally:
            task.settled.set()

    def stop(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()


@dataclass(frozen=True)
class CallbackAttempt:
    """One POST of a result to a callback URL; the URL is kept without its query (it holds a token)."""

    task_id: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None = None


def delivery_outcomes(attempts: Sequence[CallbackAttempt]) -> list[int | None]:
    """The HTTP status that ended each delivery (None: nobody answered) of ``post_callback``'s attempts:
    one for a callback sent once, none for a lost one, one per copy of a duplicated one."""
    ends = [i for i, attempt in enumerate(attempts) if i + 1 == len(attempts) or attempts[i + 1].attempt == 1]
    return [attempts[i].status_code for i in ends]


# ----- HTTP plumbing -------------------------------------------------------------------------------


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


# ----- the base --------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class SandboxBase:
    """The request skeleton, lifecycle, faults, training and callbacks every vendor sandbox shares.

    A subclass declares ``vendor_id``, ``config_class`` and ``routes``, and implements
    ``authenticate``, ``fault_error``, ``envelope`` and ``error_envelope``; its
    operations are methods named by the routes' endpoints, called as
    ``operation(request, route)`` and returning what the envelope wraps.
    """

    vendor_id: ClassVar[str]
    config_class: ClassVar[type[SandboxConfig]] = SandboxConfig
    routes: ClassVar[Map] = Map()
    # Sandboxes by vendor id, filled as their modules are imported.
    _registry: ClassVar[dict[str, type[SandboxBase]]] = {}

    # Larger declared bodies are refused unread (with the vendor's `too_large` error).
    max_body_bytes: ClassVar[int] = MAX_BODY_BYTES
    config: Any  # the subclass's config_class

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        vendor_id = cls.__dict__.get("vendor_id")
        if isinstance(vendor_id, str):
            SandboxBase._registry[vendor_id] = cls

    @classmethod
    def for_vendor(cls, vendor_id: str) -> type[SandboxBase] | None:
        """The vendor's sandbox: registered already, or in ``voiceclone_local.sandboxes.<vendor_id>``."""
        found = SandboxBase._registry.get(vendor_id)
        if found is not None:
            return found
        module = f"{__package__}.{vendor_id}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            return None
        return SandboxBase._registry.get(vendor_id)

    @classmethod
    def local_config(cls) -> SandboxConfig:
        """The configuration the local stack starts this sandbox with (the defaults, unless overridden)."""
        return cls.config_class()

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config if config is not None else self.config_class()
        self._lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._injected: Counter[Fault] = Counter()
        self._dice: FaultDice | None = None
        self._stopped = threading.Event()
        self._trainer = TrainingSimulator(lambda: self.config, self._stopped)
        self._serving = False
        self._closed = False
        # Speech: calls in flight now, the most seen at once, and every request's parameters.
        self._tts_in_flight = 0
        self.max_concurrent_tts = 0
        self.tts_requests: list[dict[str, Any]] = []
        self._init_state()
        # Bound now, so `url` is known (and the port taken) before start().
        self._server = SandboxServer(self.handle, host=host, port=port, max_body_bytes=self.max_body_bytes)

    def synthesize_within_quota(
        self,
        params: dict[str, Any],
        busy: Callable[[int], SandboxApiError],
        speak: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """One speech request under the vendor's concurrency quota and simulated latency.

        The request is recorded, refused with ``busy(quota)`` when ``config.tts_concurrency``
        calls are already in flight, and otherwise answered by ``speak`` after
        ``config.tts_latency_ms``.
        """
        quota: int = getattr(self.config, "tts_concurrency", 1)
        with self._lock:
            self.tts_requests.append(dict(params))
            if self._tts_in_flight >= quota:
                raise busy(quota)
            self._tts_in_flight += 1
            self.max_concurrent_tts = max(self.max_concurrent_tts, self._tts_in_flight)
        try:
            latency_ms: int = getattr(self.config, "tts_latency_ms", 0)
            if latency_ms:
                time.sleep(latency_ms / 1000)
            return speak(params)
        finally:
            with self._lock:
                self._tts_in_flight -= 1

    # ----- what a vendor declares ------------------------------------------------------------------

    def _init_state(self) -> None:
        """The vendor's own state (its jobs, slots, counters), made once by the constructor."""

    def credentials(self) -> dict[str, str]:
        """The values of the vendor's credential and optional fields this sandbox accepts, by field name."""
        return {}

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        """Raise the vendor's SandboxApiError unless the request carries valid credentials."""

    def fault_error(self, fault: Fault, route: Route) -> SandboxApiError:
        """The vendor's own answer to an injected fault (its code and message, in its status)."""
        raise NotImplementedError

    def not_found(self, request: SandboxRequest, route: Route) -> SandboxApiError:
        return SandboxApiError(404, "NotFound", f"no such API: {request.method} {request.path}")

    def too_large(self, request: SandboxRequest) -> SandboxApiError:
        return SandboxApiError(413, "RequestTooLarge", "the request body is too large")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        raise NotImplementedError

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        raise NotImplementedError

    def route(self, request: SandboxRequest) -> Route:
        """The request's route by the Werkzeug map; unknown paths get ``endpoint=None``."""
        adapter = self.routes.bind("sandbox.invalid", path_info=request.path or "/")
        try:
            rule, args = adapter.match(method=request.method, return_rule=True)
        except HTTPException:
            return Route(name=f"{request.method} {request.path}", endpoint=None)
        return Route(
            name=f"{request.method} {self.route_name(rule.rule)}", endpoint=str(rule.endpoint), args=args
        )

    @staticmethod
    def route_name(rule: str) -> str:
        """A rule as counted: ``/v1/voices/<id>`` is ``/v1/voices/{id}``."""
        return _PLACEHOLDER.sub(r"{\1}", rule)

    # ----- the skeleton ------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        """One request in, the vendor's answer out: route, count, authenticate, fault, dispatch, wrap."""
        route: Route | None = None
        fault: Fault | None = None
        try:
            if request.too_large:
                raise self.too_large(request)
            route = self.route(request)
            with self._lock:
                self._requests[route.name] += 1
            if route.endpoint is None:
                raise self.not_found(request, route)
            if route.authenticated:
                self.authenticate(request, route)
            fault = self._next_fault(route.authenticated)
            if fault in REFUSALS:
                raise self.fault_error(fault, route)
            if fault is Fault.TIMEOUT:
                self._stopped.wait(self._late_answer_seconds())
            result = getattr(self, route.endpoint)(request, route)
            response = (
                result if isinstance(result, SandboxResponse) else self.envelope(request, route, result)
            )
            logger.debug("%s sandbox %s ok", self.vendor_id, route.name)
        except SandboxApiError as exc:
            # Route names and codes only: requests carry credentials, audio and presigned URLs.
            logger.debug("%s sandbox %s -> %s", self.vendor_id, route.name if route else "?", exc.code)
            response = self.error_envelope(request, route, exc)
        if fault is Fault.DROPPED:
            raise DropConnection
        return response

    def _next_fault(self, authenticated: bool) -> Fault | None:
        """The fault this request gets: a counter's first (in order), else a random draw, else None.

        Called after authentication, so a request the vendor refuses anyway spends no fault; a
        refusal needs an authenticated route, whose envelope it is answered in.
        """
        kinds = REFUSALS + TRANSPORT_FAULTS if authenticated else TRANSPORT_FAULTS
        with self._fault_lock:
            fault = self._spend_knob(_FAULT_KNOBS, kinds) or self._roll(kinds)
            if fault is not None:
                self._injected[fault] += 1
        return fault

    def _spend_knob(self, knobs: Sequence[tuple[Fault, str]], kinds: Sequence[Fault]) -> Fault | None:
        """Consume one of the config's "next N" counters for ``kinds`` (under the fault lock)."""
        for fault, knob in knobs:
            left = getattr(self.config, knob)
            if left and fault in kinds:
                setattr(self.config, knob, left - 1)
                return fault
        return None

    def _roll(self, kinds: Sequence[Fault]) -> Fault | None:
        """A random fault among ``kinds`` (under the fault lock); no draw at all while every rate is 0."""
        rates: FaultRates = self.config.fault_rates
        if not any(rates.of(kind) for kind in kinds):
            return None
        seed = f"{self.config.fault_seed}:{self.vendor_id}"
        if self._dice is None or self._dice.seed != seed:
            self._dice = FaultDice(seed)
        return self._dice.draw(rates, kinds)

    def _late_answer_seconds(self) -> float:
        configured: float | None = self.config.late_answer_seconds
        return configured if configured is not None else timeout_seconds() + 1.0

    def drop_create_response(self) -> bool:
        """True (and one less to go) when the create just performed must lose its answer."""
        with self._fault_lock:
            if self.config.drop_create_response_first:
                self.config.drop_create_response_first -= 1
                self._injected[Fault.DROPPED] += 1
                return True
        return False

    def arm(self, fault: Fault, times: int = 1) -> None:
        """Inject ``fault`` into the next ``times`` requests (or callbacks) it applies to, besides any
        already armed: the "next N" counter of its kind, raised under the lock that spends it."""
        knob = dict((*_FAULT_KNOBS, *_CALLBACK_KNOBS))[fault]
        with self._fault_lock:
            setattr(self.config, knob, getattr(self.config, knob) + times)

    @property
    def faults_injected(self) -> dict[str, int]:
        """How often each fault kind was injected, by kind (every kind listed, 0 included)."""
        with self._fault_lock:
            return {kind.value: self._injected[kind] for kind in Fault}

    # ----- callbacks ---------------------------------------------------------------------------------

    def post_callback(self, task_id: str, url: str, payload: Any) -> list[CallbackAttempt]:
        """POST a result as the vendor does: a few tries with a growing pause until one answers 2xx.

        A lost callback is never sent (no attempts); a duplicated one is delivered
        ``callback_copies`` times at once, each delivery with its own tries, as a vendor that
        did not see the first acknowledged sends again.
        """
        with self._fault_lock:
            fault = self._spend_knob(_CALLBACK_KNOBS, CALLBACK_FAULTS) or self._roll(CALLBACK_FAULTS)
            if fault is not None:
                self._injected[fault] += 1
        if fault is Fault.LOST_CALLBACK:
            logger.debug("%s sandbox lost the callback of %s", self.vendor_id, task_id)
            return []
        if fault is not Fault.DUPLICATE_CALLBACK:
            return self._deliver(task_id, url, payload)
        copies = self.config.callback_copies
        with ThreadPoolExecutor(max_workers=copies, thread_name_prefix="sandbox-callback") as pool:
            deliveries = list(pool.map(lambda _: self._deliver(task_id, url, payload), range(copies)))
        return [attempt for delivery in deliveries for attempt in delivery]

    def _deliver(self, task_id: str, url: str, payload: Any) -> list[CallbackAttempt]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        parts = urlsplit(url)
        shown = parts._replace(query="", fragment="").geturl()
        attempts: list[CallbackAttempt] = []
        with httpx.Client(timeout=5.0) as client:
            for attempt in range(1, self.config.callback_attempts + 1):
                status: int | None = None
                error: str | None = None
                try:
                    status = client.post(
                        url, content=body, headers={"Content-Type": "application/json"}
                    ).status_code
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                attempts.append(CallbackAttempt(task_id, shown, attempt, status, error))
                if status is not None and 200 <= status < 300:
                    break
                pause = self.config.callback_retry_seconds * 2 ** (attempt - 1)
                if attempt < self.config.callback_attempts and self._stopped.wait(pause):
                    break
        return attempts

    def wait_settled(self, task_id: str, timeout: float = 10.0) -> bool:
        """Block until a task has finished and its callback (if any) is done: lets tests assert absence."""
        task = self._trainer.tasks.get(task_id)
        return task is not None and task.settled.wait(timeout)

    # ----- lifecycle ---------------------------------------------------------------------------------

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
        with self._lock:
            return dict(self._requests)

    def start(self) -> Self:
        """Serve from a daemon thread; returns self so `Sandbox().start()` reads naturally."""
        self._server.start()
        self._serving = True
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI's `voiceclone sandbox`)."""
        self._serving = True
        try:
            self._server.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving, drop pending completions and release the port; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        self._trainer.stop()
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
