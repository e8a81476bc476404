"""Every vendor's errors through the one pipeline: the vendor's code, message and request id always survive.

Each vendor's errors are answered by its sandbox, in this process (``SandboxTransport``): the refusals
it declares it can inject (throttled, failed inside, unavailable), the credential it declares it
checks, and a task it never made; the sandbox renders each in the vendor's own envelope. What each
must become is the taxonomy's promise, not read from any declaration: a throttle is
``VendorThrottled``, an outage ``VendorUnavailable``, a refused credential ``VendorAuthError``, a
refused request ``VendorRejected``; the adapter's error rules have to get there on their own. And
429, 502 and 503 without the vendor's body (a proxy's page) are coded by the HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from voiceclone.domain.errors import (
    VendorAuthError,
    VendorError,
    VendorRejected,
    VendorThrottled,
    VendorUnavailable,
)
from voiceclone.vendors import tencent_gateway, volcengine
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.errors import ErrorRules, classify
from voiceclone.vendors.registry import adapter_class, vendor_ids
from voiceclone_local.sandboxes.base import SandboxBase
from voiceclone_local.sandboxes.knobs import REFUSALS, Fault

from tests.unit.conftest import Recorder, adapter_on_sandbox, offline_adapter

VENDORS = list(vendor_ids())
# What each injected refusal must become, whatever the vendor calls it.
KINDS: dict[Fault, type[VendorError]] = {
    Fault.THROTTLE: VendorThrottled,
    Fault.INTERNAL: VendorUnavailable,
    Fault.UNAVAILABLE: VendorUnavailable,
}


def sandbox_class(vendor: str) -> type[SandboxBase]:
    found = SandboxBase.for_vendor(vendor)
    assert found is not None, f"{vendor} has no sandbox (voiceclone_local.sandboxes.{vendor})"
    return found


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxBase]:
    """The vendor's sandbox as the local stack starts it, answering in this process only."""
    cls = sandbox_class(request.param)
    made = cls(cls.local_config())
    yield made
    made.stop()


def polled(sandbox: SandboxBase, adapter: VendorAdapter | None = None) -> VendorError:
    """The error the vendor's adapter raises when it polls a task through the sandbox."""
    with pytest.raises(VendorError) as caught:
        (adapter or adapter_on_sandbox(sandbox)).get_status("task-1")
    error = caught.value
    # Whatever the kind: the vendor named, its request id kept, the code in the error's JSON
    assert error.vendor == sandbox.vendor_id
    assert error.details.get("request_id"), error.details
    assert json.loads(str(error))["code"] == error.code
    return error


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_vendor_sandbox_declares_its_refusals_and_the_credential_it_checks(vendor: str) -> None:
    cls = sandbox_class(vendor)
    # Every refusal kind, on every API plane the sandbox serves
    assert cls.fault_answers, f"{vendor}'s sandbox declares no fault_answers"
    for plane, answers in cls.fault_answers.items():
        assert set(answers) == set(REFUSALS), (vendor, plane)
    # A credential the adapter sends from the vendor's secret, offered by the sandbox and held in its config
    check = cls.checked_credential
    assert check is not None, f"{vendor}'s sandbox declares no checked_credential"
    assert check.field in adapter_class(vendor).credential_fields
    assert check.field in cls.config_class.model_fields
    sandbox = cls(cls.local_config())
    try:
        assert check.field in sandbox.credentials()
    finally:
        sandbox.stop()


@pytest.mark.parametrize("fault", REFUSALS, ids=[fault.value for fault in REFUSALS])
@pytest.mark.parametrize("sandbox", VENDORS, indirect=True)
def test_an_injected_refusal_keeps_the_vendors_code_and_message(sandbox: SandboxBase, fault: Fault) -> None:
    # Given the sandbox refusing the next call as the vendor does
    sandbox.arm(fault)
    # When the adapter polls
    error = polled(sandbox)
    # Then the taxonomy's class for that kind, with the vendor's own code and message (not HTTP<status>)
    assert type(error) is KINDS[fault]
    answers = [by_kind[fault] for by_kind in sandbox.fault_answers.values()]
    declared = {str(answer.code): answer.message for answer in answers}
    assert error.code in declared and error.message == declared[error.code]
    assert sandbox.faults_injected[fault.value] == 1


@pytest.mark.parametrize("sandbox", VENDORS, indirect=True)
def test_a_wrong_credential_is_final_with_the_vendors_code(sandbox: SandboxBase) -> None:
    # Given the service's adapter, and the vendor no longer accepting its copy of the credential it checks
    adapter = adapter_on_sandbox(sandbox)
    check = sandbox.checked_credential
    assert check is not None
    setattr(sandbox.config, check.field, "rotated-at-the-vendor")
    # When the adapter polls / Then an auth error with the vendor's code: no retry helps
    error = polled(sandbox, adapter)
    assert type(error) is VendorAuthError and not error.retryable
    assert error.code == check.code and error.message


@pytest.mark.parametrize("sandbox", VENDORS, indirect=True)
def test_a_task_the_vendor_never_made_is_rejected_with_its_code(sandbox: SandboxBase) -> None:
    error = polled(sandbox)
    assert type(error) is VendorRejected and not error.retryable
    assert error.code and error.message


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize(
    ("status", "error_type"), [(429, VendorThrottled), (503, VendorUnavailable), (502, VendorUnavailable)]
)
def test_without_a_vendor_body_the_code_is_the_http_status(
    vendor: str, status: int, error_type: type[VendorError]
) -> None:
    # Given a proxy's page instead of the vendor's body / When polled
    page = httpx.Response(status, text="<html>upstream says no</html>")
    adapter = offline_adapter(vendor, Recorder(lambda request: page).transport)
    with pytest.raises(error_type) as caught:
        adapter.get_status("task-1")
    # Then retryable, coded HTTP<status>, and the page's text says what happened
    assert caught.value.code == f"HTTP{status}" and caught.value.retryable
    assert "upstream says no" in caught.value.message


@pytest.mark.parametrize(
    ("vendor", "rules", "message"),
    [
        # Volcengine's words list throttled before auth: the rules' own order must not decide
        ("volcengine", volcengine.SPEECH_ERRORS, "concurrency quota not granted to this access token"),
        ("volcengine", volcengine.SPEECH_ERRORS, "鉴权失败：请求过快"),
        (
            "tencent_gateway",
            tencent_gateway.ERRORS,
            "RequestLimitExceeded: signature of an expired secret id",
        ),
    ],
)
def test_a_message_in_the_words_of_a_refused_credential_and_a_throttle_is_final(
    vendor: str, rules: ErrorRules, message: str
) -> None:
    # Given a vendor's message that its auth words and its throttle words both match
    error = classify(vendor, rules, status=200, code="E1", message=message)
    # Then it is the credential (auth comes first of the kinds): retrying a refused key only repeats it
    assert type(error) is VendorAuthError and not error.retryable
    assert (error.code, error.message) == ("E1", message)
