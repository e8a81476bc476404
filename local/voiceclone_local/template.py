"""The stack's template: synthesized once per change of its sources, intrinsics resolved, API routes found."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from voiceclone.vendors import registry

from infra.template_tools import resources_of_type

__all__ = [
    "PSEUDO",
    "Resolver",
    "Route",
    "api_routes",
    "binary_media_types",
    "cached_template",
    "resources_of_type",
    "template_key",
]

ROOT = Path(__file__).resolve().parents[2]
# What the synthesized template depends on, besides the context: the CDK app, the table of functions
# (timeouts, SnapStart, each package's groups, a streaming function's own integration), the vendor
# registry and the adapters' declarations (infra derives vendors, secrets and settings from them), the
# domain types infra reads (retryable errors, poll outcomes), CDK's own context file. The handlers'
# and the logic's code is not in the template (the local stack runs it from source). The registry's
# vendors as they are now count too (registry_facts): a vendor registered at run time
# (registry.register) may be declared in a file outside these, a test's.
TEMPLATE_SOURCES = (
    "infra/**/*.py",
    "functions/voiceclone/handlers/table.py",
    "functions/voiceclone/vendors/**/*.py",
    "functions/voiceclone/domain/**/*.py",
    "cdk.json",
    "app.py",
)
TEMPLATE_LIBRARIES = ("aws-cdk-lib", "constructs", "jsii", "cdk-nag", "pydantic")
# Where synthesized templates are kept (one file per key); VOICECLONE_CACHE_DIR moves it.
CACHE_ENV = "VOICECLONE_CACHE_DIR"


def template_key(context: Mapping[str, Any], root: Path = ROOT) -> str:
    """A hash of everything the template is made of: sources, context, library and Python versions."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(context), sort_keys=True, default=str).encode())
    for library in TEMPLATE_LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"\0{library}=={version}".encode())
    digest.update(f"\0python {sys.version}".encode())
    digest.update(f"\0vendors {registry_facts()}".encode())
    files = sorted({path for pattern in TEMPLATE_SOURCES for path in root.glob(pattern) if path.is_file()})
    for path in files:
        digest.update(f"\0{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def registry_facts() -> str:
    """What infra reads of each registered vendor (its secret's fields, its adapter's module for SnapStart,
    its alarm and widgets by id), and its capabilities, as JSON."""
    facts = []
    for vendor in registry.vendor_ids():
        adapter = registry.adapter_class(vendor)
        facts.append(
            {
                "vendor": vendor,
                "target": registry.VENDORS[vendor],
                "credential_fields": adapter.credential_fields,
                "optional_fields": adapter.optional_fields,
                "capabilities": adapter.capabilities.model_dump(mode="json"),
            }
        )
    return json.dumps(facts, sort_keys=True)


KEEP_TEMPLATES = 8


def _prune(folder: Path, keep: int) -> None:
    """Keep the newest `keep` templates: a cache of recent states of the app, not its history."""
    kept = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[keep:]:
        old.unlink(missing_ok=True)


def _cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else ROOT / ".voiceclone" / "templates"


def placeholder(name: str) -> str:
    """A value that stands for `name` in the synthesized template, replaced after (see cached_template)."""
    return f"voiceclone-local-placeholder-{name}"


def cached_template(
    context: Mapping[str, Any],
    synthesize: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None,
    *,
    substitute: Mapping[str, str] | None = None,
    root: Path = ROOT,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """The stack's template for `context`, synthesized only when no earlier synthesis matches its key.

    Synthesis (starting jsii's Node kernel, importing aws_cdk, building the app) is most of a local
    stack's start, and its result depends only on what ``template_key`` hashes. Values that change
    at every start (a sandbox's port) are passed in `context` as ``placeholder(name)`` and their
    real values in `substitute` (name -> value), set into the template after, so they do not make
    every start a new key. A kept template is written whole or not at all (a temporary file renamed
    into place): a crash mid-write or two stacks starting at once never leave half a template.
    """
    folder = cache_dir or _cache_dir()
    path = folder / f"{template_key(context, root)}.json"
    try:
        text = path.read_text()
        json.loads(text)
    except (OSError, ValueError):
        if synthesize is None:
            from infra.synth import synthesize_template

            synthesize = synthesize_template
        text = json.dumps(synthesize(context))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as out:
                out.write(text)
            os.replace(out.name, path)
            _prune(folder, keep=KEEP_TEMPLATES)
        except OSError:  # a read-only checkout still starts, only without the cache
            pass
    for name, value in (substitute or {}).items():
        # Both are JSON strings: the value goes in escaped as JSON would write it.
        text = text.replace(placeholder(name), json.dumps(value)[1:-1])
    template: dict[str, Any] = json.loads(text)
    return template


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
    # The integration streams the function's answer (``ResponseTransferMode: STREAM``).
    streaming: bool = False

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


def _integration_function(uri: Any, aliases: Mapping[str, str]) -> str | None:
    """The logical id of the function behind a Lambda proxy integration URI.

    The URI names the function (``Fn::GetAtt [Function, Arn]``) or one of its aliases (``Ref``; the
    SnapStart functions are invoked through their live alias): `aliases` maps an alias to its function.
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Fn::GetAtt" in node and isinstance(node["Fn::GetAtt"], list):
                found.append(node["Fn::GetAtt"][0])
            if node.get("Ref") in aliases:
                found.append(aliases[node["Ref"]])
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
    aliases = {
        logical_id: alias["Properties"]["FunctionName"]["Ref"]
        for logical_id, alias in resources_of_type(template, "AWS::Lambda::Alias").items()
    }
    routes = []
    for method in resources_of_type(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        fn = _integration_function(props.get("Integration", {}).get("Uri"), aliases)
        if props.get("HttpMethod") == "OPTIONS" or fn is None:
            continue
        authorizer_fn, header = None, "Authorization"
        if props.get("AuthorizationType") == "CUSTOM":
            authorizer = authorizers[props["AuthorizerId"]["Ref"]]["Properties"]
            if authorizer.get("Type") != "TOKEN":
                raise ValueError(
                    f"the local gateway runs TOKEN authorizers only, not {authorizer.get('Type')}"
                )
            authorizer_fn = _integration_function(authorizer["AuthorizerUri"], aliases)
            header = str(authorizer["IdentitySource"]).removeprefix("method.request.header.")
        elif props.get("AuthorizationType") not in (None, "NONE"):
            raise ValueError(f"the local gateway cannot check {props['AuthorizationType']} authorization")
        streaming = props.get("Integration", {}).get("ResponseTransferMode") == "STREAM"
        path = path_of(props["ResourceId"]) or "/"
        routes.append(Route(props["HttpMethod"], path, fn, authorizer_fn, header, streaming))
    # Literal segments win over parameters, as in API Gateway.
    return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))


def binary_media_types(template: Mapping[str, Any]) -> frozenset[str]:
    """The media types the REST API passes as bytes (base64-encoded in the proxy event), lower-cased."""
    return frozenset(
        str(media_type).lower()
        for api in resources_of_type(template, "AWS::ApiGateway::RestApi").values()
        for media_type in api["Properties"].get("BinaryMediaTypes", [])
    )
