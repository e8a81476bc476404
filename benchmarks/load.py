"""Load run: N 20-sentence callback jobs created and uploaded at once by one tenant on the local stack.

Prints the batch's wall time and its ratio to one job alone, CPU seconds per job (and their ratio
to one job's), the stack's peak and final resident memory, client-visible errors and failed
invocations, and the billed state transitions per job (``*StateEntered`` events of each
execution's history) with those of one poll round. The stack runs in this process, so its CPU and
memory are this process's (the benchmark's own clients included: one thread per job, no retry).
Figures on a machine that other work loads are slow and noisy: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENDOR = "tencent_vrs"  # the callback vendor: its 20 sentences checked one by one at the vendor
# The states of one poll round (infra/workflow.py), when a job's result is polled for: one transition each.
POLL_STATES = ("WaitBeforePoll", "PollStatus", "TrainingDone")
TRANSITIONS_PER_JOB_LIMIT = 32
TRANSITIONS_PER_POLL_LIMIT = 3


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


@dataclass
class RssSampler:
    """The process's resident memory, sampled on a thread while the batch runs."""

    interval: float = 0.2
    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @contextmanager
    def running(self) -> Iterator[RssSampler]:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            self._stop.wait(self.interval)


@dataclass
class Batch:
    wall_seconds: float
    cpu_seconds: float
    job_ids: list[str]
    client_errors: list[str]


def _once() -> Any:
    import httpx

    return httpx.HTTPTransport(retries=0)


def create_and_upload(stack: Any, index: int, start: threading.Barrier | None) -> str:
    """One client's job: create it, upload its 20 recordings and its consent take. No retry: any failure is
    an error."""
    import httpx
    from voiceclone_cli.stand_in import consent_take

    headers = {"Authorization": f"Bearer {stack.api_key}"}
    with (
        httpx.Client(base_url=stack.api_url, headers=headers, timeout=300, transport=_once()) as api,
        httpx.Client(timeout=300, transport=_once()) as uploads,
    ):
        body = {
            "vendor": VENDOR,
            "voice_name": f"load-{index}",
            "speaker_name": f"load speaker {index}",
            "gender": "female",
            "language": "zh-CN",
        }
        if start is not None:
            start.wait()
        created = api.post("/v1/jobs", json=body)
        if created.status_code != 201:
            raise RuntimeError(f"POST /v1/jobs answered {created.status_code}: {created.text[:200]}")
        job = created.json()
        for sentence in job["sentences"]:
            target = sentence["upload"]
            text_id = sentence["text_id"]
            # The consent statement read by the stand-in: its phrase is this job's.
            audio = (
                consent_take(job)
                if text_id == "consent"
                else (ROOT / "samples" / VENDOR / f"{text_id}.wav").read_bytes()
            )
            files = {"file": (f"{text_id}.wav", audio, "audio/wav")}
            sent = uploads.post(target["url"], data=target["fields"], files=files)
            if sent.status_code >= 300:
                raise RuntimeError(f"upload answered {sent.status_code}: {sent.text[:200]}")
        return str(job["job_id"])


def wait_until_done(stack: Any, job_ids: list[str], timeout: float) -> None:
    """Until no execution runs; an execution starts with the job's last upload."""
    pending = set(job_ids)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            try:
                if stack.execution_status(job_id) != "RUNNING":
                    pending.discard(job_id)
            except Exception:  # noqa: BLE001 - not started yet
                pass
        time.sleep(0.5)
    if pending:
        raise TimeoutError(f"{len(pending)} executions still running after {timeout:.0f} s")


def run_batch(stack: Any, count: int, timeout: float) -> Batch:
    start = threading.Barrier(count) if count > 1 else None
    errors: list[str] = []
    wall0, cpu0 = time.monotonic(), time.process_time()

    def one(index: int) -> str | None:
        try:
            return create_and_upload(stack, index, start)
        except Exception as exc:  # noqa: BLE001 - counted and printed, the batch goes on
            errors.append(f"{type(exc).__name__}: {exc}")
            return None

    with ThreadPoolExecutor(max_workers=count) as pool:
        job_ids = [j for j in pool.map(one, range(count)) if j]
    wait_until_done(stack, job_ids, timeout)
    return Batch(time.monotonic() - wall0, time.process_time() - cpu0, job_ids, errors)


