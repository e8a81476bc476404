"""A slower reader's recordings clone with the vendors that take one joined file: as many sentences as fit
each vendor's window are joined, instead of the job failing for a file a few seconds too long."""

from __future__ import annotations

import io
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import voiceclone_local.sandboxes.qiniu as qiniu_sandbox
import voiceclone_local.sandboxes.tencent_gateway as gateway_sandbox
import voiceclone_local.sandboxes.volcengine as volcengine_sandbox
from voiceclone.domain.audio import pcm_of, wav_file, wav_seconds
from voiceclone.domain.audio_decode import decode_pcm16
from voiceclone.logic.training.audio_source import PAUSE_SECONDS
from voiceclone.vendors.registry import capabilities
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.main import main
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
SLOWER = 1.25  # about 25 % slower than the samples
VENDORS = ["qiniu", "tencent_gateway", "volcengine"]


@pytest.fixture(scope="module")
def slow_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The twenty samples stretched in time: played at 4/5 of their rate, resampled back to 16 kHz."""
    directory = tmp_path_factory.mktemp("slow")
    for index in range(1, 21):
        rate, pcm = pcm_of((SAMPLES / f"{index:05d}.wav").read_bytes())
        slow, _ = decode_pcm16(wav_file(int(rate / SLOWER), pcm), rate)
        (directory / f"{index:05d}.wav").write_bytes(wav_file(rate, slow))
    return directory


@pytest.fixture
def joined_files(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every training file the three sandboxes receive; Volcengine's sandbox crops at 25 s, as the
    vendor does by default (docs/vendors/volcengine.md, Limits), so it refuses anything longer."""
    received: list[bytes] = []
    for module in (qiniu_sandbox, gateway_sandbox):
        checked = module.audio_problem

        def audio_problem(audio: bytes, _checked: Any = checked, **kwargs: Any) -> Any:
            received.append(audio)
            return _checked(audio, **kwargs)

        monkeypatch.setattr(module, "audio_problem", audio_problem)
    check = volcengine_sandbox.check_wav

    def check_wav(audio: bytes, **kwargs: Any) -> Any:
        received.append(audio)
        return check(audio, **kwargs)

    monkeypatch.setattr(volcengine_sandbox, "check_wav", check_wav)
    volcengine = stack.sandboxes["volcengine"]
    saved = volcengine.config.model_copy()
    volcengine.config.max_seconds = 25.0
    yield received
    volcengine.config = saved


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_slower_reader_clones_with_the_best_fit_inside_the_window(
    stack: LocalStack,
    vendor: str,
    slow_reader: Path,
    joined_files: list[bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    window = capabilities(vendor).joined_seconds
    assert window is not None
    monkeypatch.setenv("VOICECLONE_API_URL", stack.api_url)
    monkeypatch.setenv("VOICECLONE_API_KEY", stack.api_key)
    client = VoicecloneClient(stack.api_url, api_key=stack.api_key)
    sentences = [t["text_id"] for t in client.vendor_info(vendor)["texts"]]
    # What joining every sentence as recorded would make (the pauses between them included)
    all_joined = sum(wav_seconds((slow_reader / f"{t}.wav").read_bytes()) for t in sentences)
    all_joined += PAUSE_SECONDS * (len(sentences) - 1)
    # When the slower reader's recordings are cloned
    code = main(
        [
            "clone",
            "--speaker",
            SPEAKER,
            "--stand-in-consent",
            "--vendor",
            vendor,
            "--name",
            f"slow{vendor[:4]}",
            "--timeout",
            "180",
            str(slow_reader),
        ]
    )
    out = capsys.readouterr().out
    # Then the voice is cloned
    assert code == 0, out
    job_id = re.search(r"^job (\S+) created", out, re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert client.get_job(job_id)["status"] == "SUCCEEDED"
    # ...from one joined 16 kHz mono file inside the vendor's window, although all the sentences
    # together (untrimmed) would not fit in it
    assert joined_files, "the sandbox received no training audio"
    joined = joined_files[-1]
    with wave.open(io.BytesIO(joined)) as sent:
        assert (sent.getframerate(), sent.getnchannels(), sent.getsampwidth()) == (16000, 1, 2)
    seconds = wav_seconds(joined)
    assert window[0] <= seconds <= window[1], (vendor, seconds, window)
    if vendor != "tencent_gateway":  # 20 slow sentences are well inside the gateway's 600 s
        assert all_joined > window[1], (vendor, all_joined)
