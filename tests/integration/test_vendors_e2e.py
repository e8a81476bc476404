"""Every vendor through the same API, state machine and local stack: a client changes one field.

Parametrized over the vendors the local stack has sandboxes for; each case is a
whole job through the synthesized workflow, with the vendor's sandbox misbehaving
as configured. What a vendor answers when it misbehaves (its codes for a refused
credential, a throttle, an outage) is what its sandbox declares (``checked_credential``,
``fault_answers``); the tests check that the vendor's own code reaches the job.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from voiceclone.store import Store
from voiceclone.vendors.registry import capabilities, vendor_ids
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main as cli_main
from voiceclone_local.sandboxes.knobs import FAULT_KNOBS, Fault
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, http, upload_recordings, wait_for, wav_bytes
from tests.integration.conftest import created_job_id

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
DONE = ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED")
VENDORS = list(vendor_ids())


@pytest.fixture
def vendor_sandbox(stack: LocalStack, request: pytest.FixtureRequest) -> Iterator[Any]:
    sandbox = stack.sandboxes[request.param]
    saved = sandbox.config.model_copy()
    yield sandbox
    sandbox.config = saved


def run_job(
    client: VoicecloneClient, vendor: str, before_upload: Any = None, directory: Path = SAMPLES
) -> Any:
    job = client.create_job(vendor, f"e2e-{vendor}", "female", SPEAKER)
    if before_upload:
        before_upload()
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, directory)

    def done() -> dict[str, Any] | None:
        current = client.get_job(job["job_id"])
        return current if current["status"] in DONE else None

    return wait_for(done, timeout=120, what=f"{vendor} job to finish")


@pytest.mark.parametrize("vendor", VENDORS)
def test_cli_clone_succeeds_for_every_vendor(
    stack: LocalStack, vendor: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local stack and the standard recordings
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    # When a client clones with the vendor field changed (and the documents that vendor requires)
    args = [
        "clone",
        "--speaker",
        SPEAKER,
        "--stand-in-consent",
        "--vendor",
        vendor,
        "--name",
        f"cli-{vendor}",
        "--timeout",
        "120",
    ]
    code = cli_main([*args, "--document", f"authorization_letter={LETTER}", str(SAMPLES)])
    out = capsys.readouterr().out
    # Then it gets a voice, with what that vendor's TTS needs
    assert code == 0, out
    assert "voice ready: v-" in out
    job_id = created_job_id(out)
    job = VoicecloneClient(stack.api_url, api_key=stack.api_key).get_job(job_id)
    assert job["status"] == "SUCCEEDED" and job["voice"]["vendor_voice_id"]
    assert stack.execution_status(job_id) == "SUCCEEDED"
    # ...by the path its capabilities choose in the one state machine
    states = {
        e["stateEnteredEventDetails"]["name"]
        for e in stack.execution_history(job_id)
        if e["type"].endswith("StateEntered")
    }
    if capabilities(vendor).completion == "callback":
        assert "AwaitCallback" in states and "PollStatus" not in states
    else:
        assert "AwaitCallback" not in states and "PollStatus" in states


@pytest.mark.parametrize("vendor_sandbox", VENDORS, indirect=True, ids=VENDORS)
def test_wrong_credentials_fail_the_job_with_the_vendor_code(
    stack: LocalStack, vendor_sandbox: Any, client: VoicecloneClient
) -> None:
    vendor = next(v for v, s in stack.sandboxes.items() if s is vendor_sandbox)
    # The credential the sandbox checks: the service's copy (from the vendor's secret) becomes wrong
    check = vendor_sandbox.checked_credential
    assert check is not None, f"{vendor}'s sandbox declares no checked_credential"

    def rotate() -> None:
        setattr(vendor_sandbox.config, check.field, "rotated-at-the-vendor")

    final = run_job(client, vendor, before_upload=rotate)
    assert final["status"] == "FAILED", final
    # ...and the job fails with the vendor's own code for it
    assert final["error"]["vendor"] == vendor and final["error"]["code"] == check.code
    assert final["error"]["error"] == "VendorAuthError"


@pytest.mark.parametrize("vendor_sandbox", VENDORS, indirect=True, ids=VENDORS)
def test_throttling_is_retried_and_the_job_succeeds(
    stack: LocalStack, vendor_sandbox: Any, client: VoicecloneClient
) -> None:
    vendor = next(v for v, s in stack.sandboxes.items() if s is vendor_sandbox)

    def throttle() -> None:
        vendor_sandbox.config.throttle_first = 2

    final = run_job(client, vendor, before_upload=throttle)
    assert final["status"] == "SUCCEEDED", final
    assert vendor_sandbox.config.throttle_first == 0


@pytest.mark.parametrize("fault", [Fault.THROTTLE, Fault.UNAVAILABLE], ids=["429", "503"])
def test_a_lasting_throttle_or_outage_fails_the_job_with_the_vendor_code(
    stack: LocalStack, client: VoicecloneClient, fault: Fault
) -> None:
    # Each vendor's job waits out the workflow's whole retry schedule (about a minute), and the
    # sandboxes are independent: the jobs run side by side, and every vendor's outcome is reported
    # at once.
    knob = dict(FAULT_KNOBS)[fault]
    saved = {vendor: stack.sandboxes[vendor].config.model_copy() for vendor in VENDORS}

    def one_vendor(vendor: str) -> str | None:
        sandbox = stack.sandboxes[vendor]
        # The vendor's own codes for the fault, as its sandbox declares them (one per API plane: the
        # first call may go to another plane than training, as Volcengine's console lists slots)
        codes = sandbox.fault_codes(fault)

        def break_the_vendor() -> None:
            # Far more refusals than the workflow's retries make: the fault outlasts them.
            setattr(sandbox.config, knob, 100_000)

        final = run_job(client, vendor, before_upload=break_the_vendor)
        error = final.get("error") or {}
        if final["status"] != "FAILED" or error.get("vendor") != vendor:
            return f"{vendor}: ended {final['status']} with {error}"
        # The vendor's own code survives (not the transport's "HTTP429"/"HTTP503")
        if error.get("code") not in codes:
            return f"{vendor}: code {error.get('code')!r}, not one of {codes}"
        if getattr(sandbox.config, knob) >= 100_000:
            return f"{vendor}: the sandbox never refused"
        return None

    try:
        with ThreadPoolExecutor(max_workers=len(VENDORS)) as pool:
            problems = [p for p in pool.map(one_vendor, VENDORS) if p]
    finally:
        for vendor, config in saved.items():
            stack.sandboxes[vendor].config = config
    assert not problems, problems


@pytest.mark.parametrize("vendor_sandbox", VENDORS, indirect=True, ids=VENDORS)
def test_a_training_failure_ends_failed_with_the_vendor_reason(
    stack: LocalStack, vendor_sandbox: Any, client: VoicecloneClient
) -> None:
    vendor = next(v for v, s in stack.sandboxes.items() if s is vendor_sandbox)
    vendor_sandbox.config.fail_training = "speaker too far from the microphone"
    final = run_job(client, vendor)
    assert final["status"] == "FAILED", final
    assert final["error"]["error"] == "TrainingFailed" and final["error"]["vendor"] == vendor
    if vendor == "volcengine":
        # Volcengine's status API says "failed" and nothing more (docs/vendors/volcengine.md#states):
        # the job says so, and what to do.
        assert "gives no reason" in final["error"]["message"]
    else:
        assert "speaker too far from the microphone" in final["error"]["message"]


@pytest.mark.parametrize("vendor_sandbox", VENDORS, indirect=True, ids=VENDORS)
def test_a_lost_create_response_leaves_exactly_one_vendor_task(
    stack: LocalStack, vendor_sandbox: Any, client: VoicecloneClient
) -> None:
    vendor = next(v for v, s in stack.sandboxes.items() if s is vendor_sandbox)
    before = vendor_sandbox.tasks_created

    def drop() -> None:
        vendor_sandbox.config.drop_create_response_first = 1

    final = run_job(client, vendor, before_upload=drop)
    assert final["status"] == "SUCCEEDED", final
    assert vendor_sandbox.tasks_created == before + 1
    assert (
        Store(stack.table_name, stack.client("dynamodb")).jobs.require(final["job_id"]).create_attempts >= 1
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_bad_recording_gets_its_reason_for_every_vendor(
    stack: LocalStack, vendor: str, client: VoicecloneClient, tmp_path: Path
) -> None:
    # Given the speaker's recordings, with the second sentence of the vendor's own script silent (and
    # long enough for that vendor: silence, not length, is what is wrong with it)
    shutil.copytree(SAMPLES, tmp_path, dirs_exist_ok=True)
    silent = client.training_texts(vendor)[1]["text_id"]
    seconds = capabilities(vendor).min_sentence_seconds + 2.0
    (tmp_path / f"{silent}.wav").write_bytes(wav_bytes(seconds=seconds, amplitude=0.0))
    # When cloned / Then that sentence, and only it, is to be recorded again, because it is silent
    final = run_job(client, vendor, directory=tmp_path)
    assert final["status"] == "CHECK_FAILED", final
    rejected = {s["text_id"]: s["check"]["code"] for s in final["sentences"] if s["status"] == "REJECTED"}
    assert rejected == {silent: "SILENT"}


def test_a_huawei_audit_rejection_comes_back_as_a_re_record(
    stack: LocalStack, client: VoicecloneClient
) -> None:
    # Given Huawei's reviewers will reject the fourth recording (3.wav in the BASIC package)
    sandbox = stack.sandboxes["huawei"]
    sandbox.config.audit_reject_files = {"3.wav": "background music in the recording"}
    tasks_before = sandbox.tasks_created
    # When the job is submitted
    rejected = run_job(client, "huawei")
    # Then the job asks for that sentence again, with the reviewer's reason, not a dead end
    assert rejected["status"] == "CHECK_FAILED", rejected
    redo = {s["text_id"]: s["check"] for s in rejected["sentences"] if s["status"] == "REJECTED"}
    assert list(redo) == ["00004"]
    assert redo["00004"]["code"] == "AUDIT_FAILED" and "background music" in redo["00004"]["message"]
    # When the client records just that sentence again
    job_id = rejected["job_id"]
    target = http(stack).post(f"{stack.api_url}/v1/jobs/{job_id}/sentences/00004/upload-url")
    assert target.status_code == 200, target.text
    client.upload(target.json(), SAMPLES / "00004.wav")

    # Then the same Huawei job takes the new package, passes its audit and trains: one vendor job in all
    def done() -> dict[str, Any] | None:
        current = client.get_job(job_id)
        return current if current["status"] in ("SUCCEEDED", "FAILED") else None

    final = wait_for(done, timeout=120, what="the re-recorded huawei job")
    assert final["status"] == "SUCCEEDED", final
    assert final["voice"]["asset_id"]
    assert sandbox.tasks_created == tasks_before + 1
