"""Read the synthesized CloudFormation template: resolve intrinsics to local values, find the API routes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.template_tools import resources_of_type

__all__ = ["PSEUDO", "Resolver", "Route", "api_routes", "resources_of_type"]

PSEUDO = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "Voiceclone"}


class Resolver:
    """Turns Ref / Fn::GetAtt / Fn::Join / Fn::Select / Fn::Split / Fn::Sub into plain values."""

    def __init__(
        self, refs: Mapping[str, Any], attrs: Mapping[tuple[str, str], Any], region: str, account: str
    ):
        self.refs = {**PSEUDO, "AWS::Region": region, "AWS::AccountId": account, **refs}
        self.attrs = attrs

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self.refs.get(value, f"unresolved-ref-{value}")
            if key == "Fn::GetAtt":
                name, attr = value if isinstance(value, list) else value.split(".", 1)
                return self.attrs.get((name, attr), f"unresolved-getatt-{name}-{attr}")
            if key == "Fn::Join":
                sep, parts = value
                return sep.join(str(self(p)) for p in parts)
            if key == "Fn::Select":
                index, items = value
                selected: Any = self(items)[int(self(index))]
                return selected
            if key == "Fn::Split":
                sep, text = value
                return str(self(text)).split(sep)
            if key == "Fn::Sub":
                text, local = (value, {}) if isinstance(value, str) else (value[0], value[1])

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in local:
                        return str(self(local[name]))
                    if "." in name:
                        res, attr = name.split(".", 1)
                        return str(self({"Fn::GetAtt": [res, attr]}))
                    return str(self({"Ref": name}))

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
        return {k: self(v) for k, v in node.items()}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "/v1/jobs/{job_id}"
    function_logical_id: str
    # The TOKEN authorizer's function and the header it reads; None for an open route.
    authorizer_logical_id: str | None = None
    identity_header: str = "Authorization"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


def _integration_function(uri: Any) -> str | None:
    """The logical id of the function behind a Lambda proxy integration URI."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetAtt" in node and isinstance(node["Fn::GetAtt"], list):
                found.append(node["Fn::GetAtt"][0])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(uri)
    return found[0] if found else None


def api_routes(template: Mapping[str, Any]) -> list[Route]:
    """Rebuild the REST API's routes (method, path, function) from its Resource and Method items."""
    resources = resources_of_type(template, "AWS::ApiGateway::Resource")

    def path_of(resource_ref: Any) -> str:
        if isinstance(resource_ref, dict) and "Ref" in resource_ref:
            res = resources[resource_ref["Ref"]]["Properties"]
            return path_of(res["ParentId"]) + "/" + str(res["PathPart"])
        return ""  # Fn::GetAtt [RestApi, RootResourceId]

    authorizers = resources_of_type(template, "AWS::ApiGateway::Authorizer")
    routes = []
    for method in resources_of_type(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        fn = _integration_function(props.get("Integration", {}).get("Uri"))
        if props.get("HttpMethod") == "OPTIONS" or fn is None:
            continue
        authorizer_fn, header = None, "Authorization"
        if props.get("AuthorizationType") == "CUSTOM":
            authorizer = authorizers[props["AuthorizerId"]["Ref"]]["Properties"]
            if authorizer.get("Type") != "TOKEN":
                raise ValueError(
                    f"the local gateway runs TOKEN authorizers only, not {authorizer.get('Type')}"
                )
            authorizer_fn = _integration_function(authorizer["AuthorizerUri"])
            header = str(authorizer["IdentitySource"]).removeprefix("method.request.header.")
        elif props.get("AuthorizationType") not in (None, "NONE"):
            raise ValueError(f"the local gateway cannot check {props['AuthorizationType']} authorization")
        routes.append(
            Route(props["HttpMethod"], path_of(props["ResourceId"]) or "/", fn, authorizer_fn, header)
        )
    # Literal segments win over parameters, as in API Gateway.
    return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))
