"""The shared vendor pipeline: one encoding, signing the bytes sent, envelopes, the error precedence,
configuration (timeout, declared settings) and the registry, over recorded answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Unpack

import httpx
import pytest
from voiceclone.domain.errors import (
    NotFound,
    VendorAuthError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.vendors import config, registry
from voiceclone.vendors.base import (
    AudioSource,
    Capabilities,
    Connection,
    TrainingRequest,
    TrainingState,
    TrainingStatus,
    VendorAdapter,
    state_table,
)
from voiceclone.vendors.errors import KINDS, ErrorRules, classify, codes
from voiceclone.vendors.http import Envelope, NotTheApi, Reply, VendorHttp, encode_json

from tests.unit.conftest import Recorder

# ----- encoding and signing ------------------------------------------------------------------


def test_one_canonical_json_encoding() -> None:
    # Given a body with Chinese text and nesting / When encoded / Then UTF-8, no escapes, no spaces
    assert encode_json({"name": "温柔女声", "ids": [1, 2]}) == '{"name":"温柔女声","ids":[1,2]}'.encode()


def test_the_signer_sees_exactly_the_bytes_sent() -> None:
    # Given a signer that signs the body it is handed
    seen: list[bytes] = []

    def sign(content: bytes) -> dict[str, str]:
        seen.append(content)
        return {"X-Signature": str(len(content))}

    recorder = Recorder(lambda request: (200, {"ok": True}))
    http = VendorHttp("v", "https://vendor.example/", transport=recorder.transport)
    # When a JSON body is sent
    assert http.call("POST", "/x", json_body={"a": "é"}, sign=sign) == {"ok": True}
    # Then the signed bytes are the sent bytes, with the JSON content type
    request = recorder.requests[0]
    assert seen == [request.content] and request.headers["X-Signature"] == str(len(request.content))
    assert request.headers["Content-Type"] == "application/json"
    assert str(request.url) == "https://vendor.example/x"


# ----- the precedence --------------------------------------------------------------------------

RULES = ErrorRules(
    codes={**codes("throttled", "GW.0308"), **codes("rejected", 1102)},
    # Overlapping prefixes of different kinds, the longer one of a kind both before (auth) and after
    # (throttled) the shorter one's in KINDS: only "longest first" gets both right.
    prefixes={
        **codes("auth", "GW.03", "InternalError.Auth"),
        **codes("throttled", "GW.031"),
        **codes("unavailable", "Internal"),
        **codes("rejected", "GW.0319"),
    },
    words={
        "auth": re.compile(r"token", re.IGNORECASE),
        "throttled": re.compile(r"too many", re.IGNORECASE),
    },
    auth_statuses=(401,),
)


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        # 1. the code: exact before prefix, the longest prefix first, before the status
        (400, "GW.0308", "", "throttled"),
        (400, "GW.0301", "", "auth"),
        (400, "InternalError.Auth", "", "auth"),
        (400, "InternalError.AuthX", "", "auth"),
        (400, "InternalError.Db", "", "unavailable"),
        (400, "GW.0312", "", "throttled"),
        (400, "GW.031", "", "throttled"),
        (400, "GW.0319", "", "rejected"),
        (400, "GW.03199", "", "rejected"),
        (400, "GW.0399", "", "auth"),
        (400, "XGW.0312", "", "rejected"),  # a prefix is where a code starts, not a part of it
        (429, "GW.0301", "", "auth"),
        (200, "1102", "bad token", "rejected"),
        # 2. the status: the vendor's auth statuses, 429, 5xx, before the words
        (401, "", "", "auth"),
        (403, "", "", "rejected"),
        (429, "E1", "bad token", "throttled"),
        (503, "", "token", "unavailable"),
        # 3. the words, auth before throttled where both match
        (200, "E1", "invalid token", "auth"),
        (200, "E1", "too many requests", "throttled"),
        (200, "E1", "too many token refreshes", "auth"),
        # 4. else rejected
        (400, "E1", "bad parameter", "rejected"),
    ],
)
def test_one_precedence(status: int, code: str, message: str, kind: str) -> None:
    assert RULES.kind(status, code, message) == kind


def test_the_kinds_are_ordered_auth_throttled_unavailable_rejected() -> None:
    assert KINDS == ("auth", "throttled", "unavailable", "rejected")


def test_where_words_of_a_retried_kind_and_of_rejected_match_the_retried_kind_wins() -> None:
    # The rejected words first in the rules, and first by name too: only KINDS' order puts them last
    rules = ErrorRules(
        words={
            "rejected": re.compile(r"quota", re.IGNORECASE),
            "unavailable": re.compile(r"busy", re.IGNORECASE),
            "throttled": re.compile(r"slow down", re.IGNORECASE),
        }
    )
    assert rules.kind(200, "E1", "quota service busy") == "unavailable"
    assert rules.kind(200, "E1", "slow down: quota checks") == "throttled"
    assert rules.kind(200, "E1", "quota exceeded") == "rejected"


def test_classify_keeps_the_vendor_code_else_the_status() -> None:
    error = classify("v", RULES, status=429, code="", message="", raw_text="slow down", request_id="r1")
    assert type(error) is VendorThrottled
    assert (error.code, error.message, error.details["request_id"]) == ("HTTP429", "slow down", "r1")
    error = classify("v", RULES, status=200, code="E1", message="too many requests")
    assert type(error) is VendorThrottled and error.code == "E1" and "request_id" not in error.details


def test_messages_stand_in_and_advice_keeps_the_vendor_words() -> None:
    rules = ErrorRules(
        messages={"E9": "what E9 means", "auth": "check the key"}, advice={"E7": "record again"}
    )
    # A message by code, then by kind, then the generic one, when the vendor sent none
    assert classify("v", rules, status=400, code="E9").message == "what E9 means"
    assert classify("v", rules, status=401).message == "check the key"
    assert classify("v", rules, status=400).message == "the vendor refused the request (HTTP 400)"
    # Advice replaces the vendor's message, which is kept as vendor_message
    advised = classify("v", rules, status=200, code="E7", message="音频不合格")
    assert (advised.message, advised.details["vendor_message"]) == ("record again", "音频不合格")


# ----- the envelope ----------------------------------------------------------------------------


class CodedEnvelope(Envelope):
    """{"code", "msg", "data"} with a request id header: a small vendor's envelope."""

    request_id_headers = ("X-Req",)
    rules = ErrorRules(codes=codes("throttled", "Busy"))

    def error(self, reply: Reply) -> tuple[str, str] | None:
        body = reply.json_object
        if body.get("code") in (None, 0):
            return None
        return str(body["code"]), str(body.get("msg") or "")

    def payload(self, reply: Reply) -> Any:
        if "data" not in reply.json_object:
            raise NotTheApi("no data")
        return reply.json_object["data"]


