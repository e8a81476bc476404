"""The local stack under concurrent jobs: every job finishes, no client sees an error, memory stays level.

moto is not thread-safe; the local stack serializes what it handles (``moto_server.GATE``)
and replaces its whole-table copies in TransactWriteItems. These tests load one stack the
way the issues measured it: rounds of concurrent jobs, and fifty jobs created and uploaded
at once by one tenant. Nothing here is timed (tests never time things); each job is kept
cheap: Qiniu asks for six recordings (the Tencent gateway twenty), short ones that just fill
its 10 s window, and its sandbox trains at once. All the jobs share one Qiniu account, so
they also show that no two jobs share a voice slot. The tests share one xdist group
so that one worker runs them on its stack.
"""

from __future__ import annotations

import gc
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from voiceclone.vendors.qiniu import slot_name
from voiceclone_local.stack import ROLE_ARN, LocalStack

from tests.helpers import CONSENT, consent_take, wait_for, wav_bytes

pytestmark = pytest.mark.xdist_group("local-stack-load")

# Cheap per job (see the module's docstring): six recordings of 1.4 s and the pauses between
# them make 10.9 s, inside Qiniu's 10-60 s window, which its sandbox enforces.
VENDOR = "qiniu"
RECORDING = wav_bytes(seconds=1.4)
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")
# Jobs per round of the memory test.
ROUND = 10


@pytest.fixture
def fast_vendor(stack: LocalStack) -> Iterator[Any]:
    sandbox = stack.sandboxes[VENDOR]
    saved = sandbox.config.model_copy()
    sandbox.config.training_seconds = 0.0
    yield sandbox
    sandbox.config = saved


def rss_bytes() -> int:
    """This process's resident memory: the local stack runs in the test's process."""
    try:
        import psutil  # type: ignore[import-untyped]

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024


def run_jobs_at_once(stack: LocalStack, count: int) -> list[dict[str, Any]]:
    """`count` jobs of one tenant, created together and each uploaded by its own client; when done.

    No client retries (httpx's transport makes one attempt); any refused connection, time-out
    or non-2xx answer fails the job's thread and so the test. One client then follows all the
    jobs through the job list (fifty clients polling would be load of the test's own making).
    """
    start = threading.Barrier(count)
    headers = {"Authorization": f"Bearer {stack.api_key}"}

    def create_and_upload(index: int) -> str:
        with (
            httpx.Client(base_url=stack.api_url, headers=headers, timeout=120, transport=_once()) as api,
            httpx.Client(timeout=120, transport=_once()) as uploads,
        ):
            body = {
                "vendor": VENDOR,
                "voice_name": f"load-{index}",
                "speaker_name": f"speaker {index}",
                "gender": "female",
                "language": "zh-CN",
            }
            start.wait()
            created = api.post("/v1/jobs", json=body)
            assert created.status_code == 201, created.text
            job = created.json()
            # Every sentence the same recording, and the consent statement read by the stand-in
            for sentence in job["sentences"]:
                target = sentence["upload"]
                take = consent_take(job) if sentence["text_id"] == CONSENT else RECORDING
                files = {"file": (f"{sentence['text_id']}.wav", take, "audio/wav")}
                sent = uploads.post(target["url"], data=target["fields"], files=files)
                assert sent.status_code < 300, sent.text
            return str(job["job_id"])

    with ThreadPoolExecutor(max_workers=count) as pool:
        job_ids = set(pool.map(create_and_upload, range(count)))

    with httpx.Client(base_url=stack.api_url, headers=headers, timeout=120, transport=_once()) as api:

        def all_finished() -> list[dict[str, Any]] | None:
            found: dict[str, dict[str, Any]] = {}
            params: dict[str, Any] = {"limit": 100}
            while len(found) < len(job_ids):
                page = api.get("/v1/jobs", params=params)
                assert page.status_code == 200, page.text
                listed = page.json()
                found.update({j["job_id"]: j for j in listed["items"] if j["job_id"] in job_ids})
                if not listed.get("next_cursor"):
                    break
                params = {"limit": 100, "cursor": listed["next_cursor"]}
            jobs = list(found.values())
            return jobs if len(jobs) == len(job_ids) and all(j["status"] in DONE for j in jobs) else None

        return wait_for(all_finished, timeout=900, interval=2.0, what=f"{count} jobs to finish")


def _once() -> httpx.HTTPTransport:
    return httpx.HTTPTransport(retries=0)


def stored_bytes(stack: LocalStack) -> int:
    """The bytes of every object in the stack's bucket: moto keeps each object's content in this process."""
    s3 = stack.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket_name)
    return sum(int(o["Size"]) for page in pages for o in page.get("Contents", []))


