"""What every vendor sandbox shares: the request skeleton, faults, training, callbacks, lifecycle.

A vendor sandbox subclasses :class:`SandboxBase` and declares its ``vendor_id``,
its routes (a Werkzeug ``Map``), its authentication and the credential it checks, the
refusals it can inject (``fault_answers``), its envelope and its operations;
:meth:`SandboxBase.handle` runs every request through the same steps:
route, count, authenticate, inject a fault, dispatch, wrap. Every refusal is one
:class:`voiceclone_local.sandboxes.server.SandboxApiError` (HTTP status, the vendor's code,
message) that the vendor's envelope renders. The local stack finds a vendor's sandbox by
convention (:meth:`SandboxBase.for_vendor`), so adding a vendor adds no list entry.

Its parts: the knobs every sandbox has (``knobs``: timing and faults), its HTTP server and the
request it hands here (``server``), the simulated training and its callbacks (``training``), and
what a vendor does with audio (``audio``: checks, downloads, speech from a voice's recordings).
Faults go through :meth:`SandboxBase.handle` and :meth:`SandboxBase.post_callback`, so every
vendor gets every kind, and each sandbox counts what it injected
(:attr:`SandboxBase.faults_injected`).
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlsplit

import httpx
from voiceclone.vendors.config import timeout_seconds
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from voiceclone_local.sandboxes.knobs import (
    CALLBACK_FAULTS,
    CALLBACK_KNOBS,
    FAULT_KNOBS,
    REFUSALS,
    TRANSPORT_FAULTS,
    Fault,
    FaultDice,
    FaultRates,
    SandboxConfig,
)
from voiceclone_local.sandboxes.server import (
    MAX_BODY_BYTES,
    DropConnection,
    SandboxApiError,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
)
from voiceclone_local.sandboxes.training import (
    CallbackAttempt,
    TrainingSimulator,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Route:
    """What a request asks for: a name to count it by, the operation (None: no such API) and its arguments."""

    name: str
    endpoint: str | None
    args: Mapping[str, str] = field(default_factory=dict)
    plane: str = ""  # for a vendor with two APIs on one port (Volcengine)
    authenticated: bool = True  # False for presigned uploads, which carry no API credentials


@dataclass(frozen=True)
class Refusal:
    """One refusal as the vendor sends it: the HTTP status, the vendor's code, its message."""

    status: int
    code: str | int
    message: str

    def error(self) -> SandboxApiError:
        return SandboxApiError(self.status, self.code, self.message)


@dataclass(frozen=True)
class CheckedCredential:
    """The credential a sandbox checks: the secret's field whose wrong value it refuses, and the
    vendor's code for that refusal, as the service reads it (text: Qiniu's ``401`` is ``"401"``).

    The field is also the name of the sandbox's config field that holds the value it expects,
    so a test can change it there and see the vendor refuse the service's copy."""

    field: str
    code: str


# ----- the base --------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class SandboxBase:
    """The request skeleton, lifecycle, faults, training and callbacks every vendor sandbox shares.

    A subclass declares ``vendor_id``, ``config_class``, ``routes``, ``fault_answers`` and
    ``checked_credential``, and implements ``authenticate``, ``envelope`` and
    ``error_envelope``; its operations are methods named by the routes' endpoints, called as
    ``operation(request, route)`` and returning what the envelope wraps. The declarations are
    what the tests and the docs' vendor tables (``make tables``) read about the sandbox.
    """

    vendor_id: ClassVar[str]
    config_class: ClassVar[type[SandboxConfig]] = SandboxConfig
    routes: ClassVar[Map] = Map()
    # The refusals it injects (Fault.THROTTLE, INTERNAL, UNAVAILABLE), each as the vendor answers it,
    # by API plane (Route.plane; "" for a vendor with one API): fault_error answers from here.
    fault_answers: ClassVar[Mapping[str, Mapping[Fault, Refusal]]] = {}
    # The credential ``authenticate`` checks; None for a sandbox that checks none.
    checked_credential: ClassVar[CheckedCredential | None] = None
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
        """The vendor's own answer to an injected fault: the refusal declared for the route's plane."""
        return self.fault_answers[route.plane][fault].error()

    @classmethod
    def fault_codes(cls, fault: Fault) -> tuple[str, ...]:
        """The vendor's codes for an injected refusal, one per API plane, as the service reads them (text)."""
        return tuple(dict.fromkeys(str(answers[fault].code) for answers in cls.fault_answers.values()))

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
            fault = self._spend_knob(FAULT_KNOBS, kinds) or self._roll(kinds)
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
        knob = dict((*FAULT_KNOBS, *CALLBACK_KNOBS))[fault]
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
            fault = self._spend_knob(CALLBACK_KNOBS, CALLBACK_FAULTS) or self._roll(CALLBACK_FAULTS)
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

    def hold_tasks(self) -> AbstractContextManager[None]:
        """``with sandbox.hold_tasks():`` no training or synthesis task finishes until the block ends,
        however slow the machine: a test asserts what happens while one runs without racing it."""
        return self._trainer.hold()

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
