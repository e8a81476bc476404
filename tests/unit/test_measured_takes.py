"""A take measured once serves every vendor: judging a recording measured without a duration limit under
one vendor's limits is the same verdict as judging it under them, and CheckSentence's measurement of an
upload's bytes is kept by their ETag and rate, so the next check of the same bytes decodes nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from voiceclone.domain.audio import RecordingLimits, unlimited, within_limits
from voiceclone.domain.recording import inspect_recording
from voiceclone.logic.training import sentence_check

from tests.helpers import moto_client, wav_bytes

LIMITS = [
    RecordingLimits(16000, 1.0, 15.0),
    RecordingLimits(16000, 5.0, 20.0),  # a take too short for it
    RecordingLimits(16000, 0.5, 1.5),  # a take too long for it
    RecordingLimits(24000, 1.0, 15.0),
]


@pytest.mark.parametrize("limits", LIMITS, ids=str)
@pytest.mark.parametrize(
    "seconds,amplitude", [(2.0, 0.3), (3.0, 0.0), (2.0, 1.0)], ids=["voice", "silent", "loud"]
)
def test_the_verdict_under_limits_is_the_unlimited_measurement_judged_under_them(
    limits: RecordingLimits, seconds: float, amplitude: float
) -> None:
    data = wav_bytes(seconds=seconds, rate=44100, amplitude=amplitude, channels=2)
    direct = inspect_recording(data, limits)
    measured = within_limits(inspect_recording(data, unlimited(limits.sample_rate)), limits)
    assert [f.problem for f in measured.report.findings] == [f.problem for f in direct.report.findings]
    assert measured.report.findings == direct.report.findings
    assert measured.measurements == direct.measurements and measured.wav == direct.wav


def test_an_unreadable_upload_is_the_same_verdict_whatever_the_limits() -> None:
    measured = inspect_recording(b"not audio at all", unlimited(16000))
    assert within_limits(measured, LIMITS[1]) == measured


@pytest.fixture
def svc() -> Iterator[Any]:
    with moto_client("s3", "us-east-1") as s3:
        bucket = f"measured-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        yield SimpleNamespace(settings=SimpleNamespace(bucket_name=bucket), s3=s3)


def test_the_same_bytes_are_decoded_once_per_rate(svc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: Counter[int] = Counter()

    def counting(data: bytes, limits: RecordingLimits, ext: str | None = None) -> Any:
        decoded[limits.sample_rate] += 1
        return inspect_recording(data, limits, ext)

    monkeypatch.setattr(sentence_check, "inspect_recording", counting)
    data = wav_bytes(seconds=2.0, rate=44100)
    for key in ("training/t/cmp-1/recordings/00001/e1.wav", "training/t/job-2/recordings/00001/e1.wav"):
        svc.s3.put_object(Bucket=svc.settings.bucket_name, Key=key, Body=data, ContentType="audio/wav")
    first = sentence_check.measure(svc, "t", "e1", "training/t/cmp-1/recordings/00001/e1.wav", 16000)
    # Another job's copy of the same bytes (the same ETag): read from what the first check kept
    again = sentence_check.measure(svc, "t", "e1", "training/t/job-2/recordings/00001/e1.wav", 16000)
    assert decoded == Counter({16000: 1})
    assert (
        again.report == first.report and again.measurements == first.measurements and again.wav == first.wav
    )
    # Another rate is another measurement
    sentence_check.measure(svc, "t", "e1", "training/t/job-2/recordings/00001/e1.wav", 24000)
    assert decoded == Counter({16000: 1, 24000: 1})
    # Without an ETag nothing is kept or reused
    sentence_check.measure(svc, "t", "", "training/t/job-2/recordings/00001/e1.wav", 16000)
    assert decoded[16000] == 2
