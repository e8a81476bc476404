"""StopExecution as AWS does it, where moto's Step Functions interpreter falls short.

In AWS a stopped execution ends ABORTED at once, whatever state it is in. moto's
interpreter marks the program stopped but (1) a task waiting for a task token keeps
waiting until its timeout, and (2) the timeout's error then overwrites the stop, so the
execution ends FAILED. The local stack installs two small corrections: stopping an
execution wakes its own waiting callbacks, and an error after the stop leaves it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Executions whose interpreter thread has returned (by ARN): after that nothing of the execution
# runs any more, stopped or not. What a test waits for before it checks that nothing more happens.
_ended: set[str] = set()
_ended_changed = threading.Condition()


def wait_ended(execution_arn: str, timeout: float) -> bool:
    """Whether the execution's interpreter returned within `timeout` seconds."""
    with _ended_changed:
        return _ended_changed.wait_for(lambda: execution_arn in _ended, timeout)


def install() -> Callable[[], None]:
    """Apply the corrections; returns the function that removes them."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original_stop = Execution.stop
    original_set_error = Environment.set_error
    original_logic: Callable[[Any], None] = ExecutionWorker._execution_logic

    def logic(self: Any) -> None:
        try:
            original_logic(self)
        finally:
            with _ended_changed:
                _ended.add(self._evaluation_details.execution_details.arn)
                _ended_changed.notify_all()

    def stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        original_stop(self, stop_date=stop_date, error=error, cause=cause)
        worker = self.exec_worker
        if worker is not None:
            # This execution's pool only: other executions keep waiting for their tokens.
            for endpoint in list(worker.env.callback_pool_manager._pool.values()):
                endpoint.interrupt_all()

    def set_error(self: Any, error: Any) -> None:
        if isinstance(self.program_state(), ProgramStopped):
            return  # a stopped execution stays ABORTED
        original_set_error(self, error)

    Execution.stop = stop  # type: ignore[method-assign]
    Environment.set_error = set_error  # type: ignore[method-assign]
    ExecutionWorker._execution_logic = logic  # type: ignore[method-assign]

    def uninstall() -> None:
        Execution.stop = original_stop  # type: ignore[method-assign]
        Environment.set_error = original_set_error  # type: ignore[method-assign]
        ExecutionWorker._execution_logic = original_logic  # type: ignore[method-assign]

    return uninstall
