"""Tencent Cloud real-time speech synthesis (``stream_ws``): the signed URL, its frames and its error codes.

The whole request travels in the query string, signed with HMAC-SHA1 over
``GET<host><path>?<sorted key=value pairs>`` (raw values, the signature itself left out),
as the official speech SDKs sign it (docs/vendors/tencent_vrs.md, Streaming speech). The
vendor answers with text frames (JSON: ``code``, ``message``, ``request_id``, ``final``) and
binary frames (the audio). ``final: 1`` ends the speech; any non-zero ``code`` ends the call.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from voiceclone.vendors.errors import ErrorRules, codes
from voiceclone.vendors.streaming.base import Audio, End, Event, Failure, StreamProtocol

ACTION = "TextToStreamAudioWS"
# The SDKs sign for a day; Tencent takes up to 90 days.
SIGNATURE_SECONDS = 24 * 60 * 60
# The error codes of Tencent's streaming TTS, as the Java speech SDK lists them
# (docs/vendors/tencent_vrs.md, Streaming speech: listed for stream_wsv2; stream_ws is taken to share
# them). 10002 is the account's concurrency, 10003 the signature or the key; 10004/10005 and the
# 2xxxx codes are the connection's or Tencent's trouble, retried; the rest is the request's fault.
STREAM_ERRORS = ErrorRules(
    codes={
        **codes("rejected", 10001, 10006, 10007, 10008),
        **codes("throttled", 10002),
        **codes("auth", 10003),
        **codes("unavailable", 10004, 10005, 10009, 20000, 20001, 20002, 20003),
    },
    messages={
        "auth": "Tencent refused the stream's signature: check the tencent_vrs app_id, secret_id, secret_key"
    },
)


def query_value(value: str | int | float | bool) -> str:
    """A parameter as the URL carries it and the signature signs it: ``true``, ``16000``, ``1.2``, ``0``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def string_to_sign(host: str, path: str, params: Mapping[str, str]) -> str:
    """``GET`` + host + path + ``?`` + every parameter but Signature as ``key=value``, sorted, raw values."""
    pairs = "&".join(f"{key}={params[key]}" for key in sorted(params) if key != "Signature")
    return f"GET{host}{path}?{pairs}"


def signature(secret_key: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """Base64 of HMAC-SHA1(SecretKey, string_to_sign): the ``Signature`` parameter, before URL encoding."""
    digest = hmac.new(
        secret_key.encode("utf-8"), string_to_sign(host, path, params).encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(endpoint: str, secret_key: str, params: Mapping[str, str]) -> str:
    """``endpoint`` with the parameters (sorted, URL-encoded) and their Signature last.

    The host signed is the endpoint's host name without a port, as the SDKs sign
    ``tts.cloud.tencent.com``; Tencent decodes the query and signs the decoded values.
    """
    parts = urlsplit(endpoint)
    host, path = parts.hostname or "", parts.path or "/"
    query = "&".join(f"{key}={quote(params[key], safe='')}" for key in sorted(params))
    sig = quote(signature(secret_key, host, path, params), safe="")
    return parts._replace(query=f"{query}&Signature={sig}", fragment="").geturl()


class TencentStreamProtocol(StreamProtocol):
    """One ``TextToStreamAudioWS`` call: the synthesis parameters, signed when the connection opens."""

    vendor_id = "tencent_vrs"
    rules = STREAM_ERRORS

    def __init__(
        self,
        endpoint: str,
        *,
        app_id: int,
        secret_id: str,
        secret_key: str,
        params: Mapping[str, str | int | float | bool],
    ) -> None:
        super().__init__(endpoint)
        self._app_id = app_id
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._params = dict(params)

    def url(self) -> str:
        timestamp = int(time.time())
        params = {
            **self._params,
            "Action": ACTION,
            "AppId": self._app_id,
            "SecretId": self._secret_id,
            "Timestamp": timestamp,
            "Expired": timestamp + SIGNATURE_SECONDS,
        }
        return signed_url(self.endpoint, self._secret_key, {k: query_value(v) for k, v in params.items()})

    def read(self, message: str | bytes) -> Event | None:
        if isinstance(message, bytes):
            return Audio(message)
        try:
            frame = json.loads(message)
        except ValueError:
            frame = None
        if not isinstance(frame, dict):
            raise self.unavailable("BadFrame", "Tencent sent a text frame that is not a JSON object")
        self.request_id = str(frame.get("request_id") or self.request_id)
        code = frame.get("code", 0)
        if code not in (0, None):
            return Failure(str(code), str(frame.get("message") or ""))
        if frame.get("final") == 1:
            return End()
        return None  # the handshake's acknowledgement, or subtitles
