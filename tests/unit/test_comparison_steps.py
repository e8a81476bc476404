"""The comparison workflow's steps: each vendor's outcome read from its job (the voice, the vendor's error,
the rejected takes with their reasons), recorded once; the end from all the outcomes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.comparison import ComparisonStatus, VendorOutcome
from voiceclone.domain.models import (
    Gender,
    Job,
    JobError,
    JobStatus,
    Language,
    Sentence,
    SentenceCheck,
    SentenceStatus,
)
from voiceclone.logic.comparisons import steps
from voiceclone.store import Store

from tests.helpers import TABLE_SCHEMA, moto_client
from tests.unit.test_comparison_store import comparison


@pytest.fixture
def svc() -> Iterator[Any]:
    with moto_client("dynamodb", "us-east-1") as client:
        name = f"steps-{uuid.uuid4().hex[:8]}"
        client.create_table(TableName=name, **TABLE_SCHEMA)
        try:
            yield SimpleNamespace(store=Store(name, client))
        finally:
            client.delete_table(TableName=name)


def job(job_id: str, vendor: str, status: JobStatus, **fields: Any) -> Job:
    return Job(
        job_id=job_id,
        tenant_id="acme",
        vendor=vendor,
        voice_name="v",
        language=Language.ZH_CN,
        gender=Gender.FEMALE,
        status=status,
        **fields,
    )


def test_each_vendor_is_recorded_from_its_job_and_the_end_from_all(svc: Any) -> None:
    svc.store.comparisons.create(comparison("cmp-s", "31313131"))  # vendors: qiniu (j1), huawei (j2)
    svc.store.jobs.create(job("j1", "qiniu", JobStatus.SUCCEEDED, voice_id="v-j1"), [])
    error = JobError(error="VendorRejected", code="MSS.10001", message="audit failed", vendor="huawei")
    svc.store.jobs.create(job("j2", "huawei", JobStatus.FAILED, error=error), [])
    assert steps.record_vendor(svc, "cmp-s", "j1", "qiniu")["outcome"] == "READY"
    caught = {"Error": "States.TaskFailed", "Cause": "{...}"}
    assert steps.record_vendor(svc, "cmp-s", "j2", "huawei", caught)["outcome"] == "FAILED"
    kept = svc.store.comparisons.require("cmp-s")
    assert kept.vendor("qiniu").voice_id == "v-j1" and kept.vendor("qiniu").ready_at is not None
    assert kept.vendor("huawei").error == error  # the job's own error: the vendor's code
    # Recorded once: a repeated step changes nothing
    version = kept.version
    steps.record_vendor(svc, "cmp-s", "j2", "huawei", caught)
    assert svc.store.comparisons.require("cmp-s").version == version
    assert steps.finish(svc, "cmp-s") == {"status": "PARTLY_SUCCEEDED"}
    assert svc.store.comparisons.require("cmp-s").status is ComparisonStatus.PARTLY_SUCCEEDED


def test_rejected_takes_are_the_vendors_failure_and_an_unrecorded_vendor_is_read_at_the_end(svc: Any) -> None:
    svc.store.comparisons.create(comparison("cmp-r", "41414141"))
    svc.store.jobs.create(job("j1", "qiniu", JobStatus.CHECK_FAILED), [])
    short = SentenceCheck(passed=False, code="TOO_SHORT", message="the recording lasts 0.9 s", source="local")
    svc.store.jobs.create(
        job("j2", "huawei", JobStatus.CHECK_FAILED),
        [
            Sentence(job_id="j2", tenant_id="acme", text_id="00003", text="t", s3_key="k",
                     status=SentenceStatus.REJECTED, check=short),
            Sentence(job_id="j2", tenant_id="acme", text_id="00004", text="t", s3_key="k",
                     status=SentenceStatus.PASSED),
        ],
    )  # fmt: skip
    steps.record_vendor(svc, "cmp-r", "j2", "huawei", {"Error": "States.TaskFailed"})
    failed = svc.store.comparisons.require("cmp-r").vendor("huawei")
    assert failed.error is not None and failed.error.error == "SentencesRejected"
    assert failed.error.code == "TOO_SHORT" and "00003: TOO_SHORT" in failed.error.message
    assert "00004" not in failed.error.message
    # qiniu's iteration never recorded its end: FinishComparison reads its job
    assert steps.finish(svc, "cmp-r") == {"status": "FAILED"}
    assert svc.store.comparisons.require("cmp-r").vendor("qiniu").outcome is VendorOutcome.FAILED


def test_a_failed_measurement_is_kept_on_the_ready_vendors_entry_with_the_vendors_code(svc: Any) -> None:
    # Given a ready vendor whose measurement failed with our error (the vendor's code inside)
    svc.store.comparisons.create(comparison("cmp-f", "51515151"))
    svc.store.jobs.create(job("j1", "qiniu", JobStatus.SUCCEEDED, voice_id="v-j1"), [])
    steps.record_vendor(svc, "cmp-f", "j1", "qiniu")
    inner = (
        '{"code": "ResourceUnavailable", "error": "FactsNotMeasured", "message": "no probe could be spoken"}'
    )
    caught = {
        "Error": "FactsNotMeasured",
        "Cause": json.dumps({"errorType": "FactsNotMeasured", "errorMessage": inner}),
    }
    # When the failure is recorded
    steps.record_facts_failed(svc, "cmp-f", "j1", "qiniu", caught)
    # Then the entry says why, and the voice stays ready
    entry = svc.store.comparisons.require("cmp-f").vendor("qiniu")
    assert entry.outcome is VendorOutcome.READY and entry.facts is None
    assert entry.facts_error == JobError(
        error="FactsNotMeasured",
        code="ResourceUnavailable",
        message="no probe could be spoken",
        vendor="qiniu",
    )
    # ...and a function's timeout, as Step Functions names it, says so too
    steps.record_facts_failed(svc, "cmp-f", "j1", "qiniu", {"Error": "States.Timeout", "Cause": ""})
    timed_out = svc.store.comparisons.require("cmp-f").vendor("qiniu").facts_error
    assert timed_out is not None and timed_out.error == timed_out.code == "States.Timeout"
    # Facts recorded after all are the truth: a late failure changes nothing
    svc.store.comparisons.record_facts("cmp-f", "qiniu", {"speaks": False})
    version = svc.store.comparisons.require("cmp-f").version
    steps.record_facts_failed(svc, "cmp-f", "j1", "qiniu", caught)
    assert svc.store.comparisons.require("cmp-f").version == version
