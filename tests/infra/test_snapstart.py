"""SnapStart on the functions a client waits on, invoked through their live alias; the workflow's plain."""

from __future__ import annotations

from typing import Any

from infra.constants import handler_of
from infra.functions import LIVE_ALIAS, SNAPSTART_FUNCTIONS
from infra.template_tools import resources_of_type

from .conftest import functions_by_handler


def _logical_ids_by_handler(template_json: dict[str, Any]) -> dict[str, str]:
    resources = template_json["Resources"]
    by_handler = functions_by_handler(template_json)
    return {h: next(k for k, v in resources.items() if v is f) for h, f in by_handler.items()}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["Ref"]} if isinstance(node.get("Ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _getatt_functions(node: Any) -> set[str]:
    if isinstance(node, dict):
        getatt = node.get("Fn::GetAtt")
        found = {getatt[0]} if isinstance(getatt, list) else set()
        return found.union(*(_getatt_functions(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_getatt_functions(v) for v in node))
    return set()


def test_the_request_path_functions_snapstart_on_published_versions(template_json: dict[str, Any]) -> None:
    functions = functions_by_handler(template_json)
    snapstarted = {h for h, f in functions.items() if f["Properties"].get("SnapStart")}
    assert (
        snapstarted
        == {handler_of(name) for name in SNAPSTART_FUNCTIONS}
        == {
            "voiceclone.handlers.entries.api",
            "voiceclone.handlers.entries.authorizer",
        }
    )
    for handler in snapstarted:
        assert functions[handler]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}


def test_each_has_a_live_alias_on_a_published_version(template_json: dict[str, Any]) -> None:
    ids = _logical_ids_by_handler(template_json)
    versions = resources_of_type(template_json, "AWS::Lambda::Version")
    aliases = resources_of_type(template_json, "AWS::Lambda::Alias")
    for name in SNAPSTART_FUNCTIONS:
        fn = ids[handler_of(name)]
        (alias,) = [a for a in aliases.values() if a["Properties"]["FunctionName"] == {"Ref": fn}]
        assert alias["Properties"]["Name"] == LIVE_ALIAS
        version_id, attribute = alias["Properties"]["FunctionVersion"]["Fn::GetAtt"]
        assert attribute == "Version"
        assert versions[version_id]["Properties"]["FunctionName"] == {"Ref": fn}


def test_api_gateway_invokes_the_aliases_never_latest(template_json: dict[str, Any]) -> None:
    ids = _logical_ids_by_handler(template_json)
    aliases = resources_of_type(template_json, "AWS::Lambda::Alias")
    alias_of = {a["Properties"]["FunctionName"]["Ref"]: k for k, a in aliases.items()}
    api_fn, authorizer_fn = ids[handler_of("api")], ids[handler_of("authorizer")]
    uris = [
        m["Properties"]["Integration"]["Uri"]
        for m in resources_of_type(template_json, "AWS::ApiGateway::Method").values()
        if m["Properties"].get("Integration", {}).get("Type") == "AWS_PROXY"
    ]
    api_uris = [u for u in uris if alias_of[api_fn] in _refs(u) or api_fn in _getatt_functions(u)]
    assert api_uris, "no route reaches the api function"
    assert all(alias_of[api_fn] in _refs(u) and api_fn not in _getatt_functions(u) for u in api_uris)
    (authorizer,) = resources_of_type(template_json, "AWS::ApiGateway::Authorizer").values()
    assert alias_of[authorizer_fn] in _refs(authorizer["Properties"]["AuthorizerUri"])
    assert authorizer_fn not in _getatt_functions(authorizer["Properties"]["AuthorizerUri"])
    # API Gateway may invoke the aliases (a permission on the alias, not only on the function)
    permitted = {
        ref
        for p in resources_of_type(template_json, "AWS::Lambda::Permission").values()
        if p["Properties"].get("Principal") == "apigateway.amazonaws.com"
        for ref in _refs(p["Properties"]["FunctionName"])
    }
    assert {alias_of[api_fn], alias_of[authorizer_fn]} <= permitted


def test_the_workflow_keeps_plain_cold_starts(template_json: dict[str, Any]) -> None:
    functions = functions_by_handler(template_json)
    for name in ("check_sentence", "submit_training", "poll_status", "intake", "deliver_webhook"):
        assert "SnapStart" not in functions[handler_of(name)]["Properties"], name
