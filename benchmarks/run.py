"""Benchmarks: each function's package size, each handler's cold start against bare boto3, one local
20-sentence job stage by stage, speech's added latency per synchronous vendor, the time labels add to
a speech request, streaming speech's time to first audio per streaming vendor, the facts per cloned
voice at every vendor (the probe set spoken), and a load run of many such jobs at once
(benchmarks/packages.py, benchmarks/coldstart.py, benchmarks/speech.py, benchmarks/labels.py,
benchmarks/stream.py, benchmarks/compare.py, benchmarks/load.py).

Prints figures; asserts nothing about time (tests never time things).
Run with `make benchmark`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import coldstart, compare, labels, load, packages, speech, stream  # noqa: E402 - after the path fix above

DDB_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def decoding(repeats: int) -> None:
    """What the functions that decode audio pay: PyAV's import, and a 10 s recording in each format."""
    from voiceclone.domain.audio import RecordingLimits, pcm_of
    from voiceclone.domain.audio_decode import ACCEPTED_FORMATS, encode
    from voiceclone.domain.recording import inspect_recording

    functions = str(ROOT / "functions")
    code = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    print(f"Import time of what decodes audio (CheckSentence; median of {repeats} fresh interpreters)")
    # The function's entry with what its first call loads (voiceclone.handlers.entries).
    handler = "import voiceclone.handlers.entries as e; e.check_sentence.load()"
    for label, stmt in [
        ("check_sentence + 1st call", handler),
        ("+ PyAV (first non-WAV)", f"{handler}; t = time.perf_counter(); import av"),
    ]:
        samples = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", code.format(stmt=stmt)],
                capture_output=True, text=True, check=True, cwd=functions,
            )  # fmt: skip
            samples.append(float(out.stdout.split()[-1]))
        print(f"  {label:<24} {statistics.median(samples) * 1000:7.1f} ms")
    samples_dir = ROOT / "samples" / "tencent_vrs"
    rate, first = pcm_of((samples_dir / "00006.wav").read_bytes())
    _, second = pcm_of((samples_dir / "00007.wav").read_bytes())
    pcm = (first + second)[: 10 * rate * 2]  # 10 s of speech
    limits = RecordingLimits(16000, 1.0, 15.0)
    print(f"Decode + check of a 10 s recording to 16 kHz mono (median of {repeats})")
    recordings = [("wav 16 kHz mono (fast path)", encode(pcm, rate, "wav"))]
    recordings.append(("wav 44.1 kHz stereo", encode(pcm, rate, "wav", out_rate=44100, channels=2)))
    recordings += [(f"{fmt} ({ACCEPTED_FORMATS[fmt]})", encode(pcm, rate, fmt, out_rate=44100)) for fmt in
                   ("mp3", "m4a", "aac", "flac", "ogg", "webm")]  # fmt: skip
    for label, data in recordings:
        inspect_recording(data, limits)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            inspect_recording(data, limits)
            times.append(time.perf_counter() - started)
        print(f"  {label:<30} {len(data) / 1024:7.0f} KiB {statistics.median(times) * 1000:8.1f} ms")
    print()


def audio_inspection(repeats: int) -> None:
    from voiceclone.domain.audio import inspect_wav

    from tests.helpers import wav_bytes

    data = wav_bytes(seconds=15.0)
    inspect_wav(data)
    started = time.perf_counter()
    for _ in range(repeats):
        inspect_wav(data)
    per_call = (time.perf_counter() - started) / repeats
    print(f"Audio inspection of 15 s at 16 kHz (CheckSentence's local check): {per_call * 1000:.1f} ms")
    print()


