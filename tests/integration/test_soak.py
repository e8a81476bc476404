"""The soak's faults at small scale: two clones through a Tencent VRS sandbox that injects every kind once.

`make soak` runs them at random over every vendor for minutes; here each kind is armed once on
the session stack's sandbox, so a failure points at the kind: the service must survive all of
them (retries, the polling fallback, idempotent callbacks) and the sandbox must count each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from voiceclone.vendors.registry import get_adapter
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.sandboxes.knobs import Fault
from voiceclone_local.sandboxes.training import delivery_outcomes
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, upload_recordings, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


@pytest.fixture
def short_vendor_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The service's vendor timeout at 2 s (its adapters are rebuilt with it): a late answer costs 3 s."""
    monkeypatch.setenv("VOICECLONE_VENDOR_TIMEOUT_SECONDS", "2")
    get_adapter.cache_clear()
    yield
    monkeypatch.undo()
    get_adapter.cache_clear()


def clone(client: VoicecloneClient, job: dict[str, Any]) -> dict[str, Any]:
    upload_recordings(client, job, SAMPLES)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] not in ("AWAITING_AUDIO", "CHECKING", "TRAINING") else None

    return wait_for(done, timeout=120, what=f"job {job['job_id']}")


def test_clones_survive_every_fault_kind_and_the_sandbox_counts_each(
    stack: LocalStack, sandbox: Any, short_vendor_timeout: None
) -> None:
    # Given a tenant with two jobs created, and one of every fault kind armed at the sandbox
    client = VoicecloneClient(stack.api_url, api_key=stack.issue_api_key(f"soak-{uuid.uuid4().hex[:8]}"))
    jobs = [client.create_job("tencent_vrs", f"faults {i}", "female", SPEAKER) for i in range(2)]
    before, tasks_before = sandbox.faults_injected, sandbox.tasks_created
    callbacks_before = len(sandbox.callbacks)
    for fault in Fault:
        sandbox.arm(fault)

    # When both are recorded at once (their 40 checks meet the request faults; the first training
    # to end loses its callback, the second calls back twice at once)
    with ThreadPoolExecutor(max_workers=2) as pool:
        finals = list(pool.map(lambda job: clone(client, job), jobs))

    # Then both succeeded, each with one voice from one vendor task
    assert [f["status"] for f in finals] == ["SUCCEEDED", "SUCCEEDED"], finals
    assert sandbox.tasks_created - tasks_before == 2
    voices = client.list_voices(limit=10)["items"]
    assert sorted(v["voice_id"] for v in voices) == sorted(f["voice_id"] for f in finals)
    # ...and the sandbox injected (and counted) every kind exactly once
    injected = {kind: count - before[kind] for kind, count in sandbox.faults_injected.items()}
    assert injected == {kind.value: 1 for kind in Fault}
    # ...the lost callback's job was polled to its end, the other's callback came twice
    by_task = {f["job_id"]: _task_of(stack, f["job_id"]) for f in finals}
    delivered = {
        task: delivery_outcomes([a for a in sandbox.callbacks[callbacks_before:] if a.task_id == task])
        for task in by_task.values()
    }
    assert sorted(delivered.values()) == [[], [200, 200]], delivered
    lost = next(job for job, task in by_task.items() if delivered[task] == [])
    assert "PollStatus" in _states_entered(stack, lost)


def _task_of(stack: LocalStack, job_id: str) -> str:
    from voiceclone.store import Store

    job = Store(stack.table_name, stack.client("dynamodb")).jobs.get(job_id)
    assert job is not None and job.vendor_task_id
    return job.vendor_task_id


def _states_entered(stack: LocalStack, job_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in stack.execution_history(job_id)
        if e["type"].endswith("StateEntered")
    ]
