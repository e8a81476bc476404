"""Bad input to the REST API and the callback route is a 4xx that says what is wrong, never a 5xx.

The api and callback handlers run in-process on proxy events, with the store and vendors faked:
what is checked here is the refusal (status, `error`, `message`), before any AWS call.
"""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import ValidationError
from voiceclone.domain.api_models import CreateJobRequest, RenameVoiceRequest
from voiceclone.domain.errors import NotFound, VendorRejected
from voiceclone.domain.models import Gender, Job, JobStatus, Language
from voiceclone.logic.core import services as core_services
from voiceclone.logic.core import tasks
from voiceclone.logic.training.callbacks import TRAINING_CALLBACKS
from voiceclone.store.table import encode_cursor, page_start
from voiceclone.vendors.base import TrainingState, TrainingStatus


class FakeContext:
    function_name = "fn"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    aws_request_id = "req-1"


def event(
    method: str,
    path: str,
    body: str | None = None,
    content_type: str | None = "application/json",
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    base64_encoded: bool = False,
) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it once the authorizer allowed tenant acme."""
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": base64_encoded,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": path,
            "stage": "prod",
            "requestId": "req-api",
            "authorizer": {"tenant_id": "acme", "api_key_id": "key_acme"},
        },
    }


class Untouchable:
    """A store or vendor that must not be reached: the request is refused before."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"reached {name} although the input was refused first")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Any:
    from voiceclone import rest as module

    monkeypatch.setattr(core_services, "_services", SimpleNamespace(store=Untouchable()))
    return module


def answer(api: Any, evt: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = api.handle(evt, FakeContext())
    return int(result["statusCode"]), json.loads(result["body"])


def assert_refused(status: int, body: dict[str, Any], expected: int) -> None:
    assert status == expected, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]


CREATE = {"vendor": "tencent_vrs", "voice_name": "v", "gender": "female", "speaker_name": "Li Hua"}


# ----- bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [17, 900, 1500, 5000])
def test_json_nested_deeply_is_a_422(api: Any, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    status, body = answer(
        api, event("POST", "/v1/jobs", json.dumps(CREATE)[:-1] + f', "options": {nested}}}')
    )
    assert_refused(status, body, 422)
    assert body["detail"][0]["type"] == "json_depth" and "nested deeper than 16" in body["message"]


def test_json_within_the_depth_limit_is_validated_as_usual(api: Any) -> None:
    nested = "[" * 15 + "]" * 15
    status, body = answer(
        api, event("POST", "/v1/jobs", json.dumps(CREATE)[:-1] + f', "options": {nested}}}')
    )
    assert_refused(status, body, 422)
    assert body["detail"][0]["loc"] == ["body", "options"] and body["detail"][0]["type"] != "json_depth"


@pytest.mark.parametrize(
    "raw",
    [
        '{"vendor": "tencent_vrs", "voice_name": "v", "gender": "female", "options": {"id": "\\ud800"}}',
        '{"vendor": "tencent_vrs", "voice_name": "a\\udfffb", "gender": "female"}',
        '{"vendor": "tencent_vrs", "voice_name": "v", "gender": "female", "options": {"\\ud800": "x"}}',
    ],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_a_422(api: Any, raw: str) -> None:
    status, body = answer(api, event("POST", "/v1/jobs", raw))
    assert_refused(status, body, 422)
    assert body["detail"][0]["type"] == "string_unicode" and "surrogate" in body["message"]


def test_bytes_that_are_not_utf8_are_a_422(api: Any) -> None:
    raw = base64.b64encode(b'{"vendor": "\xff\xfe"}').decode()
    status, body = answer(api, event("POST", "/v1/jobs", raw, base64_encoded=True))
    assert_refused(status, body, 422)
    assert "not UTF-8" in body["message"]


@pytest.mark.parametrize(
    "content_type", ["application/vnd.api+json", "text/plain", "application/x-www-form-urlencoded"]
)
def test_another_media_type_is_a_415_in_the_documented_shape(api: Any, content_type: str) -> None:
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps(CREATE), content_type=content_type))
    assert_refused(status, body, 415)
    assert body["error"] == "UnsupportedMediaType" and content_type in body["message"]
    assert "statusCode" not in body


