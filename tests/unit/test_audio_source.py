"""S3AudioSource: vendors get the converted sentences; a joined file is the best fit of its window."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from voiceclone.domain.audio import pcm_of, wav_file, wav_seconds
from voiceclone.domain.errors import VendorRejected
from voiceclone.domain.models import Job, Sentence
from voiceclone.logic.training.audio_source import S3AudioSource, converted_key

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"


class FakeS3:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.reads: list[str] = []

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.reads.append(Key)
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "gone"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}


def source(vendor: str, seconds: dict[str, float], converted: bool = True) -> tuple[S3AudioSource, FakeS3]:
    """A job of `vendor` whose checked sentences last the given seconds (cut from the samples)."""
    _, pcm = pcm_of((SAMPLES / "00006.wav").read_bytes())
    objects, sentences = {}, []
    for text_id, length in seconds.items():
        kept = f"training/t/j/recordings/{text_id}/etag.wav"
        clip = wav_file(16000, (pcm * 3)[: int(length * 16000) * 2])
        objects[converted_key(kept) if converted else kept] = clip
        sentences.append(Sentence(job_id="j", tenant_id="t", text_id=text_id, text="x", s3_key=kept))
    s3 = FakeS3(objects)
    svc = SimpleNamespace(s3=s3, settings=SimpleNamespace(bucket_name="b"))
    job = Job(job_id="j", tenant_id="t", vendor=vendor, voice_name="v", language="zh-CN", gender="female")
    return S3AudioSource(svc, job, sentences), s3  # type: ignore[arg-type]


def test_sentences_are_read_from_their_converted_wav() -> None:
    audio, s3 = source("tencent_vrs", {"00001": 5.0})
    assert wav_seconds(audio.sentence_audio("00001")) == pytest.approx(5.0)
    assert s3.reads == ["training/t/j/recordings/00001/etag.vendor.wav"]
    # A sentence checked before conversions existed: its kept upload
    older, s3 = source("tencent_vrs", {"00001": 5.0}, converted=False)
    assert wav_seconds(older.sentence_audio("00001")) == pytest.approx(5.0)
    assert s3.reads[-1] == "training/t/j/recordings/00001/etag.wav"


def test_qiniu_gets_the_most_sentences_that_fit_60_seconds() -> None:
    # Six slow sentences: 65.5 s joined, more than Qiniu's 60 s
    audio, _ = source(
        "qiniu", {"00001": 9.0, "00002": 12.5, "00003": 10.0, "00004": 11.0, "00005": 13.0, "00006": 10.0}
    )
    joined = wav_seconds(audio.assembled_wav())
    # Then five of them are joined (52.5 s + 4 pauses): inside the window
    assert joined == pytest.approx(9.0 + 12.5 + 10.0 + 11.0 + 10.0 + 4 * 0.5, abs=0.01)


def test_a_window_no_choice_can_fill_fails_with_what_to_record() -> None:
    audio, _ = source("qiniu", {"00001": 2.0, "00002": 3.0})
    with pytest.raises(VendorRejected) as failed:
        audio.assembled_wav()
    assert failed.value.code == "RecordingsDoNotFit"
    assert "at least 10 s: record the sentences again" in failed.value.message


def test_a_vendor_without_a_window_gets_every_sentence() -> None:
    audio, _ = source("huawei", {"00001": 14.0, "00002": 14.0, "00003": 14.0})
    assert wav_seconds(audio.assembled_wav()) == pytest.approx(42.0 + 1.0, abs=0.01)
