"""The one call pipeline every adapter uses: encode, sign, send, read the vendor's envelope, classify errors.

An adapter declares how its vendor wraps answers (an :class:`Envelope`: where the code,
message, request id and payload live) and its error rules (voiceclone.vendors.errors);
:meth:`VendorHttp.call` does the rest the same way for every vendor, so a 429 or a 5xx
keeps the vendor's own code and message like any other error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from voiceclone.domain.errors import TIMEOUT_CODE, VendorUnavailable
from voiceclone.vendors.errors import ErrorRules, classify

JSON_TYPE = "application/json"
NOT_THE_API = "the vendor answered something that is not its API"

# Computes the headers of a request from its exact body bytes (signatures sign what is sent).
Signer = Callable[[bytes], Mapping[str, str]]


def encode_json(body: Any) -> bytes:
    """The one JSON encoding sent to vendors: UTF-8, no ASCII escapes, no spaces (signed as is)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Reply:
    """One answer as the envelope reads it; ``context`` is what the call asked for (e.g. an action)."""

    status: int
    headers: httpx.Headers
    content: bytes
    text: str
    # The JSON body, or None when it is empty or not JSON.
    body: Any
    context: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def json_object(self) -> dict[str, Any]:
        """The body when it is a JSON object, else an empty one."""
        return self.body if isinstance(self.body, dict) else {}

    @classmethod
    def of(cls, response: httpx.Response, context: str = "") -> Reply:
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        return cls(response.status_code, response.headers, response.content, response.text, body, context)


class NotTheApi(Exception):
    """Raised by :meth:`Envelope.payload` for a success that is not the vendor's API (a proxy's page)."""


class Envelope:
    """Where a vendor API puts its error code, message, request id and payload, and how its errors classify.

    The defaults fit a plain JSON API that answers errors with a status and a JSON object
    and successes with a JSON object (or nothing). Adapters override what differs.
    """

    # Headers that carry the vendor's request id, in order of preference.
    request_id_headers: tuple[str, ...] = ()
    # The error code of a success that is not the API; "" means HTTP<status>.
    not_api_code: str = ""
    # How this API's errors are classified (voiceclone.vendors.errors).
    rules: ErrorRules = ErrorRules()

    def error(self, reply: Reply) -> tuple[str, str] | None:
        """(code, message) when the answer reports an error (even with HTTP 200), else None.

        A non-2xx answer is an error whatever this says; its code is then ``HTTP<status>``.
        """
        return None

    def request_id(self, reply: Reply) -> str | None:
        for name in self.request_id_headers:
            if reply.headers.get(name):
                return str(reply.headers[name])
        return None

    def payload(self, reply: Reply) -> Any:
        """The data of a successful answer; raise NotTheApi when it is not there."""
        if not reply.content:
            return {}
        if not isinstance(reply.body, dict):
            raise NotTheApi(NOT_THE_API)
        return reply.body

    def gone(self, reply: Reply, code: str) -> bool:
        """Whether an error answer says the resource does not exist (for calls where that is fine)."""
        return reply.status == 404


class VendorHttp:
    """One vendor API: a base URL, its envelope (and error rules), an HTTP client with explicit timeouts."""

    def __init__(
        self,
        vendor_id: str,
        base_url: str,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        *,
        envelope: Envelope | None = None,
    ) -> None:
        self.vendor_id = vendor_id
        self.base_url = base_url.rstrip("/")
        self.envelope = envelope or Envelope()
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
            follow_redirects=False,
            transport=transport,
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
        sign: Signer | None = None,
        context: str = "",
        gone_ok: bool = False,
    ) -> Any:
        """Send one request and return the envelope's payload, or raise the classified error.

        ``json_body`` is encoded once with :func:`encode_json` (else ``content`` is sent);
        ``sign`` adds headers computed from those exact bytes, right before sending. With
        ``gone_ok`` an answer the envelope calls "gone" returns None instead of raising.
        """
        all_headers = dict(headers or {})
        if json_body is not None:
            content = encode_json(json_body)
            all_headers.setdefault("Content-Type", JSON_TYPE)
        if sign is not None:
            all_headers.update(sign(content))
        reply = Reply.of(self.send(method, path, content=content, headers=all_headers), context)
        envelope = self.envelope
        request_id = envelope.request_id(reply)
        error = envelope.error(reply)
        if error is not None or not reply.ok:
            code, message = error or ("", "")
            if gone_ok and envelope.gone(reply, code):
                return None
            raise classify(
                self.vendor_id,
                envelope.rules,
                status=reply.status,
                code=code,
                message=message,
                raw_text=reply.text if reply.body is None else "",
                request_id=request_id,
            )
        try:
            return envelope.payload(reply)
        except NotTheApi as exc:
            details = {"request_id": request_id} if request_id else {}
            raise VendorUnavailable(
                self.vendor_id, envelope.not_api_code or f"HTTP{reply.status}", str(exc), **details
            ) from None

    def send(
        self, method: str, path: str, *, content: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """The raw exchange: network failures and timeouts become VendorUnavailable, nothing else."""
        try:
            return self._client.request(method, self.base_url + path, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise VendorUnavailable(
                self.vendor_id, TIMEOUT_CODE, f"no answer in time: {type(exc).__name__}"
            ) from exc
        except httpx.TransportError as exc:
            raise VendorUnavailable(
                self.vendor_id, "NetworkError", f"cannot reach the vendor: {exc}"
            ) from exc

    def close(self) -> None:
        self._client.close()


class DownloadEnvelope(Envelope):
    """A vendor's file download: the bytes on 2xx; 401/403/404/410 permanent, 429 and 5xx retryable."""

    rules = ErrorRules(codes={"AudioUnavailable": "rejected"})

    def error(self, reply: Reply) -> tuple[str, str] | None:
        if reply.ok or reply.status == 429 or reply.status >= 500:
            return None
        return "AudioUnavailable", f"downloading {reply.context} answered HTTP {reply.status}"

    def payload(self, reply: Reply) -> Any:
        return reply.content