def transitions(stack: Any, job_id: str) -> tuple[int, Counter[str]]:
    """The execution's billed transitions (StateEntered events) and the entries per state."""
    entered: Counter[str] = Counter()
    for event in stack.execution_history(job_id):
        if event["type"].endswith("StateEntered"):
            entered[event["stateEnteredEventDetails"]["name"]] += 1
    return sum(entered.values()), entered


def statuses(stack: Any, job_ids: list[str]) -> Counter[str]:
    return Counter(stack.execution_status(j) for j in job_ids)


def run(count: int, check_latency_ms: int, training_seconds: float, timeout: float) -> None:
    from voiceclone_local.sandboxes.tencent_vrs import TencentVrsSandboxConfig
    from voiceclone_local.stack import LocalStack

    config = TencentVrsSandboxConfig(check_latency_ms=check_latency_ms, training_seconds=training_seconds)
    print(
        f"Load: {count} {VENDOR} jobs (20 sentences, callback) created and uploaded at once by one tenant "
        f"(sandbox check latency {check_latency_ms} ms, training {training_seconds} s)"
    )
    with LocalStack(sandbox_configs={VENDOR: config}, quiet=True) as stack:
        one = run_batch(stack, 1, timeout)
        gc.collect()
        before = rss_bytes()
        invocation_errors_before = sum(stack.invocations.errors.values())
        sampler = RssSampler()
        with sampler.running():
            batch = run_batch(stack, count, timeout)
        gc.collect()
        after = rss_bytes()
        failed_invocations = sum(stack.invocations.errors.values()) - invocation_errors_before
        per_job = [transitions(stack, j) for j in batch.job_ids]
        totals = [t for t, _ in per_job]
        polls = [entered["PollStatus"] for _, entered in per_job]
        poll_transitions = [sum(entered[s] for s in POLL_STATES) for _, entered in per_job]
        per_poll = [t / p for t, p in zip(poll_transitions, polls, strict=True) if p]
        outcome = statuses(stack, batch.job_ids)

    cpu_one = one.cpu_seconds
    cpu_per_job = batch.cpu_seconds / max(1, len(batch.job_ids))
    print(f"  one job alone                       {one.wall_seconds:7.1f} s wall, {cpu_one:6.2f} s CPU")
    print(f"  batch of {count:<3} wall                  {batch.wall_seconds:7.1f} s")
    print(f"  batch wall / one job's wall         {batch.wall_seconds / one.wall_seconds:7.2f}")
    print(
        f"  CPU per job in the batch            {cpu_per_job:7.2f} s "
        f"({cpu_per_job / cpu_one:.2f} x one job alone)"
    )
    print(
        f"  RSS before / peak / after the batch {before / 2**20:7.0f} / "
        f"{sampler.peak / 2**20:.0f} / {after / 2**20:.0f} MB"
    )
    print(f"  final RSS / before                  {after / before:7.2f}")
    print(f"  client errors                       {len(batch.client_errors):7d}")
    for error in batch.client_errors[:5]:
        print(f"    {error}")
    print(f"  failed function invocations         {failed_invocations:7d}")
    print(f"  executions                          {dict(outcome)}")
    if totals:
        print(
            f"  state transitions per job           median {statistics.median(totals):.0f}, "
            f"max {max(totals)} (limit {TRANSITIONS_PER_JOB_LIMIT})"
        )
    if per_poll:
        print(
            f"  transitions per poll round          max {max(per_poll):.1f} "
            f"(limit {TRANSITIONS_PER_POLL_LIMIT}; "
            f"{sum(polls)} polls in all)"
        )
    else:
        print("  transitions per poll round          no job polled (each finished on its callback)")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--jobs", type=int, default=50)
    parser.add_argument("--check-latency-ms", type=int, default=200)
    parser.add_argument("--training-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the batch")
    args = parser.parse_args()
    run(args.jobs, args.check_latency_ms, args.training_seconds, args.timeout)


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    main()
