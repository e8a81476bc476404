"""A vendor's status API down (5xx) or throttling (429) while it trains: the job waits, it does not fail.

Whole jobs through the synthesized workflow on the local stack. Once a job is
TRAINING, the vendor's sandbox refuses the next N requests; N is well above the
7 calls (1 try and 6 retries) after which the generic retry PollStatus used to
have ended the job FAILED. The job stays TRAINING, shows the vendor's error,
and SUCCEEDS when the vendor answers again; past the training deadline it FAILS
naming the vendor, its last state and its last error. The functions get short
polls and deadlines from their environment (as VOICECLONE_* settings), so each
case takes seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from voiceclone_cli.client import VoicecloneClient
from voiceclone_local.stack import LocalStack, _reset_function_caches

from tests.helpers import SPEAKER, upload_recordings, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
# The generic retry's calls (1 try, 6 retries): an outage of more requests used to fail the job.
OLD_RETRY_CALLS = 7
OUTAGE = OLD_RETRY_CALLS + 3
# Fault knobs every sandbox has (local/voiceclone_local/sandboxes/base.py): the next N requests answer
# the vendor's rate-limit error (HTTP 429 where the vendor uses it) or its internal error (5xx).
THROTTLE, SERVER_ERROR = "throttle_first", "internal_error_first"
# What the API shows while the service waits the fault out (error class of the taxonomy).
WAITED_OUT = {THROTTLE: "VendorThrottled", SERVER_ERROR: "VendorUnavailable"}
# Step Functions bills each state entered; one round of polling is WaitBeforePoll, PollStatus, TrainingDone.
POLL_ROUND = ["WaitBeforePoll", "PollStatus", "TrainingDone"]


@pytest.fixture
def settings(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set the functions' VOICECLONE_* settings for this test (the stack's own come back after)."""

    def apply(**values: Any) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"VOICECLONE_{key}", str(value))
        _reset_function_caches()

    # One-second polls: an outage of N refused polls lasts about N seconds.
    apply(POLL_INITIAL_SECONDS=1, POLL_MAX_SECONDS=1)
    yield apply
    monkeypatch.undo()
    _reset_function_caches()