def test_a_415_from_the_validation_itself_has_the_documented_shape_too(api: Any) -> None:
    # No body at all, so the handler's own check passes it on; Powertools refuses the media type.
    status, body = answer(api, event("PATCH", "/v1/voices/v-1", None, content_type="text/csv"))
    assert_refused(status, body, 415)
    assert "text/csv" in body["message"] and "statusCode" not in body


def test_a_body_over_the_limit_is_a_413(api: Any) -> None:
    big = json.dumps({**CREATE, "options": {"speaker_id": "x" * 70_000}})
    status, body = answer(api, event("POST", "/v1/jobs", big))
    assert_refused(status, body, 413)
    assert "65536" in body["message"]


def test_an_unknown_body_field_is_a_422_naming_the_fields_the_body_takes(api: Any) -> None:
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps({**CREATE, "voice_nmae": "typo"})))
    assert_refused(status, body, 422)
    (detail,) = body["detail"]
    assert detail["loc"] == ["body", "voice_nmae"] and detail["type"] == "extra_forbidden"
    assert (
        "this body takes consent_document, gender, language, notify_url, options, speaker_name, vendor, "
        "voice_name" in detail["msg"]
    )
    status, body = answer(api, event("PATCH", "/v1/voices/v-1", json.dumps({"name": "n", "state": "READY"})))
    assert_refused(status, body, 422)
    assert body["detail"][0]["loc"] == ["body", "state"] and "this body takes name" in body["message"]


# ----- names: no control characters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("\u001b[2J\u001b]0;pwned\u0007", "U+001B"),
        ("tab\there", "U+0009"),
        ("line\nbreak", "U+000A"),
        ("c1\u009bcontrol", "U+009B"),
        ("evil\u202egnp.exe", "U+202E"),
        ("isolate\u2066x\u2069", "U+2066"),
        ("para\u2029graph", "U+2029"),
    ],
)
def test_a_name_with_control_characters_is_refused_at_create_and_rename(
    api: Any, name: str, shown: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(shown)):
        CreateJobRequest.model_validate({**CREATE, "voice_name": name})
    with pytest.raises(ValidationError, match=re.escape(shown)):
        RenameVoiceRequest.model_validate({"name": name})
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps({**CREATE, "voice_name": name})))
    assert_refused(status, body, 422)
    assert body["detail"][0]["loc"] == ["body", "voice_name"]
    assert "control characters" in body["message"] and shown in body["message"]
    status, body = answer(api, event("PATCH", "/v1/voices/v-1", json.dumps({"name": name})))
    assert_refused(status, body, 422)
    assert body["detail"][0]["loc"] == ["body", "name"] and shown in body["message"]


@pytest.mark.parametrize("name", ["新名字", "Zoë's voice", "voz (México) 2", "👩‍👩‍👧 family", "עברית"])
def test_names_in_any_script_are_accepted(name: str) -> None:
    assert CreateJobRequest.model_validate({**CREATE, "voice_name": name}).voice_name == name
    assert RenameVoiceRequest.model_validate({"name": name}).name == name


# ----- page cursors ------------------------------------------------------------------------------------

OWN = "TENANT#acme#JOBS"
GOOD_KEY = {
    "pk": {"S": "JOB#j1"},
    "sk": {"S": "JOB"},
    "gsi1pk": {"S": OWN},
    "gsi1sk": {"S": "2026-12-03T08:00:00+00:00#j1"},
}


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