class DynamoCounter:
    """Counts DynamoDB API calls made through voiceclone.aws's botocore session (what the functions use)."""

    def __init__(self) -> None:
        from voiceclone import aws

        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._aws = aws
        self.register()

    def register(self) -> None:
        """On the current session: the local stack starts a new one when it sets its environment."""
        self._aws.session().register("before-call.dynamodb", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1


def _stage_times(history: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Durations of each state by name, from StateEntered to StateExited.

    States inside the Map run side by side, so their entries and exits are paired
    first in, first out: right in aggregate (count, mean, longest), not per item.
    """
    entered: dict[str, list[datetime]] = {}
    stages: dict[str, list[float]] = {}
    for event in history:
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = details.get("name")
        if not name:
            continue
        if event["type"].endswith("StateEntered"):
            entered.setdefault(name, []).append(event["timestamp"])
        elif event["type"].endswith("StateExited") and entered.get(name):
            started = entered[name].pop(0)
            stages.setdefault(name, []).append((event["timestamp"] - started).total_seconds())
    return stages


def one_job(check_latency_ms: int, training_seconds: float) -> None:
    from voiceclone_cli.client import VoicecloneClient
    from voiceclone_cli.stand_in import write_consent_take
    from voiceclone_local.sandboxes.tencent_vrs import TencentVrsSandboxConfig
    from voiceclone_local.stack import LocalStack

    counter = DynamoCounter()
    config = TencentVrsSandboxConfig(check_latency_ms=check_latency_ms, training_seconds=training_seconds)
    print(
        f"One local 20-sentence tencent_vrs job (sandbox check latency {check_latency_ms} ms, "
        f"training {training_seconds} s)"
    )
    t0 = time.monotonic()
    with LocalStack(sandbox_configs={"tencent_vrs": config}, quiet=True) as stack:
        print(f"  local stack start (synth + provision): {time.monotonic() - t0:6.2f} s")
        client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
        counter.register()
        counter.calls.clear()
        stack.invocations.counts.clear()
        t1 = time.monotonic()
        job = client.create_job("tencent_vrs", "bench", "female", "Bench Speaker")
        t2 = time.monotonic()
        # The consent statement read by the stand-in (its phrase is this job's), then the 20 sentences.
        with tempfile.TemporaryDirectory() as tmp:
            consent = write_consent_take(job, Path(tmp))
            for sentence in job["sentences"]:
                text_id = sentence["text_id"]
                path = (
                    consent if text_id == "consent" else ROOT / "samples" / "tencent_vrs" / f"{text_id}.wav"
                )
                client.upload(sentence["upload"], path)
        t3 = time.monotonic()
        # Follow the execution, not the API, so the figures count only the workflow's own work.
        while True:
            try:
                if stack.execution_status(job["job_id"]) != "RUNNING":
                    break
            except Exception:  # noqa: BLE001 - the execution starts with the last upload's event
                pass
            time.sleep(0.05)
        t4 = time.monotonic()
        workflow_calls = dict(counter.calls)
        workflow_invocations = dict(stack.invocations.counts)
        final = client.get_job(job["job_id"])
        history = stack.execution_history(job["job_id"])
        print(f"  job status                            {final['status']} (voice {final.get('voice_id')})")
        print(f"  create job (POST /v1/jobs)            {t2 - t1:6.2f} s")
        print(f"  upload 20 recordings + consent take   {t3 - t2:6.2f} s")
        print(f"  workflow after last upload            {t4 - t3:6.2f} s")
        for name, seconds in _stage_times(history).items():
            if len(seconds) == 1:
                print(f"    state {name:<28}{seconds[0]:6.2f} s")
            else:
                mean, longest = sum(seconds) / len(seconds), max(seconds)
                print(f"    state {name:<28}{len(seconds)} runs, mean {mean:.2f} s, longest {longest:.2f} s")
        print(f"  end to end                            {t4 - t1:6.2f} s")
        print(f"  state transitions (history events)    {len(history)}")
        print(f"  Lambda invocations                    {sum(workflow_invocations.values())}")
        for name, n in sorted(workflow_invocations.items()):
            print(f"    {name:<40}{n}")
        reads = sum(n for op, n in workflow_calls.items() if op in DDB_READS)
        writes = sum(n for op, n in workflow_calls.items() if op in DDB_WRITES)
        print(f"  DynamoDB reads / writes               {reads} / {writes}")
        print(f"    {dict(sorted(workflow_calls.items()))}")
        calls = dict(stack.sandbox.requests_by_action) if stack.sandbox else {}
        print(f"  sandbox vendor calls                  {calls}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=9, help="alternating cold-start pairs per handler")
    parser.add_argument("--check-latency-ms", type=int, default=200)
    parser.add_argument("--training-seconds", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=50, help="jobs at once in the load run")
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-packages", action="store_true", help="no package sizes (pip bundles)")
    args = parser.parse_args()
    if not args.skip_packages:
        packages.run()
    if not args.skip_imports:
        coldstart.run(args.pairs)
    audio_inspection(args.repeats)
    decoding(args.repeats)
    one_job(args.check_latency_ms, args.training_seconds)
    speech.run(calls=20, vendor_latency_ms=args.check_latency_ms, repeats=args.repeats)
    labels.run(runs=max(args.repeats, 7))
    stream.run(calls=11)
    compare.run(vendor_latency_ms=args.check_latency_ms)
    if not args.skip_load:
        load.run(args.jobs, args.check_latency_ms, args.training_seconds, timeout=3600.0)


if __name__ == "__main__":
    main()