@pytest.fixture
def sandboxes(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """The stack's sandboxes, each one's configuration restored after the test."""
    saved = {vendor: sandbox.config.model_copy() for vendor, sandbox in stack.sandboxes.items()}
    yield stack.sandboxes
    for vendor, config in saved.items():
        stack.sandboxes[vendor].config = config


class Observed:
    """What a client saw of the job while it ran."""

    def __init__(self) -> None:
        self.waiting_errors: list[dict[str, Any]] = []
        self.statuses: list[str] = []


def clone_through_outage(
    client: VoicecloneClient, sandbox: Any, vendor: str, knob: str, count: int
) -> tuple[dict[str, Any], Observed]:
    """Create a job, upload its recordings; once it is TRAINING, refuse the vendor's next `count` requests."""
    job = client.create_job(vendor, f"outage-{vendor}", "female", SPEAKER)
    for document in job["documents"]:
        client.upload(document["upload"], LETTER)
    upload_recordings(client, job, SAMPLES)
    job_id = job["job_id"]

    def training() -> dict[str, Any] | None:
        current = client.get_job(job_id)
        assert current["status"] in ("AWAITING_AUDIO", "CHECKING", "TRAINING"), current
        return current if current["status"] == "TRAINING" else None

    wait_for(training, timeout=120, interval=0.1, what=f"the {vendor} job to train")
    setattr(sandbox.config, knob, count)
    seen = Observed()

    def finished() -> dict[str, Any] | None:
        current = client.get_job(job_id)
        seen.statuses.append(current["status"])
        if current["status"] == "TRAINING" and current.get("last_vendor_error"):
            seen.waiting_errors.append(current["last_vendor_error"])
        return current if current["status"] in ("SUCCEEDED", "FAILED", "CHECK_FAILED", "CANCELLED") else None

    return wait_for(finished, timeout=180, interval=0.3, what=f"the {vendor} job to finish"), seen


def states_entered(stack: LocalStack, job_id: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in stack.execution_history(job_id)
        if e["type"].endswith("StateEntered")
    ]


def assert_polled_in_rounds_of_three(states: list[str], at_least: int) -> None:
    """Every poll is one Wait, one PollStatus, one Choice: no retries, no extra states per poll."""
    first = states.index("WaitBeforePoll")
    polls = states[first:].count("PollStatus")
    assert polls >= at_least, states
    rounds = states[first : first + 3 * polls]
    assert rounds == POLL_ROUND * polls, states


def assert_waited_out(final: dict[str, Any], seen: Observed, sandbox: Any, knob: str) -> None:
    assert final["status"] == "SUCCEEDED", final
    assert final["voice"] and final["last_vendor_error"] is None
    # The whole outage happened, and the job showed it while it waited
    assert getattr(sandbox.config, knob) == 0
    assert seen.waiting_errors, seen.statuses
    assert {e["error"] for e in seen.waiting_errors} == {WAITED_OUT[knob]}
    assert all(e["code"] and e["at"] for e in seen.waiting_errors)


@pytest.mark.parametrize(
    ("vendor", "knob"),
    [("qiniu", SERVER_ERROR), ("volcengine", THROTTLE)],
)
def test_an_outage_at_a_polling_vendor_is_waited_out_and_the_job_succeeds(
    stack: LocalStack,
    settings: Callable[..., None],
    sandboxes: dict[str, Any],
    client: VoicecloneClient,
    vendor: str,
    knob: str,
) -> None:
    # Given a polling vendor that trains for a while
    sandbox = sandboxes[vendor]
    sandbox.config.training_seconds = 3
    # When its API refuses more requests than the old retry made, once the job is training
    final, seen = clone_through_outage(client, sandbox, vendor, knob, OUTAGE)
    # Then the job waited it out, TRAINING all along, and succeeded
    assert_waited_out(final, seen, sandbox, knob)
    assert set(seen.statuses) <= {"TRAINING", "SUCCEEDED"}
    states = states_entered(stack, final["job_id"])
    assert "MarkFailed" not in states
    assert_polled_in_rounds_of_three(states, at_least=OUTAGE + 1)


def test_a_callback_vendor_that_misses_its_callback_polls_through_an_outage(
    stack: LocalStack, settings: Callable[..., None], sandboxes: dict[str, Any], client: VoicecloneClient
) -> None:
    # Given Tencent VRS, whose callback never comes, and whose API then throttles
    sandbox = sandboxes["tencent_vrs"]
    sandbox.config.callback_enabled = False
    # When the workflow's wait for the callback times out and it polls
    final, seen = clone_through_outage(client, sandbox, "tencent_vrs", THROTTLE, OUTAGE)
    # Then the polls wait the throttling out and the job succeeds
    assert_waited_out(final, seen, sandbox, THROTTLE)
    states = states_entered(stack, final["job_id"])
    assert "AwaitCallback" in states and "MarkFailed" not in states
    assert_polled_in_rounds_of_three(states, at_least=OUTAGE + 1)


def test_a_callback_whose_confirmation_meets_an_outage_ends_in_success(
    stack: LocalStack, settings: Callable[..., None], sandboxes: dict[str, Any], client: VoicecloneClient
) -> None:
    # Given Tencent VRS calls back after 3 s of training, while its status API fails every request
    sandbox = sandboxes["tencent_vrs"]
    sandbox.config.training_seconds = 3
    confirms = sandbox.config.callback_attempts
    # When the callback (and each of the vendor's retries of it) cannot be confirmed, and then
    # the polls after the callback's wait also meet the outage
    final, seen = clone_through_outage(client, sandbox, "tencent_vrs", SERVER_ERROR, confirms + OUTAGE)
    # Then the callback asked the vendor to call again rather than failing anything, the job showed
    # the error, and polling found the training done once the API answered again
    assert_waited_out(final, seen, sandbox, SERVER_ERROR)
    states = states_entered(stack, final["job_id"])
    assert "AwaitCallback" in states and "MarkFailed" not in states
    assert_polled_in_rounds_of_three(states, at_least=1)


@pytest.mark.parametrize(("vendor", "knob"), [("qiniu", SERVER_ERROR), ("tencent_vrs", THROTTLE)])
def test_an_outage_past_the_training_deadline_fails_the_job_naming_the_vendor_and_its_last_error(
    stack: LocalStack,
    settings: Callable[..., None],
    sandboxes: dict[str, Any],
    client: VoicecloneClient,
    vendor: str,
    knob: str,
) -> None:
    # Given a short training deadline, a vendor that never finishes, and callbacks that never come
    settings(TRAINING_DEADLINE_SECONDS=8)
    sandbox = sandboxes[vendor]
    sandbox.config.training_seconds = 600
    sandbox.config.callback_enabled = False
    # When its API refuses every request from the time the job trains
    final, seen = clone_through_outage(client, sandbox, vendor, knob, 100_000)
    # Then the job waited TRAINING until the deadline, then FAILED naming the vendor, its last
    # state (PENDING: the vendor never answered after the create) and its last error (it used to
    # say vendor: null)
    assert final["status"] == "FAILED", final
    assert seen.waiting_errors and set(seen.statuses) <= {"TRAINING", "FAILED"}
    error = final["error"]
    assert (error["error"], error["vendor"]) == ("TrainingTimedOut", vendor)
    last = seen.waiting_errors[-1]
    for part in (vendor, "within 8 s", "its last state was PENDING", WAITED_OUT[knob], last["code"]):
        assert part in error["message"], (part, error["message"])
    assert stack.execution_status(final["job_id"]) == "FAILED"
    assert states_entered(stack, final["job_id"])[-2:] == ["MarkFailed", "JobFailed"]


def test_a_callback_job_of_20_sentences_stays_within_32_state_transitions(
    stack: LocalStack, settings: Callable[..., None], sandboxes: dict[str, Any], client: VoicecloneClient
) -> None:
    # Given Tencent VRS (20 sentences, callback) answering as it should
    # When a job runs end to end
    final, _ = clone_through_outage(client, sandboxes["tencent_vrs"], "tencent_vrs", THROTTLE, 0)
    assert final["status"] == "SUCCEEDED", final
    # Then Step Functions entered at most 32 states (what it bills): no poll, no retry
    states = states_entered(stack, final["job_id"])
    assert len(states) <= 32, states
    # (the 20 sentences and the consent statement)
    assert states.count("CheckSentence") == 21 and "PollStatus" not in states
