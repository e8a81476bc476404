"""Unit-test fixtures and the one recording transport the adapter tests answer vendors with.

Adapter tests never touch the network: an adapter gets ``Recorder(answer).transport``, and
``answer`` plays the vendor from recorded responses, or ``SandboxTransport(sandbox)``, which
hands each request to the vendor's sandbox in this process. Test modules import ``Recorder``
and ``routes`` from here (``tests.unit.conftest``); the fixtures below cover the common cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from voiceclone.vendors.base import VendorAdapter
from voiceclone.vendors.registry import adapter_class
from voiceclone_local.sandboxes.base import SandboxBase
from voiceclone_local.sandboxes.server import SandboxRequest

# What an answer gives: a ready httpx.Response, or (status, body) where a str body is sent as
# text and anything else as JSON.
Recorded = httpx.Response | tuple[int, Any]
Answer = Callable[[httpx.Request], Recorded]


def respond(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """A recorded vendor answer: text for a str body (an HTML error page), JSON for anything else."""
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


class Recorder:
    """An httpx transport that answers from ``answer`` and keeps every request it saw.

    ``route`` names a request (its path by default; an action for action-style APIs) for
    :meth:`bodies`; ``headers`` adds response headers (a vendor's request id, say).
    """

    def __init__(
        self,
        answer: Answer,
        *,
        route: Callable[[httpx.Request], Hashable] = lambda request: request.url.path,
        headers: Callable[[httpx.Request], Mapping[str, str]] | None = None,
    ) -> None:
        self.answer = answer
        self.route = route
        self.headers = headers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.answer(request)
        if isinstance(result, httpx.Response):
            return result
        status, body = result
        return respond(status, body, self.headers(request) if self.headers else None)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self, route: Hashable | None = None) -> list[Any]:
        """The JSON bodies sent, in order (only those of ``route`` when given)."""
        return [json.loads(r.content) for r in self.requests if route is None or self.route(r) == route]

    def calls(self) -> list[tuple[str, str, Any]]:
        """(method, path, JSON body or None) of every request, in order."""
        return [(r.method, r.url.path, json.loads(r.content) if r.content else None) for r in self.requests]


def routes(
    table: Mapping[Hashable, Recorded | list[Recorded] | Answer],
    key: Callable[[httpx.Request], Hashable] = lambda request: request.url.path,
) -> Answer:
    """Answer by ``key(request)``: a recorded answer, a list served in turn (the last repeats), or a
    function of the request; a request the table does not name fails the test."""
    served: dict[Hashable, int] = {}

    def answer(request: httpx.Request) -> Recorded:
        name = key(request)
        if name not in table:
            raise AssertionError(f"unexpected request {name}")
        value = table[name]
        if isinstance(value, list):
            index = served.get(name, 0)
            served[name] = index + 1
            return value[min(index, len(value) - 1)]
        if callable(value):
            return value(request)
        return value

    return answer


def refuse(request: httpx.Request) -> Recorded:
    """An answer for adapters that must not call their vendor at all."""
    raise AssertionError(f"nothing should be sent, but {request.method} {request.url} was")


def offline_adapter(vendor_id: str, transport: httpx.BaseTransport | None = None) -> VendorAdapter:
    """Any registered vendor's adapter with placeholder credentials: the registry is the table.

    Each field the adapter declares in ``credential_fields`` gets ``test-<field>``, the endpoint a
    test host; it answers through ``transport`` (default: one that fails the test if anything is sent).
    """
    cls = adapter_class(vendor_id)
    # Adapters take their settings by name (as VendorAdapter.from_environment passes them).
    build: Callable[..., VendorAdapter] = cls
    return build(
        endpoint=f"https://{vendor_id.replace('_', '-')}.example",
        **{name: f"test-{name}" for name in cls.credential_fields},
        transport=transport if transport is not None else Recorder(refuse).transport,
    )


class SandboxTransport(httpx.BaseTransport):
    """Each request handed to a vendor sandbox in this process, as its HTTP server hands it on.

    The sandbox answers as on the local stack (its authentication, the faults it is armed with,
    the vendor's envelope), with no socket: its server is bound but never serves.
    """

    def __init__(self, sandbox: SandboxBase) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        parts = urlsplit(request.url.raw_path.decode("ascii"))
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        answer = self.sandbox.handle(
            SandboxRequest(
                method=request.method,
                path=parts.path,
                query=dict(pairs),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.read(),
                query_pairs=pairs,
            )
        )
        headers = {"Content-Type": answer.content_type, **answer.headers}
        return httpx.Response(answer.status, headers=headers, content=answer.body)


def adapter_on_sandbox(sandbox: SandboxBase) -> VendorAdapter:
    """The vendor's adapter with the credentials its sandbox accepts, calling it through SandboxTransport."""
    cls = adapter_class(sandbox.vendor_id)
    offered = sandbox.credentials()
    build: Callable[..., VendorAdapter] = cls
    return build(
        endpoint=sandbox.url,
        **{name: offered[name] for name in cls.credential_fields},
        transport=SandboxTransport(sandbox),
    )


@pytest.fixture
def offline() -> httpx.MockTransport:
    """A transport that fails the test if the adapter sends anything."""
    return Recorder(refuse).transport


@pytest.fixture
def clean_vendor_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No VOICECLONE_* vendor variable from the machine running the tests leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("VOICECLONE_"):
            monkeypatch.delenv(name)
    yield monkeypatch
