"""Every vendor's error table through the one pipeline: 429 and 503 with and without the vendor's body,
auth and rejected, from recorded responses. The vendor's code, message and request id always survive."""

# ruff: noqa: E501 - one recorded error a line reads as a table

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.registry import vendor_ids

from tests.unit.conftest import Recorder, offline_adapter

Build = Callable[[httpx.BaseTransport], VendorAdapter]

# Every registered vendor's adapter, built from what it declares (tests.unit.conftest.offline_adapter).
ADAPTERS: dict[str, Build] = {vendor: partial(offline_adapter, vendor) for vendor in vendor_ids()}


def tencent(code: str, message: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "rid-1"}}


def gateway(code: str, message: str) -> dict[str, Any]:
    return {"requestId": "rid-1", "error": {"code": code, "message": message}}


def qiniu(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "msg": message, "reqid": "rid-1", "data": {}}


def volcengine(code: int, message: str) -> dict[str, Any]:
    return {"BaseResp": {"StatusCode": code, "StatusMessage": message}}


def huawei(code: str, message: str) -> dict[str, Any]:
    return {"error_code": code, "error_msg": message}


def dashscope(code: str, message: str) -> dict[str, Any]:
    return {"request_id": "rid-1", "code": code, "message": message}


# vendor -> case -> (HTTP status, recorded body, error class, the vendor's code on the error, its message)
TABLES: dict[str, dict[str, tuple[int, Any, type[VendorError], str, str]]] = {
    "tencent_vrs": {
        "429-body": (429, tencent("RequestLimitExceeded", "too fast"), VendorThrottled, "RequestLimitExceeded", "too fast"),
        "503-body": (503, tencent("InternalError", "db down"), VendorUnavailable, "InternalError", "db down"),
        "auth": (200, tencent("AuthFailure.SignatureFailure", "bad sig"), VendorAuthError, "AuthFailure.SignatureFailure", "bad sig"),
        "rejected": (200, tencent("InvalidParameter.TaskId", "no task"), VendorRejected, "InvalidParameter.TaskId", "no task"),
    },
    "tencent_gateway": {
        "429-body": (429, gateway("RequestLimitExceeded", "too fast"), VendorThrottled, "RequestLimitExceeded", "too fast"),
        "503-body": (503, gateway("InternalError", "db down"), VendorUnavailable, "InternalError", "db down"),
        "auth": (401, gateway("AuthFailure", "wrong secretKey"), VendorAuthError, "AuthFailure", "wrong secretKey"),
        "rejected": (400, gateway("InvalidParameterValue", "no job"), VendorRejected, "InvalidParameterValue", "no job"),
    },
    "qiniu": {
        "429-body": (429, {"code": 429, "message": "rate limited", "reqid": "rid-1"}, VendorThrottled, "429", "rate limited"),
        "503-body": (503, qiniu(503, "busy"), VendorUnavailable, "503", "busy"),
        "auth": (401, qiniu(401, "token expired"), VendorAuthError, "401", "token expired"),
        "rejected": (400, qiniu(400, "name 必填"), VendorRejected, "400", "name 必填"),
    },
    "volcengine": {
        "429-body": (429, volcengine(1001, "qps limit"), VendorThrottled, "1001", "qps limit"),
        "503-body": (503, volcengine(1101, "store failed"), VendorUnavailable, "1101", "store failed"),
        "auth": (401, volcengine(1001, "invalid token"), VendorAuthError, "1001", "invalid token"),
        "rejected": (400, volcengine(1001, "speaker_id is missing"), VendorRejected, "1001", "speaker_id is missing"),
    },
    "huawei": {
        "429-body": (429, huawei("APIGW.0308", "too fast"), VendorThrottled, "APIGW.0308", "too fast"),
        "503-body": (503, huawei("MSS.00000001", "db down"), VendorUnavailable, "MSS.00000001", "db down"),
        "auth": (401, huawei("APIGW.0301", "bad token"), VendorAuthError, "APIGW.0301", "bad token"),
        "rejected": (400, huawei("MSS.00000003", "bad job"), VendorRejected, "MSS.00000003", "bad job"),
    },
    "cosyvoice": {
        "429-body": (429, dashscope("Throttling.RateQuota", "too fast"), VendorThrottled, "Throttling.RateQuota", "too fast"),
        "503-body": (503, dashscope("InternalError.Algo", "db down"), VendorUnavailable, "InternalError.Algo", "db down"),
        "auth": (401, dashscope("InvalidApiKey", "bad key"), VendorAuthError, "InvalidApiKey", "bad key"),
        "rejected": (400, dashscope("InvalidParameter", "no such voice"), VendorRejected, "InvalidParameter", "no such voice"),
    },
}  # fmt: skip
# Request ids travel in the body or in a header, as each vendor does it.
REQUEST_ID_HEADERS = {"volcengine": "X-Tt-Logid", "huawei": "X-Request-Id"}
CASES = [(vendor, case) for vendor, table in TABLES.items() for case in table]


def adapter_answering(vendor: str, status: int, body: Any) -> VendorAdapter:
    header = REQUEST_ID_HEADERS.get(vendor)
    recorder = Recorder(
        lambda request: (status, body), headers=(lambda request: {header: "rid-1"}) if header else None
    )
    return ADAPTERS[vendor](recorder.transport)


def test_every_vendor_has_a_table() -> None:
    from voiceclone.vendors.registry import vendor_ids

    assert set(TABLES) == set(ADAPTERS) == set(vendor_ids())


@pytest.mark.parametrize(("vendor", "case"), CASES, ids=[f"{v}-{c}" for v, c in CASES])
def test_the_vendor_error_keeps_its_code_message_and_request_id(vendor: str, case: str) -> None:
    # Given the vendor answering a status poll with a recorded error
    status, body, error_type, code, message = TABLES[vendor][case]
    adapter = adapter_answering(vendor, status, body)
    # When polled
    with pytest.raises(VendorError) as caught:
        adapter.get_status("task-1")
    # Then the taxonomy class, with the vendor's own code, message and request id (429 and 5xx too)
    error = caught.value
    assert type(error) is error_type
    assert (error.vendor, error.code, error.message) == (vendor, code, message)
    assert error.details["request_id"] == "rid-1"
    assert json.loads(str(error))["code"] == code


@pytest.mark.parametrize("vendor", list(ADAPTERS))
@pytest.mark.parametrize(
    ("status", "error_type"), [(429, VendorThrottled), (503, VendorUnavailable), (502, VendorUnavailable)]
)
def test_without_a_vendor_body_the_code_is_the_http_status(
    vendor: str, status: int, error_type: type[VendorError]
) -> None:
    # Given a proxy's page instead of the vendor's body / When polled
    adapter = adapter_answering(vendor, status, "<html>upstream says no</html>")
    with pytest.raises(error_type) as caught:
        adapter.get_status("task-1")
    # Then retryable, coded HTTP<status>, and the page's text says what happened
    assert caught.value.code == f"HTTP{status}" and caught.value.retryable
    assert "upstream says no" in caught.value.message