BAD_CURSORS = {
    "gsi1pk a string": cursor_of({"gsi1pk": "x"}),
    "gsi1pk a number": cursor_of({"gsi1pk": 5}),
    "gsi1pk null": cursor_of({"gsi1pk": None}),
    "not an object": cursor_of([GOOD_KEY]),
    "nested 1,500 deep": base64.urlsafe_b64encode(b"[" * 1500).decode(),
    "nested objects deep": base64.urlsafe_b64encode(b'{"a":' * 300).decode(),
    "own key, unknown type": cursor_of({**GOOD_KEY, "pk": {"Q": "a"}}),
    "own key, number sort key": cursor_of({**GOOD_KEY, "gsi1sk": {"N": "x"}}),
    "own key, two types": cursor_of({**GOOD_KEY, "sk": {"S": "JOB", "N": "1"}}),
    "own key, empty string": cursor_of({**GOOD_KEY, "sk": {"S": ""}}),
    "own key, control character": cursor_of({**GOOD_KEY, "sk": {"S": "JOB\u001b"}}),
    "own key, lone surrogate": cursor_of({**GOOD_KEY, "pk": {"S": "\ud800"}}),
    "own key, extra attribute": cursor_of({**GOOD_KEY, "extra": {"S": "x"}}),
    "own key, attribute missing": cursor_of({k: v for k, v in GOOD_KEY.items() if k != "sk"}),
    "own partition only": cursor_of({"gsi1pk": {"S": OWN}}),
    "another tenant's": cursor_of({**GOOD_KEY, "gsi1pk": {"S": "TENANT#other#JOBS"}}),
    "not base64": "%%%not-base64",
    "not JSON": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
}


@pytest.mark.parametrize("cursor", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
def test_a_malformed_cursor_is_refused_before_dynamodb_sees_it(cursor: str) -> None:
    with pytest.raises(NotFound) as refused:
        page_start(cursor, OWN)
    assert refused.value.code == "InvalidCursor"


def test_a_cursor_the_service_issued_is_taken_as_it_is() -> None:
    cursor = encode_cursor(GOOD_KEY)
    assert page_start(cursor, OWN) == GOOD_KEY
    assert page_start(None, OWN) is None and page_start("", OWN) is None


@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/voices"])
@pytest.mark.parametrize("cursor", list(BAD_CURSORS.values())[:8], ids=list(BAD_CURSORS)[:8])
def test_a_malformed_cursor_is_a_404_on_both_lists(
    api: Any, monkeypatch: pytest.MonkeyPatch, path: str, cursor: str
) -> None:
    from voiceclone.store import Store

    repo = Store("table", client=Untouchable())  # type: ignore[arg-type]
    monkeypatch.setattr(core_services, "_services", SimpleNamespace(store=repo))
    status, body = answer(api, event("GET", path, query={"cursor": cursor}))
    assert_refused(status, body, 404)
    assert body["error"] == "InvalidCursor"


# ----- AWS failing is a 503 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "Query"
        ),
        ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "GetItem"),
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    ],
    ids=["throttled", "internal", "unreachable"],
)
def test_an_aws_failure_is_a_503_with_the_documented_body(
    api: Any, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def fail(*args: Any) -> Any:
        raise failure

    monkeypatch.setattr(
        core_services,
        "_services",
        SimpleNamespace(store=SimpleNamespace(voices=SimpleNamespace(require=fail))),
    )
    result = api.handle(event("GET", "/v1/voices/v-1"), FakeContext())
    body = json.loads(result["body"])
    assert_refused(result["statusCode"], body, 503)
    assert body["error"] == "ServiceUnavailable" and "try again" in body["message"]
    assert (
        result["multiValueHeaders"].get("Retry-After") == ["1"] or result["headers"].get("Retry-After") == "1"
    )
    assert "slow down" not in body["message"] and "dynamodb" not in body["message"]


# ----- callbacks ---------------------------------------------------------------------------------------


def training(vendor: str = "tencent_vrs") -> Job:
    return Job(
        job_id="j1",
        tenant_id="acme",
        vendor=vendor,
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=JobStatus.TRAINING,
        vendor_task_id="task-1",
        callback_token="tok",
    )


class RaisingParser:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def parse_callback(self, body: bytes) -> TrainingStatus:
        raise self.error

    def get_status(self, task_id: str) -> TrainingStatus:
        raise AssertionError("a bad callback body must not lead to a status query")


def services_with(job: Job | None, adapter: Any) -> Any:
    store = SimpleNamespace(jobs=SimpleNamespace(get=lambda job_id: job))
    return SimpleNamespace(store=store, adapter_for=lambda vendor: adapter)


def handle_callback(svc: Any, vendor: str, job_id: str, token: str, body: bytes) -> tasks.CallbackResult:
    """A training callback through the one callback mechanism, as the callback function sends it."""
    return tasks.handle(svc, TRAINING_CALLBACKS, vendor, job_id, token, body)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("invalid literal for int() with base 10: 'abc'"),
        TypeError("int() argument must be a string, not 'list'"),
        KeyError("Status"),
        AttributeError("'list' object has no attribute 'get'"),
        RecursionError("maximum recursion depth exceeded"),
        VendorRejected("tencent_vrs", "BadCallback", "callback body has no TaskId"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_any_failure_to_parse_a_callback_body_is_a_400(error: BaseException) -> None:
    svc = services_with(training(), RaisingParser(error))
    result = handle_callback(svc, "tencent_vrs", "j1", "tok", b'{"Status": "abc"}')
    assert result.status_code == 400 and result.error == "BadCallback" and result.message
    assert set(result.body()) == {"error", "message"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"TaskId": "task-1", "Status": "abc"}',
        b'{"TaskId": "task-1", "Status": [2]}',
        b'{"TaskId": "task-1", "Status": {"a": 1}}',
        b'{"TaskId": ["task-1"], "Status": 2}',
        b'{"TaskId": "task-1", "Status": 2, "VoiceType": "abc"}',
        b"[" * 5000,
        b'{"TaskId": "task-1", "Status": ' + b"[" * 3000 + b"]" * 3000 + b"}",
        b"\xff\xfe",
    ],
)
def test_the_tencent_vrs_parser_on_malformed_bodies_gives_a_400(body: bytes) -> None:
    from voiceclone.vendors.tencent_vrs import TencentVrsAdapter

    # The vendor's parser as it is; its status API (the truth a callback only hints at) still training
    parser = TencentVrsAdapter("https://vrs.example", "id", "key")
    running = TrainingStatus(task_id="task-1", state=TrainingState.RUNNING)
    adapter = SimpleNamespace(parse_callback=parser.parse_callback, get_status=lambda task_id: running)
    result = handle_callback(services_with(training(), adapter), "tencent_vrs", "j1", "tok", body)
    # Refused as unreadable (400), as another task's (409), or taken as a hint and confirmed (202)
    assert result.status_code in (202, 400, 409), result
    assert result.status_code == 202 or (result.error and result.message)