def test_three_rounds_of_ten_concurrent_jobs_succeed_and_memory_stays_level(
    stack: LocalStack, fast_vendor: Any
) -> None:
    # Given one local stack
    rss: list[int] = []
    stored: list[int] = []
    # (the stack is the session's: what other tests' functions refused before, an authorizer's 401s
    # among them, is not this test's)
    errors_before = stack.invocations.errors.copy()
    for _ in range(3):
        # When 10 jobs run at once, three rounds in a row (the batch of 50 below is the load;
        # these rounds are about what stays behind)
        jobs = run_jobs_at_once(stack, ROUND)
        # Then every job of every round succeeds
        statuses = [(j["job_id"], j["status"]) for j in jobs]
        assert [status for _, status in statuses] == ["SUCCEEDED"] * ROUND, statuses
        gc.collect()
        rss.append(rss_bytes())
        stored.append(stored_bytes(stack))
    errors = stack.invocations.errors - errors_before
    assert not errors, errors
    # And the stack's memory after the third round is within 20 % of after the first. The jobs'
    # recordings, intake copies and assembled files (about 1.1 MB a Qiniu job) are on disk, as S3
    # keeps them (voiceclone_local.stack.S3_MEMORY_BYTES_PER_OBJECT); their DynamoDB items and stream
    # records stay in memory, as the jobs' data, inside the 20 %.
    figures = f"RSS {[r // 2**20 for r in rss]} MB, objects {[b // 2**20 for b in stored]} MB"
    print(figures)
    assert stored[2] > stored[0], figures
    assert rss[2] <= rss[0] * 1.2, figures


def test_fifty_jobs_created_and_uploaded_at_once_all_finish_without_a_client_error(
    stack: LocalStack, fast_vendor: Any
) -> None:
    # Given one tenant's 50 clients, none of which retries
    # When they create their jobs at the same moment and upload every recording
    jobs = run_jobs_at_once(stack, 50)
    # Then every request was answered (run_jobs_at_once fails on any refused or failed call)
    # and every job succeeded
    assert [j["status"] for j in jobs] == ["SUCCEEDED"] * 50, [(j["job_id"], j["status"]) for j in jobs]
    assert len({j["voice_id"] for j in jobs}) == 50
    # And each trained a Qiniu slot of its own in the one account they share
    names = {slot_name(j["job_id"]) for j in jobs}
    trained = [slot for slot in stack.sandboxes[VENDOR].slots.values() if slot.name in names]
    assert len(trained) == 50 and {slot.state() for slot in trained} == {"Success"}


def test_concurrent_transactions_on_one_table_are_all_answered(stack: LocalStack) -> None:
    # Given a table, and a transaction that writes two items, which moto once answered with
    # "dictionary changed size during iteration" when another request wrote the table meanwhile
    ddb = stack.client("dynamodb")
    table = "voiceclone-test-transactions"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    def writer(index: int) -> int:
        for n in range(15):
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {"pk": {"S": f"{index}-{n}-a"}}}},
                    {"Put": {"TableName": table, "Item": {"pk": {"S": f"{index}-{n}-b"}}}},
                ]
            )
            ddb.scan(TableName=table, Limit=50)
        return index

    try:
        # When 8 clients write and scan it at once
        with ThreadPoolExecutor(max_workers=8) as pool:
            assert sorted(pool.map(writer, range(8))) == list(range(8))
        # Then every transaction was applied
        assert ddb.scan(TableName=table, Select="COUNT")["Count"] == 8 * 15 * 2
    finally:
        ddb.delete_table(TableName=table)


def test_a_cancelled_transaction_leaves_every_item_as_it_was(stack: LocalStack) -> None:
    # Given an item, and a transaction that writes a new item, updates the old one and then
    # fails a condition
    ddb = stack.client("dynamodb")
    table = "voiceclone-test-rollback"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        ddb.put_item(TableName=table, Item={"pk": {"S": "old"}, "v": {"N": "1"}})
        # When it runs
        with pytest.raises(ddb.exceptions.TransactionCanceledException) as cancelled:
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "old"}},
                            "UpdateExpression": "SET v = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"pk": {"S": "missing"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        # Then DynamoDB's reasons come back, and neither write remains
        reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
        assert reasons == ["None", "None", "ConditionalCheckFailed"]
        assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "new"}})
        assert ddb.get_item(TableName=table, Key={"pk": {"S": "old"}})["Item"]["v"] == {"N": "1"}
    finally:
        ddb.delete_table(TableName=table)


# ----- log keys per invocation ------------------------------------------------------------------------


def probe_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A Lambda handler for the test below: the function names its log lines carry over a while."""
    import time

    from voiceclone.observability import logger

    @logger.inject_lambda_context
    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen = set()
        for _ in range(10):
            time.sleep(0.01)  # let the other invocations run in between
            seen.add(str(logger.get_current_keys().get("function_name")))
        return {"seen": sorted(seen)}

    return handle(event, context)


def test_each_invocation_logs_under_its_own_function_name(stack: LocalStack) -> None:
    # Given two functions sharing the service's logger, as every handler here does
    lam = stack.client("lambda")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "in-process")
    names = ["voiceclone-test-probe-a", "voiceclone-test-probe-b"]
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=ROLE_ARN,
            Handler=f"{__name__}.probe_handler",
            Code={"ZipFile": buffer.getvalue()},
        )
    try:
        # When they run side by side, many times
        def invoke(index: int) -> tuple[str, list[str]]:
            name = names[index % 2]
            payload = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
            return name, payload["seen"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(invoke, range(16)))
        # Then every line of an invocation names its own function, never the other one
        assert all(seen == [name] for name, seen in results), results
    finally:
        for name in names:
            lam.delete_function(FunctionName=name)
