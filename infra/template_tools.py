"""Read a synthesized template without CDK: the state machine's definition, the functions by handler."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
FUNCTION_TYPE = "AWS::Lambda::Function"


def resources_of_type(template: Mapping[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, for every resource of one type."""
    resources: Mapping[str, dict[str, Any]] = template.get("Resources", {})
    return {k: v for k, v in resources.items() if v.get("Type") == type_name}


# The stack's training workflow is built by the construct "Workflow" (infra/workflow.py); the speech
# workflow by "SpeechWorkflow" (infra/speech_workflow.py). A state machine's logical id starts so.
TRAINING_WORKFLOW = "Workflow"


def state_machine_logical_id(template: Mapping[str, Any], construct_id: str | None = None) -> str:
    """The logical id of a state machine: the only one, else the one built by ``construct_id``
    (default: the training workflow)."""
    machines = resources_of_type(template, STATE_MACHINE_TYPE)
    if construct_id is not None or len(machines) != 1:
        prefix = f"{construct_id or TRAINING_WORKFLOW}StateMachine"
        machines = {k: v for k, v in machines.items() if k.startswith(prefix)}
    if len(machines) != 1:
        raise ValueError(f"expected one {STATE_MACHINE_TYPE}, found {sorted(machines)}")
    return next(iter(machines))


def join_text(node: Any, resolve: Callable[[dict[str, Any]], str]) -> str:
    """A string-valued template node as text: Fn::Join is joined, any other intrinsic is `resolve`d."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and set(node) == {"Fn::Join"}:
        separator, parts = node["Fn::Join"]
        return str(separator).join(join_text(part, resolve) for part in parts)
    if isinstance(node, dict):
        return resolve(node)
    raise TypeError(f"not a string-valued template node: {node!r}")


def definition_from_template(
    template: Mapping[str, Any], resolve: Callable[[dict[str, Any]], str], construct_id: str | None = None
) -> dict[str, Any]:
    """The state machine's Amazon States Language definition as a dict.

    CDK writes ``DefinitionString`` as an ``Fn::Join`` of strings and intrinsics
    (``Fn::GetAtt [<function>, Arn]``, ``Ref AWS::Partition``); `resolve` turns each intrinsic
    into its text: an ARN of a local function for the local stack, a placeholder for tests.
    The result must be JSON, so `resolve` must not return quotes or backslashes unescaped.
    """
    machine = resources_of_type(template, STATE_MACHINE_TYPE)[
        state_machine_logical_id(template, construct_id)
    ]
    text = join_text(machine["Properties"]["DefinitionString"], resolve)
    definition: dict[str, Any] = json.loads(text)
    return definition


def placeholder(intrinsic: Mapping[str, Any]) -> str:
    """A readable stand-in for an intrinsic: ``<LogicalId.Arn>``, ``<AWS::Partition>``."""
    if "Fn::GetAtt" in intrinsic:
        target = intrinsic["Fn::GetAtt"]
        name, attribute = target if isinstance(target, list) else str(target).split(".", 1)
        return f"<{name}.{attribute}>"
    if "Ref" in intrinsic:
        return f"<{intrinsic['Ref']}>"
    raise ValueError(f"no placeholder for {intrinsic!r}")


def functions_by_handler(template: Mapping[str, Any]) -> dict[str, str]:
    """Handler (``voiceclone.handlers.<name>.handler``) -> logical id of that function.

    Logical ids carry a hash (``FunctionsCheckSentenceFunction621180A4``); the handler is the
    stable name. CDK's own helper functions (inline code, other handlers) are left out.
    """
    found: dict[str, str] = {}
    for logical_id, resource in resources_of_type(template, FUNCTION_TYPE).items():
        handler = str(resource.get("Properties", {}).get("Handler", ""))
        if handler.startswith("voiceclone.handlers."):
            if handler in found:
                raise ValueError(f"two functions with handler {handler}: {found[handler]}, {logical_id}")
            found[handler] = logical_id
    return found


def invoked_by_handler(template: Mapping[str, Any]) -> dict[str, str]:
    """Handler -> logical id of what its callers invoke: the function's alias where it has one (the
    SnapStart functions are invoked through their live alias, infra/functions.py), else the function."""
    aliases = {
        alias["Properties"]["FunctionName"].get("Ref"): logical_id
        for logical_id, alias in resources_of_type(template, "AWS::Lambda::Alias").items()
    }
    return {handler: aliases.get(fn, fn) for handler, fn in functions_by_handler(template).items()}