def test_a_callback_body_over_the_limit_is_a_413_before_any_lookup() -> None:
    svc = SimpleNamespace(store=Untouchable(), adapter_for=Untouchable())
    body = b'{"TaskId": "task-1", "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    result = handle_callback(svc, "tencent_vrs", "j1", "tok", body)  # type: ignore[arg-type]
    assert result.status_code == 413 and result.error == "PayloadTooLarge"
    assert str(tasks.MAX_CALLBACK_BYTES) in result.message
    ok_size = b" " * tasks.MAX_CALLBACK_BYTES
    refused = handle_callback(
        services_with(training(), RaisingParser(ValueError())), "tencent_vrs", "j1", "tok", ok_size
    )
    assert refused.status_code == 400  # at the limit: read, and refused for what it says


@pytest.mark.parametrize(
    ("vendor", "job_id"),
    [("no/body", "j1"), ("\u001b[2J", "j1"), ("tencent_vrs", "x" * 3000), ("tencent_vrs", "a b"), ("", "")],
)
def test_a_callback_path_naming_no_job_is_a_404_without_a_lookup(vendor: str, job_id: str) -> None:
    svc = SimpleNamespace(store=Untouchable(), adapter_for=Untouchable())
    result = handle_callback(svc, vendor, job_id, "tok", b"{}")  # type: ignore[arg-type]
    assert result.status_code == 404 and result.error == "JobNotFound"


def test_the_callback_handler_answers_aws_and_vendor_failures_with_a_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voiceclone.domain.errors import VendorUnavailable
    from voiceclone.handlers import callback

    monkeypatch.setattr(core_services, "_services", SimpleNamespace())
    evt = event("POST", "/v1/callbacks/tencent_vrs/j1", "{}", query={"token": "tok"})
    evt["pathParameters"] = {"vendor": "tencent_vrs", "job_id": "j1"}
    for failure, status in (
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "m"}}, "GetItem"), 503),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), 503),
        (VendorUnavailable("tencent_vrs", "InternalError", "down"), 503),
        (VendorRejected("tencent_vrs", "TaskNotFound", "no such task"), 502),
    ):

        def fail(*args: Any, failure: Exception = failure) -> Any:
            raise failure

        monkeypatch.setattr(tasks, "handle", fail)
        result = callback.handler(evt, FakeContext())  # type: ignore[arg-type]
        body = json.loads(result["body"])
        assert result["statusCode"] == status and body["error"] and body["message"], (failure, body)
    bad_base64 = {**evt, "body": "***", "isBase64Encoded": True}
    result = callback.handler(bad_base64, FakeContext())  # type: ignore[arg-type]
    assert result["statusCode"] == 400 and json.loads(result["body"])["error"] == "BadCallback"


