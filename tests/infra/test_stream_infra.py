"""Streaming speech in the template: its function on voiceclone.runtime, streamed, behind the authorizer."""

from __future__ import annotations

import os
from typing import Any

from infra.api import CLIENT_ROUTES, STREAM_ROUTE
from infra.constants import FUNCTIONS_DIR, handler_of
from infra.functions import EXEC_WRAPPER, EXEC_WRAPPER_ENV
from infra.template_tools import resources_of_type
from tests.infra.conftest import environment_of, functions_by_handler


def _path_of(template_json: dict[str, Any], resource_ref: Any) -> str:
    resources = resources_of_type(template_json, "AWS::ApiGateway::Resource")
    if isinstance(resource_ref, dict) and "Ref" in resource_ref:
        props = resources[resource_ref["Ref"]]["Properties"]
        return _path_of(template_json, props["ParentId"]) + "/" + str(props["PathPart"])
    return ""


def _method(template_json: dict[str, Any], verb: str, path: str) -> dict[str, Any]:
    found = [
        m["Properties"]
        for m in resources_of_type(template_json, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == verb
        and _path_of(template_json, m["Properties"]["ResourceId"]) == path
    ]
    assert len(found) == 1, (verb, path)
    return found[0]


def _logical_id_of(template_json: dict[str, Any], handler: str) -> str:
    functions = resources_of_type(template_json, "AWS::Lambda::Function")
    return next(k for k, f in functions.items() if f["Properties"]["Handler"] == handler)


def test_the_stream_route_is_a_streamed_integration_of_the_stream_function(
    template_json: dict[str, Any],
) -> None:
    method = _method(template_json, *STREAM_ROUTE)
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["ResponseTransferMode"] == "STREAM"
    # InvokeWithResponseStream's URI, on the stream function itself (no alias: no SnapStart)
    uri = str(integration["Uri"])
    assert "response-streaming-invocations" in uri
    assert _logical_id_of(template_json, handler_of("stream")) in uri
    assert integration["TimeoutInMillis"] == 300_000


def test_the_authorizer_guards_the_stream_route_as_every_client_route(template_json: dict[str, Any]) -> None:
    stream = _method(template_json, *STREAM_ROUTE)
    speech = _method(template_json, *next(r for r in CLIENT_ROUTES if r[1] == "/v1/voices/{voice_id}/speech"))
    assert stream["AuthorizationType"] == "CUSTOM"
    assert stream["AuthorizerId"] == speech["AuthorizerId"]
    # The other routes stay buffered
    assert (
        "ResponseTransferMode" not in speech["Integration"]
        or speech["Integration"]["ResponseTransferMode"] == "BUFFERED"
    )


def test_the_stream_function_runs_voiceclone_runtime_on_the_managed_python(
    template_json: dict[str, Any],
) -> None:
    props = functions_by_handler(template_json)[handler_of("stream")]["Properties"]
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == 300
    assert "SnapStart" not in props
    assert environment_of(template_json, handler_of("stream"))[EXEC_WRAPPER_ENV] == EXEC_WRAPPER
    # The wrapper ships executable, where the variable says
    wrapper = FUNCTIONS_DIR / EXEC_WRAPPER.removeprefix("/var/task/")
    assert wrapper.is_file() and os.access(wrapper, os.X_OK)


def test_no_other_function_runs_the_wrapper(template_json: dict[str, Any]) -> None:
    wrapped = [
        h for h in functions_by_handler(template_json) if EXEC_WRAPPER_ENV in environment_of(template_json, h)
    ]
    assert wrapped == [handler_of("stream")]