def http_answering(status: int, body: Any) -> VendorHttp:
    recorder = Recorder(lambda request: (status, body), headers=lambda request: {"X-Req": "req-9"})
    return VendorHttp("v", "https://vendor.example", transport=recorder.transport, envelope=CodedEnvelope())


def test_an_error_in_a_200_is_classified_by_the_envelopes_rules() -> None:
    with pytest.raises(VendorThrottled) as caught:
        http_answering(200, {"code": "Busy", "msg": "later"}).call("GET", "/")
    assert (caught.value.code, caught.value.message) == ("Busy", "later")
    assert caught.value.details["request_id"] == "req-9"


def test_a_success_is_the_envelopes_payload_and_anything_else_is_not_the_api() -> None:
    assert http_answering(200, {"code": 0, "data": [1]}).call("GET", "/") == [1]
    with pytest.raises(VendorUnavailable) as caught:
        http_answering(200, {"code": 0}).call("GET", "/")
    assert (caught.value.code, caught.value.message) == ("HTTP200", "no data")


def test_gone_ok_turns_a_404_into_none() -> None:
    assert http_answering(404, "<html>gone</html>").call("DELETE", "/x", gone_ok=True) is None
    with pytest.raises(VendorRejected) as caught:
        http_answering(404, "<html>gone</html>").call("DELETE", "/x")
    assert caught.value.code == "HTTP404"


