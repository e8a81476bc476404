"""Streaming speech: the time to first audio the vendor takes, the time our client waits, and the difference.

For each vendor that streams (Tencent VRS, Volcengine, CosyVoice) a voice is cloned on one local
stack, then ``--calls`` streams of a short text and of a 2,000-character one are read to their end
through the streaming route (the local gateway, the authorizer, the streaming function, the relay),
as 16 kHz WAV with the audible label on (the deployment's default). Per stream, side by side:

- the sandbox's first-chunk time: from the moment the sandbox has the request to the moment it sends
  its first chunk (the making of the audio and its configured delay; for CosyVoice, from its run-task,
  so the task-started round trip of its protocol counts as the vendor's);
- our first byte: from the client's POST to the first audio byte it reads: the audible label, which
  goes out before the vendor is called;
- our first speech byte: from the client's POST to the first byte of the vendor's audio (after the
  header and the label's 1.5 s of samples);
- the difference: what voiceclone adds before the vendor's first audio reaches the client (gateway and
  authorizer, the function's checks and reads, the labels settled, the vendor connection and
  handshake, the relay). The goal is 50 ms or less, median.

A long text is split where sentences end; only its first piece's first chunk stands between the
client and its first audio (the next piece is opened while the first plays). The whole answer's time
is printed too. Prints figures; asserts nothing about time. Run with ``python benchmarks/stream.py``
(and by ``make benchmark``).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.figures import ms  # noqa: E402 - after the path fix above
from benchmarks.speech import clone  # noqa: E402

STREAM_VENDORS = ("tencent_vrs", "volcengine", "cosyvoice")
RATE = 16000
# The audible label at the head of the stream: 1.5 s of 16-bit mono samples.
LABEL_SECONDS = 1.5
SHORT = "你好，这是我克隆的声音。欢迎使用语音克隆服务！"
SENTENCES = "今天天气很好，我们一起去公园散步吧！公园里的花都开了，红的黄的紫的，真好看。"


def long_text(characters: int = 2000) -> str:
    """A readable text of exactly ``characters`` characters, whole sentences repeated."""
    text = SENTENCES * (characters // len(SENTENCES) + 1)
    return text[:characters]


class FirstChunkTimer:
    """Times each stream inside a sandbox: when it has the request (``begin_stream``, before it makes
    the audio), when its first chunk goes out."""

    def __init__(self, sandbox: Any) -> None:
        self.streams: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._begun: dict[int, float] = {}
        inner = sandbox.play
        begin = sandbox.begin_stream

        def begin_timed(params: dict[str, Any]) -> Any:
            started = time.perf_counter()
            record = begin(params)
            if record is not None:
                self._begun[id(record)] = started
            return record

        def timed(record: Any, chunks: list[bytes], *, send: Any, fail: Any, drop: Any) -> bool:
            started = self._begun.pop(id(record), time.perf_counter())
            first: list[float] = []

            def send_timed(chunk: bytes, last: bool) -> None:
                if not first:
                    first.append(time.perf_counter())
                    with self._lock:
                        self.streams.append((started, first[0]))
                send(chunk, last)

            result: bool = inner(record, chunks, send=send_timed, fail=fail, drop=drop)
            return result

        sandbox.play = timed
        sandbox.begin_stream = begin_timed

    def first_after(self, moment: float) -> tuple[float, float]:
        """The stream that started first after ``moment``: (the sandbox had it, its first chunk)."""
        with self._lock:
            return min((s for s in self.streams if s[0] >= moment), key=lambda s: s[0])


class Measured(NamedTuple):
    """One stream, in seconds: the sandbox's first chunk, ours at the client (the label's first byte, the
    speech's first byte), the whole answer."""

    sandbox: float
    first_byte: float
    first_speech: float
    total: float


def one_stream(api: Any, url: str, text: str, timer: FirstChunkTimer) -> Measured:
    started = time.perf_counter()
    first_byte = first_speech = 0.0
    received = b""
    with api.stream("POST", url, json={"text": text, "format": "wav", "sample_rate": RATE}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.read()[:300]!r}")
        for chunk in response.iter_raw():
            if chunk and not first_byte:
                first_byte = time.perf_counter() - started
            if not first_speech:
                received += chunk
                # the samples start after the data chunk's header; the speech after the label's samples
                if b"data" in received and len(received) > received.index(b"data") + 8 + _label_bytes():
                    first_speech = time.perf_counter() - started
    total = time.perf_counter() - started
    play_start, first_chunk = timer.first_after(started)
    return Measured(first_chunk - play_start, first_byte, first_speech, total)


def _label_bytes() -> int:
    return int(LABEL_SECONDS * RATE) * 2


def run(calls: int = 10, first_chunk_ms: int = 100, characters: int = 2000) -> None:
    import httpx
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.sandboxes.base import SandboxBase
    from voiceclone_local.stack import LocalStack

    configs = {}
    for vendor in STREAM_VENDORS:
        cls = SandboxBase.for_vendor(vendor)
        assert cls is not None, vendor
        knobs = {"stream_first_chunk_delay_ms": first_chunk_ms, "training_seconds": 0.5}
        configs[vendor] = cls.local_config().model_copy(update=knobs)
    texts = {"short": SHORT, f"{characters} chars": long_text(characters)}
    print(
        f"Streaming speech on the local stack: {calls} streams per vendor and text, the sandbox's first "
        f"chunk after {first_chunk_ms} ms (medians, with the range)"
    )
    with LocalStack(sandbox_configs=configs, quiet=True) as stack:
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        headers = {"Authorization": f"Bearer {stack.api_key}"}
        with httpx.Client(headers=headers, timeout=httpx.Timeout(30.0, read=300.0)) as api:
            for vendor in STREAM_VENDORS:
                voice_id = clone(client, vendor)
                url = f"{stack.api_url}/v1/voices/{voice_id}/speech/stream"
                timer = FirstChunkTimer(stack.sandboxes[vendor])
                one_stream(api, url, SHORT, timer)  # the function's first stream imports its code
                for label, text in texts.items():
                    measured = [one_stream(api, url, text, timer) for _ in range(calls)]
                    print(
                        f"  {vendor:<12} {label:<11} sandbox first chunk {ms([m.sandbox for m in measured])}"
                        f"   our first byte (label) {ms([m.first_byte for m in measured])}"
                        f"   our first speech byte {ms([m.first_speech for m in measured])}"
                        f"   added {ms([m.first_speech - m.sandbox for m in measured])}"
                        f"   whole answer {ms([m.total for m in measured])}"
                    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=10, help="streams per vendor and text")
    parser.add_argument("--first-chunk-ms", type=int, default=100, help="the sandboxes' delay before audio")
    parser.add_argument("--characters", type=int, default=2000, help="the long text's length")
    args = parser.parse_args()
    run(args.calls, args.first_chunk_ms, args.characters)


if __name__ == "__main__":
    main()
