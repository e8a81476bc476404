"""Starting one state machine from another (``states:startExecution``, ``.sync:2``) as AWS does it.

moto's Step Functions interpreter has the task (its ``StateTaskServiceSfn``) but hands the state's
parameters to boto3 as the definition spells them (``StateMachineArn``, ``Input``, ``Name``), where
boto3's Step Functions model names them ``stateMachineArn``, ``input``, ``name``: the call fails
before it is sent. And it passes boto3's answers on as they come (``executionArn``, ``status``),
where the interpreter itself, like AWS's documented output of the task, reads them capitalised
(``ExecutionArn``, ``Status``, ``Output``). The local stack installs the two translations, for
this one task; the comparison workflow (infra/comparison_workflow.py) runs on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _first(key: str, case: Callable[[str], str]) -> str:
    return case(key[:1]) + key[1:]


def install() -> Callable[[], None]:
    """Apply the translations; returns the function that removes them."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original_eval = StateTaskServiceSfn._eval_service_task
    original_response = StateTaskServiceSfn._normalise_response

    def eval_service_task(
        self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], **kwargs: Any
    ) -> None:
        boto_parameters = {_first(k, str.lower): v for k, v in normalised_parameters.items()}
        original_eval(self, env, resource_runtime_part, boto_parameters, **kwargs)
        answer = env.stack.pop()
        env.stack.append(
            {_first(k, str.upper): v for k, v in answer.items()} if isinstance(answer, dict) else answer
        )

    def normalise_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
        original_response(self, response, *args, **kwargs)
        if isinstance(response, dict):
            for key in list(response):
                response[_first(key, str.upper)] = response.pop(key)

    StateTaskServiceSfn._eval_service_task = eval_service_task  # type: ignore[method-assign,assignment]
    StateTaskServiceSfn._normalise_response = normalise_response  # type: ignore[method-assign]

    def uninstall() -> None:
        StateTaskServiceSfn._eval_service_task = original_eval  # type: ignore[method-assign]
        StateTaskServiceSfn._normalise_response = original_response  # type: ignore[method-assign]

    return uninstall
