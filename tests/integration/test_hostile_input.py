"""Hostile input never earns a 5xx: every refusal is a 4xx with `error` and `message`.

The property-based half drives the api and callback handlers in-process with the proxy events
the local gateway builds (cheap: no HTTP, no Lambda shim), on the session stack's moto; the
concrete half sends the cases found by probing the API by hand through the local stack's HTTP API.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voiceclone.domain.models import Gender, Job, JobStatus, Language, Sentence
from voiceclone.store import Store
from voiceclone.vendors.registry import vendor_ids
from voiceclone_local.apigw import proxy_event
from voiceclone_local.stack import LocalStack
from voiceclone_local.template import Route, api_routes

from infra.api import CALLBACK_ROUTE, CLIENT_ROUTES
from tests.helpers import http

CALLBACK_TOKEN = "t0ken-for-hostile-input"
TASK_ID = "hostile-task"
VENDORS = vendor_ids()
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Context:
    function_name = "hostile-input"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:hostile-input"
    aws_request_id = "00000000-0000-0000-0000-000000000000"


def stored_job(
    repo: Store,
    tenant: str,
    vendor: str,
    status: JobStatus = JobStatus.TRAINING,
    token: str | None = CALLBACK_TOKEN,
) -> Job:
    """A job written straight to the table; in TRAINING, one whose vendor already reported the end,
    so that a readable callback for its task changes nothing and asks the vendor nothing."""
    job = Job(
        job_id=uuid.uuid4().hex,
        tenant_id=tenant,
        vendor=vendor,
        voice_name="hostile",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=status,
        sentence_count=1,
        vendor_task_id=TASK_ID,
        vendor_status="SUCCEEDED",
        callback_token=token,
    )
    sentence = Sentence(job_id=job.job_id, tenant_id=tenant, text_id="00001", text="s", s3_key="k")
    repo.jobs.create(job, [sentence])
    return job


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """A tenant with one job awaiting audio, and per vendor a job in training that takes callbacks."""
    repo = Store(stack.table_name, stack.client("dynamodb"))
    tenant = f"hostile-{uuid.uuid4().hex[:8]}"
    key = stack.issue_api_key(tenant)
    routes = {(r.method, r.path): r for r in api_routes(stack.template)}
    awaiting = stored_job(repo, tenant, "tencent_vrs", JobStatus.AWAITING_AUDIO, token=None)
    yield {
        "tenant": tenant,
        "key": key,
        "routes": routes,
        "job_id": awaiting.job_id,
        "callback_jobs": {v: stored_job(repo, tenant, v).job_id for v in VENDORS},
        "repo": repo,
    }


def call(
    world: dict[str, Any],
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Call the route's function in-process as the local gateway would; (status, parsed body)."""
    from voiceclone.handlers import entries

    template_path = next(
        p for (m, p), r in world["routes"].items() if m == method and r.pattern.match(path.split("?", 1)[0])
    )
    route: Route = world["routes"][(method, template_path)]
    raw_path = path + ("?" + urlencode(query) if query else "")
    authorizer = None if route.authorizer_logical_id is None else {"tenant_id": world["tenant"]}
    event = proxy_event(route, method, raw_path, headers or {}, body, "123456789012", authorizer)
    handler = entries.callback if template_path == CALLBACK_ROUTE[1] else entries.api
    # An exception here is what API Gateway shows as a 502.
    answer = handler(event, Context())  # type: ignore[arg-type]
    raw = answer.get("body") or ""
    return int(answer["statusCode"]), json.loads(raw) if raw else None


def assert_no_5xx(status: int, body: Any, what: object) -> None:
    assert status < 500, (status, body, what)
    if status >= 400:
        assert isinstance(body, dict), (status, body, what)
        assert isinstance(body.get("error"), str) and body["error"], (status, body, what)
        assert isinstance(body.get("message"), str) and body["message"], (status, body, what)


# ----- what hostile input is made of ------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
surrogates = st.sampled_from(["\ud800", "a\udfffb", "\udbff\udbff"])