@pytest.mark.parametrize(
    ("failure", "code"),
    [(httpx.ConnectError("refused"), "NetworkError"), (httpx.ReadTimeout("slow"), "Timeout")],
)
def test_network_failures_are_retryable(failure: Exception, code: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    http = VendorHttp("v", "https://vendor.example", transport=Recorder(fail).transport)
    with pytest.raises(VendorUnavailable) as caught:
        http.call("GET", "/")
    assert caught.value.code == code and caught.value.retryable


# ----- configuration ---------------------------------------------------------------------------


def test_the_vendor_timeout_comes_from_configuration(clean_vendor_env: pytest.MonkeyPatch) -> None:
    # Given no setting / Then 10 s; given one / Then that one, on the adapter's HTTP client
    assert config.timeout_seconds() == 10.0
    clean_vendor_env.setenv("VOICECLONE_VENDOR_TIMEOUT_SECONDS", "25")
    clean_vendor_env.setenv("VOICECLONE_QINIU_API_KEY", "k")
    from voiceclone.vendors.qiniu import QiniuAdapter

    adapter = QiniuAdapter.from_environment()
    assert adapter._http._client.timeout.read == 25.0
    # And a value that is not a positive number is refused, naming the variable
    clean_vendor_env.setenv("VOICECLONE_VENDOR_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="VOICECLONE_VENDOR_TIMEOUT_SECONDS"):
        config.timeout_seconds()


def test_the_volcengine_console_endpoint_is_a_declared_setting(clean_vendor_env: pytest.MonkeyPatch) -> None:
    from voiceclone.vendors.volcengine import VolcengineAdapter

    assert "console_endpoint" in VolcengineAdapter.optional_fields
    for field in VolcengineAdapter.credential_fields:
        clean_vendor_env.setenv(config.env_name("volcengine", field), "x")
    clean_vendor_env.setenv("VOICECLONE_VOLCENGINE_CONSOLE_ENDPOINT", "http://127.0.0.1:9/console")
    assert VolcengineAdapter.from_environment().console_endpoint == "http://127.0.0.1:9/console"


# ----- a vendor declared in one place ------------------------------------------------------------


class FakeAdapter(VendorAdapter):
    """The smallest vendor: declarations, one envelope, two operations."""

    vendor_id = "fake"
    default_endpoint = "https://fake.example"
    credential_fields = ("token",)
    capabilities = Capabilities(audio_transport="url", sentence_count=3)
    envelope = CodedEnvelope()
    training_states = state_table(running=("busy",), succeeded=("done",), failed=("broken",))

    def __init__(self, endpoint: str, token: str, **connection: Unpack[Connection]) -> None:
        super().__init__(endpoint, **connection)
        self.token = token

    def create_task(self, request: TrainingRequest, audio: AudioSource) -> str:
        return str(self._http.call("POST", "/tasks", json_body={"url": audio.assembled_url()}))

    def get_status(self, task_id: str) -> TrainingStatus:
        data = self._http.call("GET", f"/tasks/{task_id}")
        return self.status_of(task_id, data["state"], voice=self.voice(task_id), error_message="it broke")


@pytest.fixture
def fake_registered() -> Iterator[None]:
    registry.register("fake", FakeAdapter)
    yield
    registry.VENDORS.pop("fake")
    registry._REGISTERED.pop("fake")
    registry.get_adapter.cache_clear()


def test_a_registered_vendor_is_configured_from_its_declarations(
    fake_registered: None, clean_vendor_env: pytest.MonkeyPatch
) -> None:
    # Given the fake vendor registered at run time and its token in the environment
    clean_vendor_env.setenv("VOICECLONE_FAKE_TOKEN", "t-1")
    # Then the registry lists it and builds it with its default endpoint and declared credential
    assert registry.vendor_ids()[-1] == "fake" and registry.capabilities("fake").sentence_count == 3
    adapter = registry.get_adapter("fake")
    assert isinstance(adapter, FakeAdapter)
    assert (adapter.endpoint, adapter.token) == ("https://fake.example", "t-1")
    # And without the token the error names the variable to set
    registry.get_adapter.cache_clear()
    clean_vendor_env.delenv("VOICECLONE_FAKE_TOKEN")
    with pytest.raises(VendorAuthError, match="VOICECLONE_FAKE_TOKEN"):
        registry.get_adapter("fake")


def test_register_checks_the_declared_id_and_the_target() -> None:
    with pytest.raises(ValueError, match="declares 'fake'"):
        registry.register("other", FakeAdapter)
    with pytest.raises(ValueError, match="module:Class"):
        registry.register("other", "no-colon")
    with pytest.raises(NotFound):
        registry.adapter_class("nobody")


@pytest.mark.parametrize(
    ("state", "expected", "voice", "error"),
    [
        ("busy", TrainingState.RUNNING, False, ""),
        ("done", TrainingState.SUCCEEDED, True, ""),
        ("broken", TrainingState.FAILED, False, "TrainingFailed"),
        ("something new", TrainingState.RUNNING, False, ""),
    ],
)
def test_vendor_states_map_through_the_table_and_unknown_ones_keep_polling(
    state: str, expected: TrainingState, voice: bool, error: str
) -> None:
    recorder = Recorder(lambda request: (200, {"code": 0, "data": {"state": state}}))
    status = FakeAdapter("https://fake.example", "t", transport=recorder.transport).get_status("task-1")
    assert (status.state, status.vendor_state, status.error_code) == (expected, state, error)
    assert (status.voice is not None) is voice
    assert status.error_message == ("it broke" if error else "")


def test_what_a_vendor_lacks_is_refused_from_its_capabilities(offline: httpx.MockTransport) -> None:
    adapter = FakeAdapter("https://fake.example", "t", transport=offline)
    voice = adapter.voice("v-1", name="n")
    assert voice.model_dump()["details"] == {"name": "n"}
    refusals = []
    for operation in (
        lambda: adapter.rename_voice(voice, "x"),
        lambda: adapter.delete_voice(voice),
        lambda: adapter.cancel_task("t"),
        lambda: adapter.list_voices(),
        lambda: adapter.parse_callback(b"{}"),
    ):
        with pytest.raises(VendorRejected) as caught:
            operation()
        refusals.append((caught.value.code, caught.value.message.split(":")[0]))
    assert refusals == [
        ("NotSupported", "fake cannot rename voices"),
        ("NotSupported", "fake cannot delete voices"),
        ("NotSupported", "fake cannot cancel training"),
        ("NotSupported", "fake cannot list voices"),
        ("NoCallback", "fake cannot send training callbacks"),
    ]
