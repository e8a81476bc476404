"""SandboxBase: the request skeleton, faults, discovery by convention and a server that holds a crowd."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import httpx
import pytest
from voiceclone.vendors.registry import vendor_ids
from voiceclone_local.sandboxes.base import (
    LISTEN_BACKLOG,
    WORKERS,
    DropConnection,
    Fault,
    Map,
    Route,
    Rule,
    SandboxApiError,
    SandboxBase,
    SandboxRequest,
    SandboxResponse,
    json_response,
)

TOKEN = "let-me-in"


class EchoSandbox(SandboxBase):
    """A vendor in a few lines: a route map, a bearer check, an envelope, and operations."""

    vendor_id: ClassVar[str] = "echo_test_vendor"
    routes: ClassVar[Map] = Map(
        [
            Rule("/echo/<word>", methods=["GET"], endpoint="_echo"),
            Rule("/slow", methods=["GET"], endpoint="_slow"),
            Rule("/lost", methods=["POST"], endpoint="_lost"),
        ]
    )

    def _init_state(self) -> None:
        self.in_flight = 0
        self.peak = 0

    def authenticate(self, request: SandboxRequest, route: Route) -> None:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            raise SandboxApiError(401, "Unauthorized", "bad token")

    def fault_error(self, fault: Fault, route: Route) -> SandboxApiError:
        status = {Fault.THROTTLE: 429, Fault.INTERNAL: 500, Fault.UNAVAILABLE: 503}[fault]
        return SandboxApiError(status, f"Echo.{fault.value}", f"injected {fault.value}")

    def envelope(self, request: SandboxRequest, route: Route, result: Any) -> SandboxResponse:
        return json_response(200, {"ok": True, "data": result})

    def error_envelope(
        self, request: SandboxRequest, route: Route | None, error: SandboxApiError
    ) -> SandboxResponse:
        return json_response(error.status, {"ok": False, "code": error.code, "message": error.message})

    def _echo(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        return {"word": route.args["word"], "query": request.query_lists()}

    def _slow(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        with self._lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        time.sleep(0.05)
        with self._lock:
            self.in_flight -= 1
        return {}

    def _lost(self, request: SandboxRequest, route: Route) -> dict[str, Any]:
        if self.drop_create_response():
            raise DropConnection
        return {"created": True}


@pytest.fixture
def echo() -> Iterator[EchoSandbox]:
    with EchoSandbox() as sandbox:
        yield sandbox


def get(sandbox: SandboxBase, path: str, token: str = TOKEN) -> httpx.Response:
    return httpx.get(sandbox.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_every_registered_vendor_has_a_sandbox_found_by_convention() -> None:
    # Given the vendor registry / When each vendor's sandbox is looked up by its module name
    found = {vendor: SandboxBase.for_vendor(vendor) for vendor in vendor_ids()}
    # Then each is the SandboxBase subclass that declares that vendor id
    assert all(cls is not None and cls.vendor_id == vendor for vendor, cls in found.items()), found


def test_a_sandbox_defined_anywhere_registers_itself_and_unknown_vendors_have_none() -> None:
    assert SandboxBase.for_vendor("echo_test_vendor") is EchoSandbox
    assert SandboxBase.for_vendor("no_such_vendor_anywhere") is None


def test_routes_arguments_and_repeated_query_keys_reach_the_operation(echo: EchoSandbox) -> None:
    response = get(echo, "/echo/hello?tag=b&tag=a&x=1")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "data": {"word": "hello", "query": {"tag": ["b", "a"], "x": ["1"]}},
    }
    assert echo.requests == {"GET /echo/{word}": 1}


def test_refusals_come_in_the_vendors_envelope(echo: EchoSandbox) -> None:
    # Unknown path (before auth), then a bad token: each in the vendor's own envelope and status
    assert get(echo, "/nowhere").json()["code"] == "NotFound"
    refused = get(echo, "/echo/x", token="wrong")
    assert (refused.status_code, refused.json()["code"]) == (401, "Unauthorized")


def test_faults_are_spent_after_authentication_in_order_with_the_vendors_codes(echo: EchoSandbox) -> None:
    # Given one of each fault armed
    echo.config.throttle_first = 1
    echo.config.internal_error_first = 1
    echo.config.unavailable_first = 1

    # When an unauthenticated request comes first, then four good ones
    assert get(echo, "/echo/x", token="wrong").status_code == 401
    answers = [get(echo, "/echo/x") for _ in range(4)]

    # Then the bad one spent nothing, and the faults came as 429, 500, 503 with the vendor's codes
    assert [(a.status_code, a.json().get("code")) for a in answers] == [
        (429, "Echo.throttle"),
        (500, "Echo.internal"),
        (503, "Echo.unavailable"),
        (200, None),
    ]


def test_a_dropped_create_closes_the_connection_unanswered(echo: EchoSandbox) -> None:
    echo.config.drop_create_response_first = 1
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(echo.url + "/lost", headers=headers)
    assert httpx.post(echo.url + "/lost", headers=headers).json()["data"] == {"created": True}


def test_a_crowd_is_served_without_errors_by_a_bounded_pool(echo: EchoSandbox) -> None:
    # Given many more clients at once than the sandbox has workers (and than the default backlog of 5)
    clients = WORKERS * 2
    barrier = threading.Barrier(clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    with httpx.Client(base_url=echo.url, limits=limits, timeout=30, headers=headers) as http:

        def one(_: int) -> int:
            barrier.wait()
            return http.get("/slow").status_code

        # When they all call a slow operation together
        with ThreadPoolExecutor(max_workers=clients) as pool:
            statuses = list(pool.map(one, range(clients)))

    # Then every one is answered, none reset or refused, and never more than the pool at once
    assert statuses == [200] * clients
    assert 1 < echo.peak <= WORKERS


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss to read the listen backlog")
def test_the_socket_listens_with_the_full_backlog(echo: EchoSandbox) -> None:
    # Given a started sandbox / When its listening socket is inspected
    port = echo.url.rsplit(":", 1)[1]
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    # Then the kernel's backlog (ss's Send-Q for a listener) is the one set before listen(), not 5
    assert int(listing[2]) == LISTEN_BACKLOG
