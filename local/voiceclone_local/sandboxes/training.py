"""A vendor's training, simulated: tasks that queue, run and end after the configured time; callbacks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from voiceclone_local.sandboxes.knobs import SandboxConfig

T = TypeVar("T")


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


def _open_gate() -> threading.Event:
    gate = threading.Event()
    gate.set()
    return gate


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
    # The simulator's gate: while it is closed (TrainingSimulator.hold) no task finishes.
    gate: threading.Event = field(default_factory=_open_gate)

    def state(self, now: float | None = None) -> TrainingState:
        elapsed = (now if now is not None else time.monotonic()) - self.created
        if self.finished or (elapsed >= self.training_seconds and self.gate.is_set()):
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
        self._gate = _open_gate()

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
            gate=self._gate,
        )
        timer = threading.Timer(task.training_seconds, self._finish, args=(task, on_finish))
        timer.daemon = True
        with self._lock:
            self.tasks[task.task_id] = task
            self.tasks_created += 1
            self._timers.add(timer)
        timer.start()
        return task

    @contextmanager
    def hold(self) -> Iterator[None]:
        """No task finishes inside this block, however long it takes: a test sees a task RUNNING
        for as long as it needs to, without racing its ``training_seconds``. Tasks due meanwhile
        finish (and call back) as the block ends."""
        self._gate.clear()
        try:
            yield
        finally:
            self._gate.set()

    def _finish(self, task: SimulatedTask, on_finish: Callable[[SimulatedTask], None] | None) -> None:
        task.gate.wait()
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
        self._gate.set()  # a held task's timer ends (the stopped simulator calls no one back)


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
