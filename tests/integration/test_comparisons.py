"""A comparison on the local stack: one speaker reads once, five vendors clone from the same takes.

The takes are the sample recordings re-encoded (FLAC at 44.1 kHz: neither the format nor the rate
any vendor takes), uploaded once. One vendor is made to fail in its sandbox and one to be slow (its
training held): the others reach READY and speak while the slow one still trains, the failed one's
entry carries the vendor's own code, and the comparison ends PARTLY_SUCCEEDED once the slow one is
let through. Each take is decoded once, whatever the number of vendors that check it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from voiceclone.domain.recording import inspect_recording
from voiceclone.logic.training import sentence_check
from voiceclone.vendors.registry import adapter_class, capabilities
from voiceclone_cli.client import VoicecloneClient
from voiceclone_cli.stand_in import consent_take
from voiceclone_local.stack import LocalStack

from tests.helpers import SPEAKER, wait_for

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tencent_vrs"
LETTER = SAMPLES.parent / "authorization-letter.pdf"
VENDORS = ["tencent_vrs", "qiniu", "cosyvoice", "huawei", "tencent_gateway"]
FAILING, SLOW = "huawei", "tencent_gateway"
FAILURE = "声音训练失败：音频质量不合格"


def to_flac(source: Path, target: Path, rate: int = 44100) -> None:
    """The WAV re-encoded as FLAC at another rate (PyAV: FFmpeg's encoder and resampler)."""
    with av.open(str(source)) as inp, av.open(str(target), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for frame in inp.decode(audio=0):
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for converted in resampler.resample(None):
            for packet in stream.encode(converted):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("flac")
    for wav in sorted(SAMPLES.glob("*.wav")):
        to_flac(wav, directory / f"{wav.stem}.flac")
    return directory


@pytest.fixture
def sandboxes(stack: LocalStack) -> Iterator[dict[str, Any]]:
    """The chosen vendors' sandboxes, their configuration restored after the test."""
    saved = {v: stack.sandboxes[v].config.model_copy() for v in VENDORS}
    yield {v: stack.sandboxes[v] for v in VENDORS}
    for vendor, config in saved.items():
        stack.sandboxes[vendor].config = config


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often CheckSentence's module decoded each upload (by its first bytes): the functions run here."""
    counts: Counter[str] = Counter()

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        counts[data[:4096].hex()] += 1
        return inspect_recording(data, *args, **kwargs)

    monkeypatch.setattr(sentence_check, "inspect_recording", counting)
    return counts


def entry(comparison: dict[str, Any], vendor: str) -> dict[str, Any]:
    return next(v for v in comparison["vendors"] if v["vendor"] == vendor)


def test_one_session_clones_at_five_vendors_and_one_failure_or_slowness_holds_no_other(
    stack: LocalStack,
    client: VoicecloneClient,
    sandboxes: dict[str, Any],
    takes: Path,
    decoded: Counter[str],
    tmp_path: Path,
) -> None:
    # Given Huawei failing its training and the Tencent gateway slow (its training held below)
    sandboxes[FAILING].config.fail_training = FAILURE
    sandboxes[SLOW].config.training_seconds = 3.0
    # When a comparison across five vendors is created
    comparison = client.create_comparison(VENDORS, "cmp-e2e", "female", SPEAKER)
    cid = comparison["comparison_id"]
    assert cid.startswith("cmp-") and comparison["status"] == "AWAITING_AUDIO"
    # Then one consent statement names every vendor, and each take is asked for once
    statement = comparison["consent"]["statement"]
    for vendor in VENDORS:
        assert adapter_class(vendor).display_name("zh") in statement, vendor
    texts = [s["text"] for s in comparison["sentences"]]
    assert comparison["sentences"][0]["text_id"] == "consent" and len(set(texts)) == len(texts)
    assert len(texts) == 1 + max(capabilities(v).sentence_count for v in VENDORS)
    assert [d["name"] for d in comparison["documents"]] == list(capabilities("huawei").documents)
    # ...and each vendor's job is an ordinary job naming its comparison
    for vendor in VENDORS:
        job = client.get_job(entry(comparison, vendor)["job_id"])
        assert (job["vendor"], job["comparison_id"], job["status"]) == (vendor, cid, "AWAITING_AUDIO")
    assert cid in [c["comparison_id"] for c in client.list_comparisons()["items"]]

    with sandboxes[SLOW].hold_tasks():
        # When the speaker's takes (FLAC, 44.1 kHz), the consent statement and the letter are uploaded once
        for document in comparison["documents"]:
            client.upload(document["upload"], LETTER)
        for sentence in comparison["sentences"][1:]:
            client.upload(sentence["upload"], takes / f"{sentence['text_id']}.flac")
        (tmp_path / "consent.wav").write_bytes(consent_take(comparison))
        client.upload(comparison["sentences"][0]["upload"], tmp_path / "consent.wav")

        # Then the others are ready while the slow one still trains, and the failed one says why
        def others_done() -> dict[str, Any] | None:
            current = client.get_comparison(cid)
            ended = [
                v
                for v in current["vendors"]
                if v["vendor"] != SLOW and v["status"] in ("SUCCEEDED", "FAILED")
            ]
            return current if len(ended) == len(VENDORS) - 1 else None

        current = wait_for(others_done, timeout=180, what="every vendor but the slow one to end")
        assert entry(current, SLOW)["status"] == "TRAINING" and current["status"] == "TRAINING"
        failed = entry(current, FAILING)
        assert failed["status"] == "FAILED" and failed["voice_id"] is None
        assert failed["error"]["vendor"] == FAILING and failed["error"]["code"].startswith("MSS.")
        for vendor in ("tencent_vrs", "qiniu", "cosyvoice"):
            ready = entry(current, vendor)
            assert ready["status"] == "SUCCEEDED" and ready["voice_id"], ready
            assert ready["facts"] is None
        # ...and a ready voice speaks while the slow vendor is still training
        for vendor in ("tencent_vrs", "cosyvoice"):
            speech = client.speak(entry(current, vendor)["voice_id"], "你好，这是一次比较。")
            assert speech["status"] == "SUCCEEDED" and speech["vendor"] == vendor

    # When the slow vendor's training is let through, then the comparison ends: some ready, one failed
    def ended() -> dict[str, Any] | None:
        current = client.get_comparison(cid)
        return current if current["status"] not in ("AWAITING_AUDIO", "TRAINING") else None

    final = wait_for(ended, timeout=180, what="the comparison to end")
    assert final["status"] == "PARTLY_SUCCEEDED"
    assert entry(final, SLOW)["status"] == "SUCCEEDED"
    for vendor_entry in final["vendors"]:
        ready = vendor_entry["status"] == "SUCCEEDED"
        assert (vendor_entry["seconds_to_ready"] is not None) == ready, vendor_entry
    # Each vendor trained from its own share of the same takes
    assert len(entry(final, "cosyvoice")["takes"]) == capabilities("cosyvoice").sentence_count
    assert len(entry(final, "qiniu")["takes"]) == capabilities("qiniu").sentence_count
    # ...and each take was decoded once, however many vendors checked it (one rate: all take 16 kHz)
    assert {capabilities(v).sample_rate for v in VENDORS} == {16000}
    assert len(decoded) == len(final["sentences"]) and set(decoded.values()) == {1}, decoded
