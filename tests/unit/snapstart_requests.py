"""Every kind of request a SnapStart function answers, sent to its entry: what its first requests import.

Used by tests/unit/test_import_graph.py in a fresh process on moto, after the entry has loaded its
target: whatever these requests import beyond that must be in the function's snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from voiceclone.vendors.registry import vendor_ids


class Context:
    function_name = "fn"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:fn"
    aws_request_id = "req-1"


def proxy_event(method: str, path: str, body: Any = None, **headers: str) -> dict[str, Any]:
    """An API Gateway proxy event for tenant acme, as the authorizer lets it through."""
    all_headers = {"Content-Type": "application/json", **headers}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "stage": "prod",
            "requestId": "req",
            "authorizer": {"tenant_id": "acme", "api_key_id": "key_acme"},
        },
    }


def api_requests() -> list[dict[str, Any]]:
    events = [
        proxy_event("POST", "/v1/jobs", {"vendor": v, "voice_name": "v", "gender": "female"})
        for v in vendor_ids()
    ]
    events += [proxy_event("GET", f"/v1/vendors/{v}/training-texts") for v in vendor_ids()]
    events += [
        proxy_event("GET", "/v1/jobs"),
        proxy_event("GET", "/v1/jobs/j1"),
        proxy_event("POST", "/v1/jobs/j1/cancel"),
        proxy_event("POST", "/v1/jobs/j1/sentences/00001/upload-url"),
        proxy_event("GET", "/v1/voices"),
        proxy_event("GET", "/v1/voices/v1"),
        proxy_event("PATCH", "/v1/voices/v1", {"name": "n"}),
        proxy_event("DELETE", "/v1/voices/v1"),
        proxy_event("POST", "/v1/voices/v1/speech", {"text": "你好"}),
        proxy_event("POST", "/v1/voices/v1/speech", {"text": "你好"}, Accept="audio/wav"),
        proxy_event("POST", "/v1/voices/v1/speech", {"text": "😀"}),
        proxy_event("GET", "/v1/voices/v1/speech"),
        proxy_event("GET", "/v1/speech/sp-1"),
        proxy_event("GET", "/v1/usage"),
        proxy_event("GET", "/v1/webhooks/secret"),
        proxy_event("POST", "/v1/webhooks/secret/rotate"),
        proxy_event("GET", "/v1/openapi.json"),
        proxy_event("GET", "/v1/labels/policy"),
        proxy_event("PUT", "/v1/labels/policy", {"explicit_label": False}),
        {
            **proxy_event("POST", "/v1/provenance", **{"Content-Type": "audio/wav"}),
            "body": "UklGRiQAAABXQVZFZm10IBAAAAABAAEAgD4AAAB9AAACABAAZGF0YQAAAAA=",
            "isBase64Encoded": True,
        },
        proxy_event("POST", "/v1/jobs", "not json"),
    ]
    return events


def authorizer_requests() -> list[dict[str, Any]]:
    from voiceclone.logic.account.api_keys import issue_api_key
    from voiceclone.logic.core.services import services

    key = issue_api_key(services().store.account, "acme")
    arn = "arn:aws:execute-api:eu-central-1:123456789012:abc123/prod/GET/v1/jobs"
    return [
        {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
        for token in (key, "vck_unknown")
    ]


def run_requests(name: str, entry: Any) -> None:
    events = {"api": api_requests, "authorizer": authorizer_requests}[name]()
    for event in events:
        try:
            entry(event, Context())
        except Exception:
            continue
