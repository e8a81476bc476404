"""Recordings as phones, browsers and editors save them clone with Tencent VRS, which gets 16 kHz mono WAV."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path
from typing import Any

import pytest
import voiceclone_local.sandboxes.tencent_vrs as tencent_vrs_sandbox
from voiceclone.domain.audio import pcm_of
from voiceclone.domain.audio_decode import encode
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
# Five sentences each: an editor's 44.1 kHz stereo WAV, a browser's 48 kHz WebM/Opus, a phone's
# M4A (AAC), and an MP3.
DELIVERIES: list[tuple[str, dict[str, int]]] = [
    ("wav", {"out_rate": 44100, "channels": 2}),
    ("webm", {"out_rate": 48000}),
    ("m4a", {"out_rate": 44100}),
    ("mp3", {"out_rate": 44100}),
]


def made_as_people_make_them(directory: Path) -> dict[str, str]:
    """The samples, encoded in the test with FFmpeg's own encoders; text_id -> file name."""
    names = {}
    for index in range(20):
        text_id = f"{index + 1:05d}"
        fmt, options = DELIVERIES[index // 5]
        rate, pcm = pcm_of((SAMPLES / f"{text_id}.wav").read_bytes())
        path = directory / f"{text_id}.{fmt}"
        path.write_bytes(encode(pcm, rate, fmt, **options))
        names[text_id] = path.name
    return names


def test_common_formats_clone_and_the_vendor_gets_16_khz_mono_wav(
    stack: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given twenty recordings in four formats, none of them 16 kHz mono WAV
    names = made_as_people_make_them(tmp_path)
    with wave.open(str(tmp_path / "00001.wav")) as editor_wav:
        assert (editor_wav.getframerate(), editor_wav.getnchannels()) == (44100, 2)
    # ...and a record of every audio file the Tencent VRS sandbox is sent
    received: list[bytes] = []
    check = tencent_vrs_sandbox.check_wav

    def recording(audio: bytes, **kwargs: Any) -> Any:
        received.append(audio)
        return check(audio, **kwargs)

    monkeypatch.setattr(tencent_vrs_sandbox, "check_wav", recording)
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    # When they are checked, then cloned as they are
    code = main(["check", "--vendor", "tencent_vrs", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "all 20 recordings pass" in out and "00006.webm" in out and "00011.m4a" in out
    code = main(
        [
            "clone",
            "--speaker",
            SPEAKER,
            "--stand-in-consent",
            "--vendor",
            "tencent_vrs",
            "--name",
            "formats",
            "--timeout",
            "120",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    # Then the voice is cloned
    assert code == 0, out
    job_id = re.search(r"^job (\S+) created", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
    job = client.get_job(job_id)
    assert job["status"] == "SUCCEEDED", job
    # ...each sentence measured on the converted audio, its original format named
    by_id = {s["text_id"]: s for s in job["sentences"]}
    originals = {
        t: by_id[t]["check"]["measurements"]["original"] for t in ("00001", "00006", "00011", "00016")
    }
    assert originals["00001"].startswith("wav/pcm_s16le, 44100 Hz, 2 channels")
    assert originals["00006"].startswith("matroska/opus, 48000 Hz")
    assert originals["00011"].startswith("mov/aac, 44100 Hz")
    assert originals["00016"].startswith("mp3/mp3")
    training = [s for s in job["sentences"] if s["text_id"] != "consent"]
    assert len(training) == 20
    assert all(5.0 < s["check"]["measurements"]["duration_seconds"] < 13.0 for s in training)
    # ...and each file the vendor was sent is a 16 kHz mono 16-bit WAV, one per sentence
    assert len(received) == 20
    for audio in received:
        with wave.open(io.BytesIO(audio)) as sent:
            assert (sent.getframerate(), sent.getnchannels(), sent.getsampwidth()) == (16000, 1, 2)
    # ...while the service keeps each original as it was uploaded (with its content type), and the
    # converted WAV beside its kept copy
    s3 = stack.client("s3")

    def keys(prefix: str) -> list[str]:
        # Every page: the stack is shared by the session's tests, so a prefix can hold over 1,000 keys.
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket_name, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    key = next(k for k in keys("uploads/") if k.endswith(f"/{job_id}/00006.wav"))
    upload = s3.get_object(Bucket=stack.bucket_name, Key=key)
    assert upload["ContentType"] == "audio/webm"
    assert upload["Body"].read() == (tmp_path / names["00006"]).read_bytes()
    kept = [k for k in keys("training/") if f"/{job_id}/recordings/00006/" in k]
    assert len(kept) == 2 and any(k.endswith(".vendor.wav") for k in kept)
