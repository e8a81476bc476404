"""The soak's verdict: which runs pass, and what each must-condition counts (benchmarks/soak.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from voiceclone_local.sandboxes.knobs import Fault

from benchmarks.hostile import Answer
from benchmarks.soak import Plan, Report, render

VENDORS = ["tencent_vrs", "qiniu"]


def report(**changes: Any) -> Report:
    """A clean run of two vendors: every job and speech ended, every fault seen, usage matching."""
    clean = Report(
        plan=Plan(seed=7, jobs=2, speeches=4, minutes=1, drain_minutes=1),
        started_at=datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
        seconds=60,
        vendors=VENDORS,
        speech_modes={"tencent_vrs": "sync", "qiniu": "none"},
        jobs={"tencent_vrs": Counter(SUCCEEDED=1), "qiniu": Counter(FAILED=1)},
        job_errors=Counter({("qiniu", "503"): 1}),
        speeches={
            "tencent_vrs": Counter(asked=2, SUCCEEDED=2),
            "qiniu": Counter({"asked": 2, "409 SpeechNotOffered": 2}),
        },
        speeches_by_hostile=Counter(),
        faults={"tencent_vrs": {k.value: 1 for k in Fault}, "qiniu": {k.value: 1 for k in Fault}},
        calls={"tencent_vrs": 40, "qiniu": 9},
        trainings={"tencent_vrs": 1, "qiniu": 1},
        callbacks={"tencent_vrs": True, "qiniu": False},
        usage={"tencent_vrs": 30},
        delivered={"tencent_vrs": 30},
        executions_running=0,
        bad_answers=[Answer("usage over 367 days", "", 400, "InvalidPeriod", "expected")],
        unreadable_at_vendor=[],
        refusals=Counter(),
        problems=[],
    )
    return replace(clean, **changes)


def failed(run: Report) -> list[str]:
    return [what for what, held, _ in run.musts() if not held]


def test_a_clean_run_passes_and_its_table_says_so() -> None:
    run = report()
    assert run.passed() and failed(run) == []
    table = render(run)
    assert "seed 7" in table and "  FAIL  " not in table
    assert "  FAIL  nothing stuck" in render(report(executions_running=1))


def test_anything_left_waiting_fails_the_run() -> None:
    # A job still training, a speech still running, an execution still running: each is stuck
    assert failed(report(jobs={"tencent_vrs": Counter(TRAINING=1), "qiniu": Counter()})) == [
        "nothing stuck after the drain"
    ]
    assert report(speeches_by_hostile=Counter(RUNNING=1)).stuck() == 1
    assert report(executions_running=2).stuck() == 2


def test_a_fault_kind_never_injected_fails_unless_the_vendor_never_calls_back() -> None:
    # Qiniu sends no callbacks: its callback faults cannot happen and are not required
    no_callback_faults = {**{k.value: 1 for k in Fault}, "lost_callback": 0, "duplicate_callback": 0}
    quiet = report(faults={"tencent_vrs": {k.value: 1 for k in Fault}, "qiniu": no_callback_faults})
    assert quiet.passed()
    # Tencent VRS calls back: a callback kind it never met fails the run, as a request kind anywhere does
    vrs = {**{k.value: 1 for k in Fault}, "duplicate_callback": 0}
    assert report(faults={"tencent_vrs": vrs, "qiniu": no_callback_faults}).missing_faults() == [
        "duplicate_callback at tencent_vrs"
    ]
    assert "timeout at qiniu" in report(faults={**quiet.faults, "qiniu": {"timeout": 0}}).missing_faults()


def test_a_5xx_to_client_input_fails_but_a_vendors_5xx_to_valid_input_does_not() -> None:
    vendor_fault = Answer("Accept: audio/wav;q=0, application/json", "volcengine", 503, "3031", "vendor 5xx")
    assert report(bad_answers=[vendor_fault]).passed()
    bad = Answer("tencent_vrs speed 0.55", "tencent_vrs", 502, "InvalidSpeed", "5xx")
    assert failed(report(bad_answers=[vendor_fault, bad])) == ["no 5xx to client input"]


def test_usage_must_match_the_speech_delivered_for_every_vendor() -> None:
    # Counted twice (a duplicated callback billed again), or a refused text counted
    run = report(usage={"tencent_vrs": 60, "qiniu": 4})
    assert run.usage_mismatch() == ["tencent_vrs: usage 60, delivered 30", "qiniu: usage 4, delivered 0"]
    assert failed(run) == ["usage = speech delivered, per vendor"]


def test_speech_must_be_refused_409_where_the_vendor_offers_none() -> None:
    spoken = Counter({"asked": 2, "409 SpeechNotOffered": 1, "502 NotOffered": 1})
    assert failed(report(speeches={**report().speeches, "qiniu": spoken})) == [
        "speech where none is offered (Qiniu) refused 409"
    ]