def test_a_well_formed_callback_still_reaches_the_status_query() -> None:
    confirmed = TrainingStatus(task_id="task-1", state=TrainingState.RUNNING)
    adapter = SimpleNamespace(parse_callback=lambda body: confirmed, get_status=lambda task_id: confirmed)
    result = handle_callback(services_with(training(), adapter), "tencent_vrs", "j1", "tok", b"{}")
    assert result.status_code == 202 and result.error is None and set(result.body()) == {"message"}


# ----- what the vendor refuses, refused at once ------------------------------------------------------


def test_a_name_longer_than_qiniu_takes_is_a_422_naming_the_limit_at_create(api: Any) -> None:
    request = {**CREATE, "vendor": "qiniu", "voice_name": "名" * 21}
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps(request)))
    assert_refused(status, body, 422)
    assert body["error"] == "NameTooLong" and "at most 20 characters" in body["message"]
    assert body["detail"] == [{"loc": ["body", "voice_name"], "msg": body["message"], "type": "NameTooLong"}]
    assert body["details"] == {"max_chars": 20}


def test_a_name_longer_than_qiniu_takes_is_a_422_at_rename_before_qiniu_is_called(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceclone.domain.models import VendorVoice, Voice

    voice = Voice(
        voice_id="v-1",
        tenant_id="acme",
        name="old",
        vendor="qiniu",
        job_id="j1",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        vendor_voice=VendorVoice(vendor="qiniu", voice_id="slot-1"),
    )
    store = SimpleNamespace(voices=SimpleNamespace(require=lambda voice_id, tenant: voice))
    monkeypatch.setattr(core_services, "_services", SimpleNamespace(store=store, adapter_for=Untouchable()))
    status, body = answer(api, event("PATCH", "/v1/voices/v-1", json.dumps({"name": "x" * 21})))
    assert_refused(status, body, 422)
    assert body["error"] == "NameTooLong" and body["detail"][0]["loc"] == ["body", "name"]
    assert body["message"] == "qiniu takes voice names of at most 20 characters; this one has 21"


def test_a_name_within_the_limit_or_at_a_vendor_without_one_passes() -> None:
    from voiceclone.logic.training.voices import check_voice_name

    check_voice_name("qiniu", "x" * 20, ("body", "name"))
    check_voice_name("tencent_vrs", "x" * 64, ("body", "name"))


def test_an_option_value_the_vendor_refuses_is_a_400_at_create(api: Any) -> None:
    request = {**CREATE, "vendor": "huawei", "options": {"edition": "PLATINUM"}}
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps(request)))
    assert_refused(status, body, 400)
    assert body["error"] == "InvalidOption" and "PLATINUM" in body["message"] and "BASIC" in body["message"]
    unknown = {**CREATE, "options": {"edition": "BASIC"}}
    status, body = answer(api, event("POST", "/v1/jobs", json.dumps(unknown)))
    assert_refused(status, body, 400)
    assert body["error"] == "UnknownOption"


def test_the_body_limit_counts_bytes_not_characters(api: Any) -> None:
    # 30,000 CJK characters: under the limit in characters, 90,000 bytes in UTF-8
    big = json.dumps({**CREATE, "options": {"speaker_id": "名" * 30_000}}, ensure_ascii=False)
    assert len(big) < 65536 < len(big.encode())
    status, body = answer(api, event("POST", "/v1/jobs", big))
    assert_refused(status, body, 413)
    encoded = base64.b64encode(big.encode()).decode()
    status, body = answer(api, event("POST", "/v1/jobs", encoded, base64_encoded=True))
    assert_refused(status, body, 413)
