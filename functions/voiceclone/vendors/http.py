"""The HTTP session every adapter shares: explicit timeouts and transport errors mapped to the taxonomy."""

from __future__ import annotations

import httpx

from voiceclone.domain.errors import VendorThrottled, VendorUnavailable


class VendorHttp:
    def __init__(
        self,
        vendor_id: str,
        base_url: str,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.vendor_id = vendor_id
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
            follow_redirects=False,
            transport=transport,
        )

    def request(self, method: str, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """Send one request. Network failures, 429 and 5xx become retryable errors."""
        try:
            response = self._client.request(method, self.base_url + path, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise VendorUnavailable(
                self.vendor_id, "Timeout", f"no answer in time: {type(exc).__name__}"
            ) from exc
        except httpx.TransportError as exc:
            raise VendorUnavailable(
                self.vendor_id, "NetworkError", f"cannot reach the vendor: {exc}"
            ) from exc
        if response.status_code == 429:
            raise VendorThrottled(self.vendor_id, "HTTP429", "rate limited by the vendor")
        if response.status_code >= 500:
            raise VendorUnavailable(
                self.vendor_id, f"HTTP{response.status_code}", response.text[:200] or "server error"
            )
        return response

    def close(self) -> None:
        self._client.close()
