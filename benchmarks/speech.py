"""Speech: the latency voiceclone adds to a synchronous vendor's synthesis, and what speech adds to imports.

For each synchronous vendor (Tencent VRS, Volcengine) a voice is cloned on a local stack, then
spoken with ``--calls`` times in a row. Each call is timed from the client's POST to the 201 (the
audio stored, its URL in the answer), and the sandbox's own time for the same call (its simulated
vendor latency plus making the audio) is timed inside the sandbox; the difference is what the
service adds: the gateway and authorizer, the api function, signing and the vendor HTTP call,
the S3 write, the DynamoDB writes and the presigned URL. Medians are printed, side by side.

The speech workflow's own functions (speech_submit, speech_await, speech_poll, speech_finish,
speech_mark_failed) are in ``benchmarks/coldstart.py``'s ratios with every other handler; this
also prints what the api function pays on its first speech request, when it imports
``voiceclone.logic.speech.service`` (no other route and no other function imports it).

Prints figures; asserts nothing about time. Run with ``python benchmarks/speech.py`` (and by
``make benchmark``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.figures import ms  # noqa: E402 - after the path fix above

SAMPLES = ROOT / "samples" / "tencent_vrs"
LETTER = ROOT / "samples" / "authorization-letter.pdf"
SYNC_VENDORS = ("tencent_vrs", "volcengine")
TEXT = "你好，这是我克隆的声音。欢迎使用语音克隆服务！"


class SandboxTimer:
    """Times each synthesis inside a sandbox (the vendor's share of a call), wrapping its one entry."""

    def __init__(self, sandbox: Any) -> None:
        self.seconds: list[float] = []
        self._lock = threading.Lock()
        inner: Callable[..., dict[str, Any]] = sandbox.synthesize_within_quota

        def timed(*args: Any, **kwargs: Any) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds.append(time.perf_counter() - started)

        sandbox.synthesize_within_quota = timed


def clone(client: Any, vendor: str) -> str:
    """A voice of `vendor` from the sample recordings; its id."""
    from voiceclone_cli.stand_in import write_consent_take

    job = client.create_job(vendor, f"bench-speech-{vendor}", "female", "Bench Speaker")
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    with tempfile.TemporaryDirectory() as tmp:
        consent = write_consent_take(job, Path(tmp))  # the stand-in reads the statement
        for sentence in job["sentences"]:
            text_id = sentence["text_id"]
            client.upload(sentence["upload"], consent if text_id == "consent" else SAMPLES / f"{text_id}.wav")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        current = client.get_job(job["job_id"])
        if current["status"] == "SUCCEEDED":
            return str(current["voice_id"])
        if current["status"] in ("FAILED", "CHECK_FAILED", "CANCELLED", "EXPIRED"):
            raise RuntimeError(f"{vendor} clone ended {current['status']}: {current.get('error')}")
        time.sleep(0.5)
    raise TimeoutError(f"{vendor} clone did not finish in 300 s")


def added_latency(calls: int, vendor_latency_ms: int) -> None:
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_local.sandboxes.base import SandboxBase
    from voiceclone_local.stack import LocalStack

    configs = {}
    for vendor in SYNC_VENDORS:
        cls = SandboxBase.for_vendor(vendor)
        assert cls is not None, vendor
        fast = {"tts_latency_ms": vendor_latency_ms, "training_seconds": 0.5}
        configs[vendor] = cls.local_config().model_copy(update=fast)
    print(
        f"Speech on the local stack: {calls} calls per synchronous vendor, {len(TEXT)} characters each, "
        f"sandbox latency {vendor_latency_ms} ms (median, with the range)"
    )
    with LocalStack(sandbox_configs=configs, quiet=True) as stack:
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        for vendor in SYNC_VENDORS:
            voice_id = clone(client, vendor)
            timer = SandboxTimer(stack.sandboxes[vendor])
            client.speak(voice_id, TEXT)  # the api function's first speech request imports the speech code
            timer.seconds.clear()
            walls: list[float] = []
            for _ in range(calls):
                started = time.perf_counter()
                spoken = client.speak(voice_id, TEXT)
                walls.append(time.perf_counter() - started)
                assert spoken["status"] == "SUCCEEDED", spoken
            vendor_times = timer.seconds[-calls:]
            added = [w - s for w, s in zip(walls, vendor_times, strict=True)]
            print(
                f"  {vendor:<12} API call {ms(walls)}   sandbox {ms(vendor_times)}   "
                f"added by voiceclone {ms(added)}"
            )
    print()


def speech_imports(repeats: int) -> None:
    """What the api function's first speech request imports, over its routes (voiceclone.rest)."""
    code = "import time, {before}; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    print(f"Import time speech adds to the api function on its first speech request (median of {repeats})")
    for module in ("voiceclone.logic.speech.service", "voiceclone.vendors.speech"):
        samples = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", code.format(before="voiceclone.rest", module=module)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            samples.append(float(out.stdout.split()[-1]))
        print(f"  {module:<28} {statistics.median(samples) * 1000:6.1f} ms")
    print()


def run(calls: int = 20, vendor_latency_ms: int = 200, repeats: int = 5) -> None:
    speech_imports(repeats)
    added_latency(calls, vendor_latency_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20, help="speech calls per vendor")
    parser.add_argument("--vendor-latency-ms", type=int, default=200, help="the sandboxes' simulated latency")
    parser.add_argument("--repeats", type=int, default=5, help="fresh interpreters per import figure")
    args = parser.parse_args()
    run(args.calls, args.vendor_latency_ms, args.repeats)


if __name__ == "__main__":
    main()
