"""What Tencent's two voice-cloning products share: a CAM key pair, and Tencent Cloud API 3.0's envelope."""

from __future__ import annotations

import time
from typing import Any, Unpack

from voiceclone.vendors.base import Connection, VendorAdapter
from voiceclone.vendors.errors import ErrorRules
from voiceclone.vendors.http import Envelope, NotTheApi, Reply, Signer
from voiceclone.vendors.signing import tc3


class TencentKeyPairAdapter(VendorAdapter):
    """A Tencent product reached with a CAM user's SecretId and SecretKey (never logged)."""

    credential_fields = ("secret_id", "secret_key")

    def __init__(
        self, endpoint: str, secret_id: str, secret_key: str, **connection: Unpack[Connection]
    ) -> None:
        super().__init__(endpoint, **connection)
        self._secret_id = secret_id
        self._secret_key = secret_key


def tc3_signer(
    *, secret_id: str, secret_key: str, service: str, host: str, action: str, version: str
) -> Signer:
    """Headers of one Tencent Cloud API 3.0 action, TC3-signed over the exact body, at sending time."""

    def sign(body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        sig = tc3.signature(secret_key=secret_key, service=service, timestamp=timestamp, host=host, body=body)
        return {
            "Host": host,
            "X-TC-Action": action,
            "X-TC-Version": version,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3.authorization(
                secret_id=secret_id, service=service, timestamp=timestamp, sig=sig
            ),
        }

    return sign


class TencentCloudEnvelope(Envelope):
    """Tencent Cloud API 3.0: ``{"Response": {"Error": {Code, Message}, "RequestId", "Data"}}``."""

    def __init__(self, rules: ErrorRules) -> None:
        self.rules = rules

    def error(self, reply: Reply) -> tuple[str, str] | None:
        error = response_of(reply).get("Error")
        if not isinstance(error, dict):
            return None
        return str(error.get("Code") or ""), str(error.get("Message") or "")

    def request_id(self, reply: Reply) -> str | None:
        request_id = response_of(reply).get("RequestId")
        return str(request_id) if request_id else None

    def payload(self, reply: Reply) -> Any:
        if not isinstance(reply.json_object.get("Response"), dict):
            raise NotTheApi("the vendor answered something that is not its API")
        return response_of(reply).get("Data") or {}


def response_of(reply: Reply) -> dict[str, Any]:
    """The ``Response`` object of a Tencent Cloud answer, or an empty one."""
    response = reply.json_object.get("Response")
    return response if isinstance(response, dict) else {}


class TencentCloudResponseEnvelope(TencentCloudEnvelope):
    """Actions that answer their fields in ``Response`` itself, not in ``Response.Data`` (TTS TextToVoice)."""

    def payload(self, reply: Reply) -> Any:
        if not isinstance(reply.json_object.get("Response"), dict):
            raise NotTheApi("the vendor answered something that is not its API")
        return response_of(reply)
