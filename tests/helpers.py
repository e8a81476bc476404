"""Shared test helpers: the table as the stack defines it, WAV makers, polling."""

from __future__ import annotations

import io
import math
import time
import wave
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# The key schema of the CDK table (tests/infra asserts the template has the same).
TABLE_SCHEMA: dict[str, Any] = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": n, "AttributeType": "S"}
        for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": f"{name}pk", "KeyType": "HASH"},
                {"AttributeName": f"{name}sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for name in ("gsi1", "gsi2")
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def wav_bytes(
    seconds: float = 2.0, rate: int = 16000, amplitude: float = 0.3, channels: int = 1, freq: float = 220.0
) -> bytes:
    frames = int(seconds * rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        samples = bytearray()
        for i in range(frames):
            value = int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate))
            samples += value.to_bytes(2, "little", signed=True) * channels
        w.writeframes(bytes(samples))
    return buf.getvalue()


def wait_for(
    fn: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.2, what: str = "condition"
) -> T:
    """Poll until fn returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