@st.composite
def deep_json(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=10, max_value=6000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * depth + "1" + closer * depth


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def own_key(world: dict[str, Any], listing: str) -> dict[str, Any]:
    return {"gsi1pk": {"S": f"TENANT#{world['tenant']}#{listing}"}}


@st.composite
def cursors(draw: st.DrawFn, world: dict[str, Any], listing: str) -> str:
    """Malformed page cursors: junk, wrong shapes, the caller's own partition with wrong types, deep."""
    kind = draw(st.sampled_from(["text", "json", "gsi1pk", "own", "deep", "bytes"]))
    if kind == "text":
        return draw(st.text(min_size=1, max_size=40))
    if kind == "bytes":
        return b64(draw(st.binary(min_size=1, max_size=60)))
    if kind == "deep":
        return b64(("[" * draw(st.integers(min_value=500, max_value=1530))).encode())[:2048]
    if kind == "gsi1pk":
        return b64(json.dumps({"gsi1pk": draw(json_values)}).encode())
    if kind == "own":
        key = own_key(world, listing)
        for name in draw(st.lists(st.sampled_from(["pk", "sk", "gsi1sk", "extra"]), max_size=4)):
            key[name] = draw(
                json_values | st.fixed_dictionaries({draw(st.sampled_from("SNQB")): json_values})
            )
        return b64(json.dumps(key).encode())
    return b64(json.dumps(draw(json_values)).encode())


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A request body and its headers: odd media types, non-UTF-8, deep nesting, surrogates, extras."""
    valid: dict[str, Any] = {
        "vendor": "tencent_vrs",
        "voice_name": "v",
        "speaker_name": "s",
        "gender": "female",
        "name": "n",
    }
    kind = draw(st.sampled_from(["json", "deep", "bytes", "surrogate", "unknown", "option"]))
    if kind == "json":
        text = json.dumps(draw(json_values))
    elif kind == "deep":
        text = draw(deep_json())
    elif kind == "bytes":
        raw = draw(st.binary(min_size=1, max_size=64)) + b"\xff\xfe"
        return raw, {"Content-Type": "application/json"}
    elif kind == "surrogate":
        field = draw(st.sampled_from(["vendor", "voice_name", "speaker_name", "name", "notify_url"]))
        text = json.dumps({**valid, field: draw(surrogates)})
    elif kind == "option":
        text = json.dumps({**valid, "options": {"speaker_id": draw(surrogates)}})
    else:
        extra = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in valid))
        text = json.dumps({**valid, extra: draw(json_values)})
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/vnd.api+json",
                "application/json; charset=utf-8",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "",
            ]
        )
        | st.text(max_size=30)
    )
    headers = {"Content-Type": content_type} if content_type else {}
    return text.encode("utf-8", "surrogatepass"), headers


ids = st.sampled_from(["JOB", "j1", "0" * 32, "a b", "../x", "%00", "\u202e", "x" * 300])


def concrete(path: str, world: dict[str, Any], pick: str) -> str:
    job = world["job_id"] if pick == "JOB" else pick
    for name, value in (("{job_id}", job), ("{text_id}", pick), ("{voice_id}", pick), ("{vendor}", pick)):
        path = path.replace(name, quote(value, safe=""))
    return path


# ----- the properties ---------------------------------------------------------------------------


@HYPOTHESIS
@given(data=st.data())
def test_malformed_cursors_are_a_4xx_on_every_list(world: dict[str, Any], data: st.DataObject) -> None:
    listing, path = data.draw(st.sampled_from([("JOBS", "/v1/jobs"), ("VOICES", "/v1/voices")]))
    cursor = data.draw(cursors(world, listing))
    status, body = call(world, "GET", path, query={"cursor": cursor, "limit": "5"})
    assert_no_5xx(status, body, cursor)


@HYPOTHESIS
@given(data=st.data())
def test_every_client_route_answers_hostile_requests_with_a_4xx(
    world: dict[str, Any], data: st.DataObject
) -> None:
    method, template = data.draw(st.sampled_from(list(CLIENT_ROUTES)))
    path = concrete(template, world, data.draw(ids))
    body, headers = data.draw(bodies())
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["cursor", "limit", "vendor", "state", "x", "\u001b[2J"]),
            st.text(max_size=12),
            max_size=2,
        )
    )
    if world["routes"].get((method, template)) is None:
        pytest.fail(f"{method} {template} is not a route of the template")
    status, answer = call(world, method, path, body, headers, query)
    assert_no_5xx(status, answer, (method, path, body[:80], headers, query))


@HYPOTHESIS
@given(data=st.data())
def test_every_callback_route_answers_hostile_bodies_with_a_4xx(
    world: dict[str, Any], data: st.DataObject
) -> None:
    vendor = data.draw(st.sampled_from([*VENDORS, "nobody", "\u001b"]))
    job_id = data.draw(
        st.sampled_from([world["callback_jobs"].get(vendor, "x"), "nope", "a/../b", "x" * 3000])
    )
    token = data.draw(st.sampled_from([CALLBACK_TOKEN, "", "wrong", "ü" * 40]))
    kind = data.draw(st.sampled_from(["fields", "bodies"]))
    if kind == "fields":  # the vendor's own field names with values of the wrong type
        fields = st.sampled_from(["TaskId", "Status", "StatusStr", "VoiceType", "JobId", "status", "data"])
        payload = data.draw(st.dictionaries(fields, json_values | surrogates, min_size=1, max_size=4))
        raw, headers = (
            json.dumps(payload).encode("utf-8", "surrogatepass"),
            {"Content-Type": "application/json"},
        )
    else:
        raw, headers = data.draw(bodies())
    status, body = call(
        world,
        "POST",
        f"/v1/callbacks/{quote(vendor, safe='')}/{quote(job_id, safe='')}",
        raw,
        headers,
        {"token": token},
    )
    assert_no_5xx(status, body, (vendor, job_id, raw[:80]))


# ----- the cases found by probing, through the local stack's HTTP API ---------------------------------


def refused(response: httpx.Response, status: int, error: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert response.status_code == status, (response.status_code, body)
    assert body["error"] and body["message"], body
    assert error is None or body["error"] == error, body
    return body


def test_probed_cursors_are_a_404_on_both_lists(stack: LocalStack, world: dict[str, Any]) -> None:
    api = http(stack, world["key"])
    for listing, path in (("JOBS", "/v1/jobs"), ("VOICES", "/v1/voices")):
        own = own_key(world, listing)
        for cursor in (
            b64(b'{"gsi1pk":"x"}'),
            b64(b'{"gsi1pk":5}'),
            b64(b'{"gsi1pk":null}'),
            b64(b"[" * 1500),
            b64(json.dumps({**own, "pk": {"Q": "a"}}).encode()),
            b64(json.dumps({**own, "gsi1sk": {"N": "x"}}).encode()),
        ):
            response = api.get(f"{stack.api_url}{path}", params={"cursor": cursor})
            refused(response, 404, "InvalidCursor")


def test_probed_bodies_are_a_4xx(stack: LocalStack, world: dict[str, Any]) -> None:
    api = http(stack, world["key"])
    url = f"{stack.api_url}/v1/jobs"
    json_type = {"Content-Type": "application/json"}
    deep = api.post(url, content=b"[" * 5000 + b"]" * 5000, headers=json_type)
    assert "nested deeper" in refused(deep, 422)["message"]
    surrogate = (
        b'{"vendor": "volcengine", "voice_name": "v", "gender": "male", "options": {"speaker_id": "\\ud800"}}'
    )
    assert "surrogate" in refused(api.post(url, content=surrogate, headers=json_type), 422)["message"]
    not_utf8 = api.post(url, content=b'{"vendor": "\xff\xfe"}', headers=json_type)
    assert "UTF-8" in refused(not_utf8, 422)["message"]
    create = {"vendor": "tencent_vrs", "voice_name": "v", "speaker_name": "s", "gender": "female"}
    vnd = api.post(url, content=json.dumps(create), headers={"Content-Type": "application/vnd.api+json"})
    assert "statusCode" not in refused(vnd, 415, "UnsupportedMediaType")
    unknown = api.post(url, json={**create, "voice_nmae": "typo"})
    assert refused(unknown, 422)["detail"][0]["loc"] == ["body", "voice_nmae"]
    ansi = api.post(url, json={**create, "voice_name": "\u001b[2J\u001b]0;pwned\u0007"})
    assert "U+001B" in refused(ansi, 422)["message"]
    qiniu = api.post(url, json={**create, "vendor": "qiniu", "voice_name": "x" * 21})
    assert "at most 20 characters" in refused(qiniu, 422, "NameTooLong")["message"]
    huawei = api.post(url, json={**create, "vendor": "huawei", "options": {"edition": "PLATINUM"}})
    assert "PLATINUM" in refused(huawei, 400, "InvalidOption")["message"]
    ok = api.post(url, json={**create, "vendor": "qiniu", "voice_name": "名" * 20})
    assert ok.status_code == 201, ok.text


def test_probed_callbacks_are_a_4xx(stack: LocalStack, world: dict[str, Any]) -> None:
    job_id = world["callback_jobs"]["tencent_vrs"]
    url = f"{stack.api_url}/v1/callbacks/tencent_vrs/{job_id}?token={CALLBACK_TOKEN}"
    for body in (
        {"TaskId": TASK_ID, "Status": "abc"},
        {"TaskId": TASK_ID, "Status": [2]},
        {"TaskId": [TASK_ID], "Status": 2},
        {"Status": {"a": {"b": 2}}},
    ):
        response = httpx.post(url, json=body)
        # Unreadable (400), another task's (409), or read as the hint it is and already processed (200)
        assert response.status_code in (200, 400, 409), (body, response.text)
        assert response.status_code == 200 or response.json()["error"] in ("BadCallback", "OtherTask")
    deep = httpx.post(url, content=b'{"TaskId": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    refused(deep, 400, "BadCallback")
    big = httpx.post(url, content=b'{"TaskId": "' + b"x" * (5 * 1024 * 1024) + b'"}')
    assert "262144" in refused(big, 413, "PayloadTooLarge")["message"]
    repo: Store = world["repo"]
    assert repo.jobs.require(job_id).status is JobStatus.TRAINING  # none of it moved the job
